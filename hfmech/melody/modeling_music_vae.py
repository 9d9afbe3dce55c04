"""MusicVAE's 2-bar melody model (Roberts, Engel, Raffel, Hawthorne & Eck 2018, "A Hierarchical Latent Vector Model
for Learning Long-Term Structure in Music", ICML), as magenta's ``cat-mel_2bar_small`` config, in plain torch.

Shapes (B = batch, T = 32 steps, C = 90 classes, Z = ``z_size``):

- **Encoder** (``lstm_models.BidirectionalLstmEncoder``): one-hot ``x (B, T, C)`` → bi-LSTM (``enc_rnn_size``) →
  the last forward and backward hidden states concatenated ``(B, 2·H_enc)`` → ``μ = W_μ h`` and
  ``σ = softplus(W_σ h)``, both ``(B, Z)``; ``W_μ``, ``W_σ`` drawn from N(0, 0.001²) (magenta's initialiser).
- **Decoder** (``lstm_models.CategoricalLstmDecoder``): ``z (B, Z)`` → ``tanh(W z)`` split into the (c, h) initial
  states of a stacked LSTM (``dec_rnn_size``); the input at step t is ``[one-hot(y_{t−1}), z]`` ``(B, C + Z)`` with
  ``y_{−1} = 0``; logits ``(B, T, C)``.
- **Loss** (``base_model.MusicVAE._compute_model_loss``): ``r = Σ_t CE(logits_t, y_t)`` per sequence, ``kl =
  Σ_z KL(N(μ, σ²) ‖ N(0, 1))`` per sequence, ``loss = mean(r) + β·mean(max(kl − free_bits·ln 2, 0))`` with
  ``β = (1 − beta_rate^step)·max_beta``.
- **Scheduled sampling** (``BaseLstmDecoder._get_sampling_probability``, ``inverse_sigmoid``): with probability
  ``p = 1 − k / (k + exp(step / k))`` (``k = sampling_rate``) each example feeds back a sample of its own previous
  output instead of the ground truth.
- **Optimiser schedule** (``base_model``): Adam, ``lr = (lr₀ − lr_min)·decay_rate^step + lr_min``, gradients
  clipped to global norm ``grad_clip``.

Presets: :data:`PRESETS` ``"cat-mel_2bar_small"`` (magenta's) and ``"cat-mel_2bar_cpu"`` (hfmech's reduced one for
a CPU-only hour on 2 shared cores: enc 128, dec 2×128, z 64, batch 64; ``beta_rate`` 0.9999 and ``sampling_rate``
500 so β and scheduled sampling start to ramp within the few thousand steps such an hour allows; magenta's own
values ramp over ~300k and ~10k steps. A faster β ramp (0.999) collapsed the posterior to ~5 bits within 300 steps).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from transformers import AutoModel, PretrainedConfig, PreTrainedModel
from transformers import initialization as init
from transformers.modeling_outputs import ModelOutput

from hfmech.hub import register_model

from ..errors import HfmechError, LimitError
from .data import NUM_CLASSES, WINDOW_STEPS

#: The paper's five attributes (§5.3), in the order of ``config.attribute_names``.
ATTRIBUTES = ("note_density", "average_interval", "syncopation_16th", "syncopation_8th", "c_diatonic")

PRESETS: dict[str, dict] = {
    # magenta/models/music_vae/configs.py, CONFIG_MAP["cat-mel_2bar_small"] over lstm_models/base_model defaults
    "cat-mel_2bar_small": {
        "enc_rnn_size": [512],
        "dec_rnn_size": [256, 256],
        "z_size": 256,
        "batch_size": 512,
        "free_bits": 0.0,
        "max_beta": 0.2,
        "beta_rate": 0.99999,
        "sampling_schedule": "inverse_sigmoid",
        "sampling_rate": 1000.0,
        "learning_rate": 1e-3,
        "decay_rate": 0.9999,
        "min_learning_rate": 1e-5,
        "grad_clip": 1.0,
    },
    # hfmech's reduced preset: the same model family, sized for about an hour on 2 shared CPU cores
    "cat-mel_2bar_cpu": {
        "enc_rnn_size": [128],
        "dec_rnn_size": [128, 128],
        "z_size": 64,
        "batch_size": 64,
        "free_bits": 0.0,
        "max_beta": 0.2,
        "beta_rate": 0.9999,
        "sampling_schedule": "inverse_sigmoid",
        "sampling_rate": 500.0,
        "learning_rate": 1e-3,
        "decay_rate": 0.9999,
        "min_learning_rate": 1e-5,
        "grad_clip": 1.0,
    },
    # a few-second smoke-test size for the recipe's tests (same schedules as the CPU preset); not a model to ship
    "cat-mel_2bar_tiny": {
        "enc_rnn_size": [16],
        "dec_rnn_size": [16, 16],
        "z_size": 8,
        "batch_size": 8,
        "free_bits": 0.0,
        "max_beta": 0.2,
        "beta_rate": 0.9999,
        "sampling_schedule": "inverse_sigmoid",
        "sampling_rate": 500.0,
        "learning_rate": 1e-3,
        "decay_rate": 0.9999,
        "min_learning_rate": 1e-5,
        "grad_clip": 1.0,
    },
}

MAX_RNN_SIZE = 4096
MAX_Z_SIZE = 4096

DEFAULT_MELODY_VAE = {"temperature": 0.5, "interpolation": "slerp", "steps": 8}


class MelodyVAEError(HfmechError, ValueError):
    """A latent of the wrong size, a temperature that is not a positive finite number, a bad step count."""


class MusicVAEConfig(PretrainedConfig):
    """Configuration of :class:`MusicVAEModel` (names and defaults are magenta's ``cat-mel_2bar_small`` hparams).

    Args:
        num_classes: one-hot depth ``C`` (90 = MIDI 21..108 + note-off + no-event).
        max_seq_len: steps per window ``T`` (32 = 2 bars of 16 sixteenth-steps).
        enc_rnn_size: bi-LSTM layer sizes; dec_rnn_size: decoder LSTM layer sizes (all equal); z_size: ``Z``.
        free_bits, max_beta, beta_rate: the KL term (see the module docstring).
        sampling_schedule (``"constant"`` or ``"inverse_sigmoid"``), sampling_rate: scheduled sampling.
        learning_rate, decay_rate, min_learning_rate, grad_clip, batch_size: the training recipe's optimiser.
        preset: the name in :data:`PRESETS` these values came from (or ``"custom"``).
        attribute_names: names of the rows of the model's ``attribute_vectors`` buffer.
        melody_vae: pipeline defaults (``temperature``, ``interpolation``, ``steps``).
        training: free-form record of the data and run (counts, steps, wall time, held-out accuracy).
    """

    model_type = "hfmech-music-vae"

    num_classes: int = NUM_CLASSES
    max_seq_len: int = WINDOW_STEPS
    enc_rnn_size: list | None = None
    dec_rnn_size: list | None = None
    z_size: int = 256
    free_bits: float = 0.0
    max_beta: float = 0.2
    beta_rate: float = 0.99999
    sampling_schedule: str = "inverse_sigmoid"
    sampling_rate: float = 1000.0
    learning_rate: float = 1e-3
    decay_rate: float = 0.9999
    min_learning_rate: float = 1e-5
    grad_clip: float = 1.0
    batch_size: int = 512
    preset: str = "cat-mel_2bar_small"
    attribute_names: list | None = None
    melody_vae: dict | None = None
    training: dict | None = None

    def __post_init__(self, **kwargs):
        super().__post_init__(**kwargs)
        self.enc_rnn_size = [int(x) for x in (self.enc_rnn_size or [512])]
        self.dec_rnn_size = [int(x) for x in (self.dec_rnn_size or [256, 256])]
        for name, sizes, bound in (
            ("enc_rnn_size", self.enc_rnn_size, MAX_RNN_SIZE),
            ("dec_rnn_size", self.dec_rnn_size, MAX_RNN_SIZE),
        ):
            if not 1 <= len(sizes) <= 8 or any(not 1 <= s <= bound for s in sizes):
                raise LimitError(f"{name} must be 1..8 layers of 1..{bound} units, got {sizes}")
            if len(set(sizes)) != 1:
                raise LimitError(f"{name}: layers must all have the same size, got {sizes}")
        if not 1 <= int(self.z_size) <= MAX_Z_SIZE:
            raise LimitError(f"z_size must be in 1..{MAX_Z_SIZE}, got {self.z_size}")
        if self.sampling_schedule not in ("constant", "inverse_sigmoid"):
            raise ValueError(
                f"sampling_schedule must be 'constant' or 'inverse_sigmoid', got {self.sampling_schedule!r}"
            )
        self.attribute_names = list(self.attribute_names or ATTRIBUTES)
        defaults = dict(DEFAULT_MELODY_VAE)
        defaults.update(self.melody_vae or {})
        self.melody_vae = defaults

    @classmethod
    def from_preset(cls, name: str, **overrides) -> MusicVAEConfig:
        if name not in PRESETS:
            raise ValueError(f"unknown preset {name!r}; choose one of {sorted(PRESETS)}")
        values = dict(PRESETS[name])
        values.update(overrides)
        return cls(preset=name, **values)


@dataclass
class MusicVAEOutput(ModelOutput):
    """``loss`` (scalar), ``logits (B, T, C)``, ``mu``/``sigma``/``z (B, Z)``, ``r_loss``/``kl`` per sequence ``(B,)``,
    ``accuracy`` (teacher-forced per-step, scalar) and the ``beta``/``sampling_probability`` used."""

    loss: torch.Tensor | None = None
    logits: torch.Tensor | None = None
    mu: torch.Tensor | None = None
    sigma: torch.Tensor | None = None
    z: torch.Tensor | None = None
    r_loss: torch.Tensor | None = None
    kl: torch.Tensor | None = None
    accuracy: torch.Tensor | None = None
    beta: float | None = None
    sampling_probability: float | None = None


def beta_at(config: MusicVAEConfig, step: int) -> float:
    """``β = (1 − beta_rate^step)·max_beta`` (magenta's KL annealing)."""
    return float((1.0 - config.beta_rate**step) * config.max_beta)


def sampling_probability_at(config: MusicVAEConfig, step: int) -> float:
    """Probability of feeding back the model's own sample at training step ``step``."""
    if config.sampling_schedule == "constant":
        return float(config.sampling_rate) if config.sampling_rate <= 1 else 0.0
    k = float(config.sampling_rate)
    x = step / k
    if x > 700:  # exp overflow: the schedule has reached 1
        return 1.0
    return float(1.0 - k / (k + math.exp(x)))


def learning_rate_at(config: MusicVAEConfig, step: int) -> float:
    return float(
        (config.learning_rate - config.min_learning_rate) * config.decay_rate**step + config.min_learning_rate
    )


class MusicVAEModel(PreTrainedModel):
    """The ``cat-mel_2bar`` VAE. ``forward(classes)`` computes the training loss; :meth:`encode` / :meth:`decode` are
    the latent API the ``melody-vae`` pipeline uses. ``attribute_vectors (A, Z)`` is a persistent buffer (zeros until
    the training recipe fills it from the training data)."""

    config_class = MusicVAEConfig
    base_model_prefix = "music_vae"
    main_input_name = "classes"

    def __init__(self, config: MusicVAEConfig):
        super().__init__(config)
        c, z = config.num_classes, config.z_size
        h_enc, h_dec = config.enc_rnn_size[0], config.dec_rnn_size[0]
        self.encoder = nn.LSTM(
            c, h_enc, num_layers=len(config.enc_rnn_size), batch_first=True, bidirectional=True
        )
        self.mu = nn.Linear(2 * h_enc, z)
        self.sigma = nn.Linear(2 * h_enc, z)
        self.initial_state = nn.Linear(z, 2 * h_dec * len(config.dec_rnn_size))
        self.decoder = nn.LSTM(c + z, h_dec, num_layers=len(config.dec_rnn_size), batch_first=True)
        self.output_projection = nn.Linear(h_dec, c)
        self.register_buffer(
            "attribute_vectors", torch.zeros(len(config.attribute_names), z), persistent=True
        )
        self.post_init()

    @torch.no_grad()
    def _init_weights(self, module: nn.Module) -> None:
        if isinstance(module, nn.LSTM):
            for name, p in module.named_parameters():
                if name.startswith("weight"):
                    init.xavier_uniform_(p)  # TF's glorot-uniform LSTM kernel
                elif name.startswith("bias_ih"):
                    init.zeros_(p)
                    h = p.shape[0] // 4
                    init.constant_(p[h : 2 * h], 1.0)  # forget_bias=1.0 (LSTMBlockCell default)
                else:
                    init.zeros_(p)
        elif isinstance(module, nn.Linear):
            if module is self.mu or module is self.sigma:
                init.normal_(module.weight, mean=0.0, std=0.001)
            else:
                init.xavier_uniform_(module.weight)
            init.zeros_(module.bias)
        if module is self:
            init.zeros_(self.attribute_vectors)

    # ------------------------------------------------------------------------------------------------- checks
    def _check_classes(self, classes: torch.Tensor) -> torch.Tensor:
        if not torch.is_tensor(classes) or classes.dim() != 2:
            raise MelodyVAEError(
                f"classes must be a (B, T) integer tensor, got {getattr(classes, 'shape', classes)}"
            )
        if classes.shape[1] != self.config.max_seq_len:
            raise MelodyVAEError(f"windows must have {self.config.max_seq_len} steps, got {classes.shape[1]}")
        if classes.numel() and (classes.min() < 0 or classes.max() >= self.config.num_classes):
            raise MelodyVAEError(f"classes must lie in 0..{self.config.num_classes - 1}")
        return classes.long().to(self.device)

    def check_z(self, z) -> torch.Tensor:
        """``z`` as a float ``(B, Z)`` tensor on the model's device (a ``(Z,)`` vector becomes one row)."""
        z = torch.as_tensor(z, dtype=torch.float32)
        if z.dim() == 1:
            z = z[None]
        if z.dim() != 2 or z.shape[1] != self.config.z_size:
            raise MelodyVAEError(
                f"z must have {self.config.z_size} values per row, got shape {tuple(z.shape)}"
            )
        if not torch.isfinite(z).all():
            raise MelodyVAEError("z must be finite (no NaN or infinity)")
        return z.to(self.device, self.dtype)

    # ------------------------------------------------------------------------------------------------- encoder
    def encode(self, classes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Class windows ``(B, T)`` → ``(μ, σ)``, each ``(B, Z)``."""
        classes = self._check_classes(classes)
        x = F.one_hot(classes, self.config.num_classes).to(self.dtype)
        _, (h_n, _) = self.encoder(x)
        h = torch.cat([h_n[-2], h_n[-1]], dim=-1)  # last layer: forward final, backward final
        return self.mu(h), F.softplus(self.sigma(h))

    # ------------------------------------------------------------------------------------------------- decoder
    def _initial_state(self, z: torch.Tensor):
        layers, h = len(self.config.dec_rnn_size), self.config.dec_rnn_size[0]
        state = torch.tanh(self.initial_state(z)).view(z.shape[0], layers, 2, h)
        c0 = state[:, :, 0].transpose(0, 1).contiguous()
        h0 = state[:, :, 1].transpose(0, 1).contiguous()
        return h0, c0

    def decoder_logits(
        self,
        z: torch.Tensor,
        targets: torch.Tensor,
        sampling_probability: float = 0.0,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Teacher-forced logits ``(B, T, C)`` (scheduled sampling with ``sampling_probability`` per example and step)."""
        b, t = targets.shape
        c = self.config.num_classes
        target_1h = F.one_hot(targets, c).to(z.dtype)
        prev = torch.cat([torch.zeros_like(target_1h[:, :1]), target_1h[:, :-1]], dim=1)
        z_rep = z[:, None, :].expand(b, t, z.shape[1])
        state = self._initial_state(z)
        if sampling_probability <= 0.0:
            out, _ = self.decoder(torch.cat([prev, z_rep], dim=-1), state)
            return self.output_projection(out)
        logits = []
        inp = prev[:, 0]
        for step in range(t):
            if step > 0:
                with torch.no_grad():
                    sampled = torch.multinomial(F.softmax(logits[-1].float(), -1), 1, generator=generator)[
                        :, 0
                    ]
                    use = torch.rand(b, device=z.device, generator=generator) < sampling_probability
                inp = torch.where(use[:, None], F.one_hot(sampled, c).to(z.dtype), prev[:, step])
            out, state = self.decoder(torch.cat([inp, z], dim=-1)[:, None], state)
            logits.append(self.output_projection(out[:, 0]))
        return torch.stack(logits, dim=1)

    @torch.no_grad()
    def decode(
        self,
        z,
        temperature: float = 1.0,
        *,
        greedy: bool = False,
        generator: torch.Generator | None = None,
        num_steps: int | None = None,
    ) -> torch.Tensor:
        """Latents ``(B, Z)`` → class windows ``(B, T)`` by sampling ``softmax(logits / temperature)`` step by step
        (magenta's ``OneHotCategorical(logits / temperature).sample()``); ``greedy`` takes the arg-max."""
        z = self.check_z(z)
        temperature = check_temperature(temperature)
        b, c = z.shape[0], self.config.num_classes
        t = num_steps or self.config.max_seq_len
        state = self._initial_state(z)
        inp = torch.zeros(b, c, device=z.device, dtype=z.dtype)
        out_classes = []
        for _ in range(t):
            out, state = self.decoder(torch.cat([inp, z], dim=-1)[:, None], state)
            logits = self.output_projection(out[:, 0]).float()
            if greedy:
                cls = logits.argmax(-1)
            else:
                probs = F.softmax(logits / temperature, dim=-1)
                cls = torch.multinomial(probs, 1, generator=generator)[:, 0]
            out_classes.append(cls)
            inp = F.one_hot(cls, c).to(z.dtype)
        return torch.stack(out_classes, dim=1)

    # ------------------------------------------------------------------------------------------------- training
    def forward(
        self,
        classes: torch.Tensor,
        step: int = 0,
        sample_posterior: bool = True,
        generator: torch.Generator | None = None,
        return_dict: bool | None = None,
        **kwargs,
    ) -> MusicVAEOutput:
        """The training loss of class windows ``(B, T)`` at training step ``step`` (which sets β and scheduled
        sampling). ``sample_posterior=False`` decodes from ``μ`` (evaluation)."""
        classes = self._check_classes(classes)
        mu, sigma = self.encode(classes)
        if sample_posterior:
            eps = torch.randn(mu.shape, device=mu.device, dtype=mu.dtype, generator=generator)
            z = mu + sigma * eps
        else:
            z = mu
        p = sampling_probability_at(self.config, step) if self.training else 0.0
        logits = self.decoder_logits(z, classes, p, generator=generator)
        ce = F.cross_entropy(logits.transpose(1, 2).float(), classes, reduction="none")  # (B, T)
        r_loss = ce.sum(1)
        # KL(N(mu, sigma^2) || N(0, 1)) summed over z
        kl = (0.5 * (mu.float() ** 2 + sigma.float() ** 2 - 1.0) - torch.log(sigma.float())).sum(1)
        free_nats = self.config.free_bits * math.log(2.0)
        kl_cost = torch.clamp(kl - free_nats, min=0.0)
        beta = beta_at(self.config, step)
        loss = r_loss.mean() + beta * kl_cost.mean()
        accuracy = (logits.argmax(-1) == classes).float().mean()
        return MusicVAEOutput(
            loss=loss,
            logits=logits,
            mu=mu,
            sigma=sigma,
            z=z,
            r_loss=r_loss,
            kl=kl,
            accuracy=accuracy,
            beta=beta,
            sampling_probability=p,
        )

    @torch.no_grad()
    def reconstruct(
        self, classes: torch.Tensor, *, temperature: float = 1e-3, greedy: bool = True, generator=None
    ):
        """Encode to ``μ`` and decode: class windows ``(B, T)`` → ``(B, T)``."""
        mu, _ = self.encode(classes)
        return self.decode(mu, temperature, greedy=greedy, generator=generator)

    def attribute_vector(self, name: str) -> torch.Tensor:
        """The stored attribute vector ``(Z,)`` named ``name`` (one of ``config.attribute_names``)."""
        if name not in self.config.attribute_names:
            raise MelodyVAEError(f"unknown attribute {name!r}; this model has {self.config.attribute_names}")
        vec = self.attribute_vectors[self.config.attribute_names.index(name)]
        if not torch.any(vec != 0):
            raise MelodyVAEError(f"attribute vector {name!r} was never computed for this model (all zeros)")
        return vec.detach().clone()


def check_temperature(temperature) -> float:
    """A temperature must be a finite number > 0 (``MelodyVAEError`` otherwise)."""
    if isinstance(temperature, bool):
        raise MelodyVAEError(f"temperature must be a positive finite number, got {temperature!r}")
    try:
        value = float(temperature)
    except (TypeError, ValueError):
        raise MelodyVAEError(f"temperature must be a positive finite number, got {temperature!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise MelodyVAEError(f"temperature must be a positive finite number, got {temperature!r}")
    if value > 100:
        raise MelodyVAEError(f"temperature must be at most 100, got {value}")
    return value


def count_parameters(model: nn.Module) -> int:
    return int(sum(np.prod(p.shape) for p in model.parameters()))


register_model(MusicVAEConfig, MusicVAEModel, (AutoModel,))
