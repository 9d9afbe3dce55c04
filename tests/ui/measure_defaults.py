"""Seconds of each owned Space tab's default request (the form's defaults on its first example), for the READMEs.

    .venv/bin/python tests/ui/measure_defaults.py [--threads N] [dream style audio analogy perception] > out.json

Each request runs twice in-process (the first includes loading the model). Printed per run: wall seconds, and the
CPU seconds the process used (user + system, all threads) — on a busy shared host wall time overstates what a
dedicated 2-core Space takes; CPU seconds / 2 is its floor and CPU seconds its ceiling when both threads are busy.
With ``--threads 1`` (torch on one thread) the CPU seconds are the request's compute without the spin-waiting that two
threads accumulate on an oversubscribed host: the wall time of one dedicated core.
"""

from __future__ import annotations

import json
import os
import sys
import time

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")


def _timed(fn):
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return {"wall_s": round(time.perf_counter() - wall, 2), "cpu_s": round(time.process_time() - cpu, 2)}


def main(names):
    import torch

    if names and names[0] == "--threads":
        torch.set_num_threads(int(names[1]))
        names = names[2:]

    from hfmech.ui import example_path

    runs = {}
    if "dream" in names:
        from hfmech.dream import space as d

        image, layer = d.EXAMPLES[0]
        runs["dream"] = lambda: d.dream_image(
            example_path(image), layer, d.DEFAULT_OCTAVES, d.DEFAULT_STEPS, None, 0, d.DEFAULT_MAX_SIDE
        )
    if "style" in names:
        from hfmech.style import space as s

        c, st = s.EXAMPLES[0]
        runs["style"] = lambda c=c, st=st: s.stylize_image(example_path(c), example_path(st))
    if "audio" in names:
        from hfmech.style import space_audio as a

        clips = a.example_clips()
        c, st = a.EXAMPLE_PAIRS[0]
        runs["audio"] = lambda c=c, st=st: a.transfer_audio(str(clips[c]), str(clips[st]))
    if "analogy" in names:
        from hfmech.analogy import space as w

        runs["analogy"] = lambda: w.solve_analogy(w.DEFAULT_QUERY)
    if "perception" in names:
        from hfmech.perception import space as p

        runs["perception"] = lambda: p.draw(
            p.DEFAULT_CLASS, p.DEFAULT_STROKES, p.DEFAULT_PALETTE, p.DEFAULT_STEPS, 0
        )
    report = {"threads": torch.get_num_threads(), "load_before": os.getloadavg()[0], "tabs": {}}
    for name, fn in runs.items():
        report["tabs"][name] = {"first": _timed(fn), "second": _timed(fn), "load_after": os.getloadavg()[0]}
        print(name, report["tabs"][name], file=sys.stderr, flush=True)
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main(sys.argv[1:] or ["dream", "style", "audio", "analogy", "perception"])
