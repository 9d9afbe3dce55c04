"""Saving images: :func:`save_image_atomic` (format from the suffix, modes converted to what the format stores,
written through :func:`hfmech.hub.files.atomic_path`)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from PIL import Image

from ..hub.files import atomic_path
from . import image_io as _io  # attributes read at call time: image_io re-exports this module's functions

SAVE_SUFFIXES = {
    ".png": "PNG",
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".webp": "WEBP",
    ".bmp": "BMP",
    ".tif": "TIFF",
    ".tiff": "TIFF",
    ".gif": "GIF",
}
_FORMAT_ALIASES = {"JPG": "JPEG", "TIF": "TIFF"}
# Modes each output format stores as they are; any other mode is converted first.
_SAVE_MODES = {
    "PNG": {"1", "L", "LA", "I", "I;16", "P", "RGB", "RGBA"},
    "JPEG": {"L", "RGB", "CMYK"},
    "WEBP": {"RGB", "RGBA"},
    "BMP": {"1", "L", "P", "RGB", "RGBA"},
    "TIFF": {"1", "L", "LA", "P", "RGB", "RGBA", "CMYK", "YCbCr", "I", "I;16", "I;16B", "F", "LAB"},
    "GIF": {"1", "L", "P", "RGB", "RGBA"},
}
_ALPHA_SAVE_FORMATS = {"PNG", "WEBP", "BMP", "TIFF", "GIF"}


def save_image_atomic(
    image: Image.Image, path: str | os.PathLike[str], format: str | None = None, **save_kwargs: Any
) -> Path:
    """Write ``image`` to ``path`` atomically and return the path.

    The format comes from ``format`` (``"PNG"``, ``"JPEG"``/``"JPG"``, ``"WEBP"``, ``"BMP"``,
    ``"TIFF"``/``"TIF"``, ``"GIF"``) or, when ``None``, from the suffix (``.png .jpg .jpeg .webp
    .bmp .tif .tiff .gif``, case-insensitive); anything else raises ``ValueError`` before any file
    is touched. Modes the format cannot store are converted: formats without alpha (JPEG) get
    alpha composited on white; 16-bit/float modes are scaled as in :func:`load_image`.
    ``save_kwargs`` go to ``PIL.Image.Image.save`` (e.g. ``quality=95``).

    Written through :func:`hfmech.hub.files.atomic_path` (temporary sibling, fsync, permission bits kept,
    ``os.replace``, directory fsync): on any failure a file already at ``path`` is left untouched.

    Raises:
        TypeError: ``image`` is not a PIL image.
        ValueError: unknown format or suffix.
        FileNotFoundError: the destination directory does not exist.
        NotADirectoryError / IsADirectoryError: the parent is a file / ``path`` is a directory.
    """
    if not isinstance(image, Image.Image):
        raise TypeError(f"save_image_atomic() expects a PIL.Image.Image, got {type(image).__qualname__}")
    path = Path(os.path.expanduser(os.fspath(path)))
    fmt = _resolve_save_format(path, format)
    parent = path.parent
    if not parent.exists():
        raise FileNotFoundError(
            f"Cannot save {str(path)!r}: the directory {str(parent)!r} does not exist. Create it first "
            "(e.g. Path(...).mkdir(parents=True, exist_ok=True))."
        )
    if not parent.is_dir():
        raise NotADirectoryError(f"Cannot save {str(path)!r}: {str(parent)!r} is not a directory.")
    if path.is_dir():
        raise IsADirectoryError(f"Cannot save to {str(path)!r}: it is a directory; pass a file path.")

    out = _prepare_for_save(image, fmt)
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        out.save(fh, format=fmt, **save_kwargs)
    return path


def _resolve_save_format(path: Path, format: str | None) -> str:
    supported = ", ".join(sorted(SAVE_SUFFIXES))
    if format is not None:
        fmt = _FORMAT_ALIASES.get(str(format).upper(), str(format).upper())
        if fmt not in _SAVE_MODES:
            raise ValueError(f"unsupported output format {format!r}; use one of {sorted(_SAVE_MODES)}")
        return fmt
    suffix = path.suffix.lower()
    if suffix not in SAVE_SUFFIXES:
        raise ValueError(
            f"cannot infer the image format of {str(path)!r} from its suffix {path.suffix!r}; "
            f"use one of {supported} or pass format=..."
        )
    return SAVE_SUFFIXES[suffix]


def _prepare_for_save(image: Image.Image, fmt: str) -> Image.Image:
    if image.mode in _SAVE_MODES[fmt] and not (fmt == "JPEG" and _io._has_alpha(image)):
        return image
    if fmt in _ALPHA_SAVE_FORMATS and _io._has_alpha(image):
        src = image.convert("LA") if image.mode == "La" else image
        return src.convert("RGBA")
    return _io._to_rgb(image, "<image to save>")
