"""The style-transfer Space: an "Image" tab (Gatys et al. 2016 on a chosen backbone) and an "Audio" tab.

``spaces/style-transfer/app.py`` is just ``demo = build_demo()``; ``hfmech serve`` renders :func:`build_image_demo`
in its "Style transfer" tab. The audio tab is :func:`hfmech.style.space_audio.build_audio_tab` (mechanism 2's
audio half); if that module cannot be imported the tab shows a placeholder saying so.

A gallery of public-domain paintings sets the style with one click; clickable examples pair a photo with a painting.
The handler is a generator: the optimisation runs in a worker thread (:func:`hfmech.ui.stream_run`) and the image
reaches the page every few L-BFGS evaluations; Stop ends it at the next evaluation; the request time limit stops it
with a message. Defaults (the "fast" preset: 192 px, 30 L-BFGS evaluations, vgg16-hed-trunk) keep a request short on
a 2-core CPU. Inputs are downscaled (a documented fallback, not an error); uploads over the app's size limit are
refused by Gradio. User errors reach the page as ``gr.Error`` messages.
"""

from __future__ import annotations

from pathlib import Path

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
from ..vision.image_io import load_image, resize_max_side, tensor_to_image

BACKBONES = ("vgg16-hed-trunk", "random-multiscale", "random-vgg")
DEFAULT_BACKBONE = "vgg16-hed-trunk"
DEFAULT_SIZE = 192
DEFAULT_STEPS = 30
#: name -> (size, L-BFGS steps per scale): "fast" is the form's default (measured in the Space README).
PRESETS = {"fast": (DEFAULT_SIZE, DEFAULT_STEPS), "quality": (384, 100)}
MAX_INPUT_SIDE = 1024
STREAM_EVERY = 2  # L-BFGS evaluations between two images sent to the page
#: (file in hfmech/examples, caption): the public-domain paintings of the style gallery (ATTRIBUTION.md).
PAINTINGS = [
    ("starry_night.jpg", "van Gogh, The Starry Night"),
    ("great_wave.jpg", "Hokusai, The Great Wave"),
    ("the_scream.jpg", "Munch, The Scream"),
    ("shipwreck.jpg", "Turner, The Shipwreck"),
]
EXAMPLES = [
    ("dog_cat.jpg", "starry_night.jpg"),
    ("sky.jpg", "great_wave.jpg"),
    ("parrot.jpg", "the_scream.jpg"),
    ("dog_cat.jpg", "shipwreck.jpg"),
]


def _stylize_stream(
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
    progress=None,
    request=None,
):
    """Yield ``(image, download path or None, status markdown)``: the image every few evaluations, then the result."""
    if content is None:
        raise gr.Error("Upload a content image first (or click an example below).")
    if style is None:
        raise gr.Error("Upload a style image (or pick a painting from the gallery).")
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
    except USER_ERRORS as e:
        raise gr.Error(str(e)) from e

    def call(callback):
        return pipe(
            picture,
            style=styles,
            style_weights=weights,
            size=int(size),
            steps=int(steps),
            style_weight=float(style_weight),
            keep_colors=None if keep_colors in (None, "no") else keep_colors,
            seed=int(seed) if seed is not None else None,
            progress=False,
            callback_on_step_end=callback,
        )

    def to_frame(state):
        return tensor_to_image(state["pixels"]), state["loss"], state["scale"]

    for item in stream_run(
        pipe, call, to_frame, every=STREAM_EVERY, progress=progress, desc="style transfer", request=request
    ):
        if hasattr(item, "output"):
            out = item.output
            name = download_name(
                "style", _stem(content), _stem(style), backbone, f"seed{seed}", suffix=".png"
            )
            note = stop_message(item, "image")
            status = (
                f"{len(out.loss_history)} evaluations in {item.seconds:.1f} s; style loss {out.style_loss:.3g}, "
                f"content loss {out.content_loss:.3g}."
            )
            yield out.image, save_png(out.image, name), (f"**{note}** " if note else "") + status
        else:
            frame, loss, scale = item.value
            yield frame, gr.skip(), f"Evaluation {item.step} of {item.total} at {scale} px: loss {loss:.4g}…"


def _stem(image) -> str | None:
    """A file's base name for the download's name; ``None`` for an in-memory image."""
    name = getattr(image, "filename", None) or (image if isinstance(image, str) else None)
    return Path(name).stem if name else None


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
    """One request without streaming: returns the stylised PIL image. User errors become ``gr.Error`` messages."""
    *_, last = _stylize_stream(
        content, style, backbone, size, steps, style_weight, keep_colors, seed, style2, style2_weight
    )
    return last[0]


CITATION = 'Gatys, Ecker & Bethge 2016, "Image Style Transfer Using Convolutional Neural Networks", CVPR.'
HOW_IT_WORKS = """
1. A fixed network (VGG16 here, or random filters) describes an image at several layers.
2. **Content** is the activations of one deep layer; **style** is the Gram matrices (channel correlations) of
   several layers: which textures co-occur, regardless of where.
3. Starting from the photo, L-BFGS changes the pixels until the content features stay close to the photo's and the
   Gram matrices approach the painting's (Gatys, Ecker & Bethge, *CVPR* 2016). Coarse to fine: a small scale first.
4. "Keep the content's colours" transfers luminance only, or matches the colour histogram afterwards.
"""


def build_image_tab() -> None:
    """Render the image style-transfer UI into the current ``gr.Blocks`` (or tab) context."""
    gr.Markdown(
        "## Image style transfer\n"
        "*Gatys, Ecker & Bethge 2016.* The photo is optimised until its deep features match the photo and the Gram "
        "matrices of its features match the painting. Pick a painting below, or click an example; the image "
        "updates as the optimiser works. `random-multiscale` is a single untrained layer of random filters "
        "(Ustyuzhaninov et al. 2016); `random-vgg` an untrained VGG16."
    )
    with gr.Row():
        with gr.Column():
            content = readable_upload(gr.Image(type="pil", label="Content image", elem_id="style-content"))
            style = readable_upload(gr.Image(type="pil", label="Style image", elem_id="style-style"))
            gallery = gr.Gallery(
                [(example_path(f), caption) for f, caption in PAINTINGS],
                label="Pick a painting (public domain)",
                columns=4,
                height=140,
                allow_preview=False,
                elem_id="style-gallery",
            )
            backbone = gr.Dropdown(choices=list(BACKBONES), value=DEFAULT_BACKBONE, label="Backbone")
            preset = gr.Radio(list(PRESETS), value="fast", label="Preset (fast for a CPU; quality for a GPU)")
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
            with gr.Row():
                run = gr.Button("Stylise", variant="primary", elem_id="style-run")
                stop = gr.Button("Stop", variant="stop", elem_id="style-stop")
        with gr.Column():
            output = gr.Image(type="pil", label="Result", elem_id="style-output", format="png")
            status = gr.Markdown(elem_id="style-status")
            download = gr.File(label="Download (PNG)", elem_id="style-download", interactive=False)
            how_it_works(figure_of(__file__), CITATION, HOW_IT_WORKS)

    def pick_painting(evt: gr.SelectData):
        return example_path(PAINTINGS[evt.index][0])

    gallery.select(pick_painting, None, style, api_visibility="private", queue=False)
    preset.change(lambda name: PRESETS[name], preset, [size, steps], api_visibility="private", queue=False)

    # a named function: its parameter names are the API's (``Client.predict(content=..., api_name="/stylize")``)
    def stylize(
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
        progress=gr.Progress(),  # noqa: B008
        request: gr.Request = None,
    ):
        """Gatys style transfer; streams the image every two L-BFGS evaluations, then the final PNG.

        Args:
            content: the photo whose layout is kept.
            style: the painting whose textures are transferred.
            backbone: vgg16-hed-trunk (pretrained), random-multiscale or random-vgg (untrained).
            size: the output's longer side in pixels (64-512).
            steps: L-BFGS steps per scale (1-200).
            style_weight: weight of the style loss (content weight 1).
            keep_colors: no, luminance (transfer luminance only) or histogram (match colours afterwards).
            seed: random seed.
            style2: optional second style to blend.
            style2_weight: weight of the second style (0-1).
        Returns:
            the stylised image, its PNG download and a status line.
        """
        yield from _stylize_stream(
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
            progress=progress,
            request=request,
        )

    def example(content, style, progress=gr.Progress(), request: gr.Request = None):  # noqa: B008
        yield from _stylize_stream(
            content,
            style,
            DEFAULT_BACKBONE,
            DEFAULT_SIZE,
            DEFAULT_STEPS,
            20.0,
            "no",
            0,
            None,
            0.5,
            progress,
            request,
        )

    event = run.click(
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
        outputs=[output, download, status],
        **event_kwargs("stylize"),
    )
    gr.Examples(
        [[example_path(c), example_path(s)] for c, s in EXAMPLES],
        inputs=[content, style],
        outputs=[output, download, status],
        fn=example,
        api_name="stylize_example",
        label="Examples: photo × painting (click one: it runs at the fast preset)",
        elem_id="style-examples",
        **examples_kwargs(),
    )
    add_stop(stop, event)


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
    return configure(demo)


def build_demo() -> gr.Blocks:
    with gr.Blocks(title="hfmech · style transfer") as demo:
        with gr.Tab("Image"):
            build_image_tab()
        with gr.Tab("Audio"):
            build_audio_tab_or_placeholder()
    return configure(demo)
