"""ImageNet class targets by name or index, with close-name suggestions for names that are not classes."""

from __future__ import annotations

import difflib
from functools import lru_cache

from ..errors import HfmechError
from ..vision.labels import imagenet_labels


class UnknownClassError(HfmechError, ValueError):
    """A target that is not an ImageNet-1k class name or index (the message suggests close names)."""


@lru_cache(maxsize=1)
def _synonyms() -> dict[str, int]:
    """Every comma-separated lemma of every class (lower case) → the first class index that lists it."""
    table: dict[str, int] = {}
    for index, label in enumerate(imagenet_labels()):
        for name in [label, *label.split(",")]:
            table.setdefault(name.strip().lower(), index)
    return table


def resolve_class(target) -> tuple[int, str]:
    """``"electric fan"``, ``"blower"``, ``"Electric fan, blower"`` or ``545`` → ``(545, "electric fan, blower")``.

    Names match any of a class's WordNet lemmas, case-insensitively; a name two classes share ("crane": the bird and
    the machine) resolves to the first. Unknown names raise :class:`UnknownClassError` with up to five close names.
    """
    labels = imagenet_labels()
    if isinstance(target, bool):
        raise UnknownClassError(f"target must be a class name or index, got {target!r}")
    if isinstance(target, int):
        if not 0 <= target < len(labels):
            raise UnknownClassError(f"class index must be in 0..{len(labels) - 1}, got {target}")
        return target, labels[target]
    if not isinstance(target, str) or not target.strip():
        raise UnknownClassError(f"target must be a non-empty ImageNet class name or an index, got {target!r}")
    key = " ".join(target.strip().lower().replace("_", " ").split())
    if key.isdigit():
        return resolve_class(int(key))
    table = _synonyms()
    if key in table:
        return table[key], labels[table[key]]
    lemmas = [k for k in table if "," not in k]
    containing = [k for k in lemmas if key in k.split()]  # "fan" -> "electric fan"
    close = (
        containing
        + [c for c in difflib.get_close_matches(key, lemmas, n=5, cutoff=0.6) if c not in containing]
    )[:5]
    hint = f"; did you mean: {', '.join(repr(c) for c in close)}?" if close else ""
    raise UnknownClassError(f"{target!r} is not an ImageNet class name{hint}")
