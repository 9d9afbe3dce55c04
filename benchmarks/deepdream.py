"""DeepDream benchmark: hfmech's ``deep-dream`` pipeline against a notebook-style baseline, and tiled vs untiled RSS.

Run from the repository root (``make bench`` does)::

    python benchmarks/deepdream.py --out benchmarks/results/deepdream.json
    python benchmarks/deepdream.py --quick --out /tmp/deepdream.json      # smoke run, smaller sizes

Two measurements, each against a baseline measured in the same run (ratios, never asserted):

1. **Speed.** A dream of the shallow preset layer (``pipe.resolve_layer("shallow")``) on a 512 px image, by the
   hfmech pipeline (the feature extractor stops the forward pass at the target layer) and by a plain-torch loop
   written like the google/deepdream notebook: same weights, same octaves, jitter, mean-abs step, clipping and seed,
   but every step runs the *whole* network (all blocks, head, classifier — Caffe's ``net.forward()`` without
   ``end=``), captures the layer with a forward hook, and back-propagates from the objective; no tiling. The maths
   is the same (hfmech runs a BatchNorm-folded, channels-last copy of the model: the same function up to float
   rounding), so both reach the same objective value. Reported: both values and their relative difference, with
   two yardsticks: the objective of both on the *same* input (agrees to float precision), and the baseline against
   itself with its step rounded the notebook's way (dreams are chaotic: rounding alone moves the end value); the
   best-of-N wall-clock time of each and ``baseline / hfmech``. The deep preset is timed the same way for context,
   and a per-step microbenchmark (one forward + backward at the finest octave) gives the ratio the whole dream
   tends to, with what-if variants of the truncated forward for profiling.
2. **Peak RSS.** A 2048 x 2048 dream of the default layer, tiled (``tile_size=512``) and untiled, each in a fresh
   subprocess: ``ru_maxrss`` at the end of the child, and the RSS just before the dream (model and imports loaded)
   so the dream's own increase can be reported separately. Also a seam check of the tiled result.

The JSON records the machine (cores, torch version and threads, load average and CPU pressure: on a shared machine
whole-run timings are noisy; the per-step-minimum ("robust") and one-step ratios are much more stable).
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from baselines.deepdream_notebook import FullForwardL2, baseline_dream  # noqa: E402
from common import cpu_pressure, machine_info, peak_rss_bytes  # noqa: E402  (benchmarks/common.py, beside this script)

REPO = Path(__file__).resolve().parents[1]
DEFAULT_IMAGE = REPO.parent / "shared" / "data" / "images" / "sky1024px.jpg"
MODEL = "efficientnet-lite0-imagenet"
SPEED_TARGET = 3.0  # baseline_time / hfmech_time, shallow layer
RSS_TARGET = 1 / 3  # tiled / untiled peak RSS
CHILD_MARKER = "DEEPDREAM_BENCH_RESULT "

FULL = {
    "speed": {
        "size": 512,
        "octaves": 4,
        "octave_scale": 1.4,
        "steps": 10,
        "jitter": 32,
        "repeats": 3,
        "step_reps": 8,
    },
    "memory": {"size": 2048, "octaves": 1, "steps": 2, "tile_size": 512},
}
QUICK = {
    "speed": {
        "size": 256,
        "octaves": 3,
        "octave_scale": 1.4,
        "steps": 3,
        "jitter": 16,
        "repeats": 2,
        "step_reps": 3,
    },
    "memory": {"size": 768, "octaves": 1, "steps": 1, "tile_size": 256},
}
#: the pipeline's "no tiling" (tile_size=None means "the model's default", 512)
NO_TILING = 0


# --------------------------------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------------------------------


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def load_source_image(path: Path, quiet: bool = False):
    """The test photo, or (with a message) a generated stand-in when the shared data is not there."""
    from PIL import Image

    if path.is_file():
        with Image.open(path) as im:
            return im.convert("RGB"), str(path)
    if not quiet:
        log(f"note: test image {path} not found; using a generated 1024x576 image instead")
    return generated_image(1024, 576), "generated (smooth noise, seed 0)"


def generated_image(width: int, height: int):
    """A deterministic sky-like picture: a vertical gradient plus smooth colour noise."""
    import torch
    import torch.nn.functional as F

    from hfmech.vision.image_io import tensor_to_image

    g = torch.Generator().manual_seed(0)
    noise = F.interpolate(torch.rand(1, 3, 9, 16, generator=g), size=(height, width), mode="bicubic")
    ramp = torch.linspace(0.9, 0.4, height).view(1, 1, height, 1).expand(1, 3, height, width)
    tint = torch.tensor([0.55, 0.7, 1.0]).view(1, 3, 1, 1)
    return tensor_to_image((0.6 * ramp * tint + 0.4 * noise).clamp(0, 1))


def resize_long_side(image, side: int):
    from PIL import Image

    w, h = image.size
    scale = side / max(w, h)
    return image.resize((max(1, round(w * scale)), max(1, round(h * scale))), Image.Resampling.LANCZOS)


def square_image(image, side: int):
    """Central square crop, resized (up or down) to ``side x side``."""
    from PIL import Image

    w, h = image.size
    s = min(w, h)
    left, top = (w - s) // 2, (h - s) // 2
    return image.crop((left, top, left + s, top + s)).resize((side, side), Image.Resampling.BICUBIC)


def pil_to_pixels(image):
    """PIL RGB -> (1, 3, H, W) float32 in [0, 1] (v / 255, as the pipeline's preprocessing)."""
    import numpy as np
    import torch

    arr = np.asarray(image.convert("RGB"), dtype=np.uint8)
    return torch.from_numpy(arr.copy()).permute(2, 0, 1).unsqueeze(0).to(torch.float32) / 255.0


def pixels_to_uint8(pixels):
    """(1, 3, H, W) in [0, 1] -> (H, W, 3) uint8, rounded like ``tensor_to_image``."""
    import torch

    return (pixels[0].clamp(0, 1) * 255).round().to(torch.uint8).permute(1, 2, 0).numpy()


def build_pipeline():
    import hfmech

    try:
        path = hfmech.zoo.build(MODEL)
    except Exception as err:  # missing upstream weights package, no disk, ...
        log(f"cannot build zoo model {MODEL!r}: {err}\nbenchmark skipped.")
        sys.exit(0)
    from transformers import pipeline

    return pipeline("deep-dream", model=str(path)), path


# --------------------------------------------------------------------------------------------------------------------
# 1. speed
# --------------------------------------------------------------------------------------------------------------------


class StepTimer:
    """Wall-clock time of every call of a wrapped function (one ascent step)."""

    def __init__(self):
        self.times: list[float] = []

    def wrap(self, fn):
        def timed(*args, **kwargs):
            t = time.perf_counter()
            out = fn(*args, **kwargs)
            self.times.append(time.perf_counter() - t)
            return out

        return timed


def _timed(fn):
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - wall, time.process_time() - cpu


def _summary(walls: list[float], cpus: list[float], steps: list[list[float]]) -> dict:
    out = {
        "best_s": min(walls),
        "median_s": statistics.median(walls),
        "all_s": walls,
        "cpu_best_s": min(cpus),
        "cpu_all_s": cpus,
    }
    if steps and all(len(st) == len(steps[0]) and st for st in steps):
        # Noise-robust estimate on a shared machine: per step index the fastest repeat, plus the fastest
        # non-step remainder (preprocessing, start/end objective, output conversion).
        per_step = [min(col) for col in zip(*steps)]
        rest = min(w - sum(st) for w, st in zip(walls, steps))
        out["steps_min_sum_s"] = sum(per_step)
        out["outside_steps_min_s"] = rest
        out["robust_s"] = sum(per_step) + rest
    return out


def speed_benchmark(pipe, path, image, cfg: dict, seed: int) -> dict:
    import numpy as np
    from transformers import AutoModelForImageClassification

    from hfmech.dream import objectives as obj

    image = resize_long_side(image, cfg["size"])
    base = pil_to_pixels(image)
    step_size = pipe.settings.step_size or 1.5 / 255
    # the baseline: its own copy of the same weights, frozen (no weight gradients: the fair, fast way in torch)
    model = AutoModelForImageClassification.from_pretrained(str(path)).eval()
    model.requires_grad_(False)
    mean, std = tuple(model.config.image_mean), tuple(model.config.image_std)
    layer_modules = dict(model.feature_layers())

    common = dict(
        octaves=cfg["octaves"],
        octave_scale=cfg["octave_scale"],
        steps=cfg["steps"],
        jitter=cfg["jitter"],
        seed=seed,
    )
    result = {
        "settings": {
            **common,
            "image_size": list(image.size),
            "step_size": step_size,
            "grad_norm": "mean-abs",
            "clip": True,
            "tile_size": f"{NO_TILING} (no tiling)",
            "repeats": cfg["repeats"],
            "baseline_weights": "frozen (requires_grad=False); per_step.variants has a weight-gradient variant",
            "timed": "whole pipeline call (preprocess, dream, start/end objective, PIL output) vs the baseline loop "
            "(PIL in, dream, start/end objective, uint8 out); interleaved repeats. best_s = fastest whole call; "
            "robust_s = sum over steps of the fastest repeat of that step + fastest remainder",
        },
        "layers": {},
    }
    can_time_steps = callable(getattr(pipe, "_ascent_step", None))
    for preset in ("shallow", "deep"):
        layer = pipe.resolve_layer(preset)
        objective = FullForwardL2(model, layer_modules[layer], mean, std)

        def run_hfmech(steps=cfg["steps"], layer=layer, timer=None):
            if timer is not None and can_time_steps:
                pipe._ascent_step = timer.wrap(type(pipe)._ascent_step.__get__(pipe))
            try:
                return pipe(
                    image, layer=layer, **{**common, "steps": steps}, tile_size=NO_TILING, progress=False
                )
            finally:
                pipe.__dict__.pop("_ascent_step", None)

        def run_baseline(steps=cfg["steps"], objective=objective, timer=None):
            img, start, end, history = baseline_dream(
                objective,
                pil_to_pixels(image),
                **{**common, "steps": steps},
                step_size=step_size,
                timer=timer,
            )
            return {"image": pixels_to_uint8(img), "start": start, "end": end, "history": history}

        log(f"speed [{preset} = {layer}]: warm-up")
        run_hfmech(steps=1)
        run_baseline(steps=1)
        walls = {"hfmech": [], "baseline": []}
        cpus = {"hfmech": [], "baseline": []}
        steps = {"hfmech": [], "baseline": []}
        outputs = {}
        for r in range(cfg["repeats"]):
            order = ("baseline", "hfmech") if r % 2 == 0 else ("hfmech", "baseline")
            for name in order:
                timer = StepTimer()
                fn = run_hfmech if name == "hfmech" else run_baseline
                out, wall, cpu = _timed(lambda fn=fn, timer=timer: fn(timer=timer))
                walls[name].append(wall)
                cpus[name].append(cpu)
                steps[name].append(timer.times)
                outputs[name] = out
                log(
                    f"speed [{preset} = {layer}] repeat {r + 1}/{cfg['repeats']}: {name:8s} {wall:7.2f} s wall"
                )
        # yardstick for "same objective": the baseline against itself, rounded the notebook's way (untimed)
        _, _, chaos_end, _ = baseline_dream(
            objective, pil_to_pixels(image), **common, step_size=step_size, notebook_rounding=True
        )
        objective.close()

        hf, bl = outputs["hfmech"], outputs["baseline"]
        hf_end, bl_end = float(hf["objective_end"]), bl["end"]
        hist_hf, hist_bl = np.asarray(hf["objective_history"]), np.asarray(bl["history"])
        image_diff = np.abs(np.asarray(hf["image"], dtype=np.int16) - bl["image"].astype(np.int16))
        entry = {
            "layer": layer,
            "hfmech": _summary(walls["hfmech"], cpus["hfmech"], steps["hfmech"]),
            "baseline": _summary(walls["baseline"], cpus["baseline"], steps["baseline"]),
            "speedup_best": min(walls["baseline"]) / min(walls["hfmech"]),
            "speedup_median": statistics.median(walls["baseline"]) / statistics.median(walls["hfmech"]),
            "speedup_cpu_best": min(cpus["baseline"]) / min(cpus["hfmech"]),
            "objective": {
                "hfmech_start": float(hf["objective_start"]),
                "baseline_start": bl["start"],
                "hfmech_end": hf_end,
                "baseline_end": bl_end,
                "end_relative_difference": abs(hf_end - bl_end) / max(abs(bl_end), 1e-12),
                "chaos_reference_end": chaos_end,
                "chaos_reference_relative_difference": abs(chaos_end - bl_end) / max(abs(bl_end), 1e-12),
                "history_max_relative_difference": float(
                    np.max(np.abs(hist_hf - hist_bl) / np.maximum(np.abs(hist_bl), 1e-12))
                ),
                "output_max_abs_diff_uint8": int(image_diff.max()),
                "output_fraction_pixels_differing": float((image_diff > 0).mean()),
            },
        }
        if "robust_s" in entry["hfmech"] and "robust_s" in entry["baseline"]:
            entry["speedup_robust"] = entry["baseline"]["robust_s"] / entry["hfmech"]["robust_s"]
        entry["per_step"] = step_microbenchmark(
            pipe, model, obj.layer(layer), layer_modules[layer], base, cfg
        )
        same_input = entry["per_step"]["same_input"]
        entry["objective"]["same_input_objective_relative_difference"] = same_input[
            "objective_relative_difference"
        ]
        entry["objective"]["same_input_gradient_relative_difference"] = same_input[
            "gradient_relative_difference"
        ]
        result["layers"][preset] = entry
    return result


# per-step microbenchmark: one forward + backward at the finest octave, hfmech vs baseline and what-if variants ----


def _fold_batchnorm(model):
    """A copy of ``model`` with every eval-mode ``conv -> BatchNorm`` folded into the convolution (weights + bias)."""
    import copy

    import torch
    from torch import nn

    model = copy.deepcopy(model)
    with torch.no_grad():
        for module in model.modules():
            conv, bn = getattr(module, "conv", None), getattr(module, "bn", None)
            if isinstance(conv, nn.Conv2d) and isinstance(bn, nn.BatchNorm2d):
                scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
                conv.weight.mul_(scale.view(-1, 1, 1, 1))
                bias = bn.bias - bn.running_mean * scale
                conv.bias = nn.Parameter(
                    bias if conv.bias is None else conv.bias * scale + bias, requires_grad=False
                )
                module.bn = nn.Identity()
    return model


class TruncatedL2:
    """``½·mean(a²)`` of block ``index`` by running stem and blocks up to it directly: no hooks, no exception."""

    def __init__(self, model, index, mean, std, channels_last=False):
        import torch

        self.model, self.index, self.channels_last = model, index, channels_last
        self.mean = torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1)
        self.std = torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1)

    def __call__(self, pixels):
        import torch

        x = (pixels - self.mean) / self.std
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        x = self.model.stem(x)
        for block in self.model.blocks[: self.index + 1]:
            x = block(x)
        return 0.5 * x.pow(2).mean()


def step_microbenchmark(pipe, model, layer_objective, module, pixels, cfg: dict) -> dict:
    """Forward + backward of one step at the finest octave (min over interleaved repeats), for:

    - ``hfmech``: the pipeline's feature extractor (stops the forward at the layer),
    - ``baseline``: the whole network (the speed baseline), and ``baseline_weight_grads``: the same with weight
      gradients also computed (what Caffe's ``net.backward()`` does),
    - what-if variants of hfmech's truncated forward, for the profile: without hooks (``truncated_plain``), with
      BatchNorm folded into the convolutions, in channels-last memory format, and both.
    """
    import copy

    import torch

    extractor = pipe.feature_extractor_for(layer_objective.layers)
    mean, std = tuple(model.config.image_mean), tuple(model.config.image_std)
    index = next((i for i, b in enumerate(model.blocks) if b is module), None)
    full = FullForwardL2(model, module, mean, std)
    model_grads = copy.deepcopy(model).requires_grad_(True)
    full_grads = FullForwardL2(
        model_grads, model_grads.blocks[index] if index is not None else module, mean, std
    )

    def hfmech_objective(x):
        return layer_objective(extractor(x)).sum()

    variants = {"hfmech": hfmech_objective, "baseline": full, "baseline_weight_grads": full_grads}
    if index is not None:
        folded = _fold_batchnorm(model)
        variants["truncated_plain"] = TruncatedL2(model, index, mean, std)
        variants["truncated_bn_folded"] = TruncatedL2(folded, index, mean, std)
        variants["truncated_channels_last"] = TruncatedL2(
            copy.deepcopy(model).to(memory_format=torch.channels_last), index, mean, std, channels_last=True
        )
        variants["truncated_bn_folded_channels_last"] = TruncatedL2(
            copy.deepcopy(folded).to(memory_format=torch.channels_last), index, mean, std, channels_last=True
        )

    grads = {}

    def step(fn, name=None):
        x = pixels.clone().requires_grad_(True)
        value = fn(x)
        value.backward()
        if name is not None:
            grads[name] = x.grad
        return float(value.detach())

    # warm-up, and each variant's objective and gradient on the same input
    values = {name: step(fn, name) for name, fn in variants.items()}
    g_hf, g_bl = grads.pop("hfmech"), grads.pop("baseline")
    gradient_difference = float((g_hf - g_bl).norm() / g_bl.norm().clamp_min(1e-30))
    gradient_max_difference = float((g_hf - g_bl).abs().max() / g_bl.abs().max().clamp_min(1e-30))
    grads.clear()
    walls = {name: [] for name in variants}
    names = list(variants)
    for r in range(cfg["step_reps"]):
        for name in names if r % 2 == 0 else names[::-1]:
            _, wall, _ = _timed(lambda name=name: step(variants[name]))
            walls[name].append(wall)
    full.close()
    full_grads.close()
    best = {name: min(w) for name, w in walls.items()}
    return {
        "input_size": list(pixels.shape[-2:][::-1]),
        "reps": cfg["step_reps"],
        "hfmech_best_ms": 1000 * best["hfmech"],
        "baseline_best_ms": 1000 * best["baseline"],
        "speedup_best": best["baseline"] / best["hfmech"],
        "same_input": {
            "objective_hfmech": values["hfmech"],
            "objective_baseline": values["baseline"],
            "objective_relative_difference": abs(values["hfmech"] - values["baseline"])
            / max(abs(values["baseline"]), 1e-12),
            "gradient_relative_difference": gradient_difference,  # ||g_hf - g_bl|| / ||g_bl||
            "gradient_max_relative_difference": gradient_max_difference,  # max|g_hf - g_bl| / max|g_bl|
        },
        "variants": {
            name: {
                "best_ms": 1000 * best[name],
                "median_ms": 1000 * statistics.median(walls[name]),
                "baseline_over_this": best["baseline"] / best[name],
                "objective_relative_difference": abs(values[name] - values["hfmech"])
                / max(abs(values["hfmech"]), 1e-12),
            }
            for name in variants
        },
    }


# --------------------------------------------------------------------------------------------------------------------
# 2. peak RSS, one fresh child process per configuration
# --------------------------------------------------------------------------------------------------------------------


def _rss_bytes() -> int:
    import psutil

    return psutil.Process().memory_info().rss


def seam_statistics(before, after, tile: int, margin: int = 40) -> dict:
    """Do tile borders show in the dream? Mean |difference of neighbouring columns (rows)| of the dream's *change*
    (after - before), folded modulo the tile size: tile borders move by a random offset every step, so a seam
    would be a peak at a few residues. ``margin`` pixels at the image edges (jitter wrap-around) are left out.

    Reports the peak of the folded column (x) and row (y) profiles over their median (about 1 without seams); the
    untiled run gives the same statistic as a control.
    """
    import numpy as np

    delta = after.astype(np.float32) - before.astype(np.float32)
    dx = np.abs(np.diff(delta, axis=1)).mean(axis=(0, 2))  # per column boundary
    dy = np.abs(np.diff(delta, axis=0)).mean(axis=(1, 2))  # per row boundary

    def folded_peak(profile):
        profile = profile.copy()
        profile[:margin] = np.nan
        profile[len(profile) - margin :] = np.nan
        n = len(profile) // tile * tile
        if n < 2 * tile:
            return None
        folded = np.nanmean(profile[:n].reshape(-1, tile), axis=0)
        return float(np.nanmax(folded) / max(np.nanmedian(folded), 1e-12))

    return {
        "fold": tile,
        "edge_margin": margin,
        "x_peak_over_median": folded_peak(dx),
        "y_peak_over_median": folded_peak(dy),
        "mean_abs_change_uint8": float(np.abs(delta).mean()),
    }


def prepare_model() -> None:
    """Build (or find) the zoo model in a child process; exit cleanly with a message when it cannot be built."""
    proc = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--_prepare-child"],
        capture_output=True,
        text=True,
        cwd=str(REPO),
    )
    if proc.returncode != 0 or CHILD_MARKER + "ok" not in proc.stdout:
        log(proc.stderr[-4000:].strip())
        log("benchmark skipped: the zoo model is not available.")
        sys.exit(0)


def rss_child(spec: dict) -> None:
    """Body of a child process: load, measure RSS, dream, measure ru_maxrss; print one JSON line."""
    import numpy as np
    import torch

    torch.set_num_threads(spec["threads"])
    pipe, _ = build_pipeline()
    image, _ = load_source_image(Path(spec["image"]))
    image = square_image(image, spec["size"])
    before = np.asarray(image, dtype=np.uint8)
    gc.collect()
    rss_before, maxrss_before = _rss_bytes(), peak_rss_bytes()
    t0 = time.perf_counter()
    out = pipe(
        image,
        layer=spec["layer"],
        octaves=spec["octaves"],
        steps=spec["steps"],
        tile_size=spec["tile_size"],
        seed=spec["seed"],
        progress=False,
    )
    elapsed = time.perf_counter() - t0
    peak = peak_rss_bytes()
    vmhwm = peak_rss_bytes()
    rss_after = _rss_bytes()
    seams = seam_statistics(before, np.asarray(out["image"], dtype=np.uint8), spec["seam_fold"])
    if spec.get("save"):
        out["image"].save(spec["save"], quality=95)
    result = {
        "rss_before_bytes": rss_before,
        "maxrss_before_bytes": maxrss_before,
        "peak_rss_bytes": peak,
        "peak_vmhwm_bytes": vmhwm,
        "rss_after_bytes": rss_after,
        "increase_bytes": peak - rss_before,
        "dream_seconds": elapsed,
        "layer": pipe.resolve_layer(spec["layer"]),
        "objective_end": float(out["objective_end"]),
        "seams": seams,
    }
    print(CHILD_MARKER + json.dumps(result), flush=True)


def memory_benchmark(image_path: Path, cfg: dict, threads: int, seed: int, save_dir: Path | None) -> dict:
    runs = {}
    for name, tile in (("tiled", cfg["tile_size"]), ("untiled", NO_TILING)):
        spec = {
            "image": str(image_path),
            "size": cfg["size"],
            "octaves": cfg["octaves"],
            "steps": cfg["steps"],
            "tile_size": tile,
            "layer": None,
            "seed": seed,
            "threads": threads,
            "seam_fold": cfg["tile_size"],
            "save": str(save_dir / f"deepdream_{name}_{cfg['size']}.jpg") if save_dir else None,
        }
        log(f"memory [{name}, tile_size={tile}]: {cfg['size']}x{cfg['size']} in a fresh process")
        proc = subprocess.run(
            [sys.executable, str(Path(__file__).resolve()), "--_rss-child", json.dumps(spec)],
            capture_output=True,
            text=True,
            cwd=str(REPO),
        )
        lines = [ln for ln in proc.stdout.splitlines() if ln.startswith(CHILD_MARKER)]
        if proc.returncode != 0 or not lines:
            log(proc.stderr[-4000:])
            raise RuntimeError(f"RSS child ({name}) failed with exit code {proc.returncode}")
        runs[name] = {
            "tile_size": tile if tile != NO_TILING else None,
            **json.loads(lines[-1][len(CHILD_MARKER) :]),
        }
        log(
            f"memory [{name}]: peak {runs[name]['peak_rss_bytes'] / 2**20:.0f} MiB, "
            f"before {runs[name]['rss_before_bytes'] / 2**20:.0f} MiB, {runs[name]['dream_seconds']:.1f} s"
        )
    tiled, untiled = runs["tiled"], runs["untiled"]
    return {
        "settings": {
            "image_size": [cfg["size"], cfg["size"]],
            "layer": tiled["layer"],
            "octaves": cfg["octaves"],
            "steps": cfg["steps"],
            "tile_size": cfg["tile_size"],
            "untiled": f"tile_size={NO_TILING} (no tiling)",
            "measure": "peak = ru_maxrss at the end of a fresh child process (VmHWM as a cross-check); before = RSS "
            "just before the pipeline call (imports, model and input image loaded); increase = peak - before",
        },
        "tiled": tiled,
        "untiled": untiled,
        "ratio_total_peak": tiled["peak_rss_bytes"] / untiled["peak_rss_bytes"],
        "ratio_total_peak_vmhwm": (
            tiled["peak_vmhwm_bytes"] / untiled["peak_vmhwm_bytes"]
            if tiled["peak_vmhwm_bytes"] and untiled["peak_vmhwm_bytes"]
            else None
        ),
        "ratio_increase": tiled["increase_bytes"] / max(untiled["increase_bytes"], 1),
        # not the same quantity by construction: tiled, the pipeline reports the mean of the per-tile objectives
        "objective_end_tiled_vs_untiled_relative_difference": abs(
            tiled["objective_end"] - untiled["objective_end"]
        )
        / max(abs(untiled["objective_end"]), 1e-12),
    }


# --------------------------------------------------------------------------------------------------------------------
# report
# --------------------------------------------------------------------------------------------------------------------


def print_report(report: dict) -> None:
    speed, memory = report.get("speed"), report.get("memory")
    if speed:
        s = speed["settings"]
        print(
            f"\nDeepDream speed: {s['image_size'][0]}x{s['image_size'][1]} px, octaves {s['octaves']}, steps "
            f"{s['steps']}, jitter {s['jitter']}, best of {s['repeats']}, {report['machine']['torch_threads']} threads"
        )
        print(
            f"{'layer':16s} {'hfmech s':>9s} {'baseline s':>10s} {'ratio':>6s} {'robust':>7s} {'cpu':>6s} "
            f"{'1 step':>7s}   objective end hfmech / baseline (rel. diff; chaos ref.; same input)"
        )
        for preset, e in speed["layers"].items():
            o = e["objective"]
            robust = f"{e['speedup_robust']:6.2f}x" if "speedup_robust" in e else "    n/a"
            print(
                f"{preset + ' (' + e['layer'] + ')':16s} {e['hfmech']['best_s']:9.2f} {e['baseline']['best_s']:10.2f} "
                f"{e['speedup_best']:5.2f}x {robust} {e['speedup_cpu_best']:5.2f}x {e['per_step']['speedup_best']:6.2f}x"
                f"   {o['hfmech_end']:.6g} / {o['baseline_end']:.6g} ({o['end_relative_difference']:.1e}; "
                f"{o['chaos_reference_relative_difference']:.1e}; {o['same_input_objective_relative_difference']:.1e})"
            )
        for preset, e in speed["layers"].items():
            ps = e["per_step"]
            print(
                f"one step at {ps['input_size'][0]}x{ps['input_size'][1]}, {preset} ({e['layer']}), best of {ps['reps']}:"
            )
            for name, v in ps["variants"].items():
                print(
                    f"    {name:34s} {v['best_ms']:8.1f} ms   baseline/this {v['baseline_over_this']:5.2f}x"
                )
    if memory:
        s = memory["settings"]
        print(
            f"\nDeepDream peak RSS: {s['image_size'][0]}x{s['image_size'][1]} px, layer {s['layer']}, "
            f"octaves {s['octaves']}, steps {s['steps']}, tile {s['tile_size']}"
        )
        print(
            f"{'config':10s} {'before MiB':>10s} {'peak MiB':>9s} {'increase MiB':>12s} {'time s':>7s} "
            f"{'seam peak x / y':>16s}"
        )
        for name in ("tiled", "untiled"):
            r = memory[name]
            seams = r["seams"]
            print(
                f"{name:10s} {r['rss_before_bytes'] / 2**20:10.0f} {r['peak_rss_bytes'] / 2**20:9.0f} "
                f"{r['increase_bytes'] / 2**20:12.0f} {r['dream_seconds']:7.1f} "
                f"{_fmt(seams['x_peak_over_median']):>9s} / {_fmt(seams['y_peak_over_median'])}"
            )
    print()
    busy = [
        p
        for p in (report["machine"].get("cpu_pressure_start"), report["machine"].get("cpu_pressure_end"))
        if p
    ]
    if any(_psi_avg10(p) > 20 for p in busy):
        print(
            "WARNING: the CPUs were busy with other work during this run ("
            + " / ".join(busy)
            + "): timings are noisy;"
            " prefer the robust and 1-step ratios, or re-run on an idle machine."
        )
    if speed:
        sh = speed["layers"]["shallow"]
        robust = f", robust {sh['speedup_robust']:.2f}x" if "speedup_robust" in sh else ""
        print(
            f"HEADLINE speed, shallow layer {sh['layer']}: baseline/hfmech = {sh['speedup_best']:.2f}x best-of-"
            f"{speed['settings']['repeats']}{robust} (target >= {SPEED_TARGET:g}x); objective end relative difference "
            f"{sh['objective']['end_relative_difference']:.1e} (baseline vs itself rounded the notebook's way: "
            f"{sh['objective']['chaos_reference_relative_difference']:.1e}; same input: "
            f"{sh['objective']['same_input_objective_relative_difference']:.1e})"
        )
    if memory:
        print(
            f"HEADLINE peak RSS tiled/untiled = {memory['ratio_total_peak']:.3f} (total peak), "
            f"{memory['ratio_increase']:.3f} (increase over the pre-dream RSS)  (target <= 1/3)"
        )


def _fmt(value) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def _psi_avg10(line: str) -> float:
    try:
        return float(line.split("avg10=")[1].split()[0])
    except (IndexError, ValueError):
        return 0.0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "deepdream.json")
    parser.add_argument("--quick", action="store_true", help="smaller sizes and fewer repeats (smoke run)")
    parser.add_argument("--image", type=Path, default=DEFAULT_IMAGE)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--repeats", type=int, help="timed repeats per speed configuration (best is reported)"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip-speed", action="store_true")
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument(
        "--save-images",
        action="store_true",
        help="save the tiled and untiled large dreams next to --out (JPEG)",
    )
    parser.add_argument("--_rss-child", dest="rss_child", help=argparse.SUPPRESS)
    parser.add_argument("--_prepare-child", dest="prepare_child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.rss_child:
        rss_child(json.loads(args.rss_child))
        return 0
    if args.prepare_child:
        build_pipeline()
        print(CHILD_MARKER + "ok", flush=True)
        return 0

    cfg = {k: dict(v) for k, v in (QUICK if args.quick else FULL).items()}
    if args.repeats:
        cfg["speed"]["repeats"] = max(1, args.repeats)
    started = time.perf_counter()
    report = {
        "benchmark": "deepdream",
        "timestamp": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "quick": args.quick,
        "model": MODEL,
        "machine": {},
        "targets": {"speedup_shallow": SPEED_TARGET, "rss_ratio": RSS_TARGET},
    }
    pressure_start, loadavg_start = cpu_pressure(), list(os.getloadavg())
    if not args.image.is_file():
        log(f"note: test image {args.image} not found; the benchmark uses a generated image instead")
    # The model is built (or found in the zoo cache) by a child, and the RSS children run before this process
    # imports torch: Linux carries a process's peak RSS over fork + exec into the child's ru_maxrss, so the
    # launcher must stay small for the children's ru_maxrss to be their own.
    prepare_model()
    if not args.skip_memory:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        save_dir = args.out.parent if args.save_images else None
        report["memory"] = memory_benchmark(args.image, cfg["memory"], args.threads, args.seed, save_dir)

    import torch

    torch.set_num_threads(args.threads)
    report["machine"] = machine_info(args.threads)
    report["machine"]["loadavg_start"], report["machine"]["cpu_pressure_start"] = (
        loadavg_start,
        pressure_start,
    )
    image, source = load_source_image(args.image, quiet=True)  # missing: noted above
    report["image"] = {"source": source, "size": list(image.size)}
    if not args.skip_speed:
        pipe, path = build_pipeline()
        report["speed"] = speed_benchmark(pipe, path, image, cfg["speed"], args.seed)
    report["machine"]["loadavg_end"] = list(os.getloadavg())
    report["machine"]["cpu_pressure_end"] = cpu_pressure()
    report["total_seconds"] = time.perf_counter() - started
    headline = {}
    if "speed" in report:
        sh = report["speed"]["layers"]["shallow"]
        headline["speedup_shallow"] = sh["speedup_best"]
        headline["speedup_shallow_robust"] = sh.get("speedup_robust")
        headline["objective_relative_difference_shallow"] = sh["objective"]["end_relative_difference"]
        headline["speedup_deep"] = report["speed"]["layers"]["deep"]["speedup_best"]
        headline["speedup_deep_robust"] = report["speed"]["layers"]["deep"].get("speedup_robust")
    if "memory" in report:
        headline["rss_ratio_total_peak"] = report["memory"]["ratio_total_peak"]
        headline["rss_ratio_increase"] = report["memory"]["ratio_increase"]
    report["headline"] = headline

    print_report(report)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    from hfmech.hub.files import write_text_atomic  # torch is imported by now: no launcher-RSS concern

    write_text_atomic(args.out, json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out} ({report['total_seconds']:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
