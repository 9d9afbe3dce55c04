"""Named intermediate activations of an image backbone, with the forward pass stopped at the deepest layer needed.

Works for hfmech backbones (which list their layers in execution order through ``feature_layers()``) and for any
transformers ``AutoModelForImageClassification`` (layers named ``hidden_states.{i}`` after the model's
``output_hidden_states``, plus any dotted module path from ``named_modules()``).

Activations are captured with forward hooks; once every requested layer has produced its output the hook raises an
internal exception that ends the forward pass, so layers deeper than the objective needs are never computed — the
main reason DeepDream on a shallow layer is cheap (google/deepdream's ``net.forward(end=...)``).

The extractor takes images in pixel space, ``(B, 3, H, W)`` float in ``[0, 1]``, and applies the backbone's own
normalisation (``image_mean``/``image_std`` from the hfmech config, or from the transformers image processor, or the
ImageNet defaults), so optimisers work on pixels and clip to the valid range there.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import torch
from torch import nn

from ..errors import HfmechError

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class UnknownLayerError(HfmechError, KeyError, ValueError):
    """A requested layer name is not one the backbone exposes; the message lists the valid names."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0])


class _StopForward(Exception):
    pass


def _hidden_state_modules(model: nn.Module) -> dict[str, nn.Module] | None:
    """Map ``hidden_states.{i}`` to modules for transformers CNNs whose hidden states are embedder + stage outputs.

    ResNet, ConvNext, RegNet, … return ``hidden_states = (embeddings, stage_1, …, stage_n)``; hooking those modules
    gives the same tensors and lets the forward stop early. Returns None when the layout is not recognised.
    """
    base = getattr(model, getattr(model, "base_model_prefix", ""), None) or model
    encoder = getattr(base, "encoder", None)
    stages = getattr(encoder, "stages", None) if encoder is not None else None
    embedder = getattr(base, "embedder", None) or getattr(base, "embeddings", None)
    if stages is None or embedder is None or not isinstance(stages, nn.ModuleList | nn.Sequential):
        return None
    layers = {"hidden_states.0": embedder}
    for i, stage in enumerate(stages):
        layers[f"hidden_states.{i + 1}"] = stage
    return layers


def available_layers(model: nn.Module) -> dict[str, nn.Module]:
    """Named feature layers of ``model`` in execution order (what :class:`FeatureExtractor` accepts by name)."""
    if hasattr(model, "feature_layers"):
        return dict(model.feature_layers())
    layers = _hidden_state_modules(model) or {}
    classifier = getattr(model, "classifier", None)
    if isinstance(classifier, nn.Module):
        layers["logits"] = classifier
    return layers


def normalisation_for(model: nn.Module, image_processor=None) -> tuple[Sequence[float], Sequence[float]]:
    """(mean, std) for pixels in [0, 1]: hfmech config, else the image processor, else ImageNet defaults."""
    config = getattr(model, "config", None)
    mean = getattr(config, "image_mean", None)
    std = getattr(config, "image_std", None)
    if mean is None and image_processor is not None:
        mean = getattr(image_processor, "image_mean", None)
        std = getattr(image_processor, "image_std", None)
    return (
        tuple(mean) if mean is not None else IMAGENET_MEAN,
        tuple(std) if std is not None else IMAGENET_STD,
    )


class FeatureExtractor(nn.Module):
    """``forward(pixels (B,3,H,W) in [0,1]) -> {layer_name: activation}`` for the requested ``layers``.

    Args:
        model: an hfmech backbone or a transformers image classifier (kept in eval mode, parameters frozen).
        layers: names from :func:`available_layers` or dotted module paths of ``model``.
        mean, std: normalisation applied to the pixels before the model; default from :func:`normalisation_for`.
        channels_last: run the model in channels-last memory format (faster convolutions on CPU).
    """

    def __init__(
        self,
        model: nn.Module,
        layers: Iterable[str],
        mean: Sequence[float] | None = None,
        std: Sequence[float] | None = None,
        image_processor=None,
        channels_last: bool = False,
    ):
        super().__init__()
        self.channels_last = channels_last
        self.model = model.eval()
        if channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)
        for p in self.model.parameters():
            p.requires_grad_(False)
        self.layers = list(dict.fromkeys(layers))
        if not self.layers:
            raise ValueError("FeatureExtractor needs at least one layer")
        named = available_layers(model)
        modules = dict(model.named_modules())
        self._targets: dict[str, nn.Module] = {}
        for name in self.layers:
            if name in named:
                self._targets[name] = named[name]
            elif name in modules and name != "":
                self._targets[name] = modules[name]
            else:
                valid = ", ".join(named) if named else "(module paths from model.named_modules())"
                raise UnknownLayerError(
                    f"unknown layer {name!r} for {type(model).__name__}; valid layers: {valid}"
                )
        default_mean, default_std = normalisation_for(model, image_processor)
        self.register_buffer("mean", torch.tensor(mean or default_mean, dtype=torch.float32).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(std or default_std, dtype=torch.float32).view(1, 3, 1, 1))

    def normalise(self, pixels: torch.Tensor) -> torch.Tensor:
        return (pixels - self.mean) / self.std

    def forward(self, pixels: torch.Tensor) -> dict[str, torch.Tensor]:
        if pixels.ndim != 4 or pixels.shape[1] != 3:
            raise ValueError(f"expected pixels of shape (B, 3, H, W), got {tuple(pixels.shape)}")
        captured: dict[str, torch.Tensor] = {}
        wanted = set(self.layers)
        by_module: dict[int, list[str]] = {}
        for name, module in self._targets.items():
            by_module.setdefault(id(module), []).append(name)

        def hook(module, _inputs, output):
            out = output[0] if isinstance(output, tuple | list) else output
            if hasattr(out, "last_hidden_state") and not torch.is_tensor(out):
                out = out.last_hidden_state
            for name in by_module[id(module)]:
                captured[name] = out
            if wanted.issubset(captured):
                raise _StopForward

        handles = [m.register_forward_hook(hook) for m in {id(m): m for m in self._targets.values()}.values()]
        try:
            x = self.normalise(pixels.to(self.mean.dtype))
            if self.channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            self.model(pixel_values=x)
        except _StopForward:
            pass
        finally:
            for h in handles:
                h.remove()
        missing = wanted.difference(captured)
        if missing:
            raise RuntimeError(f"layers {sorted(missing)} produced no output during the forward pass")
        return {name: captured[name] for name in self.layers}
