"""Deprecated module path: use ``hfmech.vision.modeling_vgg``, ``hfmech.vision.convert_vgg`` (the model and its converter live in separate files)."""

import warnings

from .convert_vgg import *  # noqa: F403
from .modeling_vgg import *  # noqa: F403

warnings.warn(
    "hfmech.vision.vgg is deprecated: import from modeling_vgg, convert_vgg in hfmech.vision",
    FutureWarning,
    stacklevel=2,
)
