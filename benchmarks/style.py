"""Style-transfer benchmark: hfmech's ``style-transfer`` pipeline against a PyTorch-tutorial-style baseline.

Run from the repository root (``make bench`` does)::

    python benchmarks/style.py --out benchmarks/results/style.json
    python benchmarks/style.py --quick --out /tmp/style.json        # smoke run (128 px, few steps)

1. **Time to the same loss at 256 px.** The baseline is written like the PyTorch "Neural Transfer Using PyTorch"
   tutorial: a ``nn.Sequential`` copy of the VGG trunk (NCHW float32, as torchvision's) with ``ContentLoss`` /
   ``StyleLoss`` modules inserted after the loss layers, their targets computed the tutorial's way (running the model
   prefix on the content/style image when the module is built), the **whole** trunk run every evaluation (to pool5:
   the brief's "full VGG forward"; the tutorial itself trims after the last loss layer), a fixed 256 px size, the
   input clamped in every closure, L-BFGS with torch's defaults (no line search). Same backbone (vgg16-hed-trunk),
   same layers, same loss formulas and weights as hfmech (so the loss values are comparable), content
   initialisation. The baseline runs the largest of ``--steps`` (default ``30,300``; 300 is the tutorial's
   ``num_steps``) evaluations; each entry N sets a target, the baseline's loss after N evaluations × (1 +
   ``tolerance``, 1 %). hfmech runs with its defaults (``precision="auto"``: bfloat16 evaluations on AMX CPUs) and,
   optionally, in float32, for the largest N plus a margin (``--extra-steps``). **Every hfmech evaluation is
   rescored by the tutorial model itself** (float32, the image clamped to [0, 1] as the baseline's closure clamps it;
   untimed, after the runs, stopping once every target is reached), and its time to a target is the time of the
   first evaluation whose rescored loss is at or below it — the baseline's criterion. ``--repeats`` rounds (default
   2) alternate the order (baseline first, then last) because the load on the shared machine drifts; the ratio
   ``baseline / hfmech`` is taken within each round, and the JSON keeps every run's history and times. Then
   per-evaluation times interleaved one by one, and per target the estimate per-evaluation ratio × evaluation ratio.
2. **Peak RSS at 1024 px**: one L-BFGS evaluation of the hfmech pipeline at 1024 px in a fresh subprocess
   (``psutil``-sampled RSS and ``ru_maxrss``), against the same child's RSS before the transfer.

Timings on the shared 2-core machine are noisy (other jobs run); the JSON records load averages.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch
from baselines.style_tutorial import (  # noqa: E402
    run_baseline,
    tutorial_loss,
    tutorial_model,
)
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
IMAGES = REPO.parent / "shared" / "data" / "images"
MODEL = "vgg16-hed-trunk"
CHILD_MARKER = "STYLE_BENCH_RESULT "


# ------------------------------------------------------------------------------------------------------- hfmech
def run_hfmech(pipe, content_pil, steps, kwargs):
    """One pipeline call; every evaluated image is kept (a cheap copy, inside the timing) for float32 rescoring."""
    images = []
    out = pipe(
        content_pil,
        **kwargs,
        steps=steps,
        callback_on_step_end=lambda p, step, total, state: images.append(state["pixels"].clone()),
    )
    return out, images


def interleaved_evaluations(pipe, tutorial, content_pil, style_pil, content, weights, rounds):
    """Per-evaluation seconds, baseline and hfmech alternated one evaluation at a time (the same load for both).

    Baseline: one closure of :func:`run_baseline` (clamp, tutorial forward to pool5, backward). hfmech: one evaluation
    of the pipeline's objective at its default working precision and in float32 (its targets built as ``_forward``
    builds them, outside the timing; the pyramid composition included). Returns ``{name: [seconds, ...]}``.
    """
    from hfmech.style.losses import gram_matrix
    from hfmech.style.pipeline_style_transfer import resize_long_side
    from hfmech.vision.image_io import image_to_tensor

    s = pipe.settings.updated()
    content_layers, style_layers, layer_weights = pipe.resolve_layers(s)
    layers = [*content_layers, *style_layers]
    exact = pipe.feature_extractor_for(layers)
    side = max(content.shape[-2:])
    c = image_to_tensor(resize_long_side(content_pil, side))
    with torch.no_grad():
        content_targets = {k: v for k, v in exact(c).items() if k in content_layers}
        feats = exact(image_to_tensor(resize_long_side(style_pil, side)))
        style_targets = {k: gram_matrix(feats[k]) for k in style_layers}
    objectives = {
        f"hfmech ({pipe.working_dtype(s.precision)})".replace("torch.", ""): pipe._objective(
            pipe.feature_extractor_for(layers, pipe.working_dtype(s.precision)),
            content_targets,
            style_targets,
            layer_weights,
            s,
        ),
        "hfmech (float32)": pipe._objective(exact, content_targets, style_targets, layer_weights, s),
    }
    params = pipe.pyramid_parameters(c.clone(), s.pyramid_levels)
    base_img = content.clone().requires_grad_(True)
    seconds = {"baseline": [], **{name: [] for name in objectives}}
    for _ in range(rounds):
        t0 = time.perf_counter()
        with torch.no_grad():
            base_img.clamp_(0, 1)
        base_img.grad = None
        tutorial_loss(tutorial, base_img, weights).backward()
        seconds["baseline"].append(time.perf_counter() - t0)
        for name, objective in objectives.items():
            t0 = time.perf_counter()
            for t in params:
                t.grad = None
            objective(pipe.pixels(params))[0].backward()
            seconds[name].append(time.perf_counter() - t0)
    return seconds


def time_to_target(history, times, target, first_index=0):
    for i in range(first_index, len(history)):
        if history[i] <= target:
            return times[i], i
    return None, None


def rss_child(size: int) -> None:
    """Child process: one evaluation at ``size`` px; prints JSON with the RSS before and the peak."""
    import threading

    import psutil

    import hfmech
    from hfmech.hub import load_pipeline

    proc = psutil.Process()
    pipe = load_pipeline("style-transfer", hfmech.zoo.resolve(MODEL))
    before = proc.memory_info().rss
    peak = [before]
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            peak[0] = max(peak[0], proc.memory_info().rss)
            time.sleep(0.05)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    t0 = time.perf_counter()
    pipe(
        str(IMAGES / "tubingen.jpg"),
        style=str(IMAGES / "starry_night.jpg"),
        size=size,
        scales=[size],
        steps=1,
        seed=0,
        progress=False,
    )
    seconds = time.perf_counter() - t0
    stop.set()
    thread.join()
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(
        CHILD_MARKER
        + json.dumps(
            {
                "rss_before": before,
                "rss_peak_sampled": peak[0],
                "ru_maxrss": maxrss,
                "seconds": seconds,
                "size": size,
            }
        )
    )


def rescore_until(tutorial, images, weights, targets, first_index=0):
    """Float32 tutorial losses of ``images[first_index:]`` in order, stopping once every target has been reached
    (the later images cannot change a time to target); ``None`` for the images before ``first_index`` and after."""
    history = [None] * len(images)
    remaining = sorted(targets, reverse=True)
    with torch.no_grad():
        for i in range(first_index, len(images)):
            history[i] = float(tutorial_loss(tutorial, images[i].clamp(0.0, 1.0), weights))
            while remaining and history[i] <= remaining[0]:
                remaining.pop(0)
            if not remaining:
                break
    return history


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="benchmarks/results/style.json")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument(
        "--steps",
        default="30,300",
        help="comma list of baseline L-BFGS evaluation counts; each sets a target (the baseline runs the largest)",
    )
    parser.add_argument(
        "--extra-steps",
        type=int,
        default=None,
        help="hfmech evaluations beyond the largest --steps (margin; default max(5, 10 %%))",
    )
    parser.add_argument("--repeats", type=int, default=2, help="baseline/hfmech rounds, order alternating")
    parser.add_argument(
        "--variants", default="hfmech,hfmech float32", help="comma list; also 'hfmech coarse-to-fine'"
    )
    parser.add_argument(
        "--interleaved", type=int, default=8, help="rounds of one-by-one alternated evaluations (0: skip)"
    )
    parser.add_argument("--rss-size", type=int, default=1024, help="0: skip the peak-RSS child")
    parser.add_argument(
        "--tolerance",
        type=float,
        default=0.01,
        help="target = baseline loss after N evaluations x (1 + tolerance), for both",
    )
    parser.add_argument("--rss-child", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rss_child:
        rss_child(args.rss_child)
        return
    if args.quick:
        args.size, args.steps, args.rss_size = 128, "10", 256
    checkpoints = sorted({int(k) for k in str(args.steps).split(",") if k.strip()})
    max_steps = checkpoints[-1]
    extra = args.extra_steps if args.extra_steps is not None else max(5, max_steps // 10)

    import hfmech
    from hfmech.hub import load_pipeline
    from hfmech.style.pipeline_style_transfer import resize_long_side
    from hfmech.vision.image_io import image_to_tensor, load_image

    load_start = os.getloadavg()
    pipe = load_pipeline("style-transfer", hfmech.zoo.resolve(MODEL))
    weights = {k: getattr(pipe.settings, k) for k in ("content_weight", "style_weight", "tv_weight")}
    content_pil = load_image(IMAGES / "tubingen.jpg")
    style_pil = load_image(IMAGES / "starry_night.jpg")
    content = image_to_tensor(resize_long_side(content_pil, args.size))
    # the tutorial needs the style at exactly the content's size (its loss modules see both images)
    style_pil = style_pil.resize((content.shape[-1], content.shape[-2]), Image.Resampling.LANCZOS)
    style = image_to_tensor(
        style_pil
    )  # hfmech gets the same picture (same aspect as the content: same Grams)

    tutorial = tutorial_model(pipe.model, content, style)  # built once, before hfmech touches the trunk
    common = dict(style=style_pil, seed=0, progress=False, init="content")
    variants = {
        "hfmech": dict(
            scales=[args.size]
        ),  # the defaults (precision "auto", scales "auto" = [256] at 256 px)
        "hfmech float32": dict(scales=[args.size], precision="float32"),
        "hfmech coarse-to-fine": dict(scales=[args.size // 2, args.size]),
    }
    chosen = [v.strip() for v in args.variants.split(",") if v.strip()]
    runs = {"baseline": [], **{name: [] for name in chosen}}
    images = {name: [] for name in chosen}
    order = ["baseline", *chosen]
    for repeat in range(args.repeats):
        for name in order if repeat % 2 == 0 else order[::-1]:  # alternate the order: load drifts
            if name == "baseline":
                print(
                    f"[{repeat}] baseline: tutorial-style, full forward, {max_steps} L-BFGS evaluations ..."
                )
                hist, times = run_baseline(tutorial, content, max_steps, weights)
                runs[name].append({"loss_history": hist, "step_times": times, "loadavg": os.getloadavg()})
            else:
                kwargs = {**common, **variants[name]}
                n_scales = len(kwargs["scales"])
                print(f"[{repeat}] {name} ...")
                out, evaluated = run_hfmech(pipe, content_pil, max_steps + extra, kwargs)
                first = (n_scales - 1) * (max_steps + extra)  # first evaluation at the final size
                images[name].append(evaluated)
                runs[name].append(
                    {
                        "loss_history_own": out["loss_history"],
                        "step_times": out["step_times"],
                        "first_final_index": first,
                        "loadavg": os.getloadavg(),
                    }
                )

    # the same criterion for all: the first evaluation whose baseline-scored float32 loss is at or below the
    # baseline's loss after N evaluations (+ tolerance); hfmech's evaluations are rescored by the tutorial model
    base_hist = runs["baseline"][0]["loss_history"]
    targets = {n: base_hist[n - 1] * (1 + args.tolerance) for n in checkpoints}
    for name in chosen:  # untimed, after all runs
        for run, evaluated in zip(runs[name], images[name]):
            run["loss_history"] = rescore_until(
                tutorial, evaluated, weights, list(targets.values()), run["first_final_index"]
            )
        images[name].clear()
    print(f"  baseline loss {base_hist[0]:.4f} -> {base_hist[-1]:.4f} in {max_steps} evaluations")
    results = {}
    for n, target in targets.items():
        key = str(n)
        base_reached = []
        for run in runs["baseline"]:
            seconds, index = time_to_target(run["loss_history"], run["step_times"], target)
            base_reached.append({"seconds_to_target": seconds, "evaluations_to_target": index + 1})
        print(
            f"  target {n} evaluations: {target:.4f}; baseline reached it at "
            + ", ".join(f"{r['seconds_to_target']:.1f}" for r in base_reached)
            + " s"
        )
        results[key] = {"baseline_evaluations": n, "target": target, "baseline": base_reached}
        for name in chosen:
            per_repeat = []
            for repeat, run in enumerate(runs[name]):
                reached, index = time_to_target(
                    run["loss_history"], run["step_times"], target, run["first_final_index"]
                )
                base = base_reached[repeat]["seconds_to_target"]
                per_repeat.append(
                    {
                        "seconds_to_target": reached,
                        "evaluations_to_target": None if index is None else index + 1,
                        "ratio_baseline_over_hfmech": None if reached is None else base / reached,
                    }
                )
            ratios = [
                r["ratio_baseline_over_hfmech"] for r in per_repeat if r["seconds_to_target"] is not None
            ]
            results[key][name] = {
                "settings": {k: v for k, v in variants[name].items()},
                "repeats": per_repeat,
                "ratio_median": statistics.median(ratios) if ratios else None,
            }
            shown = ", ".join(
                "not reached"
                if r["seconds_to_target"] is None
                else f"{r['seconds_to_target']:.1f} s / {r['evaluations_to_target']} evals "
                f"({r['ratio_baseline_over_hfmech']:.2f}x)"
                for r in per_repeat
            )
            print(f"    {name}: {shown}")

    interleaved = {}
    if args.interleaved:
        print(f"per evaluation, interleaved one by one ({args.interleaved} rounds) ...")
        seconds = interleaved_evaluations(
            pipe, tutorial, content_pil, style_pil, content, weights, args.interleaved
        )
        base_median = statistics.median(seconds["baseline"])
        for name, values in seconds.items():
            median = statistics.median(values)
            interleaved[name] = {
                "seconds": values,
                "median": median,
                "ratio_baseline_over_this": base_median / median,
            }
            print(f"  {name}: median {median:.2f} s ({base_median / median:.2f}x)")

        # the load-robust estimate: per-evaluation ratio (interleaved) x baseline evaluations / hfmech evaluations
        for key, per_target in results.items():
            for name in chosen:
                label = f"hfmech ({pipe.working_dtype('float32' if 'float32' in name else 'auto')})"
                label = label.replace("torch.", "")
                evals = [
                    r["evaluations_to_target"]
                    for r in per_target[name]["repeats"]
                    if r["evaluations_to_target"] is not None
                ]
                if label in interleaved and evals:
                    estimate = interleaved[label]["ratio_baseline_over_this"] * int(key) / max(evals)
                    per_target[name]["ratio_estimate_interleaved"] = estimate
                    print(
                        f"  target {key}: {name}: {estimate:.2f}x (per-evaluation ratio x {key}/{max(evals)})"
                    )

    rss, line = {}, None
    if args.rss_size:
        print(f"peak RSS at {args.rss_size} px (child process) ...")
        proc = subprocess.run(
            [sys.executable, __file__, "--rss-child", str(args.rss_size)],
            capture_output=True,
            text=True,
            cwd=REPO,
        )
        line = next((ln for ln in proc.stdout.splitlines() if ln.startswith(CHILD_MARKER)), None)
        rss = json.loads(line[len(CHILD_MARKER) :]) if line else {"error": proc.stderr[-2000:]}
    if line:
        print(
            f"  RSS {rss['rss_before'] / 2**20:.0f} MiB before, peak {rss['rss_peak_sampled'] / 2**20:.0f} MiB "
            f"(ru_maxrss {rss['ru_maxrss'] / 2**20:.0f} MiB), one evaluation {rss['seconds']:.1f} s"
        )

    result = {
        "benchmark": "style-transfer",
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
            "loadavg_start": load_start,
            "loadavg_end": os.getloadavg(),
        },
        "model": MODEL,
        "hfmech_working_dtype": str(pipe.working_dtype("auto")),
        "size": args.size,
        "weights": weights,
        "baseline": {
            "description": "tutorial-style: full VGG forward every evaluation, fixed size, LBFGS defaults",
            "evaluations": max_steps,
            "tolerance": args.tolerance,
            "runs": runs["baseline"],
        },
        "targets": results,
        "hfmech_runs": {name: runs[name] for name in chosen},
        "hfmech_evaluations": max_steps + extra,
        "repeats": args.repeats,
        "per_evaluation_interleaved": interleaved,
        "peak_rss": rss,
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    from hfmech.hub.files import write_text_atomic

    write_text_atomic(out, json.dumps(result, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
