"""word2vec.c (Mikolov et al. 2013a/b) in torch: CBOW and skip-gram with negative sampling.

The algorithm is word2vec.c's, step for step. Two implementations of the inner loop (``backend``):

* ``"numba"`` (CPU default when numba is installed): word2vec.c's own loop, one SGD step per center word, compiled
  by numba with the GIL released (:mod:`hfmech.analogy._w2v_kernels`; word2vec.c's random-number generator and
  1000-entry sigmoid table); the learning rate is updated every ``batch_size`` centers (word2vec.c: every 10,000
  words);
* ``"torch"`` (accelerators, and CPU without numba): one change of schedule, ``batch_size`` consecutive center
  positions are processed together from the same parameter snapshot and their closed-form updates are summed into
  the tables with ``index_add_`` (no autograd, no optimiser objects; exact sigmoid). That is the hogwild picture of
  word2vec.c's threads made explicit; ``batch_size`` trades speed against the per-word schedule.

``benchmarks/word2vec.py`` measures either against gensim on the same corpus in the same run.

What is kept from word2vec.c:

* vocabulary: words with ``count >= min_count`` (optionally only the ``max_vocab`` most frequent), sorted by count;
  out-of-vocabulary words are removed from a sentence before windows are formed; sentences longer than
  ``max_sentence_length`` (1000) are cut into pieces;
* frequent-word subsampling: a word with count ``f`` is kept with probability
  ``(sqrt(f / (s*T)) + 1) * (s*T) / f`` (``s = sample``, ``T`` = in-vocabulary corpus words), drawn anew each epoch,
  before windowing;
* dynamic window: per center word ``b ~ U{0, ..., window-1}``, the context is the ``window - b`` words either side
  (within the sentence);
* negative sampling: ``negative`` words per center from the unigram^0.75 table (a negative equal to the center word
  is skipped); ``g = (label - sigmoid(f)) * alpha`` with sigmoid saturated to 0/1 beyond ``|f| > 6`` (MAX_EXP);
* CBOW: ``h`` is the mean of the context input vectors (``cbow_mean=1``) and every context word receives the full
  error ``neu1e`` (word2vec.c does not divide it by the context size; gensim does); skip-gram: each (context,
  center) pair is one example, the context word's input vector is trained to predict the center word;
* linear learning-rate decay from ``alpha`` to ``alpha * 1e-4`` over ``epochs x T`` words (counted before
  subsampling, like word2vec.c's ``word_count_actual``);
* initialisation: input vectors ``U[-0.5/size, 0.5/size)``, output vectors zero; the word vectors are the input
  vectors (syn0).

Data: any ``datasets`` text dataset. The vocabulary pass streams it once (``streaming=True``), tokenises each row and
writes token ids to an int32 cache (``$HFMECH_CACHE/word2vec`` or ``~/.cache/hfmech/word2vec``); the training epochs
stream over that array, so they are pure tensor work.

Tokenisation (:func:`tokenize`): remove ``<br />`` markup, lower-case, keep runs of letters/digits joined by inner
apostrophes (``don't``, ``90's``); everything else separates tokens.

Multi-device: the loop runs under ``accelerate launch``; with more than one process each process trains on its own
contiguous shard of the corpus and the tables are averaged across processes every ``sync_every`` steps (local SGD /
parameter averaging). On one CPU process that is word2vec.c's ``-threads``: ``threads`` hogwild worker threads
(default: one per core) share the tables, each running the compiled loop (numba) or single-threaded torch ops.

Recipe::

    python -m hfmech.analogy.train --data ../shared/data/imdb/train.parquet ../shared/data/imdb/unsup.parquet \\
        --text-column text --model cbow --size 100 --out runs/cbow-imdb
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import threading
import time
from array import array
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from ..hub.files import atomic_path, write_json_atomic, write_text_atomic

TOKENIZER_VERSION = "w2v-lower-alnum-apostrophe-v1"
_BR = re.compile(r"<br\s*/?>", re.IGNORECASE)
_TOKEN = re.compile(r"[^\W_]+(?:'[^\W_]+)*")
MAX_EXP = 6.0
BACKENDS = ("auto", "numba", "torch")
#: numba backend: blocks of ``batch_size`` centers handed to the compiled loop per call (progress granularity)
BLOCKS_PER_CALL = 64


def tokenize(text: str) -> list[str]:
    """IMDB-friendly word tokens: ``<br />`` removed, lower-cased, letters/digits with inner apostrophes kept."""
    return _TOKEN.findall(_BR.sub(" ", text).lower())


# ----------------------------------------------------------------------------------------------- corpus / vocabulary
@dataclass
class Corpus:
    """A tokenised corpus restricted to its vocabulary.

    ``ids`` holds the in-vocabulary tokens of all sentences back to back (int32, ids index ``words``, which are
    sorted by decreasing count) and ``sentence_starts`` the ``n_sentences + 1`` offsets into it.
    """

    words: list[str]
    counts: np.ndarray
    ids: np.ndarray
    sentence_starts: np.ndarray
    raw_tokens: int = 0
    """all tokens read, out-of-vocabulary ones included"""
    source: dict = field(default_factory=dict)

    @property
    def train_words(self) -> int:
        return int(self.ids.size)

    def sentences(self) -> list[list[str]]:
        """The sentences as lists of word strings (the exact token stream; used to feed gensim)."""
        w = np.asarray(self.words, dtype=object)
        s = self.sentence_starts
        return [w[self.ids[s[i] : s[i + 1]]].tolist() for i in range(len(s) - 1)]


def _resolve_data_files(data: list[str]) -> tuple[str, list[str] | None]:
    """Map ``--data`` to ``load_dataset`` arguments: local files by extension, else a Hub dataset id."""
    if all(os.path.exists(d) for d in data):
        ext = {".parquet": "parquet", ".csv": "csv", ".json": "json", ".jsonl": "json", ".txt": "text"}
        kinds = {ext.get(Path(d).suffix.lower()) for d in data}
        if len(kinds) != 1 or None in kinds:
            raise ValueError(f"local data files must share one of {sorted(ext)} extensions, got {data}")
        return kinds.pop(), [os.path.abspath(d) for d in data]
    if len(data) != 1:
        raise ValueError(f"{data}: not local files; pass a single Hub dataset id")
    return data[0], None


def iter_texts(data: list[str], text_column: str = "text", split: str = "train", limit: int | None = None):
    """Stream the text column of a ``datasets`` dataset (local parquet/csv/json/txt files or a Hub id)."""
    from datasets import load_dataset

    builder, files = _resolve_data_files(data)
    if files is not None:
        ds = load_dataset(builder, data_files=files, split="train", streaming=True)
    else:
        ds = load_dataset(builder, split=split, streaming=True)
    n = 0
    for batch in ds.iter(batch_size=1000):
        for text in batch[text_column]:
            if limit is not None and n >= limit:
                return
            n += 1
            yield text or ""


def _fingerprint(data: list[str], text_column: str, limit: int | None) -> str:
    h = hashlib.sha1()
    for d in data:
        if os.path.exists(d):
            st = os.stat(d)
            h.update(f"{os.path.abspath(d)}|{st.st_size}|{int(st.st_mtime)}".encode())
        else:
            h.update(d.encode())
    h.update(f"{text_column}|{limit}|{TOKENIZER_VERSION}".encode())
    return h.hexdigest()[:16]


def cache_root() -> Path:
    root = os.environ.get("HFMECH_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "hfmech")
    return Path(root) / "word2vec"


def tokenize_to_cache(
    data: list[str],
    text_column: str = "text",
    *,
    limit: int | None = None,
    cache_dir: str | os.PathLike | None = None,
    use_cache: bool = True,
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """One streaming pass: every distinct word gets a provisional id (order of first appearance); returns
    ``(words, token_ids int32, doc_starts int64)``, cached on disk keyed by the files, column and tokeniser."""
    cache = Path(cache_dir) if cache_dir else cache_root()
    key = _fingerprint(data, text_column, limit)
    npz, vocab_file = cache / f"{key}.npz", cache / f"{key}.words.txt"
    if use_cache and npz.is_file() and vocab_file.is_file():
        with np.load(npz) as z:
            ids, starts = z["ids"], z["starts"]
        words = vocab_file.read_text(encoding="utf-8").split("\n")
        return words, ids, starts
    lookup: dict[str, int] = {}
    setdefault = lookup.setdefault
    ids_buf = array("i")
    starts = [0]
    for text in iter_texts(data, text_column, limit=limit):
        ids_buf.extend([setdefault(t, len(lookup)) for t in tokenize(text)])
        starts.append(len(ids_buf))
    ids = np.frombuffer(ids_buf, dtype=np.int32).copy()
    starts_arr = np.asarray(starts, dtype=np.int64)
    words = list(lookup)
    if use_cache:
        cache.mkdir(parents=True, exist_ok=True)
        with atomic_path(npz) as tmp:
            np.savez(tmp, ids=ids, starts=starts_arr)
        write_text_atomic(vocab_file, "\n".join(words))
    return words, ids, starts_arr


def build_vocab(words: list[str], ids: np.ndarray, min_count: int = 5, max_vocab: int | None = None):
    """word2vec.c's vocabulary: words with count >= min_count, by decreasing count (ties: first appearance),
    optionally only the ``max_vocab`` most frequent. Returns ``(vocab_words, counts, old_to_new int32 (-1 = OOV))``."""
    counts = np.bincount(ids, minlength=len(words)) if ids.size else np.zeros(len(words), dtype=np.int64)
    order = np.argsort(-counts, kind="stable")
    order = order[counts[order] >= min_count]
    if max_vocab is not None:
        order = order[:max_vocab]
    old_to_new = np.full(len(words), -1, dtype=np.int32)
    old_to_new[order] = np.arange(order.size, dtype=np.int32)
    return [words[i] for i in order], counts[order].astype(np.int64), old_to_new


def load_corpus(
    data: list[str],
    text_column: str = "text",
    *,
    min_count: int = 5,
    max_vocab: int | None = None,
    max_sentence_length: int = 1000,
    limit: int | None = None,
    cache_dir: str | os.PathLike | None = None,
    use_cache: bool = True,
) -> Corpus:
    """Vocabulary pass (streamed, cached) + restriction to the vocabulary; each row is a sentence, cut into
    pieces of at most ``max_sentence_length`` in-vocabulary words (word2vec.c's MAX_SENTENCE_LENGTH)."""
    all_words, raw_ids, doc_starts = tokenize_to_cache(
        data, text_column, limit=limit, cache_dir=cache_dir, use_cache=use_cache
    )
    words, counts, old_to_new = build_vocab(all_words, raw_ids, min_count, max_vocab)
    mapped = old_to_new[raw_ids]
    keep = mapped >= 0
    ids = mapped[keep]
    kept_before = np.concatenate([[0], np.cumsum(keep, dtype=np.int64)])
    doc_bounds = kept_before[doc_starts]
    lengths = np.diff(doc_bounds)
    starts = []
    for start, n in zip(doc_bounds[:-1].tolist(), lengths.tolist()):
        if n == 0:
            continue
        starts.extend(range(start, start + n, max_sentence_length))
    starts.append(int(ids.size))
    return Corpus(
        words=words,
        counts=counts,
        ids=ids.astype(np.int32),
        sentence_starts=np.asarray(starts, dtype=np.int64),
        raw_tokens=int(raw_ids.size),
        source={
            "data": list(data),
            "text_column": text_column,
            "limit": limit,
            "tokenizer": TOKENIZER_VERSION,
        },
    )


# ------------------------------------------------------------------------------------------------- word2vec pieces
def keep_probabilities(counts: np.ndarray, sample: float) -> np.ndarray:
    """word2vec.c subsampling: ``(sqrt(f/(s*T)) + 1) * (s*T)/f`` clipped to 1 (``sample <= 0``: keep all)."""
    counts = np.asarray(counts, dtype=np.float64)
    if sample <= 0:
        return np.ones_like(counts)
    threshold = sample * counts.sum()
    return np.minimum((np.sqrt(counts / threshold) + 1.0) * threshold / counts, 1.0)


def unigram_table(counts: np.ndarray, power: float = 0.75, table_size: int = 10_000_000) -> np.ndarray:
    """word2vec.c's InitUnigramTable: word ``i`` fills a share ``c_i^power / sum c^power`` of ``table_size`` slots."""
    p = np.asarray(counts, dtype=np.float64) ** power
    cum = np.cumsum(p / p.sum())
    cum[-1] = 1.0
    slots = (np.arange(table_size, dtype=np.float64) + 0.5) / table_size
    return np.searchsorted(cum, slots, side="left").astype(np.int64)


def learning_rate(alpha: float, words_done: float, total_words: float, min_ratio: float = 1e-4) -> float:
    """word2vec.c: ``alpha * (1 - done / (total + 1))``, floored at ``alpha * 1e-4``."""
    return max(alpha * (1.0 - words_done / (total_words + 1.0)), alpha * min_ratio)


def contexts(win: torch.Tensor, swin: torch.Tensor, absoff: torch.Tensor, pad: int, gen=None):
    """Dynamic windows for a batch of centers.

    ``win``/``swin``: (B, 2W+1) token ids / sentence ids around each center (center in the middle); per center
    ``b ~ U{0..W-1}`` and the context is the words at ``|offset| <= W - b`` in the same sentence. Returns
    ``(center (B,), ctx (B, 2W) with empty slots = pad, valid (B, 2W) bool)``.
    """
    W = win.shape[1] // 2
    b = torch.randint(0, W, (win.shape[0],), generator=gen, device=win.device)
    same = torch.cat([swin[:, :W], swin[:, W + 1 :]], dim=1) == swin[:, W : W + 1]
    valid = same & (absoff[None, :] <= (W - b)[:, None])
    ctx = torch.where(valid, torch.cat([win[:, :W], win[:, W + 1 :]], dim=1), pad)
    return win[:, W], ctx, valid


@dataclass
class Word2VecConfig:
    model: str = "cbow"
    size: int = 100
    window: int = 5
    negative: int = 5
    sample: float = 1e-3
    min_count: int = 5
    max_vocab: int | None = None
    epochs: int = 5
    alpha: float | None = None
    """None: word2vec.c's default, 0.05 for CBOW and 0.025 for skip-gram"""
    min_alpha_ratio: float = 1e-4
    batch_size: int = 1024
    seed: int = 1
    threads: int | None = None
    """CPU worker threads (hogwild, like word2vec.c's -threads); None: one per core"""
    table_size: int = 10_000_000
    max_sentence_length: int = 1000
    sync_every: int = 64
    backend: str = "auto"
    """CPU inner loop: ``"numba"`` (word2vec.c's per-word SGD, compiled; needs ``numba``), ``"torch"`` (batched
    closed-form updates, also the accelerator and multi-process path), ``"auto"``: numba for a single CPU process
    when it is installed, else torch"""

    def __post_init__(self):
        if self.model not in ("cbow", "skipgram"):
            raise ValueError(f"model must be 'cbow' or 'skipgram', got {self.model!r}")
        if self.backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, got {self.backend!r}")
        if self.alpha is None:
            self.alpha = 0.05 if self.model == "cbow" else 0.025
        for name in ("size", "window", "negative", "epochs", "batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1")


class Word2VecTrainer:
    """Holds syn0/syn1neg and runs word2vec.c epochs over a :class:`Corpus` (see the module docstring)."""

    def __init__(self, corpus: Corpus, config: Word2VecConfig, accelerator=None):
        self.corpus, self.config = corpus, config
        self.accelerator = accelerator
        self.device = accelerator.device if accelerator is not None else torch.device("cpu")
        # CPU: ``threads`` hogwild worker threads, each running single-threaded torch ops (OpenMP teams stall
        # badly when the cores are shared); accelerators: one stream of large batches.
        if self.device.type == "cpu":
            self.workers = config.threads or os.cpu_count() or 1
        else:
            self.workers = 1
        self.rank = accelerator.process_index if accelerator is not None else 0
        self.world = accelerator.num_processes if accelerator is not None else 1
        # the compiled loop serves single-process CPU runs; multi-process runs (parameter averaging every
        # ``sync_every`` batches) and accelerators use the torch path
        self.kernels = None
        if config.backend != "torch":
            from ._w2v_kernels import load_kernels

            if self.device.type == "cpu" and self.world == 1:
                self.kernels = load_kernels()
            if self.kernels is None and config.backend == "numba":
                raise ImportError(
                    "backend='numba' needs numba (pip install numba), a CPU device and a single process; "
                    "use backend='torch'"
                )
        self.backend = "numba" if self.kernels is not None else "torch"
        V, D = len(corpus.words), config.size
        if V == 0:
            raise ValueError("empty vocabulary: lower min_count or give more text")
        gen = torch.Generator().manual_seed(config.seed)
        # one extra input row: the padding index of empty context slots (never trained, never read)
        syn0 = (torch.rand(V + 1, D, generator=gen, dtype=torch.float64) - 0.5) / D
        syn0[V] = 0
        self.syn0 = syn0.float().to(self.device)
        self.syn1neg = torch.zeros(V, D, device=self.device)
        self.table = torch.from_numpy(unigram_table(corpus.counts, table_size=config.table_size)).to(
            self.device
        )
        self.keep_prob = keep_probabilities(corpus.counts, config.sample).astype(np.float32)
        self.sentence_of = np.repeat(
            np.arange(len(corpus.sentence_starts) - 1, dtype=np.int32), np.diff(corpus.sentence_starts)
        )
        self.epochs_done = 0
        self.words_per_sec: list[float] = []
        self.history: list[dict] = []

    @property
    def vectors(self) -> torch.Tensor:
        """The word vectors (syn0 without the padding row)."""
        return self.syn0[: len(self.corpus.words)]

    # -- one epoch -------------------------------------------------------------------------------------------
    def _epoch_stream(self, epoch: int):
        """Subsample (fresh draw per epoch), pad with ``window`` sentinels, and shard across processes."""
        rng = np.random.default_rng([self.config.seed, epoch])
        ids = self.corpus.ids
        if self.config.sample > 0:
            keep = rng.random(ids.size, dtype=np.float32) < self.keep_prob[ids]
            pos = np.flatnonzero(keep)
        else:
            pos = np.arange(ids.size)
        if self.world > 1:
            bounds = np.linspace(0, pos.size, self.world + 1).astype(np.int64)
            pos = pos[bounds[self.rank] : bounds[self.rank + 1]]
        W, V = self.config.window, len(self.corpus.words)
        tokens = np.concatenate([np.full(W, V, np.int64), ids[pos].astype(np.int64), np.full(W, V, np.int64)])
        sent = np.concatenate([np.full(W, -1, np.int32), self.sentence_of[pos], np.full(W, -2, np.int32)])
        return torch.from_numpy(tokens).to(self.device), torch.from_numpy(sent).to(self.device), pos

    def train_epoch(self, epoch: int | None = None, log_every: float = 30.0, log=print) -> dict:
        """One pass over the (freshly subsampled) corpus by ``workers`` hogwild threads (word2vec.c's threads):
        worker ``w`` takes batches ``w, w + workers, ...`` so all of them move through the corpus together and
        the learning-rate schedule stays linear; they update the shared tables in place without locks."""
        cfg = self.config
        epoch = self.epochs_done if epoch is None else epoch
        tokens, sent, pos = self._epoch_stream(epoch)
        n = pos.size
        workers = self.workers
        t0 = time.perf_counter()
        results = [(0.0, 0)] * workers
        progress = [0] * workers

        errors: list[BaseException] = []

        def work(w: int):
            try:
                results[w] = self._run_batches(epoch, tokens, sent, pos, w, workers, progress)
            except BaseException as exc:  # re-raised in the calling thread
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(w,), daemon=True) for w in range(workers)]
        intra_op = torch.get_num_threads()
        if self.device.type == "cpu":
            torch.set_num_threads(1)  # each hogwild worker runs single-threaded ops
        try:
            for th in threads:
                th.start()
            last_log = t0
            while alive := [th for th in threads if th.is_alive()]:
                alive[0].join(timeout=0.5)
                now = time.perf_counter()
                if log is not None and now - last_log > log_every:
                    done = min(progress)
                    log(
                        f"epoch {epoch + 1}/{cfg.epochs} {100 * done / max(n, 1):5.1f}%, "
                        f"{(float(pos[min(done, n - 1)]) + 1) / (now - t0):,.0f} words/s"
                    )
                    last_log = now
            for th in threads:
                th.join()
        finally:
            torch.set_num_threads(intra_op)
        if errors:
            raise errors[0]
        if self.world > 1:
            self._average()
        dt = time.perf_counter() - t0
        self.epochs_done = epoch + 1
        loss_sum = sum(r[0] for r in results)
        loss_n = sum(r[1] for r in results)
        rec = {
            "epoch": epoch + 1,
            "seconds": dt,
            "words": self.corpus.train_words,
            "words_after_subsampling": int(n),
            "words_per_sec": self.corpus.train_words / dt,
            "objective": loss_sum / max(loss_n, 1),
        }
        self.history.append(rec)
        return rec

    def _run_batches(self, epoch, tokens, sent, pos, worker, workers, progress) -> tuple[float, int]:
        if self.kernels is not None:
            return self._run_blocks_numba(epoch, tokens, sent, pos, worker, workers, progress)
        cfg = self.config
        gen = torch.Generator(device=self.device).manual_seed((cfg.seed * 1_000_003 + epoch) * 64 + worker)
        W, B, V = cfg.window, cfg.batch_size, len(self.corpus.words)
        n = pos.size
        # |offset| of the 2W context slots
        absoff = torch.cat([torch.arange(W, 0, -1), torch.arange(1, W + 1)]).to(tokens.device)
        tok_win = tokens.unfold(0, 2 * W + 1, 1)  # (n, 2W+1) views: row i = window around center i
        sent_win = sent.unfold(0, 2 * W + 1, 1)
        total_words = cfg.epochs * self.corpus.train_words
        base_words = epoch * self.corpus.train_words
        loss_sum, loss_n = 0.0, 0
        for steps, start in enumerate(range(worker * B, n, workers * B), start=1):
            stop = min(start + B, n)
            alpha = learning_rate(cfg.alpha, base_words + float(pos[start]), total_words, cfg.min_alpha_ratio)
            center, ctx, valid = contexts(tok_win[start:stop], sent_win[start:stop], absoff, V, gen)
            step = self._cbow_step if cfg.model == "cbow" else self._skipgram_step
            loss = step(center, ctx, valid, alpha, gen, monitor=steps % 8 == 1)
            loss_sum += loss[0]
            loss_n += loss[1]
            progress[worker] = stop
            if self.world > 1 and steps % cfg.sync_every == 0:
                self._average()
        progress[worker] = n
        return loss_sum, loss_n

    def _run_blocks_numba(self, epoch, tokens, sent, pos, worker, workers, progress) -> tuple[float, int]:
        """word2vec.c's per-word SGD (:mod:`hfmech.analogy._w2v_kernels`) over this worker's blocks of
        ``batch_size`` centers (blocks ``worker, worker + workers, ...``, as in the torch path); the learning rate
        is set per block from the corpus words before the block's first center."""
        cfg = self.config
        kernel = self.kernels[cfg.model]
        B, n = cfg.batch_size, pos.size
        total_words = cfg.epochs * self.corpus.train_words
        base_words = epoch * self.corpus.train_words
        starts = np.arange(worker * B, n, workers * B, dtype=np.int64)
        stops = np.minimum(starts + B, n)
        alphas = np.array(
            [
                learning_rate(cfg.alpha, base_words + float(pos[s]), total_words, cfg.min_alpha_ratio)
                for s in starts
            ],
            dtype=np.float64,
        )
        syn0, syn1neg, table = self.syn0.numpy(), self.syn1neg.numpy(), self.table.numpy()
        tok, sen = tokens.numpy(), sent.numpy()
        rng = np.array([(cfg.seed * 1_000_003 + epoch) * 64 + worker], dtype=np.uint64)
        stats = np.zeros(2, dtype=np.float64)
        for i in range(0, starts.size, BLOCKS_PER_CALL):
            sl = slice(i, i + BLOCKS_PER_CALL)
            kernel(
                syn0,
                syn1neg,
                table,
                tok,
                sen,
                starts[sl],
                stops[sl],
                alphas[sl],
                cfg.window,
                cfg.negative,
                rng,
                8,
                stats,
            )
            progress[worker] = int(stops[sl][-1])
        progress[worker] = n
        return float(stats[0]), int(stats[1])

    def _average(self):
        for t in (self.syn0, self.syn1neg):
            t.copy_(self.accelerator.reduce(t, reduction="mean"))

    def _targets(self, center: torch.Tensor, gen) -> tuple[torch.Tensor, torch.Tensor]:
        k = self.config.negative
        draws = torch.randint(
            0, self.table.numel(), (center.numel() * k,), generator=gen, device=center.device
        )
        neg = self.table.index_select(0, draws).view(-1, k)
        targets = torch.cat([center[:, None], neg], dim=1)
        labels = torch.zeros(targets.shape, dtype=torch.float32, device=center.device)
        labels[:, 0] = 1.0
        live = torch.ones(targets.shape, dtype=torch.bool, device=center.device)
        live[:, 1:] = neg != center[:, None]
        return targets, labels, live

    def _output_layer(
        self, h: torch.Tensor, targets, labels, live, alpha: float, row_live=None, monitor=True
    ):
        """Negative-sampling layer: returns the error ``neu1e`` for the inputs and updates syn1neg in place."""
        D = h.shape[1]
        out = self.syn1neg.index_select(0, targets.reshape(-1)).view(*targets.shape, D)  # (B, 1+k, D)
        f = torch.bmm(out, h[:, :, None]).squeeze(2)
        sig = torch.sigmoid(f)
        sig = torch.where(f > MAX_EXP, 1.0, torch.where(f < -MAX_EXP, 0.0, sig))
        err = labels - sig
        mask = live if row_live is None else live & row_live[:, None]
        g = torch.where(mask, err, 0.0) * alpha
        neu1e = torch.bmm(g[:, None, :], out).squeeze(1)
        self.syn1neg.index_add_(0, targets.reshape(-1), (g[:, :, None] * h[:, None, :]).reshape(-1, D))
        if not monitor:
            return neu1e, (0.0, 0)
        # objective: -log sigma(+-f) of the live terms, per center word (monitoring only)
        ll = torch.nn.functional.logsigmoid(torch.where(labels > 0, f, -f))
        return neu1e, (-(ll * mask).sum().item(), int(mask[:, 0].sum()))

    def _cbow_step(self, center, ctx, valid, alpha, gen, monitor=True):
        V = len(self.corpus.words)
        cw = valid.sum(1)
        h = torch.nn.functional.embedding_bag(ctx, self.syn0, mode="mean", padding_idx=V)
        targets, labels, live = self._targets(center, gen)
        neu1e, loss = self._output_layer(h, targets, labels, live, alpha, row_live=cw > 0, monitor=monitor)
        # word2vec.c: every context word gets the full neu1e (not divided by cw)
        self.syn0.index_add_(0, ctx[valid], neu1e.repeat_interleave(cw, dim=0))
        return loss

    def _skipgram_step(self, center, ctx, valid, alpha, gen, monitor=True):
        inputs = ctx[valid]
        predicted = center[:, None].expand_as(ctx)[valid]
        h = self.syn0.index_select(0, inputs)
        targets, labels, live = self._targets(predicted, gen)
        neu1e, loss = self._output_layer(h, targets, labels, live, alpha, monitor=monitor)
        self.syn0.index_add_(0, inputs, neu1e)
        return loss

    # -- checkpoints ----------------------------------------------------------------------------------------
    def state_dict(self) -> dict:
        return {"syn0": self.syn0.cpu().contiguous(), "syn1neg": self.syn1neg.cpu().contiguous()}

    def save_checkpoint(self, folder: str | os.PathLike, extra: dict | None = None):
        from safetensors.torch import save_file

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        with atomic_path(folder / "checkpoint.safetensors") as tmp:
            save_file(self.state_dict(), str(tmp))
        state = {
            "epochs_done": self.epochs_done,
            "config": asdict(self.config),
            "history": self.history,
            "vocab_size": len(self.corpus.words),
            **(extra or {}),
        }
        write_json_atomic(folder / "checkpoint.json", state)

    def load_checkpoint(self, folder: str | os.PathLike) -> bool:
        from safetensors.torch import load_file

        folder = Path(folder)
        meta, weights = folder / "checkpoint.json", folder / "checkpoint.safetensors"
        if not (meta.is_file() and weights.is_file()):
            return False
        state = json.loads(meta.read_text(encoding="utf-8"))
        mine = asdict(self.config)
        theirs = state["config"]
        differ = [k for k in mine if k not in ("threads", "epochs", "backend") and mine[k] != theirs.get(k)]
        if differ or state["vocab_size"] != len(self.corpus.words):
            raise ValueError(
                f"checkpoint in {folder} was made with different settings: {differ or 'vocabulary'}"
            )
        tensors = load_file(str(weights))
        self.syn0.copy_(tensors["syn0"])
        self.syn1neg.copy_(tensors["syn1neg"])
        self.epochs_done = int(state["epochs_done"])
        self.history = list(state.get("history", []))
        return True

    def train(self, out_dir: str | os.PathLike | None = None, log=print) -> list[dict]:
        while self.epochs_done < self.config.epochs:
            rec = self.train_epoch(log=log if self.rank == 0 else None)
            if log is not None and self.rank == 0:
                log(
                    f"epoch {rec['epoch']} done in {rec['seconds']:.1f}s, {rec['words_per_sec']:,.0f} words/s, "
                    f"objective {rec['objective']:.4f}"
                )
            if out_dir is not None and self.rank == 0:
                self.save_checkpoint(out_dir)
        return self.history


def train_word2vec(corpus: Corpus, accelerator=None, out_dir=None, log=None, **config) -> Word2VecTrainer:
    """Train word2vec on ``corpus`` (see :class:`Word2VecConfig` for the settings); returns the trainer."""
    trainer = Word2VecTrainer(corpus, Word2VecConfig(**config), accelerator=accelerator)
    trainer.train(out_dir=out_dir, log=log)
    return trainer


def export_vectors(
    words: list[str],
    counts: np.ndarray,
    vectors: np.ndarray | torch.Tensor,
    out_dir: str | os.PathLike,
    *,
    top: int | None = None,
    dtype: str = "float16",
    extra: dict | None = None,
) -> dict:
    """Write ``vectors.safetensors`` (key ``vectors``), ``vocab.txt`` (``word\\tcount``) and ``training.json``."""
    from safetensors.torch import save_file

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    n = len(words) if top is None else min(top, len(words))
    vec = torch.as_tensor(np.asarray(vectors[:n] if not torch.is_tensor(vectors) else vectors[:n].cpu()))
    with atomic_path(out / "vectors.safetensors") as tmp:
        save_file({"vectors": vec.to(getattr(torch, dtype)).contiguous()}, str(tmp))
    write_text_atomic(out / "vocab.txt", "".join(f"{w}\t{int(c)}\n" for w, c in zip(words[:n], counts[:n])))
    info = {"vocab_size": n, "dtype": dtype, **(extra or {})}
    write_json_atomic(out / "training.json", info)
    return info


# ------------------------------------------------------------------------------------------------------- recipe
def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m hfmech.analogy.train", description=__doc__.split("\n")[0])
    p.add_argument(
        "--data", nargs="+", required=True, help="local parquet/csv/json/txt files, or a Hub dataset id"
    )
    p.add_argument("--text-column", default="text")
    p.add_argument("--limit", type=int, default=None, help="only the first N rows (quick runs)")
    p.add_argument("--model", choices=["cbow", "skipgram"], default="cbow")
    p.add_argument("--size", type=int, default=100)
    p.add_argument("--window", type=int, default=5)
    p.add_argument("--negative", type=int, default=5)
    p.add_argument("--sample", type=float, default=1e-3)
    p.add_argument("--min-count", type=int, default=5)
    p.add_argument("--max-vocab", type=int, default=None)
    p.add_argument("--epochs", "--iter", type=int, default=5)
    p.add_argument("--alpha", type=float, default=None, help="default: 0.05 (cbow), 0.025 (skipgram)")
    p.add_argument("--batch-size", type=int, default=1024, help="center words per vectorised step")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument(
        "--threads", type=int, default=None, help="CPU hogwild worker threads (default: one per core)"
    )
    p.add_argument(
        "--backend",
        choices=list(BACKENDS),
        default="auto",
        help="CPU inner loop: numba (word2vec.c's per-word loop, needs numba) or torch (batched); auto: numba if installed",
    )
    p.add_argument("--export-top", type=int, default=None, help="export only the N most frequent words")
    p.add_argument("--export-dtype", default="float16", choices=["float16", "float32"])
    p.add_argument("--out", required=True, help="output folder (checkpoint each epoch; resumes if present)")
    args = p.parse_args(argv)

    from accelerate import Accelerator

    accelerator = Accelerator()
    log = accelerator.print
    t0 = time.perf_counter()
    corpus = load_corpus(
        args.data, args.text_column, min_count=args.min_count, max_vocab=args.max_vocab, limit=args.limit
    )
    t_vocab = time.perf_counter() - t0
    log(
        f"corpus: {corpus.raw_tokens:,} tokens, {corpus.train_words:,} in vocabulary ({len(corpus.words):,} words), "
        f"{len(corpus.sentence_starts) - 1:,} sentences; {t_vocab:.1f}s"
    )
    config = Word2VecConfig(
        model=args.model,
        size=args.size,
        window=args.window,
        negative=args.negative,
        sample=args.sample,
        min_count=args.min_count,
        max_vocab=args.max_vocab,
        epochs=args.epochs,
        alpha=args.alpha,
        batch_size=args.batch_size,
        seed=args.seed,
        threads=args.threads,
        backend=args.backend,
    )
    trainer = Word2VecTrainer(corpus, config, accelerator=accelerator)
    ckpt = Path(args.out) / "checkpoint"
    if trainer.load_checkpoint(ckpt):
        log(f"resumed from {ckpt} after epoch {trainer.epochs_done}")
    t1 = time.perf_counter()
    history = trainer.train(out_dir=ckpt, log=log)
    t_train = time.perf_counter() - t1
    if accelerator.is_main_process:
        train_seconds = sum(h["seconds"] for h in history)
        extra = {
            "algorithm": "word2vec.c negative sampling (hfmech.analogy.train)",
            "settings": asdict(config),
            "corpus": {
                **corpus.source,
                "raw_tokens": corpus.raw_tokens,
                "train_words": corpus.train_words,
                "full_vocab_size": len(corpus.words),
                "sentences": len(corpus.sentence_starts) - 1,
            },
            "tokenization": "remove <br />, lower-case, tokens = runs of letters/digits joined by inner apostrophes",
            "seconds_vocab_pass": t_vocab,
            "seconds_training": train_seconds,
            "seconds_this_run": t_train,
            "words_per_sec": corpus.train_words * len(history) / max(train_seconds, 1e-9),
            "words_per_sec_definition": "in-vocabulary corpus words (before subsampling) x epochs / training time",
            "threads": trainer.workers,
            "backend": trainer.backend,
            "history": history,
        }
        info = export_vectors(
            corpus.words,
            corpus.counts,
            trainer.vectors,
            args.out,
            top=args.export_top,
            dtype=args.export_dtype,
            extra=extra,
        )
        log(f"wrote {args.out}: {info['vocab_size']:,} words, {info['words_per_sec']:,.0f} words/s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
