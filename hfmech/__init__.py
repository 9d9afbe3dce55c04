"""hfmech — the classic creative mechanisms of deep networks, shaped for the Hugging Face ecosystem.

``import hfmech`` registers every hfmech config and model with transformers' auto classes and every task with its
pipeline registry, so::

    import hfmech
    from transformers import pipeline
    dream = pipeline("deep-dream", model=hfmech.zoo.build("efficientnet-lite0-imagenet"))

works with local folders, Hub ids and (through :func:`hfmech.zoo.resolve`) zoo names.
"""

from transformers import AutoModel, AutoModelForImageClassification

from . import vision  # noqa: F401  (registers backbones and their zoo entries)
from .dream import DeepDreamPipeline
from .hub import register_task, zoo

__version__ = "0.1.0"

TASKS = {
    "deep-dream": DeepDreamPipeline,
}

register_task(
    "deep-dream",
    pipeline_class=DeepDreamPipeline,
    pt_model=(AutoModelForImageClassification, AutoModel),
    type="image",
)

__all__ = ["TASKS", "DeepDreamPipeline", "__version__", "zoo"]
