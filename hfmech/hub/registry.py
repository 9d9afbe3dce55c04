"""Registration of hfmech configs, models and pipeline tasks with transformers' auto classes.

Everything here runs on ``import hfmech``. After it, ``AutoConfig``/``AutoModel`` resolve ``model_type = "hfmech-…"``
configs to our classes and ``transformers.pipeline(task, model=...)`` knows our tasks — no ``trust_remote_code``.
"""

from __future__ import annotations

from collections.abc import Iterable

from transformers import AutoConfig, AutoModel, PretrainedConfig, PreTrainedModel
from transformers.pipelines import PIPELINE_REGISTRY

REGISTERED_TASKS: dict[str, type] = {}


def register_model(
    config_class: type[PretrainedConfig],
    model_class: type[PreTrainedModel],
    auto_classes: Iterable[type] = (AutoModel,),
) -> None:
    """Register ``config_class`` (its ``model_type``) with AutoConfig and ``model_class`` with each auto class."""
    AutoConfig.register(config_class.model_type, config_class, exist_ok=True)
    for auto_class in auto_classes:
        auto_class.register(config_class, model_class, exist_ok=True)


def register_task(task: str, pipeline_class: type, pt_model: type | tuple[type, ...], type: str) -> None:
    """Register a pipeline task so ``transformers.pipeline(task, model=...)`` builds ``pipeline_class``.

    ``type`` is transformers' input modality (``"image"``, ``"text"``, ``"audio"``, ``"multimodal"``).
    """
    PIPELINE_REGISTRY.register_pipeline(task, pipeline_class=pipeline_class, pt_model=pt_model, type=type)
    REGISTERED_TASKS[task] = pipeline_class
