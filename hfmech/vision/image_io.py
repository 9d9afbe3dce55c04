"""Robust image loading shared by every image mechanism in hfmech (saving: :mod:`.image_save`; PIL ↔ torch and
resizing: :mod:`.pixels` — both importable from here too).

Users feed arbitrary files to the DeepDream / style-transfer pipelines, the CLI and the Gradio
Spaces. This module turns any of them into a plain 8-bit RGB :class:`PIL.Image.Image`, or raises a
typed, readable error. Nothing here returns silent garbage or lets a traceback escape from deep
inside Pillow or torch.

Contract
--------
* :func:`load_image` always returns a *new*, fully decoded image in mode ``"RGB"`` that holds no
  open file handle. Its inputs (paths, bytes, file objects, PIL images, numpy arrays) are never
  modified.
* Every problem with the *input* raises a subclass of :class:`ImageInputError` (a ``ValueError``):

  - :class:`ImageNotFoundError` (also a ``FileNotFoundError``): the path does not exist;
  - :class:`ImageDecodeError`: empty, corrupt, truncated, not an image, a directory, an
    unsupported format or pixel mode;
  - :class:`ImageTooLargeError`: a suspected decompression bomb (declared size over
    ``bomb_pixels``, refused *before* decoding) or, with ``on_too_large="error"``, an image over
    ``max_pixels``.

  Messages name the input, say what is wrong and what to do about it. Invalid *arguments*
  (``max_pixels=0``, an unknown ``on_too_large``) raise a plain ``ValueError``; a source of an
  unsupported Python type raises ``TypeError``.
* :func:`~hfmech.vision.image_save.save_image_atomic` writes through :func:`hfmech.hub.files.atomic_path`, so
  readers never see a half-written file and an existing file is untouched when anything fails.

Conversion rules (documented fallbacks)
---------------------------------------
* **Alpha** (``RGBA``, ``LA``, ``La``, ``RGBa``, ``PA``, palette or colour-key transparency) is
  composited over an opaque **white** background.
* **EXIF orientation** is applied (``ImageOps.exif_transpose``); corrupt EXIF only produces a
  ``UserWarning`` and the stored orientation is kept.
* **Multi-frame files** (animated GIF/WebP/APNG, multi-page TIFF, MPO): the **first frame** is used.
* **16-bit integer** (``I;16``, ``I;16L``, ``I;16B``, ``I;16N``): ``round(v / 257)``, so 0..65535
  maps exactly onto 0..255 (Pillow's own ``convert("RGB")`` would clip at 255 instead).
* **32-bit integer** (``I``): by its value range - values within 0..255 are taken as 8-bit, within
  0..65535 as 16-bit (``round(v / 257)``; this is what 16-bit PGM/PPM decode to), anything else
  (negative or > 65535) is min-max stretched onto 0..255.
* **32-bit float** (``F``): values within [0, 1] are scaled by 255, within [0, 255] taken as-is,
  anything else min-max stretched. Non-finite pixels: NaN and -inf become 0, +inf becomes 255 (the
  range is computed over finite pixels only); an image with no finite pixel is an
  :class:`ImageDecodeError`. A constant image that is outside both known ranges becomes black.
* ``CMYK``, ``YCbCr``, ``LAB``, ``HSV``, ``1``, ``L``, ``P``: Pillow's conversion. There is no
  colour management: embedded ICC profiles are not applied (the profile is kept on the result
  only when the source was already an RGB-family image).
* Images over ``max_pixels`` are, by default, downscaled with Lanczos (aspect ratio kept, so that
  ``W * H <= max_pixels``) and an :class:`ImageDownscaledWarning` is emitted. Large JPEGs use
  libjpeg's DCT-domain scaling (``Image.draft``) first, so they are never fully decoded.

Safety
------
* Only well-known raster formats are opened from files, bytes and file objects (see
  :data:`SUPPORTED_INPUT_FORMATS`); in particular EPS/PS (which Pillow renders with Ghostscript)
  are refused.
* ``PIL.ImageFile.LOAD_TRUNCATED_IMAGES`` is never changed and must stay ``False`` (Pillow's
  default) for truncated files to be detected; if another library set it to ``True`` a
  ``UserWarning`` says so.
* ``PIL.Image.MAX_IMAGE_PIXELS`` is never changed. Pillow's own hard limit
  (``2 * MAX_IMAGE_PIXELS`` = 178,956,970 pixels by default) still applies on top of
  ``bomb_pixels`` and is reported as :class:`ImageTooLargeError` too; its softer
  ``DecompressionBombWarning`` is silenced locally (``warnings.catch_warnings``) because
  ``bomb_pixels`` is the policy here.
* For http(s) URLs, fetching and decoding are delegated to :func:`diffusers.utils.load_image`,
  so the format allow-list and the pre-decode size check cannot be applied there: Pillow's
  ``DecompressionBombWarning`` is escalated to a refusal when it implies ``bomb_pixels`` is
  exceeded, and the decoded result is then validated exactly like any other image.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import io
import math
import numbers
import os
import re
import stat
import urllib.parse
import urllib.request
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from ..errors import HfmechError

if TYPE_CHECKING:
    pass

__all__ = [
    "DEFAULT_BOMB_PIXELS",
    "DEFAULT_MAX_PIXELS",
    "SUPPORTED_INPUT_FORMATS",
    "ImageDecodeError",
    "MAX_ASPECT_RATIO",
    "ImageAspectError",
    "ImageDownscaledWarning",
    "ImageInputError",
    "ImageNotFoundError",
    "ImageTooLargeError",
    "check_aspect_ratio",
    "load_image",
]

#: Processing limit: images with more pixels are downscaled (or refused, see ``on_too_large``).
DEFAULT_MAX_PIXELS = 4096 * 4096
#: Declared size (W * H) beyond which a file is refused before any pixel is decoded.
DEFAULT_BOMB_PIXELS = 128_000_000
#: The longer side may be at most this many times the shorter one where a pipeline asks (``max_aspect=``): a thinner
#: image would be lifted to a minimum short side (style: 32 px) and blown up into a huge tensor, or shrunk to nothing
#: by octaves and strides. Refused with :class:`ImageAspectError` (for files, from the declared size, before decoding).
MAX_ASPECT_RATIO = 16.0

#: Pillow formats that :func:`load_image` opens from paths, bytes and file objects (those that
#: the installed Pillow lacks, e.g. AVIF or HEIF without a plugin, are simply not offered).
SUPPORTED_INPUT_FORMATS: tuple[str, ...] = (
    "PNG",
    "JPEG",
    "GIF",
    "WEBP",
    "BMP",
    "DIB",
    "TIFF",
    "PPM",
    "TGA",
    "ICO",
    "AVIF",
    "HEIF",
)

_I16_MODES = ("I;16", "I;16L", "I;16B", "I;16N")
_ALPHA_MODES = ("RGBA", "LA", "La", "RGBa", "PA")
_RGB_FAMILY = ("RGB", "RGBA", "RGBX", "RGBa", "P", "PA")
_URL_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://")
_FLOAT_TOLERANCE = 1e-4  # numpy float inputs may overshoot [0, 1] by this much (then clipped)


# --------------------------------------------------------------------------------------------
# Errors and warnings
# --------------------------------------------------------------------------------------------


class ImageInputError(HfmechError, ValueError):
    """Base class for every problem with an image *input*.

    ``str(error)`` names the input, says what is wrong and what to do. ``error.source`` holds the
    display name of the input (a quoted path, ``"<bytes input>"``, ...).
    """

    def __init__(self, message: str, *, source: str | None = None) -> None:
        super().__init__(message)
        self.source = source


class ImageNotFoundError(ImageInputError, FileNotFoundError):
    """The path does not exist. Also a ``FileNotFoundError``, so ``except OSError`` catches it."""


class ImageDecodeError(ImageInputError):
    """Empty, corrupt, truncated, not an image, a directory, or an unsupported format/mode."""


class ImageTooLargeError(ImageInputError):
    """A decompression bomb was refused, or the image exceeds ``max_pixels`` with
    ``on_too_large="error"``."""


class ImageAspectError(ImageInputError):
    """An image thinner than the pipeline's ``max_aspect`` (longer side / shorter side): refused, never blown up."""


class ImageDownscaledWarning(UserWarning):
    """Emitted by :func:`load_image` when an image over ``max_pixels`` was downscaled."""


# --------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------


@dataclass
class _Ctx:
    name: str
    max_pixels: int
    on_too_large: str
    bomb_pixels: int
    max_aspect: float | None = None
    notes: list[tuple[str, type[Warning]]] = field(default_factory=list)


def load_image(
    source: Any,
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    on_too_large: Literal["downscale", "error"] = "downscale",
    bomb_pixels: int = DEFAULT_BOMB_PIXELS,
    max_aspect: float | None = None,
) -> Image.Image:
    """Load ``source`` as a new, fully decoded 8-bit ``RGB`` image of shape ``(H, W)``.

    Args:
        source: one of

            * ``str`` / ``os.PathLike``: a local file path (``~`` is expanded). ``"file://..."``
              URLs and ``"data:image/...;base64,..."`` URIs are accepted too;
            * ``"http://..."`` / ``"https://..."``: fetched by :func:`diffusers.utils.load_image`,
              then validated and converted like everything else;
            * ``bytes`` / ``bytearray`` / ``memoryview``: the encoded file contents (not a path);
            * a binary file object (anything with ``read()``; read fully, and its position is
              restored afterwards when it is seekable);
            * a :class:`PIL.Image.Image` (never modified; a lazily opened image is loaded);
            * a ``numpy.ndarray`` of shape ``(H, W)``, ``(H, W, 1)``, ``(H, W, 3)`` or
              ``(H, W, 4)`` (channels last), dtype ``uint8`` (0..255), ``bool``, ``uint16``
              (16-bit, divided by 257), another integer dtype holding 0..255, or a float dtype
              in ``[0, 1]`` (overshoot up to 1e-4 is clipped). Never modified.

        max_pixels: processing limit on ``W * H`` (positive int).
        on_too_large: ``"downscale"`` (default) resizes an image over ``max_pixels`` with Lanczos,
            keeping its aspect ratio, so that ``W * H <= max_pixels`` and warns with
            :class:`ImageDownscaledWarning`; ``"error"`` raises :class:`ImageTooLargeError`
            (for files, before decoding).
        bomb_pixels: images whose size (for files: the size *declared in the header*) exceeds
            this many pixels are refused with :class:`ImageTooLargeError` before decoding.
        max_aspect: refuse images whose longer side is more than this many times the shorter one with
            :class:`ImageAspectError` (for files, from the declared size, before decoding); ``None``: no limit.
            The pipelines pass :data:`MAX_ASPECT_RATIO`.

    Returns:
        A ``PIL.Image.Image`` in mode ``"RGB"``: EXIF orientation applied, alpha composited on
        white, first frame of multi-frame files, high-bit-depth data scaled by its value range
        (see the module docstring for the exact rules).

    Raises:
        ValueError: invalid ``max_pixels`` / ``on_too_large`` / ``bomb_pixels``.
        TypeError: ``source`` is of an unsupported type, or a file object opened in text mode.
        ImageNotFoundError: the path does not exist (also a ``FileNotFoundError``).
        ImageDecodeError: empty, corrupt, truncated, not an image, a directory, unsupported.
        ImageTooLargeError: decompression bomb, or over ``max_pixels`` with ``"error"``.
        ImageInputError: any other problem with the input (unreadable file, failed download,
            numpy array of an unsupported shape/dtype/range).
    """
    _check_positive_int("max_pixels", max_pixels)
    _check_positive_int("bomb_pixels", bomb_pixels)
    if on_too_large not in ("downscale", "error"):
        raise ValueError(f"on_too_large must be 'downscale' or 'error', got {on_too_large!r}")
    if max_aspect is not None and not (isinstance(max_aspect, int | float) and max_aspect >= 1):
        raise ValueError(f"max_aspect must be None or a number >= 1, got {max_aspect!r}")

    def ctx(name: str) -> _Ctx:
        return _Ctx(name, int(max_pixels), on_too_large, int(bomb_pixels), max_aspect)

    if isinstance(source, Image.Image):
        c = ctx("<PIL.Image input>")
        image = _finish(source, c, from_file=False)
    elif isinstance(source, np.ndarray):
        c = ctx(f"<numpy array input, shape {tuple(source.shape)}, dtype {source.dtype}>")
        image = _from_array(source, c)
    elif isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        c = ctx(f"<bytes input ({len(data):,} bytes)>")
        image = _from_bytes(data, c)
    elif isinstance(source, (str, os.PathLike)):
        text = os.fsdecode(os.fspath(source))
        stripped = text.strip()
        if re.match(r"(?i)^https?://", stripped):
            c = ctx(f"'{stripped}'")
            image = _from_url(stripped, c)
        elif stripped[:5].lower() == "data:":
            c = ctx("<data URI input>")
            image = _from_data_uri(stripped, c)
        elif stripped[:7].lower() == "file://":
            path = urllib.request.url2pathname(urllib.parse.urlparse(stripped).path)
            c = ctx(f"'{path}'")
            image = _from_path(path, c)
        elif _URL_SCHEME.match(stripped):
            raise ImageInputError(
                f"'{stripped}': unsupported URL scheme; only http://, https://, file:// and data: "
                "URIs are supported. Download the image and pass its local path instead.",
                source=f"'{stripped}'",
            )
        else:
            path = os.path.expanduser(text)
            c = ctx(f"'{path}'")
            image = _from_path(path, c)
    elif hasattr(source, "read"):
        name = getattr(source, "name", None)
        c = ctx(f"'{name}'" if isinstance(name, str) else "<file-like input>")
        image = _from_filelike(source, c)
    else:
        hint = (
            " For a torch.Tensor use hfmech.vision.image_io.tensor_to_image() first."
            if type(source).__module__.startswith("torch")
            else ""
        )
        raise TypeError(
            "load_image() expects a path, URL, bytes, binary file object, PIL.Image.Image or "
            f"numpy.ndarray, got {type(source).__module__}.{type(source).__qualname__}.{hint}"
        )

    for message, category in c.notes:
        warnings.warn(message, category, stacklevel=2)
    return image


def _check_positive_int(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")


def _open_formats() -> list[str]:
    Image.init()
    return [f for f in SUPPORTED_INPUT_FORMATS if f in Image.OPEN]


def _from_path(path: str, c: _Ctx) -> Image.Image:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        where = "" if os.path.isabs(path) else f" (relative to the current directory {os.getcwd()!r})"
        raise ImageNotFoundError(
            f"Image file not found: {c.name}{where}. Check the path and the file name.",
            source=c.name,
        ) from None
    except OSError as e:
        raise ImageInputError(
            f"{c.name}: cannot access the file ({e.strerror or e}). Check the path and its permissions.",
            source=c.name,
        ) from e
    if stat.S_ISDIR(st.st_mode):
        raise ImageDecodeError(
            f"{c.name} is a directory, not an image file. Pass the path of an image file inside it.",
            source=c.name,
        )
    if not stat.S_ISREG(st.st_mode):
        raise ImageDecodeError(
            f"{c.name} is not a regular file (a device, pipe or socket). Pass the path of an image file.",
            source=c.name,
        )
    if st.st_size == 0:
        raise _empty_error(c)
    try:
        fh = open(path, "rb")  # noqa: SIM115 - closed by the with-block below
    except OSError as e:
        raise ImageInputError(
            f"{c.name}: cannot open the file ({e.strerror or e}). Check its permissions.",
            source=c.name,
        ) from e
    with fh:
        header = fh.read(64)
        fh.seek(0)
        return _decode_stream(fh, header, c)


def _from_bytes(data: bytes, c: _Ctx) -> Image.Image:
    if not data:
        raise _empty_error(c)
    return _decode_stream(io.BytesIO(data), data[:64], c)


def _from_filelike(fh: Any, c: _Ctx) -> Image.Image:
    position = None
    with contextlib.suppress(Exception):
        if fh.seekable():
            position = fh.tell()
    try:
        data = fh.read()
    except Exception as e:
        raise ImageInputError(f"{c.name}: reading the file object failed ({e}).", source=c.name) from e
    finally:
        if position is not None:
            with contextlib.suppress(Exception):
                fh.seek(position)
    if isinstance(data, str):
        raise TypeError(f"{c.name}: the file object is opened in text mode; open it with mode 'rb'.")
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"{c.name}: file object read() returned {type(data).__name__}, expected bytes.")
    return _from_bytes(bytes(data), c)


def _from_data_uri(uri: str, c: _Ctx) -> Image.Image:
    match = re.match(r"(?is)^data:([^,]*?)(;base64)?,(.*)$", uri)
    if match is None:
        raise ImageDecodeError(
            f"{c.name}: malformed data URI (expected 'data:image/png;base64,...').", source=c.name
        )
    try:
        if match.group(2):
            data = base64.b64decode(re.sub(r"\s+", "", match.group(3)), validate=True)
        else:
            data = urllib.parse.unquote_to_bytes(match.group(3))
    except (binascii.Error, ValueError) as e:
        raise ImageDecodeError(
            f"{c.name}: the data URI payload is not valid base64 ({e}).", source=c.name
        ) from e
    return _from_bytes(data, c)


def _from_url(url: str, c: _Ctx) -> Image.Image:
    try:
        import diffusers.utils as diffusers_utils
    except ImportError as e:  # pragma: no cover - diffusers is a hard dependency
        raise ImageInputError(
            f"{c.name}: loading images from URLs needs `diffusers`; pip install diffusers, or "
            "download the file and pass its path.",
            source=c.name,
        ) from e
    pil_limit = Image.MAX_IMAGE_PIXELS
    try:
        with warnings.catch_warnings():
            # A DecompressionBombWarning means "declared size > MAX_IMAGE_PIXELS"; it is a refusal
            # exactly when that also exceeds bomb_pixels (fires before decoding).
            action = "error" if pil_limit is not None and pil_limit >= c.bomb_pixels else "ignore"
            warnings.simplefilter(action, Image.DecompressionBombWarning)
            fetched = diffusers_utils.load_image(url, convert_method=lambda im: im)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise ImageTooLargeError(
            f"{c.name}: refused: the image is a suspected decompression bomb ({e}). "
            "If you trust it, download it and load it with a larger bomb_pixels.",
            source=c.name,
        ) from e
    except UnidentifiedImageError as e:
        raise ImageDecodeError(
            f"{c.name}: the URL did not return a recognisable image (an HTML error page, a "
            "redirect to a login page, or an unsupported format). Open it in a browser to check.",
            source=c.name,
        ) from e
    except Exception as e:
        if _is_network_error(e):
            raise ImageInputError(
                f"{c.name}: downloading the image failed ({type(e).__name__}: {e}). Check the URL "
                "and your network connection, or download the file and pass its path.",
                source=c.name,
            ) from e
        raise ImageDecodeError(
            f"{c.name}: the downloaded image is corrupt or truncated ({type(e).__name__}: {e}). "
            "Try again, or download the file and check it.",
            source=c.name,
        ) from e
    return _finish(fetched, c, from_file=False)


def _is_network_error(error: BaseException) -> bool:
    try:
        import requests
    except ImportError:  # pragma: no cover
        return isinstance(error, (ConnectionError, TimeoutError))
    return isinstance(error, (requests.RequestException, ConnectionError, TimeoutError))


def _empty_error(c: _Ctx) -> ImageDecodeError:
    return ImageDecodeError(
        f"{c.name} is empty (0 bytes), so it contains no image. The download or export probably "
        "failed: re-download or re-export the image.",
        source=c.name,
    )


def _decode_stream(fh: Any, header: bytes, c: _Ctx) -> Image.Image:
    """Open (lazily), check declared size, decode, convert. ``fh`` is owned by the caller."""
    if ImageFile.LOAD_TRUNCATED_IMAGES:
        c.notes.append(
            (
                "PIL.ImageFile.LOAD_TRUNCATED_IMAGES is True (set by some other code), so Pillow "
                f"silently pads truncated files: {c.name} may be incomplete without an error.",
                UserWarning,
            )
        )
    formats = _open_formats()
    with warnings.catch_warnings():
        # bomb_pixels is the policy here; Pillow's softer warning threshold is not.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            im = Image.open(fh, formats=formats)
        except Image.DecompressionBombError as e:
            size = _declared_size_unchecked(fh, formats)
            declared = f"declared {size[0]}×{size[1]} = {size[0] * size[1]:,} pixels" if size else str(e)
            raise ImageTooLargeError(
                f"{c.name}: refused: {declared}, over Pillow's decompression-bomb limit of "
                f"{2 * (Image.MAX_IMAGE_PIXELS or 0):,} pixels; the file was not decoded. It is "
                "most likely a decompression bomb; if you trust it, resize it with another tool first.",
                source=c.name,
            ) from e
        except UnidentifiedImageError as e:
            raise ImageDecodeError(_unidentified_message(c.name, header, formats), source=c.name) from e
        except Exception as e:
            raise ImageDecodeError(
                f"{c.name}: the image header is corrupt ({type(e).__name__}: {e}). Re-export or "
                "re-download the image.",
                source=c.name,
            ) from e
        try:
            return _finish(im, c, from_file=True)
        finally:
            im.close()


def _declared_size_unchecked(fh: Any, formats: list[str]) -> tuple[int, int] | None:
    """Header-only identification without Pillow's bomb check, used for the error message."""
    try:
        fh.seek(0)
        prefix = fh.read(16)
        for fmt in formats:
            factory, accept = Image.OPEN[fmt]
            verdict = accept(prefix) if accept else True
            if not verdict or isinstance(verdict, str):
                continue
            fh.seek(0)
            try:
                im = factory(fh, None)
            except Exception:
                continue
            size = tuple(im.size)
            im.close()
            return (int(size[0]), int(size[1]))
    except Exception:
        return None
    return None


def _unidentified_message(name: str, header: bytes, formats: list[str]) -> str:
    what = _sniff(header)
    supported = ", ".join(formats)
    return (
        f"{name} is not a recognised image file{what}. Supported formats: {supported}. If it is "
        "an image in another format, convert it to PNG or JPEG first; if it was downloaded, the "
        "download may have failed."
    )


def _sniff(header: bytes) -> str:
    head = header.lstrip().lower()
    if head.startswith((b"<!doctype html", b"<html")):
        return " (it is an HTML page, not an image)"
    if head.startswith(b"<svg") or (head.startswith(b"<?xml") and b"<svg" in head):
        return " (it is an SVG vector drawing; rasterise it to PNG first)"
    if header.startswith(b"%PDF-"):
        return " (it is a PDF document)"
    if header.startswith(b"%!PS") or header.startswith(b"\xc5\xd0\xd3\xc6"):
        return " (it is PostScript/EPS, refused for security reasons)"
    if header.startswith(b"8BPS"):
        return " (it is a Photoshop PSD file)"
    if header[4:12] in (b"ftypheic", b"ftypheix", b"ftypmif1", b"ftyphevc"):
        return " (it is HEIC/HEIF, which this Pillow cannot read; convert it to JPEG)"
    if header.startswith(b"PK\x03\x04"):
        return " (it is a ZIP archive)"
    if header and b"\x00" not in header:
        printable = sum(32 <= b < 127 or b in (9, 10, 13) for b in header)
        if printable >= 0.95 * len(header):
            return " (it looks like a text file)"
    return " (unknown or corrupt data)"


def _finish(im: Image.Image, c: _Ctx, *, from_file: bool) -> Image.Image:
    """Size checks -> decode -> EXIF -> RGB -> downscale. Never modifies pixels of ``im``."""
    w, h = im.size
    if w <= 0 or h <= 0:
        raise ImageDecodeError(f"{c.name}: the image has no pixels (size {w}×{h}).", source=c.name)
    pixels = w * h
    verb = "declared" if from_file else "size"
    if c.max_aspect is not None:
        check_aspect_ratio(w, h, c.max_aspect, name=c.name)
    if pixels > c.bomb_pixels:
        raise ImageTooLargeError(
            f"{c.name}: refused: {verb} {w}×{h} = {pixels:,} pixels exceeds bomb_pixels="
            f"{c.bomb_pixels:,}; the image was not decoded. This is what a decompression bomb looks "
            "like; if you trust the file, pass a larger bomb_pixels.",
            source=c.name,
        )
    if pixels > c.max_pixels and c.on_too_large == "error":
        raise ImageTooLargeError(
            f"{c.name}: the image is {w}×{h} = {pixels:,} pixels, over max_pixels={c.max_pixels:,}. "
            "Pass on_too_large='downscale' to shrink it automatically, raise max_pixels, or resize "
            "the image first.",
            source=c.name,
        )
    method = "Lanczos"
    if from_file and pixels > c.max_pixels and im.format in ("JPEG", "MPO"):
        # DCT-domain downscaling by 1/2, 1/4 or 1/8: never decode the full-size JPEG.
        with contextlib.suppress(Exception):
            im.draft(None, _fit_size(w, h, c.max_pixels))
        if im.size != (w, h):
            method = "libjpeg DCT scaling, then Lanczos if still needed"
    _load(im, c)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            oriented = ImageOps.exif_transpose(im)
        except Exception as e:
            caught.append(warnings.WarningMessage(f"{type(e).__name__}: {e}", UserWarning, "", 0))
            oriented = None
    if oriented is None:
        oriented = im.copy()
    exif_problems = [str(w_.message) for w_ in caught if issubclass(w_.category, UserWarning)]
    if exif_problems:
        c.notes.append(
            (
                f"{c.name}: the EXIF metadata is corrupt ({exif_problems[0].strip()}); the EXIF "
                "orientation may not have been applied.",
                UserWarning,
            )
        )

    rgb = _to_rgb(oriented, c.name)
    if rgb is im:  # never hand back (or re-label) the caller's own object
        rgb = rgb.copy()
    info = {}
    if im.mode in _RGB_FAMILY and "icc_profile" in im.info:
        info["icc_profile"] = im.info["icc_profile"]
    rgb.info = info

    if rgb.width * rgb.height > c.max_pixels:
        rgb = rgb.resize(_fit_size(rgb.width, rgb.height, c.max_pixels), Image.Resampling.LANCZOS)
        rgb.info = info
    if pixels > c.max_pixels:  # also when Image.draft alone already brought it under the limit
        size = rgb.size
        c.notes.append(
            (
                f"{c.name}: the image is {w}×{h} = {pixels:,} pixels, over max_pixels="
                f"{c.max_pixels:,}; downscaled to {size[0]}×{size[1]} ({method}; aspect ratio kept). "
                "Pass on_too_large='error' to refuse such images instead, or raise max_pixels.",
                ImageDownscaledWarning,
            )
        )
    return rgb


def check_aspect_ratio(
    width: int, height: int, max_aspect: float = MAX_ASPECT_RATIO, *, name: str = "image"
) -> None:
    """Raise :class:`ImageAspectError` when ``max(w, h) / min(w, h)`` exceeds ``max_aspect``."""
    long, short = max(width, height), min(width, height)
    if short <= 0 or long > max_aspect * short:
        raise ImageAspectError(
            f"{name}: the image is {width}×{height} px, an aspect ratio of {long / max(short, 1):.4g}:1; at most "
            f"{max_aspect:g}:1 is accepted (a thinner image would be blown up to a huge tensor). Crop or pad it first.",
            source=name,
        )


def _load(im: Image.Image, c: _Ctx) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            im.load()
        except Image.DecompressionBombError as e:
            raise ImageTooLargeError(
                f"{c.name}: refused by Pillow's decompression-bomb check ({e}).", source=c.name
            ) from e
        except MemoryError as e:
            raise ImageTooLargeError(
                f"{c.name}: ran out of memory while decoding the image. Lower bomb_pixels or resize "
                "the image first.",
                source=c.name,
            ) from e
        except Exception as e:
            detail = f"{type(e).__name__}: {e}"
            if "truncated" in str(e).lower():
                problem = "the image data is truncated (the file is incomplete, probably cut off during a download or copy)"
            else:
                problem = "the image data is corrupt or uses an unsupported encoding"
            raise ImageDecodeError(
                f"{c.name}: {problem} [{detail}]. Re-download or re-export the image.", source=c.name
            ) from e


def _fit_size(w: int, h: int, max_pixels: int) -> tuple[int, int]:
    """Largest size with the aspect ratio of ``w x h`` (floored) and ``W * H <= max_pixels``."""
    if w * h <= max_pixels:
        return (w, h)
    scale = math.sqrt(max_pixels / (w * h))
    nw = min(w, max(1, int(w * scale)))
    nh = min(h, max(1, int(h * scale)))
    if nw * nh > max_pixels:  # extreme aspect ratios: one side is already 1 pixel
        if nw == 1:
            nh = max_pixels
        else:
            nw = max_pixels
    while nw * nh > max_pixels:  # guard against floating-point rounding
        if nw >= nh:
            nw -= 1
        else:
            nh -= 1
    return (nw, nh)


def _has_alpha(im: Image.Image) -> bool:
    if im.mode in _ALPHA_MODES:
        return True
    has = getattr(im, "has_transparency_data", None)
    if has is not None:
        return bool(has)
    return "transparency" in im.info  # pragma: no cover - Pillow < 10.1


def _to_rgb(im: Image.Image, name: str) -> Image.Image:
    """Convert any Pillow mode to ``RGB`` following the module's rules. May return ``im`` itself
    when it is already plain RGB."""
    mode = im.mode
    if mode in _I16_MODES:
        arr = np.asarray(im).astype(np.float32)
        return _gray_to_rgb(np.rint(arr / 257.0))
    if mode == "I":
        arr = np.asarray(im).astype(np.float64)
        lo, hi = float(arr.min()), float(arr.max())
        if lo >= 0 and hi <= 255:
            return _gray_to_rgb(arr)
        if lo >= 0 and hi <= 65535:
            return _gray_to_rgb(np.rint(arr / 257.0))
        return _gray_to_rgb(_stretch(arr, lo, hi))
    if mode == "F":
        arr = np.asarray(im).astype(np.float64)
        finite = np.isfinite(arr)
        if not finite.any():
            raise ImageDecodeError(
                f"{name}: the float image has no finite pixel values (all NaN/inf).", source=name
            )
        lo, hi = float(arr[finite].min()), float(arr[finite].max())
        if lo >= 0 and hi <= 1:
            out = arr * 255.0
        elif lo >= 0 and hi <= 255:
            out = arr
        else:
            out = _stretch(arr, lo, hi)
        out = np.where(np.isnan(arr), 0.0, out)
        out = np.where(np.isposinf(arr), 255.0, out)
        out = np.where(np.isneginf(arr), 0.0, out)
        return _gray_to_rgb(np.rint(out))
    if _has_alpha(im):
        src = im.convert("LA") if mode == "La" else im
        try:
            rgba = src.convert("RGBA")
        except Exception as e:
            raise ImageDecodeError(
                f"{name}: unsupported pixel mode {mode!r} with transparency ({e}); convert it to RGBA first.",
                source=name,
            ) from e
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    if mode == "RGB":
        return im
    try:
        return im.convert("RGB")
    except Exception as e:
        raise ImageDecodeError(
            f"{name}: unsupported pixel mode {mode!r} ({e}); convert the image to RGB first.",
            source=name,
        ) from e


def _stretch(arr: np.ndarray, lo: float, hi: float) -> np.ndarray:
    if hi <= lo:
        return np.zeros_like(arr)
    return np.rint((arr - lo) * (255.0 / (hi - lo)))


def _gray_to_rgb(arr: np.ndarray) -> Image.Image:
    gray = np.clip(arr, 0, 255).astype(np.uint8)
    return Image.fromarray(np.ascontiguousarray(np.repeat(gray[:, :, None], 3, axis=2)))


def _from_array(arr: np.ndarray, c: _Ctx) -> Image.Image:
    def bad(message: str) -> ImageInputError:
        return ImageInputError(f"{c.name}: {message}", source=c.name)

    shape = arr.shape
    if arr.ndim == 3 and shape[2] == 1:
        arr = arr[:, :, 0]
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (3, 4)):
        hint = ""
        if arr.ndim == 3 and shape[0] in (1, 3, 4):
            hint = " It looks channels-first: pass arr.transpose(1, 2, 0)."
        elif arr.ndim == 4:
            hint = " It looks like a batch: pass one image, e.g. arr[0]."
        raise bad(
            f"unsupported array shape {shape}; expected (H, W), (H, W, 1), (H, W, 3) or (H, W, 4).{hint}"
        )
    h, w = arr.shape[:2]
    if h == 0 or w == 0:
        raise bad("the array has no pixels.")
    if w * h > c.bomb_pixels:
        raise ImageTooLargeError(
            f"{c.name}: refused: size {w}×{h} = {w * h:,} pixels exceeds bomb_pixels={c.bomb_pixels:,}.",
            source=c.name,
        )
    if w * h > c.max_pixels and c.on_too_large == "error":
        raise ImageTooLargeError(
            f"{c.name}: the image is {w}×{h} = {w * h:,} pixels, over max_pixels={c.max_pixels:,}. "
            "Pass on_too_large='downscale', raise max_pixels, or resize the array first.",
            source=c.name,
        )

    kind = arr.dtype.kind
    if kind == "b":
        u8 = arr.astype(np.uint8) * np.uint8(255)
    elif arr.dtype == np.uint8:
        u8 = np.array(arr, dtype=np.uint8, copy=True)
    elif arr.dtype == np.uint16:
        u8 = np.rint(arr.astype(np.float32) / 257.0).astype(np.uint8)
    elif kind in "iu":
        lo, hi = int(arr.min()), int(arr.max())
        if lo < 0 or hi > 255:
            raise bad(
                f"integer values must lie in 0..255 (uint16 is taken as 16-bit), got {lo}..{hi}. "
                "Scale the array to uint8 first."
            )
        u8 = arr.astype(np.uint8)
    elif kind == "f":
        data = arr.astype(np.float32)
        if not np.isfinite(data).all():
            raise bad("the float array contains NaN or inf values.")
        lo, hi = float(data.min()), float(data.max())
        if lo < -_FLOAT_TOLERANCE or hi > 1 + _FLOAT_TOLERANCE:
            hint = " Divide by 255 if it holds 0..255 values." if hi <= 255 and lo >= 0 else ""
            raise bad(f"float values must lie in [0, 1], got [{lo:g}, {hi:g}].{hint}")
        u8 = np.rint(np.clip(data, 0.0, 1.0) * 255.0).astype(np.uint8)
    else:
        raise bad(f"unsupported dtype {arr.dtype}; use uint8 (0..255) or float (0..1).")

    image = Image.fromarray(np.ascontiguousarray(u8))  # L, RGB or RGBA
    return _finish(image, c, from_file=False)


# The pixel and save helpers live in their own modules (pixels.py, image_save.py), which use this one; they stay
# importable from here, resolved on first access (PEP 562) so that either module may be imported first.
_MOVED = {
    "SAVE_SUFFIXES": "image_save",
    "save_image_atomic": "image_save",
    "image_to_tensor": "pixels",
    "normalize_pixels": "pixels",
    "resize_max_side": "pixels",
    "tensor_to_image": "pixels",
}


def __getattr__(name: str):
    if name in _MOVED:
        import importlib

        return getattr(importlib.import_module(f".{_MOVED[name]}", __package__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
