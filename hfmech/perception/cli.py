"""``hfmech perceive``: a Perception Engine drawing of an ImageNet class (White 2018)."""

from __future__ import annotations

import argparse

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
from .drawing import LAYOUTS
from .optimizers import OPTIMIZERS
from .pipeline_perception_engine import PerceptionEngineSettings

#: the settings ``hfmech perceive`` offers as flags (``init_layout`` → ``--init-layout``); types, choices and the
#: names come from :class:`PerceptionEngineSettings`, defaults from the model's config
SETTINGS_HELP = {
    "strokes": "number of strokes (default from the model config)",
    "blobs": "number of filled blobs",
    "palette": "number of inks from the default palette (1..10)",
    "optimizer": "Adam through the differentiable renderer, or an evolution strategy",
    "size": "canvas side in pixels (32..1024)",
    "steps": "optimisation steps (ES: iterations)",
    "learning_rate": "Adam step of the stroke parameters",
    "init_layout": "starting candidates: random strokes, a ring with spokes, or half each (default: mixed)",
}
SETTINGS_CHOICES = {"optimizer": OPTIMIZERS, "init_layout": LAYOUTS}


def perceive(args) -> int:
    seed = seed_from_args(args)
    from ..hub.files import write_text_atomic
    from ..vision.image_io import save_image_atomic
    from .targets import resolve_class

    out_path = check_output_path(args.output, suffixes=SAVE_SUFFIXES, kind="image")
    svg_path = check_output_path(args.svg, suffixes=(".svg",), kind="--svg") if args.svg else None
    # an unknown class name fails before the model loads
    resolve_class(int(args.target) if args.target.strip().isdigit() else args.target)
    pipe = load_pipeline_for_cli("perception-engine", args.model)
    result = pipe(args.target, seed=seed, **settings_from_args(args, PerceptionEngineSettings))
    save_image_atomic(result["image"], out_path)
    if svg_path is not None:
        write_text_atomic(svg_path, result["svg"])
    scores = result["scores"]
    print(
        f"{out_path}  {result['target']['label']} (class {result['target']['index']}), {result['steps']} steps, "
        f"{result['renders']} renders, {result['seconds']:.1f} s"
    )
    for role in ("training", "held_out"):
        for name, p in scores[role].items():
            print(f"  {role:<9} {name:<24} p = {p:.4f}  rank {result['ranks'][role][name]}")
    if svg_path is not None:
        print(f"svg: {svg_path}")
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    pe = sub.add_parser(
        "perceive", help="Perception Engine: draw an ImageNet class for a classifier ensemble (White 2018)"
    )
    pe.add_argument("target", help="ImageNet class name (any WordNet lemma, e.g. 'electric fan') or index")
    pe.add_argument(
        "-o", "--output", required=True, help="output image (.png/.jpg/.webp), written atomically"
    )
    pe.add_argument(
        "--model",
        default=MECHANISM.default_model(),
        help="zoo name, local folder or Hub id (default: %(default)s)",
    )
    add_settings_arguments(pe, PerceptionEngineSettings, SETTINGS_HELP, SETTINGS_CHOICES)
    add_seed_argument(pe, default=None)
    pe.add_argument("--svg", default=None, help="also write the drawing as SVG")
    pe.set_defaults(func=perceive)
