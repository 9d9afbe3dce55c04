"""Mechanism 3 — sentiment: the sentiment neuron (Radford, Jozefowicz & Sutskever 2017).

A byte-level multiplicative LSTM (:mod:`.modeling_mlstm`) trained to predict the next byte of reviews
(:mod:`.train`), OpenAI's released weights (:mod:`.convert_openai`), clamped generation (:mod:`.generation`) and the
``sentiment-neuron`` pipeline (:mod:`.pipeline_sentiment_neuron`); the zoo entry ``mlstm-imdb`` (:mod:`.zoo_mlstm`)
ships hfmech's own trained weights. The char-RNN lineage (Karpathy 2015): textgenrnn's pretrained character LSTM
(:mod:`.modeling_char_rnn`, :mod:`.convert_textgenrnn`, zoo entry ``char-rnn-reddit`` in :mod:`.zoo_char_rnn`) with
``sample.lua``-style sampling (``hfmech char-rnn-sample``).
"""

from transformers import AutoModel, AutoModelForCausalLM

from ..hub.mechanism import Mechanism, Task
from . import zoo_char_rnn, zoo_gemma3, zoo_mlstm, zoo_smollm2  # noqa: F401  (register the zoo entries)
from .convert_openai import OpenAIWeightsError, convert_openai
from .convert_textgenrnn import TextgenrnnWeightsError, convert_textgenrnn
from .datasets import DatasetFileError, TextSplits, load_amazon, load_benchmark, load_imdb, load_sst2
from .generation import ClampError, generate, parse_clamp
from .judge import JudgeUnavailableError, SentimentJudge, measure_steering
from .lm_neuron import LMNeuronError, clamp_units, featurize, generate_clamped
from .modeling_char_rnn import CharRNNConfig, CharRNNError, CharRNNForCausalLM
from .modeling_mlstm import MLSTMConfig, MLSTMForByteLM, MLSTMOutput, UnknownUnitError
from .pipeline_sentiment_neuron import (
    DEFAULT_MODEL,
    UNIT_ACCURACY_FLOOR,
    SentimentConfigError,
    SentimentNeuronPipeline,
    char_values,
    format_reading,
)
from .preprocessing import SentimentInputError, clean_text, preprocess
from .probe import (
    ProbeInputError,
    ProbeResult,
    UnitResult,
    data_efficiency_curve,
    discover_unit,
    find_unit,
    single_unit_accuracy,
    train_with_reg_cv,
)

MECHANISM = Mechanism(
    package="sentiment",
    title="Sentiment neuron",
    paper="Radford, Jozefowicz & Sutskever 2017",
    tasks=(
        Task(
            "sentiment-neuron",
            SentimentNeuronPipeline,
            (AutoModelForCausalLM, AutoModel),  # a causal LM with a discovered unit, or the byte mLSTM
            "text",
            default_model=DEFAULT_MODEL,
        ),
    ),
    cli_commands=("sentiment", "sentiment-generate", "sentiment-train", "char-rnn-sample"),
    space="sentiment-neuron",
    docs="sentiment.md",
    order=3,
    recipes={"sentiment-train": "hfmech.sentiment.train:main"},
)

__all__ = [
    "CharRNNConfig",
    "CharRNNError",
    "CharRNNForCausalLM",
    "TextgenrnnWeightsError",
    "convert_textgenrnn",
    "DEFAULT_MODEL",
    "MECHANISM",
    "UNIT_ACCURACY_FLOOR",
    "format_reading",
    "DatasetFileError",
    "JudgeUnavailableError",
    "LMNeuronError",
    "ProbeInputError",
    "ProbeResult",
    "SentimentJudge",
    "TextSplits",
    "UnitResult",
    "clamp_units",
    "data_efficiency_curve",
    "discover_unit",
    "featurize",
    "find_unit",
    "generate_clamped",
    "load_amazon",
    "load_benchmark",
    "load_imdb",
    "load_sst2",
    "measure_steering",
    "single_unit_accuracy",
    "train_with_reg_cv",
    "ClampError",
    "MLSTMConfig",
    "MLSTMForByteLM",
    "MLSTMOutput",
    "OpenAIWeightsError",
    "SentimentConfigError",
    "SentimentInputError",
    "SentimentNeuronPipeline",
    "UnknownUnitError",
    "char_values",
    "clean_text",
    "convert_openai",
    "generate",
    "parse_clamp",
    "preprocess",
]
