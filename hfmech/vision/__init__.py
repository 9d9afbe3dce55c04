"""Shared vision code: backbones (EfficientNet-Lite), the named-layer feature extractor, image loading/saving."""

from . import zoo_coral  # noqa: F401  (registers the coral-mobilenet-* zoo entries)
from .convert_efficientnet_lite import load_upstream_checkpoint
from .convert_mobilenet import load_coral_tflite
from .convert_vgg import load_hed_h5, load_torchvision_checkpoint
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
from .modeling_efficientnet_lite import (
    EfficientNetLiteConfig,
    EfficientNetLiteForImageClassification,
    classify,
)
from .modeling_mobilenet import MobileNetConfig, MobileNetForImageClassification
from .modeling_vgg import VGGConfig, VGGModel

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
