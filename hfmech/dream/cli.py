"""``hfmech dream`` and ``hfmech visualize`` (DeepDream and activation maximisation from the command line)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from ..errors import USER_ERRORS, OutputPathError
from ..hub.cli import (
    add_seed_argument,
    add_settings_arguments,
    check_output_path,
    load_pipeline_for_cli,
    seed_from_args,
    settings_from_args,
)
from ..vision.image_io import SAVE_SUFFIXES
from . import MECHANISM
from .gradients import GRADIENT_NORMALISATIONS
from .pipeline_deep_dream import DreamSettings

#: The settings ``hfmech dream`` exposes (each a field of :class:`DreamSettings`; default: the model config's).
DREAM_FLAGS = {
    "layer": "layer name or preset (shallow, middle, deep)",
    "octaves": "number of octaves (google/deepdream: 4)",
    "octave_scale": "size ratio between octaves (1.4)",
    "steps": "ascent steps per octave (10)",
    "step_size": "ascent step in [0, 1] pixel units (1.5/255 with mean-abs)",
    "jitter": "random shift per step, pixels (32)",
    "grad_norm": "gradient normalisation of the step",
    "tile_size": "tile side for large images; 0 = no tiling",
    "max_pixels": "larger inputs are downscaled to this many pixels",
}


def dream(args) -> int:
    seed = seed_from_args(args)
    from ..vision.image_io import save_image_atomic

    out_path = check_output_path(args.output, suffixes=SAVE_SUFFIXES, kind="image")
    frames_dir = Path(os.path.expanduser(args.frames)) if args.frames else None
    if frames_dir is not None and frames_dir.exists() and not frames_dir.is_dir():
        raise OutputPathError(f"--frames {str(frames_dir)!r} exists and is not a directory")
    settings = settings_from_args(args, DreamSettings)
    DreamSettings().updated(**settings)  # range checks before the model and the image are loaded
    pipe = load_pipeline_for_cli("deep-dream", args.model)
    result = pipe(args.input, guide=args.guide, seed=seed, return_frames=bool(args.frames), **settings)
    save_image_atomic(result["image"], out_path)
    if frames_dir is not None:
        frames_dir.mkdir(parents=True, exist_ok=True)
        for i, frame in enumerate(result["frames"]):
            save_image_atomic(frame, frames_dir / f"octave_{i}.png")
    print(
        f"{out_path}  objective {result['objective']}: {result['objective_start']:.4g} -> "
        f"{result['objective_end']:.4g}"
    )
    return 0


def visualize(args) -> int:
    seed = seed_from_args(args)
    from ..vision.image_io import save_image_atomic
    from . import objectives
    from .pipeline_deep_dream import DreamParameterError

    out_path = check_output_path(args.output, suffixes=SAVE_SUFFIXES, kind="image")
    pipe = load_pipeline_for_cli("deep-dream", args.model)
    layer = pipe.resolve_layer(args.layer)
    if args.channel is not None:
        objective = objectives.channel(layer, args.channel)
    elif args.logit is not None:
        objective = objectives.class_logit(args.logit)
    else:
        objective = objectives.layer(layer)
    try:
        result = pipe.visualize(objective, size=args.size, steps=args.steps, seed=seed)
    except USER_ERRORS:
        raise
    except ValueError as e:
        # --size/--steps out of range, --channel/--logit past the layer's channels/classes
        raise DreamParameterError(str(e)) from e
    save_image_atomic(result["images"][0], out_path)
    print(f"{args.output}  {objective}: {result['objective_history'][-1]:.4g}")
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    d = sub.add_parser("dream", help="DeepDream an image (Mordvintsev et al. 2015)")
    d.add_argument("input", help="image path or URL")
    d.add_argument("-o", "--output", required=True, help="output image (.png/.jpg/.webp), written atomically")
    d.add_argument(
        "--model",
        default=MECHANISM.default_model(),
        help="zoo name, local folder or Hub id (default: %(default)s)",
    )
    add_settings_arguments(d, DreamSettings, DREAM_FLAGS, choices={"grad_norm": GRADIENT_NORMALISATIONS})
    d.add_argument("--guide", default=None, help="guide image for guided dreaming")
    add_seed_argument(d, default=None)
    d.add_argument("--frames", default=None, help="directory to write the image after each octave")
    d.set_defaults(func=dream)

    v = sub.add_parser("visualize", help="feature visualisation from noise (activation maximisation)")
    v.add_argument("-o", "--output", required=True)
    v.add_argument(
        "--model",
        default=MECHANISM.default_model(),
        help="zoo name, local folder or Hub id (default: %(default)s)",
    )
    v.add_argument("--layer", default=None)
    v.add_argument("--channel", type=int, default=None)
    v.add_argument("--logit", type=int, default=None, help="maximise an ImageNet class logit instead")
    v.add_argument("--size", type=int, default=224)
    v.add_argument("--steps", type=int, default=256)
    add_seed_argument(v, default=None)
    v.set_defaults(func=visualize)
