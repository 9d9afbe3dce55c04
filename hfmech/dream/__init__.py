"""Mechanism 1 — transformative perception: DeepDream and activation maximisation.

Mordvintsev, Olah & Tyka 2015 (DeepDream); Erhan et al. 2009, Nguyen et al. 2016 and Olah et al. 2017 (activation
maximisation / feature visualisation). Task ``"deep-dream"`` → :class:`DeepDreamPipeline`.
"""

from . import objectives, param, transforms
from .gradients import normalise_gradient, objective_gradient
from .pipeline_deep_dream import DeepDreamPipeline, DreamParameterError, DreamSettings
from .visualize import render as render_feature_visualization

__all__ = [
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
