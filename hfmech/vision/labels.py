"""Class names of the classifiers hfmech ships.

``imagenet_labels.txt`` holds the 1000 ImageNet-1k (ILSVRC-2012) class names in the standard index order (the sorted
WordNet synset ids ``n01440764`` … ``n15075141``), one per line, each the synset's comma-separated WordNet lemmas
("tench, Tinca tinca", …, "macaw", …, "hotdog, hot dog, red hot", …). It was generated from the synset list and
synset-to-lemma table that the Apache-2.0 ``timm`` wheel ships in ``timm/data/_info/``.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

_IMAGENET_FILE = Path(__file__).resolve().parent / "imagenet_labels.txt"


@lru_cache(maxsize=1)
def _imagenet_labels() -> tuple[str, ...]:
    labels = tuple(
        line.strip() for line in _IMAGENET_FILE.read_text(encoding="utf-8").splitlines() if line.strip()
    )
    if len(labels) != 1000:
        raise RuntimeError(f"{_IMAGENET_FILE} holds {len(labels)} class names, expected 1000")
    return labels


def imagenet_labels() -> list[str]:
    """The 1000 ImageNet-1k class names, index ``i`` being class ``i`` of an ImageNet-1k classifier."""
    return list(_imagenet_labels())


def imagenet_id2label() -> dict[int, str]:
    """``{index: class name}`` for a transformers config's ``id2label``."""
    return dict(enumerate(_imagenet_labels()))


def top_k_labels(probs, id2label: dict | None, top_k: int = 5) -> list[list[tuple[str, float]]]:
    """``probs (B, C)`` -> per row the ``top_k`` ``(label, probability)`` pairs, labels from ``id2label``."""
    id2label = id2label or {}
    values, indices = probs.topk(min(top_k, probs.shape[-1]), dim=-1)
    return [
        [(id2label.get(int(i), f"LABEL_{int(i)}"), float(p)) for p, i in zip(row_p, row_i)]
        for row_p, row_i in zip(values, indices)
    ]
