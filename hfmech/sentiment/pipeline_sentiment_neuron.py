"""``SentimentNeuronPipeline`` — task ``"sentiment-neuron"``: read a review with the byte mLSTM, report the one unit.

Radford, Jozefowicz & Sutskever (2017): a byte-level mLSTM trained only to predict the next byte of reviews keeps a
single "sentiment unit" in its cell state whose final value classifies the review, and whose per-character value
shows where the model changes its mind. Clamping the unit steers generated reviews positive or negative.

Public API::

    import hfmech
    from transformers import pipeline

    neuron = pipeline("sentiment-neuron", model=hfmech.zoo.build("mlstm-imdb"))   # or a folder / Hub id
    out = neuron("A gripping film, wonderful acting.")
    out  # {"label": "POSITIVE", "score": 0.93, "value": 0.41, "unit": 181, "text": "...", "trace": [...]}
    neuron(["good", "bad"])                           # a list of dicts
    neuron.generate("The movie", clamp=+1.0, max_bytes=200, seed=0)   # {"prompt", "text", "clamp", ...}

Output fields: ``value`` is the unit's final state (``c`` by default, ``config.state``) after encoder.py's
preprocessing; ``label`` is ``POSITIVE`` when ``polarity·(value − threshold) > 0``; ``score`` is the probability of
that label under the single-unit logistic fit stored in the config (``σ(unit_scale·polarity·(value − threshold))``;
``unit_scale`` comes from the probe, 1.0 when uncalibrated) — the model itself knows nothing of labels;
``text`` is the cleaned text and ``trace`` one value per character of it (the unit's state after the character's
last byte), for the heatmap. ``unit=`` overrides the configured unit (then ``label``/``score`` still use the
configured polarity and threshold).

``generate`` (clamped generation) is a method, not a second task: ``clamp`` is either a number ``v`` — "sentiment
v" on the positive-up scale: the configured unit is held at ``polarity·v`` (``+1.0`` positive, ``-1.0`` negative) — or
``{unit: raw value}`` for any units; ``None`` samples freely.

Errors: :class:`~hfmech.sentiment.preprocessing.SentimentInputError` (empty/whitespace text, invalid UTF-8, not a
string), :class:`~hfmech.sentiment.modeling_mlstm.UnknownUnitError`, :class:`SentimentConfigError` (the model has no
configured sentiment unit and none was passed), :class:`~hfmech.sentiment.generation.ClampError`.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from ..errors import HfmechError
from ..hub.pipelines import ModelOnlyPipeline
from .generation import ClampError, _number, generate, parse_clamp
from .modeling_mlstm import MLSTMForByteLM, check_units
from .preprocessing import FRONT_PAD, require_text

__all__ = ["SentimentConfigError", "SentimentNeuronPipeline", "char_values"]


class SentimentConfigError(HfmechError, ValueError):
    """The model's config names no sentiment unit (and the call passed none)."""


def char_values(text: str, byte_values: np.ndarray) -> list[float]:
    """Map per-byte values over ``preprocess(text)`` (``'\\n ' + text + ' '``) to one value per character of
    ``text``: the value after the character's last UTF-8 byte."""
    pos = len(FRONT_PAD.encode("utf-8"))
    out = []
    for ch in text:
        pos += len(ch.encode("utf-8"))
        out.append(float(byte_values[pos - 1]))
    return out


class SentimentNeuronPipeline(ModelOnlyPipeline):
    """Sentiment-unit reading and clamped generation over an :class:`MLSTMForByteLM` (see the module docstring)."""

    def __init__(self, model=None, *args, **kwargs):
        if not isinstance(model, MLSTMForByteLM):
            raise TypeError(f"sentiment-neuron needs an hfmech MLSTMForByteLM, got {type(model).__name__}")
        if model.dtype in (torch.float16, torch.bfloat16):
            model = model.float()  # fp16 weights from the Hub: CPU recurrence in float32
        super().__init__(model, *args, **kwargs)
        self.model.eval()

    # ------------------------------------------------------------------------------------------------ settings
    def _unit(self, unit) -> int:
        if unit is None:
            unit = self.model.config.sentiment_unit
            if unit is None:
                raise SentimentConfigError(
                    "this model's config names no sentiment_unit: pass unit=N (find it with hfmech.sentiment.probe)"
                )
        return check_units(unit, self.model.config.hidden_size)[0]

    def _sanitize_parameters(self, unit=None, state=None, return_trace=None, **unused):
        if unused:
            raise ValueError(f"unknown argument(s) {', '.join(sorted(unused))} for sentiment-neuron")
        state = state or self.model.config.state
        if state not in ("c", "h"):
            raise ValueError(f"state must be 'c' or 'h', got {state!r}")
        if unit is not None:
            unit = check_units(unit, self.model.config.hidden_size)[0]
        forward = {"unit": unit, "state": state}  # None: the configured unit, resolved per call in _forward
        return {}, forward, {"return_trace": True if return_trace is None else bool(return_trace)}

    # ---------------------------------------------------------------------------------------------- the steps
    def preprocess(self, inputs):
        return {"text": require_text(inputs)}

    def _forward(self, model_inputs, unit: int | None, state: str):
        text = model_inputs["text"]
        unit = self._unit(unit)
        values = self.model.trace(text, unit=unit, state=state)
        return {"text": text, "values": values, "unit": unit, "state": state}

    def postprocess(self, model_outputs, return_trace: bool = True):
        cfg = self.model.config
        value = float(model_outputs["values"][-1])
        margin = cfg.polarity * (value - cfg.threshold)
        p_pos = 1.0 / (1.0 + math.exp(-max(min(cfg.unit_scale * margin, 50.0), -50.0)))
        label = "POSITIVE" if margin > 0 else "NEGATIVE"
        out = {
            "label": label,
            "score": p_pos if label == "POSITIVE" else 1.0 - p_pos,
            "value": value,
            "unit": model_outputs["unit"],
            "state": model_outputs["state"],
            "text": model_outputs["text"],
        }
        if return_trace:
            out["trace"] = char_values(model_outputs["text"], model_outputs["values"])
        return out

    # ------------------------------------------------------------------------------------- clamped generation
    def generate(
        self,
        prompt: str = "",
        clamp=None,
        max_bytes: int = 200,
        temperature: float = 1.0,
        seed: int | None = 0,
        clamp_on: str | None = None,
        unit=None,
    ) -> dict:
        """Sample a continuation of ``prompt`` with the sentiment unit (or any units) clamped; see the module
        docstring for ``clamp``. Returns ``{"prompt", "text", "clamp" (raw {unit: value}), "clamp_on"}``."""
        cfg = self.model.config
        if clamp is None or isinstance(clamp, dict):
            raw = clamp
        else:
            target = self._unit(unit)
            raw = {target: cfg.polarity * _number(clamp, "clamp")}
        if raw is not None and not isinstance(raw, dict):
            raise ClampError(f"clamp must be a number or {{unit: value}}, got {clamp!r}")
        raw = parse_clamp(raw, cfg.hidden_size)
        text = generate(
            self.model,
            prompt,
            max_bytes=max_bytes,
            temperature=temperature,
            clamp=raw,
            clamp_on=clamp_on or cfg.clamp_on,
            seed=seed,
        )
        return {"prompt": prompt, "text": text, "clamp": raw or {}, "clamp_on": clamp_on or cfg.clamp_on}
