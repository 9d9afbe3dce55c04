"""hfmech — the classic creative mechanisms of deep networks, shaped for the Hugging Face ecosystem.

``import hfmech`` registers every hfmech config and model with transformers' auto classes and every task with its
pipeline registry, so::

    import hfmech
    from transformers import pipeline
    dream = pipeline("deep-dream", model=hfmech.zoo.build("efficientnet-lite0-imagenet"))

works with local folders, Hub ids and (through :func:`hfmech.zoo.resolve`) zoo names. The mechanisms are found
from their folders (:data:`MECHANISMS`, one :class:`~hfmech.hub.mechanism.Mechanism` each); tasks are registered
from that one list.
"""

from . import vision  # noqa: F401  (registers backbones and their zoo entries)
from .analogy import WordAnalogyPipeline
from .dream import DeepDreamPipeline
from .hub import zoo
from .hub.mechanism import register_tasks
from .mechanisms import MECHANISMS
from .perception import PerceptionEnginePipeline
from .sentiment import SentimentNeuronPipeline
from .style import AudioStyleTransferPipeline, StyleTransferPipeline

__version__ = "0.1.0"

#: task name -> pipeline class, for every task of every mechanism.
TASKS = register_tasks(MECHANISMS)

__all__ = [
    "MECHANISMS",
    "TASKS",
    "AudioStyleTransferPipeline",
    "DeepDreamPipeline",
    "PerceptionEnginePipeline",
    "SentimentNeuronPipeline",
    "StyleTransferPipeline",
    "WordAnalogyPipeline",
    "__version__",
    "zoo",
]
