"""Example drawings shipped with the package: a few Omniglot **test-split** characters (Lake et al. 2015; MIT licence,
via hardmaru/sketch-rnn-datasets) as stroke-3 arrays in Omniglot's units, for the Space, the CLI and docs.

``examples.json`` was written by ``benchmarks/sketch_latent.py --write-examples`` (never a training drawing).
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import numpy as np

from .strokes import StrokeError

PATH = Path(__file__).resolve().parent / "examples.json"


@cache
def _load() -> dict[str, list]:
    return json.loads(PATH.read_text(encoding="utf-8")) if PATH.is_file() else {}


class _Examples:
    def __iter__(self):
        return iter(_load())

    def __contains__(self, name) -> bool:
        return name in _load()

    def __len__(self) -> int:
        return len(_load())


#: The example names (iterable, supports ``in``).
EXAMPLES = _Examples()


def example_strokes(name: str) -> np.ndarray:
    """The stroke-3 array ``(N, 3)`` of example ``name``."""
    data = _load()
    if name not in data:
        raise StrokeError(f"unknown example {name!r}; choose from {', '.join(data)}")
    return np.asarray(data[name], dtype=np.float32)


__all__ = ["EXAMPLES", "example_strokes"]
