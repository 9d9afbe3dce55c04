"""Deprecated module path: use ``hfmech.vision.modeling_efficientnet_lite``, ``hfmech.vision.convert_efficientnet_lite`` (the model and its converter live in separate files)."""

import warnings

from .convert_efficientnet_lite import *  # noqa: F403
from .modeling_efficientnet_lite import *  # noqa: F403

warnings.warn(
    "hfmech.vision.efficientnet_lite is deprecated: import from modeling_efficientnet_lite, convert_efficientnet_lite in hfmech.vision",
    FutureWarning,
    stacklevel=2,
)
