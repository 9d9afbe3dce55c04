"""Hub plumbing shared by every mechanism: registration with transformers, model cards and the zoo."""

from . import zoo
from .cards import CardTemplateError, render_card
from .loading import load_pipeline
from .registry import REGISTERED_TASKS, register_model, register_task
from .zoo import ZooError

__all__ = [
    "REGISTERED_TASKS",
    "CardTemplateError",
    "ZooError",
    "load_pipeline",
    "register_model",
    "register_task",
    "render_card",
    "zoo",
]
