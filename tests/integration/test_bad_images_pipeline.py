"""The bad-input matrix, end to end through ``DeepDreamPipeline`` on a tiny random model (fast; no real weights).

Every bad image file, pixel mode, orientation, size and parameter either dreams into an RGB image of the expected
size or raises a typed error (all of them in :data:`hfmech.errors.USER_ERRORS`, so the CLI and the Spaces show the
message without a traceback) whose message names the problem.
"""

from __future__ import annotations

import io
import struct
import time
import warnings
import zlib

import numpy as np
import pytest
import torch
from PIL import Image

from hfmech.dream import DeepDreamPipeline, DreamParameterError
from hfmech.errors import USER_ERRORS
from hfmech.vision.features import UnknownLayerError
from hfmech.vision.image_io import (
    ImageDecodeError,
    ImageDownscaledWarning,
    ImageNotFoundError,
    ImageTooLargeError,
    load_image,
)
from hfmech.vision.modeling_efficientnet_lite import (
    EfficientNetLiteConfig,
    EfficientNetLiteForImageClassification,
)

SIZE = (72, 64)  # W, H
FAST = dict(octaves=2, steps=1, seed=0, progress=False)


# --- helpers ------------------------------------------------------------------------------------------------------


def tiny_effnet() -> EfficientNetLiteForImageClassification:
    """The tiny random backbone of tests/unit/test_deep_dream.py (layer stage3, presets shallow/deep)."""
    torch.manual_seed(0)
    config = EfficientNetLiteConfig(
        width_coefficient=0.25,
        depth_coefficient=0.5,
        num_labels=10,
        image_size=64,
        deep_dream={"layer": "stage3", "presets": {"shallow": "stage2", "deep": "stage5"}, "tile_size": None},
    )
    return EfficientNetLiteForImageClassification(config).eval()


def photo(size=SIZE, seed=0) -> Image.Image:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0 : size[1], 0 : size[0]]
    base = np.stack([x / size[0], y / size[1], 0.5 + 0.5 * np.sin(x / 5.0)], -1)
    noisy = np.clip(base + 0.1 * rng.standard_normal(base.shape), 0, 1)
    return Image.fromarray((noisy * 255).astype(np.uint8))


def encode(image: Image.Image, fmt: str, **kwargs) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format=fmt, **kwargs)
    return buf.getvalue()


def _png_chunk(tag: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)


def bomb_png(width: int, height: int) -> bytes:
    """A ~100-byte PNG whose IHDR declares width x height 8-bit RGB (as in tests/unit/test_image_io.py)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 4096, 9)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", idat)
        + _png_chunk(b"IEND", b"")
    )


@pytest.fixture(scope="module")
def pipe() -> DeepDreamPipeline:
    return DeepDreamPipeline(model=tiny_effnet())


def assert_dreamed(out: dict, size: tuple[int, int]) -> None:
    image = out["image"]
    assert isinstance(image, Image.Image) and image.mode == "RGB" and image.size == size
    assert np.isfinite(out["objective_start"]) and np.isfinite(out["objective_end"])
    assert len(out["objective_history"]) == FAST["octaves"] * FAST["steps"]


def raises_user_error(exc_type, pipe, source, *words, **kwargs) -> str:
    """``pipe(source)`` raises ``exc_type`` (one of the CLI's user errors) whose message contains ``words``."""
    with pytest.raises(exc_type) as info:
        pipe(source, **{**FAST, **kwargs})
    assert isinstance(info.value, USER_ERRORS)
    message = str(info.value)
    for word in words:
        assert word in message, message
    return message


# --- broken files -------------------------------------------------------------------------------------------------


def _corrupt_data(good: bytes) -> bytes:
    data = bytearray(good)
    data[len(data) // 2 : len(data) // 2 + 64] = b"\xff" * 64
    return bytes(data)


@pytest.mark.parametrize(
    "name, make, words",
    [
        ("empty.png", lambda: b"", ["empty", "0 bytes"]),
        ("truncated.png", lambda: encode(photo(), "PNG")[:3000], ["truncated"]),
        ("truncated.jpg", lambda: encode(photo(), "JPEG")[:600], ["truncated"]),
        ("corrupt-header.png", lambda: b"\x89PNG\r\n\x1a\n" + b"garbage" * 20, ["corrupt"]),
        ("corrupt-data.png", lambda: _corrupt_data(encode(photo(), "PNG")), ["corrupt"]),
        ("text.png", lambda: b"this is not an image\n", ["not a recognised image"]),
    ],
)
def test_broken_files_raise_decode_error(name, make, words, pipe, tmp_path):
    path = tmp_path / name
    path.write_bytes(make())
    before = path.read_bytes()
    raises_user_error(ImageDecodeError, pipe, str(path), name, *words)
    assert path.read_bytes() == before


def test_broken_bytes_raise_decode_error(pipe):
    raises_user_error(ImageDecodeError, pipe, encode(photo(), "PNG")[:3000], "bytes input", "truncated")


def test_missing_file_and_directory(pipe, tmp_path):
    raises_user_error(ImageNotFoundError, pipe, str(tmp_path / "missing.png"), "not found", "missing.png")
    raises_user_error(ImageDecodeError, pipe, str(tmp_path), "directory")


# --- pixel modes --------------------------------------------------------------------------------------------------


def _mode_image(mode: str) -> Image.Image:
    rgb = photo()
    if mode == "I;16":
        return _i16(np.asarray(rgb.convert("L"), dtype=np.uint16) * 257)
    if mode == "LA":
        la = rgb.convert("LA")
        la.putalpha(128)
        return la
    if mode == "RGBA":
        rgba = rgb.convert("RGBA")
        rgba.putalpha(Image.linear_gradient("L").resize(rgb.size))
        return rgba
    if mode == "P":
        return rgb.quantize(colors=16)
    return rgb.convert(mode)


def _i16(gray: np.ndarray) -> Image.Image:
    """A 16-bit grayscale image (built from bytes: ``Image.fromarray(mode=...)`` is deprecated)."""
    image = Image.new("I;16", (gray.shape[1], gray.shape[0]))
    image.frombytes(gray.astype("<u2").tobytes())
    return image


@pytest.mark.parametrize(
    "mode, fmt",
    [
        ("L", "PNG"),
        ("LA", "PNG"),
        ("RGBA", "PNG"),
        ("CMYK", "JPEG"),
        ("CMYK", "TIFF"),
        ("I;16", "PNG"),
        ("P", "PNG"),
    ],
)
def test_pixel_modes_dream_to_rgb(mode, fmt, pipe, tmp_path):
    image = _mode_image(mode)
    assert image.mode == mode
    path = tmp_path / f"image.{fmt.lower()}"
    image.save(path, format=fmt)
    with Image.open(path) as check:
        assert check.mode == mode  # the file really stores that mode
    assert_dreamed(pipe(str(path), **FAST), SIZE)
    out = pipe(image, octaves=1, steps=1, seed=0, progress=False)  # the in-memory image too
    assert out["image"].mode == "RGB" and out["image"].size == SIZE
    assert image.mode == mode  # and it is not modified


def test_conversions_are_the_documented_ones(pipe, tmp_path):
    """With 0 steps the dream is the identity, so the loader's conversions show in the output."""
    identity = dict(octaves=1, steps=0, seed=0, progress=False)
    clear = Image.new("RGBA", SIZE, (10, 200, 30, 0))  # fully transparent: composited over white
    assert np.all(np.asarray(pipe(clear, **identity)["image"]) == 255)
    gray16 = _i16(np.full((SIZE[1], SIZE[0]), 257 * 100, dtype=np.uint16))  # 16-bit: v / 257
    path = tmp_path / "gray16.png"
    gray16.save(path)
    assert np.all(np.asarray(pipe(str(path), **identity)["image"]) == 100)


# --- orientation and size -----------------------------------------------------------------------------------------


def test_exif_orientation_is_applied(pipe, tmp_path):
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    path = tmp_path / "rotated.jpg"
    photo().save(path, format="JPEG", exif=exif)
    with Image.open(path) as stored:
        assert stored.size == SIZE
    out = pipe(str(path), **FAST)
    assert_dreamed(out, (SIZE[1], SIZE[0]))


def test_over_max_pixels_is_downscaled_with_a_warning(pipe, tmp_path):
    path = tmp_path / "big.png"
    photo((160, 120)).save(path)
    with pytest.warns(ImageDownscaledWarning, match="160×120"):
        out = pipe(str(path), max_pixels=64 * 64, **FAST)
    w, h = out["image"].size
    assert w * h <= 64 * 64 and w * h > 0.9 * 64 * 64  # as large as allowed
    assert abs(w / h - 160 / 120) < 0.05  # aspect ratio kept
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ImageDownscaledWarning)
        assert (w, h) == load_image(path, max_pixels=64 * 64).size  # exactly the documented downscale
    assert_dreamed(out, (w, h))


def test_default_max_pixels_comes_from_the_model_config(tmp_path):
    model = tiny_effnet()
    model.config.deep_dream = {**model.config.deep_dream, "max_pixels": 64 * 64}
    path = tmp_path / "big.png"
    photo((160, 120)).save(path)
    with pytest.warns(ImageDownscaledWarning):
        out = DeepDreamPipeline(model=model)(str(path), **FAST)
    assert out["image"].size[0] * out["image"].size[1] <= 64 * 64


@pytest.mark.parametrize("as_bytes", [False, True], ids=["path", "bytes"])
def test_decompression_bomb_is_refused_quickly(as_bytes, pipe, tmp_path):
    data = bomb_png(20000, 20000)
    assert len(data) < 200
    path = tmp_path / "bomb.png"
    path.write_bytes(data)
    start = time.perf_counter()
    message = raises_user_error(
        ImageTooLargeError, pipe, data if as_bytes else str(path), "refused", "20000×20000"
    )
    assert time.perf_counter() - start < 2.0
    assert "decompression bomb" in message


# --- layers and parameters ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("layer", ["inception_4c", "stage99", "mixed4d_3x3_bottleneck_pre_relu"])
def test_unknown_layer_lists_valid_ones(layer, pipe):
    raises_user_error(
        UnknownLayerError, pipe, photo(), repr(layer), "valid layers", "stage3", "shallow", layer=layer
    )


def test_unknown_guide_layer_lists_valid_ones(pipe):
    raises_user_error(UnknownLayerError, pipe, photo(), "valid layers", guide=photo(), guide_layer="nope")


@pytest.mark.parametrize(
    "kwargs, words",
    [
        ({"octaves": 0}, ["octaves", "1..12"]),
        ({"octaves": 13}, ["octaves"]),
        ({"octave_scale": 0.5}, ["octave_scale", "(1, 4]"]),
        ({"steps": -1}, ["steps", "0..1000"]),
        ({"grad_norm": "x"}, ["grad_norm", "mean-abs", "'x'"]),
        ({"tile_size": 3}, ["tile_size", "32..4096"]),
        ({"jitter": -1}, ["jitter", "0..256"]),
        ({"step_size": 5}, ["step_size", "(0, 1]"]),
        ({"step_size": "big"}, ["step_size"]),
        ({"max_pixels": 10}, ["max_pixels", "4096"]),
    ],
)
def test_out_of_range_parameters(kwargs, words, pipe):
    raises_user_error(DreamParameterError, pipe, photo(), *words, **kwargs)


def test_image_too_small_for_the_octaves(pipe):
    raises_user_error(DreamParameterError, pipe, photo((24, 24)), "too small", "fewer octaves", octaves=4)


@pytest.mark.parametrize("max_pixels", [-5, "x", 0])
def test_invalid_max_pixels_is_a_parameter_error(max_pixels, pipe):
    with pytest.raises(DreamParameterError):
        pipe(photo(), max_pixels=max_pixels, **FAST)


def test_every_error_here_is_a_user_error():
    for exc in (
        ImageDecodeError,
        ImageNotFoundError,
        ImageTooLargeError,
        UnknownLayerError,
        DreamParameterError,
    ):
        assert issubclass(exc, USER_ERRORS)
