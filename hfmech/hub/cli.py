"""What every mechanism's ``cli.py`` shares: loading a pipeline for a command, and checking output paths early.

A mechanism's ``cli.py`` defines ``add_commands(subparsers)`` (see :mod:`hfmech.hub.mechanism`); its handlers take
the parsed ``args`` and return an exit code. User errors (:data:`hfmech.errors.USER_ERRORS`) are turned into one
``error:`` line and exit code 2 by ``hfmech.cli.main``.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import types
import typing
from collections.abc import Iterable, Mapping
from pathlib import Path

from ..errors import MAX_SEED, USER_ERRORS, ModelLoadError, OutputPathError, check_seed

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


def _flag_type(annotation) -> tuple[type | None, bool]:
    """``(element type, is_list)`` of a settings field's annotation (``int``, ``float | None``, ``list[int] | str``…)."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        members = [a for a in typing.get_args(annotation) if a is not type(None)]
        for member in members:  # a list form wins: the flag takes one or more values
            if typing.get_origin(member) is list:
                return _flag_type(member)
        return _flag_type(members[0]) if members else (None, False)
    if origin is list:
        (element,) = typing.get_args(annotation) or (str,)
        return (element if element in (int, float, str) else str), True
    if annotation in (int, float, str):
        return annotation, False
    return None, False  # dicts, bools and other structures are not flags


def add_settings_arguments(
    parser: argparse.ArgumentParser,
    settings_class: type,
    helps: Mapping[str, str],
    choices: Mapping[str, Iterable[str]] | None = None,
) -> None:
    """One ``--flag`` per field of a pipeline's settings dataclass named in ``helps`` (``tv_weight`` →
    ``--tv-weight``), typed from the field's annotation, default ``None`` (= the model config's default), with the
    help text given and the allowed values from ``choices``. The class's ``call_aliases`` (shorthands such as
    Perception Engines' ``strokes``) are flags too, typed by the alias table. The field stays the one place the
    setting is spelled; :func:`settings_from_args` reads the flags back."""
    field_types = typing.get_type_hints(settings_class)
    types = {f.name: field_types[f.name] for f in dataclasses.fields(settings_class)}
    types.update(getattr(settings_class, "call_aliases", {}))
    for name, help_text in helps.items():
        if name not in types:
            raise KeyError(f"{settings_class.__name__} has no setting {name!r}")
        element, is_list = _flag_type(types[name])
        if element is None:
            raise TypeError(f"{settings_class.__name__}.{name} ({types[name]}) cannot be a command-line flag")
        kwargs = {"type": element, "default": None, "help": help_text, "dest": name}
        if is_list:
            kwargs["nargs"] = "+"
        if choices and name in choices:
            kwargs["choices"] = tuple(choices[name])
        parser.add_argument("--" + name.replace("_", "-"), **kwargs)


def settings_from_args(args: argparse.Namespace, settings_class: type) -> dict:
    """The settings given on the command line: ``{field: value}`` for every field of ``settings_class`` that has a
    flag and a value (``None`` = not given, the model's default applies)."""
    names = [f.name for f in dataclasses.fields(settings_class)] + list(
        getattr(settings_class, "call_aliases", {})
    )
    return {name: getattr(args, name) for name in names if getattr(args, name, None) is not None}


def add_seed_argument(parser: argparse.ArgumentParser, default: int | None = None) -> None:
    """``--seed``, read as text so that a bad value is hfmech's one-line :class:`~hfmech.errors.SeedError`
    (:func:`seed_from_args`), not argparse's usage message."""
    parser.add_argument("--seed", default=default, help=f"random seed, 0..{MAX_SEED} (default: %(default)s)")


def seed_from_args(args: argparse.Namespace) -> int | None:
    """``args.seed`` validated (:func:`hfmech.errors.check_seed`): call it before loading anything."""
    return check_seed(args.seed, name="--seed")


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


__all__ = [
    "PLOT_SUFFIXES",
    "add_seed_argument",
    "add_settings_arguments",
    "check_input_path",
    "check_output_path",
    "load_pipeline_for_cli",
    "seed_from_args",
    "settings_from_args",
]
