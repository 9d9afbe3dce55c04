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

#: Gatys et al. 2016 defaults (content relu4_2; style relu1_1 … relu5_1 with equal weights): what
#: ``StyleTransferPipeline`` uses on a VGG trunk whose config names no layers, and what the style zoo stores in
#: ``config.style_transfer``.
GATYS_STYLE_DEFAULTS = {
    "content_layers": ["relu4_2"],
    "style_layers": ["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"],
    "style_layer_weights": [0.2, 0.2, 0.2, 0.2, 0.2],
}

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


def _compute_dtype(features: torch.Tensor) -> torch.dtype:
    """float32 for float32 / bfloat16 / float16 activations, float64 for float64 (gradcheck)."""
    return torch.promote_types(features.dtype, torch.float32)


class _GramStyleLoss(torch.autograd.Function):
    """``style_layer_loss(gram_matrix(F), Â)`` in one op with a one-matmul backward.

    With ``Ĝ = F Fᵀ / n`` (``n = C·H·W``), ``D = Ĝ − Â`` and ``E = Σ Â²``, the loss is ``Σ D² / E``; since ``D`` is
    symmetric, ``∂L/∂F = (∂L/∂Ĝ + ∂L/∂Ĝᵀ) F / n = 4 D F / (n E)``: one ``(C, C) × (C, H·W)`` product, where autograd
    through ``bmm(F, Fᵀ)`` computes two and adds them. The gradient comes back in ``F``'s dtype and memory format
    (channels-last stays channels-last, so the backbone's backward does not convert it).

    Precision. Both products run in ``F``'s own dtype: for bfloat16 activations they are bfloat16 matmuls (AMX
    tiles / oneDNN on CPU), which multiply exactly and **accumulate in float32** over the ``H·W`` positions; only the
    ``(C, C)`` result is rounded to bfloat16 (relative error ~2⁻⁹ per entry, ~0.15 % in norm, measured), then
    ``D``, ``E`` and the loss are float32. No float32 copy of ``F`` is made (the casts and the float32 matmuls were
    about a fifth of a bfloat16 evaluation on VGG16 at 256 px: docs/style.md, "Speed"). The backward's ``D`` is
    rounded to bfloat16 before ``D F``: the gradient is bfloat16 anyway. float32 / float64 activations are
    unchanged (float32 / float64 throughout).
    """

    @staticmethod
    def forward(ctx, features: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        b, c, h, w = features.shape
        n = c * h * w
        compute = _compute_dtype(features)
        rows = _rows(features)
        if rows is not None:  # channels-last: F = rowsᵀ with rows (B, HW, C) contiguous
            gram = torch.bmm(rows.transpose(1, 2), rows)
        else:
            flat = features.reshape(b, c, h * w)
            gram = torch.bmm(flat, flat.transpose(1, 2))
        diff = gram.to(compute).div_(n).sub_(target)
        energy = target.to(compute).pow(2).sum().clamp_min(EPS)
        ctx.save_for_backward(features, diff, energy)
        ctx.n = n
        return diff.pow(2).sum() / energy

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor):
        features, diff, energy = ctx.saved_tensors
        b, c, h, w = features.shape
        scaled = (diff * (grad_output * 4.0 / (ctx.n * energy))).to(features.dtype)  # (B, C, C), symmetric
        rows = _rows(features)
        if rows is not None:
            grad = torch.bmm(rows, scaled).reshape(b, h, w, c).permute(0, 3, 1, 2)
        else:
            grad = torch.bmm(scaled, features.reshape(b, c, h * w)).reshape(b, c, h, w)
        return grad, None


def _rows(features: torch.Tensor) -> torch.Tensor | None:
    """``(B, H·W, C)`` contiguous view of channels-last ``(B, C, H, W)`` features (None for other layouts).

    Built through ``permute`` so the batch stride stays ``H·W·C`` even for ``B = 1``: the ``(B, C, H·W)`` view that
    ``reshape`` gives a channels-last tensor has batch stride ``C`` when ``B = 1``, and the CPU ``bmm`` then copies
    its operand (measured: 18 ms instead of 1.5 ms for relu1_1 at 256 px in bfloat16).
    """
    if features.is_contiguous(memory_format=torch.channels_last) and not features.is_contiguous():
        b, c, h, w = features.shape
        return features.permute(0, 2, 3, 1).reshape(b, h * w, c)
    return None


def gram_style_loss(features: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """``style_layer_loss(gram_matrix(features), target)`` fused: ``(B, C, H, W)``, ``(B, C, C)`` -> scalar.

    Same value and gradient for float32 / float64 features; for bfloat16 features the two matmuls run in bfloat16
    with float32 accumulation and the loss is float32 (:class:`_GramStyleLoss`). About a third less work in the
    backward pass than autograd through :func:`gram_matrix`. The style-transfer objective uses this.
    """
    return _GramStyleLoss.apply(features, target.to(_compute_dtype(features)))


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
