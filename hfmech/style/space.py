"""The style-transfer Space: an "Image" tab (Gatys et al. 2016 on a chosen backbone) and an "Audio" tab.

``spaces/style-transfer/app.py`` is just ``demo = build_demo()``; ``hfmech serve`` renders :func:`build_image_demo`
in its "Style transfer" tab. The audio tab is :func:`hfmech.style.space_audio.build_audio_tab` (mechanism 2's
audio half); if that module cannot be imported the tab shows a placeholder saying so.

Defaults keep a request well under 30 s on a 2-core CPU: 192 px on the longer side, 10 L-BFGS evaluations,
vgg16-hed-trunk. Inputs are downscaled (a documented fallback, not an error); uploads over the app's size limit are
refused by Gradio (``launch(max_file_size=...)``). User errors reach the page as ``gr.Error`` messages.
"""

from __future__ import annotations

import gradio as gr

from ..errors import USER_ERRORS
from ..hub import load_pipeline
from ..ui import readable_upload
from ..vision.image_io import load_image, resize_max_side

BACKBONES = ("vgg16-hed-trunk", "random-multiscale", "random-vgg")
DEFAULT_BACKBONE = "vgg16-hed-trunk"
DEFAULT_SIZE = 192
DEFAULT_STEPS = 10
MAX_INPUT_SIDE = 1024


def stylize_image(
    content,
    style,
    backbone=DEFAULT_BACKBONE,
    size=DEFAULT_SIZE,
    steps=DEFAULT_STEPS,
    style_weight=20.0,
    keep_colors="no",
    seed=0,
    style2=None,
    style2_weight=0.5,
):
    """One Space request: returns the stylised PIL image. User errors become ``gr.Error`` messages."""
    if content is None:
        raise gr.Error("Upload a content image first.")
    if style is None:
        raise gr.Error("Upload a style image.")
    if backbone not in BACKBONES:
        raise gr.Error(f"unknown backbone {backbone!r}; choose one of {', '.join(BACKBONES)}")
    try:
        pipe = load_pipeline("style-transfer", backbone)
        picture = resize_max_side(load_image(content), MAX_INPUT_SIDE)
        styles = [resize_max_side(load_image(style), MAX_INPUT_SIDE)]
        weights = None
        if style2 is not None:
            styles.append(resize_max_side(load_image(style2), MAX_INPUT_SIDE))
            w2 = float(style2_weight)
            weights = [1.0 - w2, w2]
        result = pipe(
            picture,
            style=styles,
            style_weights=weights,
            size=int(size),
            steps=int(steps),
            style_weight=float(style_weight),
            keep_colors=None if keep_colors in (None, "no") else keep_colors,
            seed=int(seed) if seed is not None else None,
            progress=False,
        )
    except USER_ERRORS as e:
        raise gr.Error(str(e)) from e
    return result["image"]


def build_image_tab() -> None:
    """Render the image style-transfer UI into the current ``gr.Blocks`` (or tab) context."""
    gr.Markdown(
        "## Image style transfer\n"
        "The content photo is optimised so that its deep features match the photo and the Gram matrices of its "
        "features match the painting (Gatys, Ecker & Bethge 2016). `random-multiscale` is a single untrained layer "
        "of random filters (Ustyuzhaninov et al. 2016); `random-vgg` an untrained VGG16."
    )
    with gr.Row():
        with gr.Column():
            content = readable_upload(gr.Image(type="pil", label="Content image", elem_id="style-content"))
            style = readable_upload(gr.Image(type="pil", label="Style image", elem_id="style-style"))
            backbone = gr.Dropdown(choices=list(BACKBONES), value=DEFAULT_BACKBONE, label="Backbone")
            size = gr.Slider(64, 512, value=DEFAULT_SIZE, step=32, label="Output size (longer side, px)")
            steps = gr.Slider(1, 200, value=DEFAULT_STEPS, step=1, label="L-BFGS steps per scale")
            style_weight = gr.Slider(0.5, 200, value=20.0, label="Style weight (content weight 1)")
            keep_colors = gr.Radio(
                ["no", "luminance", "histogram"], value="no", label="Keep the content's colours"
            )
            seed = gr.Number(value=0, precision=0, label="Seed")
            with gr.Accordion("Blend a second style", open=False):
                style2 = readable_upload(
                    gr.Image(type="pil", label="Second style (optional)", elem_id="style-style2")
                )
                style2_weight = gr.Slider(0, 1, value=0.5, label="Weight of the second style")
            run = gr.Button("Stylise", variant="primary", elem_id="style-run")
        with gr.Column():
            output = gr.Image(type="pil", label="Result", elem_id="style-output")

    # a named function: its parameter names are the API's (``Client.predict(content=..., api_name="/stylize")``)
    def stylize(
        content, style, backbone, size, steps, style_weight, keep_colors, seed, style2, style2_weight
    ):
        return stylize_image(
            content, style, backbone, size, steps, style_weight, keep_colors, seed, style2, style2_weight
        )

    run.click(
        stylize,
        inputs=[
            content,
            style,
            backbone,
            size,
            steps,
            style_weight,
            keep_colors,
            seed,
            style2,
            style2_weight,
        ],
        outputs=output,
        api_name="stylize",
    )


def build_audio_tab_or_placeholder() -> None:
    try:
        from .space_audio import build_audio_tab
    except ImportError as err:  # the audio half is optional at run time
        gr.Markdown(f"Audio style transfer is not available in this installation ({err}).")
        return
    build_audio_tab()


def build_image_demo() -> gr.Blocks:
    with gr.Blocks(title="hfmech · style transfer") as demo:
        build_image_tab()
    return demo


def build_demo() -> gr.Blocks:
    with gr.Blocks(title="hfmech · style transfer") as demo:
        with gr.Tab("Image"):
            build_image_tab()
        with gr.Tab("Audio"):
            build_audio_tab_or_placeholder()
    return demo
