"""``AudioStyleTransferPipeline`` — task ``"audio-style-transfer"``: Gatys-style transfer on spectrograms with one
random convolution.

Ulyanov & Lebedev (2016), "Audio texture synthesis and style transfer"
(https://dmitryulyanov.github.io/audio-texture-synthesis-and-style-transfer/, code DmitryUlyanov/neural-style-audio-tf),
step for step:

1. **Spectrograms.** Content and style audio, mono at 22 050 Hz (:func:`hfmech.style.audio.load_audio`), become
   ``S = log1p(|STFT|)`` with ``n_fft = 2048``, hop 512: shape ``(1, n_freq = 1025, T)``. Frequency bins are the
   channels, time is the one spatial axis.
2. **Features.** One random, untrained ``Conv1d(1025 -> 4096, width 11, VALID, no bias)`` + ReLU
   (:class:`~hfmech.style.modeling_random_audio_conv.RandomAudioConvModel`): ``A = relu(conv(S))``, ``(4096, T - 10)``.
3. **Losses.** Style: the Gram matrix ``G = A Aᵀ / T`` (``T`` the number of input frames, the notebook's
   ``N_SAMPLES``) against the style's, ``L_style = Σ (G − G_style)²`` (the notebook's ``2 * tf.nn.l2_loss``); content:
   ``L_content = α Σ (A − A_content)²`` with ``α = content_weight = 1e-2``. Total ``L = L_content + style_weight·L_style``.
4. **Optimisation.** The spectrogram ``X`` (content's shape), initialised to ``N(0, 1e-3²)`` noise, is optimised by
   L-BFGS (``torch.optim.LBFGS``, strong-Wolfe line search, history 10: the notebook runs scipy's L-BFGS-B,
   ``maxiter = 300``, whose default memory is 10). ``steps`` is L-BFGS's iteration limit; at most ``2·steps``
   loss evaluations; no tolerance-based early stop (torch's defaults stop after the first, tiny step from the
   near-zero start: measured here, 1 iteration instead of 20 and a final loss 150× higher).
5. **Waveform.** ``|S| = expm1(X)`` (clamped at 0) is inverted by Griffin-Lim, 500 iterations from random phases
   (:func:`hfmech.style.audio.griffin_lim`), to the content's length. If the result would clip, it is scaled to a
   0.99 peak (a documented fallback; the original writes it unscaled).

Differences from the notebook, all documented: the style Gram is normalised by the style's own frame count (the
notebook truncates the style to the content's length and divides both by the content's), so a style of any length
(up to ``max_seconds``) works; the notebook's fixed 430-frame crop is ``max_seconds = 10`` (error or truncation).

Cost: the 4096-filter layer has 46 M weights; one loss evaluation (forward + backward) on 10 s of audio is ≈1.2 s on
2 CPU cores, so the paper's 300 steps take minutes. ``n_filters`` trades fidelity for speed (1024 filters are ≈7×
faster); ``steps`` and ``max_seconds`` bound the rest. Defaults come from ``model.config.audio_style_transfer``.

Example::

    import hfmech
    from transformers import pipeline
    pipe = pipeline("audio-style-transfer", model=hfmech.zoo.build("random-audio-conv"))
    out = pipe("content.wav", style="style.mp3", steps=100, seed=0)
    out["audio"], out["sampling_rate"], out["loss_history"]
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from ..errors import HfmechError, NonFiniteError, check_seed
from ..hub.pipelines import ConfigSettings, ModelOnlyPipeline, PipelineOutput, check_callback
from .audio import AudioInputError, griffin_lim, load_audio, log_spectrogram, magnitude_from_log

OUTPUT_PEAK = 0.99
INITS = ("noise", "content")


class AudioStyleParameterError(HfmechError, ValueError):
    """An audio style transfer parameter is missing, out of range or of the wrong type."""


#: Bounds (docs/limits.md): L-BFGS iterations (evaluations: twice as many), Griffin-Lim rounds, input length,
#: filters of the random kernel drawn on demand, and that kernel's size (it is drawn in float64 first).
MAX_STEPS = 5000
MAX_GRIFFIN_LIM_ITERS = 5000
MAX_SECONDS = 600.0
MAX_FILTERS = 8192
MAX_KERNEL_PARAMETERS = 100_000_000


@dataclass
class AudioStyleSettings(ConfigSettings):
    """Every knob of one transfer; defaults are the Ulyanov & Lebedev notebook's."""

    steps: int = 300
    content_weight: float = 1e-2
    style_weight: float = 1.0
    griffin_lim_iters: int = 500
    griffin_lim_momentum: float = 0.0
    max_seconds: float = 10.0
    on_too_long: str = "error"
    n_filters: int | None = None
    init: str = "noise"

    config_key = "audio_style_transfer"

    def validate(self) -> None:
        def check(ok: bool, message: str):
            if not ok:
                raise AudioStyleParameterError(message)

        def number(v) -> bool:
            return isinstance(v, int | float) and not isinstance(v, bool) and np.isfinite(v)

        check(
            isinstance(self.steps, int) and not isinstance(self.steps, bool) and 0 <= self.steps <= MAX_STEPS,
            f"steps must be in 0..{MAX_STEPS}, got {self.steps!r}",
        )
        check(
            number(self.content_weight) and self.content_weight >= 0,
            f"content_weight must be a number >= 0, got {self.content_weight!r}",
        )
        check(
            number(self.style_weight) and self.style_weight >= 0,
            f"style_weight must be a number >= 0, got {self.style_weight!r}",
        )
        check(
            isinstance(self.griffin_lim_iters, int)
            and not isinstance(self.griffin_lim_iters, bool)
            and 0 <= self.griffin_lim_iters <= MAX_GRIFFIN_LIM_ITERS,
            f"griffin_lim_iters must be in 0..{MAX_GRIFFIN_LIM_ITERS}, got {self.griffin_lim_iters!r}",
        )
        check(
            number(self.griffin_lim_momentum) and 0 <= self.griffin_lim_momentum < 1,
            f"griffin_lim_momentum must be in [0, 1), got {self.griffin_lim_momentum!r}",
        )
        check(
            number(self.max_seconds) and 0 < self.max_seconds <= MAX_SECONDS,
            f"max_seconds must be in (0, {MAX_SECONDS:g}], got {self.max_seconds!r}",
        )
        check(
            self.on_too_long in ("error", "truncate"),
            f"on_too_long must be 'error' or 'truncate', got {self.on_too_long!r}",
        )
        check(
            self.n_filters is None
            or (
                isinstance(self.n_filters, int)
                and not isinstance(self.n_filters, bool)
                and 1 <= self.n_filters <= MAX_FILTERS
            ),
            f"n_filters must be in 1..{MAX_FILTERS}, got {self.n_filters!r}",
        )
        check(self.init in INITS, f"init must be one of {', '.join(INITS)}, got {self.init!r}")


# ------------------------------------------------------------------------------------------------------ the losses
def gram_matrix(activations: torch.Tensor, n_frames: int) -> torch.Tensor:
    """``A Aᵀ / n_frames`` for activations ``(1, F, T')`` -> ``(F, F)`` (the notebook's ``/ N_SAMPLES``).

    Written here, not shared with the image transfer: the audio normalisation (by input frames) is the notebook's.
    """
    a = activations.reshape(activations.shape[-2], activations.shape[-1])
    return (a @ a.T) / n_frames


def style_loss(activations: torch.Tensor, n_frames: int, style_gram: torch.Tensor) -> torch.Tensor:
    """``Σ (G − G_style)²`` — the notebook's ``2 * tf.nn.l2_loss(gram - style_gram)``."""
    return (gram_matrix(activations, n_frames) - style_gram).pow(2).sum()


def content_loss(activations: torch.Tensor, content_activations: torch.Tensor) -> torch.Tensor:
    """``Σ (A − A_content)²`` (weighted by ``content_weight`` = the notebook's ``ALPHA * 2 * tf.nn.l2_loss``)."""
    return (activations - content_activations).pow(2).sum()


class _Interrupted(Exception):
    """Raised inside the L-BFGS closure when ``callback_on_step_end`` asks to stop."""


@dataclass
class AudioStyleTransferOutput(PipelineOutput):
    """What an audio transfer returns (also readable as a dict: ``out["audio"]``).

    Args:
        audio: float32 ``(n,)`` waveform, the content's length; ``sampling_rate``: the model's (22 050 Hz).
        loss_history: the total loss at every L-BFGS evaluation (the first is at the initial spectrogram).
        style_loss / content_loss: the final unweighted terms (as ``style_loss`` and ``content_loss`` of image
            style transfer); style_loss_start / content_loss_start: the same at the first evaluation.
        spectrogram / content_spectrogram / style_spectrogram: numpy ``(n_freq, T)`` log1p spectrograms, with
            ``return_spectrograms=True``.
        interrupted: ``True`` when ``callback_on_step_end`` stopped the optimisation early.
    """

    audio: Any = None
    sampling_rate: int | None = None
    loss_history: list | None = None
    style_loss: float | None = None
    content_loss: float | None = None
    style_loss_start: float | None = None
    content_loss_start: float | None = None
    spectrogram: Any = None
    content_spectrogram: Any = None
    style_spectrogram: Any = None
    interrupted: bool | None = None


# ------------------------------------------------------------------------------------------------------ the pipeline
class AudioStyleTransferPipeline(ModelOnlyPipeline):
    """Audio style transfer by Ulyanov & Lebedev (2016) over a :class:`RandomAudioConvModel`.

    Call with the content audio and ``style=`` audio — each a path (WAV/FLAC/MP3/OGG), bytes, an
    ``(array, sampling_rate)`` tuple or ``{"array", "sampling_rate"}`` dict. Returns an
    :class:`AudioStyleTransferOutput`. ``callback_on_step_end(pipeline, step, total, state)`` is called after every
    L-BFGS evaluation (``total`` = the evaluation budget, ``2 × steps``) with ``state = {"spectrogram": (1, n_freq,
    T) log1p, "loss": float}``.
    """

    settings_class = AudioStyleSettings

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.model.eval()
        self.model.requires_grad_(False)

    # transformers' Pipeline runs _forward under no_grad; the spectrogram is optimised by gradients.
    def get_inference_context(self):
        return torch.enable_grad

    def _sanitize_parameters(
        self,
        style=None,
        seed=None,
        progress=None,
        return_spectrograms=None,
        callback_on_step_end=None,
        **overrides,
    ):
        """Every other keyword is an :class:`AudioStyleSettings` field (``steps=``, ``n_filters=``, …)."""
        # resolved and validated once per call, before any audio is read; every stage gets the same object
        settings = self.call_settings(overrides)
        seed = check_seed(seed)
        self.check_kernel_size(overrides.get("n_filters"))
        preprocess = {"settings": settings}
        if style is not None:
            preprocess["style"] = style
        forward = {
            "settings": settings,
            "seed": seed,
            "progress": progress,
            "callback_on_step_end": check_callback(callback_on_step_end),
        }
        postprocess = {"settings": settings}
        if return_spectrograms is not None:
            postprocess["return_spectrograms"] = bool(return_spectrograms)
        return preprocess, forward, postprocess

    def check_kernel_size(self, n_filters: int | None) -> None:
        """Refuse an ``n_filters`` whose kernel (``n_filters x n_freq x kernel_width``) exceeds the bound."""
        c = self.model.config
        n = c.n_filters if n_filters is None else n_filters
        params = n * c.n_freq * c.kernel_width
        if n_filters is not None and params > MAX_KERNEL_PARAMETERS:
            raise AudioStyleParameterError(
                f"n_filters={n} needs a random kernel of {params:,} parameters with this model (n_fft {c.n_fft}, "
                f"width {c.kernel_width}); at most {MAX_KERNEL_PARAMETERS:,} are drawn on demand"
            )

    # ------------------------------------------------------------------------------------------------------------
    def preprocess(self, content, style=None, settings: AudioStyleSettings | None = None):
        if style is None:
            raise AudioStyleParameterError("pass the style audio: pipe(content, style=...)")
        s = settings or self.settings
        c = self.model.config
        common = dict(max_seconds=s.max_seconds, min_samples=c.min_samples, on_too_long=s.on_too_long)
        content_audio = load_audio(content, c.sampling_rate, **common)
        style_audio = load_audio(style, c.sampling_rate, **common)
        return {
            "content": log_spectrogram(content_audio.array, c.n_fft, c.hop_length),
            "style": log_spectrogram(style_audio.array, c.n_fft, c.hop_length),
            "length": len(content_audio.array),
        }

    def _forward(self, model_inputs, settings=None, seed=None, progress=None, callback_on_step_end=None):
        s = settings or self.settings
        self.interrupt = False
        generator = torch.Generator().manual_seed(
            int(seed) if seed is not None else int(torch.seed() % 2**63)
        )
        content = model_inputs["content"].to(self.device)
        style = model_inputs["style"].to(self.device)
        n_frames, n_style_frames = content.shape[-1], style.shape[-1]
        with torch.no_grad():
            content_features = self.model(content, n_filters=s.n_filters)
            style_gram = gram_matrix(self.model(style, n_filters=s.n_filters), n_style_frames)

        if s.init == "noise":  # the notebook: np.random.randn(...) * 1e-3
            start = torch.randn(content.shape, generator=generator).to(self.device) * 1e-3
        else:
            start = content.clone(memory_format=torch.contiguous_format)  # L-BFGS views its grad flat
        spectrogram = start.requires_grad_(True)

        def losses(x):
            features = self.model(x, n_filters=s.n_filters)
            return style_loss(features, n_frames, style_gram), content_loss(features, content_features)

        history: list[float] = []
        parts: list[tuple[float, float]] = []
        bar = tqdm(total=2 * s.steps, desc="audio style", disable=progress is False or s.steps == 0)

        def closure():
            optimizer.zero_grad()
            l_style, l_content = losses(spectrogram)
            loss = s.style_weight * l_style + s.content_weight * l_content
            value = loss.item()
            if not math.isfinite(value):
                bar.close()
                raise NonFiniteError(
                    f"audio style transfer: the loss became {value} at evaluation {len(history) + 1}; stopped"
                )
            loss.backward()
            history.append(value)
            parts.append((l_style.item(), l_content.item()))
            bar.update(1)
            state = {"spectrogram": spectrogram.detach(), "loss": value}
            if self.step_end(callback_on_step_end, len(history), 2 * s.steps, state):
                raise _Interrupted
            return loss

        optimizer = torch.optim.LBFGS(
            [spectrogram],
            lr=1.0,
            max_iter=s.steps,
            max_eval=2 * s.steps,
            # stop on the iteration/evaluation limits only: from the near-zero start torch's first step is tiny
            # (1/|g|_1), and its default tolerances (1e-7 / 1e-9) end the run after that one step
            tolerance_grad=0.0,
            tolerance_change=0.0,
            history_size=10,
            line_search_fn="strong_wolfe",
        )
        interrupted = False
        if s.steps > 0:
            try:
                optimizer.step(closure)
            except _Interrupted:
                interrupted = True
        bar.close()
        with torch.no_grad():
            end_style, end_content = (float(v) for v in losses(spectrogram))
            if not parts:
                parts.append((end_style, end_content))
        return {
            "spectrogram": spectrogram.detach().cpu(),
            "content": model_inputs["content"],
            "style": model_inputs["style"],
            "length": model_inputs["length"],
            "loss_history": history,
            "style_loss": end_style,
            "content_loss": end_content,
            "style_loss_start": parts[0][0],
            "content_loss_start": parts[0][1],
            "generator": generator,
            "interrupted": interrupted,
        }

    def postprocess(self, model_outputs, settings=None, return_spectrograms: bool = False):
        s = settings or self.settings
        c = self.model.config
        magnitude = magnitude_from_log(model_outputs["spectrogram"][0])
        waveform = griffin_lim(
            magnitude,
            c.n_fft,
            c.hop_length,
            n_iter=s.griffin_lim_iters,
            length=int(model_outputs["length"]),
            momentum=s.griffin_lim_momentum,
            generator=model_outputs["generator"],
        ).numpy()
        peak = float(np.max(np.abs(waveform), initial=0.0))
        if peak > OUTPUT_PEAK:
            waveform = waveform * (OUTPUT_PEAK / peak)
        out = AudioStyleTransferOutput(
            audio=waveform.astype(np.float32),
            sampling_rate=int(c.sampling_rate),
            loss_history=model_outputs["loss_history"],
            style_loss=model_outputs["style_loss"],
            content_loss=model_outputs["content_loss"],
            style_loss_start=model_outputs["style_loss_start"],
            content_loss_start=model_outputs["content_loss_start"],
            interrupted=model_outputs["interrupted"],
        )
        if return_spectrograms:
            out["spectrogram"] = model_outputs["spectrogram"][0].numpy()
            out["content_spectrogram"] = model_outputs["content"][0].numpy()
            out["style_spectrogram"] = model_outputs["style"][0].numpy()
        return out


__all__ = [
    "AudioInputError",
    "AudioStyleParameterError",
    "AudioStyleSettings",
    "AudioStyleTransferPipeline",
    "content_loss",
    "gram_matrix",
    "style_loss",
]
