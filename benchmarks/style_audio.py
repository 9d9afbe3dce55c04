"""Audio style transfer benchmark: compute seconds per second of audio, and hfmech's L-BFGS against the notebook's.

Run from the repository root (``make bench`` does)::

    python benchmarks/style_audio.py --out benchmarks/results/style_audio.json
    python benchmarks/style_audio.py --quick --out /tmp/style_audio.json     # smoke run: 2 s, 20 steps

Measurements, all in one run on the same project-made clips (``demo_sounds.melody`` content, ``demo_sounds.rain``
style, ``--seconds`` long, 22 050 Hz), nothing asserted:

1. **Paper defaults** (the ``random-audio-conv`` zoo config: 4096 filters, ``--steps`` L-BFGS iterations (300),
   Griffin-Lim 500 rounds): wall-clock of the whole ``audio-style-transfer`` pipeline call, split into the
   spectrogram optimisation and Griffin-Lim, and **compute seconds per second of audio** (real-time factor).
2. **Baseline: the notebook's optimiser.** Ulyanov & Lebedev's TF notebook runs scipy's ``L-BFGS-B``
   (``ScipyOptimizerInterface``, ``maxiter`` = steps, memory 10) on the same loss. The same loss and gradient
   (torch) are handed to ``scipy.optimize.minimize(method="L-BFGS-B")`` from the same start; reported: time,
   evaluations and final loss of both, and ``baseline_time / hfmech_time`` (hfmech's time is the pipeline call
   of 1. less its Griffin-Lim, so it includes reading the two clips: milliseconds).
3. **Space preset** (1024 filters, 50 steps, Griffin-Lim 100 rounds with momentum 0.99): its real-time factor and the
   speed-up over the paper defaults.

The JSON records the machine (cores, torch threads, load average): on a shared machine timings are noisy.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import torch  # noqa: E402
from baselines.audio_style_scipy import scipy_baseline  # noqa: E402
from common import machine_info, timed  # noqa: E402  (benchmarks/common.py, beside this script)

import hfmech  # noqa: E402,F401
from hfmech.hub import load_pipeline  # noqa: E402
from hfmech.hub.files import write_json_atomic  # noqa: E402
from hfmech.style import demo_sounds  # noqa: E402
from hfmech.style.audio import griffin_lim, magnitude_from_log  # noqa: E402
from hfmech.style.space_audio import DEFAULT_N_FILTERS, DEFAULT_STEPS, SPACE_GRIFFIN_LIM  # noqa: E402

MODEL = "random-audio-conv"
SR = 22050


def run_pipeline(pipe, content, style, seconds, **settings) -> dict:
    """One pipeline call, timed; Griffin-Lim timed again alone on the result to split the total."""
    result, total, _ = timed(
        lambda: pipe(content, style=style, seed=0, progress=False, return_spectrograms=True, **settings)
    )
    magnitude = magnitude_from_log(torch.from_numpy(result["spectrogram"]))
    c = pipe.model.config
    _, gl_time, _ = timed(
        lambda: griffin_lim(
            magnitude,
            c.n_fft,
            c.hop_length,
            n_iter=settings["griffin_lim_iters"],
            length=len(result["audio"]),
            momentum=settings.get("griffin_lim_momentum", 0.0),
            generator=torch.Generator().manual_seed(0),
        )
    )
    return {
        "settings": settings,
        "seconds_total": total,
        "seconds_griffin_lim": gl_time,
        "seconds_optimisation_and_io": total - gl_time,
        "compute_seconds_per_audio_second": total / seconds,
        "evaluations": len(result["loss_history"]),
        "loss_start": result["loss_history"][0] if result["loss_history"] else None,
        "loss_end": result["loss_history"][-1] if result["loss_history"] else None,
        "style_loss": [result["style_loss_start"], result["style_loss"]],
        "content_loss": [result["content_loss_start"], result["content_loss"]],
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "style_audio.json"))
    parser.add_argument("--seconds", type=float, default=5.0, help="clip length (s)")
    parser.add_argument("--steps", type=int, default=300, help="L-BFGS iterations for the paper-default run")
    parser.add_argument("--quick", action="store_true", help="2 s clips, 20 steps, 50 Griffin-Lim rounds")
    parser.add_argument("--skip-baseline", action="store_true", help="skip the scipy L-BFGS-B baseline")
    args = parser.parse_args(argv)
    seconds, steps, gl_iters = (2.0, 20, 50) if args.quick else (args.seconds, args.steps, 500)

    content = (demo_sounds.melody(seconds), SR)
    style = (demo_sounds.rain(seconds), SR)
    pipe, load_seconds, _ = timed(lambda: load_pipeline("audio-style-transfer", MODEL))
    paper = {"steps": steps, "griffin_lim_iters": gl_iters, "content_weight": 1e-2, "n_filters": None}
    space = {"steps": min(DEFAULT_STEPS, steps), "n_filters": DEFAULT_N_FILTERS, **SPACE_GRIFFIN_LIM}

    report = {
        "machine": machine_info(),
        "clip_seconds": seconds,
        "model": MODEL,
        "model_load_seconds": load_seconds,
    }
    print(f"[style_audio] {seconds:g} s clips; model loaded in {load_seconds:.1f} s", flush=True)

    report["paper_defaults"] = run_pipeline(pipe, content, style, seconds, **paper)
    p = report["paper_defaults"]
    print(
        f"[style_audio] paper defaults: {p['seconds_total']:.1f} s total ({p['seconds_griffin_lim']:.1f} s "
        f"Griffin-Lim), {p['compute_seconds_per_audio_second']:.1f} s per audio second, {p['evaluations']} evals",
        flush=True,
    )

    if not args.skip_baseline:
        ours = {
            "seconds_optimisation": p["seconds_optimisation_and_io"],
            "evaluations": p["evaluations"],
            "loss_start": p["loss_start"],
            "loss_end": p["loss_end"],
        }
        base = scipy_baseline(pipe, content, style, steps, 1e-2)
        report["optimiser"] = {
            "hfmech_torch_lbfgs": ours,
            "baseline_scipy_lbfgsb": base,
            "baseline_time_over_hfmech_time": base["seconds_optimisation"] / ours["seconds_optimisation"],
            "hfmech_final_loss_over_baseline_final_loss": ours["loss_end"] / base["loss_end"],
        }
        o = report["optimiser"]
        print(
            f"[style_audio] optimiser: hfmech {ours['seconds_optimisation']:.1f} s / {ours['evaluations']} evals / "
            f"loss {ours['loss_end']:.4g}; scipy L-BFGS-B {base['seconds_optimisation']:.1f} s / "
            f"{base['evaluations']} evals / loss {base['loss_end']:.4g}; time ratio "
            f"{o['baseline_time_over_hfmech_time']:.2f}",
            flush=True,
        )

    report["space_preset"] = run_pipeline(pipe, content, style, seconds, **space)
    s = report["space_preset"]
    report["space_speedup_over_paper"] = p["seconds_total"] / s["seconds_total"]
    print(
        f"[style_audio] Space preset: {s['seconds_total']:.1f} s total, "
        f"{s['compute_seconds_per_audio_second']:.2f} s per audio second, "
        f"{report['space_speedup_over_paper']:.1f}x faster than the paper defaults",
        flush=True,
    )
    report["machine"]["load_average_end"] = os.getloadavg()
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(out, report)
    print(f"[style_audio] wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
