"""``hfmech style`` (Gatys et al. 2016) and ``hfmech style-audio`` (Ulyanov & Lebedev 2016)."""

from __future__ import annotations

import argparse

from ..hub.cli import check_input_path, check_output_path, load_pipeline_for_cli
from ..vision.image_io import SAVE_SUFFIXES
from . import MECHANISM
from .audio import WRITE_FORMATS
from .pipeline_style_transfer import INITS, KEEP_COLORS, OPTIMIZERS, PRECISIONS


def _default_model(task: str) -> str:
    return next(t.default_model for t in MECHANISM.tasks if t.name == task)


def style(args) -> int:
    """Gatys et al. image style transfer; ``--backbone`` is a zoo name, local folder or Hub id."""
    from ..vision.image_io import save_image_atomic
    from .pipeline_style_transfer import StyleSettings, StyleTransferPipeline

    out_path = check_output_path(args.output, suffixes=SAVE_SUFFIXES, kind="image")
    steps = (
        args.steps[0] if args.steps and len(args.steps) == 1 else args.steps
    )  # one count, or one per scale
    settings = dict(
        size=args.size,
        steps=steps,
        optimizer=args.optimizer,
        learning_rate=args.learning_rate,
        init=args.init,
        content_weight=args.content_weight,
        style_weight=args.style_weight,
        tv_weight=args.tv_weight,
        style_scale=args.style_scale,
        keep_colors=args.keep_colors,
        scales=args.scales,
        precision=args.precision,
        pyramid_levels=args.pyramid_levels,
        lbfgs_history=args.lbfgs_history,
    )
    # range checks before the model and the images are loaded (a per-scale steps list is checked against the
    # number of scales by the pipeline, which knows the model's default size)
    StyleSettings().updated(**dict(settings, steps=steps[0] if isinstance(steps, list) else steps))
    StyleTransferPipeline.blend_weights(args.style, args.weights)
    pipe = load_pipeline_for_cli("style-transfer", args.backbone)
    result = pipe(args.content, style=args.style, style_weights=args.weights, seed=args.seed, **settings)
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
    from .audio import AudioNotFoundError, save_audio_atomic
    from .pipeline_audio_style_transfer import AudioStyleSettings

    out = check_output_path(args.output, suffixes=WRITE_FORMATS, kind="audio")
    for path in (args.content, args.style):
        try:
            check_input_path(path, "audio file")
        except FileNotFoundError as e:
            raise AudioNotFoundError(str(e)) from None
    settings = dict(
        steps=args.steps,
        content_weight=args.content_weight,
        n_filters=args.n_filters,
        griffin_lim_iters=args.griffin_lim_iters,
        max_seconds=args.seconds,
        on_too_long="truncate" if args.seconds is not None else None,
    )
    AudioStyleSettings().updated(**settings)  # range checks before the model and the audio are loaded
    pipe = load_pipeline_for_cli("audio-style-transfer", args.model)
    result = pipe(args.content, style=args.style, seed=args.seed, **settings)
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
        default=_default_model("style-transfer"),
        help="vgg16-hed-trunk | random-multiscale | random-vgg, a local folder or a Hub id (default: %(default)s)",
    )
    st.add_argument("--size", type=int, default=None, help="output's longer side in px")
    st.add_argument(
        "--scales", type=int, nargs="+", default=None, help="coarse-to-fine sizes (default: auto)"
    )
    st.add_argument(
        "--steps",
        type=int,
        nargs="+",
        default=None,
        help="optimiser steps per scale: one count for every scale, or one per scale (coarse to fine)",
    )
    st.add_argument("--optimizer", choices=OPTIMIZERS, default=None)
    st.add_argument("--learning-rate", type=float, default=None)
    st.add_argument("--init", choices=INITS, default=None)
    st.add_argument("--content-weight", type=float, default=None)
    st.add_argument("--style-weight", type=float, default=None)
    st.add_argument("--tv-weight", type=float, default=None)
    st.add_argument("--style-scale", type=float, default=None, help="style size relative to the content's")
    st.add_argument(
        "--keep-colors",
        nargs="?",
        const=KEEP_COLORS[0],
        choices=KEEP_COLORS,
        default=None,
        help="keep the content's colours: luminance-only transfer (default) or histogram matching",
    )
    st.add_argument(
        "--precision",
        choices=PRECISIONS,
        default=None,
        help="dtype of every evaluation (auto: bfloat16 on CPUs with AMX for VGG backbones, else float32)",
    )
    st.add_argument(
        "--pyramid-levels",
        type=int,
        default=None,
        help="L-BFGS on a Laplacian pyramid with N coarser levels (default 3; 0 = plain pixels)",
    )
    st.add_argument(
        "--lbfgs-history",
        type=int,
        default=None,
        help="L-BFGS correction pairs kept (neural-style's -lbfgs_num_correction; default 100)",
    )
    st.add_argument("--seed", type=int, default=None)
    st.set_defaults(func=style)

    sa = sub.add_parser("style-audio", help="audio style transfer, one random conv (Ulyanov & Lebedev 2016)")
    sa.add_argument("content", help="content audio (WAV, FLAC, MP3, OGG)")
    sa.add_argument("style", help="style audio")
    sa.add_argument("-o", "--output", required=True, help="output audio (.wav/.flac/.mp3/.ogg), atomic write")
    sa.add_argument(
        "--model",
        default=_default_model("audio-style-transfer"),
        help="zoo name, local folder or Hub id (default: %(default)s)",
    )
    sa.add_argument("--steps", type=int, default=None, help="L-BFGS iterations (default from the model: 300)")
    sa.add_argument("--seconds", type=float, default=None, help="use the first S seconds of each input")
    sa.add_argument("--seed", type=int, default=None)
    sa.add_argument("--content-weight", type=float, default=None, help="alpha (default 1e-2)")
    sa.add_argument("--n-filters", type=int, default=None, help="random filters (4096; fewer = faster)")
    sa.add_argument("--griffin-lim-iters", type=int, default=None, help="phase reconstruction rounds (500)")
    sa.set_defaults(func=style_audio)
