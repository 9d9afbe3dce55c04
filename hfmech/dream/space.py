"""The DeepDream Space: image in; layer, octaves, steps and an optional guide image; dream out, streamed as it grows.

``spaces/deepdream/app.py`` is just ``demo = build_demo()``; ``hfmech serve`` renders the same Blocks in a tab.
The handler is a generator: the pipeline runs in a worker thread (:func:`hfmech.ui.stream_run`) and every few ascent
steps the current dream (at its octave's size) reaches the page; Stop ends the run at its next step; the request time
limit stops it with a message and keeps the dream so far. Inputs are downscaled to ``max_side`` (a documented
fallback, not an error); uploads over the app's size limit are refused by Gradio (``launch(max_file_size=...)``).
Every user error reaches the page (and ``gradio_client``, as ``AppError``) as a ``gr.Error`` with hfmech's message.
"""

from __future__ import annotations

import gradio as gr

from ..errors import USER_ERRORS
from ..hub import load_pipeline
from ..ui import (
    add_stop,
    configure,
    download_name,
    event_kwargs,
    example_path,
    examples_kwargs,
    figure_of,
    how_it_works,
    readable_upload,
    save_png,
    stop_message,
    stream_run,
)
from ..vision.features import available_layers
from ..vision.image_io import load_image, resize_max_side, tensor_to_image

DEFAULT_MODEL = "efficientnet-lite0-imagenet"
DEFAULT_MAX_SIDE = 384
DEFAULT_OCTAVES = 3
DEFAULT_STEPS = 10
#: name -> (octaves, steps per octave, max side): "fast" is the form's default (measured in the Space README).
PRESETS = {"fast": (DEFAULT_OCTAVES, DEFAULT_STEPS, DEFAULT_MAX_SIDE), "quality": (4, 20, 768)}
STREAM_EVERY = 3  # ascent steps between two images sent to the page
EXAMPLES = [
    ("sky.jpg", "shallow"),
    ("dog_cat.jpg", "deep"),
    ("parrot.jpg", "shallow"),
]


def _dream_stream(image, layer, octaves, steps, guide, seed, max_side, model, progress=None, request=None):
    """Yield ``(image, download path or None, status markdown)``: the growing dream, then the final one."""
    if image is None:
        raise gr.Error("Upload an image first (or click an example below).")
    try:
        pipe = load_pipeline("deep-dream", model)
        picture = resize_max_side(load_image(image), int(max_side))
        guide_image = resize_max_side(load_image(guide), int(max_side)) if guide is not None else None
    except USER_ERRORS as e:
        raise gr.Error(str(e)) from e

    def call(callback):
        return pipe(
            picture,
            layer=layer or None,
            octaves=int(octaves),
            steps=int(steps),
            guide=guide_image,
            seed=int(seed) if seed is not None else None,
            progress=False,
            callback_on_step_end=callback,
        )

    def to_frame(state):
        return tensor_to_image(state["pixels"]), state["octave"]

    for item in stream_run(
        pipe, call, to_frame, every=STREAM_EVERY, progress=progress, desc="dreaming", request=request
    ):
        if hasattr(item, "output"):
            out = item.output
            name = download_name("deepdream", layer or "default", f"seed{seed}", suffix=".png")
            note = stop_message(item, "dream")
            status = f"{out.objective}: {out.objective_start:.3g} → {out.objective_end:.3g} in {item.seconds:.1f} s."
            yield out.image, save_png(out.image, name), (f"**{note}** " if note else "") + status
        else:
            frame, octave = item.value
            yield (
                frame,
                gr.skip(),
                f"Octave {octave + 1} of {int(octaves)}, step {item.step} of {item.total}…",
            )


def dream_image(image, layer, octaves, steps, guide, seed, max_side=DEFAULT_MAX_SIDE, model=DEFAULT_MODEL):
    """One request without streaming: returns the dreamed PIL image. User errors become ``gr.Error`` messages."""
    *_, last = _dream_stream(image, layer, octaves, steps, guide, seed, max_side, model)
    return last[0]


def layer_choices(model: str = DEFAULT_MODEL) -> list[str]:
    pipe = load_pipeline("deep-dream", model)
    presets = list((pipe.settings.presets or {}).keys())
    return presets + [n for n in available_layers(pipe.model) if n not in presets]


CITATION = (
    'Mordvintsev, Olah & Tyka 2015, "Inceptionism: Going Deeper into Neural Networks" (Google Research '
    "blog; code: google/deepdream)."
)
HOW_IT_WORKS = """
1. The image goes through EfficientNet-Lite0 up to the chosen layer (the forward pass stops there).
2. The objective is the mean squared activation of that layer: whatever the layer responds to, more of it.
3. Gradient **ascent** on the pixels (normalised step, random jitter, tiled for large images) raises it.
4. **Octaves**: the dream starts on a small copy, is enlarged and continued, so patterns grow at several scales;
   the detail the dream added is carried up each octave (Mordvintsev, Olah & Tyka 2015, google/deepdream).

A guide image makes the objective "look like the guide's features" instead (the dot product with them).
"""


def build_demo(model: str = DEFAULT_MODEL) -> gr.Blocks:
    pipe = load_pipeline("deep-dream", model)
    default_layer = pipe.settings.layer or None
    with gr.Blocks(title="hfmech · DeepDream") as demo:
        gr.Markdown(
            "## DeepDream — transformative perception\n"
            "*Mordvintsev, Olah & Tyka 2015.* Gradient ascent on the image amplifies what a layer of an ImageNet "
            "classifier sees: shallow layers sharpen edges and textures, deep layers read in eyes, fur and object "
            "parts. Click an example, or upload a photo; the dream appears as it grows, octave by octave."
        )
        with gr.Row():
            with gr.Column():
                image = readable_upload(gr.Image(type="pil", label="Input image", elem_id="dream-input"))
                # allow_custom_value: an unknown name reaches the pipeline, whose error lists the valid layers
                layer = gr.Dropdown(
                    choices=layer_choices(model),
                    value=default_layer,
                    label="Layer (or preset)",
                    allow_custom_value=True,
                )
                preset = gr.Radio(
                    list(PRESETS), value="fast", label="Preset (fast ≈ seconds on a CPU; quality for a GPU)"
                )
                octaves = gr.Slider(1, 6, value=DEFAULT_OCTAVES, step=1, label="Octaves")
                steps = gr.Slider(1, 30, value=DEFAULT_STEPS, step=1, label="Steps per octave")
                seed = gr.Number(value=0, precision=0, label="Seed")
                max_side = gr.Slider(128, 768, value=DEFAULT_MAX_SIDE, step=32, label="Max side (px)")
                with gr.Accordion("Guide image (optional)", open=False):
                    guide = readable_upload(
                        gr.Image(type="pil", label="Guide image (optional)", elem_id="dream-guide")
                    )
                with gr.Row():
                    run = gr.Button("Dream", variant="primary", elem_id="dream-run")
                    stop = gr.Button("Stop", variant="stop", elem_id="dream-stop")
            with gr.Column():
                output = gr.Image(type="pil", label="Dream", elem_id="dream-output", format="png")
                status = gr.Markdown(elem_id="dream-status")
                download = gr.File(label="Download (PNG)", elem_id="dream-download", interactive=False)
                how_it_works(figure_of(__file__), CITATION, HOW_IT_WORKS)

        # a named function, not a lambda: its parameter names are the API's (``Client.predict(layer=...)``)
        def dream(
            image,
            layer,
            octaves,
            steps,
            guide,
            seed,
            max_side,
            progress=gr.Progress(),  # noqa: B008
            request: gr.Request = None,
        ):
            """DeepDream one image; streams the dream as it grows, then the final PNG.

            Args:
                image: the picture to dream on (downscaled to max_side).
                layer: a preset (shallow, middle, deep) or a layer name of the backbone.
                octaves: number of scales, 1-6 (the dream starts small and is enlarged).
                steps: gradient-ascent steps per octave, 1-30.
                guide: optional guide image: dream towards its features instead.
                seed: random seed (jitter); the same seed gives the same dream.
                max_side: the longer side of the input, in pixels (128-768).
            Returns:
                the dream, its PNG download and a status line.
            """
            yield from _dream_stream(
                image, layer, octaves, steps, guide, seed, max_side, model, progress=progress, request=request
            )

        def example(image, layer, progress=gr.Progress(), request: gr.Request = None):  # noqa: B008
            yield from _dream_stream(
                image,
                layer,
                DEFAULT_OCTAVES,
                DEFAULT_STEPS,
                None,
                0,
                DEFAULT_MAX_SIDE,
                model,
                progress=progress,
                request=request,
            )

        preset.change(
            lambda name: PRESETS[name],
            preset,
            [octaves, steps, max_side],
            api_visibility="private",
            queue=False,
        )
        event = run.click(
            dream,
            inputs=[image, layer, octaves, steps, guide, seed, max_side],
            outputs=[output, download, status],
            **event_kwargs("dream"),
        )
        gr.Examples(
            [[example_path(name), lay] for name, lay in EXAMPLES],
            inputs=[image, layer],
            outputs=[output, download, status],
            fn=example,
            **examples_kwargs(),
            api_name="dream_example",
            label="Examples (click one: it dreams at the fast preset)",
            elem_id="dream-examples",
        )
        add_stop(stop, event)
    return configure(demo)
