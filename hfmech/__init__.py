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
from .analogy import WordAnalogyPipeline
from .dream import DeepDreamPipeline
from .hub import register_task, zoo
from .perception import PerceptionEnginePipeline
from .sentiment import SentimentNeuronPipeline
from .style import AudioStyleTransferPipeline, StyleTransferPipeline

__version__ = "0.1.0"

TASKS = {
    "deep-dream": DeepDreamPipeline,
    "word-analogy": WordAnalogyPipeline,
    "style-transfer": StyleTransferPipeline,
    "audio-style-transfer": AudioStyleTransferPipeline,
    "perception-engine": PerceptionEnginePipeline,
    "sentiment-neuron": SentimentNeuronPipeline,
}

register_task(
    "deep-dream",
    pipeline_class=DeepDreamPipeline,
    pt_model=(AutoModelForImageClassification, AutoModel),
    type="image",
)

register_task("word-analogy", pipeline_class=WordAnalogyPipeline, pt_model=AutoModel, type="text")
register_task("style-transfer", pipeline_class=StyleTransferPipeline, pt_model=AutoModel, type="image")
register_task(
    "audio-style-transfer", pipeline_class=AudioStyleTransferPipeline, pt_model=AutoModel, type="audio"
)

register_task("perception-engine", pipeline_class=PerceptionEnginePipeline, pt_model=AutoModel, type="image")
register_task("sentiment-neuron", pipeline_class=SentimentNeuronPipeline, pt_model=AutoModel, type="text")

__all__ = [
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
