"""Every pipeline's default request on one device: seconds per request and peak accelerator memory.

Prepared so that a lent GPU's minutes are spent measuring, not writing code::

    python benchmarks/gpu_check.py --device cuda --out benchmarks/results/gpu_check.json
    python benchmarks/gpu_check.py --device cpu --tasks word-analogy deep-dream      # smoke run here

Each task's request is run twice (the first includes warm-up: kernels, caches); both times are reported. Models
come from the zoo (built on first use). A task without a request below is listed as such, never skipped silently.
"""

from __future__ import annotations

import argparse
import sys
import time

from common import RESULTS, machine_info, write_report  # noqa: E402  (benchmarks/common.py, beside this script)


def _image(side: int = 256):
    import numpy as np
    from PIL import Image

    y, x = np.mgrid[0:side, 0:side] / side
    rgb = np.stack([np.sin(6 * x) * 0.5 + 0.5, np.cos(5 * y) * 0.5 + 0.5, (x * y)], -1)
    return Image.fromarray((rgb * 255).astype("uint8"))


def _requests() -> dict:
    """task -> (callable(pipe) doing the Space's default request, description)."""
    from hfmech.style import demo_sounds

    return {
        "deep-dream": (lambda p: p(_image(384), octaves=4, steps=10, seed=0), "384 px, 4 octaves x 10 steps"),
        "style-transfer": (
            lambda p: p(_image(192), style=_image(192).rotate(90), size=192, steps=10, seed=0),
            "192 px, 10 L-BFGS steps",
        ),
        "audio-style-transfer": (
            lambda p: p(
                (demo_sounds.melody(5.0), 22050),
                style=(demo_sounds.rain(5.0), 22050),
                steps=50,
                n_filters=1024,
                griffin_lim_iters=100,
                seed=0,
            ),
            "5 s, 1024 filters, 50 steps, 100 Griffin-Lim rounds",
        ),
        "word-analogy": (lambda p: p("man:king::woman:?"), "one 3CosAdd query"),
        "perception-engine": (
            lambda p: p("electric fan", strokes=16, steps=30, views=2, seed=0),
            "16 strokes, 30 steps, 2 views",
        ),
        "sentiment-neuron": (
            lambda p: p("The plot made no sense, but the acting was wonderful."),
            "read a review",
        ),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--tasks", nargs="*", default=None, help="default: every task of every mechanism")
    parser.add_argument("--out", default=str(RESULTS / "gpu_check.json"))
    args = parser.parse_args(argv)

    import torch
    from transformers import pipeline

    import hfmech

    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print("no CUDA device here; run with --device cpu for a smoke run", file=sys.stderr)
        return 2
    requests = _requests()
    tasks = args.tasks or [t.name for m in hfmech.MECHANISMS for t in m.tasks]
    report = {"machine": machine_info(), "device": args.device, "tasks": {}}
    if args.device.startswith("cuda"):
        report["gpu"] = torch.cuda.get_device_name(0)
    for mechanism in hfmech.MECHANISMS:
        for task in mechanism.tasks:
            if task.name not in tasks:
                continue
            if task.name not in requests:
                report["tasks"][task.name] = {"status": "no default request in gpu_check.py"}
                continue
            request, description = requests[task.name]
            row = {"model": task.default_model, "request": description}
            try:
                pipe = pipeline(task.name, model=hfmech.zoo.build(task.default_model), device=args.device)
                seconds = []
                for _ in range(2):
                    if args.device.startswith("cuda"):
                        torch.cuda.synchronize()
                        torch.cuda.reset_peak_memory_stats()
                    start = time.perf_counter()
                    request(pipe)
                    if args.device.startswith("cuda"):
                        torch.cuda.synchronize()
                    seconds.append(time.perf_counter() - start)
                row.update(status="ok", seconds_first=seconds[0], seconds_second=seconds[1])
                if args.device.startswith("cuda"):
                    row["peak_gpu_memory_mib"] = torch.cuda.max_memory_allocated() / 2**20
            except Exception as e:  # noqa: BLE001 - one task failing must not hide the others' numbers
                row.update(status="error", error=f"{type(e).__name__}: {e}")
            report["tasks"][task.name] = row
            print(task.name, row, flush=True)
    write_report(args.out, report)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
