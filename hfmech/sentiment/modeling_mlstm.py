"""The byte-level multiplicative LSTM of the sentiment neuron, as a transformers model.

Radford, Jozefowicz & Sutskever (2017), "Learning to Generate Reviews and Discovering Sentiment" (arXiv:1704.01444),
with the equations of OpenAI's released ``encoder.py`` (openai/generating-reviews-discovering-sentiment), which
follow Krause et al. (2016), "Multiplicative LSTM for sequence modelling". For a byte ``x_t`` (embedded, 64-d)::

    m_t = (x_t · Wmx) ⊙ (h_{t-1} · Wmh)                     (B, H)
    z_t = x_t · Wx + m_t · Wh + b                           (B, 4H), split in the order i, f, o, u
    i, f, o = σ(z_i), σ(z_f), σ(z_o);  u = tanh(z_u)
    c_t = f ⊙ c_{t-1} + i ⊙ u;          h_t = o ⊙ tanh(c_t)
    p(x_{t+1}) = softmax(h_t · Wout + bout)                 (B, 256)

Every recurrent matrix is weight-normalised per output column (Salimans & Kingma 2016), exactly as encoder.py's
``tf.nn.l2_normalize(w, dim=0) * g``: ``W = V / max(‖V[:, j]‖, 1e-6) * g_j``. Matrices are stored in encoder.py's
``(in, out)`` layout under its names (``wx, wh, wmx, wmh, b, gx, gh, gmx, gmh``), so the converter
(:mod:`.convert_openai`) is a renaming. The output layer has no weight norm (``out_wn=False`` in encoder.py).

Shapes: ``input_ids`` (B, T) int64 in [0, 256); embedding (B, T, E=64); state ``(c, h)`` each (B, H).

Mechanism API used by the probe, the pipeline and the Space (``model`` an :class:`MLSTMForByteLM`)::

    model.featurize(texts, state="c"|"h", batch_size=128)  -> np.ndarray (N, H)  final state after preprocessing
    model.trace(text, unit=None, state="c", dtype=np.float32) -> (n_bytes, H), or (n_bytes,) for one unit
    model(input_ids, state=(c, h), labels=...)             -> MLSTMOutput(loss, logits, state, hidden_states)

Efficiency (DESIGN.md): the input of a step is one of 256 byte embeddings, so ``x·Wx + b`` and ``x·Wmx`` are two
tables (256, 4H) and (256, H) (:meth:`MLSTMForByteLM.input_tables`) gathered for a whole chunk at once (never
``X[:, t]`` in the loop). Without gradients the recurrence runs time-major and in place (:func:`_scan_inplace`: nine
kernels a step, no allocation). Featurisation sorts texts by length (as encoder.py's ``transform``), longest first,
and shrinks the batch as texts end, which is exact without padding or masks; long texts are read in chunks with the
state carried, so memory is bounded by the chunk (capped at :data:`WORKSPACE_BYTES`), not the text; ``trace`` writes
each chunk into the one array it returns. With gradients (training) the per-step loop of :func:`mlstm_scan` runs
under autograd.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from transformers import AutoModel, PretrainedConfig, PreTrainedModel
from transformers import initialization as init
from transformers.utils import ModelOutput

from hfmech.hub import register_model
from hfmech.hub.hardware import cpu_has_amx_bf16

from ..errors import HfmechError
from .preprocessing import preprocess, to_text

__all__ = [
    "MLSTMConfig",
    "MLSTMForByteLM",
    "MLSTMOutput",
    "UnknownUnitError",
    "check_units",
    "l2_normalize_columns",
    "mlstm_scan",
]

STATES = ("c", "h")
#: tf.nn.l2_normalize's default epsilon is on the squared norm: x * rsqrt(max(sum(x**2), 1e-12)).
WN_EPSILON = 1e-12
#: Upper bound on the per-chunk input-projection workspace of :meth:`MLSTMForByteLM.featurize` / ``trace`` (bytes).
WORKSPACE_BYTES = 32 * 2**20
PRECISIONS = ("auto", "float32", "bfloat16")
#: ``precision="auto"`` uses bfloat16 products from this hidden size up: the (B, H) × (H, 4H) products must be large
#: enough for AMX tiles to beat float32 (measured: docs/sentiment.md, "Mixed precision").
AUTO_BF16_MIN_HIDDEN = 512


class UnknownUnitError(HfmechError, IndexError, ValueError):
    """A unit index outside ``[0, hidden_size)`` (or not an integer)."""


class MLSTMConfig(PretrainedConfig):
    """Configuration of :class:`MLSTMForByteLM`.

    Args:
        vocab_size: bytes (256).
        embed_size: byte embedding width (64 in encoder.py).
        hidden_size: mLSTM width ``H`` (4096 in Radford et al.; any here).
        sentiment_unit: index of the unit that carries sentiment (found by the L1 probe); ``None`` when unknown.
        polarity: +1 when a high value of the unit means positive, -1 when it means negative.
        threshold: raw unit value separating negative from positive (label POSITIVE iff
            ``polarity * (value - threshold) > 0``).
        unit_scale: slope of the single-unit logistic fit, ``P(positive) = σ(unit_scale·polarity·(value −
            threshold))`` (from the probe; 1.0 when uncalibrated).
        clamp_value: default value the demo clamps the unit to for positive generation (negated for negative).
        state: which state the features come from, ``"c"`` (cell, encoder.py's features) or ``"h"``.
        clamp_on: where generation clamps the unit: ``"c"``, ``"h"`` or ``"both"``.
        chunk_size: time steps per chunk in featurisation/tracing (memory bound).
        precision: the recurrent products' precision in featurisation/tracing: ``"float32"`` (the weights' own
            dtype, exact), ``"bfloat16"`` (mixed: bfloat16 products, float32 state and gates), or ``"auto"``:
            bfloat16 on a CPU with AMX tiles for ``hidden_size >= 512`` (where it pays), float32 otherwise.
            Training and generation always use the weights' dtype.
        training: free-form record of how the weights were trained (bits per byte, data, schedule).
        sentiment_neuron: how well the sentiment unit was measured to read sentiment:
            ``{"unit_accuracy": fraction, "measured_on": "benchmark, split, size"}``; the pipeline gives no label
            when it is missing or below its floor (``UNIT_ACCURACY_FLOOR``).
    """

    model_type = "hfmech-mlstm"

    vocab_size: int = 256
    embed_size: int = 64
    hidden_size: int = 512
    sentiment_unit: int | None = None
    polarity: int = 1
    threshold: float = 0.0
    unit_scale: float = 1.0
    clamp_value: float = 1.0
    state: str = "c"
    clamp_on: str = "c"
    chunk_size: int = 256
    precision: str = "auto"
    training: dict | None = None
    sentiment_neuron: dict | None = None

    def __post_init__(self, **kwargs):
        super().__post_init__(**kwargs)
        for key in ("vocab_size", "embed_size", "hidden_size", "chunk_size"):
            value = int(getattr(self, key))
            if value < 1:
                raise ValueError(f"{key} must be a positive integer, got {value}")
            setattr(self, key, value)
        if self.state not in STATES:
            raise ValueError(f"state must be 'c' or 'h', got {self.state!r}")
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {self.precision!r}")
        if self.clamp_on not in ("c", "h", "both"):
            raise ValueError(f"clamp_on must be 'c', 'h' or 'both', got {self.clamp_on!r}")
        if self.polarity not in (1, -1):
            raise ValueError(f"polarity must be +1 or -1, got {self.polarity!r}")
        if self.sentiment_unit is not None:
            self.sentiment_unit = int(self.sentiment_unit)
            if not 0 <= self.sentiment_unit < self.hidden_size:
                raise ValueError(f"sentiment_unit {self.sentiment_unit} outside [0, {self.hidden_size})")
        self.threshold = float(self.threshold)
        self.unit_scale = float(self.unit_scale)
        self.clamp_value = float(self.clamp_value)


@dataclass
class MLSTMOutput(ModelOutput):
    """``loss`` (mean next-byte cross-entropy in nats, when ``labels`` are given), ``logits`` (B, T, 256),
    ``state`` ``(c, h)`` after the last step, ``hidden_states`` (B, T, H) the ``h`` sequence and ``cell_states``
    (B, T, H) the ``c`` sequence when ``output_cell_states=True``."""

    loss: torch.Tensor | None = None
    logits: torch.Tensor | None = None
    state: tuple[torch.Tensor, torch.Tensor] | None = None
    hidden_states: torch.Tensor | None = None
    cell_states: torch.Tensor | None = None


def l2_normalize_columns(v: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    """``tf.nn.l2_normalize(v, dim=0) * g``: every column of ``v`` (in, out) rescaled to norm ``g[j]``."""
    return v * torch.rsqrt((v * v).sum(0, keepdim=True).clamp_min(WN_EPSILON)) * g


def check_units(units, hidden_size: int) -> list[int]:
    """Validate unit indices (int or sequence of ints) → list, or :class:`UnknownUnitError`."""
    items = [units] if not isinstance(units, (list, tuple, np.ndarray, torch.Tensor)) else list(units)
    out = []
    for u in items:
        if isinstance(u, (bool, np.bool_)) or not isinstance(u, (int, np.integer)):
            if isinstance(u, torch.Tensor) and u.ndim == 0 and not u.is_floating_point():
                u = int(u)
            else:
                raise UnknownUnitError(f"unit index must be an integer, got {u!r}")
        u = int(u)
        if not 0 <= u < hidden_size:
            raise UnknownUnitError(f"unit {u} does not exist: the model has units 0..{hidden_size - 1}")
        out.append(u)
    return out


def mlstm_scan(
    xm: torch.Tensor,
    xz: torch.Tensor,
    c: torch.Tensor,
    h: torch.Tensor,
    wh: torch.Tensor,
    wmh: torch.Tensor,
    mask: torch.Tensor | None = None,
    clamp: dict | None = None,
    collect: str | None = "h",
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
    """Run the mLSTM recurrence over precomputed input projections.

    Args:
        xm: ``x·Wmx`` (B, T, H).  xz: ``x·Wx + b`` (B, T, 4H).  c, h: state (B, H).
        wh: (H, 4H), wmh: (H, H) effective (weight-normalised) matrices.
        mask: (B, T) bool; where False the state is held unchanged (left padding), as encoder.py's ``M``.
        clamp: ``{"c": (idx LongTensor, values Tensor), "h": (...)}``: after each update the listed units of ``c``
            (before ``h = o·tanh(c)`` is formed) and/or ``h`` are overwritten with the values.
        collect: ``"h"``, ``"c"``, ``"both"`` or None: which per-step sequences to return.

    Returns ``(c, h, hs, cs)`` with ``hs``/``cs`` (B, T, H) or None. Without ``mask``/``clamp`` and when no gradient
    is needed this runs :func:`_scan_inplace` (same arithmetic, no per-step allocation) on a time-major copy.
    """
    if mask is None and clamp is None and not _needs_grad(xm, xz, c, h, wh, wmh):
        c, h = c.clone(memory_format=torch.contiguous_format), h.clone(memory_format=torch.contiguous_format)
        seqs = _state_buffers(c, xm.shape[1], collect)
        _scan_inplace(
            xm.transpose(0, 1).contiguous(),
            xz.transpose(0, 1).clone(
                memory_format=torch.contiguous_format
            ),  # overwritten: never the caller's
            c,
            h,
            wh,
            wmh,
            c_seq=seqs[0],
            h_seq=seqs[1],
        )
        cs, hs = (None if s is None else s.transpose(0, 1).contiguous() for s in seqs)
        return c, h, hs, cs
    hidden = h.shape[-1]
    hs: list[torch.Tensor] = []
    cs: list[torch.Tensor] = []
    clamp_c = clamp.get("c") if clamp else None
    clamp_h = clamp.get("h") if clamp else None
    masks = mask.unbind(1) if mask is not None else [None] * xm.shape[1]
    for xm_t, xz_t, m_t in zip(xm.unbind(1), xz.unbind(1), masks):
        m = xm_t * (h @ wmh)
        z = torch.addmm(xz_t, m, wh)
        gates = torch.sigmoid(z[:, : 3 * hidden])
        i, f, o = gates.chunk(3, dim=1)
        u = torch.tanh(z[:, 3 * hidden :])
        c_new = torch.addcmul(f * c, i, u)
        if clamp_c is not None:
            c_new = c_new.index_copy(1, clamp_c[0], clamp_c[1].expand(c_new.shape[0], -1))
        h_new = o * torch.tanh(c_new)
        if clamp_h is not None:
            h_new = h_new.index_copy(1, clamp_h[0], clamp_h[1].expand(h_new.shape[0], -1))
        if m_t is not None:
            keep = m_t.unsqueeze(1)
            c_new = torch.where(keep, c_new, c)
            h_new = torch.where(keep, h_new, h)
        c, h = c_new, h_new
        if collect in ("h", "both"):
            hs.append(h)
        if collect in ("c", "both"):
            cs.append(c)
    return c, h, (torch.stack(hs, 1) if hs else None), (torch.stack(cs, 1) if cs else None)


def _needs_grad(*tensors: torch.Tensor) -> bool:
    return torch.is_grad_enabled() and any(t.requires_grad for t in tensors)


def _state_buffers(c: torch.Tensor, steps: int, collect: str | None):
    """(c_seq, h_seq) time-major (T, B, H) buffers for ``collect`` (``"c"``, ``"h"``, ``"both"``, None)."""
    if collect not in (None, "c", "h", "both"):
        raise ValueError(f"collect must be 'c', 'h', 'both' or None, got {collect!r}")
    shape = (steps, *c.shape)
    c_seq = c.new_empty(shape) if collect in ("c", "both") else None
    h_seq = c.new_empty(shape) if collect in ("h", "both") else None
    return c_seq, h_seq


def _scan_inplace(
    xm: torch.Tensor,
    xz: torch.Tensor,
    c: torch.Tensor,
    h: torch.Tensor,
    wh: torch.Tensor,
    wmh: torch.Tensor,
    c_seq: torch.Tensor | None = None,
    h_seq: torch.Tensor | None = None,
) -> None:
    """The inference recurrence without allocations: time-major projections, state updated in place.

    Args:
        xm: ``x·Wmx`` (T, B, H) and xz: ``x·Wx + b`` (T, B, 4H), time-major with contiguous ``(B, ·)`` slices;
            **xz is overwritten** (it is the pre-activation workspace ``z``).
        c, h: (B, H) contiguous state, updated in place to the state after step ``T``.
        c_seq, h_seq: optional (T, B, H) buffers that receive every step's ``c`` / ``h``.
        wh (H, 4H), wmh (H, H): in ``c``'s dtype, or in a lower one (bfloat16) for **mixed precision**: then ``xm``
            is in that dtype too, the two recurrent products run in it (float32 accumulation inside oneDNN,
            rounded to it on output), ``h`` is rounded to it before each product, and everything else — ``z``, the
            gates, ``c``, ``h`` — stays in ``c``'s dtype.

    Each step is nine kernels and no allocation: ``hm = h·Wmh`` (mm, out=), ``m = hm ⊙ xm_t`` (mul_),
    ``z_t += m·Wh`` (addmm_ into the projection slice), ``σ`` over the three gates at once, ``tanh`` over ``u``,
    ``c = f⊙c + i⊙u`` (mul, addcmul_), ``h = o⊙tanh(c)`` (tanh, mul); the mixed path adds two (the cast of ``h``,
    and ``z_t += m·Wh`` as a low-precision mm then an add). The arithmetic is the same as :func:`mlstm_scan`'s, only
    the memory is reused.
    """
    steps = xz.shape[0]
    if steps == 0:
        return
    hidden = c.shape[-1]
    state_c, state_h = c, h
    # mixed precision: low-precision recurrent products, float32 state and gates (MLSTMConfig.precision)
    mixed = wh.dtype != c.dtype
    if mixed:
        h_low = torch.empty_like(c, dtype=wh.dtype)
        hm = torch.empty_like(h_low)
        mz = torch.empty(c.shape[0], 4 * hidden, dtype=wh.dtype, device=c.device)
    else:
        hm = torch.empty_like(c)
    tanh_c = torch.empty_like(c)
    xms = xm.unbind(0)
    zs = xz.unbind(0)
    gates = xz[..., : 3 * hidden].unbind(0)
    ins = xz[..., :hidden].unbind(0)
    forgets = xz[..., hidden : 2 * hidden].unbind(0)
    outs = xz[..., 2 * hidden : 3 * hidden].unbind(0)
    updates = xz[..., 3 * hidden :].unbind(0)
    c_outs = c_seq.unbind(0) if c_seq is not None else None
    h_outs = h_seq.unbind(0) if h_seq is not None else None
    for t in range(steps):
        torch.mm(h_low.copy_(h) if mixed else h, wmh, out=hm)
        hm.mul_(xms[t])
        if mixed:
            zs[t].add_(torch.mm(hm, wh, out=mz))
        else:
            zs[t].addmm_(hm, wh)
        gates[t].sigmoid_()
        updates[t].tanh_()
        c_new = c_outs[t] if c_outs is not None else c
        torch.mul(forgets[t], c, out=c_new)
        c_new.addcmul_(ins[t], updates[t])
        c = c_new
        torch.tanh(c, out=tanh_c)
        h_new = h_outs[t] if h_outs is not None else h
        torch.mul(outs[t], tanh_c, out=h_new)
        h = h_new
    if c is not state_c:
        state_c.copy_(c)
    if h is not state_h:
        state_h.copy_(h)


class MLSTMForByteLM(PreTrainedModel):
    """Byte-level mLSTM language model (encoder.py's ``model``) with the sentiment-neuron API."""

    config_class = MLSTMConfig
    base_model_prefix = "mlstm"
    main_input_name = "input_ids"
    input_modalities = ("text",)

    def __init__(self, config: MLSTMConfig):
        super().__init__(config)
        e, hdim = config.embed_size, config.hidden_size
        self.embed = nn.Embedding(config.vocab_size, e)
        # encoder.py's rnn/* variables, (in, out) layout.
        self.wx = nn.Parameter(torch.empty(e, 4 * hdim))
        self.wh = nn.Parameter(torch.empty(hdim, 4 * hdim))
        self.wmx = nn.Parameter(torch.empty(e, hdim))
        self.wmh = nn.Parameter(torch.empty(hdim, hdim))
        self.b = nn.Parameter(torch.empty(4 * hdim))
        self.gx = nn.Parameter(torch.empty(4 * hdim))
        self.gh = nn.Parameter(torch.empty(4 * hdim))
        self.gmx = nn.Parameter(torch.empty(hdim))
        self.gmh = nn.Parameter(torch.empty(hdim))
        self.out = nn.Linear(hdim, config.vocab_size)
        self.post_init()

    @torch.no_grad()
    def _init_weights(self, module: nn.Module) -> None:
        if isinstance(module, MLSTMForByteLM):
            hdim = module.config.hidden_size
            for v in (module.wx, module.wh, module.wmx, module.wmh):
                init.normal_(v, mean=0.0, std=0.05)
            for g in (module.gx, module.gh, module.gmx, module.gmh):
                init.ones_(g)
            init.zeros_(module.b)
            module.b[hdim : 2 * hdim] = 1.0  # forget-gate bias: remember by default
        elif isinstance(module, nn.Embedding):
            init.normal_(module.weight, mean=0.0, std=1.0)
        elif isinstance(module, nn.Linear):
            init.normal_(module.weight, mean=0.0, std=1.0 / math.sqrt(module.in_features))
            if module.bias is not None:
                init.zeros_(module.bias)

    # ------------------------------------------------------------------------------------------------ the maths
    @property
    def hidden_size(self) -> int:
        return self.config.hidden_size

    def effective_weights(self) -> dict[str, torch.Tensor]:
        """The weight-normalised matrices ``wx (E,4H), wh (H,4H), wmx (E,H), wmh (H,H)`` and bias ``b (4H)``."""
        return {
            "wx": l2_normalize_columns(self.wx, self.gx),
            "wh": l2_normalize_columns(self.wh, self.gh),
            "wmx": l2_normalize_columns(self.wmx, self.gmx),
            "wmh": l2_normalize_columns(self.wmh, self.gmh),
            "b": self.b,
        }

    def zero_state(self, batch: int) -> tuple[torch.Tensor, torch.Tensor]:
        z = torch.zeros(batch, self.hidden_size, dtype=self.wx.dtype, device=self.wx.device)
        return z, z.clone()

    def input_tables(self, weights: dict | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """``x·Wx + b`` (256, 4H) and ``x·Wmx`` (256, H) for every byte value.

        The input ``x_t`` is the embedding of one of 256 bytes, so the input projections of any text are rows of
        these two tables (the same numbers encoder.py computes per step, gathered instead of multiplied)."""
        w = weights if weights is not None else self.effective_weights()
        emb = self.embed.weight
        return torch.addmm(w["b"], emb, w["wx"]), emb @ w["wmx"]

    def recurrence_dtype(self, precision: str | None = None) -> torch.dtype:
        """The dtype of the recurrent products in :meth:`featurize` / :meth:`trace` for ``precision`` (default
        ``config.precision``; see :class:`MLSTMConfig`)."""
        precision = self.config.precision if precision is None else precision
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
        if precision == "bfloat16":
            return torch.bfloat16
        if (
            precision == "auto"
            and self.wx.dtype == torch.float32
            and self.wx.device.type == "cpu"
            and self.hidden_size >= AUTO_BF16_MIN_HIDDEN
            and cpu_has_amx_bf16()
        ):
            return torch.bfloat16
        return self.wx.dtype

    def recurrence_precision(self, precision: str | None = None) -> str:
        """:meth:`recurrence_dtype` as a name, ``"float32"`` or ``"bfloat16"`` (reports, cache folder names)."""
        return str(self.recurrence_dtype(precision)).removeprefix("torch.")

    def inference_weights(
        self, precision: str | None = None
    ) -> tuple[dict, tuple[torch.Tensor, torch.Tensor]]:
        """``(weights, (x·Wx + b table, x·Wmx table))`` for the inference recurrence: :meth:`effective_weights` and
        :meth:`input_tables`, with ``wh``, ``wmh`` and the ``x·Wmx`` table cast to :meth:`recurrence_dtype` (the
        mixed-precision path of :func:`_scan_inplace`)."""
        w = self.effective_weights()
        tz, tm = self.input_tables(w)
        low = self.recurrence_dtype(precision)
        if low != self.wx.dtype:
            w = {**w, "wh": w["wh"].to(low), "wmh": w["wmh"].to(low)}
            tm = tm.to(low)
        return w, (tz, tm)

    def _projections(self, input_ids: torch.Tensor, w: dict) -> tuple[torch.Tensor, torch.Tensor]:
        """``(x·Wmx, x·Wx + b)`` for ``input_ids`` of any shape ``S`` → (S, H), (S, 4H). Without gradients and for
        more ids than byte values the rows are gathered from :meth:`input_tables`."""
        if input_ids.numel() >= self.config.vocab_size and not _needs_grad(
            self.embed.weight, w["wx"], w["wmx"]
        ):
            tz, tm = self.input_tables(w)
            return F.embedding(input_ids, tm), F.embedding(input_ids, tz)
        x = self.embed(input_ids)
        xz = torch.addmm(w["b"], x.reshape(-1, x.shape[-1]), w["wx"]).view(*x.shape[:-1], -1)
        return x @ w["wmx"], xz

    def run(
        self,
        input_ids: torch.Tensor,
        state: tuple[torch.Tensor, torch.Tensor] | None = None,
        mask: torch.Tensor | None = None,
        clamp: dict | None = None,
        collect: str | None = "h",
        weights: dict | None = None,
    ):
        """One pass of the recurrence over ``input_ids`` (B, T): ``(c, h, hs, cs)`` (see :func:`mlstm_scan`).

        Without gradients, ``mask`` or ``clamp`` the projections are made time-major (T, B, ·) and the recurrence
        runs in place (:func:`_scan_inplace`); ``state`` is never modified."""
        w = weights if weights is not None else self.effective_weights()
        c, h = state if state is not None else self.zero_state(input_ids.shape[0])
        if mask is None and clamp is None and not _needs_grad(c, h, self.embed.weight, *w.values()):
            xm, xz = self._projections(input_ids.t(), w)  # (T, B, H), (T, B, 4H): fresh, ours to overwrite
            c, h = (
                c.clone(memory_format=torch.contiguous_format),
                h.clone(memory_format=torch.contiguous_format),
            )
            c_seq, h_seq = _state_buffers(c, input_ids.shape[1], collect)
            _scan_inplace(xm, xz, c, h, w["wh"], w["wmh"], c_seq=c_seq, h_seq=h_seq)
            hs, cs = (None if q is None else q.transpose(0, 1).contiguous() for q in (h_seq, c_seq))
            return c, h, hs, cs
        xm, xz = self._projections(input_ids, w)
        return mlstm_scan(xm, xz, c, h, w["wh"], w["wmh"], mask=mask, clamp=clamp, collect=collect)

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        state: tuple[torch.Tensor, torch.Tensor] | None = None,
        labels: torch.Tensor | None = None,
        output_cell_states: bool = False,
        return_dict: bool | None = None,
        **kwargs,
    ):
        """Next-byte logits for ``input_ids`` (B, T); ``labels`` (B, T) give the mean cross-entropy (nats);
        ``-100`` labels are ignored."""
        if input_ids is None:
            raise ValueError("input_ids (B, T) of byte values is required")
        if input_ids.ndim == 1:
            input_ids = input_ids.unsqueeze(0)
        c, h, hs, cs = self.run(input_ids, state, collect="both" if output_cell_states else "h")
        logits = self.out(hs)
        loss = None
        if labels is not None:
            loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(), labels.reshape(-1))
        out = MLSTMOutput(loss=loss, logits=logits, state=(c, h), hidden_states=hs, cell_states=cs)
        return_dict = return_dict if return_dict is not None else self.config.return_dict
        return out if return_dict else out.to_tuple()

    # ------------------------------------------------------------------------------------ sentiment-neuron API
    def _ids(self, data: bytes) -> torch.Tensor:
        return torch.frombuffer(bytearray(data), dtype=torch.uint8).to(self.wx.device, torch.long)

    def _chunk_steps(self, batch: int, chunk_size: int | None) -> int:
        """Time steps per chunk: ``chunk_size`` (config default), lowered so that the chunk's projections
        (T × batch × 5H floats) stay within :data:`WORKSPACE_BYTES`."""
        chunk = int(self.config.chunk_size if chunk_size is None else chunk_size)
        if chunk < 1:
            raise ValueError(f"chunk_size must be >= 1, got {chunk}")
        per_step = max(1, batch) * 5 * self.hidden_size * self.wx.element_size()
        return max(1, min(chunk, WORKSPACE_BYTES // per_step))

    def _read_sorted(self, batch: Sequence[bytes], w: dict, tables, chunk_size: int | None):
        """Final ``(c, h)`` (B, H) after reading each of ``batch`` (byte strings sorted longest first).

        All texts start at step 0; at step ``t`` only the first ``n_t`` rows (the texts longer than ``t``) are
        updated, so a text's row keeps its final state once it has ended: no padding is computed and no mask is
        needed. Rows are read ``T`` steps at a time, the projections of a chunk gathered from ``tables``."""
        n_rows = len(batch)
        lens = np.fromiter((len(d) for d in batch), dtype=np.int64, count=n_rows)
        if n_rows > 1 and np.any(np.diff(lens) > 0):
            raise ValueError("texts must be sorted longest first")
        c, h = self.zero_state(n_rows)
        if n_rows == 0 or lens[0] == 0:
            return c, h
        tz, tm = tables
        device = self.wx.device
        flat = np.frombuffer(b"".join(batch), dtype=np.uint8)
        starts = np.concatenate([[0], np.cumsum(lens)[:-1]])
        steps = self._chunk_steps(n_rows, chunk_size)
        hidden = self.hidden_size
        z_buf = tz.new_empty(steps * n_rows * 4 * hidden)
        m_buf = tm.new_empty(steps * n_rows * hidden)
        longest = int(lens[0])
        neg_lens = -lens  # ascending: rows with len > t are searchsorted(neg_lens, -t)
        for t0 in range(0, longest, steps):
            t1 = min(longest, t0 + steps)
            n = int(np.searchsorted(neg_lens, -t0, side="left"))
            width = t1 - t0
            # (T, n) byte ids; positions past a text's end repeat its last byte (never read).
            pos = starts[:n, None] + np.minimum(np.arange(t0, t1)[None, :], lens[:n, None] - 1)
            ids = torch.from_numpy(np.ascontiguousarray(flat[pos.T])).to(device, torch.long).view(-1)
            xz = torch.index_select(tz, 0, ids, out=z_buf[: ids.numel() * 4 * hidden].view(-1, 4 * hidden))
            xm = torch.index_select(tm, 0, ids, out=m_buf[: ids.numel() * hidden].view(-1, hidden))
            xz, xm = xz.view(width, n, -1), xm.view(width, n, -1)
            s = t0
            while s < t1:
                n_s = int(np.searchsorted(neg_lens, -s, side="left"))
                e = min(t1, int(lens[n_s - 1]))  # the shortest active text ends after step e - 1
                a, b = s - t0, e - t0
                _scan_inplace(xm[a:b, :n_s], xz[a:b, :n_s], c[:n_s], h[:n_s], w["wh"], w["wmh"])
                s = e
        return c, h

    @torch.inference_mode()
    def featurize(
        self,
        texts: str | bytes | Sequence[str],
        state: str | None = None,
        batch_size: int = 128,
        chunk_size: int | None = None,
        precision: str | None = None,
    ) -> np.ndarray:
        """Final ``c`` (or ``h``) state after reading each text, preprocessed as encoder.py → (N, H) float32.

        Texts are sorted by byte length (as encoder.py's ``transform`` does), longest first, and read
        ``batch_size`` at a time; the batch shrinks as its shorter texts end (exact: a finished text's state is
        simply not updated again, nothing is padded or masked). Each batch is read in chunks of at most
        ``chunk_size`` steps with the state carried, so memory is O(batch_size × chunk × H) whatever the text length
        (the chunk is also capped so that its projections fit :data:`WORKSPACE_BYTES`). ``precision`` (default
        ``config.precision``) selects float32 or mixed bfloat16 recurrent products (:class:`MLSTMConfig`).
        """
        state = state or self.config.state
        if state not in STATES:
            raise ValueError(f"state must be 'c' or 'h', got {state!r}")
        if isinstance(texts, (str, bytes, bytearray)):
            texts = [texts]
        if int(batch_size) < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        data = [preprocess(t) for t in texts]
        order = np.argsort([-len(d) for d in data], kind="stable")
        feats = np.zeros((len(data), self.hidden_size), dtype=np.float32)
        w, tables = self.inference_weights(precision)
        for start in range(0, len(order), int(batch_size)):
            idx = order[start : start + int(batch_size)]
            c, h = self._read_sorted([data[i] for i in idx], w, tables, chunk_size)
            feats[idx] = (c if state == "c" else h).float().cpu().numpy()
        return feats

    @torch.inference_mode()
    def trace(
        self,
        text: str | bytes,
        unit=None,
        state: str | None = None,
        chunk_size: int | None = None,
        preprocessed: bool = False,
        dtype=np.float32,
        precision: str | None = None,
    ) -> np.ndarray:
        """Per-byte state while reading ``preprocess(text)`` (or ``text`` as raw bytes when ``preprocessed``).

        Returns (n_bytes,) for one ``unit``, (n_bytes, k) for a list of ``k`` units, or (n_bytes, H) for all units
        (``unit=None``), in ``dtype`` (float32, or float16 to halve it). The result is allocated once and each
        chunk's states are written straight into it, so the memory beyond the result is one chunk's workspace:
        one unit over 1 MB of text costs 4 MB; all units cost n_bytes × H × 4 bytes (4 GB for 1 MB at H = 1024:
        ask for the units you need). ``precision`` as in :meth:`featurize` (the same default, so a trace ends on
        the featurised value).
        """
        state = state or self.config.state
        if state not in STATES:
            raise ValueError(f"state must be 'c' or 'h', got {state!r}")
        dtype = np.dtype(dtype)
        if dtype not in (np.dtype(np.float32), np.dtype(np.float16)):
            raise ValueError(f"dtype must be float32 or float16, got {dtype}")
        units = None if unit is None else check_units(unit, self.hidden_size)
        if preprocessed:
            data = bytes(text) if isinstance(text, (bytes, bytearray)) else to_text(text).encode("utf-8")
        else:
            data = preprocess(text)
        hidden = self.hidden_size
        values = np.empty((len(data), hidden if units is None else len(units)), dtype=dtype)
        out = torch.from_numpy(values)
        if len(data):
            w, (tz, tm) = self.inference_weights(precision)
            device = self.wx.device
            raw = torch.frombuffer(bytearray(data), dtype=torch.uint8)  # int64 one chunk at a time
            sel = None if units is None else torch.tensor(units, device=device)
            c, h = self.zero_state(1)
            steps = self._chunk_steps(1, chunk_size)
            seq = c.new_empty(steps, 1, hidden)
            for t0 in range(0, len(data), steps):
                chunk_ids = raw[t0 : t0 + steps].to(device, torch.long)
                width = chunk_ids.numel()
                xm, xz = F.embedding(chunk_ids, tm).unsqueeze(1), F.embedding(chunk_ids, tz).unsqueeze(1)
                c_seq, h_seq = (seq[:width], None) if state == "c" else (None, seq[:width])
                _scan_inplace(xm, xz, c, h, w["wh"], w["wmh"], c_seq=c_seq, h_seq=h_seq)
                states = seq[:width, 0]
                out[t0 : t0 + width] = (states if sel is None else states.index_select(1, sel)).cpu()
        if units is not None and not isinstance(unit, (list, tuple, np.ndarray, torch.Tensor)):
            return values[:, 0]
        return values

    def byte_logits(self, text: str | bytes) -> torch.Tensor:
        """Next-byte logits (T, 256) over the raw UTF-8 bytes of ``text`` (no preprocessing), for bits-per-byte."""
        data = bytes(text) if isinstance(text, (bytes, bytearray)) else to_text(text).encode("utf-8")
        return self(self._ids(data).unsqueeze(0)).logits[0]


register_model(MLSTMConfig, MLSTMForByteLM, auto_classes=(AutoModel,))
