"""Batched nearest-word search for analogy queries ``a : b :: c : ?`` over unit-normalised word vectors.

All three scoring methods rank every candidate word ``d`` among the first ``restrict`` rows of the unit matrix ``U``
(the most frequent words when the vocabulary is in frequency order), with the three input words excluded:

=================  ==========================================================================================
``3cosadd``        ``cos(d, b - a + c)`` (Mikolov et al. 2013): ``U @ q / |q|`` with ``q = u_b - u_a + u_c``
``3cosmul``        ``f(cos(d, b)) * f(cos(d, c)) / (f(cos(d, a)) + eps)``, ``f(x) = (1 + x) / 2``, ``eps = 0.001``
                   (Levy & Goldberg 2014, equation 4 with the cosines shifted to ``[0, 1]`` as in their footnote)
``pairdirection``  ``cos(d - c, b - a)`` (Levy & Goldberg 2014): the offset ``c -> d`` parallel to ``a -> b``
=================  ==========================================================================================

:func:`exhaustive_search` scores queries in chunks with one matrix product per chunk (a ``chunk x restrict`` block of
at most ``2**24`` floats), masks the inputs with ``-inf`` and takes ``topk``. It also returns the rank of a gold
answer (``1 + #{candidates scoring strictly higher}``), the quantity behind top-n accuracy curves.

:func:`pruned_search_3cosadd` gives the same answers for 3CosAdd without scoring every (query, word) pair, which is
what makes the whole Google set over a 400k vocabulary fast. See its docstring for the bound that makes it exact.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import torch

from ..hub.hardware import torch_threads

METHODS = ("3cosadd", "3cosmul", "pairdirection")
COSMUL_EPSILON = 1e-3
#: Floats per scored block in :func:`exhaustive_search` (64 MiB of float32).
BLOCK_ELEMENTS = 1 << 24


@dataclass
class SearchResult:
    """Top-``n`` answers of a batch of queries.

    ``indices`` ``(Q, n)`` int64 row numbers (``-1`` where fewer than ``n`` candidates exist), ``scores`` ``(Q, n)``
    float32 (``-inf`` there), ``gold_rank`` ``(Q,)`` int64 or ``None``: the 1-based rank of the best-ranked gold
    answer among the candidates, ``0`` when no gold answer is a candidate (outside the restricted vocabulary, or one
    of the inputs) or, with ``max_rank``, when the rank is larger than ``max_rank``. ``info``: how the search ran.
    """

    indices: torch.Tensor
    scores: torch.Tensor
    gold_rank: torch.Tensor | None = None
    info: dict = field(default_factory=dict)


def parallel(fn, items: list, workers: int | None = None) -> list:
    """``[fn(items[w::workers]) for w in range(workers)]`` in ``workers`` Python threads (default: torch's thread
    count), each running torch with one thread. torch releases the GIL in its kernels, so this uses every core; unlike
    torch's own OpenMP threads, it does not stall when another process keeps a core busy."""
    workers = max(1, torch.get_num_threads() if workers is None else workers)
    parts = [p for p in ([items[w::workers] for w in range(workers)] if workers > 1 else [items]) if p]
    if len(parts) <= 1:  # one piece of work: torch's own threading, global settings untouched
        return [fn(p) for p in parts]
    with torch_threads(1), ThreadPoolExecutor(len(parts)) as pool:
        return list(pool.map(fn, parts))


def normalise_method(method: str) -> str:
    key = str(method).lower().replace("-", "").replace("_", "").replace(" ", "")
    if key not in METHODS:
        raise ValueError(f"unknown analogy method {method!r}; use one of {', '.join(METHODS)}")
    return key


def unit_rows(vectors: torch.Tensor) -> torch.Tensor:
    """Rows scaled to unit length (float32); all-zero rows stay zero."""
    vectors = vectors.detach().float()
    norms = vectors.norm(dim=1, keepdim=True)
    return vectors / torch.where(norms > 0, norms, torch.ones_like(norms))


def _as_index(x, name: str) -> torch.Tensor:
    t = torch.as_tensor(x, dtype=torch.long)
    if t.dim() != 1:
        raise ValueError(f"{name} must be a 1-D sequence of row indices, got shape {tuple(t.shape)}")
    return t


def _gold_matrix(gold, n: int) -> torch.Tensor | None:
    if gold is None:
        return None
    g = torch.as_tensor(gold, dtype=torch.long)
    if g.dim() == 1:
        g = g[:, None]
    if g.dim() != 2 or g.shape[0] != n:
        raise ValueError(f"gold must have shape (Q,) or (Q, G) with Q={n}, got {tuple(g.shape)}")
    return g


class Buffers:
    """Reusable scratch tensors. Allocating a fresh multi-megabyte result for every block costs as much as the matrix
    product itself here (new pages from the OS), so the hot loops write into these with ``out=``."""

    def __init__(self):
        self._store: dict[str, torch.Tensor] = {}

    def get(self, name: str, shape: tuple[int, ...], dtype: torch.dtype = torch.float32) -> torch.Tensor:
        size = math.prod(shape)
        buf = self._store.get(name)
        if buf is None or buf.numel() < size or buf.dtype != dtype:
            buf = torch.empty(size, dtype=dtype)
            self._store[name] = buf
        return buf[:size].view(shape)


def _scores_block(unit, ur_t, a, b, c, method: str, buffers: Buffers) -> torch.Tensor:
    """``(len(a), restrict)`` scores of every candidate (inputs not yet masked); ``ur_t`` is ``unit[:restrict].T``
    contiguous. The result lives in ``buffers`` (overwritten by the next call)."""
    n, restrict = a.shape[0], ur_t.shape[1]
    ua, ub, uc = unit[a], unit[b], unit[c]
    out = buffers.get("scores", (n, restrict))
    if method == "3cosadd":
        q = ub - ua + uc
        norm = q.norm(dim=1, keepdim=True)
        q = q / torch.where(norm > 0, norm, torch.ones_like(norm))
        return torch.mm(q, ur_t, out=out)
    tmp = buffers.get("tmp", (n, restrict))
    if method == "3cosmul":
        torch.mm(ub, ur_t, out=out).add_(1).mul_(0.5)
        out.mul_(torch.mm(uc, ur_t, out=tmp).add_(1).mul_(0.5))
        return out.div_(torch.mm(ua, ur_t, out=tmp).add_(1).mul_(0.5).add_(COSMUL_EPSILON))
    # pairdirection: cos(d - c, o) with o = (b - a)/|b - a|; |d - c|^2 = |d|^2 + |c|^2 - 2 d.c
    o = ub - ua
    norm = o.norm(dim=1, keepdim=True)
    o = o / torch.where(norm > 0, norm, torch.ones_like(norm))
    torch.mm(o, ur_t, out=out).sub_((uc * o).sum(1, keepdim=True))
    d2 = (
        torch.mm(uc, ur_t, out=tmp)
        .mul_(-2)
        .add_(ur_t.pow(2).sum(0)[None, :])
        .add_(uc.pow(2).sum(1, keepdim=True))
    )
    return out.div_(d2.clamp_min_(1e-12).sqrt_())


def _mask_inputs(scores: torch.Tensor, restrict: int, *inputs: torch.Tensor) -> None:
    rows = torch.arange(scores.shape[0])
    for idx in inputs:
        inside = idx < restrict
        scores[rows[inside], idx[inside]] = -math.inf


def _gold_scores(scores, gold, restrict, a, b, c):
    """Best score among each query's gold rows (``-inf`` when none is a candidate)."""
    valid = (gold >= 0) & (gold < restrict)
    for idx in (a, b, c):
        valid &= gold != idx[:, None]
    gs = scores.gather(1, gold.clamp(0, restrict - 1))
    return torch.where(valid, gs, torch.full_like(gs, -math.inf)).max(1).values


def _gold_rank(scores, best, top_values, max_rank):
    """1 + #candidates scoring above the gold; from the top-``max_rank`` values alone when that is enough."""
    if max_rank is not None:
        # rank <= max_rank  <=>  the gold scores at least the max_rank-th best value
        inside = best >= top_values[:, max_rank - 1]
        rank = (top_values[:, :max_rank] > best[:, None]).sum(1) + 1
        rank = torch.where(inside, rank, torch.zeros_like(rank))
    else:
        rank = (scores > best[:, None]).sum(1) + 1
    return torch.where(torch.isfinite(best), rank, torch.zeros_like(rank))


def blocked_topk(scores: torch.Tensor, k: int, block: int = 128) -> tuple[torch.Tensor, torch.Tensor]:
    """``scores.topk(k, dim=1)`` computed as: maxima of column blocks, the ``k`` best blocks, top-k inside them.

    The k largest values lie in the k blocks with the largest maxima (a value outside them is at most the k-th block
    maximum, and those k maxima are already k values at least as large), so this is exact up to the order of ties.
    A row maximum is a fast vectorised reduction; ``torch.topk`` over long rows is several times slower.
    """
    n, m = scores.shape
    if m <= 4 * block * k:
        return scores.topk(k, dim=1)
    full = m // block * block
    maxima = scores[:, :full].reshape(n, -1, block).amax(2)
    if full < m:
        maxima = torch.cat([maxima, scores[:, full:].amax(1, keepdim=True)], 1)
    blocks = maxima.topk(k, dim=1).indices  # (n, k)
    columns = (blocks[:, :, None] * block + torch.arange(block)).reshape(n, -1)
    outside = columns >= m
    candidates = scores.gather(1, columns.clamp(max=m - 1)).masked_fill_(outside, -math.inf)
    values, where = candidates.topk(k, dim=1)
    return values, columns.gather(1, where)


@torch.no_grad()
def exhaustive_search(
    unit: torch.Tensor,
    a,
    b,
    c,
    *,
    method: str = "3cosadd",
    topn: int = 1,
    restrict: int | None = None,
    gold=None,
    max_rank: int | None = None,
    block_elements: int = BLOCK_ELEMENTS,
) -> SearchResult:
    """Score every candidate of every query (chunked matrix products); exact for all three methods."""
    method = normalise_method(method)
    a, b, c = _as_index(a, "a"), _as_index(b, "b"), _as_index(c, "c")
    n = a.shape[0]
    restrict = unit.shape[0] if restrict is None else min(int(restrict), unit.shape[0])
    topn = max(1, min(int(topn), restrict))  # no more answers than candidates: bounds the output allocation
    gold = _gold_matrix(gold, n)
    if max_rank is not None and (not isinstance(max_rank, int) or max_rank < 1):
        raise ValueError(f"max_rank must be a positive integer or None, got {max_rank!r}")
    # with max_rank, ranks come from the top max_rank values (padded with -inf beyond the candidates)
    k = min(max(topn, max_rank or 0), restrict)
    width = max(topn, max_rank or 0)
    indices = torch.full((n, topn), -1, dtype=torch.long)
    scores = torch.full((n, topn), -math.inf)
    ranks = torch.zeros(n, dtype=torch.long) if gold is not None else None
    per_block = 1 if method == "3cosadd" else 2
    chunk = max(1, block_elements // (per_block * max(restrict, 1)))
    ur_t = unit[:restrict].T.contiguous()

    def work(starts: list[int]) -> None:  # each chunk writes its own rows of the outputs
        buffers = Buffers()
        for start in starts:
            sl = slice(start, start + chunk)
            s = _scores_block(unit, ur_t, a[sl], b[sl], c[sl], method, buffers)
            _mask_inputs(s, restrict, a[sl], b[sl], c[sl])
            values = torch.full((s.shape[0], width), -math.inf)
            idx = torch.full((s.shape[0], width), -1, dtype=torch.long)
            if k > 0:
                values[:, :k], idx[:, :k] = blocked_topk(s, k)
                idx = torch.where(torch.isfinite(values), idx, torch.full_like(idx, -1))
            indices[sl] = idx[:, :topn]
            scores[sl] = values[:, :topn]
            if ranks is not None:
                best = _gold_scores(s, gold[sl], restrict, a[sl], b[sl], c[sl])
                ranks[sl] = _gold_rank(s, best, values, max_rank)

    parallel(work, list(range(0, n, chunk)))
    return SearchResult(indices, scores, ranks, {"strategy": "exhaustive"})
