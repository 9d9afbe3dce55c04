"""The exceptions that mean "the user's input is wrong" (the CLI and Spaces show their message, no traceback)."""

from .analogy import AnalogyQueryError, OutOfVocabularyError, VocabularyFileError
from .analogy.evaluate import BenchmarkFileError
from .analogy.io import VectorFileError
from .dream.pipeline_deep_dream import DreamParameterError
from .hub.cards import CardTemplateError
from .hub.zoo import ZooError
from .vision.features import UnknownLayerError
from .vision.image_io import ImageInputError


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
    FileNotFoundError,
)

__all__ = ["USER_ERRORS", "HubError", "ModelLoadError", "OutputPathError"]
