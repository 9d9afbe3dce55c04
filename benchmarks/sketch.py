"""Speed of hfmech's sketch-rnn against a straightforward port, in the same run (issue 20 §3 "Speed").

- **hfmech**: the encoder is one packed ``nn.LSTM`` call (true lengths); the decoder computes the input projection
  of all steps at once and iterates with ``unbind``.
- **baseline**: what many ports do — the encoder is an ``nn.LSTMCell`` stepped over the padded length in Python
  (reading padding: a different, wrong function, timed only for its cost), the decoder concatenates ``[S_{t-1}; z]``
  and applies the full cell at every step, indexing ``x[:, t]`` inside the loop.

Both use the same sizes (``cpu-small`` preset, ``--max-seq-len``) and the same random batch; the timed unit is one
training step (forward, backward, clip, Adam) and one encode + greedy decode of a single sketch. Writes
``benchmarks/results/sketch.json``.

    python benchmarks/sketch.py --reps 3 --threads 1
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from hfmech.hub.files import write_json_atomic
from hfmech.sketch import strokes as S
from hfmech.sketch.modeling_sketch_rnn import (
    SketchRNNConfig,
    SketchRNNModel,
    kl_loss,
    reconstruction_loss,
    split_params,
)


class NaivePort(nn.Module):
    """Per-step Python loops everywhere, no packing: the straightforward port the benchmark compares against."""

    def __init__(self, cfg: SketchRNNConfig):
        super().__init__()
        self.cfg = cfg
        e, d, nz, m = cfg.enc_rnn_size, cfg.dec_rnn_size, cfg.z_size, cfg.num_mixture
        self.fw, self.bw = nn.LSTMCell(5, e), nn.LSTMCell(5, e)
        self.fc_mu, self.fc_sigma = nn.Linear(2 * e, nz), nn.Linear(2 * e, nz)
        self.fc_init = nn.Linear(nz, 2 * d)
        self.dec = nn.LSTMCell(5 + nz, d)
        self.ln = nn.LayerNorm(d)
        self.out = nn.Linear(d, 6 * m + 3)

    def forward(self, x, lengths, kl_weight):
        b, t1, _ = x.shape
        target, inputs = x[:, 1:], x[:, :-1]
        e = self.cfg.enc_rnn_size
        hf = cf = x.new_zeros(b, e)
        hb = cb = x.new_zeros(b, e)
        for t in range(t1 - 1):
            hf, cf = self.fw(target[:, t], (hf, cf))
            hb, cb = self.bw(target[:, t1 - 2 - t], (hb, cb))
        h = torch.cat([hf, hb], -1)
        mu, presig = self.fc_mu(h), self.fc_sigma(h)
        z = mu + torch.exp(presig / 2) * torch.randn_like(mu)
        s = torch.tanh(self.fc_init(z))
        d = self.cfg.dec_rnn_size
        c, hd = s[:, :d], s[:, d:]
        ys = []
        for t in range(t1 - 1):
            hd, c = self.dec(torch.cat([inputs[:, t], z], -1), (hd, c))
            ys.append(self.out(self.ln(hd)))
        y = torch.stack(ys, 1)
        r, _, _ = reconstruction_loss(split_params(y, self.cfg.num_mixture), target)
        kl, _ = kl_loss(mu, presig, self.cfg.kl_tolerance)
        return r + kl_weight * kl


def time_train(model, x, lengths, reps, hfmech: bool) -> float:
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    times = []
    for _ in range(reps + 1):
        t = time.perf_counter()
        loss = model(x, lengths, kl_weight=0.5)
        loss = loss.loss if hfmech else loss
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_value_(model.parameters(), 1.0)
        opt.step()
        times.append(time.perf_counter() - t)
    return float(np.median(times[1:]))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", default="../shared/data/strokes/omniglot.stroke3.npz")
    p.add_argument("--max-seq-len", type=int, default=80)
    p.add_argument("--batch-size", type=int, default=100)
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", default="benchmarks/results/sketch.json")
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    cfg = SketchRNNConfig.from_preset("cpu-small", max_seq_len=a.max_seq_len)
    drawings = S.preprocess(S.load_stroke3_npz(a.data, "valid"), a.max_seq_len)
    cfg.scale_factor = S.normalizing_scale_factor(drawings)
    drawings = [S.normalize(d, cfg.scale_factor) for d in drawings[: a.batch_size]]
    x, ln = S.make_batch(drawings, a.max_seq_len)
    x, ln = torch.from_numpy(x), torch.from_numpy(ln)
    ours, naive = SketchRNNModel(cfg).train(), NaivePort(cfg).train()
    t_ours = time_train(ours, x, ln, a.reps, True)
    t_naive = time_train(naive, x, ln, a.reps, False)
    ours.eval()
    one = x[:1, : int(ln[0]) + 1]
    enc_dec = []
    for _ in range(a.reps + 1):
        t = time.perf_counter()
        with torch.no_grad():
            mu, _ = ours.encode(one, ln[:1])
            ours.decode(mu, 0.1, greedy=True)
        enc_dec.append(time.perf_counter() - t)
    result = {
        "what": "sketch-rnn cpu-small training step (batch, padded length) and one encode + greedy decode",
        "batch_size": a.batch_size,
        "max_seq_len": a.max_seq_len,
        "threads": a.threads,
        "reps": a.reps,
        "hfmech_train_step_s": t_ours,
        "naive_train_step_s": t_naive,
        "speedup": t_naive / t_ours,
        "hfmech_train_steps_per_s": 1 / t_ours,
        "encode_decode_one_sketch_s": float(np.median(enc_dec[1:])),
        "machine": f"{platform.machine()} CPU, shared with other jobs (load varies; compare the ratio only)",
    }
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(a.out, result)
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
