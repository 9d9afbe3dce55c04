"""Mechanism 1 — transformative perception: DeepDream and activation maximisation.

Mordvintsev, Olah & Tyka 2015 (DeepDream); Erhan et al. 2009, Nguyen et al. 2016 and Olah et al. 2017 (activation
maximisation / feature visualisation). Task ``"deep-dream"`` → :class:`DeepDreamPipeline`.
"""

from transformers import AutoModel, AutoModelForImageClassification

from ..hub.mechanism import Mechanism, Task
from . import (
    objectives,
    param,
    transforms,
    zoo_efficientnet,  # noqa: F401  (registers the efficientnet-lite{0,1,2}-imagenet zoo entries)
)
from .gradients import normalise_gradient, objective_gradient
from .pipeline_deep_dream import DeepDreamPipeline, DreamParameterError, DreamSettings
from .visualize import render as render_feature_visualization

MECHANISM = Mechanism(
    package="dream",
    title="DeepDream",
    paper="Mordvintsev, Olah & Tyka 2015; Erhan et al. 2009; Nguyen et al. 2016; Olah et al. 2017",
    tasks=(
        Task(
            "deep-dream",
            DeepDreamPipeline,
            (AutoModelForImageClassification, AutoModel),
            "image",
            default_model="efficientnet-lite0-imagenet",
        ),
    ),
    cli_commands=("dream", "visualize"),
    space="deepdream",
    docs="deepdream.md",
    order=1,
)

__all__ = [
    "MECHANISM",
    "DeepDreamPipeline",
    "DreamParameterError",
    "DreamSettings",
    "normalise_gradient",
    "objective_gradient",
    "objectives",
    "param",
    "render_feature_visualization",
    "transforms",
]
