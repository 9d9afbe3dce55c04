"""Registration of hfmech configs, models and pipeline tasks with transformers' auto classes.

Everything here runs on ``import hfmech``. After it, ``AutoConfig``/``AutoModel`` resolve ``model_type = "hfmech-…"``
configs to our classes and ``transformers.pipeline(task, model=...)`` knows our tasks — no ``trust_remote_code``.
"""

from __future__ import annotations

import contextvars
import functools
import os
from collections.abc import Iterable

from transformers import AutoConfig, AutoModel, PretrainedConfig, PreTrainedModel
from transformers.pipelines import PIPELINE_REGISTRY

REGISTERED_TASKS: dict[str, type] = {}

#: set while a folder that :func:`hfmech.hub.weights.verify_folder` already checked is being loaded
ALREADY_VERIFIED: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "hfmech_already_verified", default=False
)


def _verify_local_folders(model_class: type[PreTrainedModel]) -> None:
    """Make ``model_class.from_pretrained(folder)`` verify a local folder's config and safetensors headers first
    (:func:`hfmech.hub.weights.verify_folder`): a direct load is checked like a pipeline's, so a tampered file
    is a :class:`~hfmech.errors.WeightsError`, never a silently re-initialised tensor."""
    if "_hfmech_verified_loader" in vars(model_class):
        return
    original = model_class.from_pretrained.__func__

    @functools.wraps(original)
    def from_pretrained(cls, pretrained_model_name_or_path, *args, **kwargs):
        path = pretrained_model_name_or_path
        if isinstance(path, str | os.PathLike) and os.path.isdir(path) and not ALREADY_VERIFIED.get():
            from .weights import verify_folder

            verify_folder(path, model_class=cls)
        return original(cls, path, *args, **kwargs)

    model_class.from_pretrained = classmethod(from_pretrained)
    model_class._hfmech_verified_loader = True


def register_model(
    config_class: type[PretrainedConfig],
    model_class: type[PreTrainedModel],
    auto_classes: Iterable[type] = (AutoModel,),
) -> None:
    """Register ``config_class`` (its ``model_type``) with AutoConfig and ``model_class`` with each auto class."""
    AutoConfig.register(config_class.model_type, config_class, exist_ok=True)
    _verify_local_folders(model_class)
    for auto_class in auto_classes:
        auto_class.register(config_class, model_class, exist_ok=True)


def register_task(task: str, pipeline_class: type, pt_model: type | tuple[type, ...], type: str) -> None:
    """Register a pipeline task so ``transformers.pipeline(task, model=...)`` builds ``pipeline_class``.

    ``type`` is transformers' input modality (``"image"``, ``"text"``, ``"audio"``, ``"multimodal"``).
    """
    PIPELINE_REGISTRY.register_pipeline(task, pipeline_class=pipeline_class, pt_model=pt_model, type=type)
    REGISTERED_TASKS[task] = pipeline_class
