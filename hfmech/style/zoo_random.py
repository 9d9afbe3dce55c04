"""The untrained backbones' zoo entries (Ustyuzhaninov, Brendel, Gatys & Bethge 2016, arXiv:1606.00021): no training,
no downloads — the config (and its seed) is the model.

- ``random-multiscale``: :class:`hfmech.style.modeling_random_multiscale.RandomMultiscaleModel`, the paper's single
  layer of random filters at eight scales.
- ``random-vgg``: :class:`hfmech.vision.modeling_vgg.VGGModel` with its seeded Kaiming initialisation
  (:func:`hfmech.vision.modeling_vgg.random_vgg`), the deep random baseline the paper contrasts.

Each folder holds ``config.json`` plus the seeded ``model.safetensors`` (a cache of what the seed regenerates exactly),
so both are selectable like any backbone (``backbone="random-multiscale"``, ``--backbone random-vgg``).
"""

from __future__ import annotations

from pathlib import Path

from ..hub import zoo
from ..vision.modeling_vgg import VGGConfig, random_vgg
from .losses import GATYS_STYLE_DEFAULTS
from .modeling_random_multiscale import random_multiscale


def random_vgg_config(seed: int = 0, **kwargs) -> VGGConfig:
    """VGG16 layout, average pooling off, torchvision input convention, Gatys' layers; seeded Kaiming weights."""
    params = dict(
        variant="vgg16",
        input_convention="torchvision-rgb",
        init_seed=seed,
        source="random (seeded Kaiming-normal, fan_out)",
        style_transfer=dict(GATYS_STYLE_DEFAULTS),
    )
    params.update(kwargs)
    return VGGConfig(**params)


# ------------------------------------------------------------------------------------------------------------------
# Zoo: config + the seeded weights (exactly regenerable from the config's init_seed)
# ------------------------------------------------------------------------------------------------------------------


def _card_values(model) -> dict:
    from .measurements import card_values

    n = sum(p.numel() for p in model.parameters())
    return {"num_parameters": n, "num_parameters_millions": f"{n / 1e6:.2f}", **card_values()}


@zoo.register(
    "random-multiscale",
    card="random-multiscale.md",
    task="style-transfer",
    description="Single-layer random multi-scale filters (Ustyuzhaninov et al. 2016); no trained weights",
)
def build_random_multiscale(out_dir: Path) -> dict:
    model = random_multiscale(seed=0)
    model.config.architectures = [type(model).__name__]
    model.save_pretrained(out_dir, safe_serialization=True)
    values = _card_values(model)
    values.update(
        filter_sizes=", ".join(map(str, model.config.filter_sizes)),
        filters_per_scale=model.config.filters_per_scale,
        init_seed=model.config.init_seed,
    )
    return values


@zoo.register(
    "random-vgg",
    card="random-vgg.md",
    task="style-transfer",
    description="VGG16 trunk with seeded random (Kaiming) weights; the untrained deep baseline",
)
def build_random_vgg(out_dir: Path) -> dict:
    model = random_vgg(random_vgg_config(seed=0))
    model.config.architectures = [type(model).__name__]
    model.save_pretrained(out_dir, safe_serialization=True)
    values = _card_values(model)
    values.update(init_seed=model.config.init_seed)
    return values
