"""Keeping the content's colours: Gatys, Bethge, Hertzmann & Shechtman, "Preserving Color in Neural Artistic Style
Transfer" (2016, arXiv:1606.05897), both methods.

- **Luminance-only transfer** (their §2.2): style transfer runs on the luminance channels only (the style's
  luminance first matched to the content's mean and standard deviation), then the output luminance is combined with
  the content's chroma. YIQ colour space, as in the paper. :func:`luminance`, :func:`match_luminance`,
  :func:`combine_luminance_chroma`.
- **Colour histogram matching** (their §2.1): the style image's colours are transformed linearly so that their mean
  and covariance equal the content's, ``x' = A (x − μ_s) + μ_c`` with ``A = Σ_c^{1/2} Σ_s^{-1/2}`` (symmetric
  matrix square roots, "Image Analogies" variant), before the transfer. :func:`match_color_histogram`.

All functions take and return ``(1, 3, H, W)`` RGB tensors in ``[0, 1]`` (luminance tensors are ``(1, 1, H, W)``).
"""

from __future__ import annotations

import torch

#: RGB -> YIQ (NTSC), rows Y, I, Q.
RGB_TO_YIQ = torch.tensor(
    [[0.299, 0.587, 0.114], [0.595716, -0.274453, -0.321263], [0.211456, -0.522591, 0.311135]]
)
YIQ_TO_RGB = torch.linalg.inv(RGB_TO_YIQ)


def rgb_to_yiq(rgb: torch.Tensor) -> torch.Tensor:
    return torch.einsum("ij,bjhw->bihw", RGB_TO_YIQ.to(rgb), rgb)


def yiq_to_rgb(yiq: torch.Tensor) -> torch.Tensor:
    return torch.einsum("ij,bjhw->bihw", YIQ_TO_RGB.to(yiq), yiq)


def luminance(rgb: torch.Tensor) -> torch.Tensor:
    """``(1, 3, H, W) -> (1, 1, H, W)``: the Y of YIQ."""
    return rgb_to_yiq(rgb)[:, :1]


def match_luminance(style_lum: torch.Tensor, content_lum: torch.Tensor) -> torch.Tensor:
    """``L_s' = σ_c / σ_s · (L_s − μ_s) + μ_c`` (the paper's eq. for luminance matching)."""
    mu_s, sd_s = style_lum.mean(), style_lum.std().clamp_min(1e-6)
    mu_c, sd_c = content_lum.mean(), content_lum.std()
    return (style_lum - mu_s) * (sd_c / sd_s) + mu_c


def gray3(lum: torch.Tensor) -> torch.Tensor:
    """A luminance image as a 3-channel grey RGB image (what the backbone sees)."""
    return lum.expand(-1, 3, -1, -1).clamp(0.0, 1.0)


def combine_luminance_chroma(lum: torch.Tensor, content_rgb: torch.Tensor) -> torch.Tensor:
    """The output's luminance ``(1, 1, H, W)`` with the content's I and Q (resized to match), back to RGB."""
    if content_rgb.shape[-2:] != lum.shape[-2:]:
        content_rgb = torch.nn.functional.interpolate(
            content_rgb, size=lum.shape[-2:], mode="bilinear", align_corners=False
        )
    iq = rgb_to_yiq(content_rgb)[:, 1:]
    return yiq_to_rgb(torch.cat([lum, iq], dim=1)).clamp(0.0, 1.0)


def _sqrtm(cov: torch.Tensor, inverse: bool = False) -> torch.Tensor:
    values, vectors = torch.linalg.eigh(cov)
    values = values.clamp_min(1e-8)
    power = -0.5 if inverse else 0.5
    return vectors @ torch.diag(values**power) @ vectors.T


def _moments(rgb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    flat = rgb.reshape(3, -1).double()
    mu = flat.mean(dim=1, keepdim=True)
    centred = flat - mu
    return mu, centred @ centred.T / flat.shape[1]


def match_color_histogram(
    style_rgb: torch.Tensor, content_rgb: torch.Tensor, clip: bool = True
) -> torch.Tensor:
    """Style colours with the content's mean and covariance (``clip`` to ``[0, 1]`` afterwards)."""
    mu_s, cov_s = _moments(style_rgb)
    mu_c, cov_c = _moments(content_rgb)
    eye = torch.eye(3, dtype=cov_s.dtype) * 1e-5
    transform = _sqrtm(cov_c + eye) @ _sqrtm(cov_s + eye, inverse=True)
    flat = style_rgb.reshape(3, -1).double()
    matched = (transform @ (flat - mu_s) + mu_c).reshape(style_rgb.shape).to(style_rgb.dtype)
    return matched.clamp(0.0, 1.0) if clip else matched
