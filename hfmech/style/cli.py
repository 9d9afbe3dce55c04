"""``hfmech style`` (Gatys et al. 2016) and ``hfmech style-audio`` (Ulyanov & Lebedev 2016)."""

from __future__ import annotations

import argparse

from ..hub.cli import (
    add_seed_argument,
    add_settings_arguments,
    check_input_path,
    check_output_path,
    load_pipeline_for_cli,
    seed_from_args,
    settings_from_args,
)
from ..vision.image_io import SAVE_SUFFIXES
from . import MECHANISM
from .audio import WRITE_FORMATS
from .pipeline_audio_style_transfer import AudioStyleSettings
from .pipeline_style_transfer import INITS, KEEP_COLORS, OPTIMIZERS, PRECISIONS, StyleSettings

#: The settings ``hfmech style`` exposes as plain flags (fields of :class:`StyleSettings`; default: the model's).
STYLE_FLAGS = {
    "size": "output's longer side in px",
    "scales": "coarse-to-fine sizes (default: auto)",
    "optimizer": "optimiser (L-BFGS as Gatys et al., or Adam)",
    "learning_rate": "optimiser step size (default: the optimiser's)",
    "init": "start from the content, noise or the style",
    "content_weight": "alpha, the content loss weight",
    "style_weight": "beta, the style loss weight",
    "tv_weight": "total-variation weight",
    "style_scale": "style size relative to the content's",
    "precision": "dtype of every evaluation (auto: bfloat16 on CPUs with AMX for VGG backbones, else float32)",
    "pyramid_levels": "L-BFGS on a Laplacian pyramid with N coarser levels (default 3; 0 = plain pixels)",
    "lbfgs_history": "L-BFGS correction pairs kept (neural-style's -lbfgs_num_correction; default 100)",
}

#: The settings ``hfmech style-audio`` exposes (fields of :class:`AudioStyleSettings`).
AUDIO_STYLE_FLAGS = {
    "steps": "L-BFGS iterations (default from the model: 300)",
    "content_weight": "alpha (default 1e-2)",
    "n_filters": "random filters (4096; fewer = faster)",
    "griffin_lim_iters": "phase reconstruction rounds (500)",
}


def style(args) -> int:
    """Gatys et al. image style transfer; ``--backbone`` is a zoo name, local folder or Hub id."""
    seed = seed_from_args(args)
    from ..vision.image_io import save_image_atomic
    from .pipeline_style_transfer import StyleTransferPipeline

    out_path = check_output_path(args.output, suffixes=SAVE_SUFFIXES, kind="image")
    steps = (
        args.steps[0] if args.steps and len(args.steps) == 1 else args.steps
    )  # one count, or one per scale
    settings = {**settings_from_args(args, StyleSettings), "steps": steps}
    # range checks before the model and the images are loaded (a per-scale steps list is checked against the
    # number of scales by the pipeline, which knows the model's default size)
    StyleSettings().updated(**dict(settings, steps=steps[0] if isinstance(steps, list) else steps))
    StyleTransferPipeline.blend_weights(args.style, args.weights)
    pipe = load_pipeline_for_cli("style-transfer", args.backbone)
    result = pipe(args.content, style=args.style, style_weights=args.weights, seed=seed, **settings)
    save_image_atomic(result["image"], out_path)
    history = result["loss_history"]
    first, last = (history[0], history[-1]) if history else (float("nan"), float("nan"))
    print(
        f"{out_path}  {result['image'].width}x{result['image'].height}  loss {first:.4g} -> {last:.4g} "
        f"(content {result['content_loss']:.3g}, style {result['style_loss']:.3g}, scales {result['scales']})"
    )
    return 0


def style_audio(args) -> int:
    """Ulyanov & Lebedev audio style transfer; ``--seconds`` keeps the first S seconds of each input."""
    seed = seed_from_args(args)
    from .audio import AudioNotFoundError, save_audio_atomic

    out = check_output_path(args.output, suffixes=WRITE_FORMATS, kind="audio")
    for path in (args.content, args.style):
        try:
            check_input_path(path, "audio file")
        except FileNotFoundError as e:
            raise AudioNotFoundError(str(e)) from None
    settings = settings_from_args(args, AudioStyleSettings)
    if args.seconds is not None:
        settings.update(max_seconds=args.seconds, on_too_long="truncate")
    AudioStyleSettings().updated(**settings)  # range checks before the model and the audio are loaded
    pipe = load_pipeline_for_cli("audio-style-transfer", args.model)
    result = pipe(args.content, style=args.style, seed=seed, **settings)
    save_audio_atomic(result["audio"], result["sampling_rate"], out)
    print(
        f"{out}  {len(result.audio) / result.sampling_rate:.2f} s at {result.sampling_rate} Hz; "
        f"style loss {result.style_loss_start:.4g} -> {result.style_loss:.4g}, "
        f"content loss {result.content_loss_start:.4g} -> {result.content_loss:.4g}"
    )
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    st = sub.add_parser("style", help="image style transfer (Gatys et al. 2016)")
    st.add_argument("content", help="content image")
    st.add_argument("style", nargs="+", help="one or more style images")
    st.add_argument(
        "-o", "--output", required=True, help="output image (.png/.jpg/.webp), written atomically"
    )
    st.add_argument("--weights", type=float, nargs="+", default=None, help="blend weight per style image")
    st.add_argument(
        "--backbone",
        "--model",
        dest="backbone",
        default=MECHANISM.default_model("style-transfer"),
        help="vgg16-hed-trunk | random-multiscale | random-vgg, a local folder or a Hub id (default: %(default)s)",
    )
    add_settings_arguments(
        st,
        StyleSettings,
        STYLE_FLAGS,
        choices={"optimizer": OPTIMIZERS, "init": INITS, "precision": PRECISIONS},
    )
    st.add_argument(
        "--steps",
        type=int,
        nargs="+",
        default=None,
        help="optimiser steps per scale: one count for every scale, or one per scale (coarse to fine)",
    )
    st.add_argument(
        "--keep-colors",
        nargs="?",
        const=KEEP_COLORS[0],
        choices=KEEP_COLORS,
        default=None,
        help="keep the content's colours: luminance-only transfer (default) or histogram matching",
    )
    add_seed_argument(st, default=None)
    st.set_defaults(func=style)

    sa = sub.add_parser("style-audio", help="audio style transfer, one random conv (Ulyanov & Lebedev 2016)")
    sa.add_argument("content", help="content audio (WAV, FLAC, MP3, OGG)")
    sa.add_argument("style", help="style audio")
    sa.add_argument("-o", "--output", required=True, help="output audio (.wav/.flac/.mp3/.ogg), atomic write")
    sa.add_argument(
        "--model",
        default=MECHANISM.default_model("audio-style-transfer"),
        help="zoo name, local folder or Hub id (default: %(default)s)",
    )
    add_settings_arguments(sa, AudioStyleSettings, AUDIO_STYLE_FLAGS)
    sa.add_argument("--seconds", type=float, default=None, help="use the first S seconds of each input")
    add_seed_argument(sa, default=None)
    sa.set_defaults(func=style_audio)
