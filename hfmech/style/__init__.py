"""Mechanism 2 — cross-domain synthesis: Gatys style transfer, random-network style, audio style transfer."""

# audio style transfer (Ulyanov & Lebedev 2016): audio, modeling_random_audio_conv, pipeline_audio_style_transfer
from .audio import AudioInputError, griffin_lim, load_audio, log_spectrogram, save_audio_atomic
from .modeling_random_audio_conv import RandomAudioConvConfig, RandomAudioConvModel
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
from .random_networks import (
    RandomMultiscaleConfig,
    RandomMultiscaleModel,
    random_multiscale,
    random_vgg_config,
)

__all__ = [
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
