"""``WordAnalogyPipeline`` — task ``"word-analogy"``: solve ``a : b :: c : ?`` by vector arithmetic.

Mikolov, Yih & Zweig (2013): relations between words are (nearly) constant offsets between their vectors, so the
answer to ``man : king :: woman : ?`` is the word nearest to ``king - man + woman`` (3CosAdd). Levy & Goldberg
(2014) score the same question with 3CosMul and PairDirection; all three are available.

Public API (for the CLI and the Space)::

    import hfmech
    from transformers import pipeline

    analogy = pipeline("word-analogy", model=hfmech.zoo.build("glove-6b-50d"))   # or a folder / Hub id
    answers = analogy("man:king::woman:?")                  # or WordAnalogyPipeline(model=WordVectorsModel)
    answers[0]        # {"word": "queen", "score": 0.8524, "rank": 1}
    answers.query     # {"positive": ["king", "woman"], "negative": ["man"], "form": "analogy",
                      #  "text": "man : king :: woman : ?", "expression": "king - man + woman"}
    answers.figure    # matplotlib Figure with explain=True, else None
    answers.settings  # {"method": "3cosadd", "topn": 10, "restrict_vocab": 30000}

Inputs (one query, or a list of them for a list of results):

- ``"a:b::c:?"`` (spaces allowed, the ``?`` may be left out) -> positive ``[b, c]``, negative ``[a]``;
- an expression ``"king - man + woman"``: words joined by ``+`` and ``-`` (also ``−``); the first word is positive
  unless a ``-`` precedes it. A ``-`` is an operator when it stands alone or starts a word; inside a word
  (``t-shirt``) it is part of the word, except when that word is not in the vocabulary but its parts are
  (``king-man+woman`` reads as ``king - man + woman``);
- a dict ``{"positive": [...], "negative": [...]}`` (each a word or a list of words).

Call arguments (defaults from ``model.config.analogy``): ``method`` (``"3cosadd"``, ``"3cosmul"``,
``"pairdirection"``; PairDirection needs the ``a:b::c:?`` shape), ``topn`` (answers returned), ``restrict_vocab``
(only the N most frequent words are candidates; larger than the vocabulary: clamped to it; ``None``: all words),
``explain`` (adds the figure).

Output: an :class:`AnalogyAnswers` — a list of ``{"word", "score", "rank"}`` dicts, best first, with ``.query``,
``.settings`` and ``.figure``. Input words are never answers.

Rules for words: each is stripped and NFC-normalised; a lower-case vocabulary (``config.lowercase``, e.g. GloVe) gets
lower-cased words, a cased one is tried as written, then lower-cased. Repeated words are allowed and count as often as they
appear (``"king - king + queen"`` is ``queen`` alone, with ``king`` and ``queen`` excluded); a query whose words
cancel out completely is an error, and so is PairDirection with ``a == b``. Input words outside ``restrict_vocab`` are
still used as inputs.

Errors (both ``ValueError``): :class:`OutOfVocabularyError` names every unknown word with up to 3 close spellings;
:class:`AnalogyQueryError` for an empty or malformed query or a bad setting, saying what was expected.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

import numpy as np

from ..hub.pipelines import ModelOnlyPipeline
from .modeling_word_vectors import AnalogyQueryError, OutOfVocabularyError, WordVectorsModel

EXPECTED = (
    "expected 'a:b::c:?', an expression like 'king - man + woman', or {'positive': [...], 'negative': [...]}"
)
_ANALOGY = re.compile(r"^\s*([^:\s]+)\s*:\s*([^:\s]+)\s*::\s*([^:\s]+)\s*:\s*\??\s*$")
_MINUS = "-\u2212\u2013\u2014"  # hyphen-minus, minus sign, en dash, em dash
#: Bounds (docs/limits.md): characters of a query string, words in a query; ``topn`` is clamped to the candidates.
MAX_QUERY_CHARS = 10_000
MAX_QUERY_WORDS = 100


class AnalogyAnswers(list):
    """The ranked answers (``{"word", "score", "rank"}`` dicts) with the parsed ``query``, ``settings`` and
    ``figure`` (a matplotlib Figure when ``explain=True``) as attributes."""

    def __init__(self, answers, query: dict, settings: dict, figure=None):
        super().__init__(answers)
        self.query = query
        self.settings = settings
        self.figure = figure

    def to_dict(self) -> dict:
        return {"query": self.query, "settings": self.settings, "answers": list(self)}


def _clean(word: Any) -> str:
    if not isinstance(word, str):
        raise AnalogyQueryError(f"words must be strings, got {word!r}; {EXPECTED}")
    word = unicodedata.normalize("NFC", word).strip()
    if not word:
        raise AnalogyQueryError(f"empty word in the query; {EXPECTED}")
    return word


def _word_list(value: Any, key: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list | tuple):
        raise AnalogyQueryError(f"{key!r} must be a word or a list of words, got {value!r}")
    return [_clean(w) for w in value]


def _expression_tokens(text: str) -> list[tuple[int, str]]:
    """``[(sign, word), ...]`` from ``king - man + woman``; raises on dangling or doubled operators."""
    tokens: list[str] = []
    for chunk in text.replace("+", " + ").split():
        if chunk[0] in _MINUS:  # "-" alone, or "-man"
            tokens.append("-")
            chunk = chunk[1:]
            if not chunk:
                continue
        tokens.append(chunk)
    terms: list[tuple[int, str]] = []
    sign: int | None = None
    for token in tokens:
        if token in ("+", "-"):
            if sign is not None or (not terms and token == "+"):
                raise AnalogyQueryError(f"two operators in a row in {text!r}; {EXPECTED}")
            sign = 1 if token == "+" else -1
            continue
        if terms and sign is None:
            raise AnalogyQueryError(f"missing '+' or '-' between {terms[-1][1]!r} and {token!r}; {EXPECTED}")
        if token[0] in _MINUS:
            raise AnalogyQueryError(f"two operators in a row in {text!r}; {EXPECTED}")
        terms.append((sign or 1, _clean(token)))
        sign = None
    if sign is not None:
        raise AnalogyQueryError(f"the expression {text!r} ends with an operator; {EXPECTED}")
    return terms


def parse_query(query: Any, model: WordVectorsModel | None = None) -> dict:
    """Parse one query into ``{"positive", "negative", "form", "text"}`` (see the module docstring).

    With ``model``, a hyphenated word that is not in the vocabulary but whose parts are is read as a subtraction.
    """
    if isinstance(query, str) and len(query) > MAX_QUERY_CHARS:
        raise AnalogyQueryError(
            f"the query is {len(query):,} characters long; at most {MAX_QUERY_CHARS:,} are accepted"
        )
    if isinstance(query, dict):
        unknown = set(query) - {"positive", "negative"}
        if unknown:
            raise AnalogyQueryError(f"unknown keys {sorted(unknown)} in the query dict; {EXPECTED}")
        for key in ("positive", "negative"):
            value = query.get(key)
            if isinstance(value, list | tuple) and len(value) > MAX_QUERY_WORDS:
                raise AnalogyQueryError(
                    f"{key!r} lists {len(value)} words; at most {MAX_QUERY_WORDS} are accepted"
                )
        positive = _word_list(query.get("positive"), "positive")
        negative = _word_list(query.get("negative"), "negative")
        if not positive:
            raise AnalogyQueryError(f"the query needs at least one positive word; {EXPECTED}")
        return {
            "positive": positive,
            "negative": negative,
            "form": "dict",
            "text": _expression(positive, negative),
        }
    if not isinstance(query, str):
        raise AnalogyQueryError(f"unsupported query type {type(query).__name__}; {EXPECTED}")
    text = unicodedata.normalize("NFC", query).strip()
    if not text:
        raise AnalogyQueryError(f"empty query; {EXPECTED}")
    if ":" in text:
        match = _ANALOGY.match(text)
        if not match:
            raise AnalogyQueryError(
                f"malformed analogy {text!r}: expected 'a:b::c:?' (for example 'man:king::woman:?')"
            )
        a, b, c = (_clean(w) for w in match.groups())
        return {"positive": [b, c], "negative": [a], "form": "analogy", "text": f"{a} : {b} :: {c} : ?"}
    terms = _expression_tokens(text)
    if len(terms) > MAX_QUERY_WORDS:
        raise AnalogyQueryError(
            f"the expression has {len(terms)} words; at most {MAX_QUERY_WORDS} are accepted"
        )
    if model is not None:
        expanded: list[tuple[int, str]] = []
        for sign, word in terms:
            parts = [p for p in re.split(rf"[{_MINUS}]", word)]
            if len(parts) > 1 and all(parts) and word not in model and all(p in model for p in parts):
                expanded.append((sign, parts[0]))
                expanded.extend((-sign, p) for p in parts[1:])
            else:
                expanded.append((sign, word))
        terms = expanded
    positive = [w for s, w in terms if s > 0]
    negative = [w for s, w in terms if s < 0]
    if not positive:
        raise AnalogyQueryError(f"the expression {text!r} has no positive word; {EXPECTED}")
    return {
        "positive": positive,
        "negative": negative,
        "form": "expression",
        "text": _expression(positive, negative),
    }


def _expression(positive: list[str], negative: list[str]) -> str:
    if len(positive) == 2 and len(negative) == 1:
        # b - a + c: the analogy's reading order
        return f"{positive[0]} - {negative[0]} + {positive[1]}"
    return " ".join([positive[0], *(f"+ {w}" for w in positive[1:]), *(f"- {w}" for w in negative)])


class WordAnalogyPipeline(ModelOnlyPipeline):
    """Word analogies and vector arithmetic over a :class:`WordVectorsModel` (see the module docstring)."""

    def __init__(self, model=None, *args, **kwargs):
        if not isinstance(model, WordVectorsModel):
            raise TypeError(f"word-analogy needs an hfmech WordVectorsModel, got {type(model).__name__}")
        super().__init__(model, *args, **kwargs)
        self.model.eval()

    def _sanitize_parameters(self, method=None, topn=None, restrict_vocab="default", explain=None, **unused):
        if unused:
            raise AnalogyQueryError(f"unknown argument(s) {', '.join(sorted(unused))} for word-analogy")
        defaults = dict(self.model.config.analogy or {})
        settings = {
            "method": self.model._check_method(
                method if method is not None else defaults.get("method", "3cosadd")
            ),
            "topn": self.model._check_topn(topn if topn is not None else defaults.get("topn", 10)),
            "restrict_vocab": defaults.get("restrict_vocab")
            if restrict_vocab == "default"
            else restrict_vocab,
        }
        settings["restrict_vocab"] = self.model.resolve_restrict_vocab(settings["restrict_vocab"])
        return {}, {"settings": settings}, {"explain": bool(explain)}

    def preprocess(self, inputs):
        query = parse_query(inputs, self.model)
        positive, negative = self.model._query_rows(query["positive"], query["negative"])
        words = self.model.index_to_key
        # the vocabulary spelling of each word (after lower-casing / NFC)
        query["positive"] = [words[i] for i in positive]
        query["negative"] = [words[i] for i in negative]
        query["expression"] = _expression(query["positive"], query["negative"])
        return {"query": query}

    def _forward(self, model_inputs, settings):
        query = model_inputs["query"]
        answers = self.model.most_similar(
            positive=query["positive"],
            negative=query["negative"],
            # clamped before anything is allocated: no more answers than candidates (topn=10**9 asked for 8 GB)
            topn=min(settings["topn"], settings["restrict_vocab"] or len(self.model.index_to_key) or 1),
            restrict_vocab=settings["restrict_vocab"],
            method=settings["method"],
        )
        return {"query": query, "answers": answers, "settings": settings}

    def postprocess(self, model_outputs, explain: bool = False):
        answers = [
            {"word": word, "score": float(score), "rank": rank}
            for rank, (word, score) in enumerate(model_outputs["answers"], start=1)
        ]
        query = model_outputs["query"]
        figure = explain_figure(self.model, query, answers) if explain else None
        return AnalogyAnswers(answers, query, dict(model_outputs["settings"]), figure)


def explain_figure(model: WordVectorsModel, query: dict, answers: list[dict], extra: int = 3):
    """A matplotlib Figure: the query words and the best answers projected to 2-D by PCA of their unit vectors.

    For an analogy ``a : b :: c : d`` (``d`` the best answer) arrows show ``a -> b`` and ``c -> d`` (the relation,
    nearly parallel when the analogy holds) and dashed ``a -> c`` and ``b -> d``: the parallelogram. Other queries
    show every word with the positive and negative ones marked.
    """
    from matplotlib.figure import Figure

    positive, negative = list(query["positive"]), list(query["negative"])
    best = [a["word"] for a in answers[: 1 + extra]]
    labels = list(dict.fromkeys([*negative, *positive, *best]))
    unit = model.unit_vectors()
    points = unit[[model.index(w) for w in labels]].numpy().astype(np.float64)
    centred = points - points.mean(0)
    if len(labels) >= 2:
        _, _, vt = np.linalg.svd(centred, full_matrices=False)
        basis = vt[:2].T if vt.shape[0] >= 2 else np.pad(vt.T, ((0, 0), (0, 1)))
        xy = centred @ basis
    else:
        xy = np.zeros((len(labels), 2))
    pos = {w: xy[i] for i, w in enumerate(labels)}

    fig = Figure(figsize=(6.4, 4.8), dpi=100)
    ax = fig.add_subplot(1, 1, 1)
    colours = {"negative": "#d62728", "positive": "#1f77b4", "answer": "#2ca02c", "other": "#7f7f7f"}
    for w in labels:
        kind = (
            "negative"
            if w in negative
            else "positive"
            if w in positive
            else "answer"
            if best and w == best[0]
            else "other"
        )
        ax.scatter(*pos[w], color=colours[kind], s=40 if kind != "other" else 20, zorder=3)
        ax.annotate(w, pos[w], textcoords="offset points", xytext=(5, 4), fontsize=10, color=colours[kind])

    def arrow(start, end, style, colour):
        ax.annotate(
            "",
            xy=pos[end],
            xytext=pos[start],
            arrowprops={"arrowstyle": "->", "linestyle": style, "color": colour, "lw": 1.5},
        )

    if len(positive) == 2 and len(negative) == 1 and best:
        a, b, c, d = negative[0], positive[0], positive[1], best[0]
        arrow(a, b, "-", "#9467bd")
        arrow(c, d, "-", "#9467bd")
        arrow(a, c, "--", "#bbbbbb")
        arrow(b, d, "--", "#bbbbbb")
        title = f"{a} : {b} :: {c} : {d}"
    else:
        title = query.get("expression") or query.get("text", "")
        if best:
            title += f"  ≈  {best[0]}"
    ax.set_title(title)
    ax.set_xlabel("PC 1")
    ax.set_ylabel("PC 2")
    ax.margins(0.2)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


__all__ = [
    "AnalogyAnswers",
    "AnalogyQueryError",
    "OutOfVocabularyError",
    "WordAnalogyPipeline",
    "explain_figure",
    "parse_query",
]
