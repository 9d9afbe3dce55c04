"""What every mechanism's ``cli.py`` shares: loading a pipeline for a command, and checking output paths early.

A mechanism's ``cli.py`` defines ``add_commands(subparsers)`` (see :mod:`hfmech.hub.mechanism`); its handlers take
the parsed ``args`` and return an exit code. User errors (:data:`hfmech.errors.USER_ERRORS`) are turned into one
``error:`` line and exit code 2 by ``hfmech.cli.main``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from ..errors import USER_ERRORS, ModelLoadError, OutputPathError

#: What matplotlib figures (``--plot``) may be written as.
PLOT_SUFFIXES = (".png", ".svg", ".pdf")


def check_output_path(
    path: str | os.PathLike, *, suffixes: Iterable[str] | None = None, kind: str = ""
) -> Path:
    """Validate an output path *before* any expensive work; returns it with ``~`` expanded.

    Raises :class:`~hfmech.errors.OutputPathError` for an unknown suffix (when ``suffixes`` is given), a directory,
    a missing or a read-only parent directory. ``kind`` names the file in the message (``"image"``, ``"--svg"``).
    """
    out = Path(os.path.expanduser(os.fspath(path)))
    label = f"{kind} " if kind else ""
    if suffixes is not None:
        allowed = sorted({s.lower() for s in suffixes})
        if out.suffix.lower() not in allowed:
            raise OutputPathError(
                f"cannot write {str(out)!r}: unknown {label}suffix {out.suffix or '(none)'!r}; "
                f"use one of {', '.join(allowed)}"
            )
    if out.is_dir():
        raise OutputPathError(f"cannot write {str(out)!r}: it is a directory; pass a file path")
    if not out.parent.is_dir():
        raise OutputPathError(f"cannot write {str(out)!r}: the directory {str(out.parent)!r} does not exist")
    if not os.access(out.parent, os.W_OK):
        raise OutputPathError(f"cannot write {str(out)!r}: the directory {str(out.parent)!r} is not writable")
    return out


def check_input_path(path: str | os.PathLike, what: str = "input file") -> Path:
    """A path that must exist (``FileNotFoundError`` naming it otherwise); ``~`` expanded."""
    p = Path(os.path.expanduser(os.fspath(path)))
    if not p.exists():
        raise FileNotFoundError(f"no such {what}: {os.fspath(path)!r}")
    return p


def load_pipeline_for_cli(task: str, model: str):
    """:func:`hfmech.hub.load_pipeline`, with every loading failure turned into a :class:`ModelLoadError`."""
    from .loading import load_pipeline

    looks_local = os.path.isabs(model) or model.startswith((".", "~")) or model.count("/") > 1
    if looks_local and not os.path.exists(os.path.expanduser(model)):
        raise ModelLoadError(f"cannot load model {model!r}: no such folder")
    try:
        return load_pipeline(task, model)
    except USER_ERRORS:
        raise
    except (OSError, ValueError) as e:
        # transformers: unknown Hub id or no network (OSError), a folder that holds no model (ValueError)
        raise ModelLoadError(f"cannot load model {model!r}: {' '.join(str(e).split())}") from e


__all__ = ["PLOT_SUFFIXES", "check_input_path", "check_output_path", "load_pipeline_for_cli"]
