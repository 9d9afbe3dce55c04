"""Mechanism 5 — abstraction: Perception Engines (White 2018), drawing systems judged by held-out classifiers.

- :mod:`.drawing` — the drawing system (strokes, blobs, a hard palette of inks) and its constraints;
- :mod:`.render` — the differentiable, resolution-independent rasteriser; :mod:`.svg` — SVG export;
- :mod:`.transforms` — robustness transforms (views, blur, lighting, ink misalignment);
- :mod:`.objectives` — ensemble agreement (mean log-probability, White's product of probabilities);
- :mod:`.optimizers` — Adam and White's evolution strategy;
- :mod:`.modeling_perception_ensemble` — ``PerceptionEnsembleModel`` (training members and held-out judges);
- :mod:`.pipeline_perception_engine` — task ``"perception-engine"``.
"""

from transformers import AutoModel

from ..hub.mechanism import Mechanism, Task
from . import zoo_ensemble  # noqa: F401  (registers the perception-ensemble-lite zoo entry)
from .drawing import DEFAULT_INKS, Drawing, DrawingParameterError, DrawingSpec, Geometry, default_palette
from .modeling_perception_ensemble import (
    EnsembleConfigError,
    PerceptionEnsembleConfig,
    PerceptionEnsembleModel,
)
from .objectives import OBJECTIVES, ObjectiveError, ensemble_objective, reward
from .optimizers import OptimizerError, optimize_adam, optimize_es
from .pipeline_perception_engine import (
    PerceptionEnginePipeline,
    PerceptionEngineSettings,
    PerceptionParameterError,
)
from .render import render
from .svg import to_svg
from .targets import UnknownClassError, resolve_class
from .transforms import RobustnessTransforms, TransformParameterError

MECHANISM = Mechanism(
    package="perception",
    title="Perception Engine",
    paper="White 2018",
    tasks=(
        Task(
            "perception-engine",
            PerceptionEnginePipeline,
            AutoModel,
            "image",
            default_model="perception-ensemble-lite",
        ),
    ),
    cli_commands=("perceive",),
    space="perception-engine",
    docs="perception.md",
    order=5,
)

__all__ = [
    "MECHANISM",
    "DEFAULT_INKS",
    "OBJECTIVES",
    "Drawing",
    "DrawingParameterError",
    "DrawingSpec",
    "EnsembleConfigError",
    "Geometry",
    "ObjectiveError",
    "OptimizerError",
    "PerceptionEnginePipeline",
    "PerceptionEngineSettings",
    "PerceptionEnsembleConfig",
    "PerceptionEnsembleModel",
    "PerceptionParameterError",
    "RobustnessTransforms",
    "TransformParameterError",
    "UnknownClassError",
    "default_palette",
    "ensemble_objective",
    "optimize_adam",
    "optimize_es",
    "render",
    "resolve_class",
    "reward",
    "to_svg",
]
