"""Atomic file writes shared by every mechanism: a reader never sees half a file, and a failed write leaves the
previous file (if any) untouched.

Everything is written to a temporary sibling in the same directory (so the final :func:`os.replace` is a rename on
one filesystem, atomic on POSIX and Windows) and moved into place only when the writer finished without raising.
The temporary name keeps the target's suffix, so writers that infer a format from it (``np.save``,
``Figure.savefig``, ``safetensors``) write the right thing. Images and audio have their own format-aware savers
(:func:`hfmech.vision.image_io.save_image_atomic`, :func:`hfmech.style.audio.save_audio_atomic`); this module is
for everything else.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["atomic_path", "write_json_atomic", "write_text_atomic"]


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary sibling of ``path`` to write; on a clean exit it replaces ``path``, on an error it is removed.

    >>> with atomic_path("out.npy") as tmp:      # doctest: +SKIP
    ...     np.save(tmp, array)                  # tmp = ./.out.<pid>.tmp.npy
    """
    path = Path(path)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp{path.suffix}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_text_atomic(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8, ``\\n`` line ends kept as given) to ``path`` atomically; returns ``path``."""
    path = Path(path)
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8", newline="") as handle:
        handle.write(text)
    return path


def write_json_atomic(path: str | os.PathLike, obj, *, indent: int | None = 2, default=None) -> Path:
    """``json.dumps(obj, indent=indent, default=default)`` written atomically to ``path``; returns ``path``.

    The JSON is serialised before anything is written, so an unserialisable object raises ``TypeError`` and
    leaves no file behind.
    """
    return write_text_atomic(path, json.dumps(obj, indent=indent, default=default))
