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
    model.trace(text, unit=None, state="c")                -> np.ndarray (n_bytes, H), or (n_bytes,) for one unit
    model(input_ids, state=(c, h), labels=...)             -> MLSTMOutput(loss, logits, state, hidden_states)

Efficiency (DESIGN.md): the input projections ``x·Wx + b`` and ``x·Wmx`` are computed for a whole chunk at once and
the recurrence iterates over ``.unbind(1)`` (never ``X[:, t]`` in the loop); long texts are processed in fixed-size
chunks with the state carried across them, so memory is bounded by the chunk, not the text; featurisation batches
texts of similar length together (sorted by length, as encoder.py's ``transform``) and holds the state of shorter
texts fixed over left padding, which is exact.
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


class UnknownUnitError(IndexError, ValueError):
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
        training: free-form record of how the weights were trained (bits per byte, data, schedule).
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
    training: dict | None = None

    def __post_init__(self, **kwargs):
        super().__post_init__(**kwargs)
        for key in ("vocab_size", "embed_size", "hidden_size", "chunk_size"):
            value = int(getattr(self, key))
            if value < 1:
                raise ValueError(f"{key} must be a positive integer, got {value}")
            setattr(self, key, value)
        if self.state not in STATES:
            raise ValueError(f"state must be 'c' or 'h', got {self.state!r}")
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

    Returns ``(c, h, hs, cs)`` with ``hs``/``cs`` (B, T, H) or None.
    """
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

    def run(
        self,
        input_ids: torch.Tensor,
        state: tuple[torch.Tensor, torch.Tensor] | None = None,
        mask: torch.Tensor | None = None,
        clamp: dict | None = None,
        collect: str | None = "h",
        weights: dict | None = None,
    ):
        """One pass of the recurrence over ``input_ids`` (B, T): ``(c, h, hs, cs)`` (see :func:`mlstm_scan`)."""
        w = weights if weights is not None else self.effective_weights()
        x = self.embed(input_ids)  # (B, T, E)
        xm = x @ w["wmx"]
        xz = torch.addmm(w["b"], x.reshape(-1, x.shape[-1]), w["wx"]).view(*x.shape[:2], -1)
        c, h = state if state is not None else self.zero_state(input_ids.shape[0])
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

    @torch.no_grad()
    def featurize(
        self,
        texts: str | bytes | Sequence[str],
        state: str | None = None,
        batch_size: int = 128,
        chunk_size: int | None = None,
    ) -> np.ndarray:
        """Final ``c`` (or ``h``) state after reading each text, preprocessed as encoder.py → (N, H) float32.

        Texts are sorted by byte length and batched (``batch_size``); shorter texts in a batch are left-padded and
        their state is held over the padding (exact). Each batch is read ``chunk_size`` bytes at a time with the
        state carried, so memory is O(batch_size × chunk_size × H) whatever the text length.
        """
        state = state or self.config.state
        if state not in STATES:
            raise ValueError(f"state must be 'c' or 'h', got {state!r}")
        if isinstance(texts, (str, bytes, bytearray)):
            texts = [texts]
        if int(batch_size) < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        chunk = int(chunk_size or self.config.chunk_size)
        data = [preprocess(t) for t in texts]
        order = np.argsort([len(d) for d in data], kind="stable")
        feats = np.zeros((len(data), self.hidden_size), dtype=np.float32)
        w = self.effective_weights()
        for start in range(0, len(order), int(batch_size)):
            idx = order[start : start + int(batch_size)]
            batch = [data[i] for i in idx]
            longest = max(len(d) for d in batch)
            ids = torch.zeros(len(batch), longest, dtype=torch.long, device=self.wx.device)
            mask = torch.zeros(len(batch), longest, dtype=torch.bool, device=self.wx.device)
            for row, d in enumerate(batch):
                ids[row, longest - len(d) :] = self._ids(d)
                mask[row, longest - len(d) :] = True
            st = self.zero_state(len(batch))
            for t0 in range(0, longest, chunk):
                m = mask[:, t0 : t0 + chunk]
                c, h, _, _ = self.run(
                    ids[:, t0 : t0 + chunk], st, mask=None if bool(m.all()) else m, collect=None, weights=w
                )
                st = (c, h)
            final = st[0] if state == "c" else st[1]
            feats[idx] = final.float().cpu().numpy()
        return feats

    @torch.no_grad()
    def trace(
        self,
        text: str | bytes,
        unit=None,
        state: str | None = None,
        chunk_size: int | None = None,
        preprocessed: bool = False,
    ) -> np.ndarray:
        """Per-byte state while reading ``preprocess(text)`` (or ``text`` as raw bytes when ``preprocessed``).

        Returns (n_bytes, H) float32, or (n_bytes,) for one ``unit`` / (n_bytes, k) for a list of units; only the
        requested units are kept, so tracing one unit over 1 MB of text costs 4 MB, not 4 MB × H.
        """
        state = state or self.config.state
        if state not in STATES:
            raise ValueError(f"state must be 'c' or 'h', got {state!r}")
        units = None if unit is None else check_units(unit, self.hidden_size)
        if preprocessed:
            data = bytes(text) if isinstance(text, (bytes, bytearray)) else to_text(text).encode("utf-8")
        else:
            data = preprocess(text)
        chunk = int(chunk_size or self.config.chunk_size)
        ids = self._ids(data).unsqueeze(0)
        w = self.effective_weights()
        st = self.zero_state(1)
        pieces = []
        sel = None if units is None else torch.tensor(units, device=self.wx.device)
        for t0 in range(0, ids.shape[1], chunk):
            c, h, hs, cs = self.run(ids[:, t0 : t0 + chunk], st, collect=state, weights=w)
            st = (c, h)
            seq = (cs if state == "c" else hs)[0]
            pieces.append((seq if sel is None else seq[:, sel]).float().cpu().numpy())
        values = np.concatenate(pieces, 0) if pieces else np.zeros((0, len(units or [0]) or self.hidden_size))
        if units is not None and not isinstance(unit, (list, tuple, np.ndarray, torch.Tensor)):
            return values[:, 0]
        return values

    def byte_logits(self, text: str | bytes) -> torch.Tensor:
        """Next-byte logits (T, 256) over the raw UTF-8 bytes of ``text`` (no preprocessing), for bits-per-byte."""
        data = bytes(text) if isinstance(text, (bytes, bytearray)) else to_text(text).encode("utf-8")
        return self(self._ids(data).unsqueeze(0)).logits[0]


register_model(MLSTMConfig, MLSTMForByteLM, auto_classes=(AutoModel,))
