"""Deprecated module path: the random multi-scale model is :mod:`hfmech.style.modeling_random_multiscale`, the
untrained backbones' zoo entries and :func:`random_vgg_config` are :mod:`hfmech.style.zoo_random`."""

import warnings

from .modeling_random_multiscale import (  # noqa: F401
    PAPER_FILTER_SIZES,
    PAPER_FILTERS_PER_SCALE,
    MultiscaleConv,
    RandomMultiscaleConfig,
    RandomMultiscaleModel,
    fft_conv2d_same,
    random_multiscale,
)
from .zoo_random import build_random_multiscale, build_random_vgg, random_vgg_config  # noqa: F401

warnings.warn(
    "hfmech.style.random_networks is deprecated: import from hfmech.style.modeling_random_multiscale "
    "or hfmech.style.zoo_random",
    FutureWarning,
    stacklevel=2,
)
