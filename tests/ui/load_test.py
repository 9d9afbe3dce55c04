"""Load test of ``hfmech serve`` (a benchmark, not a timed test): 8 concurrent gradio_client clients on the
word-analogy endpoint and 4 on DeepDream at the default size, against one app on 127.0.0.1 with hfmech's queue
(bounded, one run per event at a time). Reports errors, per-request latencies and the process's peak RSS as JSON.

Measured 2026-12-07 on the 2-core development host (load average ≈ 2.4): no errors; analogy latencies 2.5 / 3.6 /
4.0 s (min / median / max, queued behind the dreams), DeepDream 4.8 / 7.0 / 7.4 s (one at a time: ~1.9 s each),
all 12 done in 10.5 s; peak RSS 1291 MiB after building every tab, 1667 MiB after the requests.

    .venv/bin/python tests/ui/load_test.py [--analogy 8] [--dream 4] [--out load.json]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("GRADIO_EXAMPLES_CACHE", tempfile.mkdtemp(prefix="hfmech-load-examples-"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _client_run(url, kind, results, errors):
    from gradio_client import Client, handle_file

    from hfmech.dream.space import DEFAULT_MAX_SIDE, DEFAULT_OCTAVES, DEFAULT_STEPS
    from hfmech.ui import example_path

    try:
        client = Client(url, verbose=False)
        start = time.perf_counter()
        if kind == "analogy":
            table, _, _ = client.predict("man:king::woman:?", "3cosadd", 10, api_name="/analogy")
            assert table["data"][0][0] == "queen", table
        else:
            image, download, _ = client.predict(
                handle_file(example_path("sky.jpg")),
                "shallow",
                DEFAULT_OCTAVES,
                DEFAULT_STEPS,
                None,
                0,
                DEFAULT_MAX_SIDE,
                api_name="/dream",
            )
            assert Path(image).is_file() and Path(download).is_file()
        results[kind].append(round(time.perf_counter() - start, 3))
    except Exception as err:  # reported, not raised: the benchmark counts errors
        errors.append(f"{kind}: {type(err).__name__}: {err}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--analogy", type=int, default=8)
    parser.add_argument("--dream", type=int, default=4)
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)

    from space_testing import served

    from hfmech.serve import build_app
    from hfmech.ui import configure

    app = configure(build_app())
    rss_start = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    results: dict[str, list[float]] = {"analogy": [], "dream": []}
    errors: list[str] = []
    with served(app) as url:
        threads = [
            threading.Thread(target=_client_run, args=(url, kind, results, errors))
            for kind, n in (("analogy", args.analogy), ("dream", args.dream))
            for _ in range(n)
        ]
        start = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join(600)
        total = time.perf_counter() - start
    report = {
        "clients": {"analogy": args.analogy, "dream": args.dream},
        "errors": errors,
        "latency_s": {
            k: {"n": len(v), "min": min(v), "median": statistics.median(v), "max": max(v)} if v else None
            for k, v in results.items()
        },
        "total_s": round(total, 2),
        "peak_rss_mib": {
            "before_requests": round(rss_start),
            "after": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        },
        "load_average": os.getloadavg()[0],
        "cpus": os.cpu_count(),
    }
    text = json.dumps(report, indent=1)
    if args.out:
        Path(args.out).write_text(text + "\n")
    print(text)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
