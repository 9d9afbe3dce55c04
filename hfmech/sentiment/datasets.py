"""Sentiment / sentence-classification benchmarks as ``(texts, labels)`` splits.

The probe experiments of Radford, Jozefowicz & Sutskever (2017, "Learning to Generate Reviews and Discovering
Sentiment", arXiv:1704.01444, Table 1-3) use SST-2 (binary Stanford Sentiment Treebank, the exact csv files of
openai/generating-reviews-discovering-sentiment), IMDB (Maas et al. 2011), and the SentEval-style sentence
benchmarks MR, CR, SUBJ and MPQA. We add the Blitzer et al. (2007) Amazon multi-domain reviews as an in-domain check
for a review-trained unit.

Every loader takes the path of its files (the package never depends on a data folder being present) and returns a
:class:`TextSplits` with ``train``/``dev``/``test`` ``(texts: list[str], labels: np.ndarray int64 (N,))`` pairs.

Split conventions:

* **SST-2** — the fixed train (6,920) / dev (872) / test (1,821) files.
* **IMDB** — the fixed 25k train / 25k test parquet files; ``dev`` is a seeded 10 % hold-out of train (the OpenAI
  code searches the regularisation strength on a held-out part of the training data). ``max_train`` /
  ``max_test`` draw seeded, label-stratified subsamples when featurising all 50k reviews is too slow.
* **MR, CR, SUBJ, MPQA** (no official split) — :func:`load_sentence_classification` returns the whole set; use
  :func:`kfold_splits` for the SentEval 10-fold cross-validation, or :func:`fixed_split` for one documented,
  seeded split (fold 0 of 10 is test, 10 % of the rest is dev).
* **Amazon multi-domain** — 8,000 reviews (4 domains × 1,000 positive + 1,000 negative); no official split:
  :func:`load_amazon` returns a seeded stratified 10 % test / 10 % dev / 80 % train split (``domain`` kept per item).
"""

from __future__ import annotations

import csv
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import HfmechError


class DatasetFileError(HfmechError, OSError):
    """A benchmark file is missing, unreadable, or not in the expected format."""


Split = tuple[list[str], np.ndarray]

SENTENCE_FILES = {
    "mr": "rt-polarity.all",
    "cr": "custrev.all",
    "subj": "subj.all",
    "mpqa": "mpqa.all",
}
"""File names of the harvardnlp/sent-conv-torch sentence benchmarks (one ``label text`` per line)."""


@dataclass
class TextSplits:
    """``train``/``dev``/``test`` splits of one benchmark, each ``(texts, labels)``."""

    name: str
    train: Split
    dev: Split
    test: Split
    note: str = ""
    extra: dict = field(default_factory=dict)

    def sizes(self) -> dict:
        return {k: len(getattr(self, k)[0]) for k in ("train", "dev", "test")}


def _require(path: str | os.PathLike) -> Path:
    path = Path(path)
    if not path.exists():
        raise DatasetFileError(f"data file not found: {path}")
    return path


def _labels(values) -> np.ndarray:
    return np.asarray(values, dtype=np.int64)


def _subset(split: Split, idx: np.ndarray) -> Split:
    texts, labels = split
    return [texts[i] for i in idx], labels[idx]


def stratified_sample(labels: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    """Indices of a seeded sample of ``n`` items with class proportions kept (sorted, no repeats)."""
    labels = np.asarray(labels)
    if n >= len(labels):
        return np.arange(len(labels))
    rng = np.random.default_rng(seed)
    classes, counts = np.unique(labels, return_counts=True)
    take = np.floor(counts / counts.sum() * n).astype(int)
    take[np.argsort(-counts)[: n - take.sum()]] += 1  # distribute the remainder to the largest classes
    picked = [rng.choice(np.flatnonzero(labels == c), size=k, replace=False) for c, k in zip(classes, take)]
    return np.sort(np.concatenate(picked))


def _holdout(split: Split, fraction: float, seed: int) -> tuple[Split, Split]:
    """Split off a stratified ``fraction`` of ``split`` as dev: returns ``(rest, dev)``."""
    labels = split[1]
    dev_idx = stratified_sample(labels, int(round(fraction * len(labels))), seed)
    mask = np.ones(len(labels), dtype=bool)
    mask[dev_idx] = False
    return _subset(split, np.flatnonzero(mask)), _subset(split, dev_idx)


# --------------------------------------------------------------------------------------------------- SST-2


def read_sst2_csv(path: str | os.PathLike) -> Split:
    """One SST-2 csv (``label,sentence`` header, label 1 = positive)."""
    path = _require(path)
    texts, labels = [], []
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            if reader.fieldnames is None or not {"label", "sentence"} <= set(reader.fieldnames):
                raise DatasetFileError(
                    f"{path}: expected a 'label,sentence' csv header, got {reader.fieldnames}"
                )
            for row in reader:
                texts.append(row["sentence"])
                labels.append(int(row["label"]))
    except (UnicodeDecodeError, ValueError, csv.Error) as exc:
        raise DatasetFileError(f"{path}: not a valid SST-2 csv ({exc})") from exc
    return texts, _labels(labels)


def load_sst2(folder: str | os.PathLike) -> TextSplits:
    """SST-2 from ``folder/{train,dev,test}.csv`` (Radford et al.'s exact files)."""
    folder = Path(folder)
    return TextSplits(
        "sst2",
        read_sst2_csv(folder / "train.csv"),
        read_sst2_csv(folder / "dev.csv"),
        read_sst2_csv(folder / "test.csv"),
        note="fixed train/dev/test files",
    )


# ---------------------------------------------------------------------------------------------------- IMDB


def read_imdb_parquet(path: str | os.PathLike) -> Split:
    """One IMDB parquet (columns ``text``, ``label``; unlabelled rows (label -1) dropped)."""
    import pyarrow.parquet as pq

    path = _require(path)
    try:
        table = pq.read_table(path, columns=["text", "label"])
    except Exception as exc:  # pyarrow raises several types for a corrupt/odd file
        raise DatasetFileError(f"{path}: cannot read text/label columns ({exc})") from exc
    texts = table.column("text").to_pylist()
    labels = _labels(table.column("label").to_pylist())
    keep = np.flatnonzero(labels >= 0)
    return [texts[i] for i in keep], labels[keep]


def load_imdb(
    folder: str | os.PathLike,
    max_train: int | None = None,
    max_test: int | None = None,
    dev_fraction: float = 0.1,
    seed: int = 0,
) -> TextSplits:
    """IMDB from ``folder/{train,test}.parquet``; dev = a stratified ``dev_fraction`` of (sub-sampled) train."""
    folder = Path(folder)
    train = read_imdb_parquet(folder / "train.parquet")
    test = read_imdb_parquet(folder / "test.parquet")
    note = "fixed 25k/25k files; dev = seeded stratified hold-out of train"
    if max_train is not None and max_train < len(train[1]):
        train = _subset(train, stratified_sample(train[1], max_train, seed))
        note += f"; train subsampled to {max_train}"
    if max_test is not None and max_test < len(test[1]):
        test = _subset(test, stratified_sample(test[1], max_test, seed + 1))
        note += f"; test subsampled to {max_test}"
    train, dev = _holdout(train, dev_fraction, seed + 2)
    return TextSplits("imdb", train, dev, test, note=note)


# ------------------------------------------------------------------------------------- MR / CR / SUBJ / MPQA


def read_label_text_file(path: str | os.PathLike) -> Split:
    """A harvardnlp ``.all`` file: one ``<int label> <text>`` per line (latin-1 tolerated, as MR has some)."""
    path = _require(path)
    texts, labels = [], []
    raw = path.read_bytes()
    try:
        content = raw.decode("utf-8")
    except UnicodeDecodeError:
        content = raw.decode("latin-1")
    # split on \n only: str.splitlines() would also break at U+0085 (NEL), which MR's latin-1 text contains
    for lineno, line in enumerate(content.split("\n"), 1):
        if not line.strip():
            continue
        head, _, text = line.partition(" ")
        try:
            labels.append(int(head))
        except ValueError:
            raise DatasetFileError(
                f"{path}:{lineno}: expected '<int label> <text>', got {line[:60]!r}"
            ) from None
        texts.append(text.strip())
    if not texts:
        raise DatasetFileError(f"{path}: no examples")
    return texts, _labels(labels)


def load_sentence_classification(folder: str | os.PathLike, name: str) -> Split:
    """The whole MR/CR/SUBJ/MPQA set (``name`` in :data:`SENTENCE_FILES`) as one ``(texts, labels)``."""
    key = name.lower()
    if key not in SENTENCE_FILES:
        raise DatasetFileError(f"unknown sentence benchmark {name!r}; known: {', '.join(SENTENCE_FILES)}")
    return read_label_text_file(Path(folder) / SENTENCE_FILES[key])


def kfold_splits(labels: np.ndarray, n_folds: int = 10, seed: int = 0) -> list[np.ndarray]:
    """Seeded stratified fold assignment: a list of ``n_folds`` disjoint index arrays covering every item."""
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    # classes one after another, each shuffled; dealing the sequence round-robin keeps every fold stratified and
    # fold sizes within one item of each other
    sequence = np.concatenate([rng.permutation(np.flatnonzero(labels == c)) for c in np.unique(labels)])
    folds = [sequence[k::n_folds] for k in range(n_folds)]
    return [np.sort(np.asarray(f, dtype=np.int64)) for f in folds]


def fixed_split(
    data: Split, name: str, n_folds: int = 10, seed: int = 0, dev_fraction: float = 0.1
) -> TextSplits:
    """One documented split of a CV-only set: fold 0 of :func:`kfold_splits` is test; dev = 10 % of the rest."""
    folds = kfold_splits(data[1], n_folds, seed)
    test_idx = folds[0]
    rest_idx = np.sort(np.concatenate(folds[1:]))
    rest = _subset(data, rest_idx)
    train, dev = _holdout(rest, dev_fraction, seed + 1)
    return TextSplits(
        name, train, dev, _subset(data, test_idx), note=f"fold 0 of {n_folds} (seed {seed}) as test"
    )


# -------------------------------------------------------------------------------------------------- Amazon


def load_amazon(
    path: str | os.PathLike, test_fraction: float = 0.1, dev_fraction: float = 0.1, seed: int = 0
) -> TextSplits:
    """Blitzer et al. (2007) multi-domain Amazon reviews from ``reviews.jsonl`` (``title`` + ``text``, ``label``).

    The review text is ``title + ". " + text`` when a title is present. Split: seeded, stratified by
    (domain, label): ``test_fraction`` test, ``dev_fraction`` dev, the rest train.
    """
    path = _require(path)
    texts, labels, domains = [], [], []
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
                title = (item.get("title") or "").strip()
                body = item["text"].strip()
                labels.append(int(item["label"]))
            except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
                raise DatasetFileError(f"{path}:{lineno}: not a review record ({exc})") from None
            texts.append(f"{title}. {body}" if title else body)
            domains.append(str(item.get("domain", "")))
    if not texts:
        raise DatasetFileError(f"{path}: no reviews")
    labels_arr = _labels(labels)
    strata = np.unique(np.asarray([f"{d}|{y}" for d, y in zip(domains, labels)]), return_inverse=True)[1]
    rng = np.random.default_rng(seed)
    role = np.empty(len(texts), dtype=np.int64)  # 0 train, 1 dev, 2 test
    for s in np.unique(strata):
        idx = rng.permutation(np.flatnonzero(strata == s))
        n_test, n_dev = int(round(test_fraction * len(idx))), int(round(dev_fraction * len(idx)))
        role[idx[:n_test]] = 2
        role[idx[n_test : n_test + n_dev]] = 1
        role[idx[n_test + n_dev :]] = 0
    data = (texts, labels_arr)
    splits = [_subset(data, np.flatnonzero(role == r)) for r in (0, 1, 2)]
    domain_arr = np.asarray(domains)
    return TextSplits(
        "amazon",
        *splits,
        note=f"seeded stratified {1 - test_fraction - dev_fraction:.0%}/{dev_fraction:.0%}/{test_fraction:.0%} split",
        extra={"test_domains": domain_arr[role == 2].tolist()},
    )


def load_benchmark(name: str, data_root: str | os.PathLike, **kwargs) -> TextSplits:
    """Any benchmark by name from the layout of a data root (``sst2/``, ``imdb/``, ``sentence-classification/``,
    ``amazon-multidomain/``). CV-only sets get :func:`fixed_split`."""
    root = Path(data_root)
    key = name.lower()
    if key == "sst2":
        return load_sst2(root / "sst2")
    if key == "imdb":
        return load_imdb(root / "imdb", **kwargs)
    if key == "amazon":
        return load_amazon(root / "amazon-multidomain" / "reviews.jsonl", **kwargs)
    if key in SENTENCE_FILES:
        return fixed_split(load_sentence_classification(root / "sentence-classification", key), key, **kwargs)
    raise DatasetFileError(
        f"unknown benchmark {name!r}; known: sst2, imdb, amazon, {', '.join(SENTENCE_FILES)}"
    )
