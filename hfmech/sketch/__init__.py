"""Mechanism 4 in drawings — sketch-rnn (Ha & Eck 2017): a VAE over pen strokes, with latent interpolation,
analogies and attribute vectors (the drawing half of Wyse's analogy section).

- :mod:`.strokes` — stroke-3 ↔ stroke-5, normalisation, magenta's augmentation, RDP, Quick, Draw! ndjson.
- :mod:`.modeling_sketch_rnn` — :class:`SketchRNNConfig` (magenta's ``get_default_hparams``; presets ``magenta`` and
  ``cpu-small``) and :class:`SketchRNNModel` (bi-LSTM encoder, layer-norm LSTM decoder with recurrent dropout,
  bivariate-normal mixture; magenta's loss; ``decode(z, temperature)``).
- :mod:`.pipeline_sketch_vae` — :class:`SketchVAEPipeline`, task ``"sketch-vae"``.
- :mod:`.train` — the training recipe (``python -m hfmech.sketch.train``); :mod:`.render` — SVG/PNG and grids.
- :mod:`.zoo_sketch` — zoo entry ``sketch-rnn-omniglot`` (weights committed, trained here).
"""

from transformers import AutoModel

from ..hub.mechanism import Mechanism, Task
from . import zoo_sketch  # noqa: F401  (registers the sketch-rnn-omniglot zoo entry)
from .modeling_sketch_rnn import SketchInputError, SketchRNNConfig, SketchRNNModel
from .pipeline_sketch_vae import SketchLimitError, SketchOutput, SketchVAEPipeline
from .strokes import StrokeError, StrokeLengthError, StrokeValueError

MECHANISM = Mechanism(
    package="sketch",
    title="Sketch analogies",
    paper="Ha & Eck 2017",
    tasks=(
        Task("sketch-vae", SketchVAEPipeline, AutoModel, "multimodal", default_model="sketch-rnn-omniglot"),
    ),
    cli_commands=("sketch-sample", "sketch-interpolate", "sketch-train"),
    space="sketch",
    docs="sketch.md",
    order=6,
    recipes={"sketch-train": "hfmech.sketch.train:main"},
)

__all__ = [
    "MECHANISM",
    "SketchInputError",
    "SketchLimitError",
    "SketchOutput",
    "SketchRNNConfig",
    "SketchRNNModel",
    "SketchVAEPipeline",
    "StrokeError",
    "StrokeLengthError",
    "StrokeValueError",
]
