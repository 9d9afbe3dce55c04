"""Exact 3CosAdd search that skips most of a large vocabulary: cluster bounds from the analogy's structure.

Scoring all of a 400k vocabulary for each of the Google set's 19,544 questions is 7.8e9 dot products of length D.
Benchmark questions share their parts, though: the Google set has 550 distinct example pairs ``(a, b)`` and 474
distinct third words ``c``. With unit vectors and ``q = o + u_c``, ``o = u_b - u_a``, the 3CosAdd score of a word
``d`` (before dividing by ``|q|``, a per-query constant) splits into two terms::

    q . u_d = o . u_d + u_c . u_d

Partition the candidate words into clusters ``J`` (two-level spherical k-means, 32 x 128 = 4096 clusters of ~100
words for GloVe's 400k, so a cluster's words point the same way).
Then for every cluster::

    max_{d in J} q . u_d  <=  max_{d in J} o . u_d  +  max_{d in J} u_c . u_d   =:  B(q, J)

and the two maxima are computed once per distinct pair and per distinct ``c`` (one matrix product of those
``P + W`` rows with the vocabulary, then a per-cluster maximum), not once per question. A cluster whose bound is below
the ``N``-th best score already found for a question cannot contain any of that question's top ``N`` words, so it is
never scored. The search:

1. bounds ``B`` for every (question, cluster);
2. scores each question's 4 most promising clusters exactly -> a lower bound ``L`` on its ``N``-th best score;
3. scores every other cluster with ``B >= L`` (minus a 1e-4 float-rounding margin) exactly, keeping only the words
   that reach ``L``;
4. merges: the top ``N`` of the scored words are the exact top ``N`` (inputs excluded), in the same order as an
   exhaustive scan (up to float rounding of ties).

On GloVe 6B-50d and the Google set, 3.9 % of the (question, word) pairs are scored for ``N = 5`` (the evaluator's
default ``max_rank``). Phase 1 with 4 clusters per question costs least in all (measured: 16 clusters score 2.9 %
of the pairs but spend more in phase 1 than phase 2 saves; 2 clusters score 5.3 %). The cluster index is cached on the model (keyed by the weights and ``restrict``) and built deterministically (seeded).
The loops run in ``torch.get_num_threads()`` Python threads with one torch thread each, the serial steps on one
thread
(:func:`~hfmech.analogy.search.parallel`).

When the queries share few parts (``P + W > Q / 2``) or a rank beyond ``N`` is needed, the exhaustive search is used
instead: the bounds would cost as much as scoring everything.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from .search import (
    Buffers,
    SearchResult,
    _as_index,
    _gold_matrix,
    blocked_topk,
    exhaustive_search,
    parallel,
    torch_threads,
)

#: Two-level spherical k-means: ``COARSE_CLUSTERS`` clusters, each split into ``FINE_CLUSTERS`` (4096 in all).
COARSE_CLUSTERS = 32
FINE_CLUSTERS = 128
KMEANS_ITERATIONS = 3
KMEANS_SAMPLE = 1 << 16
FINE_SAMPLE = 1 << 12
PHASE1_CLUSTERS = 4
BOUND_MARGIN = 1e-4
SCORE_MARGIN = 1e-6
ROW_CHUNK = 128
MAXIMA_COLUMNS = 8192
QUERY_CHUNK = 1024
CLUSTER_CHUNK = 256


@dataclass
class ClusterIndex:
    """Rows ``0..restrict-1`` of the unit matrix grouped by cluster: ``sorted_unit = unit[perm]``, cluster ``j`` is
    ``sorted_unit[starts[j]:starts[j] + sizes[j]]``; ``position[row]`` is a row's place in that order."""

    perm: torch.Tensor
    position: torch.Tensor
    starts: np.ndarray
    sizes: np.ndarray
    sorted_unit: torch.Tensor
    sorted_unit_t: torch.Tensor
    """``sorted_unit.T``, contiguous (for matrix products into preallocated outputs)"""

    @property
    def n_clusters(self) -> int:
        return len(self.sizes)


def _assign(unit: torch.Tensor, centroids: torch.Tensor, chunk: int = 32768) -> torch.Tensor:
    """Index of the nearest centroid (largest dot product; first on ties) of every row."""
    # numpy's SIMD argmax along rows is 3-4x faster than torch's for these narrow (chunk, k) blocks
    return torch.cat(
        [
            torch.from_numpy((unit[i : i + chunk] @ centroids.T).numpy().argmax(1))
            for i in range(0, unit.shape[0], chunk)
        ]
    )


def _kmeans(points: torch.Tensor, k: int, sample_size: int, generator: torch.Generator) -> torch.Tensor:
    """Spherical k-means centroids (``KMEANS_ITERATIONS`` rounds on a random sample of ``points``)."""
    sample = points[torch.randperm(points.shape[0], generator=generator)[:sample_size]]
    k = min(k, sample.shape[0])
    centroids = sample[torch.randperm(sample.shape[0], generator=generator)[:k]].clone()
    for _ in range(KMEANS_ITERATIONS):
        labels = _assign(sample, centroids).numpy()
        # numpy bincount: torch's index_add_ is 100x slower here when another process keeps a core busy
        columns = [np.bincount(labels, weights=column, minlength=k) for column in sample.numpy().T]
        sums = torch.from_numpy(np.stack(columns, 1).astype(np.float32))
        norms = sums.norm(dim=1, keepdim=True)
        centroids = torch.where(norms > 0, sums / norms.clamp_min(1e-12), centroids)
    return centroids


def build_cluster_index(unit: torch.Tensor, seed: int = 0, workers: int | None = None) -> ClusterIndex:
    """Two-level spherical k-means of the rows of ``unit`` (deterministic for a given ``seed``; the 32 second-level
    k-means run in parallel, each with its own seeded generator)."""
    workers = max(1, torch.get_num_threads() if workers is None else workers)
    with torch_threads(1):  # serial steps single-threaded, the loops in ``workers`` Python threads
        n = unit.shape[0]
        coarse_centroids = _kmeans(unit, COARSE_CLUSTERS, KMEANS_SAMPLE, torch.Generator().manual_seed(seed))
        coarse = torch.empty(n, dtype=torch.long)
        chunk = 32768

        def assign_coarse(starts: list[int]) -> None:
            for start in starts:
                coarse[start : start + chunk] = _assign(unit[start : start + chunk], coarse_centroids)

        parallel(assign_coarse, list(range(0, n, chunk)), workers)
        labels = torch.empty(n, dtype=torch.long)

        def split(groups: list[int]) -> None:  # each group writes only its own members' labels
            for group in groups:
                members = (coarse == group).nonzero().squeeze(1)
                if members.numel() == 0:
                    continue
                points = unit[members]
                generator = torch.Generator().manual_seed(seed * 7919 + group + 1)
                centroids = _kmeans(points, FINE_CLUSTERS, FINE_SAMPLE, generator)
                labels[members] = group * FINE_CLUSTERS + _assign(points, centroids)

        parallel(split, list(range(COARSE_CLUSTERS)), workers)
        perm = torch.argsort(labels, stable=True)
        sizes = torch.bincount(labels, minlength=COARSE_CLUSTERS * FINE_CLUSTERS).numpy()
        sizes = sizes[sizes > 0]
        starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
        position = torch.empty(n, dtype=torch.long)
        position[perm] = torch.arange(n)
        sorted_unit = unit[perm].contiguous()
        return ClusterIndex(
            perm, position, starts, sizes.astype(np.int64), sorted_unit, sorted_unit.T.contiguous()
        )


def cluster_index_for(model, restrict: int) -> ClusterIndex:
    """The model's cached :class:`ClusterIndex` of its first ``restrict`` rows (rebuilt when the weights change)."""
    unit = model.unit_vectors()
    key = (id(unit), restrict)
    cache = getattr(model, "_cluster_cache", None)
    if cache is None or cache[0] != key or cache[1] is not unit:
        index = build_cluster_index(unit[:restrict])
        model._cluster_cache = cache = (key, unit, index)
    return cache[2]


def _cluster_maxima(rows: torch.Tensor, index: ClusterIndex, workers: int) -> torch.Tensor:
    """``(len(rows), n_clusters)``: the largest ``row . u`` over each cluster's words.

    Computed in ``(ROW_CHUNK, ~MAXIMA_COLUMNS)`` tiles that end on cluster boundaries, so each block of scores is
    reduced while it is still in cache (one ``(ROW_CHUNK, restrict)`` block per step is 15-20 % slower here)."""
    out = np.empty((rows.shape[0], index.n_clusters), dtype=np.float32)
    starts = index.starts
    ends = np.append(starts[1:], index.sorted_unit_t.shape[1])
    groups, j = [], 0
    while j < len(starts):  # clusters j..k-1: about MAXIMA_COLUMNS words
        k = max(int(np.searchsorted(ends, starts[j] + MAXIMA_COLUMNS, side="right")), j + 1)
        groups.append((j, k, int(starts[j]), int(ends[k - 1])))
        j = k

    def work(row_starts: list[int]) -> None:
        buffers = Buffers()
        for i in row_starts:
            chunk = rows[i : i + ROW_CHUNK]
            for j, k, c0, c1 in groups:
                scores = torch.mm(
                    chunk, index.sorted_unit_t[:, c0:c1], out=buffers.get("tile", (chunk.shape[0], c1 - c0))
                )
                np.maximum.reduceat(scores.numpy(), starts[j:k] - c0, axis=1, out=out[i : i + ROW_CHUNK, j:k])

    parallel(work, list(range(0, rows.shape[0], ROW_CHUNK)), workers)
    return torch.from_numpy(out)


def _groups(clusters: torch.Tensor, n_clusters: int) -> list[tuple[int, slice]]:
    """``(cluster, slice)`` runs of an array of cluster ids sorted ascending."""
    counts = torch.bincount(clusters, minlength=n_clusters)
    ends = torch.cumsum(counts, 0)
    return [
        (j, slice(int(ends[j]) - int(counts[j]), int(ends[j]))) for j in counts.nonzero().squeeze(1).tolist()
    ]


def _cluster_scores(j: int, queries: torch.Tensor, qhat, inputs_pos, index: ClusterIndex):
    """Exact scores ``(len(queries), size_j)`` of cluster ``j``'s words, the queries' inputs set to ``-inf``."""
    start, size = int(index.starts[j]), int(index.sizes[j])
    scores = qhat[queries] @ index.sorted_unit[start : start + size].T
    local = inputs_pos[queries] - start  # (n_j, 3)
    inside = (local >= 0) & (local < size)
    if inside.any():
        r, k = inside.nonzero(as_tuple=True)
        scores[r, local[r, k]] = -math.inf
    return start, scores


def _phase1(first: torch.Tensor, qhat, inputs_pos, index: ClusterIndex, n: int, workers: int):
    """Score each query's clusters ``first`` ``(Q, T)``; its best ``n`` words: ``(Q, n)`` positions and scores."""
    n_queries, t = first.shape
    flat_j = first.reshape(-1)
    order = torch.argsort(flat_j, stable=True)
    flat_j = flat_j[order]
    flat_q = torch.arange(n_queries).repeat_interleave(t)[order]
    flat_slot = torch.arange(t).repeat(n_queries)[order]
    values = torch.full((n_queries, t * n), -math.inf)
    positions = torch.full((n_queries, t * n), -1, dtype=torch.long)

    def work(groups) -> None:  # each (query, slot) cell is written by exactly one group
        for j, sl in groups:
            queries, slots = flat_q[sl], flat_slot[sl]
            start, scores = _cluster_scores(j, queries, qhat, inputs_pos, index)
            k = min(n, scores.shape[1])
            best, where = scores.topk(k, dim=1)
            columns = slots[:, None] * n + torch.arange(k)
            values[queries[:, None], columns] = best
            positions[queries[:, None], columns] = where + start

    parallel(work, _groups(flat_j, index.n_clusters), workers)
    top, where = values.topk(n, dim=1)
    return positions.gather(1, where), top


def _phase2(needed, threshold, qhat, inputs_pos, index: ClusterIndex, workers: int):
    """Score every (cluster, query) that ``needed(c0, buffers)`` selects; keep the words scoring ``>= threshold``."""

    def work(chunk_starts: list[int]):
        buffers = Buffers()
        out_q, out_pos, out_score = [], [], []
        scored = 0
        for c0 in chunk_starts:
            mask = needed(c0, buffers)
            jj, qq = mask.nonzero(as_tuple=True)  # sorted by cluster
            for j, sl in _groups(jj, mask.shape[0]):
                queries = qq[sl]
                start, scores = _cluster_scores(c0 + j, queries, qhat, inputs_pos, index)
                scored += scores.numel()
                limit = threshold[queries]
                # most (query, cluster) rows have no word above the threshold: find the few that do first
                rows = (scores.amax(1) >= limit).nonzero().squeeze(1)
                if rows.numel():
                    r, k = (scores[rows] >= limit[rows][:, None]).nonzero(as_tuple=True)
                    r = rows[r]
                    out_q.append(queries[r])
                    out_pos.append(k + start)
                    out_score.append(scores[r, k])
        return out_q, out_pos, out_score, scored

    results = parallel(work, list(range(0, index.n_clusters, CLUSTER_CHUNK)), workers)
    out_q = [x for r in results for x in r[0]]
    out_pos = [x for r in results for x in r[1]]
    out_score = [x for r in results for x in r[2]]
    scored = sum(r[3] for r in results)
    if not out_q:
        empty = torch.empty(0, dtype=torch.long)
        return empty, empty, torch.empty(0), scored
    return torch.cat(out_q), torch.cat(out_pos), torch.cat(out_score), scored


def _top_n_per_query(q, pos, score, n_queries: int, n: int):
    """Group flat candidates by query and keep each query's ``n`` best: ``(n_queries, n)`` positions and scores."""
    keep = torch.isfinite(score)
    q, pos, score = q[keep], pos[keep], score[keep]
    order = torch.argsort(score, descending=True, stable=True)
    order = order[torch.argsort(q[order], stable=True)]
    q, pos, score = q[order], pos[order], score[order]
    counts = torch.bincount(q, minlength=n_queries)
    first = torch.cumsum(counts, 0) - counts
    rank_in_query = torch.arange(q.numel()) - first[q]
    sel = rank_in_query < n
    top_pos = torch.full((n_queries, n), -1, dtype=torch.long)
    top_score = torch.full((n_queries, n), -math.inf)
    top_pos[q[sel], rank_in_query[sel]] = pos[sel]
    top_score[q[sel], rank_in_query[sel]] = score[sel]
    return top_pos, top_score


@torch.no_grad()
def pruned_search_3cosadd(
    model, a, b, c, *, topn: int = 1, restrict: int | None = None, gold=None, max_rank: int | None = None
) -> SearchResult:
    """3CosAdd answers identical to :func:`~hfmech.analogy.search.exhaustive_search` (see the module docstring)."""
    unit = model.unit_vectors()
    restrict = unit.shape[0] if restrict is None else min(int(restrict), unit.shape[0])
    a, b, c = _as_index(a, "a"), _as_index(b, "b"), _as_index(c, "c")
    n_queries = a.shape[0]
    gold = _gold_matrix(gold, n_queries)
    if gold is not None and max_rank is None:
        # every rank is wanted: nothing can be skipped
        return exhaustive_search(unit, a, b, c, topn=topn, restrict=restrict, gold=gold)
    n = max(topn, max_rank or 0)
    pairs, pair_of = torch.unique(a * unit.shape[0] + b, return_inverse=True)
    thirds, third_of = torch.unique(c, return_inverse=True)
    if n_queries == 0 or pairs.numel() + thirds.numel() > n_queries / 2 or restrict <= n + 3:
        return exhaustive_search(unit, a, b, c, topn=topn, restrict=restrict, gold=gold, max_rank=max_rank)

    index = cluster_index_for(model, restrict)
    workers = max(1, torch.get_num_threads())
    # the serial steps run single-threaded: with two cores, torch's OpenMP teams spin (and stall) on small ops
    # whenever another process holds a core; the heavy loops use ``workers`` Python threads (``parallel``)
    with torch_threads(1):
        pa, pb = pairs // unit.shape[0], pairs % unit.shape[0]
        maxima = _cluster_maxima(torch.cat([unit[pb] - unit[pa], unit[thirds]]), index, workers)

        q = unit[b] - unit[a] + unit[c]
        qnorm = q.norm(dim=1)
        qhat = q / torch.where(qnorm > 0, qnorm, torch.ones_like(qnorm))[:, None]
        big = restrict + 1  # a position no candidate has, for inputs outside the restriction
        inputs_pos = torch.stack(
            [
                torch.where(x < restrict, index.position[x.clamp(max=restrict - 1)], torch.full_like(x, big))
                for x in (a, b, c)
            ],
            dim=1,
        )

        # phase 1: each query's most promising clusters -> lower bound on its n-th best score
        t = min(PHASE1_CLUSTERS, index.n_clusters)
        n_pairs = pairs.numel()
        first = torch.empty(n_queries, t, dtype=torch.long)
        third_rows = third_of + n_pairs

        def best_clusters(chunk_starts: list[int]) -> None:  # each chunk writes its own rows of ``first``
            buffers = Buffers()
            for i in chunk_starts:
                sl = slice(i, i + QUERY_CHUNK)
                m = pair_of[sl].numel()
                shape = (m, index.n_clusters)
                bounds = torch.index_select(maxima, 0, pair_of[sl], out=buffers.get("bounds", shape))
                bounds.add_(torch.index_select(maxima, 0, third_rows[sl], out=buffers.get("bounds2", shape)))
                first[sl] = blocked_topk(bounds, t, block=32)[1]

        parallel(best_clusters, list(range(0, n_queries, QUERY_CHUNK)), workers)
        partial_pos, partial = _phase1(first, qhat, inputs_pos, index, n, workers)
        lower = partial[:, n - 1]  # the n-th best so far (-inf when fewer than n candidates were found)

        # phase 2: every other cluster whose bound reaches that score, laid out (cluster, query)
        maxima_t = maxima.T.contiguous()
        # the (cluster, query) pairs phase 1 scored, sorted by cluster, to clear from each chunk's mask
        done_j = first.reshape(-1)
        order = torch.argsort(done_j, stable=True)
        done_j, done_q = done_j[order], torch.arange(n_queries).repeat_interleave(t)[order]
        chunk_bounds = torch.searchsorted(
            done_j, torch.arange(0, index.n_clusters + CLUSTER_CHUNK, CLUSTER_CHUNK)
        )

        # bounds are in units of |q|; -inf (score everything) where phase 1 found fewer than n words
        cut = torch.where(
            torch.isfinite(lower), lower * qnorm - BOUND_MARGIN, torch.full_like(lower, -math.inf)
        )

        def needed(c0: int, buffers: Buffers) -> torch.Tensor:
            block = maxima_t[c0 : c0 + CLUSTER_CHUNK]
            shape = (block.shape[0], n_queries)
            bounds = torch.index_select(block, 1, pair_of, out=buffers.get("bounds", shape))
            bounds.add_(torch.index_select(block, 1, third_rows, out=buffers.get("bounds2", shape)))
            mask = torch.ge(bounds, cut[None, :], out=buffers.get("mask", shape, torch.bool))
            lo, hi = chunk_bounds[c0 // CLUSTER_CHUNK], chunk_bounds[c0 // CLUSTER_CHUNK + 1]
            mask[done_j[lo:hi] - c0, done_q[lo:hi]] = False
            return mask

        more_q, more_pos, more_score, scored = _phase2(
            needed, lower - SCORE_MARGIN, qhat, inputs_pos, index, workers
        )
        scored += int(torch.from_numpy(index.sizes)[first].sum())

        kept = partial_pos >= 0
        top_pos, top_score = _top_n_per_query(
            torch.cat([torch.arange(n_queries)[:, None].expand(-1, n)[kept], more_q]),
            torch.cat([partial_pos[kept], more_pos]),
            torch.cat([partial[kept], more_score]),
            n_queries,
            n,
        )
        rows_found = torch.where(top_pos >= 0, index.perm[top_pos.clamp(min=0)], torch.full_like(top_pos, -1))
        result = SearchResult(rows_found[:, :topn].contiguous(), top_score[:, :topn].contiguous(), None)
        if gold is not None:
            valid = (gold >= 0) & (gold < restrict)
            for x in (a, b, c):
                valid &= gold != x[:, None]
            gold = torch.where(valid, gold, torch.full_like(gold, -2))
            hit = (rows_found[:, :, None] == gold[:, None, :]).any(2)  # (Q, n)
            has = hit.any(1)
            rank = torch.where(has, hit.float().argmax(1) + 1, torch.zeros(n_queries, dtype=torch.long))
            result.gold_rank = torch.where(rank > max_rank, torch.zeros_like(rank), rank)
        result.info = {
            "strategy": "pruned",
            "clusters": index.n_clusters,
            "scored_fraction": scored / (n_queries * restrict),
        }
        return result
