"""Sentiment-neuron benchmark: the mLSTM's featurisation and training speed against naive loops, and peak RSS on 1 MB.

Run from the repository root (``make bench`` does)::

    python benchmarks/sentiment.py --out benchmarks/results/sentiment.json
    python benchmarks/sentiment.py --quick --out /tmp/sentiment.json      # smoke run, smaller sizes

Measurements (each ratio against a baseline measured in the same run, on the same weights; never asserted):

1. **Featurisation** (bytes/s): ``model.featurize`` (texts sorted by length and batched, input projections computed
   for a whole chunk at once, recurrence over ``.unbind(1)``) against a naive loop written the obvious way: one text
   at a time, and inside the per-byte loop the embedding lookup and both input projections for that byte
   (``X[:, t]``-style indexing). Both give the same final states (max abs difference reported).
2. **Training** (bytes/s of forward + backward + Adam step): the model's forward (chunk projections, ``unbind``) against
   the same maths with ``X[:, t]`` indexing and per-step input projections inside the loop.
3. **Peak RSS** for 1 MB of text (``--long-kb``): ``model.trace(text, unit=u)`` (one value per byte, state carried
   over 256-byte chunks) in a fresh subprocess; peak RSS (VmHWM, reset after loading) before and after, and what
   keeping every state would have cost (n × H × 4 bytes).

The model is the shipped ``mlstm-imdb`` (random weights of the same size if it is missing). The machine is shared
(2 cores, other jobs): whole-run timings are noisy, the JSON records the load average.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

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


def load_model():
    import torch

    from hfmech.sentiment.modeling_mlstm import MLSTMConfig, MLSTMForByteLM
    from hfmech.sentiment.zoo_mlstm import WEIGHTS_DIR, load_shipped_model

    if (WEIGHTS_DIR / "config.json").is_file():
        model, _ = load_shipped_model()
        return model.eval(), "mlstm-imdb"
    torch.manual_seed(0)
    return MLSTMForByteLM(MLSTMConfig(hidden_size=256)).eval(), "random H=256 (mlstm-imdb weights missing)"


def load_texts(n: int) -> list[str]:
    if IMDB.is_file():
        import pyarrow.parquet as pq

        texts = pq.read_table(IMDB, columns=["text"]).column("text").to_pylist()
        return [texts[i] for i in range(0, len(texts), max(1, len(texts) // n))][:n]
    return [("A fine film with a plot. " * (5 + i % 40)) for i in range(n)]


def naive_featurize(model, texts):
    """One text at a time; embedding and input projections per byte inside the loop (the baseline)."""
    import numpy as np
    import torch

    from hfmech.sentiment.preprocessing import preprocess

    w = model.effective_weights()
    hdim = model.config.hidden_size
    out = np.zeros((len(texts), hdim), dtype=np.float32)
    with torch.no_grad():
        for k, text in enumerate(texts):
            ids = model._ids(preprocess(text)).unsqueeze(0)
            c, h = model.zero_state(1)
            for t in range(ids.shape[1]):
                x = model.embed(ids[:, t])
                m = (x @ w["wmx"]) * (h @ w["wmh"])
                z = x @ w["wx"] + m @ w["wh"] + w["b"]
                i, f, o, u = z.chunk(4, dim=1)
                c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(u)
                h = torch.sigmoid(o) * torch.tanh(c)
            out[k] = c[0].numpy()
    return out


def naive_loss(model, x):
    """The training forward with ``X[:, t]`` indexing and per-step input projections inside the loop."""
    import torch
    import torch.nn.functional as F

    w = model.effective_weights()
    c, h = model.zero_state(x.shape[0])
    emb = model.embed(x[:, :-1])
    hs = []
    for t in range(emb.shape[1]):
        xt = emb[:, t]
        m = (xt @ w["wmx"]) * (h @ w["wmh"])
        z = xt @ w["wx"] + m @ w["wh"] + w["b"]
        i, f, o, u = z.chunk(4, dim=1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(u)
        h = torch.sigmoid(o) * torch.tanh(c)
        hs.append(h)
    logits = model.out(torch.stack(hs, 1))
    return F.cross_entropy(logits.reshape(-1, 256), x[:, 1:].reshape(-1))


def bench_featurize(model, texts, batch_size):
    import numpy as np

    from hfmech.sentiment.preprocessing import preprocess

    n_bytes = sum(len(preprocess(t)) for t in texts)
    t0 = time.perf_counter()
    ours = model.featurize(texts, batch_size=batch_size)
    t_ours = time.perf_counter() - t0
    t0 = time.perf_counter()
    base = naive_featurize(model, texts)
    t_base = time.perf_counter() - t0
    return {
        "texts": len(texts),
        "bytes": n_bytes,
        "hfmech_s": round(t_ours, 2),
        "naive_s": round(t_base, 2),
        "hfmech_bytes_per_s": round(n_bytes / t_ours, 1),
        "naive_bytes_per_s": round(n_bytes / t_base, 1),
        "speedup": round(t_base / t_ours, 2),
        "target_speedup": SPEED_TARGET,
        "max_abs_diff": float(np.abs(ours - base).max()),
    }


def bench_training(model, batch, seq, steps):
    import torch

    from hfmech.sentiment.modeling_mlstm import MLSTMForByteLM

    def run(loss_fn):
        m = MLSTMForByteLM(model.config)
        m.load_state_dict(model.state_dict())
        m.train()
        opt = torch.optim.Adam(m.parameters(), lr=1e-4)
        torch.manual_seed(0)
        x = torch.randint(0, 256, (batch, seq + 1))
        times = []
        for _ in range(steps):
            t0 = time.perf_counter()
            loss = loss_fn(m, x)
            loss.backward()
            opt.step()
            opt.zero_grad()
            times.append(time.perf_counter() - t0)
        return min(times), float(loss.detach())

    def ours(m, x):
        return m(x[:, :-1], labels=x[:, 1:]).loss

    t_ours, l_ours = run(ours)
    t_base, l_base = run(naive_loss)
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
        "final_loss_hfmech": round(l_ours, 5),
        "final_loss_naive": round(l_base, 5),
    }


def _vm_hwm_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child_long_text(kb: int) -> None:
    """Subprocess body: trace the sentiment unit over ``kb`` kB of text, print peak-RSS numbers (Linux VmHWM,
    reset after loading so the increase is the trace's own)."""
    import numpy as np
    import torch

    torch.set_num_threads(1)
    model, _ = load_model()
    text = ("An unusually long review, read byte by byte. " * (kb * 1024 // 46 + 1))[: kb * 1024]
    unit = model.config.sentiment_unit or 0
    model.trace("warm up", unit=unit)
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")  # reset the peak-RSS counter
    rss0 = _vm_hwm_mb()
    t0 = time.perf_counter()
    values = model.trace(text, unit=unit)
    t_trace = time.perf_counter() - t0
    rss1 = _vm_hwm_mb()
    result = {
        "bytes": len(values),
        "trace_s": round(t_trace, 1),
        "bytes_per_s_single_text": round(len(values) / t_trace, 1),
        "rss_before_mb": round(rss0, 1),
        "peak_rss_mb": round(rss1, 1),
        "increase_mb": round(rss1 - rss0, 1),
        "all_states_would_need_mb": round(len(values) * model.config.hidden_size * 4 / 2**20, 1),
        "finite": bool(np.isfinite(values).all()),
    }
    print(CHILD_MARKER + json.dumps(result), flush=True)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", default="benchmarks/results/sentiment.json")
    p.add_argument("--quick", action="store_true")
    p.add_argument("--long-kb", type=int, default=None)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--child-long", type=int, default=None, help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.child_long is not None:
        child_long_text(a.child_long)
        return 0
    import torch

    torch.set_num_threads(a.threads)
    cfg = dict(QUICK if a.quick else FULL)
    if a.long_kb:
        cfg["long_kb"] = a.long_kb
    model, model_name = load_model()
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
    report["featurize"] = bench_featurize(model, load_texts(cfg["n_texts"]), cfg["batch_size"])
    print(json.dumps(report["featurize"]), flush=True)
    print("training step ...", flush=True)
    report["training"] = bench_training(model, cfg["train_batch"], cfg["train_seq"], cfg["train_steps"])
    print(json.dumps(report["training"]), flush=True)
    print(f"{cfg['long_kb']} kB of text in a subprocess ...", flush=True)
    proc = subprocess.run(
        [sys.executable, __file__, "--child-long", str(cfg["long_kb"])],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
    )
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith(CHILD_MARKER)]
    report["long_text"] = (
        json.loads(lines[-1][len(CHILD_MARKER) :]) if lines else {"error": proc.stderr[-2000:]}
    )
    print(json.dumps(report["long_text"]), flush=True)
    report["machine"]["loadavg_end"] = os.getloadavg()
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, out)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
