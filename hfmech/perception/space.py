"""The Perception Engine Space: pick a class, the number of strokes and inks → a drawing and each classifier's belief.

``spaces/perception-engine/app.py`` is just ``demo = build_demo()``; ``hfmech serve`` renders the same Blocks in a
tab. The handler is a generator: the drawing is optimised in a worker thread (:func:`hfmech.ui.stream_run`) and the
current drawing reaches the page every few steps; Stop ends it at the next step; the request time limit stops it with
a message. The bar chart shows every member's probability of the target on the final drawing: the training members
(which the drawing was optimised for) and the held-out judges (never seen during optimisation). The examples are
classes that reached the 0.95 agreement within the default budget (docs/perception.md, measured again for the Space);
the run stops as soon as every training member agrees. User errors reach the page (and ``gradio_client``) as
``gr.Error`` with hfmech's message.
"""

from __future__ import annotations

import gradio as gr
import pandas as pd

from ..errors import USER_ERRORS
from ..hub import load_pipeline
from ..ui import (
    add_stop,
    configure,
    download_file,
    download_name,
    event_kwargs,
    examples_kwargs,
    figure_of,
    how_it_works,
    save_png,
    stop_message,
    stream_run,
)

DEFAULT_MODEL = "perception-ensemble-lite"
DEFAULT_CLASS = "matchstick"
DEFAULT_STROKES = 20
DEFAULT_PALETTE = 10  # the pipeline's default inks
DEFAULT_STEPS = 90  # an upper bound: the run stops once every training member gives the class p >= 0.95
#: name -> (strokes, steps): "fast" is the form's default (measured in the Space README).
PRESETS = {"fast": (DEFAULT_STROKES, DEFAULT_STEPS), "quality": (30, 300)}
SPACE_SETTINGS = {"views": 2, "size": 224}  # the rest (learning rate 0.1, ...) from the repo's config
STREAM_EVERY = 5  # steps between two drawings sent to the page (each costs one extra rasterisation)
#: (class, seed): each reached the 0.95 agreement of both training members within DEFAULT_STEPS (Space README).
EXAMPLES = [("matchstick", 0), ("analog clock", 1), ("matchstick", 1)]
#: More classes for the dropdown (harder: raise the steps or use the quality preset).
MORE_CLASSES = [
    "hammer",
    "analog clock",
    "screwdriver",
    "electric fan",
    "hammerhead",
    "jellyfish",
    "lemon",
    "banjo",
]


def belief_table(scores: dict) -> pd.DataFrame:
    """``{"training": {name: p}, "held_out": {...}}`` → rows ``classifier, role, probability``."""
    rows = [
        {"classifier": name, "role": role.replace("_", "-"), "probability": round(float(p), 4)}
        for role in ("training", "held_out")
        for name, p in scores.get(role, {}).items()
    ]
    return pd.DataFrame(rows, columns=["classifier", "role", "probability"])


def _chart(rows) -> pd.DataFrame:
    """The belief chart's value from its rows (``[{"classifier", "role", "probability"}, ...]``; None: empty)."""
    return pd.DataFrame(rows or [], columns=["classifier", "role", "probability"])


def _draw_stream(target, strokes, palette, steps, seed, model=DEFAULT_MODEL, progress=None, request=None):
    """Yield ``(image, belief table, summary, [PNG, SVG] downloads)``: the drawing every few steps, then the end."""
    if target is None or not str(target).strip():
        raise gr.Error("Name an ImageNet class first (e.g. 'matchstick'), or click an example.")
    try:
        pipe = load_pipeline("perception-engine", model)
    except USER_ERRORS as e:
        raise gr.Error(str(e)) from e

    def call(callback):
        return pipe(
            str(target),
            strokes=int(strokes),
            palette=int(palette),
            steps=int(steps),
            seed=int(seed) if seed is not None else None,
            progress=False,
            callback_on_step_end=callback,
            **SPACE_SETTINGS,
        )

    def to_frame(state):
        return state["render"](), state["record"]

    for item in stream_run(
        pipe, call, to_frame, every=STREAM_EVERY, progress=progress, desc="drawing", request=request
    ):
        if hasattr(item, "output"):
            out = item.output
            training = out["scores"]["training"]
            held = out["scores"]["held_out"]
            note = stop_message(item, "drawing")
            summary = (
                f"**{out['target']['label']}** (class {out['target']['index']}): {out['steps']} steps, "
                f"{out['renders']} renders, {out['seconds']:.1f} s"
                + (" — every training member agrees (p ≥ 0.95)" if out["stopped"] == "threshold" else "")
                + f". Training ensemble mean p = {sum(training.values()) / max(len(training), 1):.3f}"
                + (f"; held-out judges mean p = {sum(held.values()) / len(held):.3f}" if held else "")
            )
            name = download_name("perception", out["target"]["label"].split(",")[0], f"seed{seed}", suffix="")
            files = [
                save_png(out["image"], name + ".png"),
                download_file(name + ".svg", lambda p, svg=out["svg"]: p.write_text(svg, encoding="utf-8")),
            ]
            yield out["image"], belief_table(out["scores"]), (f"**{note}** " if note else "") + summary, files
        else:
            frame, record = item.value
            p = record.get("probability") if isinstance(record, dict) else None
            extra = f", least convinced member p = {p:.3f}" if isinstance(p, float) else ""
            yield frame, gr.skip(), f"Step {item.step} of at most {item.total}{extra}…", gr.skip()


def draw(target, strokes, palette, steps, seed, model=DEFAULT_MODEL):
    """One request without streaming: returns ``(PIL image, belief table, summary markdown)``."""
    *_, last = _draw_stream(target, strokes, palette, steps, seed, model)
    return last[:3]


CITATION = 'Tom White 2018, "Perception Engines" (Artists and Machine Intelligence, Medium).'
HOW_IT_WORKS = """
1. The drawing is a few thick strokes (and optional blobs) in a small palette of printable inks, rendered by a
   differentiable rasteriser.
2. Each step renders it, takes random "physical" views (viewpoint, blur, lighting, ink misregistration) and asks the
   **training** classifiers (EfficientNet-Lite0 and -Lite2) for the log-probability of the class.
3. Adam moves the strokes and inks to raise it; the run stops when every training member gives p ≥ 0.95.
4. **Held-out** classifiers (Coral MobileNets) never took part: their belief measures whether the abstraction
   transfers (Tom White, *Perception Engines*, 2018).
"""


def build_demo(model: str = DEFAULT_MODEL) -> gr.Blocks:
    with gr.Blocks(title="hfmech · Perception Engine") as demo:
        gr.Markdown(
            "## Perception Engines — abstraction that transfers\n"
            "*Tom White 2018.* A drawing system with a few strokes and inks is optimised until an ensemble of "
            "ImageNet classifiers agrees on a class; held-out classifiers that never took part judge the result. "
            "Click an example: the drawing appears as it is optimised."
        )
        with gr.Row():
            with gr.Column():
                target = gr.Dropdown(
                    choices=list(dict.fromkeys([c for c, _ in EXAMPLES] + MORE_CLASSES)),
                    value=DEFAULT_CLASS,
                    allow_custom_value=True,
                    label="ImageNet class (name or index)",
                    elem_id="pe-class",
                )
                preset = gr.Radio(
                    list(PRESETS), value="fast", label="Preset (fast for a CPU; quality for a GPU)"
                )
                strokes = gr.Slider(1, 40, value=DEFAULT_STROKES, step=1, label="Strokes")
                palette = gr.Slider(1, 10, value=DEFAULT_PALETTE, step=1, label="Inks in the palette")
                steps = gr.Slider(1, 300, value=DEFAULT_STEPS, step=1, label="Optimisation steps")
                seed = gr.Number(value=0, precision=0, label="Seed")
                with gr.Row():
                    run = gr.Button("Draw", variant="primary", elem_id="pe-run")
                    stop = gr.Button("Stop", variant="stop", elem_id="pe-stop")
            with gr.Column():
                image = gr.Image(type="pil", label="Drawing", elem_id="pe-output", format="png")
                summary = gr.Markdown(elem_id="pe-summary")
                chart = gr.BarPlot(
                    value=belief_table({}),
                    x="classifier",
                    y="probability",
                    color="role",
                    y_lim=[0, 1],
                    x_label_angle=-30,  # six member names side by side overlap when level
                    label="Each classifier's belief in the class",
                    elem_id="pe-chart",
                )
                files = gr.File(
                    label="Download (PNG, SVG)",
                    file_count="multiple",
                    elem_id="pe-download",
                    interactive=False,
                )
                how_it_works(figure_of(__file__), CITATION, HOW_IT_WORKS)

        def perceive(
            target,
            strokes,
            palette,
            steps,
            seed,
            progress=gr.Progress(),  # noqa: B008
            request: gr.Request = None,
        ):
            """Draw an ImageNet class with a few strokes; streams the drawing, then PNG and SVG.

            Args:
                target: an ImageNet class name (any WordNet lemma) or index.
                strokes: number of strokes (1-40).
                palette: number of inks in the palette (1-10).
                steps: at most this many optimisation steps (stops when every training member gives p >= 0.95).
                seed: random seed (the starting drawings and the views).
            Returns:
                the drawing, every classifier's belief, a summary and the PNG + SVG files.
            """
            yield from _draw_stream(target, strokes, palette, steps, seed, model, progress, request)

        # The examples' outputs are cached lazily (the next visitor's click is instant). A BarPlot among the outputs
        # of a cached example leaves Gradio 6.31's page "processing" for good (reproduced without any model), so the
        # example writes the belief rows to a hidden JSON and the chart follows it.
        def example(target, seed, progress=gr.Progress(), request: gr.Request = None):  # noqa: B008
            for frame, table, text, downloads in _draw_stream(
                target, DEFAULT_STROKES, DEFAULT_PALETTE, DEFAULT_STEPS, seed, model, progress, request
            ):
                rows = table.to_dict("records") if isinstance(table, pd.DataFrame) else table  # or gr.skip()
                yield frame, rows, text, downloads

        preset.change(
            lambda name: PRESETS[name], preset, [strokes, steps], api_visibility="private", queue=False
        )
        event = run.click(
            perceive,
            inputs=[target, strokes, palette, steps, seed],
            outputs=[image, chart, summary, files],
            **event_kwargs("perceive"),
        )
        rows = gr.JSON(visible=False, elem_id="pe-belief-rows")
        rows.change(_chart, rows, chart, queue=False, api_visibility="private")
        gr.Examples(
            [[c, s] for c, s in EXAMPLES],
            inputs=[target, seed],
            outputs=[image, rows, summary, files],
            fn=example,
            api_name="perceive_example",
            label="Examples (class, seed) that converge in the default budget: click one",
            elem_id="pe-examples",
            **examples_kwargs(),
        )
        add_stop(stop, event)
    return configure(demo)
