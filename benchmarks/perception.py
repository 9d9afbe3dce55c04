"""Perception Engine benchmark: rasteriser throughput, time to an agreeing drawing, ES vs gradient renders.

Run from the repository root (``make bench`` does)::

    python benchmarks/perception.py --out benchmarks/results/perception.json
    python benchmarks/perception.py --quick --out /tmp/perception.json    # smoke run: tiny random ensemble

Three measurements, each with its baseline measured in the same run (ratios, never asserted):

1. **Rasteriser.** :func:`hfmech.perception.render.render` (vectorised over marks and pixels, tiled) against
   :func:`~hfmech.perception.render.render_naive`, a plain-Python loop over pixels and strokes computing the same
   maths, on the same 20-stroke drawing. The naive loop runs on a small canvas (``--naive-size``) and both are
   normalised per pixel (µs per pixel); the vectorised one at 224 px (forward, and forward+backward).
2. **Time to agreement.** ``perception-engine`` with Adam, 20 strokes at 224 px, until the training members' mean
   probability of the target on the clean render reaches 0.95 (checked every 5 steps), or ``--max-steps``.
3. **ES vs gradient.** Renders used by White's ES (population ``--population``, σ, α as given) and by Adam to reach
   the training ensemble's reward ``--es-threshold`` on the same target and seed, each capped at ``--es-budget``
   renders.

The JSON records the machine (cores, load average): on a shared machine wall-clock times are noisy; the per-pixel
rasteriser ratio is the stable number.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import torch  # noqa: E402

import hfmech  # noqa: E402,F401
from hfmech.perception import Drawing, DrawingSpec, PerceptionEnginePipeline, render  # noqa: E402
from hfmech.perception.render import render_naive  # noqa: E402


def machine() -> dict:
    return {
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch_version": torch.__version__,
        "python": platform.python_version(),
        "load_average": os.getloadavg(),
    }


def best_of(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def bench_rasteriser(size: int, naive_size: int, strokes: int, repeats: int) -> dict:
    spec = DrawingSpec(num_strokes=strokes, num_blobs=0)
    drawing = Drawing(spec, torch.Generator().manual_seed(0))
    with torch.no_grad():
        geometry = drawing.geometry()
        render(geometry, size)  # warm-up
        forward = best_of(lambda: render(geometry, size), repeats)

    def forward_backward():
        drawing.zero_grad()
        render(drawing.geometry(), size).mean().backward()

    forward_backward()
    fwd_bwd = best_of(forward_backward, repeats)
    naive = best_of(lambda: render_naive(geometry, naive_size), 1)
    fast_small = best_of(lambda: render(geometry, naive_size), repeats)
    per_px = {
        "vectorised_forward_us_per_pixel": forward / size**2 * 1e6,
        "vectorised_forward_backward_us_per_pixel": fwd_bwd / size**2 * 1e6,
        "naive_us_per_pixel": naive / naive_size**2 * 1e6,
    }
    return {
        "strokes": strokes,
        "size": size,
        "naive_size": naive_size,
        "vectorised_forward_s": forward,
        "vectorised_forward_backward_s": fwd_bwd,
        "vectorised_forward_at_naive_size_s": fast_small,
        "naive_s": naive,
        **per_px,
        "speedup_per_pixel": per_px["naive_us_per_pixel"] / per_px["vectorised_forward_us_per_pixel"],
        "speedup_same_canvas": naive / fast_small,
    }


def bench_agreement(pipe, target: str, max_steps: int, seed: int, settings: dict) -> dict:
    out = pipe(target, seed=seed, steps=max_steps, stop_probability=0.95, progress=False, **settings)
    probabilities = [
        (h["step"] + 1, h["seconds"], h["probability"]) for h in out["history"] if "probability" in h
    ]
    reached = [p for p in probabilities if p[2] >= 0.95]
    return {
        "target": out["target"],
        "settings": {"max_steps": max_steps, **settings},
        "reached_0.95": bool(reached),
        "steps": out["steps"],
        "seconds": out["seconds"],
        "seconds_to_0.95": reached[0][1] if reached else None,
        "probability_checks": probabilities,
        "scores": out["scores"],
    }


def bench_es_vs_adam(
    pipe, target: str, threshold: float, budget: int, seed: int, es: dict, settings: dict
) -> dict:
    results = {}
    for name, kwargs in (
        ("adam", {"optimizer": "adam", "steps": budget}),
        ("es", {"optimizer": "es", "steps": max(1, budget // (es["population"] + 1)), **es}),
    ):
        first = {}

        def callback(step, record, first=first):
            if "renders_to_threshold" not in first and record.get("reward", 0.0) >= threshold:
                first["renders_to_threshold"] = record["renders"]
                first["seconds_to_threshold"] = record["seconds"]

        out = pipe(
            target, seed=seed, stop_probability=None, progress=False, callback=callback, **kwargs, **settings
        )
        rewards = [h["reward"] for h in out["history"]]
        results[name] = {
            "renders": out["renders"],
            "seconds": out["seconds"],
            "reward_first": rewards[0] if rewards else None,
            "reward_best": max(rewards) if rewards else None,
            "renders_to_threshold": first.get("renders_to_threshold"),
            "seconds_to_threshold": first.get("seconds_to_threshold"),
        }
    a, e = results["adam"]["renders_to_threshold"], results["es"]["renders_to_threshold"]
    results["threshold"] = threshold
    results["budget_renders"] = budget
    results["es_over_adam_renders"] = (e / a) if (a and e) else None
    return results


def tiny_pipeline() -> PerceptionEnginePipeline:
    from hfmech.perception import PerceptionEnsembleModel
    from hfmech.vision import EfficientNetLiteConfig, EfficientNetLiteForImageClassification

    def tiny(size, seed):
        torch.manual_seed(seed)
        config = EfficientNetLiteConfig(
            width_coefficient=0.25, depth_coefficient=0.25, image_size=size, head_channels=64, num_labels=1000
        )
        model = EfficientNetLiteForImageClassification(config).eval()
        with torch.no_grad():
            model.classifier.weight.mul_(40.0)
        return model

    model = PerceptionEnsembleModel.from_members(
        [tiny(32, 0), tiny(40, 1)], ["tiny-a", "tiny-b"], ["training"] * 2
    )
    folder = tempfile.mkdtemp(prefix="perception-bench-")
    model.save_pretrained(folder)
    from transformers import pipeline

    return pipeline("perception-engine", model=folder)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="benchmarks/results/perception.json")
    parser.add_argument("--quick", action="store_true", help="tiny random ensemble and small budgets")
    parser.add_argument("--target", default="electric fan")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-steps", type=int, default=300)
    parser.add_argument("--views", type=int, default=2)
    parser.add_argument("--resolution", type=int, default=160)
    parser.add_argument("--naive-size", type=int, default=32)
    parser.add_argument("--es-threshold", type=float, default=0.01)
    parser.add_argument("--es-budget", type=int, default=404)
    parser.add_argument("--population", type=int, default=100)
    parser.add_argument("--sigma", type=float, default=0.01)
    parser.add_argument("--alpha", type=float, default=0.0005)
    args = parser.parse_args(argv)

    report = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "quick": args.quick,
    }
    report["rasteriser"] = bench_rasteriser(
        224, args.naive_size if not args.quick else 16, 20, 3 if args.quick else 5
    )
    print(json.dumps(report["rasteriser"], indent=1), flush=True)

    if args.quick:
        pipe = tiny_pipeline()
        settings = {"size": 64, "views": 2, "resolution": None}
        max_steps, budget, threshold = 10, 44, 0.0
        es = {"population": 10, "sigma": 0.05, "alpha": 0.05}
    else:
        os.environ.setdefault(
            "HFMECH_CORAL_DIR", str(REPO.parent / "shared" / "data" / "models" / "coral-mobilenet")
        )
        from transformers import pipeline

        pipe = pipeline("perception-engine", model=hfmech.zoo.build("perception-ensemble-lite"))
        settings = {"size": 224, "views": args.views, "resolution": args.resolution, "strokes": 20}
        max_steps, budget, threshold = args.max_steps, args.es_budget, args.es_threshold
        es = {"population": args.population, "sigma": args.sigma, "alpha": args.alpha}
    report["agreement"] = bench_agreement(pipe, args.target, max_steps, args.seed, settings)
    print(json.dumps(report["agreement"], indent=1), flush=True)
    report["es_vs_adam"] = bench_es_vs_adam(pipe, args.target, threshold, budget, args.seed, es, settings)
    print(json.dumps(report["es_vs_adam"], indent=1), flush=True)
    report["machine"]["load_average_end"] = os.getloadavg()

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, out)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
