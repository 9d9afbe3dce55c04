"""The exceptions that mean "the user's input is wrong" (the CLI and Spaces show their message, no traceback)."""

from .dream.pipeline_deep_dream import DreamParameterError
from .hub.cards import CardTemplateError
from .hub.zoo import ZooError
from .vision.features import UnknownLayerError
from .vision.image_io import ImageInputError

USER_ERRORS = (ImageInputError, UnknownLayerError, DreamParameterError, ZooError, CardTemplateError, FileNotFoundError)

__all__ = ["USER_ERRORS"]
