"""The DeepDream Space: image in; layer, octaves, steps and an optional guide image; dream out.

``spaces/deepdream/app.py`` is just ``demo = build_demo()``; ``hfmech serve`` renders the same Blocks in a tab.
Inputs are downscaled to ``max_side`` (a documented fallback, not an error) so the default request stays well under
30 s on a 2-core CPU; uploads over the app's size limit are refused by Gradio (``launch(max_file_size=...)``).
Every user error reaches the page (and ``gradio_client``, as ``AppError``) as a ``gr.Error`` with hfmech's message:
Gradio hides the text of any other exception unless ``show_error=True``.
"""

from __future__ import annotations

import gradio as gr

from ..errors import USER_ERRORS
from ..hub import load_pipeline
from ..ui import readable_upload
from ..vision.features import available_layers
from ..vision.image_io import load_image, resize_max_side

DEFAULT_MODEL = "efficientnet-lite0-imagenet"
DEFAULT_MAX_SIDE = 384


def dream_image(image, layer, octaves, steps, guide, seed, max_side=DEFAULT_MAX_SIDE, model=DEFAULT_MODEL):
    """One Space request: returns the dreamed PIL image. User errors become ``gr.Error`` messages."""
    if image is None:
        raise gr.Error("Upload an image first.")
    try:
        pipe = load_pipeline("deep-dream", model)
        picture = resize_max_side(load_image(image), int(max_side))
        guide_image = resize_max_side(load_image(guide), int(max_side)) if guide is not None else None
        result = pipe(
            picture,
            layer=layer or None,
            octaves=int(octaves),
            steps=int(steps),
            guide=guide_image,
            seed=int(seed) if seed is not None else None,
            progress=False,
        )
    except USER_ERRORS as e:
        raise gr.Error(str(e)) from e
    return result["image"]


def layer_choices(model: str = DEFAULT_MODEL) -> list[str]:
    pipe = load_pipeline("deep-dream", model)
    presets = list((pipe.settings.presets or {}).keys())
    return presets + [n for n in available_layers(pipe.model) if n not in presets]


def build_demo(model: str = DEFAULT_MODEL) -> gr.Blocks:
    pipe = load_pipeline("deep-dream", model)
    default_layer = pipe.settings.layer or None
    with gr.Blocks(title="hfmech · DeepDream") as demo:
        gr.Markdown(
            "## DeepDream — transformative perception\n"
            "Gradient ascent on the image to amplify what a layer of an ImageNet classifier sees "
            "(Mordvintsev et al. 2015). Shallow layers sharpen edges and textures; deep layers read in object parts."
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
                octaves = gr.Slider(1, 6, value=3, step=1, label="Octaves")
                steps = gr.Slider(1, 30, value=10, step=1, label="Steps per octave")
                seed = gr.Number(value=0, precision=0, label="Seed")
                max_side = gr.Slider(128, 768, value=DEFAULT_MAX_SIDE, step=32, label="Max side (px)")
                guide = readable_upload(
                    gr.Image(type="pil", label="Guide image (optional)", elem_id="dream-guide")
                )
                run = gr.Button("Dream", variant="primary", elem_id="dream-run")
            with gr.Column():
                output = gr.Image(type="pil", label="Dream", elem_id="dream-output")

        # a named function, not a lambda: its parameter names are the API's (``Client.predict(layer=...)``)
        def dream(image, layer, octaves, steps, guide, seed, max_side):
            return dream_image(image, layer, octaves, steps, guide, seed, max_side, model=model)

        run.click(
            dream,
            inputs=[image, layer, octaves, steps, guide, seed, max_side],
            outputs=output,
            api_name="dream",
        )
    return demo
