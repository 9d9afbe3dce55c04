"""SketchRNN (Ha & Eck, *A Neural Representation of Sketch Drawings*, ICLR 2018 / arXiv:1704.03477), in PyTorch.

A sequence-to-sequence VAE over stroke-5 drawings, following magenta's ``models/sketch_rnn/model.py``:

- **Encoder** (§3.2): a bidirectional LSTM reads the drawing ``S (B, N_max, 5)`` (without the start token) with its
  true lengths (``pack_padded_sequence``: padding is never read); the last hidden states of both directions,
  ``h = [h→; h←] (B, 2·enc)``, give ``μ = W_μ h + b_μ`` and ``σ̂ = W_σ h + b_σ`` ``(B, N_z)``, ``σ = exp(σ̂/2)`` and
  ``z = μ + σ ⊙ N(0, I)``.
- **Decoder** (§3.3): ``[h0; c0] = tanh(W_z z + b_z)``; at every step the input is ``[S_{i−1}; z] (5 + N_z)``; an
  LSTM (optionally with layer normalisation; recurrent dropout on the cell candidate, Semeniuta et al. 2016, as
  magenta's cells) gives ``y_i = W_y h_i + b_y ∈ R^{6M+3}``: three pen logits, then ``M`` mixture weights
  ``π̂``, means ``μx, μy``, log-std ``σ̂x, σ̂y`` and ``ρ̂`` of a mixture of bivariate normals (``σ = exp σ̂``,
  ``ρ = tanh ρ̂``, ``π = softmax π̂``).
- **Loss** (§3.3, eq. 9–10, magenta's ``get_lossfunc``): ``L_s = −log(Σ_j π_j N(Δx, Δy | μ_j, σ_j, ρ_j) + 1e-6)``,
  zeroed after the end of the drawing; ``L_p`` = pen cross-entropy over every step in training (masked like
  ``L_s`` in evaluation); ``L_R = mean over B × N_max`` of both. ``L_KL = −½ mean(1 + σ̂ − μ² − exp σ̂)`` over
  batch *and* dimensions, floored at ``kl_tolerance``; ``loss = L_R + w_KL · L_KL``.
- **Initialisation**: recurrent matrices orthogonal per gate (magenta's ``lstm_ortho_initializer``), forget bias 1,
  ``μ``/``σ̂``/initial-state maps ``N(0, 0.001²)``, the output layer Glorot-uniform.

The decoder loop computes the input projection of all steps at once and iterates with ``unbind`` (indexing inside
the loop makes backward much slower on CPU). ``config.conditional = False`` gives magenta's decoder-only model
(no encoder, zero initial state, no ``z`` in the inputs).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence
from transformers import AutoModel, PretrainedConfig, PreTrainedModel
from transformers import initialization as init
from transformers.utils import ModelOutput

from ..errors import HfmechError, ModelConfigError
from ..hub import register_model

#: magenta ``get_default_hparams`` (model and training settings; data settings are the recipe's).
MAGENTA_DEFAULTS = dict(
    max_seq_len=250,
    enc_rnn_size=256,
    dec_rnn_size=512,
    dec_model="lstm",
    z_size=128,
    num_mixture=20,
    kl_weight=0.5,
    kl_weight_start=0.01,
    kl_tolerance=0.2,
    batch_size=100,
    grad_clip=1.0,
    learning_rate=0.001,
    decay_rate=0.9999,
    kl_decay_rate=0.99995,
    min_learning_rate=0.00001,
    use_recurrent_dropout=True,
    recurrent_dropout_prob=0.90,
    random_scale_factor=0.15,
    augment_stroke_prob=0.10,
    conditional=True,
)

#: Named presets: ``magenta`` (the paper's model) and ``cpu-small`` (what trains in hours on a shared 2-core CPU).
PRESETS: dict[str, dict] = {
    "magenta": {},
    "cpu-small": dict(enc_rnn_size=128, dec_rnn_size=256, num_mixture=10, z_size=64, dec_model="layer_norm"),
}

#: Upper bounds checked before any allocation (a config asking for more is refused).
MAX_RNN_SIZE = 4096
MAX_Z = 4096
MAX_MIXTURE = 256
MAX_SEQ_LEN = 10_000


class SketchInputError(HfmechError, ValueError):
    """A tensor of the wrong shape, a ``z`` of the wrong size, or a bad sampling setting."""


class SketchRNNConfig(PretrainedConfig):
    """Hyperparameters of :class:`SketchRNNModel`: magenta's ``get_default_hparams`` plus the data's scale.

    Args (beyond magenta's names):
        preset: the name of the preset the config was made from (``"magenta"`` or ``"cpu-small"``), for cards.
        scale_factor: the training set's offset standard deviation; a user's drawing is divided by it before
            encoding and samples are multiplied by it. ``None`` until a training set has been seen.
        sketch_vae: pipeline defaults (``temperature``, ``greedy``, ``max_len``, ``rdp_epsilon``, ``attributes``).
    """

    model_type = "hfmech-sketch-rnn"

    def __init__(
        self,
        max_seq_len: int = 250,
        enc_rnn_size: int = 256,
        dec_rnn_size: int = 512,
        dec_model: str = "lstm",
        z_size: int = 128,
        num_mixture: int = 20,
        kl_weight: float = 0.5,
        kl_weight_start: float = 0.01,
        kl_tolerance: float = 0.2,
        batch_size: int = 100,
        grad_clip: float = 1.0,
        learning_rate: float = 0.001,
        decay_rate: float = 0.9999,
        kl_decay_rate: float = 0.99995,
        min_learning_rate: float = 0.00001,
        use_recurrent_dropout: bool = True,
        recurrent_dropout_prob: float = 0.90,
        random_scale_factor: float = 0.15,
        augment_stroke_prob: float = 0.10,
        conditional: bool = True,
        preset: str = "magenta",
        scale_factor: float | None = None,
        sketch_vae: dict | None = None,
        **kwargs,
    ):
        self.max_seq_len = max_seq_len
        self.enc_rnn_size = enc_rnn_size
        self.dec_rnn_size = dec_rnn_size
        self.dec_model = dec_model
        self.z_size = z_size
        self.num_mixture = num_mixture
        self.kl_weight = kl_weight
        self.kl_weight_start = kl_weight_start
        self.kl_tolerance = kl_tolerance
        self.batch_size = batch_size
        self.grad_clip = grad_clip
        self.learning_rate = learning_rate
        self.decay_rate = decay_rate
        self.kl_decay_rate = kl_decay_rate
        self.min_learning_rate = min_learning_rate
        self.use_recurrent_dropout = use_recurrent_dropout
        self.recurrent_dropout_prob = recurrent_dropout_prob
        self.random_scale_factor = random_scale_factor
        self.augment_stroke_prob = augment_stroke_prob
        self.conditional = conditional
        self.preset = preset
        self.scale_factor = scale_factor
        self.sketch_vae = dict(sketch_vae or {})
        super().__init__(**kwargs)

    @classmethod
    def from_preset(cls, name: str, **overrides) -> SketchRNNConfig:
        """``magenta`` (= ``get_default_hparams``) or ``cpu-small``, with ``overrides`` on top."""
        if name not in PRESETS:
            raise ModelConfigError(f"unknown preset {name!r}; choose from {sorted(PRESETS)}")
        values = {**MAGENTA_DEFAULTS, **PRESETS[name], **overrides}
        return cls(preset=name, **values)

    def validate_sizes(self) -> None:
        for key, hi in (
            ("enc_rnn_size", MAX_RNN_SIZE),
            ("dec_rnn_size", MAX_RNN_SIZE),
            ("z_size", MAX_Z),
            ("num_mixture", MAX_MIXTURE),
            ("max_seq_len", MAX_SEQ_LEN),
        ):
            v = getattr(self, key)
            if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= hi:
                raise ModelConfigError(f"config.{key} must be an integer in 1..{hi}, got {v!r}")
        if self.dec_model not in ("lstm", "layer_norm"):
            raise ModelConfigError(f"config.dec_model must be 'lstm' or 'layer_norm', got {self.dec_model!r}")


@dataclass
class SketchRNNOutput(ModelOutput):
    """``loss`` = ``r_loss + kl_weight · kl_loss``; ``params`` are the decoder's raw outputs ``(B, N_max, 6M+3)``."""

    loss: torch.Tensor | None = None
    r_loss: torch.Tensor | None = None
    offset_loss: torch.Tensor | None = None
    pen_loss: torch.Tensor | None = None
    kl_loss: torch.Tensor | None = None
    kl_raw: torch.Tensor | None = None
    mu: torch.Tensor | None = None
    presig: torch.Tensor | None = None
    z: torch.Tensor | None = None
    params: torch.Tensor | None = None


@dataclass
class MixtureParams:
    """Decoder outputs split into the paper's parameters, each ``(..., M)`` (pen logits ``(..., 3)``)."""

    pen_logits: torch.Tensor
    pi_logits: torch.Tensor
    mu1: torch.Tensor
    mu2: torch.Tensor
    sigma1: torch.Tensor
    sigma2: torch.Tensor
    rho: torch.Tensor


def split_params(y: torch.Tensor, num_mixture: int) -> MixtureParams:
    """``y (..., 6M+3)`` → :class:`MixtureParams` in magenta's order (pen, π, μx, μy, σx, σy, ρ)."""
    m = num_mixture
    pen = y[..., :3]
    pi, mu1, mu2, s1, s2, corr = y[..., 3:].split(m, dim=-1)
    return MixtureParams(pen, pi, mu1, mu2, torch.exp(s1), torch.exp(s2), torch.tanh(corr))


def bivariate_normal(x1, x2, mu1, mu2, s1, s2, rho) -> torch.Tensor:
    """Density of ``(x1, x2)`` under ``N(μ, Σ)`` with std ``s1, s2`` and correlation ``rho`` (Graves 2013, eq. 24–25),
    broadcast over the trailing mixture dimension."""
    n1, n2 = x1 - mu1, x2 - mu2
    s1s2 = s1 * s2
    z = (n1 / s1) ** 2 + (n2 / s2) ** 2 - 2 * rho * n1 * n2 / s1s2
    neg_rho = 1 - rho**2
    return torch.exp(-z / (2 * neg_rho)) / (2 * math.pi * s1s2 * torch.sqrt(neg_rho))


def reconstruction_loss(
    params: MixtureParams, target: torch.Tensor, *, mask_pen: bool = False
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """magenta's ``get_lossfunc``: ``(L_R, L_s, L_p)``, each a mean over all ``B × N_max`` positions.

    ``target`` is the stroke-5 drawing without its start token, ``(B, N_max, 5)``. Offsets are scored only where
    ``p3 = 0`` (before the end); the pen cross-entropy everywhere (training) or only there (``mask_pen``, evaluation).
    """
    x1, x2 = target[..., 0:1], target[..., 1:2]
    pen = target[..., 2:5]
    pi = torch.softmax(params.pi_logits, dim=-1)
    density = bivariate_normal(x1, x2, params.mu1, params.mu2, params.sigma1, params.sigma2, params.rho)
    offsets = -torch.log((density * pi).sum(-1) + 1e-6)
    fs = 1.0 - pen[..., 2]
    offsets = offsets * fs
    pens = -(pen * torch.log_softmax(params.pen_logits, dim=-1)).sum(-1)
    if mask_pen:
        pens = pens * fs
    return (offsets + pens).mean(), offsets.mean(), pens.mean()


def kl_loss(mu: torch.Tensor, presig: torch.Tensor, tolerance: float) -> tuple[torch.Tensor, torch.Tensor]:
    """``(max(L_KL, tolerance), L_KL)`` with ``L_KL = −½ mean(1 + σ̂ − μ² − exp σ̂)`` over batch and dimensions."""
    kl = -0.5 * torch.mean(1 + presig - mu.square() - torch.exp(presig))
    return torch.clamp(kl, min=tolerance), kl


class LSTMCellRD(nn.Module):
    """magenta's ``LSTMCell`` / ``LayerNormLSTMCell`` with recurrent dropout (Semeniuta et al. 2016).

    Gates ``[i, j, f, o] = x W_x + h W_h (+ b)``; with ``layer_norm`` each gate block is layer-normalised (gain and
    shift per gate, no separate bias), and the cell is normalised before the output ``tanh``. The candidate
    ``g = tanh(j)`` is dropped out with keep probability ``keep_prob`` (a new mask each step, training only).
    ``c' = c σ(f + 1) + σ(i) g``, ``h' = tanh(c') σ(o)`` (``tanh(LN(c'))`` with layer norm).
    """

    def __init__(self, input_size: int, hidden_size: int, layer_norm: bool, keep_prob: float, dropout: bool):
        super().__init__()
        self.hidden_size = hidden_size
        self.layer_norm = layer_norm
        self.keep_prob = keep_prob
        self.dropout = dropout
        self.w_x = nn.Parameter(torch.empty(input_size, 4 * hidden_size))
        self.w_h = nn.Parameter(torch.empty(hidden_size, 4 * hidden_size))
        if layer_norm:
            self.ln_gamma = nn.Parameter(torch.empty(4, hidden_size))
            self.ln_beta = nn.Parameter(torch.empty(4, hidden_size))
            self.ln_c_gamma = nn.Parameter(torch.empty(hidden_size))
            self.ln_c_beta = nn.Parameter(torch.empty(hidden_size))
        else:
            self.bias = nn.Parameter(torch.empty(4 * hidden_size))

    def input_projection(self, x: torch.Tensor) -> torch.Tensor:
        """``x (B, T, I)`` → ``(B, T, 4H)`` (bias included for the plain cell)."""
        out = x @ self.w_x
        return out if self.layer_norm else out + self.bias

    def step(self, xw: torch.Tensor, h: torch.Tensor, c: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        hs = self.hidden_size
        gates = xw + h @ self.w_h
        if self.layer_norm:
            g4 = gates.view(-1, 4, hs)
            g4 = F.layer_norm(g4, (hs,), eps=1e-3) * self.ln_gamma + self.ln_beta
            i, j, f, o = g4.unbind(1)
        else:
            i, j, f, o = gates.split(hs, dim=-1)
        g = torch.tanh(j)
        if self.dropout and self.training and self.keep_prob < 1.0:
            g = F.dropout(g, p=1.0 - self.keep_prob, training=True)
        c = c * torch.sigmoid(f + 1.0) + torch.sigmoid(i) * g
        if self.layer_norm:
            c_out = F.layer_norm(c, (hs,), eps=1e-3) * self.ln_c_gamma + self.ln_c_beta
        else:
            c_out = c
        h = torch.tanh(c_out) * torch.sigmoid(o)
        return h, c

    def forward(self, x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor]):
        """``x (B, T, I)`` → ``(outputs (B, T, H), (h, c))``."""
        h, c = state
        outs = []
        for xw in self.input_projection(x).unbind(1):
            h, c = self.step(xw, h, c)
            outs.append(h)
        return torch.stack(outs, 1), (h, c)


def _orthogonal_blocks(rows: int, hidden: int, blocks: int) -> torch.Tensor:
    """magenta's ``lstm_ortho_initializer``: ``blocks`` orthogonal ``(rows, hidden)`` matrices side by side."""
    out = torch.empty(rows, blocks * hidden)
    for k in range(blocks):
        torch.nn.init.orthogonal_(out[:, k * hidden : (k + 1) * hidden])
    return out


class SketchRNNModel(PreTrainedModel):
    """The sketch-rnn VAE. ``forward(strokes (B, N_max+1, 5), lengths (B,))`` → :class:`SketchRNNOutput`."""

    config_class = SketchRNNConfig
    base_model_prefix = "sketch_rnn"
    main_input_name = "strokes"

    def __init__(self, config: SketchRNNConfig):
        super().__init__(config)
        config.validate_sizes()
        e, d, nz, m = config.enc_rnn_size, config.dec_rnn_size, config.z_size, config.num_mixture
        if config.conditional:
            self.encoder = nn.LSTM(5, e, batch_first=True, bidirectional=True)
            self.fc_mu = nn.Linear(2 * e, nz)
            self.fc_sigma = nn.Linear(2 * e, nz)
            self.fc_init = nn.Linear(nz, 2 * d)
            for lin in (self.fc_mu, self.fc_sigma, self.fc_init):
                lin._gaussian_init = True
        dec_in = 5 + (nz if config.conditional else 0)
        self.decoder = LSTMCellRD(
            dec_in,
            d,
            layer_norm=config.dec_model == "layer_norm",
            keep_prob=config.recurrent_dropout_prob,
            dropout=config.use_recurrent_dropout,
        )
        self.output = nn.Linear(d, 6 * m + 3)
        self.post_init()

    @torch.no_grad()
    def _init_weights(self, module: nn.Module) -> None:
        """magenta's initialisers, module by module (transformers calls this for each module with parameters)."""
        if isinstance(module, nn.LSTM):
            hs = module.hidden_size
            for suffix in ("", "_reverse") if module.bidirectional else ("",):
                init.xavier_uniform_(getattr(module, f"weight_ih_l0{suffix}"))
                hh = _orthogonal_blocks(hs, hs, 4).t().contiguous()  # torch stores (4H, H)
                init.copy_(getattr(module, f"weight_hh_l0{suffix}"), hh)
                b = torch.zeros(4 * hs)
                b[hs : 2 * hs] = 1.0  # forget bias 1 (torch gate order i, f, g, o)
                init.copy_(getattr(module, f"bias_ih_l0{suffix}"), b)
                init.zeros_(getattr(module, f"bias_hh_l0{suffix}"))
        elif isinstance(module, LSTMCellRD):
            init.xavier_uniform_(module.w_x)
            init.copy_(module.w_h, _orthogonal_blocks(module.hidden_size, module.hidden_size, 4))
            if module.layer_norm:
                init.ones_(module.ln_gamma)
                init.zeros_(module.ln_beta)
                init.ones_(module.ln_c_gamma)
                init.zeros_(module.ln_c_beta)
            else:
                init.zeros_(module.bias)
        elif isinstance(module, nn.Linear):
            if getattr(module, "_gaussian_init", False):  # magenta super_linear(init_w="gaussian", 0.001)
                init.normal_(module.weight, mean=0.0, std=0.001)
            else:
                init.xavier_uniform_(module.weight)
            init.zeros_(module.bias)

    # ------------------------------------------------------------------------------------------------ encoder
    def encode(self, strokes: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(μ, σ̂)``, each ``(B, N_z)``, from stroke-5 ``strokes (B, N_max+1, 5)`` (start token first) and the
        drawings' point counts ``lengths (B,)`` (the start token not counted)."""
        if not self.config.conditional:
            raise SketchInputError("this is a decoder-only (unconditional) sketch-rnn: it has no encoder")
        self._check_strokes(strokes, lengths)
        x = strokes[:, 1:].to(self.output.weight.dtype)
        packed = pack_padded_sequence(x, lengths.clamp_min(1).cpu(), batch_first=True, enforce_sorted=False)
        _, (h_n, _) = self.encoder(packed)
        h = torch.cat([h_n[0], h_n[1]], dim=-1)
        return self.fc_mu(h), self.fc_sigma(h)

    @staticmethod
    def _check_strokes(strokes: torch.Tensor, lengths: torch.Tensor) -> None:
        if strokes.ndim != 3 or strokes.shape[-1] != 5:
            raise SketchInputError(f"strokes must be stroke-5 (B, N+1, 5), got {tuple(strokes.shape)}")
        if lengths.shape != strokes.shape[:1]:
            raise SketchInputError(f"lengths must be (B,) = {strokes.shape[0]}, got {tuple(lengths.shape)}")
        if int(lengths.max()) > strokes.shape[1] - 1 or int(lengths.min()) < 1:
            raise SketchInputError("lengths must be in 1..N (the start token is not counted)")

    def reparameterize(self, mu: torch.Tensor, presig: torch.Tensor, generator=None) -> torch.Tensor:
        """``z = μ + exp(σ̂/2) ⊙ ε``, ``ε ~ N(0, I)``."""
        eps = torch.randn(mu.shape, generator=generator, dtype=mu.dtype, device=mu.device)
        return mu + torch.exp(presig / 2) * eps

    # ------------------------------------------------------------------------------------------------ decoder
    def initial_state(self, z: torch.Tensor | None, batch: int) -> tuple[torch.Tensor, torch.Tensor]:
        """``(h0, c0)``: magenta splits ``tanh(W_z z + b)`` into ``c`` then ``h``; zeros when unconditional."""
        d = self.config.dec_rnn_size
        if z is None:
            zeros = self.output.weight.new_zeros(batch, d)
            return zeros, zeros.clone()
        s = torch.tanh(self.fc_init(z))
        c, h = s[:, :d], s[:, d:]
        return h, c

    def decode_params(self, inputs: torch.Tensor, z: torch.Tensor | None, state=None):
        """Teacher-forced decoder: ``inputs (B, T, 5)`` (start token first) → ``(y (B, T, 6M+3), (h, c))``."""
        b, t, _ = inputs.shape
        if z is not None:
            inputs = torch.cat([inputs, z[:, None, :].expand(b, t, z.shape[-1])], dim=-1)
        if state is None:
            state = self.initial_state(z, b)
        out, state = self.decoder(inputs, state)
        return self.output(out), state

    # ------------------------------------------------------------------------------------------------ forward
    def forward(
        self,
        strokes: torch.Tensor,
        lengths: torch.Tensor,
        kl_weight: float | None = None,
        mask_pen: bool | None = None,
        generator: torch.Generator | None = None,
        sample_z: bool = True,
        **kwargs,
    ) -> SketchRNNOutput:
        """Loss of a batch: ``strokes (B, N_max+1, 5)`` stroke-5 with start token, ``lengths (B,)``.

        ``kl_weight`` defaults to ``config.kl_weight``; ``mask_pen`` to ``not self.training`` (magenta's eval mode).
        ``sample_z=False`` decodes from ``μ`` (no noise).
        """
        cfg = self.config
        strokes = strokes.to(self.output.weight.dtype)
        target = strokes[:, 1:]
        inputs = strokes[:, :-1]
        if mask_pen is None:
            mask_pen = not self.training
        if cfg.conditional:
            mu, presig = self.encode(strokes, lengths)
            z = self.reparameterize(mu, presig, generator) if sample_z else mu
            kl, kl_raw = kl_loss(mu, presig, cfg.kl_tolerance)
        else:
            mu = presig = z = None
            kl = kl_raw = strokes.new_zeros(())
        y, _ = self.decode_params(inputs, z)
        r, ls, lp = reconstruction_loss(split_params(y, cfg.num_mixture), target, mask_pen=mask_pen)
        w = cfg.kl_weight if kl_weight is None else kl_weight
        return SketchRNNOutput(
            loss=r + w * kl,
            r_loss=r,
            offset_loss=ls,
            pen_loss=lp,
            kl_loss=kl,
            kl_raw=kl_raw,
            mu=mu,
            presig=presig,
            z=z,
            params=y,
        )

    # ------------------------------------------------------------------------------------------------ sampling
    def check_z(self, z) -> torch.Tensor:
        """``z`` as a ``(B, N_z)`` tensor of this model's dtype; typed errors for wrong sizes and NaN."""
        nz = self.config.z_size
        z = torch.as_tensor(z, dtype=self.output.weight.dtype)
        if z.ndim == 1:
            z = z[None]
        if z.ndim != 2 or z.shape[-1] != nz:
            raise SketchInputError(
                f"z must have {nz} values (shape (N_z,) or (B, N_z)), got {tuple(z.shape)}"
            )
        if not torch.isfinite(z).all():
            raise SketchInputError("z has NaN or infinite values")
        return z

    @torch.no_grad()
    def decode(
        self,
        z: torch.Tensor | None = None,
        temperature: float = 1.0,
        *,
        greedy: bool = False,
        max_len: int | None = None,
        batch: int | None = None,
        generator: torch.Generator | None = None,
        shared_noise: bool = False,
    ) -> list[np.ndarray]:
        """Sample drawings (normalised stroke-3, one ``(N_i, 3)`` array per row of ``z (B, N_z)``) — §3.4.

        Temperature τ (paper, eq. 8): ``π̂/τ`` and pen logits ``/τ`` before the softmax, ``σ² → σ² τ`` (σ scaled by
        ``√τ``; magenta's ``sample`` code scales σ by τ instead). ``greedy`` takes the most likely component, pen
        state and the component's mean. Drawing stops at the first end-of-drawing state or after ``max_len``.
        ``z=None`` needs ``batch`` (unconditional models, or a conditional one decoding ``z = 0``).

        ``shared_noise``: every row uses the same random numbers (common random numbers: one uniform per step for
        the component, one for the pen state — sampled by inverse CDF — and one pair of normals), so rows differ
        only because their ``z`` differs. Each row is still an exact sample; use it for paths through the latent
        space (interpolation, attribute sweeps), not for independent samples.
        """
        if isinstance(temperature, bool) or not isinstance(temperature, int | float):
            raise SketchInputError(f"temperature must be a number > 0, got {temperature!r}")
        if not math.isfinite(temperature) or temperature <= 0:
            raise SketchInputError(f"temperature must be a finite number > 0, got {temperature!r}")
        cfg = self.config
        max_len = cfg.max_seq_len if max_len is None else int(max_len)
        if cfg.conditional:
            z = self.check_z(torch.zeros(batch or 1, cfg.z_size) if z is None else z)
            b = z.shape[0]
        else:
            b = batch or (1 if z is None else len(z))
            z = None
        m = cfg.num_mixture
        tau = float(temperature)
        prev = self.output.weight.new_zeros(b, 1, 5)
        prev[:, 0, 2] = 1.0
        state = None
        rows = torch.zeros(b, max_len, 3)
        ended = torch.zeros(b, dtype=torch.bool)
        n = torch.full((b,), max_len, dtype=torch.long)
        ar = torch.arange(b)
        for t in range(max_len):
            y, state = self.decode_params(prev, z, state)
            p = split_params(y[:, 0].float(), m)
            if greedy:
                idx = p.pi_logits.argmax(-1)
                pen = p.pen_logits.argmax(-1)
            elif shared_noise:
                idx = _inverse_cdf(torch.softmax(p.pi_logits / tau, -1), torch.rand(1, generator=generator))
                pen = _inverse_cdf(torch.softmax(p.pen_logits / tau, -1), torch.rand(1, generator=generator))
            else:
                idx = torch.multinomial(torch.softmax(p.pi_logits / tau, -1), 1, generator=generator)[:, 0]
                pen = torch.multinomial(torch.softmax(p.pen_logits / tau, -1), 1, generator=generator)[:, 0]
            mu1, mu2 = p.mu1[ar, idx], p.mu2[ar, idx]
            if greedy:
                dx, dy = mu1, mu2
            else:
                s1 = p.sigma1[ar, idx] * math.sqrt(tau)
                s2 = p.sigma2[ar, idx] * math.sqrt(tau)
                rho = p.rho[ar, idx]
                e1 = torch.randn(1 if shared_noise else b, generator=generator).expand(b)
                e2 = torch.randn(1 if shared_noise else b, generator=generator).expand(b)
                dx = mu1 + s1 * e1
                dy = mu2 + s2 * (rho * e1 + torch.sqrt(1 - rho**2) * e2)
            newly = (pen == 2) & ~ended
            n[newly] = t
            ended |= pen == 2
            rows[:, t, 0], rows[:, t, 1] = dx, dy
            rows[:, t, 2] = (pen == 1).float()
            nxt = prev.new_zeros(b, 1, 5)
            nxt[:, 0, 0], nxt[:, 0, 1] = dx.to(nxt.dtype), dy.to(nxt.dtype)
            nxt[ar, 0, 2 + pen] = 1.0
            prev = nxt
            if bool(ended.all()):
                break
        out = []
        for i in range(b):
            s = rows[i, : int(n[i])].numpy().copy()
            if len(s):
                s[-1, 2] = 1.0
            out.append(s)
        return out


def _inverse_cdf(probs: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """``(B, K)`` probabilities and one uniform ``u`` ``(1,)`` → ``(B,)`` category indices: the first ``k`` whose
    cumulative probability exceeds ``u`` (an exact sample for each row; rows share ``u``)."""
    below = (probs.cumsum(-1) <= u.to(probs.dtype)).sum(-1)
    return below.clamp(max=probs.shape[-1] - 1)


register_model(SketchRNNConfig, SketchRNNModel, auto_classes=(AutoModel,))

__all__ = [
    "MAGENTA_DEFAULTS",
    "PRESETS",
    "MixtureParams",
    "SketchInputError",
    "SketchRNNConfig",
    "SketchRNNModel",
    "SketchRNNOutput",
    "bivariate_normal",
    "kl_loss",
    "reconstruction_loss",
    "split_params",
]
