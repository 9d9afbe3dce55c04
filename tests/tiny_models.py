"""Tiny random-weight models shared by the unit tests (import as ``from tiny_models import ...``)."""

TINY_DREAM_CARD = """---
library_name: hfmech
pipeline_tag: image-classification
license: apache-2.0
tags: [hfmech, deep-dream]
---
# tiny dream model
Parameters: {{ num_parameters }}
"""


def tiny_effnet():
    """A tiny random EfficientNet-Lite (layer stage3, presets shallow/deep, 10 labels, 64 px) for dream tests."""
    import torch

    from hfmech.vision.modeling_efficientnet_lite import (
        EfficientNetLiteConfig,
        EfficientNetLiteForImageClassification,
    )

    torch.manual_seed(0)
    config = EfficientNetLiteConfig(
        width_coefficient=0.25,
        depth_coefficient=0.5,
        num_labels=10,
        image_size=64,
        deep_dream={"layer": "stage3", "presets": {"shallow": "stage2", "deep": "stage5"}, "tile_size": None},
    )
    return EfficientNetLiteForImageClassification(config).eval()
