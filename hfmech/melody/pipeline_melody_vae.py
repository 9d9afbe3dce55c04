"""``MelodyVAEPipeline`` — task ``"melody-vae"``: MusicVAE's latent arithmetic on 2-bar melodies (Roberts et al. 2018).

A melody (MIDI path or bytes, ABC/MusicXML path, or an events array, :mod:`hfmech.melody.io`) is cut into
non-overlapping 2-bar windows ``(W, 32)``; each is encoded to ``μ`` ``(W, Z)``. Then::

    import hfmech
    from transformers import pipeline

    pipe = pipeline("melody-vae", model=hfmech.zoo.build("musicvae-mel2bar-folk"))
    out = pipe("tune.mid")                  # reconstruction: out.events (W·32,), out.windows, out.accuracy
    z = pipe.encode("tune.mid")             # (W, Z) float tensor, the posterior means
    ev = pipe.decode(z, temperature=0.5, seed=0)            # (W·32,) events
    samples = pipe.sample(4, temperature=0.5, seed=0)       # list of (32,) events, z ~ N(0, I)
    path = pipe.interpolate(a, b, steps=8)                  # list of (32,) events, first windows of a and b
    moved = pipe.attribute(a, "note_density", [-2, -1, 0, 1, 2])   # list of (32,) events
    v = pipe.attribute_vector("note_density")               # (Z,) stored with the model

Interpolation uses :func:`hfmech.latent.interpolation_path` (slerp by default, as the paper); attribute vectors are
``mean μ(top quartile) − mean μ(bottom quartile)`` of each attribute over the training windows (paper §5.3), stored
in the model's ``attribute_vectors`` buffer. Decoding samples ``softmax(logits / temperature)`` step by step
(``temperature`` a finite number in ``(0, 100]``; ``greedy=True`` takes the arg-max); ``seed`` (``check_seed``)
makes it repeatable. Errors are :class:`~hfmech.errors.HfmechError` subclasses: :class:`MelodyInputError` and its
kinds for bad files, :class:`MelodyVAEError` for bad ``z``, temperatures, steps and strengths.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..errors import check_finite_number, check_int, check_seed
from ..hub.pipelines import ModelOnlyPipeline, PipelineOutput
from ..latent import interpolation_path
from .data import WINDOW_STEPS, classes_to_events, events_to_classes
from .io import read_melody
from .modeling_music_vae import MelodyVAEError, MusicVAEModel, check_temperature

MAX_WINDOWS = 128
MAX_SAMPLES = 64
MAX_INTERPOLATION_STEPS = 64
MAX_STRENGTHS = 32
MAX_STRENGTH = 10.0


@dataclass
class MelodyReconstruction(PipelineOutput):
    """``events (W·32,)`` the decoded melody, ``input_events (W·32,)`` the windows that were encoded, ``windows`` W,
    ``accuracy`` the fraction of steps reproduced exactly, ``z (W, Z)``."""

    events: np.ndarray | None = None
    input_events: np.ndarray | None = None
    windows: int | None = None
    accuracy: float | None = None
    z: torch.Tensor | None = None


def melody_windows(events: np.ndarray, max_windows: int = MAX_WINDOWS) -> np.ndarray:
    """Events ``(T,)`` → non-overlapping class windows ``(W, 32)`` (a trailing part-window is dropped)."""
    n = min(len(events) // WINDOW_STEPS, max_windows)
    return events_to_classes(np.asarray(events[: n * WINDOW_STEPS]).reshape(n, WINDOW_STEPS))


class MelodyVAEPipeline(ModelOnlyPipeline):
    """Reconstruction, sampling, interpolation and attribute arithmetic over a :class:`MusicVAEModel`."""

    def __init__(self, model=None, *args, **kwargs):
        if not isinstance(model, MusicVAEModel):
            raise TypeError(f"melody-vae needs an hfmech MusicVAEModel, got {type(model).__name__}")
        super().__init__(model, *args, **kwargs)
        self.model.eval()

    # ------------------------------------------------------------------------------------------ settings
    def _defaults(self) -> dict:
        return dict(self.model.config.melody_vae or {})

    def _temperature(self, temperature) -> float:
        return check_temperature(
            self._defaults().get("temperature", 0.5) if temperature is None else temperature
        )

    @staticmethod
    def _generator(seed) -> torch.Generator:
        seed = check_seed(seed)
        g = torch.Generator()
        g.manual_seed(seed if seed is not None else int(torch.randint(0, 2**62, (1,))))
        return g

    def _sanitize_parameters(self, temperature=None, seed=None, greedy=None, **unused):
        if unused:
            raise MelodyVAEError(f"unknown argument(s) {', '.join(sorted(unused))} for melody-vae")
        forward = {
            "temperature": self._temperature(temperature),
            "seed": check_seed(seed),
            "greedy": bool(greedy),
        }
        return {}, forward, {}

    # ------------------------------------------------------------------------------------------ pipeline call
    def preprocess(self, inputs):
        events = read_melody(inputs)
        return {"classes": melody_windows(events)}

    def _forward(self, model_inputs, temperature, seed, greedy):
        classes = torch.from_numpy(model_inputs["classes"])
        mu, _ = self.model.encode(classes)
        rec = self.model.decode(mu, temperature, greedy=greedy, generator=self._generator(seed))
        return {"classes": classes, "reconstruction": rec.cpu(), "z": mu.detach().cpu()}

    def postprocess(self, model_outputs):
        x, rec = model_outputs["classes"], model_outputs["reconstruction"]
        return MelodyReconstruction(
            events=classes_to_events(rec.numpy()).reshape(-1),
            input_events=classes_to_events(x.numpy()).reshape(-1),
            windows=int(x.shape[0]),
            accuracy=float((rec == x).float().mean()),
            z=model_outputs["z"],
        )

    # ------------------------------------------------------------------------------------------ latent API
    @torch.no_grad()
    def encode(self, melody) -> torch.Tensor:
        """Posterior means ``(W, Z)`` of the melody's 2-bar windows."""
        classes = torch.from_numpy(melody_windows(read_melody(melody)))
        return self.model.encode(classes)[0].float().cpu()

    @torch.no_grad()
    def decode(self, z, temperature=None, seed=None, greedy: bool = False) -> np.ndarray:
        """Latents ``(W, Z)`` (or ``(Z,)``) → events ``(W·32,)``."""
        z = self.model.check_z(z)
        if z.shape[0] > MAX_WINDOWS:
            raise MelodyVAEError(f"at most {MAX_WINDOWS} latents are decoded at once, got {z.shape[0]}")
        rec = self.model.decode(
            z, self._temperature(temperature), greedy=greedy, generator=self._generator(seed)
        )
        return classes_to_events(rec.cpu().numpy()).reshape(-1)

    @torch.no_grad()
    def sample(self, n: int = 1, temperature=None, seed=None) -> list[np.ndarray]:
        """``n`` melodies of 2 bars from ``z ~ N(0, I)`` (the prior), each ``(32,)`` events."""
        n = check_int(n, "n", 1, MAX_SAMPLES, error=MelodyVAEError)
        g = self._generator(seed)
        z = torch.randn(n, self.model.config.z_size, generator=g)
        rec = self.model.decode(z, self._temperature(temperature), generator=g)
        return list(classes_to_events(rec.cpu().numpy()))

    def _first_z(self, melody) -> torch.Tensor:
        if torch.is_tensor(melody) and melody.is_floating_point():
            return self.model.check_z(melody)[0].float().cpu()
        return self.encode(melody)[0]

    @torch.no_grad()
    def interpolate(
        self,
        a,
        b,
        steps: int | None = None,
        method: str | None = None,
        temperature=None,
        seed=None,
        greedy=False,
    ) -> list[np.ndarray]:
        """``steps`` 2-bar melodies along the latent path from ``a``'s first window to ``b``'s (ends included).

        ``a`` and ``b`` are melodies or latents ``(Z,)``; ``method`` ``"slerp"`` (default) or ``"lerp"``. Every
        point is decoded with the same seed, so the path changes only where the latent does.
        """
        defaults = self._defaults()
        steps = check_int(
            steps if steps is not None else defaults.get("steps", 8),
            "steps",
            2,
            MAX_INTERPOLATION_STEPS,
            error=MelodyVAEError,
        )
        method = method or defaults.get("interpolation", "slerp")
        if method not in ("slerp", "lerp"):
            raise MelodyVAEError(f"method must be 'slerp' or 'lerp', got {method!r}")
        path = interpolation_path(self._first_z(a), self._first_z(b), steps, method=method)
        temperature = self._temperature(temperature)
        seed = check_seed(seed)
        seed = seed if seed is not None else int(torch.randint(0, 2**62, (1,)))
        out = []
        for z in path:
            rec = self.model.decode(z[None], temperature, greedy=greedy, generator=self._generator(seed))
            out.append(classes_to_events(rec[0].cpu().numpy()))
        return out

    def attribute_vector(self, name: str) -> torch.Tensor:
        """The stored attribute vector ``(Z,)`` (``note_density``, ``average_interval``, ``syncopation_16th``,
        ``syncopation_8th``, ``c_diatonic``)."""
        return self.model.attribute_vector(name).float().cpu()

    @torch.no_grad()
    def attribute(
        self, melody, vector, strengths=(-2, -1, 0, 1, 2), temperature=None, seed=None, greedy=False
    ) -> list[np.ndarray]:
        """Decode ``z + s·v`` for each strength ``s``: ``melody``'s first window moved along attribute ``vector``
        (a name or a ``(Z,)`` tensor). Returns one ``(32,)`` events array per strength, all with the same seed."""
        v = (
            self.attribute_vector(vector)
            if isinstance(vector, str)
            else self.model.check_z(vector)[0].float().cpu()
        )
        if isinstance(strengths, int | float):
            strengths = [strengths]
        strengths = list(strengths)
        if not 1 <= len(strengths) <= MAX_STRENGTHS:
            raise MelodyVAEError(f"give 1..{MAX_STRENGTHS} strengths, got {len(strengths)}")
        values = []
        for s in strengths:
            s = check_finite_number(s, "strength", error=MelodyVAEError)
            if abs(s) > MAX_STRENGTH:
                raise MelodyVAEError(f"strengths must lie in [-{MAX_STRENGTH:g}, {MAX_STRENGTH:g}], got {s}")
            values.append(s)
        z0 = self._first_z(melody)
        temperature = self._temperature(temperature)
        seed = check_seed(seed)
        seed = seed if seed is not None else int(torch.randint(0, 2**62, (1,)))
        out = []
        for s in values:
            rec = self.model.decode(
                (z0 + s * v)[None], temperature, greedy=greedy, generator=self._generator(seed)
            )
            out.append(classes_to_events(rec[0].cpu().numpy()))
        return out
