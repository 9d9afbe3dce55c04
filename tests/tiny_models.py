"""Tiny random-weight models shared by the unit and hostile tests (import as ``from tiny_models import ...``)."""

import numpy as np
import torch

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


# ------------------------------------------------------------------------------------------------- tiny models


def tiny_classifier(num_labels: int = 10, image_size: int = 32, seed: int = 0):
    """A tiny random EfficientNet-Lite classifier (one-octave, one-step dream settings)."""
    from hfmech.vision.modeling_efficientnet_lite import (
        EfficientNetLiteConfig,
        EfficientNetLiteForImageClassification,
    )

    torch.manual_seed(seed)
    config = EfficientNetLiteConfig(
        width_coefficient=0.25,
        depth_coefficient=0.25,
        image_size=image_size,
        head_channels=64,
        num_labels=num_labels,
        deep_dream={"layer": "stage3", "tile_size": None, "octaves": 1, "steps": 1},
    )
    return EfficientNetLiteForImageClassification(config).eval()


def tiny_vgg():
    from hfmech.style.zoo_random import random_vgg_config
    from hfmech.vision.modeling_vgg import random_vgg

    return random_vgg(random_vgg_config(seed=0, block_channels=[4, 8, 8, 16, 16]))


AUDIO_SR = 8000
AUDIO_CONFIG = dict(sampling_rate=AUDIO_SR, n_fft=256, hop_length=64, n_filters=64, kernel_width=11, seed=0)


def tiny_audio():
    from hfmech.style.modeling_random_audio_conv import RandomAudioConvConfig, RandomAudioConvModel

    return RandomAudioConvModel(RandomAudioConvConfig(**AUDIO_CONFIG))


WORDS = ["the", "man", "woman", "king", "queen", "apple", "prince", "princess"] + [f"w{i}" for i in range(40)]


def tiny_word_vectors():
    from hfmech.analogy.modeling_word_vectors import WordVectorsModel

    rng = np.random.default_rng(0)
    return WordVectorsModel.from_arrays(WORDS, None, rng.standard_normal((len(WORDS), 8)).astype(np.float32))


PERCEPTION_FAST = {"steps": 2, "size": 32, "views": 1, "stop_probability": None, "resolution": None}


def tiny_ensemble():
    from hfmech.perception import PerceptionEnsembleModel

    members = [tiny_classifier(1000, 32, seed=0), tiny_classifier(1000, 32, seed=1)]
    return PerceptionEnsembleModel.from_members(
        members, ["tiny-a", "judge"], ["training", "held_out"], perception_engine=PERCEPTION_FAST
    )


def tiny_mlstm():
    from hfmech.sentiment.modeling_mlstm import MLSTMConfig, MLSTMForByteLM

    torch.manual_seed(0)
    config = MLSTMConfig(
        hidden_size=16,
        sentiment_unit=3,
        polarity=1,
        threshold=0.0,
        sentiment_neuron={"unit_accuracy": 0.75, "measured_on": "a test set"},
    )
    return MLSTMForByteLM(config).eval()


def tiny_sketch_rnn():
    from hfmech.sketch.modeling_sketch_rnn import SketchRNNConfig, SketchRNNModel

    torch.manual_seed(0)
    config = SketchRNNConfig.from_preset(
        "cpu-small", enc_rnn_size=8, dec_rnn_size=16, z_size=4, num_mixture=3, max_seq_len=40
    )
    config.scale_factor = 1.0
    return SketchRNNModel(config).eval()


def tiny_music_vae():
    from hfmech.melody.modeling_music_vae import MusicVAEConfig, MusicVAEModel

    torch.manual_seed(0)
    return MusicVAEModel(
        MusicVAEConfig(enc_rnn_size=[16], dec_rnn_size=[16, 16], z_size=8, batch_size=8)
    ).eval()


#: task -> a builder of a tiny random-weight model of that task's model type (one per registered task).
KINDS = {
    "deep-dream": tiny_classifier,
    "style-transfer": tiny_vgg,
    "audio-style-transfer": tiny_audio,
    "word-analogy": tiny_word_vectors,
    "perception-engine": tiny_ensemble,
    "sentiment-neuron": tiny_mlstm,
    "sketch-vae": tiny_sketch_rnn,
    "melody-vae": tiny_music_vae,
}


def byte_tokenizer(eos: str = "<eos>", **special_tokens):
    """Every byte one token (byte-level BPE without merges), plus ``eos`` (by default also the padding token): the
    tokenizer of the tiny random Llama models in the sentiment tests. ``special_tokens`` replace the default
    ``pad_token=eos`` (e.g. ``bos_token=eos``)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    alphabet = pre_tokenizers.ByteLevel.alphabet()
    vocab = {ch: i for i, ch in enumerate(sorted(alphabet))}
    vocab[eos] = len(vocab)
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, eos_token=eos, **(special_tokens or {"pad_token": eos})
    )
