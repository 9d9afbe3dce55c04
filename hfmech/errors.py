"""The exceptions that mean "the user's input is wrong" (the CLI and Spaces show their message, no traceback)."""

from .analogy import AnalogyQueryError, OutOfVocabularyError, VocabularyFileError
from .analogy.evaluate import BenchmarkFileError
from .analogy.io import VectorFileError
from .dream.pipeline_deep_dream import DreamParameterError
from .hub.cards import CardTemplateError
from .hub.zoo import ZooError
from .perception import (
    DrawingParameterError,
    EnsembleConfigError,
    ObjectiveError,
    OptimizerError,
    PerceptionParameterError,
    TransformParameterError,
    UnknownClassError,
)
from .perception.transfer import TransferInputError
from .sentiment.convert_openai import OpenAIWeightsError
from .sentiment.datasets import DatasetFileError
from .sentiment.generation import ClampError
from .sentiment.judge import JudgeUnavailableError
from .sentiment.lm_neuron import LMNeuronError
from .sentiment.modeling_mlstm import UnknownUnitError
from .sentiment.pipeline_sentiment_neuron import SentimentConfigError
from .sentiment.preprocessing import SentimentInputError
from .sentiment.probe import ProbeInputError
from .style.audio import AudioInputError, AudioOutputError
from .style.pipeline_audio_style_transfer import AudioStyleParameterError
from .style.pipeline_style_transfer import StyleParameterError
from .vision.features import UnknownLayerError
from .vision.image_io import ImageInputError
from .vision.tflite_reader import TFLiteFormatError
from .vision.vgg import VGGCheckpointError


class OutputPathError(ValueError):
    """An output path that cannot be written: unknown image suffix, missing or read-only directory, a directory."""


class ModelLoadError(OSError):
    """``--model`` (a zoo name, local folder or Hub id) could not be loaded."""


class HubError(OSError):
    """A Hub request was refused (not logged in, no write access to the repo, invalid repo id)."""


USER_ERRORS = (
    ImageInputError,
    UnknownLayerError,
    DreamParameterError,
    OutOfVocabularyError,
    AnalogyQueryError,
    VectorFileError,
    VocabularyFileError,
    BenchmarkFileError,
    ZooError,
    CardTemplateError,
    OutputPathError,
    ModelLoadError,
    HubError,
    DatasetFileError,
    ProbeInputError,
    JudgeUnavailableError,
    LMNeuronError,
    SentimentInputError,
    UnknownUnitError,
    ClampError,
    SentimentConfigError,
    OpenAIWeightsError,
    AudioInputError,
    AudioOutputError,
    AudioStyleParameterError,
    StyleParameterError,
    VGGCheckpointError,
    UnknownClassError,
    DrawingParameterError,
    PerceptionParameterError,
    TransformParameterError,
    ObjectiveError,
    OptimizerError,
    EnsembleConfigError,
    TransferInputError,
    TFLiteFormatError,
    FileNotFoundError,
)

__all__ = ["USER_ERRORS", "HubError", "ModelLoadError", "OutputPathError"]
