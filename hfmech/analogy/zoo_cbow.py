"""Zoo entry ``cbow-imdb``: CBOW word vectors trained by hfmech's own word2vec (``hfmech.analogy.train``) on IMDB.

The vectors ship inside the package (``hfmech/analogy/weights/cbow-imdb``: ``vectors.safetensors`` fp16, key
``vectors``; ``vocab.txt`` ``word<TAB>count`` by decreasing count; ``training.json`` with the exact settings, corpus,
tokenisation, timings and the accuracy measured after training). The builder turns them into a Hub-ready
:class:`~hfmech.analogy.modeling_word_vectors.WordVectorsModel` folder; no download is needed.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..hub import zoo

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights" / "cbow-imdb"


def load_cbow_imdb_arrays(folder: Path = WEIGHTS_DIR):
    """``(words, counts, vectors float32 numpy, training_info)`` from the shipped files."""
    import numpy as np
    from safetensors.numpy import load_file

    vectors = load_file(str(folder / "vectors.safetensors"))["vectors"].astype(np.float32)
    words, counts = [], []
    with open(folder / "vocab.txt", encoding="utf-8") as fh:
        for line in fh:
            word, count = line.rstrip("\n").split("\t")
            words.append(word)
            counts.append(int(count))
    info = json.loads((folder / "training.json").read_text(encoding="utf-8"))
    if vectors.shape[0] != len(words):
        raise ValueError(f"{folder}: {vectors.shape[0]} vectors but {len(words)} vocabulary lines")
    return words, np.asarray(counts, dtype=np.int64), vectors, info


def _pct(x) -> str:
    return f"{100 * float(x):.1f} %"


@zoo.register(
    "cbow-imdb",
    card="cbow-imdb.md",
    task="word-analogy",
    description="CBOW-100 word vectors trained by hfmech on IMDB train+unsup (50k words, lower-cased)",
    source=lambda: zoo.files_fingerprint(WEIGHTS_DIR),
)
def build_cbow_imdb(out_dir: Path) -> dict:
    import torch

    from .modeling_word_vectors import WordVectorsModel  # lazy: keeps `import hfmech` light

    words, counts, vectors, info = load_cbow_imdb_arrays()
    settings = info["settings"]
    model = WordVectorsModel.from_arrays(
        words,
        counts,
        vectors,
        lowercase=True,
        source=(
            f"hfmech.analogy.train (word2vec.c CBOW) on IMDB train+unsup; {settings['epochs']} epochs, "
            f"size {settings['size']}, window {settings['window']}, negative {settings['negative']}"
        ),
    )
    model.save_pretrained(out_dir, dtype=torch.float16)
    acc = info["accuracy"]
    corpus = info["corpus"]
    digest = zoo.sha256_file(WEIGHTS_DIR / "vectors.safetensors")
    return {
        "vocab_size": len(words),
        "full_vocab_size": corpus["full_vocab_size"],
        "vector_size": int(vectors.shape[1]),
        "raw_tokens": f"{corpus['raw_tokens']:,}",
        "train_words": f"{corpus['train_words']:,}",
        "sentences": f"{corpus['sentences']:,}",
        "tokenization": info["tokenization"],
        "model": settings["model"],
        "size": settings["size"],
        "window": settings["window"],
        "negative": settings["negative"],
        "sample": settings["sample"],
        "min_count": settings["min_count"],
        "epochs": settings["epochs"],
        "alpha": settings["alpha"],
        "batch_size": settings["batch_size"],
        "seed": settings["seed"],
        "threads": info["threads"],
        "training_minutes": f"{info['seconds_training'] / 60:.1f}",
        "words_per_sec": f"{info['words_per_sec']:,.0f}",
        "google_3cosadd": _pct(acc["3cosadd"]),
        "google_3cosmul": _pct(acc["3cosmul"]),
        "google_semantic_3cosadd": _pct(acc["semantic_3cosadd"]),
        "google_syntactic_3cosadd": _pct(acc["syntactic_3cosadd"]),
        "questions_answered": f"{acc['questions_answered']:,}",
        "questions_total": f"{acc['questions_total']:,}",
        "restrict_vocab": acc["restrict_vocab"],
        "gensim_comparison": info.get("gensim_comparison", "not measured"),
        "vectors_sha256": digest,
    }
