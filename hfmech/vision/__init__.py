"""Shared vision code: backbones (EfficientNet-Lite), the named-layer feature extractor, image loading/saving."""

from .efficientnet_lite import (
    EfficientNetLiteConfig,
    EfficientNetLiteForImageClassification,
    classify,
    load_upstream_checkpoint,
)
from .features import FeatureExtractor, UnknownLayerError, available_layers
from .image_io import (
    ImageDecodeError,
    ImageInputError,
    ImageNotFoundError,
    ImageTooLargeError,
    image_to_tensor,
    load_image,
    save_image_atomic,
    tensor_to_image,
)
from .labels import imagenet_labels
from .mobilenet import MobileNetConfig, MobileNetForImageClassification, load_coral_tflite
from .vgg import VGGConfig, VGGModel, load_hed_h5, load_torchvision_checkpoint

__all__ = [
    "EfficientNetLiteConfig",
    "EfficientNetLiteForImageClassification",
    "FeatureExtractor",
    "ImageDecodeError",
    "ImageInputError",
    "ImageNotFoundError",
    "ImageTooLargeError",
    "MobileNetConfig",
    "MobileNetForImageClassification",
    "UnknownLayerError",
    "VGGConfig",
    "VGGModel",
    "available_layers",
    "classify",
    "image_to_tensor",
    "imagenet_labels",
    "load_hed_h5",
    "load_coral_tflite",
    "load_image",
    "load_torchvision_checkpoint",
    "load_upstream_checkpoint",
    "save_image_atomic",
    "tensor_to_image",
]
