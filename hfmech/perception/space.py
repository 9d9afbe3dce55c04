"""The Perception Engine Space: pick a class, the number of strokes and inks → a drawing and each classifier's belief.

``spaces/perception-engine/app.py`` is just ``demo = build_demo()``; ``hfmech serve`` renders the same Blocks in a
tab. The bar chart shows every member's probability of the target on the final drawing: the training members (which
the drawing was optimised for) and the held-out judges (never seen during optimisation). Defaults are kept small
(``DEFAULT_STEPS`` steps, 2 views, members at their own resolution) so the default request stays short on a 2-core CPU; user errors
reach the page (and ``gradio_client``) as ``gr.Error`` with hfmech's message.
"""

from __future__ import annotations

import gradio as gr
import pandas as pd

from ..errors import USER_ERRORS
from ..hub import load_pipeline

DEFAULT_MODEL = "perception-ensemble-lite"
DEFAULT_CLASS = "electric fan"
DEFAULT_STROKES = 16
DEFAULT_PALETTE = 10  # the pipeline's default inks
DEFAULT_STEPS = 30
SPACE_SETTINGS = {"views": 2, "size": 224}  # the rest (learning rate 0.1, ...) from the repo's config
EXAMPLE_CLASSES = [
    "electric fan",
    "hammerhead",
    "tick",
    "jellyfish",
    "lemon",
    "banjo",
    "iron",
    "measuring cup",
]


def belief_table(scores: dict) -> pd.DataFrame:
    """``{"training": {name: p}, "held_out": {...}}`` → rows ``classifier, role, probability``."""
    rows = [
        {"classifier": name, "role": role.replace("_", "-"), "probability": round(float(p), 4)}
        for role in ("training", "held_out")
        for name, p in scores.get(role, {}).items()
    ]
    return pd.DataFrame(rows, columns=["classifier", "role", "probability"])


def draw(target, strokes, palette, steps, seed, model=DEFAULT_MODEL):
    """One Space request: returns ``(PIL image, belief table, summary markdown)``."""
    if target is None or not str(target).strip():
        raise gr.Error("Name an ImageNet class first (e.g. 'electric fan').")
    try:
        pipe = load_pipeline("perception-engine", model)
        out = pipe(
            str(target),
            strokes=int(strokes),
            palette=int(palette),
            steps=int(steps),
            seed=int(seed) if seed is not None else None,
            progress=False,
            **SPACE_SETTINGS,
        )
    except USER_ERRORS as e:
        raise gr.Error(str(e)) from e
    training = out["scores"]["training"]
    held = out["scores"]["held_out"]
    summary = (
        f"**{out['target']['label']}** (class {out['target']['index']}): {out['steps']} steps, "
        f"{out['renders']} renders, {out['seconds']:.1f} s. Training ensemble mean p = "
        f"{sum(training.values()) / max(len(training), 1):.3f}"
        + (f"; held-out judges mean p = {sum(held.values()) / len(held):.3f}" if held else "")
    )
    return out["image"], belief_table(out["scores"]), summary


def build_demo(model: str = DEFAULT_MODEL) -> gr.Blocks:
    with gr.Blocks(title="hfmech · Perception Engine") as demo:
        gr.Markdown(
            "## Perception Engines — abstraction that transfers\n"
            "A drawing system with a few strokes and inks is optimised until an ensemble of ImageNet classifiers "
            "agrees on a class (Tom White, 2018). Held-out classifiers that never took part judge the result."
        )
        with gr.Row():
            with gr.Column():
                target = gr.Dropdown(
                    choices=EXAMPLE_CLASSES,
                    value=DEFAULT_CLASS,
                    allow_custom_value=True,
                    label="ImageNet class (name or index)",
                    elem_id="pe-class",
                )
                strokes = gr.Slider(1, 40, value=DEFAULT_STROKES, step=1, label="Strokes")
                palette = gr.Slider(1, 10, value=DEFAULT_PALETTE, step=1, label="Inks in the palette")
                steps = gr.Slider(1, 300, value=DEFAULT_STEPS, step=1, label="Optimisation steps")
                seed = gr.Number(value=0, precision=0, label="Seed")
                run = gr.Button("Draw", variant="primary", elem_id="pe-run")
            with gr.Column():
                image = gr.Image(type="pil", label="Drawing", elem_id="pe-output")
                chart = gr.BarPlot(
                    value=belief_table({}),
                    x="classifier",
                    y="probability",
                    color="role",
                    y_lim=[0, 1],
                    label="Each classifier's belief in the class",
                    elem_id="pe-chart",
                )
                summary = gr.Markdown(elem_id="pe-summary")

        def perceive(target, strokes, palette, steps, seed):
            return draw(target, strokes, palette, steps, seed, model=model)

        run.click(
            perceive,
            inputs=[target, strokes, palette, steps, seed],
            outputs=[image, chart, summary],
            api_name="perceive",
        )
    return demo
