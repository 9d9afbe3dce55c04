"""``SentimentNeuronPipeline`` — task ``"sentiment-neuron"``: read a text with one unit of a language model.

Radford, Jozefowicz & Sutskever (2017, arXiv:1704.01444): a byte-level mLSTM trained only to predict the next byte
of reviews keeps a single "sentiment unit" in its cell state whose final value classifies the review, and whose
per-character value shows where the model changes its mind; clamping the unit steers generated reviews. The same
mechanism is found in transformer language models: an L1 probe over one layer's MLP activations (or residual
stream) picks one unit that alone reads sentiment (:mod:`hfmech.sentiment.discover_lm`).

Two model families, one interface:

* **byte mLSTM** (:class:`~hfmech.sentiment.modeling_mlstm.MLSTMForByteLM`, ours or OpenAI's converted weights):
  the unit is ``config.sentiment_unit`` of the final ``c`` (or ``h``) state, ``(H,)``; the trace is one value per
  character (the state after the character's last byte).
* **any causal LM** (``AutoModelForCausalLM``) whose config carries ``config.sentiment_neuron`` =
  ``{"site": "mlp" | "residual", "layer": L, "unit": u, "pool": "mean" | "last", "polarity": ±1,
  "threshold": t, "scale": s, "clamp_value": v, "unit_accuracy": a, "measured_on": "..."}``: the site's
  activations at layer ``L`` are ``(T, units)`` for a text of ``T`` tokens; ``value`` is unit ``u`` pooled over the
  tokens (mean, or the last token); the trace is the running pool after each token (causal, so ``trace[t]`` is
  exactly the value of the text cut after token ``t``), with ``token_values`` the unit's raw activation per token.

Public API::

    import hfmech
    from transformers import pipeline
    from hfmech.sentiment.pipeline_sentiment_neuron import DEFAULT_MODEL

    neuron = pipeline("sentiment-neuron", model=hfmech.zoo.build(DEFAULT_MODEL))   # or a folder / Hub id
    out = neuron("A gripping film, wonderful acting.")
    out  # {"label": "POSITIVE", "score": 0.99, "value": -0.53, "unit": 451, "calibrated": True, "trace": [...], ...}
    neuron(["good", "bad"])                                   # a list of dicts
    neuron.generate("The movie", clamp=+1.0, seed=0)           # {"prompt", "text", "clamp", ...}

**Honesty floor.** ``label`` is ``POSITIVE``/``NEGATIVE`` (``polarity·(value − threshold) > 0``) and ``score`` the
probability of that label under the single-unit logistic fit (``σ(scale·polarity·(value − threshold))``) only when
the configured unit's *measured* accuracy (``config.sentiment_neuron["unit_accuracy"]``, measured on
``["measured_on"]``) is at least :data:`UNIT_ACCURACY_FLOOR`. Otherwise — accuracy below the floor, never measured,
or a unit other than the configured one (``unit=``/``layer=`` overrides) — ``label`` and ``score`` are ``None``,
``calibrated`` is ``False`` and ``message`` says why; ``value`` and the trace are still returned.

``generate`` (clamped generation, the paper's steering) is a method, not a second task: ``clamp`` is a number ``v``
(the configured unit is held at ``polarity·v`` at every position: positive ``v`` asks for positive text) or
``{unit: raw value}``; ``None`` samples freely.

Errors (all :class:`~hfmech.errors.HfmechError`): :class:`~hfmech.sentiment.preprocessing.SentimentInputError`
(empty/whitespace text, invalid UTF-8, not a string), :class:`TextTooLongError`,
:class:`~hfmech.sentiment.modeling_mlstm.UnknownUnitError` (unit out of range), :class:`SentimentConfigError` (no
configured unit and none passed, or a broken ``sentiment_neuron`` config),
:class:`~hfmech.sentiment.lm_neuron.UnknownLayerError` (layer out of range),
:class:`~hfmech.sentiment.generation.ClampError` (bad clamp, length or temperature),
:class:`~hfmech.errors.SeedError`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from ..errors import HfmechError, LimitError, check_seed
from ..hub.pipelines import ModelOnlyPipeline
from .generation import MAX_BYTES_LIMIT, ClampError, _number, generate, parse_clamp
from .modeling_mlstm import MLSTMForByteLM, check_units
from .preprocessing import FRONT_PAD, require_text

__all__ = [
    "DEFAULT_MODEL",
    "MAX_NEW_TOKENS_LIMIT",
    "MLSTM_MAX_READ_BYTES",
    "UNIT_ACCURACY_FLOOR",
    "NeuronSpec",
    "SentimentConfigError",
    "SentimentNeuronPipeline",
    "TextTooLongError",
    "char_values",
    "format_reading",
    "neuron_spec",
]

DEFAULT_MODEL = "smollm2-135m-sentiment"
"""The zoo model the task, the CLI and the Space use by default: SmolLM2-135M-Instruct with its sentiment unit."""

UNIT_ACCURACY_FLOOR = 0.6
"""Below this measured single-unit accuracy (chance is 0.5) the pipeline gives no label: the unit is uncalibrated."""

MAX_NEW_TOKENS_LIMIT = 1024
"""Most tokens one ``generate`` call of a causal LM may produce."""

MLSTM_MAX_READ_BYTES = 100_000
"""Most UTF-8 bytes the byte mLSTM reads in one text (it reads one byte a step: ~300 bytes/s at H = 1024 on a CPU
core, so 100 kB is ~5 minutes); longer texts raise :class:`TextTooLongError` unless ``truncate=True``."""

DEFAULT_MAX_TOKENS = 1024
"""Most tokens a causal LM reads in one text unless its config says otherwise (``sentiment_neuron["max_tokens"]``)."""

LM_SITES = ("mlp", "residual")
LM_POOLS = ("mean", "last")


class SentimentConfigError(HfmechError, ValueError):
    """The model's config names no sentiment unit (and the call passed none), or its ``sentiment_neuron`` is
    malformed."""


class TextTooLongError(LimitError):
    """The text is longer than the model reads in one call (pass ``truncate=True`` to read its beginning)."""


def char_values(text: str, byte_values: np.ndarray) -> list[float]:
    """Map per-byte values over ``preprocess(text)`` (``'\\n ' + text + ' '``) to one value per character of
    ``text``: the value after the character's last UTF-8 byte."""
    pos = len(FRONT_PAD.encode("utf-8"))
    out = []
    for ch in text:
        pos += len(ch.encode("utf-8"))
        out.append(float(byte_values[pos - 1]))
    return out


# ------------------------------------------------------------------------------------------------ the unit spec


@dataclass(frozen=True)
class NeuronSpec:
    """Where a model's sentiment unit lives and how it was calibrated (both families).

    ``family`` is ``"mlstm"`` (``site`` = the state ``"c"``/``"h"``, ``layer`` None, ``pool`` ``"final"``) or
    ``"causal-lm"`` (``site`` ``"mlp"``/``"residual"``, ``layer`` the block, ``pool`` ``"mean"``/``"last"``).
    ``unit_accuracy`` is the single unit's measured accuracy (a fraction) on ``measured_on``; ``None``: never
    measured.
    """

    family: str
    unit: int | None
    polarity: int
    threshold: float
    scale: float
    site: str
    layer: int | None
    pool: str
    clamp_value: float
    unit_accuracy: float | None
    measured_on: str | None
    width: int
    max_tokens: int | None = None

    @property
    def calibrated(self) -> bool:
        return self.unit_accuracy is not None and self.unit_accuracy >= UNIT_ACCURACY_FLOOR

    def uncalibrated_reason(self) -> str | None:
        if self.unit_accuracy is None:
            return (
                f"UNCALIBRATED: unit {self.unit}'s accuracy was never measured, so its value is not read as a "
                "sentiment label"
            )
        if self.unit_accuracy < UNIT_ACCURACY_FLOOR:
            return (
                f"UNCALIBRATED: unit {self.unit} reads sentiment at {100 * self.unit_accuracy:.1f} % on "
                f"{self.measured_on or 'its test set'} (chance is 50 %; the floor is "
                f"{100 * UNIT_ACCURACY_FLOOR:.0f} %), so its value is not a sentiment label"
            )
        return None


def _accuracy(value) -> float | None:
    if value is None:
        return None
    try:
        acc = float(value)
    except (TypeError, ValueError):
        raise SentimentConfigError(
            f"sentiment_neuron['unit_accuracy'] must be a number, got {value!r}"
        ) from None
    if acc > 1.0:  # given in percent
        acc /= 100.0
    if not 0.0 <= acc <= 1.0:
        raise SentimentConfigError(f"sentiment_neuron['unit_accuracy'] must be in [0, 1], got {value!r}")
    return acc


def neuron_spec(model) -> NeuronSpec:
    """The :class:`NeuronSpec` of ``model`` (an :class:`MLSTMForByteLM` or a causal LM with
    ``config.sentiment_neuron``); raises :class:`SentimentConfigError` for a malformed config."""
    cfg = model.config
    info = getattr(cfg, "sentiment_neuron", None) or {}
    if not isinstance(info, dict):
        raise SentimentConfigError(f"config.sentiment_neuron must be a dict, got {type(info).__name__}")
    if isinstance(model, MLSTMForByteLM):
        return NeuronSpec(
            family="mlstm",
            unit=cfg.sentiment_unit,
            polarity=int(cfg.polarity),
            threshold=float(cfg.threshold),
            scale=float(cfg.unit_scale),
            site=cfg.state,
            layer=None,
            pool="final",
            clamp_value=float(cfg.clamp_value),
            unit_accuracy=_accuracy(info.get("unit_accuracy")),
            measured_on=info.get("measured_on"),
            width=int(cfg.hidden_size),
        )
    from .lm_neuron import decoder_layers

    n_layers = len(decoder_layers(model))
    site = info.get("site", "mlp")
    if site not in LM_SITES:
        raise SentimentConfigError(f"sentiment_neuron['site'] must be one of {LM_SITES}, got {site!r}")
    pool = info.get("pool", "mean")
    if pool not in LM_POOLS:
        raise SentimentConfigError(f"sentiment_neuron['pool'] must be one of {LM_POOLS}, got {pool!r}")
    width = int(cfg.intermediate_size if site == "mlp" else cfg.hidden_size)
    layer = info.get("layer")
    unit = info.get("unit")
    if unit is not None and (isinstance(unit, bool) or not isinstance(unit, int) or not 0 <= unit < width):
        raise SentimentConfigError(
            f"sentiment_neuron['unit'] must be an integer in [0, {width}), got {unit!r}"
        )
    if layer is not None and (
        isinstance(layer, bool) or not isinstance(layer, int) or not 0 <= layer < n_layers
    ):
        raise SentimentConfigError(
            f"sentiment_neuron['layer'] must be an integer in [0, {n_layers}), got {layer!r}"
        )
    polarity = int(info.get("polarity", 1))
    if polarity not in (1, -1):
        raise SentimentConfigError(f"sentiment_neuron['polarity'] must be +1 or -1, got {polarity!r}")
    numbers = {}
    for key, default in (("threshold", 0.0), ("scale", 1.0), ("clamp_value", 1.0)):
        try:
            numbers[key] = float(info.get(key, default))
        except (TypeError, ValueError):
            raise SentimentConfigError(f"sentiment_neuron[{key!r}] must be a number") from None
        if not math.isfinite(numbers[key]):
            raise SentimentConfigError(f"sentiment_neuron[{key!r}] must be finite")
    max_tokens = int(info.get("max_tokens", DEFAULT_MAX_TOKENS))
    return NeuronSpec(
        family="causal-lm",
        unit=unit,
        polarity=polarity,
        threshold=numbers["threshold"],
        scale=numbers["scale"],
        site=site,
        layer=layer,
        pool=pool,
        clamp_value=numbers["clamp_value"],
        unit_accuracy=_accuracy(info.get("unit_accuracy")),
        measured_on=info.get("measured_on"),
        width=width,
        max_tokens=max_tokens,
    )


def format_reading(out: dict, trace: bool = False) -> str:
    """One reading as CLI text: ``POSITIVE  score=0.912  unit 778 (mlp, layer 12) = +0.1234`` (calibrated) or
    ``UNCALIBRATED  unit 766 (c) = +0.0123`` and the reason; with ``trace``, one ``piece<TAB>value`` line per
    character (mLSTM) or token (causal LM)."""
    where = out.get("site", out.get("state"))
    if out.get("layer") is not None:
        where = f"{where}, layer {out['layer']}"
    reading = f"unit {out['unit']} ({where}) = {out['value']:+.4f}"
    if out.get("label") is None:
        lines = [f"UNCALIBRATED  {reading}", out.get("message", "")]
    else:
        acc = out.get("unit_accuracy")
        measured = (
            f"  [unit accuracy {100 * acc:.1f} % on {out.get('measured_on')}]" if acc is not None else ""
        )
        lines = [f"{out['label']}  score={out['score']:.3f}  {reading}{measured}"]
    if trace:
        pieces = out.get("tokens") or list(out["text"])
        lines += [f"{p!r}\t{v:+.4f}" for p, v in zip(pieces, out["trace"])]
    return "\n".join(line for line in lines if line)


# ------------------------------------------------------------------------------------------------ the pipeline


def _causal_lm(model):
    """A generation-capable model for the causal-LM family: the pipeline factory loads hfmech tasks with
    ``AutoModel`` (the bare decoder, no LM head); reload the folder as ``AutoModelForCausalLM`` then."""
    from transformers import AutoModelForCausalLM, PreTrainedModel

    if not isinstance(model, PreTrainedModel):
        raise TypeError(f"sentiment-neuron needs a transformers model, got {type(model).__name__}")
    if model.get_output_embeddings() is not None and hasattr(model, "generate"):
        return model
    source = getattr(model.config, "_name_or_path", None) or getattr(model, "name_or_path", None)
    if not source:
        raise SentimentConfigError(
            f"{type(model).__name__} has no language-model head and no folder to reload it from: pass an "
            "AutoModelForCausalLM"
        )
    return AutoModelForCausalLM.from_pretrained(source, dtype=torch.float32)


class SentimentNeuronPipeline(ModelOnlyPipeline):
    """Sentiment-unit reading and clamped generation over an :class:`MLSTMForByteLM` or a causal LM with a
    discovered unit (see the module docstring)."""

    def __init__(self, model=None, *args, tokenizer=None, **kwargs):
        if isinstance(model, MLSTMForByteLM):
            self.family = "mlstm"
        else:
            model = _causal_lm(model)
            self.family = "causal-lm"  # without config.sentiment_neuron, reading needs unit= and layer=
        if model.dtype in (torch.float16, torch.bfloat16):
            model = model.float()  # fp16 weights from the Hub: CPU inference in float32
        super().__init__(model, *args, tokenizer=tokenizer, **kwargs)
        if self.family == "causal-lm" and self.tokenizer is None:
            from transformers import AutoTokenizer

            self.tokenizer = AutoTokenizer.from_pretrained(model.config._name_or_path)
        self.model.eval()
        self.spec = neuron_spec(self.model)

    # ------------------------------------------------------------------------------------------------ settings
    def _check_layer(self, layer) -> int | None:
        if layer is None:
            return None
        if self.family == "mlstm":
            raise SentimentConfigError(
                "the byte mLSTM has one recurrent layer: layer= applies to causal LMs only"
            )
        from .lm_neuron import UnknownLayerError, decoder_layers

        n = len(decoder_layers(self.model))
        if isinstance(layer, bool) or not isinstance(layer, (int, np.integer)) or not 0 <= int(layer) < n:
            raise UnknownLayerError(
                f"layer must be an integer in 0..{n - 1} (the model has {n} blocks), got {layer!r}"
            )
        return int(layer)

    def _resolve(self, unit, layer) -> tuple[int, int | None, bool]:
        """``(unit, layer, is_configured)``: the configured unit/layer unless overridden (checked in range)."""
        spec = self.spec
        layer = spec.layer if layer is None else layer
        if unit is None:
            unit = spec.unit
            if unit is None:
                raise SentimentConfigError(
                    "this model's config names no sentiment unit: pass unit=N (and layer=L for a causal LM), or "
                    "find it with python -m hfmech.sentiment.discover_lm"
                )
        unit = check_units(unit, spec.width)[0]
        if self.family == "causal-lm" and layer is None:
            raise SentimentConfigError(
                "this model's config names no layer for its sentiment unit: pass layer=L"
            )
        return unit, layer, (unit == spec.unit and layer == spec.layer)

    def _sanitize_parameters(
        self, unit=None, layer=None, state=None, return_trace=None, truncate=None, **unused
    ):
        if unused:
            raise ValueError(f"unknown argument(s) {', '.join(sorted(unused))} for sentiment-neuron")
        if self.family == "mlstm":
            state = state or self.model.config.state
            if state not in ("c", "h"):
                raise ValueError(f"state must be 'c' or 'h', got {state!r}")
        elif state is not None:
            raise ValueError("state= applies to the byte mLSTM only")
        if unit is not None:
            unit = check_units(unit, self.spec.width)[0]
        layer = self._check_layer(layer)
        forward = {"unit": unit, "layer": layer, "state": state, "truncate": bool(truncate)}
        return {}, forward, {"return_trace": True if return_trace is None else bool(return_trace)}

    # ---------------------------------------------------------------------------------------------- the steps
    def preprocess(self, inputs):
        return {"text": require_text(inputs)}

    def _forward(self, model_inputs, unit, layer, state, truncate):
        text = model_inputs["text"]
        unit, layer, configured = self._resolve(unit, layer)
        out = {"text": text, "unit": unit, "layer": layer, "configured": configured}
        if self.family == "mlstm":
            n_bytes = len(text.encode("utf-8"))
            if n_bytes > MLSTM_MAX_READ_BYTES:
                if not truncate:
                    raise TextTooLongError(
                        f"the text is {n_bytes:,} bytes; the byte mLSTM reads at most {MLSTM_MAX_READ_BYTES:,} in "
                        "one call: shorten it or pass truncate=True to read its beginning"
                    )
                text = text.encode("utf-8")[:MLSTM_MAX_READ_BYTES].decode("utf-8", errors="ignore")
                out["text"] = text
            out["truncated"] = n_bytes > MLSTM_MAX_READ_BYTES
            out["state"] = state
            out["configured"] = configured and state == self.spec.site
            out["values"] = self.model.trace(text, unit=unit, state=state)
            return out
        return {**out, **self._read_lm(text, unit, layer, truncate)}

    def _read_lm(self, text: str, unit: int, layer: int, truncate: bool) -> dict:
        from .lm_neuron import unit_values

        limit = self.spec.max_tokens or DEFAULT_MAX_TOKENS
        # bounded work before tokenising: no tokenizer makes fewer than one token per 64 characters of text
        if not truncate and len(text) > 64 * limit:
            raise TextTooLongError(
                f"the text is {len(text):,} characters; this model reads at most {limit:,} tokens: shorten it or "
                "pass truncate=True to read its beginning"
            )
        if truncate:
            text = text[: 64 * limit]
        n_tokens = len(self.tokenizer(text)["input_ids"])
        if n_tokens > limit and not truncate:
            raise TextTooLongError(
                f"the text is {n_tokens:,} tokens; this model reads at most {limit:,}: shorten it or pass "
                "truncate=True to read its first {limit:,} tokens"
            )
        ids, acts = unit_values(self.model, self.tokenizer, text, layer, self.spec.site, max_length=limit)
        per_token = acts[:, unit].double().numpy()  # (T,)
        if self.spec.pool == "mean":
            running = np.cumsum(per_token) / np.arange(1, len(per_token) + 1)
        else:
            running = per_token
        tokens = [self.tokenizer.decode([i]) for i in ids]
        return {
            "values": running,
            "token_values": per_token,
            "tokens": tokens,
            "truncated": n_tokens > limit,
            "site": self.spec.site,
        }

    def postprocess(self, model_outputs, return_trace: bool = True):
        spec = self.spec
        value = float(model_outputs["values"][-1])
        out = {"value": value, "unit": model_outputs["unit"]}
        if self.family == "mlstm":
            out["state"] = model_outputs["state"]
        else:
            out.update(site=spec.site, layer=model_outputs["layer"], pool=spec.pool)
        out["truncated"] = model_outputs["truncated"]
        out.update(
            text=model_outputs["text"],
            unit_accuracy=spec.unit_accuracy,
            measured_on=spec.measured_on,
        )
        reason = spec.uncalibrated_reason()
        if not model_outputs["configured"]:
            reason = (
                f"UNCALIBRATED: unit {model_outputs['unit']} is not the model's measured sentiment unit, so its "
                "value is not a sentiment label"
            )
        if reason is None:
            margin = spec.polarity * (value - spec.threshold)
            p_pos = 1.0 / (1.0 + math.exp(-max(min(spec.scale * margin, 50.0), -50.0)))
            label = "POSITIVE" if margin > 0 else "NEGATIVE"
            out.update(label=label, score=p_pos if label == "POSITIVE" else 1.0 - p_pos, calibrated=True)
        else:
            out.update(label=None, score=None, calibrated=False, message=reason)
        if return_trace:
            if self.family == "mlstm":
                out["trace"] = char_values(model_outputs["text"], model_outputs["values"])
            else:
                out["trace"] = [float(v) for v in model_outputs["values"]]
                out["tokens"] = model_outputs["tokens"]
                out["token_values"] = [float(v) for v in model_outputs["token_values"]]
        return out

    # ------------------------------------------------------------------------------------- clamped generation
    def generate(
        self,
        prompt: str = "",
        clamp=None,
        max_bytes: int | None = None,
        temperature: float = 1.0,
        seed: int | None = 0,
        clamp_on: str | None = None,
        unit=None,
        max_new_tokens: int | None = None,
        layer=None,
        steer=None,
        strength: float = 4.0,
    ) -> dict:
        """Sample a continuation of ``prompt`` with the sentiment unit (or any units) held fixed at every position
        (Radford et al. 2017, §5). ``clamp``: a number ``v`` (the configured unit at ``polarity·v``), ``{unit: raw
        value}``, or ``None``. Length: ``max_bytes`` bytes for the mLSTM (default 200, at most 100,000);
        ``max_new_tokens`` tokens for a causal LM (default 48, at most :data:`MAX_NEW_TOKENS_LIMIT`; given only
        ``max_bytes``, ``ceil(max_bytes / 4)`` tokens). Returns ``{"prompt", "text", "clamp" (raw {unit: value}),
        ...}``.

        ``steer`` (causal LMs; instead of ``clamp``): activation addition (Turner et al. 2023) of ``strength`` times
        a unit-norm vector at every position — ``"direction"`` (the model's steering vector: its CAA control vector,
        ``sentiment_caa.safetensors``, when its folder has one, ``strength`` then in percent of the residual norm at
        each of its layers; else its sentiment direction, ``sentiment_direction.safetensors``; + is positive), a
        :class:`~hfmech.sentiment.steering.SteeringVector` or
        :class:`~hfmech.sentiment.steering.ControlVector`, or a ``(units,)`` vector at the unit's site."""
        seed = check_seed(seed)
        if steer is not None:
            if self.family == "mlstm":
                raise ClampError("steer= applies to causal LMs; the byte mLSTM steers with clamp=")
            if clamp is not None:
                raise ClampError("pass clamp= or steer=, not both")
        if isinstance(prompt, str) and len(prompt) > MLSTM_MAX_READ_BYTES // 4:  # cheap before encoding
            n_bytes = len(prompt.encode("utf-8", "surrogatepass"))
            if n_bytes > MLSTM_MAX_READ_BYTES:
                raise TextTooLongError(
                    f"the prompt is {n_bytes:,} bytes; a generation prompt is at most {MLSTM_MAX_READ_BYTES:,}"
                )
        spec = self.spec
        if clamp is None or isinstance(clamp, dict):
            raw = clamp
        else:
            target, layer_used, _ = self._resolve(unit, self._check_layer(layer))
            raw = {target: spec.polarity * _number(clamp, "clamp")}
        if raw is not None and not isinstance(raw, dict):
            raise ClampError(f"clamp must be a number or {{unit: value}}, got {clamp!r}")
        raw = parse_clamp(raw, spec.width)
        if self.family == "mlstm":
            if max_new_tokens is not None:
                raise ClampError("the byte mLSTM generates bytes: use max_bytes=, not max_new_tokens=")
            max_bytes = 200 if max_bytes is None else max_bytes
            text = generate(
                self.model,
                prompt,
                max_bytes=max_bytes,
                temperature=temperature,
                clamp=raw,
                clamp_on=clamp_on or self.model.config.clamp_on,
                seed=seed,
            )
            return {
                "prompt": prompt,
                "text": text,
                "clamp": raw or {},
                "clamp_on": clamp_on or self.model.config.clamp_on,
            }
        steering = None if steer is None else self._steering(steer, strength, layer)
        return self._generate_lm(
            prompt, raw, max_bytes, max_new_tokens, temperature, seed, clamp_on, layer, steering
        )

    def direction(self):
        """The model's sentiment direction (:class:`~hfmech.sentiment.steering.SteeringVector`), read from
        ``sentiment_direction.safetensors`` in the model's folder."""
        from .steering import SteeringVector

        path = self._model_file("sentiment_direction.safetensors")
        if path is None:
            raise SentimentConfigError(
                "this model has no sentiment direction (sentiment_direction.safetensors in its folder); compute "
                "one with hfmech.sentiment.steering.mean_difference and save it there"
            )
        return SteeringVector.load(path)

    def _model_file(self, name: str):
        """``name`` in the folder the model was loaded from, or ``None`` when it is not there."""
        from pathlib import Path

        source = getattr(self.model.config, "_name_or_path", None) or ""
        path = Path(source) / name
        return path if source and path.is_file() else None

    def steering_vector(self):
        """What ``steer="direction"`` adds: the model's CAA control vector
        (:class:`~hfmech.sentiment.steering.ControlVector`, ``sentiment_caa.safetensors`` in its folder) when it has
        one, else its sentiment direction (:meth:`direction`)."""
        from .steering import ControlVector

        path = self._model_file("sentiment_caa.safetensors")
        return ControlVector.load(path) if path is not None else self.direction()

    def _steering(self, steer, strength, layer):
        from .steering import ControlVector, SteeringError, SteeringVector, _as_vector, _finite, site_width

        try:
            strength = _finite(strength, "strength")
        except SteeringError as exc:
            raise ClampError(str(exc)) from None
        if isinstance(steer, str):
            if steer != "direction":
                raise ClampError(f"steer must be 'direction' or a vector, got {steer!r}")
            steer = self.steering_vector()
        if isinstance(steer, ControlVector):
            width = site_width(self.model, steer.layers[0], steer.site)
            if steer.vectors.shape[1] != width:
                raise ClampError(
                    f"the control vector has {steer.vectors.shape[1]} entries; the site has {width}"
                )
            return steer, strength, list(steer.layers), steer.site
        # a single-site vector is a one-layer control vector: one way to add it (add_control) below
        if isinstance(steer, SteeringVector):
            layer, site = steer.layer, steer.site
        else:
            layer = self._check_layer(layer)
            layer = self.spec.layer if layer is None else layer
            site = self.spec.site
            if layer is None:
                raise SentimentConfigError("this model's config names no layer to steer at: pass layer=L")
        try:
            vector = _as_vector(steer, site_width(self.model, layer, site))
        except SteeringError as exc:
            raise ClampError(str(exc)) from None
        unit = vector / vector.norm().clamp(min=1e-12)
        return ControlVector(unit[None], (layer,), site), strength, layer, site

    def _generate_lm(
        self, prompt, raw, max_bytes, max_new_tokens, temperature, seed, clamp_on, layer, steering=None
    ):
        from .lm_neuron import clamp_units
        from .steering import add_control

        if clamp_on is not None:
            raise ClampError(
                "clamp_on= applies to the byte mLSTM only (a causal LM is clamped at its unit's site)"
            )
        if max_new_tokens is None:
            if max_bytes is None:
                max_new_tokens = 48
            else:
                max_bytes = int(_number(max_bytes, "max_bytes"))
                if not 0 <= max_bytes <= MAX_BYTES_LIMIT:
                    raise ClampError(f"max_bytes must be in [0, {MAX_BYTES_LIMIT}], got {max_bytes}")
                max_new_tokens = math.ceil(max_bytes / 4)
        n = _number(max_new_tokens, "max_new_tokens")
        if n != int(n) or not 1 <= n <= MAX_NEW_TOKENS_LIMIT:
            raise ClampError(
                f"max_new_tokens must be a whole number in 1..{MAX_NEW_TOKENS_LIMIT}, got {max_new_tokens!r}"
            )
        temperature = _number(temperature, "temperature")
        if temperature < 0:
            raise ClampError(f"temperature must be >= 0 (0: greedy), got {temperature}")
        prompt = "" if prompt is None else prompt
        if not isinstance(prompt, str):
            raise ClampError(f"prompt must be a string, got {type(prompt).__name__}")
        layer = self._check_layer(layer)
        layer = self.spec.layer if layer is None else layer
        if raw and layer is None:
            raise SentimentConfigError(
                "this model's config names no layer for its sentiment unit: pass layer=L"
            )
        tok = self.tokenizer
        if tok.pad_token is None:
            tok.pad_token = tok.eos_token
        ids = tok(prompt, return_tensors="pt")["input_ids"]
        if ids.shape[1] == 0:  # an empty prompt: start from the beginning-of-text token
            start = tok.bos_token_id if tok.bos_token_id is not None else tok.eos_token_id
            ids = torch.tensor([[start]])
        limit = self.spec.max_tokens or DEFAULT_MAX_TOKENS
        if ids.shape[1] > limit:
            raise TextTooLongError(f"the prompt is {ids.shape[1]:,} tokens; at most {limit:,}")
        generator_kwargs = (
            {"do_sample": False}
            if temperature == 0
            else {"do_sample": True, "temperature": temperature, "top_k": 0, "top_p": 1.0}
        )
        if seed is not None:
            torch.manual_seed(seed)
        import contextlib

        if steering is not None:
            control, strength = steering[:2]
            ctx = add_control(self.model, control, strength)
        elif raw:
            ctx = clamp_units(self.model, raw, layer, self.spec.site)
        else:
            ctx = contextlib.nullcontext()
        with ctx, torch.no_grad():
            out = self.model.generate(
                input_ids=ids,
                attention_mask=torch.ones_like(ids),
                max_new_tokens=int(n),
                pad_token_id=tok.pad_token_id,
                **generator_kwargs,
            )
        text = tok.decode(out[0, ids.shape[1] :], skip_special_tokens=True)
        out = {"prompt": prompt, "text": text, "clamp": raw or {}, "layer": layer, "site": self.spec.site}
        if steering is not None:
            out.update({"steer_strength": steering[1], "layer": steering[2], "site": steering[3]})
        return out
