"""Static word vectors as a transformers model, with a gensim ``KeyedVectors``-like API and analogy arithmetic.

Mikolov, Yih & Zweig (2013), "Linguistic Regularities in Continuous Space Word Representations", and Mikolov et
al. (2013), "Efficient Estimation of Word Representations in Vector Space": vectors learned from contexts encode
relations as offsets, so ``man : king :: woman : ?`` is answered by the word nearest to ``king - man + woman``.
Levy & Goldberg (2014), "Linguistic Regularities in Sparse and Explicit Word Representations", add 3CosMul and
PairDirection (formulas in :mod:`hfmech.analogy.search`).

Storage (a Hub repo)::

    config.json          WordVectorsConfig: vector_size, vocab_size, lowercase, source, analogy defaults
    model.safetensors    embeddings.weight (vocab_size, vector_size); float32, or float16 with save_pretrained(dtype=)
    vocab.txt            UTF-8, one "word<TAB>count" line per row of the matrix, most frequent first
                         (the count is left out, "word" alone, when the source has no counts, e.g. GloVe)

``vocab.txt`` is written by :meth:`WordVectorsModel.save_pretrained` and read by :meth:`WordVectorsModel.from_pretrained`
through ``transformers.utils.cached_file``, so local folders and Hub ids (``AutoModel.from_pretrained("org/x")``)
both work. No pickle anywhere. In memory the vectors are always float32; the unit-normalised copy used by every
similarity is computed lazily and recomputed whenever the weights change (it is not a buffer).

API (``model`` a :class:`WordVectorsModel`)::

    len(model); "king" in model; model.index("king"); model.index_to_key[0]; model.key_to_index["the"]
    model["king"] -> np.ndarray (D,); model[["king", "queen"]] -> (2, D); model.get_vector("king", norm=True)
    model.vectors -> read-only (V, D) float32 view; model.counts -> int64 array or None
    model.most_similar(positive=["king", "woman"], negative=["man"], topn=10, restrict_vocab=None, method="3cosadd")
    model.analogy("man", "king", "woman")          # man : king :: woman : ?  -> [("queen", 0.85)]
    model.similarity("king", "queen"); model.analogy_batch(a_idx, b_idx, c_idx, topn=5, gold=d_idx)

``restrict_vocab=N`` makes only the first ``N`` words candidates (all methods); ``None`` means the whole vocabulary and
a value above the vocabulary size is clamped to it. Inputs outside the restriction are still usable as inputs (as in
gensim). Input words are never returned as answers. Lookups try the word as given, then its stripped NFC form
(lower-cased for a ``lowercase`` vocabulary), then, in a cased vocabulary, its lower-case form; a miss raises
:class:`OutOfVocabularyError` with close spellings.
"""

from __future__ import annotations

import difflib
import math
import os
import unicodedata
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn
from transformers import AutoModel, PretrainedConfig, PreTrainedModel
from transformers import initialization as init
from transformers.modeling_outputs import BaseModelOutput

from hfmech.hub import register_model

from ..errors import HfmechError
from ..hub.files import write_text_atomic
from .search import COSMUL_EPSILON, METHODS, SearchResult, exhaustive_search, normalise_method, unit_rows

VOCAB_FILE = "vocab.txt"
DEFAULT_ANALOGY = {"method": "3cosadd", "restrict_vocab": 30000, "topn": 10}
#: Suggestions for a misspelt word come from this many most frequent words.
SUGGEST_VOCAB = 100_000

__all__ = [
    "COSMUL_EPSILON",
    "DEFAULT_ANALOGY",
    "METHODS",
    "VOCAB_FILE",
    "AnalogyQueryError",
    "OutOfVocabularyError",
    "VocabularyFileError",
    "WordVectorsConfig",
    "WordVectorsModel",
    "read_vocab",
    "write_vocab",
]


# --------------------------------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------------------------------


class AnalogyQueryError(HfmechError, ValueError):
    """A malformed analogy query or an invalid analogy setting (method, topn, restrict_vocab)."""


class OutOfVocabularyError(HfmechError, KeyError, ValueError):
    """Words that are not in the vocabulary; ``.words`` lists them, ``.suggestions`` maps each to close spellings.

    A ``KeyError`` (dictionary-style lookups) and a ``ValueError`` (bad user input); ``str()`` is the plain message.
    """

    def __init__(self, words: Sequence[str], suggestions: dict[str, list[str]] | None = None):
        self.words = list(words)
        self.suggestions = dict(suggestions or {})
        parts = []
        for word in self.words:
            close = self.suggestions.get(word) or []
            parts.append(f"{word!r} (did you mean: {', '.join(close)}?)" if close else repr(word))
        noun = "word is" if len(self.words) == 1 else "words are"
        self.message = f"{len(self.words)} {noun} not in the vocabulary: " + "; ".join(parts)
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message


class VocabularyFileError(HfmechError, ValueError):
    """A ``vocab.txt`` that cannot be read back (bad line, duplicate word, wrong length)."""


# --------------------------------------------------------------------------------------------------------------------
# vocab.txt
# --------------------------------------------------------------------------------------------------------------------

_FORBIDDEN = ("\t", "\n", "\r")


def write_vocab(path: str | os.PathLike, words: Sequence[str], counts: Sequence[int] | None = None) -> None:
    """Write ``word\\tcount`` lines (``word`` alone when ``counts`` is None), UTF-8, ``\\n`` line ends."""
    path = Path(path)
    lines = []
    for i, word in enumerate(words):
        if not word or any(ch in word for ch in _FORBIDDEN):
            raise VocabularyFileError(
                f"word #{i} {word!r} cannot be stored in {VOCAB_FILE} (empty, tab or newline)"
            )
        lines.append(word if counts is None else f"{word}\t{int(counts[i])}")
    write_text_atomic(path, "".join(line + "\n" for line in lines))


def read_vocab(path: str | os.PathLike) -> tuple[list[str], np.ndarray | None]:
    """Read :func:`write_vocab`'s format; returns ``(words, counts or None)``."""
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as err:
        raise VocabularyFileError(f"{path}: not UTF-8 ({err})") from err
    # split on "\n" only: words may contain other characters that str.splitlines() treats as line breaks
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    words: list[str] = []
    counts: list[int] = []
    with_count = None
    seen: set[str] = set()
    for number, line in enumerate(lines, start=1):
        word, tab, count = line.partition("\t")
        if with_count is None:
            with_count = bool(tab)
        if bool(tab) != with_count or not word:
            raise VocabularyFileError(
                f"{path}, line {number}: expected 'word\\tcount' or 'word' as the first line, got {line!r}"
            )
        if tab:
            try:
                counts.append(int(count))
            except ValueError as err:
                raise VocabularyFileError(
                    f"{path}, line {number}: count {count!r} is not an integer"
                ) from err
        if word in seen:
            raise VocabularyFileError(f"{path}, line {number}: duplicate word {word!r}")
        seen.add(word)
        words.append(word)
    return words, (np.asarray(counts, dtype=np.int64) if with_count else None)


# --------------------------------------------------------------------------------------------------------------------
# Config
# --------------------------------------------------------------------------------------------------------------------


class WordVectorsConfig(PretrainedConfig):
    """Configuration of a :class:`WordVectorsModel`.

    Args:
        vector_size: dimensionality ``D`` of the vectors.
        vocab_size: number of words ``V`` (rows of the matrix, lines of ``vocab.txt``).
        lowercase: the vocabulary is lower-case only (GloVe 6B): queries are lower-cased before lookup.
        has_counts: ``vocab.txt`` carries corpus counts.
        source: free-text provenance (file, package, training recipe).
        analogy: defaults of the ``word-analogy`` pipeline: ``method`` (``3cosadd``, ``3cosmul``, ``pairdirection``),
            ``restrict_vocab`` (candidates are the first N words) and ``topn``.
        storage_dtype: the dtype ``model.safetensors`` stores the vectors in (``"float16"`` after
            ``save_pretrained(dtype=torch.float16)``; ``None``: float32). Loading casts up to float32; the weights
            check requires exactly this dtype, so a header re-typed to another 2-byte float is refused.
    """

    model_type = "hfmech-word-vectors"

    vector_size: int = 50
    vocab_size: int = 0
    lowercase: bool = False
    has_counts: bool = False
    source: str = ""
    analogy: dict | None = None
    storage_dtype: str | None = None

    def __post_init__(self, **kwargs):
        super().__post_init__(**kwargs)
        analogy = dict(DEFAULT_ANALOGY)
        analogy.update(self.analogy or {})
        analogy["method"] = normalise_method(analogy["method"])
        for key in ("restrict_vocab", "topn"):
            value = analogy[key]
            if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
                raise ValueError(f"analogy[{key!r}] must be a positive integer or None, got {value!r}")
        self.analogy = analogy
        self.vector_size = int(self.vector_size)
        self.vocab_size = int(self.vocab_size)


# --------------------------------------------------------------------------------------------------------------------
# Model
# --------------------------------------------------------------------------------------------------------------------


def _edit_distance(a: str, b: str, limit: int) -> int:
    """Optimal-string-alignment distance (Levenshtein plus swaps of neighbours), or ``limit + 1`` once above it."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, start=1):
            cost = 0 if ca == cb else 1
            value = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                value = min(value, previous2[j - 2] + 1)
            current[j] = value
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return previous[-1]


def _nfc(word: str) -> str:
    return unicodedata.normalize("NFC", word)


class WordVectorsModel(PreTrainedModel):
    """A table of word vectors (``nn.Embedding(vocab_size, vector_size)``) plus its vocabulary.

    ``forward(input_ids)`` returns ``BaseModelOutput(last_hidden_state=vectors[input_ids])``; the useful API is the
    KeyedVectors-like one in the module docstring. Build one from arrays with :meth:`from_arrays`, from files with
    :mod:`hfmech.analogy.io`, or load one with ``from_pretrained`` / ``AutoModel.from_pretrained``.
    """

    config_class = WordVectorsConfig
    base_model_prefix = "word_vectors"
    main_input_name = "input_ids"
    input_modalities = ("text",)

    def __init__(self, config: WordVectorsConfig):
        super().__init__(config)
        self.embeddings = nn.Embedding(config.vocab_size, config.vector_size)
        self._words: list[str] = []
        self._key_to_index: dict[str, int] = {}
        self._counts: np.ndarray | None = None
        self._unit_cache: tuple[tuple, torch.Tensor] | None = None
        self._suggest_index: dict[tuple[str, int], list[str]] | None = None
        self.post_init()

    @torch.no_grad()
    def _init_weights(self, module: nn.Module) -> None:
        if isinstance(module, nn.Embedding):
            init.normal_(module.weight, mean=0.0, std=1.0 / math.sqrt(max(module.embedding_dim, 1)))

    def forward(self, input_ids: torch.Tensor | None = None, return_dict: bool | None = None, **kwargs):
        if input_ids is None:
            raise ValueError("input_ids is required: row numbers of words (model.index(word))")
        hidden = self.embeddings(input_ids)
        return_dict = return_dict if return_dict is not None else self.config.return_dict
        return BaseModelOutput(last_hidden_state=hidden) if return_dict else (hidden,)

    # ---------------------------------------------------------------------------------------------- construction
    @classmethod
    def from_arrays(
        cls,
        words: Sequence[str],
        counts: Sequence[int] | np.ndarray | None,
        vectors: np.ndarray | torch.Tensor,
        *,
        sort_by_count: bool = True,
        **config_kwargs,
    ) -> WordVectorsModel:
        """Build a model from a word list, optional corpus counts and a ``(len(words), D)`` matrix.

        Rows keep the given order, which should be most frequent first (``restrict_vocab`` keeps the first N). When
        ``counts`` are given and not already non-increasing, words are sorted by count (stable) unless
        ``sort_by_count=False``. ``config_kwargs`` go to :class:`WordVectorsConfig` (``lowercase``, ``source``,
        ``analogy``). Vectors are stored as float32.
        """
        words = [str(w) for w in words]
        matrix = torch.as_tensor(
            np.asarray(vectors) if not torch.is_tensor(vectors) else vectors.detach().cpu()
        )
        if matrix.dim() != 2 or matrix.shape[0] != len(words):
            raise ValueError(
                f"vectors must be ({len(words)}, D) for {len(words)} words, got {tuple(matrix.shape)}"
            )
        if not matrix.is_floating_point():
            raise ValueError(f"vectors must be floating point, got {matrix.dtype}")
        matrix = matrix.float()
        if not torch.isfinite(matrix).all():
            bad = int((~torch.isfinite(matrix).all(1)).nonzero()[0])
            raise ValueError(f"vectors contain NaN or infinity (first at row {bad}, word {words[bad]!r})")
        count_array = None
        if counts is not None:
            count_array = np.asarray(counts, dtype=np.int64)
            if count_array.shape != (len(words),):
                raise ValueError(
                    f"counts must have one entry per word ({len(words)}), got shape {count_array.shape}"
                )
            if (count_array < 0).any():
                raise ValueError("counts must be non-negative")
            if sort_by_count and (np.diff(count_array) > 0).any():
                order = np.argsort(-count_array, kind="stable")
                words = [words[i] for i in order]
                count_array = count_array[order]
                matrix = matrix[torch.from_numpy(order)]
        config_kwargs.setdefault("has_counts", count_array is not None)
        config = WordVectorsConfig(vector_size=matrix.shape[1], vocab_size=0, **config_kwargs)
        model = cls(config)
        model.embeddings = nn.Embedding.from_pretrained(matrix.contiguous(), freeze=False)
        model.config.vocab_size = len(words)
        model._set_vocab(words, count_array)
        return model.eval()

    def _set_vocab(self, words: list[str], counts: np.ndarray | None) -> None:
        if len(words) != self.embeddings.num_embeddings:
            raise VocabularyFileError(
                f"the vocabulary has {len(words)} words but the matrix has {self.embeddings.num_embeddings} rows"
            )
        key_to_index: dict[str, int] = {}
        for i, word in enumerate(words):
            if not word or any(ch in word for ch in _FORBIDDEN):
                raise VocabularyFileError(f"word #{i} {word!r} is empty or contains a tab or newline")
            if word in key_to_index:
                raise VocabularyFileError(f"duplicate word {word!r} (rows {key_to_index[word]} and {i})")
            key_to_index[word] = i
        self._words = list(words)
        self._key_to_index = key_to_index
        self._counts = None if counts is None else np.asarray(counts, dtype=np.int64)
        self._suggest_index = None
        self._unit_cache = None

    # --------------------------------------------------------------------------------------------- persistence
    def save_pretrained(
        self, save_directory: str | os.PathLike, *args, dtype: torch.dtype | None = None, **kwargs
    ):
        """``PreTrainedModel.save_pretrained`` plus ``vocab.txt``; ``dtype=torch.float16`` halves the file on disk.

        ``push_to_hub=True`` (with ``repo_id``, ``token``, ...) uploads the saved folder, ``vocab.txt`` included.
        """
        push_to_hub = kwargs.pop("push_to_hub", False)
        if len(self._words) != self.embeddings.num_embeddings:
            raise VocabularyFileError(
                "this model has no vocabulary to save (build it with from_arrays or io)"
            )
        if dtype is not None:
            if dtype not in (torch.float32, torch.float16, torch.bfloat16):
                raise ValueError(f"dtype must be float32, float16 or bfloat16, got {dtype}")
            kwargs["state_dict"] = {
                "embeddings.weight": self.embeddings.weight.detach().to(dtype).contiguous()
            }
        self.config.storage_dtype = str(dtype or torch.float32).removeprefix("torch.")
        hub = {k: kwargs.pop(k) for k in ("repo_id", "private", "commit_message", "create_pr") if k in kwargs}
        os.makedirs(save_directory, exist_ok=True)
        super().save_pretrained(save_directory, *args, **kwargs)
        write_vocab(Path(save_directory) / VOCAB_FILE, self._words, self._counts)
        if push_to_hub:
            from huggingface_hub import HfApi

            api = HfApi(token=kwargs.get("token"))
            repo_id = hub.get("repo_id") or Path(save_directory).name
            api.create_repo(repo_id, exist_ok=True, private=hub.get("private"))
            api.upload_folder(
                folder_path=str(save_directory),
                repo_id=repo_id,
                commit_message=hub.get("commit_message") or "Upload WordVectorsModel",
                create_pr=hub.get("create_pr", False),
            )

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, *model_args, **kwargs):
        """``PreTrainedModel.from_pretrained`` (folder or Hub id) plus ``vocab.txt``; vectors come back float32."""
        from transformers.utils import cached_file

        hub_keys = (
            "cache_dir",
            "force_download",
            "local_files_only",
            "token",
            "revision",
            "subfolder",
            "proxies",
        )
        hub_kwargs = {k: kwargs[k] for k in hub_keys if kwargs.get(k) is not None}
        loaded = super().from_pretrained(pretrained_model_name_or_path, *model_args, **kwargs)
        model = loaded[0] if isinstance(loaded, tuple) else loaded
        vocab_path = cached_file(os.fspath(pretrained_model_name_or_path), VOCAB_FILE, **hub_kwargs)
        if vocab_path is None:
            raise OSError(f"{pretrained_model_name_or_path} has no {VOCAB_FILE}")
        words, counts = read_vocab(vocab_path)
        model.float()
        model._set_vocab(words, counts)
        model.eval()
        return loaded

    # ------------------------------------------------------------------------------------------------ vocabulary
    @property
    def index_to_key(self) -> list[str]:
        return self._words

    @property
    def key_to_index(self) -> dict[str, int]:
        return self._key_to_index

    @property
    def counts(self) -> np.ndarray | None:
        return self._counts

    @property
    def vector_size(self) -> int:
        return self.embeddings.embedding_dim

    def __len__(self) -> int:
        return len(self._words)

    def __bool__(self) -> bool:  # a model is truthy even before its vocabulary is loaded (len() == 0)
        return True

    def __contains__(self, word) -> bool:
        return isinstance(word, str) and self._lookup(word) is not None

    def __iter__(self):
        return iter(self._words)

    def normalize_word(self, word: str) -> str:
        """The spelling a query word is looked up with: stripped, NFC, lower-cased for a ``lowercase`` vocabulary."""
        word = _nfc(word.strip())
        return word.lower() if self.config.lowercase else word

    def _lookup(self, word: str) -> int | None:
        index = self._key_to_index.get(word)
        if index is None:
            normal = self.normalize_word(word)
            index = self._key_to_index.get(normal)
            if index is None and not self.config.lowercase:
                index = self._key_to_index.get(normal.lower())  # a cased vocabulary: "Queen" finds "queen"
        return index

    def index(self, word: str) -> int:
        """Row of ``word`` (see the lookup rules in the module docstring); :class:`OutOfVocabularyError` if absent."""
        index = self._lookup(word) if isinstance(word, str) else None
        if index is None:
            raise OutOfVocabularyError([word], {word: self.suggest(word)} if isinstance(word, str) else None)
        return index

    def indices(self, words: Iterable[str]) -> list[int]:
        """Rows of several words; one :class:`OutOfVocabularyError` naming every missing word."""
        words = list(words)
        rows = [self._lookup(w) if isinstance(w, str) else None for w in words]
        missing = list(dict.fromkeys(w for w, r in zip(words, rows) if r is None))
        if missing:
            raise OutOfVocabularyError(missing, {w: self.suggest(w) for w in missing if isinstance(w, str)})
        return rows

    def suggest(self, word: str, n: int = 3) -> list[str]:
        """Close in-vocabulary spellings of ``word``: at most 2 edits away (insertion, deletion, substitution or a
        swap of neighbours), fewest edits first, then most frequent; ``difflib``'s closest matches if none is.

        Candidates are the ``SUGGEST_VOCAB`` most frequent words with the same first letter and a length within 2 —
        a few thousand at most, so this answers in milliseconds even for a 400k vocabulary.
        """
        word = self.normalize_word(str(word))
        if not word:
            return []
        if self._suggest_index is None:
            index: dict[tuple[str, int], list[str]] = {}
            for w in self._words[:SUGGEST_VOCAB]:
                index.setdefault((w[0].lower(), len(w)), []).append(w)
            self._suggest_index = index
        first = word[0].lower()
        candidates = [
            w
            for length in range(len(word) - 2, len(word) + 3)
            for w in self._suggest_index.get((first, length), ())
        ]
        scored = [
            (d, self._key_to_index[w], w)
            for w in candidates
            if (d := _edit_distance(word, w, 2)) <= 2 and w != word
        ]
        if scored:
            return [w for _, _, w in sorted(scored)[:n]]
        return difflib.get_close_matches(word, candidates, n=n, cutoff=0.6)

    # --------------------------------------------------------------------------------------------------- vectors
    @property
    def vectors(self) -> np.ndarray:
        """The ``(V, D)`` float32 matrix as a read-only numpy view (no copy)."""
        array = self.embeddings.weight.detach().float().cpu().numpy()
        array.flags.writeable = False
        return array

    def unit_vectors(self) -> torch.Tensor:
        """Unit-normalised float32 copy of the vectors (zero rows stay zero), cached until the weights change."""
        weight = self.embeddings.weight
        key = (weight.data_ptr(), weight._version, tuple(weight.shape), weight.dtype, weight.device)
        if self._unit_cache is None or self._unit_cache[0] != key:
            self._unit_cache = (key, unit_rows(weight.detach().cpu()))
        return self._unit_cache[1]

    def get_vector(self, word: str, norm: bool = False) -> np.ndarray:
        """The vector of ``word`` (a float32 copy); ``norm=True`` for the unit-length one."""
        row = self.index(word)
        source = self.unit_vectors() if norm else self.embeddings.weight.detach().float().cpu()
        return source[row].numpy().copy()

    def __getitem__(self, key) -> np.ndarray:
        if isinstance(key, str):
            return self.get_vector(key)
        rows = self.indices(key)
        return self.embeddings.weight.detach().float().cpu()[rows].numpy().copy()

    def similarity(self, word1: str, word2: str) -> float:
        """Cosine similarity of two words."""
        unit = self.unit_vectors()
        i, j = self.indices([word1, word2])
        return float(unit[i] @ unit[j])

    # ------------------------------------------------------------------------------------------------ analogies
    def resolve_restrict_vocab(self, restrict_vocab: int | None) -> int:
        """``None`` -> the whole vocabulary; larger than the vocabulary -> clamped; not a positive int -> error."""
        if restrict_vocab is None:
            return len(self)
        if (
            isinstance(restrict_vocab, bool)
            or not isinstance(restrict_vocab, int | np.integer)
            or restrict_vocab < 1
        ):
            raise AnalogyQueryError(
                f"restrict_vocab must be a positive integer or None, got {restrict_vocab!r}"
            )
        return min(int(restrict_vocab), len(self))

    @staticmethod
    def _check_topn(topn) -> int:
        if isinstance(topn, bool) or not isinstance(topn, int | np.integer) or topn < 1:
            raise AnalogyQueryError(f"topn must be a positive integer, got {topn!r}")
        return int(topn)

    @staticmethod
    def _check_method(method) -> str:
        try:
            return normalise_method(method)
        except ValueError as err:
            raise AnalogyQueryError(str(err)) from None

    def analogy_batch(
        self,
        a_idx,
        b_idx,
        c_idx,
        *,
        method: str = "3cosadd",
        topn: int = 1,
        restrict_vocab: int | None = None,
        gold=None,
        max_rank: int | None = None,
        strategy: str = "auto",
    ) -> SearchResult:
        """Answer ``a[i] : b[i] :: c[i] : ?`` for row-index arrays; returns a :class:`~hfmech.analogy.search.SearchResult`.

        ``gold`` (``(Q,)`` or ``(Q, G)`` rows, ``-1`` padding) adds the rank of the best-ranked gold answer.
        ``strategy``: ``"exhaustive"`` scores every candidate; ``"pruned"`` (3CosAdd only) skips clusters of words
        that provably cannot enter the top ``max(topn, max_rank)``; ``"auto"`` picks pruned for large 3CosAdd batches.
        Both give the same answers.
        """
        method = self._check_method(method)
        topn = self._check_topn(topn)
        restrict = self.resolve_restrict_vocab(restrict_vocab)
        n = len(a_idx)
        if strategy not in ("auto", "exhaustive", "pruned"):
            raise AnalogyQueryError(f"strategy must be 'auto', 'exhaustive' or 'pruned', got {strategy!r}")
        use_pruned = strategy == "pruned" or (
            strategy == "auto" and method == "3cosadd" and restrict >= 100_000 and n >= 2000
        )
        if use_pruned:
            if method != "3cosadd":
                raise AnalogyQueryError("strategy='pruned' is implemented for 3cosadd only")
            from .pruned import pruned_search_3cosadd

            return pruned_search_3cosadd(
                self, a_idx, b_idx, c_idx, topn=topn, restrict=restrict, gold=gold, max_rank=max_rank
            )
        return exhaustive_search(
            self.unit_vectors(),
            a_idx,
            b_idx,
            c_idx,
            method=method,
            topn=topn,
            restrict=restrict,
            gold=gold,
            max_rank=max_rank,
        )

    def _query_rows(self, positive, negative) -> tuple[list[int], list[int]]:
        positive = [positive] if isinstance(positive, str) else list(positive or ())
        negative = [negative] if isinstance(negative, str) else list(negative or ())
        if not positive:
            raise AnalogyQueryError("most_similar needs at least one positive word")
        rows = self.indices(positive + negative)
        return rows[: len(positive)], rows[len(positive) :]

    def most_similar(
        self,
        positive: str | Sequence[str] = (),
        negative: str | Sequence[str] = (),
        topn: int = 10,
        restrict_vocab: int | None = None,
        method: str = "3cosadd",
    ) -> list[tuple[str, float]]:
        """The ``topn`` words nearest to ``sum(positive) - sum(negative)``, input words excluded.

        ``3cosadd``: cosine to the sum of unit vectors (gensim ``most_similar``); ``3cosmul``: the product of
        shifted cosines to the positives over the product for the negatives plus 0.001 (gensim
        ``most_similar_cosmul``'s generalisation); ``pairdirection``: only for analogies, ``positive=[b, c]``,
        ``negative=[a]``. Repeated words count as often as they appear. With the analogy shape (two positive, one
        negative) this is exactly :meth:`analogy`.
        """
        method = self._check_method(method)
        topn = self._check_topn(topn)
        restrict = self.resolve_restrict_vocab(restrict_vocab)
        pos, neg = self._query_rows(positive, negative)
        if len(pos) == 2 and len(neg) == 1:
            return self._answers(self._analogy_rows(neg[0], pos[0], pos[1], method, topn, restrict))
        if method == "pairdirection":
            raise AnalogyQueryError(
                "pairdirection needs an analogy a:b::c:? (positive=[b, c], negative=[a]), got "
                f"{len(pos)} positive and {len(neg)} negative words"
            )
        unit = self.unit_vectors()
        ur = unit[:restrict]
        if method == "3cosadd":
            q = unit[pos].sum(0) - (unit[neg].sum(0) if neg else 0)
            norm = q.norm()
            if float(norm) == 0.0:
                raise AnalogyQueryError(
                    "the query vector is zero (the positive and negative words cancel out)"
                )
            scores = ur @ (q / norm)
        else:
            scores = torch.ones(restrict)
            for row in pos:
                scores *= (ur @ unit[row] + 1) / 2
            denominator = torch.ones(restrict)
            for row in neg:
                denominator *= (ur @ unit[row] + 1) / 2
            scores /= denominator + COSMUL_EPSILON
        for row in set(pos + neg):
            if row < restrict:
                scores[row] = -math.inf
        k = min(topn, restrict)
        values, idx = scores.topk(k)
        return [(self._words[int(i)], float(v)) for v, i in zip(values, idx) if math.isfinite(float(v))]

    def _analogy_rows(self, a: int, b: int, c: int, method: str, topn: int, restrict: int) -> SearchResult:
        unit = self.unit_vectors()
        if method == "3cosadd" and float((unit[b] - unit[a] + unit[c]).norm()) == 0.0:
            raise AnalogyQueryError("the query vector b - a + c is zero (the words cancel out)")
        if method == "pairdirection" and float((unit[b] - unit[a]).norm()) == 0.0:
            raise AnalogyQueryError("pairdirection needs a != b: the direction b - a is zero")
        return exhaustive_search(unit, [a], [b], [c], method=method, topn=topn, restrict=restrict)

    def _answers(self, result: SearchResult) -> list[tuple[str, float]]:
        return [
            (self._words[int(i)], float(s))
            for i, s in zip(result.indices[0], result.scores[0])
            if int(i) >= 0
        ]

    def analogy(
        self,
        a: str,
        b: str,
        c: str,
        method: str = "3cosadd",
        topn: int = 1,
        restrict_vocab: int | None = None,
    ) -> list[tuple[str, float]]:
        """``a : b :: c : ?`` — the ``topn`` best ``(word, score)`` answers, ``a``, ``b`` and ``c`` excluded."""
        method = self._check_method(method)
        topn = self._check_topn(topn)
        restrict = self.resolve_restrict_vocab(restrict_vocab)
        ra, rb, rc = self.indices([a, b, c])
        return self._answers(self._analogy_rows(ra, rb, rc, method, topn, restrict))


register_model(WordVectorsConfig, WordVectorsModel, auto_classes=(AutoModel,))
