"""Mechanism 2 — cross-domain synthesis: Gatys style transfer, random-network style, audio style transfer."""

# audio style transfer (Ulyanov & Lebedev 2016): audio, modeling_random_audio_conv, pipeline_audio_style_transfer
from transformers import AutoModel

from ..hub.mechanism import Mechanism, Task
from . import zoo_vgg  # noqa: F401  (registers the vgg16-hed-trunk zoo entry)
from .audio import AudioInputError, griffin_lim, load_audio, log_spectrogram, save_audio_atomic
from .modeling_random_audio_conv import RandomAudioConvConfig, RandomAudioConvModel
from .modeling_random_multiscale import RandomMultiscaleConfig, RandomMultiscaleModel, random_multiscale
from .pipeline_audio_style_transfer import (
    AudioStyleParameterError,
    AudioStyleSettings,
    AudioStyleTransferPipeline,
)

# image style transfer (Gatys et al. 2016; Ustyuzhaninov et al. 2016)
from .pipeline_style_transfer import (
    StyleParameterError,
    StyleSettings,
    StyleTransferPipeline,
    StyleWeightsError,
)
from .zoo_random import random_vgg_config

MECHANISM = Mechanism(
    package="style",
    title="Style transfer",
    paper="Gatys, Ecker & Bethge 2016; Ustyuzhaninov et al. 2016; Ulyanov & Lebedev 2016",
    tasks=(
        Task("style-transfer", StyleTransferPipeline, AutoModel, "image", default_model="vgg16-hed-trunk"),
        Task(
            "audio-style-transfer",
            AudioStyleTransferPipeline,
            AutoModel,
            "audio",
            default_model="random-audio-conv",
        ),
    ),
    cli_commands=("style", "style-audio"),
    space="style-transfer",
    docs="style.md",
    order=2,
)

__all__ = [
    "MECHANISM",
    "AudioInputError",
    "AudioStyleParameterError",
    "AudioStyleSettings",
    "AudioStyleTransferPipeline",
    "RandomAudioConvConfig",
    "RandomAudioConvModel",
    "griffin_lim",
    "load_audio",
    "log_spectrogram",
    "save_audio_atomic",
    "RandomMultiscaleConfig",
    "RandomMultiscaleModel",
    "StyleParameterError",
    "StyleSettings",
    "StyleTransferPipeline",
    "StyleWeightsError",
    "random_multiscale",
    "random_vgg_config",
]
