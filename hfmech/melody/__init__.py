"""Mechanism 4, in music — MusicVAE latent arithmetic for 2-bar melodies (Roberts et al. 2018).

- :mod:`.data` — magenta's ``OneHotMelodyConverter`` representation (90 classes, 16 steps per bar, 32-step windows).
- :mod:`.corpus` / :mod:`.dataset` — the public-domain ABC collections of the ``music21`` wheel, parsed once into a
  pickle-free cache; windows, the train / held-out split and the paper's five attributes.
- :mod:`.modeling_music_vae` — :class:`MusicVAEModel` (bi-LSTM encoder, LSTM decoder, β-annealed KL, scheduled
  sampling) and :class:`MusicVAEConfig` with the ``cat-mel_2bar_small`` and ``cat-mel_2bar_cpu`` presets.
- :mod:`.train` — the training recipe (``python -m hfmech.melody.train`` / ``hfmech melody-train``).
- :mod:`.io` — MIDI in and out (``mido``), ABC / MusicXML in (``music21``), a numpy synthesiser to WAV, piano rolls.
- :mod:`.pipeline_melody_vae` — :class:`MelodyVAEPipeline`, task ``"melody-vae"``.
- :mod:`.zoo_music_vae` — zoo entry ``musicvae-mel2bar-folk`` (weights committed).

``mido`` and ``music21`` are imported only when a file is read or written.
"""

from transformers import AutoModel

from ..hub.mechanism import Mechanism, Task
from . import zoo_music_vae  # noqa: F401  (registers the musicvae-mel2bar-folk zoo entry)
from .data import MelodyError
from .io import (
    DrumsOnlyError,
    EmptyMelodyError,
    MelodyInputError,
    MelodyTooShortError,
    MeterError,
    MidiFileError,
)
from .modeling_music_vae import MelodyVAEError, MusicVAEConfig, MusicVAEModel
from .pipeline_melody_vae import MelodyReconstruction, MelodyVAEPipeline

MECHANISM = Mechanism(
    package="melody",
    title="Melody VAE",
    paper="Roberts et al. 2018",
    tasks=(
        Task("melody-vae", MelodyVAEPipeline, AutoModel, "multimodal", default_model="musicvae-mel2bar-folk"),
    ),
    cli_commands=("melody-sample", "melody-interpolate", "melody-attribute", "melody-train"),
    space="melody",
    docs="melody.md",
    order=7,
    recipes={"melody-train": "hfmech.melody.train:main"},
)

__all__ = [
    "MECHANISM",
    "DrumsOnlyError",
    "EmptyMelodyError",
    "MelodyError",
    "MelodyInputError",
    "MelodyReconstruction",
    "MelodyTooShortError",
    "MelodyVAEError",
    "MelodyVAEPipeline",
    "MeterError",
    "MidiFileError",
    "MusicVAEConfig",
    "MusicVAEModel",
]
