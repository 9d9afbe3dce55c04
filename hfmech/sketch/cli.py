"""``hfmech sketch-sample``, ``hfmech sketch-interpolate`` and ``hfmech sketch-train`` (Ha & Eck 2017)."""

from __future__ import annotations

import argparse

from ..hub.cli import check_input_path, check_output_path, load_pipeline_for_cli
from ..latent import INTERPOLATION_METHODS
from . import MECHANISM

OUTPUT_SUFFIXES = (".svg", ".png", ".npy")


def _grid(rows: list[list], out) -> None:
    """Write ``rows`` of stroke-3 arrays as an SVG or PNG grid, or a stacked ``.npy`` (object-free: padded)."""
    import numpy as np

    from ..hub.files import atomic_path, write_text_atomic
    from . import render

    suffix = out.suffix.lower()
    if suffix == ".svg":
        write_text_atomic(out, render.grid_svg(rows))
    elif suffix == ".png":
        with atomic_path(out) as tmp:
            render.grid_png(rows).save(tmp, format="PNG")
    else:  # .npy: (drawings, max_len, 3), rows flattened; padding rows are (0, 0, -1)
        flat = [s for row in rows for s in row]
        n = max(len(s) for s in flat)
        arr = np.zeros((len(flat), n, 3), dtype=np.float32)
        arr[:, :, 2] = -1
        for i, s in enumerate(flat):
            arr[i, : len(s)] = s
        with atomic_path(out) as tmp, open(tmp, "wb") as fh:
            np.save(fh, arr, allow_pickle=False)


def _settings(args) -> dict:
    return {"temperature": args.temperature, "seed": args.seed, "greedy": args.greedy or None}


def sketch_sample(args) -> int:
    out = check_output_path(args.output, suffixes=OUTPUT_SUFFIXES, kind="-o")
    pipe = load_pipeline_for_cli("sketch-vae", args.model)
    samples = pipe.sample(args.n, **_settings(args))
    cols = max(1, min(args.columns, len(samples)))
    rows = [[s.strokes for s in samples[i : i + cols]] for i in range(0, len(samples), cols)]
    _grid(rows, out)
    print(
        f"{len(samples)} samples (temperature {pipe.settings.updated(**_settings(args)).temperature}): {out}"
    )
    return 0


def sketch_interpolate(args) -> int:
    out = check_output_path(args.output, suffixes=OUTPUT_SUFFIXES, kind="-o")
    a = check_input_path(args.a, "drawing file")
    b = check_input_path(args.b, "drawing file")
    pipe = load_pipeline_for_cli("sketch-vae", args.model)
    path = pipe.interpolate(str(a), str(b), steps=args.steps, method=args.method, **_settings(args))
    _grid([[s.strokes for s in path]], out)
    print(f"{len(path)} drawings from {a.name} to {b.name} ({args.method}): {out}")
    return 0


def _add_decoding(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--model",
        default=MECHANISM.default_model(),
        help="zoo name, local folder or Hub id (default: %(default)s)",
    )
    p.add_argument(
        "--temperature", type=float, default=None, help="sampling temperature > 0 (default: config)"
    )
    p.add_argument("--greedy", action="store_true", help="most likely component and pen state, mean offsets")
    p.add_argument("--seed", default=None, help="random seed (default: config)")


def add_commands(sub: argparse._SubParsersAction) -> None:
    s = sub.add_parser(
        "sketch-sample", help="draw sketches from sketch-rnn's prior z ~ N(0, I) (Ha & Eck 2017)"
    )
    _add_decoding(s)
    s.add_argument("-n", type=int, default=16, help="number of sketches (1..256)")
    s.add_argument("--columns", type=int, default=8, help="grid columns")
    s.add_argument("-o", "--output", required=True, help="grid .svg / .png, or .npy stroke-3 arrays")
    s.set_defaults(func=sketch_sample)

    i = sub.add_parser("sketch-interpolate", help="decode the latent path between two drawings (slerp)")
    i.add_argument("a", help="first drawing (.ndjson / .json Quick, Draw! drawing, or .npy stroke-3)")
    i.add_argument("b", help="second drawing")
    _add_decoding(i)
    i.add_argument("--steps", type=int, default=10, help="drawings on the path, ends included (2..100)")
    i.add_argument("--method", choices=INTERPOLATION_METHODS, default="slerp")
    i.add_argument("-o", "--output", required=True, help="grid .svg / .png, or .npy stroke-3 arrays")
    i.set_defaults(func=sketch_interpolate)

    t = sub.add_parser(
        "sketch-train",
        help="train sketch-rnn on a stroke-3 .npz; arguments as `python -m hfmech.sketch.train`",
        add_help=False,
    )
    t.add_argument("train_args", nargs=argparse.REMAINDER, help="passed to hfmech.sketch.train (try --help)")
