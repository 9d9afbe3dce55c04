"""Sentiment-neuron benchmark: the mLSTM's featurisation and training speed against naive loops, and peak RSS on 1 MB.

Run from the repository root (``make bench`` does)::

    python benchmarks/sentiment.py --out benchmarks/results/sentiment.json
    python benchmarks/sentiment.py --hidden-size 1024 --out benchmarks/results/sentiment_h1024.json  # random weights
    python benchmarks/sentiment.py --model path/to/mlstm-folder --out /tmp/sentiment.json              # other weights
    python benchmarks/sentiment.py --quick --out /tmp/sentiment.json      # smoke run, smaller sizes

Measurements (each ratio against a baseline measured in the same run, on the same weights; never asserted):

1. **Featurisation** (bytes/s): ``model.featurize`` (texts sorted by length and batched, the batch shrinking as texts
   end, input projections gathered for a whole chunk at once, in-place recurrence) against a naive loop written the
   obvious way: one text at a time, and inside the per-byte loop the embedding lookup and both input projections for
   that byte (``X[:, t]``-style indexing), no chunk batching. The two alternate ``--repeats`` times (noise on a shared
   machine hits both); the JSON keeps every pair's ratio, the median is the headline. For information a second
   baseline, the same naive loop over length-sorted, left-padded *batches* of texts (masked with ``torch.where``,
   as encoder.py's ``transform``), runs once. All give the same final states (max abs difference reported).
2. **Training** (bytes/s of forward + backward + Adam step): the model's forward (chunk projections) against the same
   maths with ``X[:, t]`` indexing and per-step input projections inside the loop; steps alternate, min per side.
3. **Peak RSS** for 1 MB of text (``--long-kb``): ``model.trace(text, unit=u)`` (one value per byte, written into a
   preallocated array, state carried over chunks) in a fresh subprocess; peak RSS (VmHWM, reset after loading)
   before and after, and what keeping every state would have cost (n × H × 4 bytes).

The model is the shipped ``mlstm-imdb`` unless ``--model`` (a saved :class:`MLSTMForByteLM` folder) or
``--hidden-size`` (random weights, seed 0, same code path) says otherwise. The machine is shared (2 cores, other
jobs): whole-run timings are noisy, the JSON records the load average.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

from baselines.mlstm_naive import naive_featurize, naive_featurize_batched, naive_loss  # noqa: E402
from common import peak_rss_bytes  # noqa: E402  (benchmarks/common.py, beside this script)

REPO = Path(__file__).resolve().parents[1]
IMDB = REPO.parent / "shared" / "data" / "imdb" / "train.parquet"
CHILD_MARKER = "SENTIMENT_BENCH_RESULT "
SPEED_TARGET = 5.0

FULL = {
    "n_texts": 64,
    "batch_size": 64,
    "train_batch": 64,
    "train_seq": 128,
    "train_steps": 3,
    "long_kb": 1024,
}
QUICK = {"n_texts": 16, "batch_size": 16, "train_batch": 16, "train_seq": 64, "train_steps": 2, "long_kb": 64}


def load_model(model: str | None = None, hidden_size: int | None = None):
    """``(model, name)``: random weights of ``hidden_size`` (seed 0), the folder ``model``, or the shipped
    ``mlstm-imdb`` (random H=256 weights when it is missing)."""
    import torch

    from hfmech.sentiment.modeling_mlstm import MLSTMConfig, MLSTMForByteLM
    from hfmech.sentiment.zoo_mlstm import WEIGHTS_DIR, load_shipped_model

    if hidden_size:
        torch.manual_seed(0)
        return MLSTMForByteLM(MLSTMConfig(hidden_size=hidden_size)).eval(), f"random H={hidden_size}"
    if model:
        return load_shipped_model(Path(model))[0].eval(), str(model)
    if (WEIGHTS_DIR / "config.json").is_file():
        loaded, _ = load_shipped_model()
        return loaded.eval(), "mlstm-imdb"
    torch.manual_seed(0)
    return MLSTMForByteLM(MLSTMConfig(hidden_size=256)).eval(), "random H=256 (mlstm-imdb weights missing)"


def load_texts(n: int) -> list[str]:
    if IMDB.is_file():
        import pyarrow.parquet as pq

        texts = pq.read_table(IMDB, columns=["text"]).column("text").to_pylist()
        return [texts[i] for i in range(0, len(texts), max(1, len(texts) // n))][:n]
    return [("A fine film with a plot. " * (5 + i % 40)) for i in range(n)]


def bench_featurize(model, texts, batch_size, repeats=2, batched_baseline=True):
    import numpy as np

    from hfmech.sentiment.preprocessing import preprocess

    n_bytes = sum(len(preprocess(t)) for t in texts)
    model.featurize(texts[:2], batch_size=batch_size)  # warm-up (first-call allocations)
    t_ours, t_base, ratios = [], [], []
    for _ in range(max(1, repeats)):
        t0 = time.perf_counter()
        ours = model.featurize(texts, batch_size=batch_size)
        t_ours.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        base = naive_featurize(model, texts)
        t_base.append(time.perf_counter() - t0)
        ratios.append(t_base[-1] / t_ours[-1])
        print(f"  hfmech {t_ours[-1]:.2f} s, naive {t_base[-1]:.2f} s: {ratios[-1]:.2f}x", flush=True)
    result = {
        "texts": len(texts),
        "bytes": n_bytes,
        "batch_size": batch_size,
        "repeats": len(ratios),
        "hfmech_s": [round(t, 2) for t in t_ours],
        "naive_s": [round(t, 2) for t in t_base],
        "hfmech_bytes_per_s": round(n_bytes / float(np.median(t_ours)), 1),
        "naive_bytes_per_s": round(n_bytes / float(np.median(t_base)), 1),
        "speedups": [round(r, 2) for r in ratios],
        "speedup": round(float(np.median(ratios)), 2),
        "speedup_min": round(min(ratios), 2),
        "speedup_max": round(max(ratios), 2),
        "target_speedup": SPEED_TARGET,
        "max_abs_diff": float(np.abs(ours - base).max()),
    }
    result["precision"] = model.recurrence_precision()
    if result["precision"] != "float32":
        # the same featurisation with float32 products, timed beside a naive run: how much of the speed-up is
        # the mixed-precision products and how much the batching / gathering / in-place recurrence
        t0 = time.perf_counter()
        exact = model.featurize(texts, batch_size=batch_size, precision="float32")
        t_exact = time.perf_counter() - t0
        t0 = time.perf_counter()
        naive_featurize(model, texts)
        t_naive = time.perf_counter() - t0
        scale = float(np.abs(exact).max())
        result["float32_products"] = {
            "hfmech_s": round(t_exact, 2),
            "naive_s_adjacent": round(t_naive, 2),
            "speedup": round(t_naive / t_exact, 2),
            "max_abs_diff_vs_naive": float(np.abs(exact - base).max()),
            "mixed_max_abs_diff_relative": round(float(np.abs(ours - exact).max()) / max(scale, 1e-12), 5),
        }
        print(f"  float32 products: hfmech {t_exact:.2f} s, naive {t_naive:.2f} s: {t_naive / t_exact:.2f}x")
    if batched_baseline:
        t0 = time.perf_counter()
        batched = naive_featurize_batched(model, texts, batch_size)
        t_batched = time.perf_counter() - t0
        t0 = time.perf_counter()
        model.featurize(texts, batch_size=batch_size)
        t_after = time.perf_counter() - t0
        result["naive_batched"] = {
            "note": "information only: naive loop over padded, masked batches (not the issue's baseline)",
            "s": round(t_batched, 2),
            "hfmech_s_adjacent": round(t_after, 2),
            "bytes_per_s": round(n_bytes / t_batched, 1),
            "speedup": round(t_batched / t_after, 2),
            "max_abs_diff": float(np.abs(ours - batched).max()),
        }
    return result


def bench_training(model, batch, seq, steps):
    import torch

    from hfmech.sentiment.modeling_mlstm import MLSTMForByteLM

    def setup():
        m = MLSTMForByteLM(model.config)
        m.load_state_dict(model.state_dict())
        m.train()
        return m, torch.optim.Adam(m.parameters(), lr=1e-4)

    def ours(m, x):
        return m(x[:, :-1], labels=x[:, 1:]).loss

    torch.manual_seed(0)
    x = torch.randint(0, 256, (batch, seq + 1))
    sides = {"hfmech": (ours, *setup()), "naive": (naive_loss, *setup())}
    times = {k: [] for k in sides}
    losses = {}
    for _ in range(steps):  # alternate the two so that load changes hit both
        for name, (loss_fn, m, opt) in sides.items():
            t0 = time.perf_counter()
            loss = loss_fn(m, x)
            loss.backward()
            opt.step()
            opt.zero_grad()
            times[name].append(time.perf_counter() - t0)
            losses[name] = float(loss.detach())
    t_ours, t_base = min(times["hfmech"]), min(times["naive"])
    n = batch * seq
    return {
        "batch": batch,
        "seq_len": seq,
        "steps": steps,
        "hfmech_step_s_min": round(t_ours, 3),
        "naive_step_s_min": round(t_base, 3),
        "hfmech_bytes_per_s": round(n / t_ours, 1),
        "naive_bytes_per_s": round(n / t_base, 1),
        "speedup": round(t_base / t_ours, 2),
        "final_loss_hfmech": round(losses["hfmech"], 5),
        "final_loss_naive": round(losses["naive"], 5),
    }


def child_long_text(kb: int, model_arg: str | None = None, hidden_size: int | None = None) -> None:
    """Subprocess body: trace the sentiment unit over ``kb`` kB of text, print peak-RSS numbers (Linux VmHWM,
    reset after loading so the increase is the trace's own)."""
    import numpy as np
    import torch

    torch.set_num_threads(1)
    model, _ = load_model(model_arg, hidden_size)
    text = ("An unusually long review, read byte by byte. " * (kb * 1024 // 46 + 1))[: kb * 1024]
    unit = model.config.sentiment_unit or 0
    model.trace("warm up", unit=unit)
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")  # reset the peak-RSS counter
    rss0 = peak_rss_bytes() / 2**20
    t0 = time.perf_counter()
    values = model.trace(text, unit=unit)
    t_trace = time.perf_counter() - t0
    rss1 = peak_rss_bytes() / 2**20
    result = {
        "bytes": len(values),
        "trace_s": round(t_trace, 1),
        "bytes_per_s_single_text": round(len(values) / t_trace, 1),
        "rss_before_mb": round(rss0, 1),
        "peak_rss_mb": round(rss1, 1),
        "increase_mb": round(rss1 - rss0, 1),
        "hidden_size": model.config.hidden_size,
        "all_states_would_need_mb": round(len(values) * model.config.hidden_size * 4 / 2**20, 1),
        "finite": bool(np.isfinite(values).all()),
    }
    print(CHILD_MARKER + json.dumps(result), flush=True)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", default="benchmarks/results/sentiment.json")
    p.add_argument("--quick", action="store_true")
    p.add_argument(
        "--model", default=None, help="a saved MLSTMForByteLM folder (default: the shipped mlstm-imdb)"
    )
    p.add_argument("--hidden-size", type=int, default=None, help="random-weight model of this width instead")
    p.add_argument(
        "--repeats", type=int, default=None, help="alternating featurisation pairs (default 2, quick 1)"
    )
    p.add_argument("--long-kb", type=int, default=None, help="kB of text for the RSS run (0: skip it)")
    p.add_argument(
        "--no-batched-baseline", action="store_true", help="skip the informational batched naive loop"
    )
    p.add_argument("--skip-training", action="store_true")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--child-long", type=int, default=None, help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.child_long is not None:
        child_long_text(a.child_long, a.model, a.hidden_size)
        return 0
    import torch

    torch.set_num_threads(a.threads)
    cfg = dict(QUICK if a.quick else FULL)
    if a.long_kb is not None:
        cfg["long_kb"] = a.long_kb
    cfg["repeats"] = a.repeats or (1 if a.quick else 2)
    model, model_name = load_model(a.model, a.hidden_size)
    report = {
        "benchmark": "sentiment",
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "torch": torch.__version__,
            "torch_threads": torch.get_num_threads(),
            "python": platform.python_version(),
            "loadavg_start": os.getloadavg(),
        },
        "model": model_name,
        "hidden_size": model.config.hidden_size,
        "settings": cfg,
    }
    print("featurisation ...", flush=True)
    report["featurize"] = bench_featurize(
        model,
        load_texts(cfg["n_texts"]),
        cfg["batch_size"],
        repeats=cfg["repeats"],
        batched_baseline=not a.no_batched_baseline,
    )
    print(json.dumps(report["featurize"]), flush=True)
    if not a.skip_training:
        print("training step ...", flush=True)
        report["training"] = bench_training(model, cfg["train_batch"], cfg["train_seq"], cfg["train_steps"])
        print(json.dumps(report["training"]), flush=True)
    if cfg["long_kb"] > 0:
        print(f"{cfg['long_kb']} kB of text in a subprocess ...", flush=True)
        child = [sys.executable, __file__, "--child-long", str(cfg["long_kb"])]
        if a.hidden_size:
            child += ["--hidden-size", str(a.hidden_size)]
        elif a.model:
            child += ["--model", str(a.model)]
        proc = subprocess.run(child, capture_output=True, text=True, cwd=REPO, check=False)
        lines = [ln for ln in proc.stdout.splitlines() if ln.startswith(CHILD_MARKER)]
        report["long_text"] = (
            json.loads(lines[-1][len(CHILD_MARKER) :]) if lines else {"error": proc.stderr[-2000:]}
        )
        print(json.dumps(report["long_text"]), flush=True)
    report["machine"]["loadavg_end"] = os.getloadavg()
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    from hfmech.hub.files import write_text_atomic

    write_text_atomic(out, json.dumps(report, indent=2) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
