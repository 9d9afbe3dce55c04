"""Style-transfer benchmark: hfmech's ``style-transfer`` pipeline against a PyTorch-tutorial-style baseline.

Run from the repository root (``make bench`` does)::

    python benchmarks/style.py --out benchmarks/results/style.json
    python benchmarks/style.py --quick --out /tmp/style.json        # smoke run (128 px, few steps)

1. **Time to the same loss at 256 px.** The baseline is written like the PyTorch "Neural Transfer Using PyTorch"
   tutorial: a ``nn.Sequential`` copy of the VGG trunk with ``ContentLoss``/``StyleLoss`` modules inserted after the
   loss layers, their targets computed the tutorial's way (running the model prefix on the content/style image when
   the module is built), the **whole** trunk run every evaluation (to pool5: the brief's "full VGG forward"; the
   tutorial itself trims after the last loss layer), a fixed 256 px size, the input clamped in every closure, L-BFGS
   with torch's defaults (no line search). Same backbone (vgg16-hed-trunk), same layers, same loss formulas and
   weights as hfmech (so the loss values are comparable), content initialisation.
   The baseline runs ``steps`` evaluations; the target is its final loss × (1 + ``tolerance``, 1 %). hfmech then runs
   (a) single-scale 256 px and (b) coarse-to-fine 128 → 256 px; for every run the time until its 256 px loss first
   reaches the target is reported (the same criterion for the baseline), and the ratio ``baseline / hfmech``.
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
import subprocess
import sys
import time
from pathlib import Path

import torch
from PIL import Image
from torch import nn

REPO = Path(__file__).resolve().parents[1]
IMAGES = REPO.parent / "shared" / "data" / "images"
MODEL = "vgg16-hed-trunk"
CONTENT_LAYERS = ["relu4_2"]
STYLE_LAYERS = ["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"]
CHILD_MARKER = "STYLE_BENCH_RESULT "


# ------------------------------------------------------------------------------------------------ tutorial baseline
class ContentLoss(nn.Module):
    def __init__(self, target):
        super().__init__()
        self.target = target.detach()
        self.loss = torch.zeros(())

    def forward(self, x):
        from hfmech.style.losses import content_loss

        self.loss = content_loss(x, self.target)
        return x


class StyleLoss(nn.Module):
    def __init__(self, target_feature):
        super().__init__()
        from hfmech.style.losses import gram_matrix

        self.target = gram_matrix(target_feature).detach()
        self.loss = torch.zeros(())

    def forward(self, x):
        from hfmech.style.losses import gram_matrix, style_layer_loss

        self.loss = style_layer_loss(gram_matrix(x), self.target)
        return x


class Normalization(nn.Module):
    def __init__(self, mean, std):
        super().__init__()
        self.mean = torch.tensor(mean).view(-1, 1, 1)
        self.std = torch.tensor(std).view(-1, 1, 1)

    def forward(self, img):
        return (img - self.mean) / self.std


def tutorial_model(trunk, content, style):
    """The tutorial's ``get_style_model_and_losses``, without its final trimming (full forward every step)."""
    import copy

    names = trunk.config.layer_names()
    model = nn.Sequential(Normalization(trunk.config.image_mean, trunk.config.image_std))
    content_losses, style_losses = [], []
    for name, layer in zip(names, copy.deepcopy(trunk.features)):
        model.add_module(name, layer)
        if name in CONTENT_LAYERS:
            target = model(content).detach()
            module = ContentLoss(target)
            model.add_module(f"content_loss_{name}", module)
            content_losses.append(module)
        if name in STYLE_LAYERS:
            target = model(style).detach()
            module = StyleLoss(target)
            model.add_module(f"style_loss_{name}", module)
            style_losses.append(module)
    model.eval().requires_grad_(False)
    return model, content_losses, style_losses


def run_baseline(trunk, content, style, steps, weights):
    model, content_losses, style_losses = tutorial_model(trunk, content, style)
    img = content.clone().requires_grad_(True)
    optimizer = torch.optim.LBFGS([img])
    history, times = [], []
    start = time.perf_counter()
    while len(history) < steps:

        def closure():
            with torch.no_grad():
                img.clamp_(0, 1)
            optimizer.zero_grad()
            model(img)
            c = sum(m.loss for m in content_losses)
            s = sum(m.loss for m in style_losses) / len(style_losses)
            tv = ((img[..., 1:, :] - img[..., :-1, :]) ** 2).mean() + (
                (img[..., 1:] - img[..., :-1]) ** 2
            ).mean()
            loss = weights["content_weight"] * c + weights["style_weight"] * s + weights["tv_weight"] * tv
            loss.backward()
            history.append(float(loss.detach()))
            times.append(time.perf_counter() - start)
            return loss

        optimizer.step(closure)
    return history[:steps], times[:steps]


# ------------------------------------------------------------------------------------------------------- hfmech
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="benchmarks/results/style.json")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--steps", type=int, default=30, help="baseline L-BFGS evaluations (sets the target)")
    parser.add_argument("--rss-size", type=int, default=1024)
    parser.add_argument(
        "--tolerance",
        type=float,
        default=0.01,
        help="target = baseline final loss x (1 + tolerance), for both",
    )
    parser.add_argument("--rss-child", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rss_child:
        rss_child(args.rss_child)
        return
    if args.quick:
        args.size, args.steps, args.rss_size = 128, 10, 256

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

    print(f"baseline: tutorial-style, full forward, {args.steps} L-BFGS evaluations at {args.size} px ...")
    base_hist, base_times = run_baseline(pipe.model, content, style, args.steps, weights)
    # the same criterion for both: first evaluation at or below the baseline's final loss (+ tolerance)
    target = base_hist[-1] * (1 + args.tolerance)
    base_time, _ = time_to_target(base_hist, base_times, target)
    print(
        f"  loss {base_hist[0]:.4f} -> {base_hist[-1]:.4f} in {base_times[-1]:.1f} s; target {target:.4f} at {base_time:.1f} s"
    )

    common = dict(style=style_pil, seed=0, progress=False, init="content")
    variants = {}
    for name, kwargs in {
        "hfmech single-scale": dict(scales=[args.size], steps=args.steps),
        "hfmech coarse-to-fine": dict(scales=[args.size // 2, args.size], steps=args.steps),
    }.items():
        out = pipe(content_pil, **common, **kwargs)
        n_scales = len(kwargs["scales"])
        first = (n_scales - 1) * kwargs["steps"]  # index of the first evaluation at the final size
        reached, index = time_to_target(out["loss_history"], out["step_times"], target, first)
        variants[name] = {
            "scales": kwargs["scales"],
            "final_loss": out["loss_history"][-1],
            "total_seconds": out["step_times"][-1],
            "seconds_to_target": reached,
            "evaluations_to_target": None if index is None else index + 1,
            "ratio_baseline_over_hfmech": None if reached is None else base_time / reached,
            "loss_history": out["loss_history"],
            "step_times": out["step_times"],
        }
        shown = "not reached" if reached is None else f"{reached:.1f} s ({base_time / reached:.2f}x)"
        print(f"  {name}: final loss {out['loss_history'][-1]:.4f}; to target: {shown}")

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
        "size": args.size,
        "weights": weights,
        "baseline": {
            "description": "tutorial-style: full VGG forward every evaluation, fixed size, LBFGS defaults",
            "evaluations": args.steps,
            "seconds_total": base_times[-1],
            "seconds_to_target": base_time,
            "loss_first": base_hist[0],
            "loss_final": base_hist[-1],
            "target": target,
            "tolerance": args.tolerance,
            "loss_history": base_hist,
            "step_times": base_times,
        },
        "hfmech": variants,
        "peak_rss": rss,
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
