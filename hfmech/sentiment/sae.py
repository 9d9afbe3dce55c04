"""A TopK sparse autoencoder on one site of a causal LM: the 2020s "single unit" is a monosemantic feature.

Gao et al. (2024, "Scaling and evaluating sparse autoencoders", arXiv:2406.04093), §2.3: with ``x`` ``(B, d)`` a
site's activations,

    z = TopK(ReLU(W_enc (x - b_dec) + b_enc))        (B, n_latents), k non-zeros per row
    x_hat = W_dec z + b_dec                           (B, d)

trained on ``||x - x_hat||²``, the decoder columns kept at unit norm (renormalised after each step, the gradient's
component along each column removed before it, as in Gao et al. §A), ``W_enc`` initialised to ``W_decᵀ`` and
``b_dec`` to the data mean. Reported: the fraction of variance unexplained ``FVU = ||x - x_hat||² / ||x - mean||²``,
``L0 = k``, and dead latents (never in a TopK over the last ``dead_window`` tokens).

The encoder's backward only touches the ``k`` active latents of each row (gathered with :func:`torch.nn.functional.
embedding`), and the decoder is an ``embedding_bag`` over the active latents, so a step costs one dense
``(B, d) @ (d, n_latents)`` product plus ``O(B k d)`` — what makes 8× dictionaries trainable on a CPU. Optionally
(``select_dtype=torch.bfloat16``) that dense product, which only *chooses* the k latents, runs in bfloat16; the
chosen latents' values and all gradients stay float32.

The sentiment feature is read as the unit is: the feature's activation at a text's last token, a threshold fitted on
SST-2 train; it steers with its decoder column ``W_dec[:, f]`` (unit norm) added at every position
(:func:`hfmech.sentiment.steering.add_vector`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..errors import HfmechError


class SAEError(HfmechError, ValueError):
    """Bad SAE arguments: a width that does not match, k out of range, non-finite activations."""


class TopKSAE(nn.Module):
    """``d`` → ``n_latents`` → ``d`` TopK autoencoder. ``W_enc`` ``(n_latents, d)`` (rows), ``W_dec``
    ``(n_latents, d)`` (rows = decoder directions, unit norm)."""

    def __init__(self, d: int, n_latents: int, k: int, seed: int = 0):
        super().__init__()
        if not 1 <= k <= n_latents:
            raise SAEError(f"k must be in 1..{n_latents}, got {k}")
        g = torch.Generator().manual_seed(seed)
        w = torch.randn(n_latents, d, generator=g)
        w = w / w.norm(dim=1, keepdim=True)
        self.W_dec = nn.Parameter(w.clone())
        self.W_enc = nn.Parameter(w.clone())
        self.b_enc = nn.Parameter(torch.zeros(n_latents))
        self.b_dec = nn.Parameter(torch.zeros(d))
        self.k = int(k)
        self.select_dtype = torch.float32

    @property
    def d(self) -> int:
        return self.W_dec.shape[1]

    @property
    def n_latents(self) -> int:
        return self.W_dec.shape[0]

    def _check(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 2 or x.shape[1] != self.d:
            raise SAEError(f"activations must be (N, {self.d}), got {tuple(x.shape)}")
        return x.to(self.W_enc.dtype)

    def pre_activations(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, n_latents)`` ``W_enc (x - b_dec) + b_enc`` (no ReLU, no TopK)."""
        return (self._check(x) - self.b_dec) @ self.W_enc.T + self.b_enc

    def topk(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(values (N, k) ≥ 0, indices (N, k))`` with gradient to the active encoder rows only."""
        x = self._check(x)
        with torch.no_grad():
            if self.select_dtype == torch.float32:
                pre = self.pre_activations(x)
            else:  # choose the k latents in low precision (a CPU's bf16 matmul is ~2.4x faster); values below are fp32
                dt = self.select_dtype
                pre = (x - self.b_dec).to(dt) @ self.W_enc.to(dt).T + self.b_enc.to(dt)
            idx = pre.topk(self.k, dim=-1).indices  # (N, k)
        rows = F.embedding(idx, self.W_enc)  # (N, k, d): only the active rows get a gradient
        vals = torch.einsum("nd,nkd->nk", x - self.b_dec, rows) + self.b_enc[idx]
        return F.relu(vals), idx

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Dense codes ``(N, n_latents)`` (k non-zeros per row)."""
        vals, idx = self.topk(x)
        return torch.zeros(x.shape[0], self.n_latents, dtype=vals.dtype, device=vals.device).scatter(
            1, idx, vals
        )

    def decode_sparse(self, vals: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
        return F.embedding_bag(idx, self.W_dec, per_sample_weights=vals, mode="sum") + self.b_dec

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        vals, idx = self.topk(x)
        return self.decode_sparse(vals, idx)

    @torch.no_grad()
    def normalize_decoder(self) -> None:
        self.W_dec.div_(self.W_dec.norm(dim=1, keepdim=True).clamp(min=1e-12))

    @torch.no_grad()
    def remove_parallel_grad(self) -> None:
        """Project out each decoder row's gradient component along the row (keeps unit norm to first order)."""
        if self.W_dec.grad is not None:
            w = self.W_dec
            self.W_dec.grad -= (self.W_dec.grad * w).sum(1, keepdim=True) * w

    def save(self, path: str | Path, metadata: dict | None = None, dtype=torch.float16) -> Path:
        from safetensors.torch import save_file

        from ..hub.files import atomic_path

        path = Path(path)
        tensors = {k: v.detach().to(dtype).contiguous() for k, v in self.state_dict().items()}
        meta = {"k": str(self.k), **{k: str(v) for k, v in (metadata or {}).items()}}
        with atomic_path(path) as tmp:
            save_file(tensors, str(tmp), metadata=meta)
        return path

    @classmethod
    def load(cls, path: str | Path) -> TopKSAE:
        from safetensors import safe_open

        with safe_open(str(path), framework="pt") as f:
            k = int((f.metadata() or {})["k"])
            tensors = {name: f.get_tensor(name).float() for name in f.keys()}  # noqa: SIM118 (safe_open is not iterable)
        n, d = tensors["W_dec"].shape
        sae = cls(d, n, k)
        sae.load_state_dict(tensors)
        return sae


@torch.no_grad()
def fvu(sae: TopKSAE, X: torch.Tensor, batch_size: int = 4096) -> float:
    """Fraction of variance unexplained on ``X`` ``(N, d)``."""
    mean = X.float().mean(0)
    err = tot = 0.0
    for s in range(0, len(X), batch_size):
        x = X[s : s + batch_size].float()
        err += float(((sae(x) - x) ** 2).sum())
        tot += float(((x - mean) ** 2).sum())
    return err / max(tot, 1e-12)


def train_sae(
    X: torch.Tensor,
    n_latents: int,
    k: int = 32,
    batch_size: int = 4096,
    lr: float = 2e-4,
    epochs: float = 1.0,
    seed: int = 0,
    max_seconds: float | None = None,
    log=print,
    select_dtype=torch.float32,
) -> tuple[TopKSAE, dict]:
    """Train a :class:`TopKSAE` on ``X`` ``(N, d)`` (float16 or float32 tokens × units), shuffled each epoch.
    Stops after ``epochs`` passes or ``max_seconds``. Returns the SAE and a report (tokens seen, steps, final
    batch FVU, dead-latent fraction over the last epoch's tokens, seconds)."""
    import time

    if X.ndim != 2 or len(X) < batch_size:
        raise SAEError(f"need (N >= batch_size, d) activations, got {tuple(X.shape)}")
    d = X.shape[1]
    sae = TopKSAE(d, n_latents, k, seed=seed)
    sae.select_dtype = select_dtype
    with torch.no_grad():
        sample = X[torch.randperm(len(X), generator=torch.Generator().manual_seed(seed))[:65536]].float()
        if not torch.isfinite(sample).all():
            raise SAEError("activations contain NaN or inf")
        sae.b_dec.copy_(sample.mean(0))
        var = float(((sample - sample.mean(0)) ** 2).sum(1).mean())
    opt = torch.optim.Adam(sae.parameters(), lr=lr, betas=(0.9, 0.999), eps=6.25e-10)
    g = torch.Generator().manual_seed(seed + 1)
    total_steps = int(epochs * len(X) / batch_size)
    fired = torch.zeros(n_latents, dtype=torch.bool)
    seen = step = 0
    t0 = time.time()
    last_fvu = float("nan")
    while step < total_steps:
        perm = torch.randperm(len(X), generator=g)
        fired.zero_()
        for s in range(0, len(X) - batch_size + 1, batch_size):
            x = X[perm[s : s + batch_size]].float()
            vals, idx = sae.topk(x)
            recon = sae.decode_sparse(vals, idx)
            loss = ((recon - x) ** 2).sum(1).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            sae.remove_parallel_grad()
            opt.step()
            sae.normalize_decoder()
            fired[idx.flatten().unique()] = True
            seen += batch_size
            step += 1
            last_fvu = float(loss.detach()) / var
            if step % 10 == 0 or step == total_steps:
                log(f"step {step}/{total_steps} tokens {seen:,} fvu {last_fvu:.4f} t {time.time() - t0:.0f}s")
            if step >= total_steps or (max_seconds is not None and time.time() - t0 > max_seconds):
                break
        if max_seconds is not None and time.time() - t0 > max_seconds:
            break
    report = {
        "tokens_seen": seen,
        "steps": step,
        "batch_size": batch_size,
        "lr": lr,
        "k": k,
        "n_latents": n_latents,
        "d": d,
        "last_batch_fvu": last_fvu,
        "dead_fraction_last_epoch": float(1.0 - fired.float().mean()),
        "seconds": time.time() - t0,
        "select_dtype": str(select_dtype).replace("torch.", ""),
    }
    sae.select_dtype = torch.float32
    return sae, report


def best_reading_feature(
    sae: TopKSAE, X_train: np.ndarray, y_train: np.ndarray, batch_size: int = 2048
) -> tuple[int, int, float, float, np.ndarray]:
    """The latent whose activation alone best classifies ``y_train`` (exact best threshold per latent, both
    polarities): ``(feature, polarity, threshold, train accuracy, codes of X_train (N, n_latents))``."""
    from .probe import fit_threshold

    X = torch.from_numpy(np.asarray(X_train, dtype=np.float32))
    with torch.no_grad():
        Z = torch.cat([sae.encode(X[s : s + batch_size]) for s in range(0, len(X), batch_size)]).numpy()
    y = np.asarray(y_train).astype(np.int64)
    # rank by |difference of class means| / pooled std first (cheap), then exact thresholds for the top 64
    mu1, mu0 = Z[y == 1].mean(0), Z[y == 0].mean(0)
    score = np.abs(mu1 - mu0) / (Z.std(0) + 1e-6)
    best = (-1.0, 0, 0, 0.0)
    for f in np.argsort(-score)[:64]:
        thr, pol, acc = fit_threshold(Z[:, f], y)
        if acc > best[0]:
            best = (acc, int(f), pol, thr)
    acc, f, pol, thr = best
    return f, pol, thr, acc, Z
