"""Image parameterisations for activation maximisation (Olah, Mordvintsev & Schubert 2017, "Feature Visualization").

:class:`FourierImage` is lucid's ``fft_image`` + ``to_valid_rgb(decorrelate=True, sigmoid=True)``: the image is
stored as a 2-D real FFT spectrum scaled by ``1/f`` (``decay_power``), so gradient steps act on frequencies whose
natural-image energy is comparable, and its colours are expressed in a decorrelated basis (the square root of the
ImageNet colour covariance) before a sigmoid maps them into ``[0, 1]``. Both preconditionings remove the
high-frequency "adversarial" patterns that plain pixel-space ascent from noise produces (Erhan et al. 2009 used
plain pixels; :class:`PixelImage` keeps that option).
"""

from __future__ import annotations

import math

import torch
from torch import nn

# lucid.optvis.param.color: square root of the ImageNet colour correlation matrix (from an SVD).
COLOR_CORRELATION_SVD_SQRT = torch.tensor(
    [[0.26, 0.09, 0.02], [0.27, 0.00, -0.05], [0.27, -0.09, 0.03]], dtype=torch.float32
)
_MAX_NORM_SVD_SQRT = COLOR_CORRELATION_SVD_SQRT.norm(dim=0).max()


def decorrelate_colors(t: torch.Tensor) -> torch.Tensor:
    """(B, 3, H, W) in the decorrelated basis -> (B, 3, H, W) in RGB (before the sigmoid)."""
    m = (COLOR_CORRELATION_SVD_SQRT / _MAX_NORM_SVD_SQRT).to(t)
    return torch.einsum("bchw,dc->bdhw", t, m)


def rfft2d_freqs(h: int, w: int) -> torch.Tensor:
    """|f| of every bin of ``torch.fft.rfft2`` for an ``h × w`` image, shape (h, w // 2 + 1)."""
    fy = torch.fft.fftfreq(h).view(-1, 1)
    fx = torch.fft.rfftfreq(w).view(1, -1)
    return torch.sqrt(fx * fx + fy * fy)


class FourierImage(nn.Module):
    """A batch of ``(B, 3, H, W)`` images in ``[0, 1]`` parameterised by a scaled, colour-decorrelated spectrum.

    Args:
        batch, height, width: output shape.
        sd: standard deviation of the initial spectrum (lucid: 0.01).
        decay_power: spectrum scale ``1 / max(f, 1/max(h,w)) ** decay_power`` (lucid: 1).
        decorrelate: express colours in the decorrelated basis (lucid ``decorrelate=True``).
        generator: RNG for the initial spectrum (determinism under a seed).
    """

    def __init__(
        self,
        batch: int,
        height: int,
        width: int,
        sd: float = 0.01,
        decay_power: float = 1.0,
        decorrelate: bool = True,
        generator: torch.Generator | None = None,
    ):
        super().__init__()
        self.shape = (batch, 3, height, width)
        self.decorrelate = decorrelate
        freqs = rfft2d_freqs(height, width)
        scale = 1.0 / torch.clamp(freqs, min=1.0 / max(height, width)) ** decay_power
        self.register_buffer("scale", scale * math.sqrt(height * width))
        init = torch.randn((2, batch, 3, *freqs.shape), generator=generator) * sd
        self.spectrum = nn.Parameter(init)

    def forward(self) -> torch.Tensor:
        spectrum = torch.complex(self.spectrum[0], self.spectrum[1]) * self.scale
        image = torch.fft.irfft2(spectrum, s=self.shape[-2:], norm="backward")
        image = image / 4.0  # lucid's constant, keeps the initial image's spread moderate
        if self.decorrelate:
            image = decorrelate_colors(image)
        return torch.sigmoid(image)


class PixelImage(nn.Module):
    """Plain pixel parameterisation (Erhan et al. 2009): ``sigmoid(θ)``, ``θ`` initialised near grey."""

    def __init__(
        self, batch: int, height: int, width: int, sd: float = 0.01, generator: torch.Generator | None = None
    ):
        super().__init__()
        self.logits = nn.Parameter(torch.randn((batch, 3, height, width), generator=generator) * sd)

    def forward(self) -> torch.Tensor:
        return torch.sigmoid(self.logits)
