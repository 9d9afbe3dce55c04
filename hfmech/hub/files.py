"""The one file-output primitive of hfmech: every output (images, audio, JSON, SVG, vocabularies, checkpoints,
benchmark results) is written atomically and durably.

:func:`atomic_path` yields a temporary sibling in the destination directory (so the final :func:`os.replace` is a
rename on one filesystem, atomic on POSIX and Windows); when the writer finishes without raising, the temporary file
is fsync-ed, given the permission bits of the file it replaces (or ``0o666 & ~umask`` for a new one), renamed into
place, and the directory is fsync-ed, so the new name survives a crash. On any error — an exception, ``Ctrl-C`` — the
temporary file is removed and a file already at the path is left untouched. The temporary name keeps the target's
suffix, so writers that infer a format from it (``np.save``, ``Figure.savefig``, ``safetensors``, PIL, soundfile)
write the right thing.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["atomic_path", "umask", "write_bytes_atomic", "write_json_atomic", "write_text_atomic"]


def umask() -> int:
    """The process umask, read without changing it where ``/proc`` allows (``os.umask`` is racy across threads)."""
    with contextlib.suppress(OSError, ValueError), open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    current = os.umask(0o022)
    os.umask(current)
    return current


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(directory: Path) -> None:
    if os.name != "posix":
        return
    with contextlib.suppress(OSError):
        _fsync_file(directory)


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary sibling of ``path`` to write; on a clean exit it replaces ``path`` (fsync-ed, permissions
    kept), on an error it is removed.

    >>> with atomic_path("out.npy") as tmp:      # doctest: +SKIP
    ...     np.save(tmp, array)                  # tmp = ./.out.XXXXXXXX.tmp.npy
    """
    path = Path(path)
    fd, name = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=f".tmp{path.suffix}", dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        try:
            mode_bits = stat.S_IMODE(os.stat(path).st_mode)
        except OSError:
            mode_bits = 0o666 & ~umask()
        yield tmp
        _fsync_file(tmp)
        with contextlib.suppress(OSError):
            os.chmod(tmp, mode_bits)
        os.replace(tmp, path)
        _fsync_dir(path.parent)
    finally:
        tmp.unlink(missing_ok=True)


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically; returns ``path``."""
    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return path


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
