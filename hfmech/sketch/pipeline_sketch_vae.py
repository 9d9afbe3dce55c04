"""``pipeline("sketch-vae")``: sketch-rnn's latent space (Ha & Eck 2017, §4–5) — reconstruct, sample, interpolate,
analogies and attribute vectors on drawings.

``pipe(drawing)`` encodes a drawing to ``z = μ`` (no noise: the same drawing always has the same code) and decodes it
back (§4.2 "conditional reconstruction"). A drawing is any of:

- a stroke-3 array ``(N, 3)`` in the training data's units (Δx, Δy, pen lifted after the point);
- a Quick, Draw! drawing — a list of strokes ``[[x…], [y…](, [t…])]`` in absolute coordinates, or a dict with a
  ``"drawing"`` key, or a JSON string of either (what the Space's canvas sends): it is rescaled so its longer side is
  ``config.sketch_vae["canvas"]`` (the training drawings' median size) and RDP-simplified;
- a path to an ``.ndjson`` / ``.json`` / ``.npy`` file.

Drawings longer than ``config.max_seq_len`` are simplified further (RDP with a growing tolerance) and refused with
:class:`~hfmech.sketch.strokes.StrokeLengthError` if that is not enough. Each result is a :class:`SketchOutput`
(``strokes`` stroke-3 in data units, ``svg``, ``image`` PIL). Latent helpers use :mod:`hfmech.latent`:
:meth:`~SketchVAEPipeline.interpolate` (slerp by default, as the paper), :meth:`~SketchVAEPipeline.analogy`
(``c + (b − a)``), :meth:`~SketchVAEPipeline.attribute_vector` and :meth:`~SketchVAEPipeline.attribute`.
A decoder-only (``config.conditional = False``) model loads too; only :meth:`~SketchVAEPipeline.sample` applies.
"""

from __future__ import annotations

import contextlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ..errors import LimitError, ModelConfigError, check_seed
from ..hub.pipelines import ConfigSettings, ModelOnlyPipeline
from ..latent import analogy as latent_analogy
from ..latent import attribute_vector as latent_attribute_vector
from ..latent import interpolation_path
from . import render
from . import strokes as S
from .modeling_sketch_rnn import SketchInputError

MAX_SAMPLES = 256
MAX_STEPS = 100
MAX_STRENGTHS = 64


class SketchLimitError(SketchInputError, LimitError):
    """A count (samples, steps, strengths) beyond the pipeline's bound."""


@dataclass
class SketchSettings(ConfigSettings):
    """Decoding defaults, stored in ``config.sketch_vae``."""

    config_key = "sketch_vae"
    temperature: float = 0.1
    greedy: bool = False
    seed: int | None = 0
    max_len: int | None = None
    rdp_epsilon: float = 2.0
    canvas: float = 255.0

    def validate(self) -> None:
        t = self.temperature
        if isinstance(t, bool) or not isinstance(t, int | float) or not math.isfinite(t) or t <= 0:
            raise SketchInputError(f"temperature must be a finite number > 0, got {t!r}")
        if t > 100:
            raise SketchInputError(f"temperature must be at most 100, got {t!r}")
        self.seed = check_seed(self.seed)
        if not isinstance(self.greedy, bool):
            raise SketchInputError(f"greedy must be True or False, got {self.greedy!r}")
        if self.max_len is not None and (
            isinstance(self.max_len, bool)
            or not isinstance(self.max_len, int)
            or not 1 <= self.max_len <= 10_000
        ):
            raise SketchInputError(f"max_len must be an integer in 1..10000, got {self.max_len!r}")


@dataclass
class SketchOutput:
    """One drawing: ``strokes`` (stroke-3, data units), with ``svg`` and ``image`` renders made on demand."""

    strokes: np.ndarray
    z: torch.Tensor | None = None
    extra: dict = field(default_factory=dict)

    @property
    def svg(self) -> str:
        return render.to_svg(self.strokes)

    @property
    def image(self):
        return render.to_png(self.strokes)

    def __getitem__(self, key):  # dict-style access, as transformers pipelines return dicts
        return getattr(self, key)

    def __len__(self) -> int:
        return len(self.strokes)


def _as_drawing_input(inputs, **drawing_kwargs):
    """Anything a user may pass → ``("stroke3", array)`` or ``("drawing", list)``."""
    if isinstance(inputs, SketchOutput):
        return "stroke3", inputs.strokes
    if isinstance(inputs, Path) or (isinstance(inputs, str) and not inputs.lstrip().startswith(("[", "{"))):
        return "stroke3", S.load_drawing_file(inputs, **drawing_kwargs)
    if isinstance(inputs, str):
        try:
            inputs = json.loads(inputs)
        except json.JSONDecodeError as e:
            raise S.StrokeError(f"not a JSON drawing: {e}") from e
    if isinstance(inputs, dict):
        if "drawing" not in inputs:
            raise S.StrokeError("a dict input must have a 'drawing' (list of [[x…], [y…]] strokes)")
        return "drawing", inputs["drawing"]
    if isinstance(inputs, np.ndarray | torch.Tensor):
        return "stroke3", np.asarray(inputs)
    if isinstance(inputs, list | tuple):
        arr = None
        with contextlib.suppress(TypeError, ValueError):
            arr = np.asarray(inputs, dtype=np.float64)
        if arr is not None and arr.ndim == 2:
            return "stroke3", arr
        return "drawing", list(inputs)
    raise S.StrokeError(f"cannot read a drawing from {type(inputs).__name__}")


class SketchVAEPipeline(ModelOnlyPipeline):
    """Reconstruct a drawing through sketch-rnn's latent code; latent arithmetic helpers on the same model."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        cfg = self.model.config
        sf = getattr(cfg, "scale_factor", None)
        if sf is None or not isinstance(sf, int | float) or not math.isfinite(sf) or sf <= 0:
            raise ModelConfigError(
                "the model's config has no normalisation scale (config.scale_factor): a drawing cannot be scaled "
                "as the training data were; set it to the training set's offset std"
            )
        self.model.eval()
        self.settings = SketchSettings.from_config(cfg)

    # -------------------------------------------------------------------------------------- pipeline protocol
    def _sanitize_parameters(self, temperature=None, greedy=None, seed=None, max_len=None, **kwargs):
        if kwargs:
            raise SketchInputError(f"unknown argument(s): {sorted(kwargs)}")
        forward = {"temperature": temperature, "greedy": greedy, "seed": seed, "max_len": max_len}
        return {}, {k: v for k, v in forward.items() if v is not None}, {}

    def __call__(self, inputs, **kwargs):
        """Reconstruct one drawing (see the module docstring for accepted inputs) → :class:`SketchOutput`."""
        return super().__call__({"strokes": self.prepare(inputs)}, **kwargs)

    def preprocess(self, inputs):
        return inputs

    def _forward(self, model_inputs, **settings):
        s = self.settings.updated(**settings)
        z = self._encode_normalised([model_inputs["strokes"]])
        out = self._decode(z, s)[0]
        out.extra["input"] = model_inputs["strokes"] * self.scale_factor
        return out

    def postprocess(self, model_outputs):
        return model_outputs

    # -------------------------------------------------------------------------------------- inputs
    @property
    def scale_factor(self) -> float:
        return float(self.model.config.scale_factor)

    def prepare(self, drawing) -> np.ndarray:
        """A drawing → normalised stroke-3 ``(N, 3)`` (divided by ``config.scale_factor``), at most ``max_seq_len``."""
        s = self.settings
        eps = s.rdp_epsilon * s.canvas / 255.0
        kind, value = _as_drawing_input(drawing, epsilon=eps, canvas=s.canvas)
        if kind == "drawing":
            s3 = S.drawing_to_stroke3(value, epsilon=eps, canvas=s.canvas)
        else:
            s3 = S.as_stroke3(value)
        s3 = self._fit_length(s3, eps)
        return S.normalize(s3, self.scale_factor)

    def _fit_length(self, s3: np.ndarray, eps: float) -> np.ndarray:
        limit = self.model.config.max_seq_len
        tries = 0
        while len(s3) > limit and tries < 8:
            eps = max(eps, 1e-3) * (1 if tries == 0 else 2)
            s3 = S.lines_to_stroke3([S.rdp(ln, eps) for ln in S.stroke3_to_lines(s3)], start=(0.0, 0.0))
            tries += 1
        if len(s3) > limit:
            raise S.StrokeLengthError(
                f"the drawing has {len(s3)} points after simplification; this model reads at most {limit}"
            )
        return s3

    # -------------------------------------------------------------------------------------- latent API
    @torch.no_grad()
    def _encode_normalised(self, drawings: list[np.ndarray]) -> torch.Tensor:
        if not self.model.config.conditional:
            raise SketchInputError(
                "this sketch-rnn is decoder-only (unconditional): it has no encoder, only .sample() works"
            )
        x, lengths = S.make_batch(drawings, max(len(d) for d in drawings))
        mu, _ = self.model.encode(torch.from_numpy(x).to(self.model.dtype), torch.from_numpy(lengths))
        return mu.float()

    def encode(self, drawing) -> torch.Tensor:
        """``z = μ(drawing)``, shape ``(N_z,)`` (float32)."""
        return self._encode_normalised([self.prepare(drawing)])[0]

    def encode_many(self, drawings, batch_size: int = 100) -> torch.Tensor:
        """``(B, N_z)`` codes of many drawings."""
        prepared = [self.prepare(d) for d in drawings]
        if not prepared:
            raise S.StrokeError("no drawings to encode")
        return torch.cat(
            [
                self._encode_normalised(prepared[i : i + batch_size])
                for i in range(0, len(prepared), batch_size)
            ]
        )

    def _z(self, value) -> torch.Tensor:
        if torch.is_tensor(value) or (isinstance(value, np.ndarray) and value.ndim == 1):
            z = self.model.check_z(value)[0].float()
            return z
        return self.encode(value)

    def _decode(self, z: torch.Tensor, s: SketchSettings, shared_noise: bool = False) -> list[SketchOutput]:
        z = self.model.check_z(z)
        g = torch.Generator().manual_seed(s.seed) if s.seed is not None else None
        decoded = self.model.decode(
            z, s.temperature, greedy=s.greedy, max_len=s.max_len, generator=g, shared_noise=shared_noise
        )
        outs = []
        for zi, d in zip(z, decoded, strict=True):
            outs.append(SketchOutput(self._to_data_units(d), zi.float().clone()))
        return outs

    def decode(self, z, shared_noise: bool = False, **settings) -> SketchOutput | list[SketchOutput]:
        """Decode ``z`` ``(N_z,)`` → one :class:`SketchOutput`, ``(B, N_z)`` → a list (temperature, greedy, seed,
        max_len as keyword arguments; defaults from ``config.sketch_vae``). ``shared_noise``: every row decoded
        with the same random numbers (for a path through the latent space; see ``SketchRNNModel.decode``)."""
        s = self.settings.updated(**settings)
        zt = self.model.check_z(z)
        outs = self._decode(zt, s, shared_noise=bool(shared_noise))
        return outs[0] if torch.as_tensor(z).ndim == 1 else outs

    def sample(self, n: int = 1, **settings) -> list[SketchOutput]:
        """``n`` drawings decoded from ``z ~ N(0, I)`` (the prior), seeded by ``seed``."""
        if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_SAMPLES:
            raise SketchLimitError(f"n must be an integer in 1..{MAX_SAMPLES}, got {n!r}")
        s = self.settings.updated(**settings)
        g = torch.Generator().manual_seed(s.seed) if s.seed is not None else None
        if not self.model.config.conditional:  # magenta's decoder-only model: no z at all
            decoded = self.model.decode(
                None, s.temperature, greedy=s.greedy, max_len=s.max_len, batch=n, generator=g
            )
            return [SketchOutput(self._to_data_units(d)) for d in decoded]
        z = torch.randn(n, self.model.config.z_size, generator=g)
        return self._decode(z, s)

    def _to_data_units(self, d: np.ndarray) -> np.ndarray:
        d = d.copy()
        d[:, :2] *= self.scale_factor
        return d

    def interpolate(self, a, b, steps: int = 10, method: str = "slerp", **settings) -> list[SketchOutput]:
        """Decodes along the path from ``a`` to ``b`` (drawings or ``z`` vectors), ``steps`` points inclusive.
        Every step is decoded with the same random numbers (``shared_noise``), so the drawings change along the
        path only because ``z`` does."""
        if isinstance(steps, bool) or not isinstance(steps, int) or not 2 <= steps <= MAX_STEPS:
            raise SketchLimitError(f"steps must be an integer in 2..{MAX_STEPS}, got {steps!r}")
        s = self.settings.updated(**settings)
        path = interpolation_path(self._z(a), self._z(b), steps, method=method)
        return self._decode(path, s, shared_noise=True)

    def analogy(self, a, b, c, **settings) -> SketchOutput:
        """``decode(z_c + (z_b − z_a))``: what ``c`` becomes under the change that turns ``a`` into ``b``."""
        s = self.settings.updated(**settings)
        z = latent_analogy(self._z(a), self._z(b), self._z(c))
        return self._decode(z[None], s)[0]

    def attribute_vector(self, with_attribute, without_attribute) -> torch.Tensor:
        """Mean code of drawings with an attribute minus the mean of those without: ``(N_z,)``."""
        return latent_attribute_vector(self.encode_many(with_attribute), self.encode_many(without_attribute))

    def attribute(self, drawing, vector, strengths=(-2, -1, 0, 1, 2), **settings) -> list[SketchOutput]:
        """Decode ``z + α·vector`` for each ``α`` in ``strengths``, all with the same random numbers
        (``shared_noise``), so the drawings differ only because ``α`` does."""
        strengths = list(strengths)
        if not 1 <= len(strengths) <= MAX_STRENGTHS:
            raise SketchLimitError(f"give 1..{MAX_STRENGTHS} strengths, got {len(strengths)}")
        for a in strengths:
            if isinstance(a, bool) or not isinstance(a, int | float) or not math.isfinite(a):
                raise SketchInputError(f"strengths must be finite numbers, got {a!r}")
        s = self.settings.updated(**settings)
        z = self._z(drawing)
        v = self.model.check_z(vector)[0].float()
        return self._decode(torch.stack([z + float(a) * v for a in strengths]), s, shared_noise=True)


__all__ = ["SketchLimitError", "SketchOutput", "SketchSettings", "SketchVAEPipeline"]
