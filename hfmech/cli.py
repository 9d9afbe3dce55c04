"""The ``hfmech`` command: one subcommand per mechanism, plus ``zoo`` and ``serve``.

    hfmech zoo list | build NAME [--force] | push NAME --repo ORG/NAME
    hfmech dream INPUT -o OUT [--model NAME] [--layer L] [--octaves N] [--steps N] [--guide IMG] [--seed N]
    hfmech visualize -o OUT [--model NAME] [--layer L] [--channel C] [--size N] [--steps N] [--seed N]
    hfmech serve [--host 127.0.0.1] [--port 7860]

User errors (bad images, unknown layers or zoo names, out-of-range parameters) print one ``error:`` line and exit 2.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

DEFAULT_VISION_MODEL = "efficientnet-lite0-imagenet"


def _zoo(args) -> int:
    from .hub import zoo

    if args.zoo_command == "list":
        rows = [
            (e.name, e.task, "built" if zoo.is_built(e.name) else "-", e.description) for e in zoo.entries()
        ]
        width = max((len(r[0]) for r in rows), default=4)
        for name, task, built, description in rows:
            print(f"{name:<{width}}  {task:<14} {built:<6} {description}")
        return 0
    if args.zoo_command == "build":
        print(zoo.build(args.name, force=args.force))
        return 0
    if args.zoo_command == "push":
        from huggingface_hub.errors import HfHubHTTPError

        from .errors import USER_ERRORS, HubError

        try:
            url = zoo.push(args.name, args.repo, token=args.token, private=args.private)
        except USER_ERRORS:
            raise
        except (HfHubHTTPError, ValueError) as e:  # refused request (401/403/...), invalid repo id
            hint = " (pass --token or run `hf auth login`)" if "401" in str(e) else ""
            raise HubError(
                f"cannot push {args.name!r} to {args.repo!r}: {' '.join(str(e).split())}{hint}"
            ) from e
        print(url)
        return 0
    raise AssertionError(args.zoo_command)


def _check_output(path: str) -> Path:
    """Validate an output image path *before* any expensive work (``save_image_atomic`` checks only at the end)."""
    from .errors import OutputPathError
    from .vision.image_io import _SAVE_SUFFIXES

    out = Path(os.path.expanduser(path))
    if out.suffix.lower() not in _SAVE_SUFFIXES:
        raise OutputPathError(
            f"cannot write {str(out)!r}: unknown image suffix {out.suffix or '(none)'!r}; "
            f"use one of {', '.join(sorted(_SAVE_SUFFIXES))}"
        )
    if not out.parent.is_dir():
        raise OutputPathError(f"cannot write {str(out)!r}: the directory {str(out.parent)!r} does not exist")
    if out.is_dir():
        raise OutputPathError(f"cannot write {str(out)!r}: it is a directory; pass a file path")
    if not os.access(out.parent, os.W_OK):
        raise OutputPathError(f"cannot write {str(out)!r}: the directory {str(out.parent)!r} is not writable")
    return out


def _load_deep_dream(model: str):
    from .errors import USER_ERRORS, ModelLoadError
    from .hub import load_pipeline

    looks_local = os.path.isabs(model) or model.startswith((".", "~")) or model.count("/") > 1
    if looks_local and not os.path.exists(os.path.expanduser(model)):
        raise ModelLoadError(f"cannot load model {model!r}: no such folder")
    try:
        return load_pipeline("deep-dream", model)
    except USER_ERRORS:
        raise
    except (OSError, ValueError) as e:
        # transformers: unknown Hub id or no network (OSError), a folder that holds no model (ValueError)
        raise ModelLoadError(f"cannot load model {model!r}: {' '.join(str(e).split())}") from e


def _dream(args) -> int:
    from .dream import DeepDreamPipeline, DreamSettings
    from .errors import OutputPathError
    from .vision.image_io import save_image_atomic

    out_path = _check_output(args.output)
    frames_dir = Path(os.path.expanduser(args.frames)) if args.frames else None
    if frames_dir is not None and frames_dir.exists() and not frames_dir.is_dir():
        raise OutputPathError(f"--frames {str(frames_dir)!r} exists and is not a directory")
    settings = dict(
        layer=args.layer,
        octaves=args.octaves,
        octave_scale=args.octave_scale,
        steps=args.steps,
        step_size=args.step_size,
        jitter=args.jitter,
        grad_norm=args.grad_norm,
        tile_size=args.tile_size,
        max_pixels=args.max_pixels,
    )
    DreamSettings().updated(**settings)  # range checks before the model and the image are loaded
    pipe: DeepDreamPipeline = _load_deep_dream(args.model)
    result = pipe(args.input, guide=args.guide, seed=args.seed, return_frames=bool(args.frames), **settings)
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


def _visualize(args) -> int:
    from .dream import DreamParameterError, objectives
    from .errors import USER_ERRORS
    from .vision.image_io import save_image_atomic

    out_path = _check_output(args.output)
    pipe = _load_deep_dream(args.model)
    layer = pipe.resolve_layer(args.layer)
    if args.channel is not None:
        objective = objectives.channel(layer, args.channel)
    elif args.logit is not None:
        objective = objectives.class_logit(args.logit)
    else:
        objective = objectives.layer(layer)
    try:
        result = pipe.visualize(objective, size=args.size, steps=args.steps, seed=args.seed)
    except USER_ERRORS:
        raise
    except ValueError as e:
        # --size/--steps out of range, --channel/--logit past the layer's channels/classes
        raise DreamParameterError(str(e)) from e
    save_image_atomic(result["images"][0], out_path)
    print(f"{args.output}  {objective}: {result['objective_history'][-1]:.4g}")
    return 0


def _serve(args) -> int:
    from .serve import build_app, launch_kwargs

    app = build_app()
    app.launch(server_name=args.host, server_port=args.port, share=False, **launch_kwargs())
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hfmech", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    z = sub.add_parser("zoo", help="list, build and push zoo models")
    zsub = z.add_subparsers(dest="zoo_command", required=True)
    zsub.add_parser("list", help="the zoo's models")
    zb = zsub.add_parser("build", help="build a Hub-ready folder from upstream weights; prints its path")
    zb.add_argument("name")
    zb.add_argument("--force", action="store_true", help="rebuild even if cached")
    zp = zsub.add_parser("push", help="build and upload to the Hub")
    zp.add_argument("name")
    zp.add_argument("--repo", required=True, help="ORG/NAME")
    zp.add_argument("--token", default=None, help="Hub token (default: the logged-in one)")
    zp.add_argument("--private", action="store_true")
    z.set_defaults(func=_zoo)

    d = sub.add_parser("dream", help="DeepDream an image")
    d.add_argument("input", help="image path or URL")
    d.add_argument("-o", "--output", required=True, help="output image (.png/.jpg/.webp), written atomically")
    d.add_argument("--model", default=DEFAULT_VISION_MODEL, help="zoo name, local folder or Hub id")
    d.add_argument(
        "--layer", default=None, help="layer name or preset (shallow, deep); default from the model config"
    )
    d.add_argument("--octaves", type=int, default=None)
    d.add_argument("--octave-scale", type=float, default=None)
    d.add_argument("--steps", type=int, default=None, help="ascent steps per octave")
    d.add_argument("--step-size", type=float, default=None, help="in [0, 1] pixel units")
    d.add_argument("--jitter", type=int, default=None)
    d.add_argument("--grad-norm", choices=["mean-abs", "std", "laplacian"], default=None)
    d.add_argument("--tile-size", type=int, default=None, help="tile side for large images; 0 = no tiling")
    d.add_argument("--guide", default=None, help="guide image for guided dreaming")
    d.add_argument("--seed", type=int, default=None)
    d.add_argument(
        "--max-pixels", type=int, default=None, help="larger inputs are downscaled to this many pixels"
    )
    d.add_argument("--frames", default=None, help="directory to write the image after each octave")
    d.set_defaults(func=_dream)

    v = sub.add_parser("visualize", help="feature visualisation from noise (activation maximisation)")
    v.add_argument("-o", "--output", required=True)
    v.add_argument("--model", default=DEFAULT_VISION_MODEL)
    v.add_argument("--layer", default=None)
    v.add_argument("--channel", type=int, default=None)
    v.add_argument("--logit", type=int, default=None, help="maximise an ImageNet class logit instead")
    v.add_argument("--size", type=int, default=224)
    v.add_argument("--steps", type=int, default=256)
    v.add_argument("--seed", type=int, default=None)
    v.set_defaults(func=_visualize)

    s = sub.add_parser("serve", help="launch the Gradio app with one tab per mechanism")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=7860)
    s.set_defaults(func=_serve)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from .errors import USER_ERRORS

    try:
        return args.func(args)
    except USER_ERRORS as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
