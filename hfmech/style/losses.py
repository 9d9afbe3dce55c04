"""Gatys et al. losses: content (feature reconstruction), style (Gram matrices), total variation.

Gatys, Ecker & Bethge, "Image Style Transfer Using Convolutional Neural Networks", CVPR 2016, eqs. 1-7. With ``F_l``
the ``(N_l, M_l)`` feature matrix of layer ``l`` (``N_l`` channels, ``M_l = H_l W_l`` positions):

- Gram matrix: the paper's ``G_l = F_l F_lᵀ``; here :func:`gram_matrix` returns it normalised,
  ``G_l / (N_l M_l)`` (as neural-style and the PyTorch tutorial), so it does not grow with the image size.
- Style: the paper's ``E_l = Σ (G_l − A_l)² / (4 N_l² M_l²)`` equals ``Σ (Ĝ_l − Â_l)² / 4`` in normalised Grams.
  :func:`style_layer_loss` divides by the target's energy instead, ``Σ (Ĝ_l − Â_l)² / Σ Â_l²`` (a *relative* squared
  error) — Gatys' ``E_l`` with the layer weight ``4 / Σ Â_l²``, a constant per layer. It makes the loss
  scale-free, so one set of ``content/style_weight`` works for Caffe-scaled VGG (inputs 0..255), torchvision-scaled
  VGG and random networks alike, and the losses of different backbones are comparable.
- Content: ``½ Σ (F_l − P_l)²`` in the paper; here relative as well, ``Σ (F_l − P_l)² / Σ P_l²``.
- Total variation (Mahendran & Vedaldi 2015, β = 2): mean of squared neighbour differences, in pixel units.

Everything takes ``(B, C, H, W)`` activations with ``B = 1``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch

EPS = 1e-12


def gram_matrix(features: torch.Tensor) -> torch.Tensor:
    """``(B, C, H, W) -> (B, C, C)``: ``F Fᵀ / (C · H · W)`` with ``F`` the ``(C, H·W)`` feature matrix."""
    b, c, h, w = features.shape
    flat = features.reshape(b, c, h * w)
    return torch.bmm(flat, flat.transpose(1, 2)) / (c * h * w)


def gatys_layer_loss(gram: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """The paper's ``E_l`` from *normalised* Grams: ``Σ (Ĝ − Â)² / 4`` (== ``Σ (G − A)² / (4 N² M²)``)."""
    return ((gram - target) ** 2).sum() / 4.0


def style_layer_loss(gram: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Relative squared Gram error ``Σ (Ĝ − Â)² / Σ Â²`` (scalar)."""
    return ((gram - target) ** 2).sum() / (target**2).sum().clamp_min(EPS)


def content_loss(features: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Relative squared feature error ``Σ (F − P)² / Σ P²`` (scalar)."""
    return ((features - target) ** 2).sum() / (target**2).sum().clamp_min(EPS)


def total_variation(pixels: torch.Tensor) -> torch.Tensor:
    """Mean squared difference between vertical and horizontal neighbours, ``(B, 3, H, W) -> scalar``."""
    dy = pixels[..., 1:, :] - pixels[..., :-1, :]
    dx = pixels[..., :, 1:] - pixels[..., :, :-1]
    return (dy**2).mean() + (dx**2).mean()


def blended_grams(grams_per_style: Sequence[Mapping[str, torch.Tensor]], blend: Sequence[float]) -> dict:
    """``Σ_k b_k Â_l^{(k)}`` per layer with ``b`` normalised to sum to 1 (neural-style's ``-style_blend_weights``)."""
    total = float(sum(blend))
    weights = [float(b) / total for b in blend]
    layers = grams_per_style[0].keys()
    return {layer: sum(w * g[layer] for w, g in zip(weights, grams_per_style)) for layer in layers}


def style_loss(
    features: Mapping[str, torch.Tensor],
    target_grams: Mapping[str, torch.Tensor],
    layer_weights: Mapping[str, float],
) -> torch.Tensor:
    """``Σ_l w_l · style_layer_loss(gram(F_l), Â_l)``."""
    return sum(
        layer_weights[name] * style_layer_loss(gram_matrix(features[name]), target_grams[name])
        for name in target_grams
    )
