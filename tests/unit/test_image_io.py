"""Tests for hfmech.vision.image_io: every bad input gives a typed error, every mode a correct RGB."""

from __future__ import annotations

import io
import os
import stat
import struct
import time
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageFile

from hfmech.vision import image_io
from hfmech.vision.image_io import (
    DEFAULT_BOMB_PIXELS,
    DEFAULT_MAX_PIXELS,
    ImageDecodeError,
    ImageDownscaledWarning,
    ImageInputError,
    ImageNotFoundError,
    ImageTooLargeError,
    image_to_tensor,
    load_image,
    resize_max_side,
    save_image_atomic,
    tensor_to_image,
)

# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------


def _noise_rgb(w: int = 96, h: int = 64, seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8))


def _encode(image: Image.Image, fmt: str, **kwargs) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format=fmt, **kwargs)
    return buf.getvalue()


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _px(image: Image.Image, x: int, y: int) -> tuple[int, ...]:
    return tuple(int(v) for v in np.asarray(image)[y, x])


def _png_chunk(tag: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)


def _bomb_png(width: int, height: int) -> bytes:
    """A ~100-byte PNG whose IHDR declares width x height 8-bit RGB (IDAT holds a few rows only)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 4096, 9)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", idat)
        + _png_chunk(b"IEND", b"")
    )


@pytest.fixture
def no_decoding(monkeypatch):
    """Any attempt to decode pixel data fails the test."""

    def forbidden(self, *args, **kwargs):
        raise AssertionError("pixel data was decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", forbidden)


@pytest.fixture(autouse=True)
def _pil_globals_untouched():
    before = (Image.MAX_IMAGE_PIXELS, ImageFile.LOAD_TRUNCATED_IMAGES)
    yield
    assert before == (Image.MAX_IMAGE_PIXELS, ImageFile.LOAD_TRUNCATED_IMAGES)


# --------------------------------------------------------------------------------------------
# constants, errors, argument validation
# --------------------------------------------------------------------------------------------


def test_constants_and_error_hierarchy():
    assert DEFAULT_MAX_PIXELS == 4096 * 4096
    assert DEFAULT_BOMB_PIXELS == 128_000_000
    assert issubclass(ImageInputError, ValueError)
    for cls in (ImageDecodeError, ImageTooLargeError, ImageNotFoundError):
        assert issubclass(cls, ImageInputError)
    assert issubclass(ImageNotFoundError, FileNotFoundError)
    assert issubclass(ImageDownscaledWarning, UserWarning)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_pixels": 0},
        {"max_pixels": -5},
        {"max_pixels": 1.5},
        {"max_pixels": True},
        {"max_pixels": "100"},
        {"bomb_pixels": 0},
        {"on_too_large": "shrink"},
        {"on_too_large": None},
    ],
)
def test_invalid_arguments_raise_value_error(kwargs):
    with pytest.raises(ValueError) as info:
        load_image(_noise_rgb(8, 8), **kwargs)
    assert not isinstance(info.value, ImageInputError)
    assert next(iter(kwargs)) in str(info.value)


def test_unsupported_source_type_raises_type_error():
    with pytest.raises(TypeError, match="expects a path"):
        load_image(12345)
    with pytest.raises(TypeError, match="tensor_to_image"):
        load_image(torch.zeros(3, 4, 4))


# --------------------------------------------------------------------------------------------
# bad files
# --------------------------------------------------------------------------------------------


def test_missing_file(tmp_path):
    missing = tmp_path / "nope" / "missing.png"
    with pytest.raises(ImageNotFoundError) as info:
        load_image(missing)
    assert isinstance(info.value, FileNotFoundError)
    assert isinstance(info.value, ImageInputError)
    assert str(missing) in str(info.value)
    assert "not found" in str(info.value)


def test_directory(tmp_path):
    with pytest.raises(ImageDecodeError, match="is a directory"):
        load_image(tmp_path)


def test_empty_file(tmp_path):
    path = _write(tmp_path, "empty.png", b"")
    with pytest.raises(ImageDecodeError, match="empty") as info:
        load_image(path)
    assert str(path) in str(info.value)


def test_empty_bytes():
    with pytest.raises(ImageDecodeError, match="empty"):
        load_image(b"")


def test_random_bytes(tmp_path):
    data = np.random.default_rng(1).integers(0, 256, 4096, dtype=np.uint8).tobytes()
    path = _write(tmp_path, "noise.jpg", data)
    with pytest.raises(ImageDecodeError, match="not a recognised image") as info:
        load_image(path)
    assert str(path) in str(info.value)
    assert "PNG" in str(info.value)  # lists the supported formats
    with pytest.raises(ImageDecodeError):
        load_image(data)


def test_text_file(tmp_path):
    path = _write(tmp_path, "notes.png", b"hello, this is definitely not an image\n" * 20)
    with pytest.raises(ImageDecodeError, match="text file"):
        load_image(path)


def test_html_page_is_named():
    with pytest.raises(ImageDecodeError, match="HTML page"):
        load_image(b"<!DOCTYPE html><html><body>404 Not Found</body></html>")


def test_eps_is_refused_even_though_pillow_knows_it():
    eps = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nshowpage\n"
    with pytest.raises(ImageDecodeError, match="PostScript"):
        load_image(eps)


@pytest.mark.parametrize("fraction", [0.3, 0.6, 0.9])
def test_truncated_jpeg(tmp_path, fraction):
    data = _encode(_noise_rgb(128, 128), "JPEG", quality=90)
    path = _write(tmp_path, "cut.jpg", data[: int(len(data) * fraction)])
    with pytest.raises(ImageDecodeError, match="truncated") as info:
        load_image(path)
    assert str(path) in str(info.value)
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


@pytest.mark.parametrize("fraction", [0.2, 0.5, 0.95])
def test_truncated_png(tmp_path, fraction):
    data = _encode(_noise_rgb(128, 128), "PNG")
    path = _write(tmp_path, "cut.png", data[: int(len(data) * fraction)])
    with pytest.raises(ImageDecodeError, match="truncated|corrupt"):
        load_image(path)
    with pytest.raises(ImageDecodeError):
        load_image(data[: int(len(data) * fraction)])


def test_truncated_png_header(tmp_path):
    data = _encode(_noise_rgb(16, 16), "PNG")
    with pytest.raises(ImageDecodeError):
        load_image(_write(tmp_path, "head.png", data[:20]))


def test_lazy_truncated_pil_image_is_typed(tmp_path):
    data = _encode(_noise_rgb(128, 128), "JPEG")
    lazy = Image.open(io.BytesIO(data[: len(data) // 2]))
    with pytest.raises(ImageDecodeError, match="truncated"):
        load_image(lazy)


def test_truncated_warning_when_someone_enabled_load_truncated_images(monkeypatch):
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    data = _encode(_noise_rgb(32, 32), "PNG")
    with pytest.warns(UserWarning, match="LOAD_TRUNCATED_IMAGES"):
        load_image(data)


# --------------------------------------------------------------------------------------------
# decompression bombs and size limits
# --------------------------------------------------------------------------------------------


def test_bomb_png_is_refused_before_decoding_pil_hard_limit(tmp_path, no_decoding):
    # 20000 x 20000 = 400M pixels: over both bomb_pixels and Pillow's own hard limit.
    path = _write(tmp_path, "bomb.png", _bomb_png(20000, 20000))
    assert path.stat().st_size < 200
    start = time.perf_counter()
    with pytest.raises(ImageTooLargeError, match="refused") as info:
        load_image(path)
    assert time.perf_counter() - start < 1.0
    message = str(info.value)
    assert "20000×20000" in message and str(path) in message


def test_bomb_png_is_refused_by_bomb_pixels(tmp_path, no_decoding):
    # 12000 x 12000 = 144M pixels: over DEFAULT_BOMB_PIXELS but under Pillow's hard limit, so it
    # is our own declared-size check that refuses it (Pillow would only warn).
    path = _write(tmp_path, "bomb.png", _bomb_png(12000, 12000))
    with pytest.raises(ImageTooLargeError, match=r"refused: declared 12000×12000"):
        load_image(path)
    with pytest.raises(ImageTooLargeError, match="refused"):
        load_image(path.read_bytes())


def test_custom_bomb_pixels_and_lazy_pil_input(tmp_path, no_decoding):
    path = _write(tmp_path, "b.png", _bomb_png(300, 200))
    with pytest.raises(ImageTooLargeError, match=r"300×200"):
        load_image(path, bomb_pixels=50_000)
    lazy = Image.open(path)  # Image.open is lazy: nothing decoded yet
    with pytest.raises(ImageTooLargeError, match="refused"):
        load_image(lazy, bomb_pixels=50_000)


def test_pillow_decompression_bomb_error_is_converted(monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)  # hard limit becomes 200 pixels
    data = _encode(_noise_rgb(64, 64), "PNG")
    with pytest.raises(ImageTooLargeError, match="refused"):
        load_image(data)


def test_pillow_decompression_bomb_warning_is_not_leaked(monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # warns above 1000 pixels
    data = _encode(_noise_rgb(40, 40), "PNG")  # 1600 pixels: Pillow warns, our policy accepts
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = load_image(data)
    assert out.size == (40, 40)


def test_over_max_pixels_downscales_with_warning(tmp_path):
    src = _noise_rgb(300, 200)
    path = _write(tmp_path, "big.png", _encode(src, "PNG"))
    with pytest.warns(ImageDownscaledWarning, match="300×200"):
        out = load_image(path, max_pixels=10_000)
    w, h = out.size
    assert out.mode == "RGB"
    assert w * h <= 10_000
    assert w * h > 9_000  # as large as allowed, not needlessly small
    assert abs(w / h - 1.5) < 0.02


def test_over_max_pixels_downscale_keeps_content():
    src = Image.new("RGB", (400, 100), (255, 0, 0))
    src.paste((0, 0, 255), (200, 0, 400, 100))
    with pytest.warns(ImageDownscaledWarning):
        out = load_image(src, max_pixels=1_000)
    w, h = out.size
    assert w * h <= 1_000 and w > h
    assert _px(out, 1, h // 2)[0] > 200 and _px(out, w - 2, h // 2)[2] > 200


def test_large_jpeg_downscale_uses_draft_and_keeps_aspect(tmp_path):
    src = Image.new("RGB", (1600, 800), (30, 120, 200))
    path = _write(tmp_path, "big.jpg", _encode(src, "JPEG", quality=95))
    with pytest.warns(ImageDownscaledWarning):
        out = load_image(path, max_pixels=20_000)
    w, h = out.size
    assert w * h <= 20_000 and abs(w / h - 2) < 0.05
    assert np.abs(np.asarray(out, dtype=int) - (30, 120, 200)).max() <= 6


def test_over_max_pixels_error_mode_refuses_before_decoding(tmp_path, no_decoding):
    path = _write(tmp_path, "big.png", _encode(_noise_rgb(300, 200), "PNG"))
    with pytest.raises(ImageTooLargeError, match="max_pixels"):
        load_image(path, max_pixels=10_000, on_too_large="error")


def test_over_max_pixels_error_mode_numpy():
    with pytest.raises(ImageTooLargeError):
        load_image(np.zeros((200, 300, 3), np.uint8), max_pixels=10_000, on_too_large="error")


def test_under_limit_emits_no_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = load_image(_noise_rgb(100, 100), max_pixels=10_000)
    assert out.size == (100, 100)


def test_extreme_aspect_ratio_downscale():
    with pytest.warns(ImageDownscaledWarning):
        out = load_image(np.zeros((1, 5000), np.uint8), max_pixels=100)
    assert out.size[0] * out.size[1] <= 100 and out.size[1] == 1


# --------------------------------------------------------------------------------------------
# pixel modes
# --------------------------------------------------------------------------------------------


def test_mode_1():
    img = Image.new("1", (4, 2), 0)
    img.putpixel((1, 0), 1)
    out = load_image(img)
    assert out.mode == "RGB"
    assert _px(out, 1, 0) == (255, 255, 255) and _px(out, 0, 0) == (0, 0, 0)


def test_mode_L():
    out = load_image(Image.new("L", (3, 3), 77))
    assert out.mode == "RGB" and _px(out, 2, 2) == (77, 77, 77)


def test_mode_LA_composited_on_white():
    arr = np.array([[[10, 0], [10, 255], [0, 128]]], dtype=np.uint8)  # (1, 3, 2): L, A
    img = Image.merge("LA", [Image.fromarray(arr[..., 0]), Image.fromarray(arr[..., 1])])
    out = load_image(img)
    assert out.mode == "RGB"
    assert _px(out, 0, 0) == (255, 255, 255)  # fully transparent -> white
    assert _px(out, 1, 0) == (10, 10, 10)  # opaque -> unchanged
    assert abs(_px(out, 2, 0)[0] - 127) <= 1  # half-transparent black over white


def test_mode_RGBA_composited_on_white(tmp_path):
    arr = np.zeros((2, 3, 4), dtype=np.uint8)
    arr[..., 0] = 255  # red
    arr[0, :, 3] = [0, 255, 128]
    arr[1, :, 3] = 255
    path = _write(tmp_path, "rgba.png", _encode(Image.fromarray(arr), "PNG"))
    out = load_image(path)
    assert out.mode == "RGB"
    assert _px(out, 0, 0) == (255, 255, 255)
    assert _px(out, 1, 0) == (255, 0, 0)
    r, g, b = _px(out, 2, 0)
    assert r == 255 and abs(g - 127) <= 1 and abs(b - 127) <= 1


def test_mode_P_without_transparency(tmp_path):
    img = Image.new("P", (4, 4), 1)
    img.putpalette([0, 0, 0, 10, 200, 30] + [0] * (256 * 3 - 6))
    img.putpixel((0, 0), 0)
    path = _write(tmp_path, "pal.png", _encode(img, "PNG"))
    out = load_image(path)
    assert out.mode == "RGB"
    assert _px(out, 1, 1) == (10, 200, 30) and _px(out, 0, 0) == (0, 0, 0)


def test_mode_P_with_transparency(tmp_path):
    img = Image.new("P", (4, 4), 1)
    img.putpalette([0, 0, 0, 10, 200, 30] + [0] * (256 * 3 - 6))
    img.putpixel((0, 0), 0)
    path = _write(tmp_path, "pal_t.png", _encode(img, "PNG", transparency=0))
    assert Image.open(path).mode == "P"
    out = load_image(path)
    assert _px(out, 0, 0) == (255, 255, 255)  # transparent palette index -> white
    assert _px(out, 1, 1) == (10, 200, 30)


def test_rgb_with_colour_key_transparency(tmp_path):
    img = Image.new("RGB", (2, 1), (1, 2, 3))
    img.putpixel((1, 0), (9, 9, 9))
    path = _write(tmp_path, "key.png", _encode(img, "PNG", transparency=(1, 2, 3)))
    out = load_image(path)
    assert _px(out, 0, 0) == (255, 255, 255) and _px(out, 1, 0) == (9, 9, 9)


def test_mode_CMYK(tmp_path):
    img = Image.new("CMYK", (8, 8), (0, 255, 255, 0))  # pure red
    assert _px(load_image(img), 3, 3) == (255, 0, 0)
    path = _write(tmp_path, "cmyk.jpg", _encode(img, "JPEG", quality=95))
    assert Image.open(path).mode == "CMYK"
    out = load_image(path)
    assert out.mode == "RGB"
    r, g, b = _px(out, 3, 3)
    assert r > 240 and g < 15 and b < 15


def test_mode_YCbCr():
    img = Image.new("RGB", (8, 8), (200, 100, 50)).convert("YCbCr")
    out = load_image(img)
    assert out.mode == "RGB"
    assert np.abs(np.asarray(out, dtype=int) - (200, 100, 50)).max() <= 3


def _check_full_16bit_gradient(out: Image.Image, width: int) -> None:
    row = np.asarray(out)[0, :, 0].astype(int)
    assert out.mode == "RGB"
    assert row[0] == 0 and row[-1] == 255  # full range, not clipped at 255/65535 of it
    assert np.all(np.diff(row) >= 0)  # monotonic
    assert len(np.unique(row)) == 256  # every 8-bit level is reached
    assert row[width // 2] in (127, 128)


@pytest.mark.parametrize("endianness", ["<", ">"])
def test_mode_I16_gradient_maps_to_full_range(endianness):
    width = 1024
    values = np.round(np.linspace(0, 65535, width)).astype(f"{endianness}u2")
    arr = np.tile(values, (2, 1))
    mode = "I;16" if endianness == "<" else "I;16B"
    img = Image.frombytes(mode, (width, 2), arr.tobytes())
    assert img.mode == mode
    _check_full_16bit_gradient(load_image(img), width)


def test_mode_I16_png_file(tmp_path):
    width = 512
    arr = np.tile(np.round(np.linspace(0, 65535, width)).astype(np.uint16), (3, 1))
    path = _write(tmp_path, "g16.png", _encode(Image.fromarray(arr), "PNG"))
    assert Image.open(path).mode.startswith("I;16")
    _check_full_16bit_gradient(load_image(path), width)
    assert _px(load_image(path), 0, 0) != _px(load_image(path), 10, 0)


def test_mode_I16_exact_values():
    arr = np.array([[0, 257, 128 * 257, 65535]], dtype=np.uint16)
    out = load_image(Image.fromarray(arr))
    assert [_px(out, x, 0)[0] for x in range(4)] == [0, 1, 128, 255]


def test_mode_I_16bit_range_from_pgm():
    pgm = b"P5 4 1 65535\n" + np.array([0, 257, 32896, 65535], ">u2").tobytes()
    assert Image.open(io.BytesIO(pgm)).mode == "I"
    out = load_image(pgm)
    assert [_px(out, x, 0)[0] for x in range(4)] == [0, 1, 128, 255]


def test_mode_I_value_ranges():
    eight_bit = Image.fromarray(np.array([[0, 100, 255]], dtype=np.int32))
    assert eight_bit.mode == "I"
    assert [_px(load_image(eight_bit), x, 0)[0] for x in range(3)] == [0, 100, 255]
    wide = Image.fromarray(np.array([[-1000, 0, 1000]], dtype=np.int32))  # min-max stretch
    assert [_px(load_image(wide), x, 0)[0] for x in range(3)] == [0, 128, 255]


def test_mode_F_value_ranges():
    unit = Image.fromarray(np.array([[0.0, 0.5, 1.0]], dtype=np.float32))
    assert unit.mode == "F"
    assert [_px(load_image(unit), x, 0)[0] for x in range(3)] == [0, 128, 255]
    byte_range = Image.fromarray(np.array([[0.0, 100.0, 255.0]], dtype=np.float32))
    assert [_px(load_image(byte_range), x, 0)[0] for x in range(3)] == [0, 100, 255]
    hdr = Image.fromarray(np.array([[-2.0, 3.0, 8.0]], dtype=np.float32))  # min-max stretch
    assert [_px(load_image(hdr), x, 0)[0] for x in range(3)] == [0, 128, 255]


def test_mode_F_non_finite():
    img = Image.fromarray(np.array([[np.nan, 0.25, np.inf, -np.inf]], dtype=np.float32))
    assert [_px(load_image(img), x, 0)[0] for x in range(4)] == [0, 64, 255, 0]
    with pytest.raises(ImageDecodeError, match="finite"):
        load_image(Image.fromarray(np.full((2, 2), np.nan, dtype=np.float32)))


def test_float_tiff_file(tmp_path):
    arr = np.tile(np.linspace(0, 1, 256, dtype=np.float32), (2, 1))
    path = _write(tmp_path, "f.tiff", _encode(Image.fromarray(arr), "TIFF"))
    row = np.asarray(load_image(path))[0, :, 0].astype(int)
    assert row[0] == 0 and row[-1] == 255 and np.all(np.diff(row) >= 0)


@pytest.mark.parametrize("mode", ["LAB", "HSV", "RGBX", "RGBa", "La", "PA"])
def test_other_modes_become_rgb(mode):
    out = load_image(Image.new(mode, (5, 4)))
    assert out.mode == "RGB" and out.size == (5, 4)


# --------------------------------------------------------------------------------------------
# EXIF, multi-frame
# --------------------------------------------------------------------------------------------


def test_exif_orientation_6_rotates(tmp_path):
    img = Image.new("RGB", (40, 20), (0, 0, 255))
    img.paste((255, 0, 0), (0, 0, 20, 20))  # left half red (as stored)
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    path = _write(tmp_path, "rot.jpg", _encode(img, "JPEG", quality=95, exif=exif.tobytes()))
    assert Image.open(path).size == (40, 20)
    out = load_image(path)
    assert out.size == (20, 40)  # dims swapped
    top, bottom = _px(out, 10, 5), _px(out, 10, 35)
    assert top[0] > 200 and top[2] < 60  # stored left -> displayed top
    assert bottom[2] > 200 and bottom[0] < 60


def test_corrupt_exif_still_loads(tmp_path):
    junk = b"Exif\x00\x00MM\x00*\x00\x00\x00\x08\xff\xff"
    path = _write(tmp_path, "badexif.jpg", _encode(Image.new("RGB", (8, 4), (5, 5, 5)), "JPEG", exif=junk))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = load_image(path)
    assert out.size == (8, 4) and out.mode == "RGB"


def test_animated_gif_uses_first_frame(tmp_path):
    frames = [Image.new("RGB", (6, 6), c) for c in [(255, 0, 0), (0, 255, 0), (0, 0, 255)]]
    path = tmp_path / "anim.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=50, loop=0)
    assert Image.open(path).n_frames == 3
    out = load_image(path)
    assert out.mode == "RGB"
    assert _px(out, 3, 3) == (255, 0, 0)
    assert getattr(out, "n_frames", 1) == 1


def test_multipage_tiff_uses_first_page(tmp_path):
    pages = [Image.new("RGB", (5, 5), (10, 20, 30)), Image.new("RGB", (5, 5), (200, 200, 200))]
    path = tmp_path / "pages.tiff"
    pages[0].save(path, save_all=True, append_images=pages[1:])
    assert _px(load_image(path), 2, 2) == (10, 20, 30)


# --------------------------------------------------------------------------------------------
# source types
# --------------------------------------------------------------------------------------------


def test_path_types_bytes_and_file_objects(tmp_path):
    src = _noise_rgb(20, 10)
    data = _encode(src, "PNG")
    path = _write(tmp_path, "a.png", data)
    expected = np.asarray(src)
    for source in (path, str(path), data, bytearray(data), memoryview(data), f"file://{path}"):
        assert np.array_equal(np.asarray(load_image(source)), expected)

    stream = io.BytesIO(b"xx" + data)
    stream.seek(2)
    assert np.array_equal(np.asarray(load_image(stream)), expected)
    assert stream.tell() == 2  # position restored

    with open(path, "rb") as fh:
        assert np.array_equal(np.asarray(load_image(fh)), expected)
        assert not fh.closed


def test_file_object_errors(tmp_path):
    with pytest.raises(TypeError, match="text mode"):
        load_image(io.StringIO("not bytes"))
    with pytest.raises(ImageDecodeError, match="empty"):
        load_image(io.BytesIO(b""))


def test_data_uri():
    import base64

    data = _encode(Image.new("RGB", (3, 2), (1, 2, 3)), "PNG")
    uri = "data:image/png;base64," + base64.b64encode(data).decode()
    assert _px(load_image(uri), 2, 1) == (1, 2, 3)
    with pytest.raises(ImageDecodeError):
        load_image("data:image/png;base64,@@@not-base64@@@")


def test_unsupported_url_scheme():
    with pytest.raises(ImageInputError, match="scheme"):
        load_image("ftp://example.com/cat.png")


def test_http_url_delegates_to_diffusers_and_validates(monkeypatch):
    import diffusers.utils

    calls = []

    def fake_load_image(image, convert_method=None):
        calls.append(image)
        img = Image.fromarray(np.tile(np.linspace(0, 65535, 300).astype(np.uint16), (200, 1)))
        return convert_method(img) if convert_method else img.convert("RGB")

    monkeypatch.setattr(diffusers.utils, "load_image", fake_load_image)
    with pytest.warns(ImageDownscaledWarning):
        out = load_image("https://example.com/cat.png", max_pixels=10_000)
    assert calls == ["https://example.com/cat.png"]
    assert out.mode == "RGB" and out.size[0] * out.size[1] <= 10_000
    assert np.asarray(out).max() >= 250  # the 16-bit data was scaled, not clipped or passed raw


def test_http_url_errors_are_typed(monkeypatch):
    import diffusers.utils
    import requests
    from PIL import UnidentifiedImageError

    def not_an_image(image, convert_method=None):
        raise UnidentifiedImageError("cannot identify image file")

    monkeypatch.setattr(diffusers.utils, "load_image", not_an_image)
    with pytest.raises(ImageDecodeError, match="did not return"):
        load_image("http://example.com/x.png")

    def offline(image, convert_method=None):
        raise requests.ConnectionError("no network")

    monkeypatch.setattr(diffusers.utils, "load_image", offline)
    with pytest.raises(ImageInputError, match="downloading"):
        load_image("http://example.com/x.png")


# --------------------------------------------------------------------------------------------
# numpy inputs
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("array", "expected"),
    [
        (np.full((4, 5), 77, np.uint8), (77, 77, 77)),
        (np.full((4, 5, 1), 77, np.uint8), (77, 77, 77)),
        (np.broadcast_to(np.array([10, 20, 30], np.uint8), (4, 5, 3)), (10, 20, 30)),
        (np.broadcast_to(np.array([10, 20, 30, 255], np.uint8), (4, 5, 4)), (10, 20, 30)),
        (np.broadcast_to(np.array([10, 20, 30, 0], np.uint8), (4, 5, 4)), (255, 255, 255)),
        (np.full((4, 5, 3), 0.5, np.float32), (128, 128, 128)),
        (np.full((4, 5), 1.0, np.float64), (255, 255, 255)),
        (np.full((4, 5, 3), 1.00005, np.float32), (255, 255, 255)),
        (np.ones((4, 5), bool), (255, 255, 255)),
        (np.full((4, 5), 65535, np.uint16), (255, 255, 255)),
        (np.full((4, 5, 3), 200, np.int64), (200, 200, 200)),
    ],
)
def test_numpy_inputs(array, expected):
    out = load_image(array)
    assert out.mode == "RGB" and out.size == (5, 4)
    assert _px(out, 4, 3) == expected


def test_numpy_float_gradient_exact():
    values = np.arange(256, dtype=np.float64) / 255.0
    out = load_image(np.tile(values, (2, 1)))
    assert np.array_equal(np.asarray(out)[0, :, 0], np.arange(256))


@pytest.mark.parametrize(
    ("array", "match"),
    [
        (np.zeros((3, 8, 8), np.uint8), "channels-first"),
        (np.zeros((1, 8, 8, 3), np.uint8), "batch"),
        (np.zeros((8,), np.uint8), "shape"),
        (np.zeros((8, 8, 2), np.uint8), "shape"),
        (np.zeros((0, 8), np.uint8), "no pixels"),
        (np.full((4, 4), 2.0, np.float32), "Divide by 255"),
        (np.full((4, 4), -0.5, np.float32), r"\[0, 1\]"),
        (np.array([[np.nan, 0.0]], np.float32), "NaN"),
        (np.full((4, 4), 300, np.int32), "0..255"),
        (np.zeros((4, 4), np.complex64), "dtype"),
        (np.zeros((4, 4), object), "dtype"),
    ],
)
def test_numpy_invalid(array, match):
    with pytest.raises(ImageInputError, match=match):
        load_image(array)


# --------------------------------------------------------------------------------------------
# inputs are never modified
# --------------------------------------------------------------------------------------------


def test_pil_input_not_mutated():
    img = Image.fromarray(np.random.default_rng(2).integers(0, 256, (30, 40, 4), dtype=np.uint8))
    img.info["note"] = "keep"
    before = (img.mode, img.size, img.tobytes(), dict(img.info))
    with pytest.warns(ImageDownscaledWarning):
        out = load_image(img, max_pixels=300)
    assert (img.mode, img.size, img.tobytes(), dict(img.info)) == before
    assert out is not img


def test_rgb_pil_input_returns_independent_copy():
    img = _noise_rgb(10, 10)
    before = img.tobytes()
    out = load_image(img)
    assert out is not img
    out.paste((0, 0, 0), (0, 0, 10, 10))
    assert img.tobytes() == before


def test_pil_input_with_exif_not_mutated(tmp_path):
    exif = Image.Exif()
    exif[0x0112] = 6
    path = _write(tmp_path, "r.jpg", _encode(Image.new("RGB", (8, 4)), "JPEG", exif=exif.tobytes()))
    img = Image.open(path)
    img.load()
    before = (img.size, img.tobytes(), img.getexif().get(0x0112))
    assert load_image(img).size == (4, 8)
    assert (img.size, img.tobytes(), img.getexif().get(0x0112)) == before


def test_numpy_input_not_mutated():
    arr = np.random.default_rng(3).random((20, 30, 4)).astype(np.float32)
    arr_copy = arr.copy()
    writeable = arr.flags.writeable
    with pytest.warns(ImageDownscaledWarning):
        load_image(arr, max_pixels=100)
    assert np.array_equal(arr, arr_copy) and arr.flags.writeable == writeable
    u8 = np.random.default_rng(4).integers(0, 256, (5, 5, 3), dtype=np.uint8)
    u8_copy = u8.copy()
    out = load_image(u8)
    out.paste((0, 0, 0), (0, 0, 5, 5))
    assert np.array_equal(u8, u8_copy)


def test_source_file_not_modified(tmp_path):
    data = _encode(_noise_rgb(300, 200), "PNG")
    path = _write(tmp_path, "src.png", data)
    mtime = path.stat().st_mtime_ns
    with pytest.warns(ImageDownscaledWarning):
        load_image(path, max_pixels=1000)
    assert path.read_bytes() == data and path.stat().st_mtime_ns == mtime
    assert sorted(p.name for p in tmp_path.iterdir()) == ["src.png"]


# --------------------------------------------------------------------------------------------
# tensors
# --------------------------------------------------------------------------------------------


def test_image_to_tensor_shape_dtype_range():
    img = _noise_rgb(7, 5)
    t = image_to_tensor(img)
    assert t.shape == (1, 3, 5, 7) and t.dtype == torch.float32
    assert t.min().item() >= 0.0 and t.max().item() <= 1.0
    assert t[0, 1, 2, 3].item() == pytest.approx(img.getpixel((3, 2))[1] / 255.0)


def test_image_to_tensor_converts_modes():
    t = image_to_tensor(Image.new("RGBA", (2, 2), (0, 0, 0, 0)))
    assert torch.equal(t, torch.ones(1, 3, 2, 2))
    t16 = image_to_tensor(Image.fromarray(np.full((2, 2), 65535, np.uint16)))
    assert torch.equal(t16, torch.ones(1, 3, 2, 2))


def test_tensor_round_trip_is_exact():
    arr = np.random.default_rng(5).integers(0, 256, (33, 47, 3), dtype=np.uint8)
    arr[0, :3] = [[0, 0, 0], [255, 255, 255], [1, 254, 128]]
    img = Image.fromarray(arr)
    back = tensor_to_image(image_to_tensor(img))
    assert back.mode == "RGB" and np.array_equal(np.asarray(back), arr)
    every_level = Image.fromarray(np.tile(np.arange(256, dtype=np.uint8), (3, 1, 1)).transpose(1, 2, 0))
    assert np.array_equal(np.asarray(tensor_to_image(image_to_tensor(every_level))), np.asarray(every_level))


def test_tensor_to_image_shapes_clamp_and_rounding():
    t = torch.tensor([0.998 / 255, 100.6 / 255, -3.0, 7.0, float("inf"), float("-inf")])
    t = t.view(1, 1, 6).expand(3, 1, 6).clone()
    before = t.clone()
    out = tensor_to_image(t)
    assert out.mode == "RGB" and out.size == (6, 1)
    assert [_px(out, x, 0)[0] for x in range(6)] == [1, 101, 0, 255, 255, 0]  # round, not truncate
    assert torch.equal(t, before)
    assert tensor_to_image(t.unsqueeze(0)).tobytes() == out.tobytes()


def test_tensor_to_image_accepts_grad_and_half():
    t = torch.full((1, 3, 2, 2), 0.5, requires_grad=True)
    assert _px(tensor_to_image(t), 0, 0) == (128, 128, 128)
    assert _px(tensor_to_image(t.detach().half()), 0, 0) == (128, 128, 128)


@pytest.mark.parametrize(
    ("tensor", "error"),
    [
        (torch.zeros(2, 3, 4, 4), ValueError),
        (torch.zeros(4, 4, 3), ValueError),
        (torch.zeros(1, 4, 4), ValueError),
        (torch.zeros(3, 0, 4), ValueError),
        (torch.full((3, 2, 2), float("nan")), ValueError),
        (torch.zeros(3, 2, 2, dtype=torch.uint8), TypeError),
    ],
)
def test_tensor_to_image_invalid(tensor, error):
    with pytest.raises(error):
        tensor_to_image(tensor)


def test_tensor_helpers_type_errors():
    with pytest.raises(TypeError):
        image_to_tensor(np.zeros((2, 2, 3), np.uint8))
    with pytest.raises(TypeError):
        tensor_to_image(np.zeros((3, 2, 2), np.float32))


# --------------------------------------------------------------------------------------------
# resize_max_side
# --------------------------------------------------------------------------------------------


def test_resize_max_side():
    img = _noise_rgb(400, 100)
    out = resize_max_side(img, 200)
    assert out.size == (200, 50) and img.size == (400, 100)
    tall = resize_max_side(_noise_rgb(30, 90), 45)
    assert tall.size == (15, 45)


def test_resize_max_side_never_upscales():
    img = _noise_rgb(40, 30)
    out = resize_max_side(img, 1000)
    assert out.size == (40, 30) and out is not img and out.tobytes() == img.tobytes()


def test_resize_max_side_validation():
    with pytest.raises(ValueError):
        resize_max_side(_noise_rgb(4, 4), 0)
    with pytest.raises(TypeError):
        resize_max_side(np.zeros((4, 4)), 2)


# --------------------------------------------------------------------------------------------
# save_image_atomic
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("suffix", "fmt"),
    [
        (".png", "PNG"),
        (".jpg", "JPEG"),
        (".jpeg", "JPEG"),
        (".JPG", "JPEG"),
        (".webp", "WEBP"),
        (".bmp", "BMP"),
        (".tif", "TIFF"),
        (".tiff", "TIFF"),
        (".gif", "GIF"),
    ],
)
def test_save_infers_format_and_leaves_no_temp_files(tmp_path, suffix, fmt):
    img = _noise_rgb(16, 12)
    target = tmp_path / f"out{suffix}"
    result = save_image_atomic(img, target)
    assert result == target
    assert os.listdir(tmp_path) == [target.name]
    with Image.open(target) as reopened:
        assert reopened.format == fmt and reopened.size == (16, 12)
    if fmt in ("PNG", "BMP", "TIFF"):
        assert np.array_equal(np.asarray(Image.open(target).convert("RGB")), np.asarray(img))


def test_save_rgba_as_jpeg_composites_on_white(tmp_path):
    img = Image.new("RGBA", (8, 8), (255, 0, 0, 0))
    before = img.tobytes()
    target = save_image_atomic(img, tmp_path / "a.jpg", quality=95)
    assert img.tobytes() == before and img.mode == "RGBA"
    out = Image.open(target)
    assert out.mode == "RGB" and min(_px(out, 4, 4)) > 245


@pytest.mark.parametrize("mode", ["LA", "P", "I;16", "F", "CMYK", "1"])
def test_save_various_modes_to_jpeg_and_webp(tmp_path, mode):
    img = Image.new(mode, (6, 6))
    for name in ("m.jpg", "m.webp"):
        save_image_atomic(img, tmp_path / name)
        with Image.open(tmp_path / name) as reopened:
            assert reopened.size == (6, 6)
    assert sorted(os.listdir(tmp_path)) == ["m.jpg", "m.webp"]


def test_save_explicit_format_overrides_suffix(tmp_path):
    target = save_image_atomic(_noise_rgb(4, 4), tmp_path / "image.data", format="png")
    assert Image.open(target).format == "PNG"
    with pytest.raises(ValueError, match="unsupported output format"):
        save_image_atomic(_noise_rgb(4, 4), tmp_path / "x.png", format="EPS")


@pytest.mark.parametrize("name", ["out.xyz", "out", "out.svg", "out.png.bak"])
def test_save_unknown_suffix_writes_nothing(tmp_path, name):
    with pytest.raises(ValueError, match="suffix"):
        save_image_atomic(_noise_rgb(4, 4), tmp_path / name)
    assert os.listdir(tmp_path) == []


def test_save_missing_parent_directory(tmp_path):
    target = tmp_path / "no" / "such" / "dir" / "out.png"
    with pytest.raises(FileNotFoundError, match="does not exist"):
        save_image_atomic(_noise_rgb(4, 4), target)
    assert os.listdir(tmp_path) == []


def test_save_to_directory_path_fails(tmp_path):
    (tmp_path / "d.png").mkdir()
    with pytest.raises(IsADirectoryError):
        save_image_atomic(_noise_rgb(4, 4), tmp_path / "d.png")


def test_save_failure_mid_write_keeps_existing_file(tmp_path, monkeypatch):
    target = tmp_path / "keep.png"
    original = _encode(Image.new("RGB", (4, 4), (1, 2, 3)), "PNG")
    target.write_bytes(original)
    img = _noise_rgb(64, 64)

    def broken_save(fp, *args, **kwargs):
        fp.write(b"\x89PNG partial garbage")
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(img, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        save_image_atomic(img, target)
    assert target.read_bytes() == original
    assert os.listdir(tmp_path) == ["keep.png"]  # temp file removed


def test_save_failure_in_replace_keeps_existing_file(tmp_path, monkeypatch):
    target = tmp_path / "keep.png"
    target.write_bytes(b"old contents")

    def broken_replace(src, dst):
        raise PermissionError("simulated")

    monkeypatch.setattr(image_io.os, "replace", broken_replace)
    with pytest.raises(PermissionError):
        save_image_atomic(_noise_rgb(8, 8), target)
    assert target.read_bytes() == b"old contents"
    assert os.listdir(tmp_path) == ["keep.png"]


def test_save_keyboard_interrupt_cleans_up(tmp_path, monkeypatch):
    img = _noise_rgb(8, 8)

    def interrupted(fp, *args, **kwargs):
        fp.write(b"partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(img, "save", interrupted)
    with pytest.raises(KeyboardInterrupt):
        save_image_atomic(img, tmp_path / "x.png")
    assert os.listdir(tmp_path) == []


def test_save_overwrites_and_keeps_permissions(tmp_path):
    target = tmp_path / "p.png"
    target.write_bytes(b"old")
    os.chmod(target, 0o640)
    save_image_atomic(_noise_rgb(4, 4), target)
    assert Image.open(target).size == (4, 4)
    assert stat.S_IMODE(target.stat().st_mode) == 0o640


def test_save_new_file_gets_umask_permissions(tmp_path):
    umask = os.umask(0o022)
    os.umask(umask)
    target = save_image_atomic(_noise_rgb(4, 4), tmp_path / "new.png")
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~umask


def test_save_then_load_round_trip(tmp_path):
    img = _noise_rgb(30, 20)
    path = save_image_atomic(img, str(tmp_path / "rt.png"))
    assert isinstance(path, Path)
    assert np.array_equal(np.asarray(load_image(path)), np.asarray(img))


def test_save_type_error(tmp_path):
    with pytest.raises(TypeError):
        save_image_atomic(np.zeros((4, 4, 3), np.uint8), tmp_path / "x.png")
