"""Pixels between PIL and torch, and what a classifier sees: ``image_to_tensor`` / ``tensor_to_image`` (exact
inverses on uint8), ``resize_max_side`` (Lanczos, never upscales) and ``normalize_pixels`` (resize + mean/std)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from . import image_io as _io  # attributes read at call time: image_io re-exports this module's functions

if TYPE_CHECKING:
    import torch


def image_to_tensor(image: Image.Image) -> torch.Tensor:
    """Convert a PIL image to a float32 tensor of shape ``(1, 3, H, W)`` with values in ``[0, 1]``.

    Non-RGB modes are converted with the same rules as :func:`load_image` (alpha composited on
    white, 16-bit scaled by 257, ...), but no EXIF orientation or size limit is applied: use
    :func:`load_image` for untrusted inputs. The image is not modified. ``uint8`` values ``v`` map
    to ``v / 255`` exactly as float32, so :func:`tensor_to_image` inverts this exactly.
    """
    import torch

    if not isinstance(image, Image.Image):
        raise TypeError(f"image_to_tensor() expects a PIL.Image.Image, got {type(image).__qualname__}")
    name = "<PIL.Image input>"
    _io._load(image, _io._Ctx(name, _io.DEFAULT_MAX_PIXELS, "downscale", _io.DEFAULT_BOMB_PIXELS))
    rgb = _io._to_rgb(image, name)
    arr = np.array(rgb, dtype=np.uint8, copy=True)  # (H, W, 3)
    tensor = torch.from_numpy(arr).permute(2, 0, 1).unsqueeze(0).to(torch.float32) / 255.0
    return tensor.contiguous()


def tensor_to_image(t: torch.Tensor) -> Image.Image:
    """Convert a float tensor of shape ``(3, H, W)`` or ``(1, 3, H, W)`` in ``[0, 1]`` to an RGB image.

    Values are clamped to ``[0, 1]`` (so ``+inf`` -> 255, ``-inf`` -> 0), multiplied by 255 and
    *rounded* (half to even) to ``uint8``. The tensor may live on any device and require grad; it
    is not modified.

    Raises:
        TypeError: not a tensor, or not a floating-point dtype (integer tensors are ambiguous).
        ValueError: wrong shape, a batch of more than one image, no pixels, or NaN values.
    """
    import torch

    if not isinstance(t, torch.Tensor):
        raise TypeError(f"tensor_to_image() expects a torch.Tensor, got {type(t).__qualname__}")
    shape = tuple(t.shape)
    if t.ndim == 4:
        if shape[0] != 1:
            raise ValueError(f"expected a single image (1, 3, H, W), got a batch of shape {shape}; pass t[i]")
        t = t[0]
    if t.ndim != 3 or t.shape[0] != 3:
        raise ValueError(f"expected a tensor of shape (3, H, W) or (1, 3, H, W), got {shape}")
    if not t.is_floating_point():
        raise TypeError(
            f"expected a floating-point tensor with values in [0, 1], got dtype {t.dtype}; "
            "for 0..255 integers use (t.float() / 255)"
        )
    if t.shape[1] == 0 or t.shape[2] == 0:
        raise ValueError(f"the tensor has no pixels (shape {shape})")
    x = t.detach().to(device="cpu", dtype=torch.float32)
    if torch.isnan(x).any():
        raise ValueError("the tensor contains NaN values; cannot convert it to an image")
    arr = (x.clamp(0.0, 1.0) * 255.0).round().to(torch.uint8).permute(1, 2, 0).contiguous().numpy()
    return Image.fromarray(arr)


def resize_max_side(image: Image.Image, max_side: int) -> Image.Image:
    """Return a copy of ``image`` whose longer side is at most ``max_side`` pixels.

    Never upscales (an image already small enough is returned as an unmodified copy). Uses Lanczos
    and keeps the aspect ratio (the shorter side is rounded, at least 1). Palette (``P``/``PA``)
    and bilevel (``1``) images are converted to RGB(A)/L first so that Lanczos applies; other
    modes are kept. ``image`` is not modified.
    """
    if not isinstance(image, Image.Image):
        raise TypeError(f"resize_max_side() expects a PIL.Image.Image, got {type(image).__qualname__}")
    _io._check_positive_int("max_side", max_side)
    w, h = image.size
    long_side = max(w, h)
    if long_side <= max_side:
        return image.copy()
    scale = max_side / long_side
    size = (max_side, max(1, round(h * scale))) if w >= h else (max(1, round(w * scale)), max_side)
    src = image
    if image.mode in ("P", "PA"):
        src = image.convert("RGBA" if _io._has_alpha(image) else "RGB")
    elif image.mode == "1":
        src = image.convert("L")
    return src.resize(size, Image.Resampling.LANCZOS)


def normalize_pixels(pixels, config, size: int | None = None):
    """A classifier's input from RGB ``pixels (B, 3, H, W)`` in ``[0, 1]``: resized (antialiased bilinear,
    differentiable) to ``size × size`` when ``size`` is given and differs, then ``(x - config.image_mean) /
    config.image_std``."""
    import torch
    import torch.nn.functional as F

    if size is not None and tuple(pixels.shape[-2:]) != (int(size), int(size)):
        pixels = F.interpolate(
            pixels, size=(int(size), int(size)), mode="bilinear", align_corners=False, antialias=True
        )
    mean = torch.as_tensor(config.image_mean, dtype=pixels.dtype, device=pixels.device).view(1, -1, 1, 1)
    std = torch.as_tensor(config.image_std, dtype=pixels.dtype, device=pixels.device).view(1, -1, 1, 1)
    return (pixels - mean) / std


def center_crop_processor(config, crop_pct: float, resample: str):
    """A stock transformers image processor (ConvNext's PIL one) for ``pipeline("image-classification")``: resize
    the shorter side, centre-crop ``crop_pct`` of it to ``config.image_size``, rescale to ``[0, 1]`` and normalise
    with ``config.image_mean`` / ``image_std``. ``resample``: ``"bicubic"`` or ``"bilinear"``."""
    from transformers.image_utils import PILImageResampling
    from transformers.models.convnext.image_processing_pil_convnext import ConvNextImageProcessorPil

    return ConvNextImageProcessorPil(
        size={"shortest_edge": int(config.image_size)},
        crop_pct=crop_pct,
        resample=PILImageResampling[resample.upper()],
        do_resize=True,
        do_rescale=True,
        rescale_factor=1 / 255,
        do_normalize=True,
        image_mean=list(config.image_mean),
        image_std=list(config.image_std),
    )
