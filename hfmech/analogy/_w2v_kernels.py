"""word2vec.c's inner loop (Mikolov et al. 2013a/b) compiled with numba: one SGD step per center word.

This is the CPU fast path of :mod:`hfmech.analogy.train` (``backend="numba"``): the same computation as
word2vec.c's ``TrainModelThread`` for negative sampling, on the epoch stream that the trainer builds (subsampled
token ids padded with ``window`` sentinels on both sides, plus the sentence id of every position). The kernels run
with the GIL released (``nogil=True``), so the trainer's hogwild worker threads update the shared tables
concurrently and without locks, as word2vec.c's pthreads do.

Per center word ``w`` at stream position ``j`` (``D`` = vector size, ``k`` = ``negative``)::

    b  = rand() % window                                   # dynamic window
    C  = {j + o : 0 < |o| <= window - b, same sentence}    # context positions
    CBOW:       h = mean_{c in C} syn0[tok[c]]              # (D,)
                for t in [w] + k draws from the unigram^0.75 table (a draw equal to w is skipped):
                    f = h . syn1neg[t];  g = (label - sigma(f)) * alpha     # sigma: word2vec.c's expTable, 0/1 past |f| > 6
                    e += g * syn1neg[t];  syn1neg[t] += g * h
                syn0[tok[c]] += e  for every c in C          # full error, not divided by |C| (word2vec.c)
    skip-gram:  for each c in C: the same negative-sampling step with h = syn0[tok[c]] predicting w,
                then syn0[tok[c]] += e

Random numbers are word2vec.c's linear congruential generator ``r = r * 25214903917 + 11`` (unsigned 64 bit), one
state per worker, used as ``(r >> 16) % n``; so a single-threaded run is deterministic for a given seed.

The learning rate is fixed within a block of centers and set by the caller per block (word2vec.c recomputes it
every 10,000 words from the words done so far).

Use the kernels through :func:`load_kernels`, which returns ``None`` when numba is not installed (the trainer then
falls back to its torch implementation). They are compiled on first use and cached on disk by numba.
"""

from __future__ import annotations

import math

import numpy as np

MAX_EXP = 6.0
EXP_TABLE_SIZE = 1000
_MULTIPLIER = 25214903917
_INCREMENT = 11


def lcg_next(state: int) -> int:
    """word2vec.c's ``next_random = next_random * 25214903917 + 11`` in unsigned 64-bit arithmetic (reference)."""
    return (state * _MULTIPLIER + _INCREMENT) & 0xFFFFFFFFFFFFFFFF


def sigmoid_table() -> np.ndarray:
    """word2vec.c's ``expTable``: ``sigma(x)`` at ``x = (i / EXP_TABLE_SIZE * 2 - 1) * MAX_EXP``, read at
    ``i = int((f + MAX_EXP) * (EXP_TABLE_SIZE / MAX_EXP / 2))`` for ``|f| <= MAX_EXP`` (float32; one extra entry
    so that ``f == MAX_EXP`` exactly stays inside the table, where word2vec.c reads one past its end)."""
    e = np.exp((np.arange(EXP_TABLE_SIZE + 1) / EXP_TABLE_SIZE * 2 - 1) * MAX_EXP)
    return (e / (e + 1)).astype(np.float32)


try:
    import numba

    HAVE_NUMBA = True
    njit = numba.njit(nogil=True, fastmath=True, cache=True, error_model="numpy", boundscheck=False)
except ImportError:  # the trainer falls back to torch; the functions below stay plain Python (never called)
    HAVE_NUMBA = False

    def njit(fn):
        return fn


_EXP_TABLE = sigmoid_table()
_MUL, _INC, _SHIFT = np.uint64(_MULTIPLIER), np.uint64(_INCREMENT), np.uint64(16)


@njit
def negative_sampling(src, srow, syn1neg, word, table, negative, alpha, rng, neu1e, monitor):
    """One word2vec.c output-layer step for input ``h = src[srow]`` (D,) predicting ``word``; adds the input
    error to ``neu1e`` and updates ``syn1neg`` in place. Returns ``(rng, -log-likelihood of the live terms)``."""
    dim = src.shape[1]
    table_size = np.uint64(table.shape[0])
    loss = 0.0
    for d in range(negative + 1):
        if d == 0:
            target = word
            label = 1.0
        else:
            rng = rng * _MUL + _INC
            target = table[(rng >> _SHIFT) % table_size]
            if target == word:
                continue
            label = 0.0
        f = np.float32(0.0)
        for i in range(dim):
            f += src[srow, i] * syn1neg[target, i]
        if f > MAX_EXP:
            g = (label - 1.0) * alpha
        elif f < -MAX_EXP:
            g = label * alpha
        else:
            g = (label - _EXP_TABLE[int((f + MAX_EXP) * (EXP_TABLE_SIZE / MAX_EXP / 2))]) * alpha
        g32 = np.float32(g)
        for i in range(dim):
            neu1e[i] += g32 * syn1neg[target, i]
            syn1neg[target, i] += g32 * src[srow, i]
        if monitor:  # -log sigma(f) for the center, -log sigma(-f) for a negative (softplus, stable)
            z = -f if label > 0 else f
            loss += max(z, 0.0) + math.log1p(math.exp(-abs(z)))
    return rng, loss


@njit
def cbow_blocks(
    syn0,
    syn1neg,
    table,
    tokens,
    sent,
    starts,
    stops,
    alphas,
    window,
    negative,
    rng_state,
    monitor_every,
    stats,
):
    """CBOW (``cbow_mean=1``) over the centers ``starts[i] <= p < stops[i]`` of every block ``i`` (stream
    positions without the left padding: the center sits at ``tokens[p + window]``)."""
    dim = syn0.shape[1]
    neu1 = np.empty((1, dim), dtype=np.float32)
    neu1e = np.empty(dim, dtype=np.float32)
    rng = rng_state[0]
    win = np.uint64(window)
    loss, examples = 0.0, 0
    for blk in range(starts.shape[0]):
        alpha = alphas[blk]
        for p in range(starts[blk], stops[blk]):
            j = p + window
            word = tokens[j]
            s = sent[j]
            rng = rng * _MUL + _INC
            b = np.int64((rng >> _SHIFT) % win)
            neu1[:] = 0.0
            cw = 0
            for c in range(j - window + b, j + window - b + 1):
                if c == j or sent[c] != s:
                    continue
                t = tokens[c]
                for i in range(dim):
                    neu1[0, i] += syn0[t, i]
                cw += 1
            if cw == 0:
                continue
            inv = np.float32(1.0 / cw)
            for i in range(dim):
                neu1[0, i] *= inv
            neu1e[:] = 0.0
            monitor = monitor_every > 0 and p % monitor_every == 0
            rng, ll = negative_sampling(neu1, 0, syn1neg, word, table, negative, alpha, rng, neu1e, monitor)
            if monitor:
                loss += ll
                examples += 1
            for c in range(j - window + b, j + window - b + 1):
                if c == j or sent[c] != s:
                    continue
                t = tokens[c]
                for i in range(dim):
                    syn0[t, i] += neu1e[i]
    rng_state[0] = rng
    stats[0] += loss
    stats[1] += examples


@njit
def skipgram_blocks(
    syn0,
    syn1neg,
    table,
    tokens,
    sent,
    starts,
    stops,
    alphas,
    window,
    negative,
    rng_state,
    monitor_every,
    stats,
):
    """Skip-gram: every context word's input vector predicts the center (word2vec.c's loop order)."""
    dim = syn0.shape[1]
    neu1e = np.empty(dim, dtype=np.float32)
    rng = rng_state[0]
    win = np.uint64(window)
    loss, examples = 0.0, 0
    for blk in range(starts.shape[0]):
        alpha = alphas[blk]
        for p in range(starts[blk], stops[blk]):
            j = p + window
            word = tokens[j]
            s = sent[j]
            rng = rng * _MUL + _INC
            b = np.int64((rng >> _SHIFT) % win)
            monitor = monitor_every > 0 and p % monitor_every == 0
            for c in range(j - window + b, j + window - b + 1):
                if c == j or sent[c] != s:
                    continue
                t = tokens[c]
                neu1e[:] = 0.0
                rng, ll = negative_sampling(
                    syn0, t, syn1neg, word, table, negative, alpha, rng, neu1e, monitor
                )
                if monitor:
                    loss += ll
                    examples += 1
                for i in range(dim):
                    syn0[t, i] += neu1e[i]
    rng_state[0] = rng
    stats[0] += loss
    stats[1] += examples


def load_kernels():
    """``{"cbow": fn, "skipgram": fn}`` compiled with numba, or ``None`` when numba is not installed."""
    if not HAVE_NUMBA:
        return None
    return {"cbow": cbow_blocks, "skipgram": skipgram_blocks}
