"""Deprecated module path: use ``hfmech.vision.modeling_mobilenet``, ``hfmech.vision.convert_mobilenet``, ``hfmech.vision.zoo_coral`` (the model and its converter live in separate files)."""

import warnings

from .convert_mobilenet import *  # noqa: F403
from .modeling_mobilenet import *  # noqa: F403
from .zoo_coral import *  # noqa: F403

warnings.warn(
    "hfmech.vision.mobilenet is deprecated: import from modeling_mobilenet, convert_mobilenet, zoo_coral in hfmech.vision",
    FutureWarning,
    stacklevel=2,
)
