"""Analogy accuracy (Google, MSR, BATS 3.0) and word-similarity correlation for word vectors.

``evaluate_analogies(model, path)`` answers every question ``a : b :: c : ?`` of a benchmark with
:meth:`WordVectorsModel.analogy_batch <hfmech.analogy.modeling_word_vectors.WordVectorsModel.analogy_batch>` and counts
correct answers per section. Two conventions reproduce the two reference tools exactly:

``convention="word2vec"`` — word2vec.c's ``compute-accuracy FILE 30000 < questions-words.txt``:

- the vocabulary is cut to the first ``restrict_vocab`` words, which are then both the only words a question may use
  and the only candidate answers;
- words are upper-cased like C's ``toupper`` (ASCII letters only) and a question word maps to the *first* (most
  frequent) vocabulary word with that upper-case spelling;
- a question with any of its four words missing is skipped (counted in "questions seen / total" only);
- the answer is the word with the highest ``cos(d, b - a + c)`` other than the three input rows (3CosAdd; the other
  methods score differently but use the same rules), and it must score above 0 (word2vec.c starts its best score at
  0); it is correct when its upper-case spelling equals the gold word's;
- the first 5 sections are semantic, the rest syntactic (word2vec.c's ``QID <= 5``).

``convention="gensim"`` — gensim's ``KeyedVectors.evaluate_word_analogies(path, restrict_vocab, case_insensitive)``:
the same, except that upper-casing is Python's ``str.upper`` (all of Unicode), the candidates are the 5 best other
than the three input rows, and the prediction is the first of them whose upper-case spelling is not one of the
inputs' (the last of the 5 when all are; no score threshold). For a lower-case vocabulary of ASCII words the two
conventions give the same answers; they can differ on cased vocabularies (``King`` vs ``king``) or words whose
upper case collides (``ﬁrst``/``first``, ``groß``/``gross``).

``case_insensitive=False`` compares spellings exactly (both tools have that mode).

Datasets (``dataset="auto"`` picks by path):

- **Google** (``questions-words.txt``, also ``questions-phrases.txt``): ``": section"`` lines, then ``a b c d`` lines;
  lines without exactly 4 words are skipped, as gensim does.
- **MSR** (``msr.csv``, columns ``type, word1, word2, word3, target``): one section per ``type``, all syntactic.
- **BATS 3.0** (a folder of ``*/*.txt`` pair files, one per relation): each line ``word<TAB>answer1/answer2/...``.
  Questions: for every ordered pair of lines ``(i, j)``, ``i != j``, of a relation file,
  ``a = word_i``, ``b = `` the first of line ``i``'s answers that is in the (restricted) vocabulary, ``c = word_j``,
  gold = all of line ``j``'s answers that are in the vocabulary. A question is seen when ``a``, ``b``, ``c`` and at
  least one gold answer are in the vocabulary; it is correct when the prediction is any of the gold answers, and its
  rank is that of the best-ranked one. That is ``n(n - 1)`` questions for a file of ``n`` pairs (98,000 for the
  whole set). Sections are the 40 relation files; the encyclopedic and lexicographic folders are semantic, the
  inflectional and derivational morphology folders syntactic.

The result (:class:`AnalogyEvaluation`) has per-section correct/total, semantic/syntactic/total accuracy, coverage
(``seen / total`` questions), per-question gold ranks (up to ``max_rank``; 0 = worse, or not rankable), the top-n
accuracy curve and ``to_json()``. Ranks count candidate rows scoring strictly higher than the gold row, inputs
excluded; for a lower-case vocabulary ``rank == 1`` exactly when the question is correct.

``evaluate_similarity(model, path)``: Spearman (and Pearson) correlation between cosine similarity and human scores on
WordSim-353, SimLex-999, MEN, RW, MTurk-771, SimVerb-3500 (csv with ``word1,word2,similarity`` columns, or gensim's
tab-separated ``wordsim353.tsv`` style); pairs with a missing word are skipped and reported as coverage. MEN's
part-of-speech suffixes (``sun-n``) are removed when every word in the file has one.
"""

from __future__ import annotations

import csv
import json
import math
import re
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from ..errors import HfmechError
from .modeling_word_vectors import AnalogyQueryError, WordVectorsModel
from .search import normalise_method

__all__ = [
    "AnalogyEvaluation",
    "BenchmarkFileError",
    "SectionResult",
    "SimilarityEvaluation",
    "evaluate_analogies",
    "evaluate_similarity",
    "read_analogy_questions",
    "spearman",
]

GOOGLE_SEMANTIC_SECTIONS = 5
GENSIM_TOPN = 5
CONVENTIONS = ("word2vec", "gensim")


class BenchmarkFileError(HfmechError, ValueError):
    """A benchmark file that cannot be parsed (with the file and line)."""


# --------------------------------------------------------------------------------------------------------------------
# Reading benchmark files
# --------------------------------------------------------------------------------------------------------------------


@dataclass
class QuestionSet:
    """Questions grouped in sections: ``questions[i] = (section, a, b, c, golds)`` (``golds`` a tuple of spellings;
    for BATS ``b`` is a tuple of candidate example answers, the first in-vocabulary one is used)."""

    dataset: str
    sections: list[tuple[str, bool]]  # (name, semantic)
    questions: list[tuple[int, str, object, str, tuple[str, ...]]]
    skipped_lines: int = 0


def _detect(path: Path, dataset: str) -> str:
    if dataset != "auto":
        if dataset not in ("google", "msr", "bats"):
            raise ValueError(f"dataset must be 'auto', 'google', 'msr' or 'bats', got {dataset!r}")
        return dataset
    if path.is_dir():
        return "bats"
    if path.suffix.lower() == ".csv":
        return "msr"
    return "google"


def _read_text(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as err:
        raise BenchmarkFileError(f"{path}: not UTF-8 ({err.reason} at byte {err.start})") from None


def read_analogy_questions(path: str | Path, dataset: str = "auto") -> QuestionSet:
    """Parse a Google-format file, MSR csv or BATS folder (see the module docstring)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"analogy benchmark not found: {path}")
    kind = _detect(path, dataset)
    if kind == "google":
        return _read_google(path)
    if kind == "msr":
        return _read_msr(path)
    return _read_bats(path)


def _read_google(path: Path) -> QuestionSet:
    sections: list[tuple[str, bool]] = []
    questions = []
    skipped = 0
    for number, line in enumerate(_read_text(path).split("\n"), start=1):
        if line.startswith(": "):
            sections.append((line.lstrip(": ").strip(), len(sections) < GOOGLE_SEMANTIC_SECTIONS))
            continue
        words = line.split()
        if not words:
            continue
        if not sections:
            raise BenchmarkFileError(f"{path}, line {number}: a question before the first ': section' line")
        if len(words) != 4:
            skipped += 1
            continue
        a, b, c, d = words
        questions.append((len(sections) - 1, a, b, c, (d,)))
    if not questions:
        raise BenchmarkFileError(
            f"{path}: no questions found (expected ': section' lines and 'a b c d' lines)"
        )
    return QuestionSet("google", sections, questions, skipped)


def _read_msr(path: Path) -> QuestionSet:
    rows = list(csv.DictReader(_read_text(path).splitlines()))
    needed = {"type", "word1", "word2", "word3", "target"}
    if not rows or not needed <= set(rows[0]):
        raise BenchmarkFileError(f"{path}: expected csv columns {sorted(needed)}")
    names: dict[str, int] = {}
    questions = []
    skipped = 0
    for row in rows:
        words = [(row[k] or "").strip() for k in ("word1", "word2", "word3", "target")]
        if not all(words):
            skipped += 1
            continue
        section = names.setdefault(row["type"], len(names))
        questions.append((section, words[0], words[1], words[2], (words[3],)))
    return QuestionSet("msr", [(name, False) for name in names], questions, skipped)


def _read_bats(path: Path) -> QuestionSet:
    files = sorted(p for p in path.glob("*/*.txt") if p.is_file())
    if not files:
        raise BenchmarkFileError(f"{path}: no BATS relation files (*/*.txt) found")
    sections = []
    questions = []
    skipped = 0
    for section, file in enumerate(files):
        semantic = file.parent.name.split("_", 1)[0] in ("3", "4") or "semantic" in file.parent.name.lower()
        sections.append((file.stem, semantic))
        pairs = []
        for line in _read_text(file).split("\n"):
            line = line.strip()
            if not line:
                continue
            parts = line.split("\t") if "\t" in line else line.split()
            if len(parts) != 2:
                skipped += 1
                continue
            answers = tuple(dict.fromkeys(x.strip() for x in parts[1].split("/") if x.strip()))
            if not answers:
                skipped += 1
                continue
            pairs.append((parts[0].strip(), answers))
        for i, (a, b_answers) in enumerate(pairs):
            for j, (c, d_answers) in enumerate(pairs):
                if i != j:
                    questions.append((section, a, b_answers, c, d_answers))
    return QuestionSet("bats", sections, questions, skipped)


# --------------------------------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------------------------------


@dataclass
class SectionResult:
    name: str
    semantic: bool
    correct: int = 0
    seen: int = 0
    """questions with every word in the (restricted) vocabulary: the accuracy denominator"""
    total: int = 0
    """all questions of the section in the file"""

    @property
    def accuracy(self) -> float:
        return self.correct / self.seen if self.seen else 0.0


@dataclass
class AnalogyEvaluation:
    """What :func:`evaluate_analogies` measured. Accuracies are fractions of *seen* questions."""

    dataset: str
    path: str
    method: str
    convention: str
    restrict_vocab: int
    case_insensitive: bool
    sections: list[SectionResult]
    max_rank: int | None
    ranks: np.ndarray
    """per seen question: 1-based rank of the gold answer, 0 when worse than ``max_rank`` or not rankable"""
    correct_mask: np.ndarray
    predictions: list[str]
    question_words: list[tuple[str, str, str, str]]
    question_sections: np.ndarray
    skipped_lines: int = 0
    seconds: float = 0.0
    search: dict = field(default_factory=dict)

    def _sum(self, semantic: bool | None) -> tuple[int, int]:
        chosen = [s for s in self.sections if semantic is None or s.semantic == semantic]
        return sum(s.correct for s in chosen), sum(s.seen for s in chosen)

    @property
    def correct(self) -> int:
        return self._sum(None)[0]

    @property
    def seen(self) -> int:
        return self._sum(None)[1]

    @property
    def total(self) -> int:
        return sum(s.total for s in self.sections)

    @property
    def accuracy(self) -> float:
        correct, seen = self._sum(None)
        return correct / seen if seen else 0.0

    @property
    def semantic_accuracy(self) -> float:
        correct, seen = self._sum(True)
        return correct / seen if seen else 0.0

    @property
    def syntactic_accuracy(self) -> float:
        correct, seen = self._sum(False)
        return correct / seen if seen else 0.0

    @property
    def coverage(self) -> float:
        return self.seen / self.total if self.total else 0.0

    def topn_accuracy(self) -> list[float]:
        """``[acc@1, acc@2, ..., acc@max_rank]``: the fraction of seen questions whose gold rank is ``<= n``."""
        limit = self.max_rank or (int(self.ranks.max()) if self.ranks.size else 0)
        if not self.ranks.size or not limit:
            return []
        counts = np.bincount(self.ranks[self.ranks > 0], minlength=limit + 1)[1 : limit + 1]
        return (np.cumsum(counts) / len(self.ranks)).tolist()

    def to_dict(self, per_question: bool = False) -> dict:
        semantic, syntactic = self._sum(True), self._sum(False)
        out = {
            "dataset": self.dataset,
            "path": self.path,
            "method": self.method,
            "convention": self.convention,
            "restrict_vocab": self.restrict_vocab,
            "case_insensitive": self.case_insensitive,
            "correct": self.correct,
            "seen": self.seen,
            "total": self.total,
            "accuracy": self.accuracy,
            "semantic": {"correct": semantic[0], "seen": semantic[1], "accuracy": self.semantic_accuracy},
            "syntactic": {"correct": syntactic[0], "seen": syntactic[1], "accuracy": self.syntactic_accuracy},
            "coverage": self.coverage,
            "questions_seen_total": f"{self.seen} / {self.total}",
            "sections": [{**asdict(s), "accuracy": s.accuracy} for s in self.sections],
            "topn_accuracy": self.topn_accuracy(),
            "max_rank": self.max_rank,
            "skipped_lines": self.skipped_lines,
            "seconds": self.seconds,
            "search": self.search,
        }
        if per_question:
            out["questions"] = [
                {
                    "section": self.sections[int(s)].name,
                    "words": list(w),
                    "prediction": p,
                    "rank": int(r),
                    "correct": bool(ok),
                }
                for s, w, p, r, ok in zip(
                    self.question_sections,
                    self.question_words,
                    self.predictions,
                    self.ranks,
                    self.correct_mask,
                )
            ]
        return out

    def to_json(self, per_question: bool = False, **kwargs) -> str:
        kwargs.setdefault("indent", 2)
        return json.dumps(self.to_dict(per_question), **kwargs)

    def summary(self) -> str:
        """word2vec.c-style text: one line per section, then totals and coverage."""
        lines = [f"{s.name}: {100 * s.accuracy:.2f} %  ({s.correct} / {s.seen})" for s in self.sections]
        lines.append(
            f"Total accuracy: {100 * self.accuracy:.2f} %   Semantic accuracy: {100 * self.semantic_accuracy:.2f} %"
            f"   Syntactic accuracy: {100 * self.syntactic_accuracy:.2f} %"
        )
        lines.append(f"Questions seen / total: {self.seen} {self.total}   {100 * self.coverage:.2f} %")
        return "\n".join(lines)


# --------------------------------------------------------------------------------------------------------------------
# Analogy evaluation
# --------------------------------------------------------------------------------------------------------------------

_ASCII_UPPER = str.maketrans("abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ")


def _folder(convention: str, case_insensitive: bool):
    if not case_insensitive:
        return lambda w: w
    if convention == "word2vec":
        return lambda w: w.translate(_ASCII_UPPER)  # C toupper() in the "C" locale
    return str.upper


def _canonical(model: WordVectorsModel, restrict: int, convention: str, case_insensitive: bool):
    """``lookup``: folded spelling -> first row with it among the first ``restrict``; ``canon[row]`` = that row.

    Cached on the model (per vocabulary, restriction and folding): building it for 400k words takes a second.
    """
    words = model.index_to_key
    key = (id(words), len(words), restrict, convention if case_insensitive else "exact")
    cache = getattr(model, "_evaluation_lookup_cache", None)
    if cache is not None and cache[0] == key:
        return cache[1]
    if case_insensitive:
        # one translate/upper over the joined text (words never contain a newline)
        joined = "\n".join(words[:restrict])
        joined = joined.translate(_ASCII_UPPER) if convention == "word2vec" else joined.upper()
        keys = joined.split("\n") if restrict else []
    else:
        keys = list(words[:restrict])
    # reversed: the first (most frequent) row wins, as in gensim's ok_vocab
    lookup = dict(zip(reversed(keys), range(len(keys) - 1, -1, -1)))
    canon = np.fromiter(map(lookup.__getitem__, keys), dtype=np.int64, count=len(keys))
    model._evaluation_lookup_cache = (key, (lookup, canon))
    return lookup, canon


def evaluate_analogies(
    model: WordVectorsModel,
    path: str | Path,
    method: str = "3cosadd",
    restrict_vocab: int | None = 30000,
    case_insensitive: bool = True,
    dataset: str = "auto",
    convention: str = "word2vec",
    max_rank: int | None = 5,
    strategy: str = "auto",
) -> AnalogyEvaluation:
    """Accuracy of ``model`` on an analogy benchmark; see the module docstring for the rules.

    ``restrict_vocab``: questions and candidates use only the first N words (``None``: all; larger than the
    vocabulary: clamped). ``max_rank``: gold ranks are computed exactly up to this value, worse ones are reported as
    0 (``None``: every rank, which rules out the pruned search over large vocabularies; 5 keeps the whole Google set
    over 400k words at about 4 s here, 10 costs ~25 % more). ``strategy`` is passed to ``analogy_batch``.
    """
    started = time.perf_counter()
    method = normalise_method(method)
    if convention not in CONVENTIONS:
        raise AnalogyQueryError(f"convention must be one of {', '.join(CONVENTIONS)}, got {convention!r}")
    if max_rank is not None and (not isinstance(max_rank, int) or max_rank < 1):
        raise AnalogyQueryError(f"max_rank must be a positive integer or None, got {max_rank!r}")
    restrict = model.resolve_restrict_vocab(restrict_vocab)
    qset = read_analogy_questions(path, dataset)
    fold = _folder(convention, case_insensitive)
    lookup, canon = _canonical(model, restrict, convention, case_insensitive)

    sections = [SectionResult(name, semantic) for name, semantic in qset.sections]
    rows: list[tuple[int, int, int]] = []
    golds: list[list[int]] = []
    kept_sections: list[int] = []
    kept_words: list[tuple[str, str, str, str]] = []
    memo: dict[str, int | None] = {}

    def row_of(word: str) -> int | None:
        if word not in memo:
            memo[word] = lookup.get(fold(word))
        return memo[word]

    for section, a, b, c, d_options in qset.questions:
        sections[section].total += 1
        ra, rc = row_of(a), row_of(c)
        if isinstance(b, tuple):  # BATS: the first example answer in the vocabulary
            b = next((x for x in b if row_of(x) is not None), b[0])
        rb = row_of(b)
        gold_rows = [r for r in dict.fromkeys(map(row_of, d_options)) if r is not None]
        if ra is None or rb is None or rc is None or not gold_rows:
            continue
        sections[section].seen += 1
        rows.append((ra, rb, rc))
        golds.append(gold_rows)
        kept_sections.append(section)
        kept_words.append((a, b, c, "/".join(d_options)))

    n = len(rows)
    width = max((len(g) for g in golds), default=1)
    if width == 1:
        gold = torch.tensor([g[0] for g in golds], dtype=torch.long).reshape(n, 1)
    else:
        padded = np.full((n, width), -1, dtype=np.int64)
        for i, g in enumerate(golds):
            padded[i, : len(g)] = g
        gold = torch.from_numpy(padded)
    abc = torch.tensor(rows, dtype=torch.long).reshape(n, 3)
    topn = GENSIM_TOPN if convention == "gensim" else 1
    result = model.analogy_batch(
        abc[:, 0],
        abc[:, 1],
        abc[:, 2],
        method=method,
        topn=topn,
        restrict_vocab=restrict,
        gold=gold,
        max_rank=max_rank,
        strategy=strategy,
    )
    indices = result.indices.numpy()
    scores = result.scores.numpy()
    if convention == "word2vec":
        predicted = indices[:, 0].copy()
        if method == "3cosadd":  # word2vec.c keeps a candidate only if its score beats the initial best of 0
            predicted[~(scores[:, 0] > 0)] = -1
    else:
        # the first of the 5 whose spelling is not an input's, else the last of them (gensim's loop)
        inputs = canon[abc.numpy()] if n else np.empty((0, 3), dtype=np.int64)
        present = indices >= 0
        cand = np.where(present, canon[np.clip(indices, 0, max(restrict - 1, 0))], -1)
        fresh = present & ~(cand[:, :, None] == inputs[:, None, :]).any(2)
        last = np.where(present.any(1), present.shape[1] - 1 - np.argmax(present[:, ::-1], axis=1), 0)
        choice = np.where(fresh.any(1), np.argmax(fresh, axis=1), last)
        predicted = (
            np.where(present.any(1), indices[np.arange(n), choice], -1) if n else np.empty(0, np.int64)
        )
    gold_np = gold.numpy()
    correct = np.zeros(n, dtype=bool)
    valid = predicted >= 0
    pred_canon = np.where(valid, canon[np.clip(predicted, 0, max(restrict - 1, 0))], -2)
    correct = valid & (pred_canon[:, None] == gold_np).any(1) if n else correct
    for section, ok in zip(kept_sections, correct):
        sections[section].correct += int(ok)
    words = model.index_to_key
    return AnalogyEvaluation(
        dataset=qset.dataset,
        path=str(path),
        method=method,
        convention=convention,
        restrict_vocab=restrict,
        case_insensitive=case_insensitive,
        sections=sections,
        max_rank=max_rank,
        ranks=result.gold_rank.numpy() if result.gold_rank is not None else np.zeros(n, dtype=np.int64),
        correct_mask=correct,
        predictions=[words[p] if p >= 0 else "" for p in predicted],
        question_words=kept_words,
        question_sections=np.asarray(kept_sections, dtype=np.int64),
        skipped_lines=qset.skipped_lines,
        seconds=time.perf_counter() - started,
        search=dict(result.info),
    )


# --------------------------------------------------------------------------------------------------------------------
# Similarity
# --------------------------------------------------------------------------------------------------------------------


def _ranks(x: np.ndarray) -> np.ndarray:
    """Ranks 1..n with ties given their average rank (scipy.stats.rankdata's default)."""
    order = np.argsort(x, kind="mergesort")
    sorted_x = x[order]
    ranks = np.empty(len(x), dtype=np.float64)
    boundaries = np.flatnonzero(np.diff(sorted_x)) + 1
    starts = np.concatenate([[0], boundaries])
    ends = np.concatenate([boundaries, [len(x)]])
    for s, e in zip(starts, ends):
        ranks[order[s:e]] = (s + e + 1) / 2.0
    return ranks


def _pearson(x: np.ndarray, y: np.ndarray) -> float:
    x = x - x.mean()
    y = y - y.mean()
    denom = math.sqrt(float((x * x).sum()) * float((y * y).sum()))
    return float((x * y).sum() / denom) if denom > 0 else float("nan")


def spearman(x, y) -> float:
    """Spearman's rank correlation with average ranks for ties (equals ``scipy.stats.spearmanr``)."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError("spearman needs two 1-D sequences of the same length")
    return _pearson(_ranks(x), _ranks(y))


@dataclass
class SimilarityEvaluation:
    path: str
    spearman: float
    pearson: float
    pairs_found: int
    pairs_total: int
    oov_words: list[str]

    @property
    def coverage(self) -> float:
        return self.pairs_found / self.pairs_total if self.pairs_total else 0.0

    def to_dict(self) -> dict:
        return {**asdict(self), "coverage": self.coverage}

    def to_json(self, **kwargs) -> str:
        kwargs.setdefault("indent", 2)
        return json.dumps(self.to_dict(), **kwargs)


_POS_SUFFIX = re.compile(r"^(.+)-[a-z]$")


def _read_pairs(path: Path) -> list[tuple[str, str, float]]:
    text = _read_text(path)
    lines = [line for line in text.split("\n") if line.strip() and not line.startswith("#")]
    if not lines:
        raise BenchmarkFileError(f"{path}: no word pairs")
    pairs: list[tuple[str, str, float]] = []
    header = next(csv.reader([lines[0]]))
    if {"word1", "word2", "similarity"} <= {h.strip() for h in header}:
        for row in csv.DictReader(lines):
            try:
                pairs.append((row["word1"].strip(), row["word2"].strip(), float(row["similarity"])))
            except (TypeError, ValueError):
                continue
    else:
        for number, line in enumerate(lines, start=1):
            parts = line.split("\t") if "\t" in line else line.split()
            if len(parts) < 3:
                continue
            try:
                pairs.append((parts[0].strip(), parts[1].strip(), float(parts[2])))
            except ValueError:
                if number == 1:
                    continue  # a header
                raise BenchmarkFileError(f"{path}, line {number}: expected 'word1 word2 score'") from None
    if pairs and all(_POS_SUFFIX.match(w) for p in pairs for w in p[:2]):
        pairs = [(_POS_SUFFIX.match(a).group(1), _POS_SUFFIX.match(b).group(1), s) for a, b, s in pairs]
    return pairs


def evaluate_similarity(
    model: WordVectorsModel,
    path: str | Path,
    restrict_vocab: int | None = None,
    case_insensitive: bool = True,
) -> SimilarityEvaluation:
    """Spearman/Pearson correlation of cosine similarity with the human scores of a word-pair file.

    Words are matched like gensim's ``evaluate_word_pairs`` (``str.upper`` folding, first occurrence among the first
    ``restrict_vocab`` words, ``None`` = all); pairs with a missing word are skipped and reported as coverage.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"similarity benchmark not found: {path}")
    pairs = _read_pairs(path)
    restrict = model.resolve_restrict_vocab(restrict_vocab)
    fold = _folder("gensim", case_insensitive)
    lookup, _ = _canonical(model, restrict, "gensim", case_insensitive)
    unit = model.unit_vectors()
    gold, predicted, missing = [], [], []
    for a, b, score in pairs:
        ra, rb = lookup.get(fold(a)), lookup.get(fold(b))
        if ra is None or rb is None:
            missing.extend(w for w, r in ((a, ra), (b, rb)) if r is None)
            continue
        gold.append(score)
        predicted.append(float(unit[ra] @ unit[rb]))
    if len(gold) < 2:
        raise BenchmarkFileError(f"{path}: fewer than 2 pairs have both words in the vocabulary")
    return SimilarityEvaluation(
        path=str(path),
        spearman=spearman(gold, predicted),
        pearson=_pearson(np.asarray(gold), np.asarray(predicted)),
        pairs_found=len(gold),
        pairs_total=len(pairs),
        oov_words=sorted(set(missing)),
    )
