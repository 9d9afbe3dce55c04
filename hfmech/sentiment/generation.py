"""Sampling reviews from the byte mLSTM, optionally with a unit clamped ("overwriting the sentiment unit").

Radford et al. (2017), §4.2 and Table 3: "we generate samples from the model after fixing the value of the sentiment
unit" — the unit's value is overwritten at every step, so the model writes positive or negative reviews on request.
Here any unit(s) can be clamped, on the cell state ``c`` (the paper's features; default), on ``h``, or on both; with
``clamp_on="c"`` the clamped ``c`` is what ``h = o·tanh(c)`` and every later step see. The clamp holds while the
prompt is read *and* while sampling.

``generate(model, prompt, max_bytes=200, temperature=1.0, clamp={unit: value}, clamp_on="c", seed=0)`` returns the
generated continuation (a ``str``; bytes that do not form valid UTF-8 are replaced by U+FFFD). The prompt is
preprocessed as encoder.py does for featurisation (``'\\n ' + text``, without the trailing space, so the model
continues the text) — an empty prompt starts a review from scratch.
"""

from __future__ import annotations

import math
import numbers

import torch

from ..errors import HfmechError
from .modeling_mlstm import MLSTMForByteLM, check_units
from .preprocessing import FRONT_PAD, preprocess, to_text

__all__ = ["ClampError", "generate", "parse_clamp"]

MAX_BYTES_LIMIT = 100_000


class ClampError(HfmechError, ValueError):
    """A clamp specification that is not ``{unit index: finite number}``, or an invalid sampling setting."""


def _number(value, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, str)):
        raise ClampError(f"{what} must be a number, got {value!r}")
    try:
        out = float(value)
    except ValueError:
        raise ClampError(f"{what} must be a number, got {value!r}") from None
    if not math.isfinite(out):
        raise ClampError(f"{what} must be finite, got {value!r}")
    return out


def parse_clamp(clamp, hidden_size: int) -> dict[int, float]:
    """Validate ``{unit: value}`` (units → :class:`UnknownUnitError`, values → :class:`ClampError`)."""
    if clamp is None:
        return {}
    if not isinstance(clamp, dict):
        raise ClampError(f"clamp must be a dict {{unit: value}}, got {type(clamp).__name__}")
    units = check_units(list(clamp.keys()), hidden_size)
    return {u: _number(v, f"clamp value for unit {u}") for u, v in zip(units, clamp.values())}


def _clamp_tensors(clamp: dict[int, float], clamp_on: str, like: torch.Tensor) -> dict | None:
    if not clamp:
        return None
    idx = torch.tensor(list(clamp.keys()), dtype=torch.long, device=like.device)
    values = torch.tensor(list(clamp.values()), dtype=like.dtype, device=like.device).unsqueeze(0)
    places = ("c", "h") if clamp_on == "both" else (clamp_on,)
    return {p: (idx, values) for p in places}


@torch.no_grad()
def generate(
    model: MLSTMForByteLM,
    prompt: str = "",
    max_bytes: int = 200,
    temperature: float = 1.0,
    clamp: dict | None = None,
    clamp_on: str | None = None,
    seed: int | None = 0,
    stop_at_end: bool = False,
    return_trace: bool = False,
):
    """Sample ``max_bytes`` bytes after ``prompt``.

    Args:
        temperature: softmax temperature (> 0); ``0`` means greedy (argmax).
        clamp: ``{unit: value}`` held at every step (prompt and sampling); None for free generation.
        clamp_on: ``"c"`` (default, the config's), ``"h"`` or ``"both"``.
        seed: seeds a private ``torch.Generator`` (same seed → same text); None draws from the global RNG.
        stop_at_end: stop at the first newline (the start of the next review in encoder.py's framing).
        return_trace: also return the list of clamped-state tensors per step (tests use it to check the clamp).

    Returns the continuation ``str`` (or ``(str, trace)`` with ``trace`` a list of ``(c, h)`` per step).
    """
    max_bytes = int(_number(max_bytes, "max_bytes"))
    if not 0 <= max_bytes <= MAX_BYTES_LIMIT:
        raise ClampError(f"max_bytes must be in [0, {MAX_BYTES_LIMIT}], got {max_bytes}")
    temperature = _number(temperature, "temperature")
    if temperature < 0:
        raise ClampError(f"temperature must be >= 0, got {temperature}")
    clamp_on = clamp_on or model.config.clamp_on
    if clamp_on not in ("c", "h", "both"):
        raise ClampError(f"clamp_on must be 'c', 'h' or 'both', got {clamp_on!r}")
    text = to_text(prompt)
    units = parse_clamp(clamp, model.config.hidden_size)
    # Keep the user's trailing space ("The movie " continues with a new word); strip() would drop it.
    end_pad = " " if text.strip() and text[-1:].isspace() else ""
    data = preprocess(text, front_pad=FRONT_PAD, end_pad=end_pad)
    generator = None
    if seed is not None:
        generator = torch.Generator(device="cpu").manual_seed(int(seed))
    weights = model.effective_weights()
    state = model.zero_state(1)
    clamp_t = _clamp_tensors(units, clamp_on, state[0])
    trace = []
    ids = model._ids(data).unsqueeze(0)
    # Read the prompt (all but its last byte) in one scan; the last byte is the first input of the sampling loop.
    if ids.shape[1] > 1:
        c, h, hs, cs = model.run(
            ids[:, :-1], state, clamp=clamp_t, collect="both" if return_trace else None, weights=weights
        )
        state = (c, h)
        if return_trace:
            trace.extend(zip(cs[0].unbind(0), hs[0].unbind(0)))
    current = ids[:, -1:]
    out = bytearray()
    for _ in range(max_bytes):
        c, h, _, _ = model.run(current, state, clamp=clamp_t, collect=None, weights=weights)
        state = (c, h)
        if return_trace:
            trace.append((c[0], h[0]))
        logits = model.out(h)[0].float()
        if temperature == 0:
            nxt = int(torch.argmax(logits))
        else:
            probs = torch.softmax(logits / temperature, dim=-1).cpu()
            nxt = int(torch.multinomial(probs, 1, generator=generator))
        if stop_at_end and nxt == 0x0A:
            break
        out.append(nxt)
        current = torch.tensor([[nxt]], dtype=torch.long, device=ids.device)
    text = out.decode("utf-8", errors="replace")
    return (text, trace) if return_trace else text
