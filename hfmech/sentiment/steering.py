"""Steering a causal LM's sentiment three ways, behind one API: the clamped unit, a direction, an SAE feature.

* **The unit** (Radford, Jozefowicz & Sutskever 2017, arXiv:1704.01444, §5): the discovered unit is overwritten with
  a fixed value at every position of every forward step (:func:`hfmech.sentiment.lm_neuron.clamp_units`).
* **The sentiment direction** (Tigges et al. 2023, "Linear Representations of Sentiment in Large Language Models",
  arXiv:2310.15154): the difference of the class means of a site's activations,
  ``d = mean(x | positive) - mean(x | negative)`` (``(U,)``), read as a classifier by projecting onto ``d`` and
  thresholding, and steered by **activation addition** (Turner et al. 2023, "Activation Addition", arXiv:2308.10248;
  contrastive mean difference as Rimsky et al. 2024, "Contrastive Activation Addition", arXiv:2312.06681):
  ``x <- x + strength * d_hat`` at every position, ``d_hat = d / ||d||``.
* **A sparse-autoencoder feature** (:mod:`hfmech.sentiment.sae`): the decoder column of the feature that best reads
  sentiment, added the same way.
* **Contrastive activation addition on the residual stream, at several layers** (Rimsky et al. 2024, CAA; the
  per-layer form of repeng's ``ControlVector``): :func:`response_mean_difference` takes text the model itself
  wrote when asked for a positive and for a negative review, reads the residual stream (block outputs, ``(T,
  hidden)``) over those response tokens after a *neutral* request, and returns per layer ``mean(h | positive) -
  mean(h | negative)``; :class:`ControlVector` keeps a few layers' unit directions, each scaled to 1 % of the
  residual stream's median token norm at its layer, and :func:`add_control` adds ``strength`` times each at its
  layer, at every position (``strength`` is then in percent of the residual norm, the same at every layer).

The API follows repeng / steering-vectors: :class:`SentimentNeuron` wraps a model and its discovered unit;
``neuron.generate(prompt, clamp=+1.0)`` clamps the unit at ``polarity * clamp * clamp_value`` (``clamp`` is signed
in sentiment: ``+`` writes positive), ``neuron.generate(prompt, steer=direction, strength=4.0)`` adds a vector
(a :class:`SteeringVector` at its site, or a :class:`ControlVector` at each of its layers);
:func:`add_vector` / :meth:`SentimentNeuron.steered` / :meth:`SentimentNeuron.clamped` are context managers whose
hooks are removed on exit, so the model is unchanged afterwards.
"""

from __future__ import annotations

import contextlib
import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..errors import HfmechError
from .lm_neuron import (
    LMNeuronError,
    _first,
    chat_prompt,
    clamp_units,
    decoder_layers,
    edit_site,
    resolve_site,
)

MAX_NEW_TOKENS = 512
"""Longest generation :meth:`SentimentNeuron.generate` accepts (the pipeline's own limit is separate)."""
MAX_BATCH = 256


class SteeringError(HfmechError, ValueError):
    """A steering vector of the wrong width or with non-finite entries, a non-finite strength or clamp, a
    generation setting out of range, or a model without a discovered unit."""


def _finite(value, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, np.floating, np.integer)):
        raise SteeringError(f"{what} must be a number, got {value!r}")
    out = float(value)
    if not math.isfinite(out):
        raise SteeringError(f"{what} must be finite, got {value!r}")
    return out


def site_width(model: nn.Module, layer: int | str, site: str = "mlp") -> int:
    """Number of units at ``site`` of ``layer`` (MLP: ``intermediate_size``; residual: ``hidden_size``)."""
    s = resolve_site(model, layer, site)
    if s.side == "input" and hasattr(s.module, "in_features"):
        return int(s.module.in_features)
    hidden = getattr(getattr(model, "config", None), "hidden_size", None)
    if site == "residual" and hidden is not None:
        return int(hidden)
    raise LMNeuronError(f"cannot tell the width of {s.name}")


def _as_vector(vector, width: int | None = None) -> torch.Tensor:
    if isinstance(vector, SteeringVector):
        vector = vector.vector
    if isinstance(vector, np.ndarray):
        vector = torch.from_numpy(np.asarray(vector, dtype=np.float32))
    if not isinstance(vector, torch.Tensor):
        try:
            vector = torch.tensor(vector, dtype=torch.float32)
        except (TypeError, ValueError):
            raise SteeringError(
                f"a steering vector must be a 1-D tensor or array, got {type(vector).__name__}"
            ) from None
    if vector.ndim != 1 or vector.numel() == 0:
        raise SteeringError(f"a steering vector must be 1-D and non-empty, got shape {tuple(vector.shape)}")
    if not vector.is_floating_point():
        vector = vector.float()
    if not torch.isfinite(vector).all():
        raise SteeringError("the steering vector has NaN or infinite entries")
    if width is not None and vector.numel() != width:
        raise SteeringError(f"the steering vector has {vector.numel()} entries; the site has {width} units")
    return vector.detach()


@contextlib.contextmanager
def add_vector(model: nn.Module, vector, strength: float, layer: int | str, site: str = "mlp"):
    """Within the block every forward pass adds ``strength * vector`` (``(U,)``) to ``site`` of ``layer`` at every
    position (prompt and generated tokens; works with ``generate()`` and the KV cache). The hook is removed on exit.

    ``vector`` is used as given (normalise it first for a strength in activation-norm units)."""
    strength = _finite(strength, "strength")
    width = site_width(model, layer, site)
    v = _as_vector(vector, width)
    s = resolve_site(model, layer, site)
    delta = {}

    def shifted(t: torch.Tensor) -> torch.Tensor:
        key = (t.dtype, t.device)
        if key not in delta:
            delta[key] = (strength * v).to(dtype=t.dtype, device=t.device)
        return t + delta[key]

    with edit_site(s, shifted):
        yield s


# ------------------------------------------------------------------------------------------ the direction


def _read_tensor(path, key: str | None, kind: str) -> tuple[torch.Tensor | None, dict]:
    """One float32 tensor (``None`` when ``key`` is ``None``: the metadata only) and the metadata of a safetensors
    file; anything unreadable is a :class:`SteeringError`."""
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            return (None if key is None else f.get_tensor(key).float()), f.metadata() or {}
    except (OSError, KeyError, ValueError, RuntimeError, SafetensorError) as exc:
        raise SteeringError(f"{path}: not a {kind} file ({exc})") from exc


@dataclass
class SteeringVector:
    """A direction at one site: ``vector`` ``(U,)`` float32, read as a classifier by ``polarity * (x·v̂ -
    threshold) > 0`` (positive) and steered with ``x + strength·v̂``."""

    vector: torch.Tensor
    layer: int
    site: str = "mlp"
    threshold: float = 0.0
    polarity: int = 1
    name: str = "direction"

    @property
    def unit_vector(self) -> torch.Tensor:
        return self.vector / self.vector.norm().clamp(min=1e-12)

    def project(self, X) -> np.ndarray:
        """``(N, U)`` activations → ``(N,)`` projections on the unit vector."""
        X = np.asarray(X, dtype=np.float32)
        if X.ndim != 2 or X.shape[1] != self.vector.numel():
            raise SteeringError(
                f"activations of shape {X.shape} do not match a {self.vector.numel()}-d vector"
            )
        return X @ self.unit_vector.numpy()

    def predict(self, X) -> np.ndarray:
        return (self.polarity * (self.project(X) - self.threshold) > 0).astype(np.int64)

    def save(self, path: str | Path) -> Path:
        from safetensors.torch import save_file

        from ..hub.files import atomic_path

        path = Path(path)
        with atomic_path(path) as tmp:
            save_file(
                {"vector": self.vector.float().contiguous()},
                str(tmp),
                metadata={
                    "layer": str(self.layer),
                    "site": self.site,
                    "threshold": repr(float(self.threshold)),
                    "polarity": str(int(self.polarity)),
                    "name": self.name,
                },
            )
        return path

    @classmethod
    def load(cls, path: str | Path) -> SteeringVector:
        vector, meta = _read_tensor(path, "vector", "steering-vector")
        try:
            return cls(
                _as_vector(vector),
                int(meta["layer"]),
                meta.get("site", "mlp"),
                float(meta.get("threshold", 0.0)),
                int(meta.get("polarity", 1)),
                meta.get("name", "direction"),
            )
        except (KeyError, ValueError) as exc:
            raise SteeringError(f"{path}: bad steering-vector metadata ({exc})") from exc


def mean_difference(X, y, layer: int, site: str = "mlp", fit_threshold: bool = True) -> SteeringVector:
    """The sentiment direction of Tigges et al. (2023): ``mean(X[y == 1]) - mean(X[y == 0])`` for ``X`` ``(N, U)``
    pooled activations and ``y`` ``(N,)`` 0/1 labels; the threshold on the projection is the exact best cut on the
    same data (polarity +1 by construction, as positive projects higher on average)."""
    from .probe import fit_threshold as _fit

    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y).astype(np.int64)
    if X.ndim != 2 or len(X) != len(y) or set(np.unique(y)) != {0, 1}:
        raise SteeringError(
            "mean_difference needs (N, U) activations and (N,) labels of both classes 0 and 1"
        )
    d = X[y == 1].mean(0) - X[y == 0].mean(0)
    sv = SteeringVector(torch.from_numpy(d.astype(np.float32)), int(layer), site)
    if fit_threshold:
        sv.threshold, sv.polarity, _ = _fit(sv.project(X), y, polarity=1)
    return sv


# ------------------------------------------------------------------------- contrastive, several layers


@dataclass
class ControlVector:
    """Per-layer steering directions on the residual stream (repeng's ``ControlVector``; CAA, Rimsky et al. 2024):
    ``vectors`` ``(K, hidden)`` float32, row ``k`` added at block ``layers[k]``'s output as ``strength *
    vectors[k]``. As built by :meth:`from_differences`, each row is the unit direction of that layer's contrastive
    mean difference times 1 % of the residual stream's median token norm there, so ``strength`` is in percent of
    the residual norm at every layer (+ is positive)."""

    vectors: torch.Tensor
    layers: tuple[int, ...]
    site: str = "residual"
    name: str = "control"

    def __post_init__(self):
        self.vectors = self.vectors.detach().float()
        self.layers = tuple(int(x) for x in self.layers)
        if self.vectors.ndim != 2 or self.vectors.shape[0] != len(self.layers) or not self.layers:
            raise SteeringError(
                f"a control vector needs (K, hidden) vectors for K layers, got {tuple(self.vectors.shape)} "
                f"for layers {self.layers}"
            )
        if len(set(self.layers)) != len(self.layers):
            raise SteeringError(f"layers must be distinct, got {self.layers}")
        if not torch.isfinite(self.vectors).all():
            raise SteeringError("the control vector has NaN or infinite entries")

    @classmethod
    def from_differences(
        cls, differences, norms, layers: Sequence[int], site: str = "residual", name: str = "control"
    ) -> ControlVector:
        """``differences`` ``(L, hidden)`` per-layer mean differences and ``norms`` ``(L,)`` the residual's median
        token norm per layer (both from :func:`response_mean_difference`) → rows ``d_l / ||d_l|| * norms[l] /
        100`` for ``l`` in ``layers``."""
        d = torch.as_tensor(np.asarray(differences, dtype=np.float32))
        norms = np.asarray(norms, dtype=np.float64)
        layers = [int(x) for x in layers]
        if d.ndim != 2 or norms.shape != (d.shape[0],) or not all(0 <= x < d.shape[0] for x in layers):
            raise SteeringError(
                f"differences {tuple(d.shape)} and norms {norms.shape} do not cover layers {layers}"
            )
        rows = []
        for x in layers:
            n = float(d[x].norm())
            if not n > 0:
                raise SteeringError(f"the mean difference at layer {x} is zero")
            rows.append(d[x] / n * float(norms[x]) / 100.0)
        return cls(torch.stack(rows), tuple(layers), site, name)

    def save(self, path: str | Path) -> Path:
        from safetensors.torch import save_file

        from ..hub.files import atomic_path

        path = Path(path)
        with atomic_path(path) as tmp:
            save_file(
                {"vectors": self.vectors.contiguous()},
                str(tmp),
                metadata={
                    "kind": "control",
                    "layers": ",".join(str(x) for x in self.layers),
                    "site": self.site,
                    "name": self.name,
                },
            )
        return path

    @classmethod
    def load(cls, path: str | Path) -> ControlVector:
        vectors, meta = _read_tensor(path, "vectors", "control-vector")
        try:
            layers = tuple(int(x) for x in meta["layers"].split(","))
        except (KeyError, ValueError) as exc:
            raise SteeringError(f"{path}: bad control-vector metadata ({exc})") from exc
        return cls(vectors, layers, meta.get("site", "residual"), meta.get("name", "control"))


def load_steering(path: str | Path) -> SteeringVector | ControlVector:
    """A :class:`SteeringVector` or a :class:`ControlVector` file, whichever ``path`` holds."""
    _, meta = _read_tensor(path, None, "steering")
    return ControlVector.load(path) if meta.get("kind") == "control" else SteeringVector.load(path)


@contextlib.contextmanager
def add_control(model: nn.Module, control: ControlVector, strength: float):
    """Within the block every forward pass adds ``strength * control.vectors[k]`` to ``control.site`` of block
    ``control.layers[k]``, for every ``k``, at every position (the hooks are removed on exit)."""
    if not isinstance(control, ControlVector):
        raise SteeringError(f"add_control needs a ControlVector, got {type(control).__name__}")
    strength = _finite(strength, "strength")
    with contextlib.ExitStack() as stack:
        for layer, v in zip(control.layers, control.vectors):
            stack.enter_context(add_vector(model, v, strength, layer, control.site))
        yield control


@torch.no_grad()
def response_mean_difference(
    model: nn.Module,
    tokenizer,
    contexts: Sequence[str],
    positive: Sequence[str],
    negative: Sequence[str],
    batch_size: int = 8,
) -> tuple[np.ndarray, np.ndarray]:
    """Contrastive activation means (Rimsky et al. 2024) over text the model wrote.

    Each ``contexts[i] + positive[i]`` and ``contexts[i] + negative[i]`` is read once; at every block's output (the
    residual stream, ``(T, hidden)``, as ``site="residual"``; not the final norm) the activations of the *response* tokens (those after the context's tokens)
    are averaged per text, then over texts. Returns ``differences`` ``(n_layers, hidden)`` = mean over positive
    texts − mean over negative texts, and ``norms`` ``(n_layers,)`` the median token norm of the residual stream
    over all response tokens of both sides (for :meth:`ControlVector.from_differences`)."""
    if not (len(contexts) == len(positive) == len(negative)) or not contexts:
        raise SteeringError("contexts, positive and negative must be non-empty lists of the same length")
    layers = decoder_layers(model)
    device = next(model.parameters()).device
    side = tokenizer.padding_side
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    means, token_norms = [], []
    captured: dict[int, torch.Tensor] = {}

    def keep(i):
        return lambda _m, _a, out: captured.__setitem__(i, _first(out))

    handles = [block.register_forward_hook(keep(i)) for i, block in enumerate(layers)]
    tokenizer.padding_side = "right"
    starts = [len(tokenizer(c)["input_ids"]) for c in contexts]  # the first response token of each text
    try:
        for responses in (positive, negative):
            texts = [c + r for c, r in zip(contexts, responses)]
            total = np.zeros((len(layers), model.config.hidden_size))
            for i in range(0, len(texts), batch_size):
                enc = tokenizer(texts[i : i + batch_size], return_tensors="pt", padding=True)
                enc = {k: v.to(device) for k, v in enc.items()}
                captured.clear()
                model(**enc, use_cache=False)
                for b in range(enc["input_ids"].shape[0]):
                    end = int(enc["attention_mask"][b].sum())
                    start = starts[i + b]
                    if end <= start:
                        raise SteeringError(f"response {i + b} adds no tokens to its context")
                    h = torch.stack([captured[j][b, start:end].float() for j in range(len(layers))])
                    total += h.mean(1).cpu().numpy()  # h: (n_layers, T_resp, hidden)
                    token_norms.append(h.norm(dim=-1).cpu().numpy())
            means.append(total / len(texts))
    finally:
        for handle in handles:
            handle.remove()
        tokenizer.padding_side = side
    norms = np.median(np.concatenate(token_norms, axis=1), axis=1)
    return (means[0] - means[1]).astype(np.float32), norms.astype(np.float32)


# ----------------------------------------------------------------------------------------- the neuron API


class SentimentNeuron:
    """A causal LM with its discovered unit (``config.sentiment_neuron``: site, layer, unit, polarity, threshold,
    scale, clamp_value).

    ``read(texts) -> (N,) unit values`` (pooled as configured); ``generate(prompt, clamp=..., steer=..., strength=...)``
    samples with the unit clamped or a vector added; ``clamped(value)`` / ``steered(vector, strength)`` are the
    same interventions as context managers (the model is unchanged after the ``with`` block).
    """

    def __init__(self, model: nn.Module, tokenizer, spec: dict | None = None):
        spec = spec if spec is not None else getattr(getattr(model, "config", None), "sentiment_neuron", None)
        if not isinstance(spec, dict) or "unit" not in spec or "layer" not in spec:
            raise SteeringError(
                "this model has no discovered sentiment unit (config.sentiment_neuron with unit and layer); "
                "run python -m hfmech.sentiment.discover_lm on it first"
            )
        self.model = model
        self.tokenizer = tokenizer
        self.spec = dict(spec)
        self.site = self.spec.get("site", "mlp")
        self.layer = int(self.spec["layer"])
        self.width = site_width(model, self.layer, self.site)
        self.unit = int(self.spec["unit"])
        if not 0 <= self.unit < self.width:
            raise SteeringError(
                f"unit {self.unit} out of range: {self.site} of layer {self.layer} has {self.width}"
            )
        self.polarity = int(self.spec.get("polarity", 1))
        self.clamp_value = float(self.spec.get("clamp_value", 1.0))

    @classmethod
    def from_pretrained(cls, name_or_path: str | Path = "smollm2-135m-sentiment", dtype=torch.float32):
        """A zoo name (built on first use) or a folder holding a causal LM with ``config.sentiment_neuron``."""
        from transformers import AutoModelForCausalLM, AutoTokenizer

        from ..hub import zoo

        path = Path(name_or_path)
        if not path.is_dir():
            path = zoo.build(str(name_or_path))
        model = AutoModelForCausalLM.from_pretrained(str(path), dtype=dtype).eval()
        return cls(model, AutoTokenizer.from_pretrained(str(path)))

    # --------------------------------------------------------------------------------- interventions
    def raw_clamp(self, clamp: float) -> dict[int, float]:
        """``clamp`` in sentiment units → ``{unit: polarity * clamp * clamp_value}``."""
        return {self.unit: self.polarity * _finite(clamp, "clamp") * self.clamp_value}

    def clamped(self, clamp: float):
        """Context manager: the unit held at ``polarity * clamp * clamp_value`` at every position."""
        return clamp_units(self.model, self.raw_clamp(clamp), self.layer, self.site)

    def steered(self, vector, strength: float, normalize: bool = True):
        """Context manager: ``strength * v̂`` (``normalize``) or ``strength * v`` added at the unit's site (or at
        a :class:`SteeringVector`'s own site); a :class:`ControlVector` adds ``strength`` times each of its rows at
        its layers (its rows are already scaled; ``normalize`` does not apply)."""
        if isinstance(vector, ControlVector):
            return add_control(self.model, vector, strength)
        layer, site = self.layer, self.site
        if isinstance(vector, SteeringVector):
            layer, site = vector.layer, vector.site
            v = vector.unit_vector if normalize else vector.vector
        else:
            v = _as_vector(vector, site_width(self.model, layer, site))
            if normalize:
                v = v / v.norm().clamp(min=1e-12)
        return add_vector(self.model, v, strength, layer, site)

    # ------------------------------------------------------------------------------------------ reading
    @torch.no_grad()
    def activations(self, texts: Sequence[str], pool: str | None = None, batch_size: int = 16) -> np.ndarray:
        """``(N, U)`` pooled activations of the unit's site (the pooling of the config unless given)."""
        from .lm_neuron import featurize

        feats = featurize(
            self.model,
            self.tokenizer,
            list(texts),
            layers=self.layer,
            site=self.site,
            pool=pool or self.spec.get("pool", "last"),
            batch_size=batch_size,
        )
        return next(iter(feats.values()))

    def read(self, texts: Sequence[str]) -> np.ndarray:
        """``(N,)`` the unit's pooled values."""
        return self.activations(texts)[:, self.unit]

    # --------------------------------------------------------------------------------------- generation
    @torch.no_grad()
    def generate(
        self,
        prompt: str | Sequence[str],
        clamp: float | None = None,
        steer=None,
        strength: float = 4.0,
        max_new_tokens: int = 48,
        min_new_tokens: int = 0,
        temperature: float = 0.8,
        seed: int = 0,
        chat: bool = False,
        n: int = 1,
    ) -> list[str]:
        """Samples continuing ``prompt`` (a string, or a list of prompts: one sample each, left-padded into one
        batch) — the unit clamped (``clamp``, signed in sentiment), or ``steer`` (a :class:`SteeringVector` or a
        ``(U,)`` vector) added with ``strength`` (in units of the unit vector's norm), or a :class:`ControlVector`
        (``strength`` in percent of the residual norm at each of its layers), or neither. Same ``seed`` →
        the same random stream, so settings compare sample for sample. ``chat``: wrap each prompt in the chat
        template. ``temperature`` 0: greedy. Returns the new text of each sample."""
        if clamp is not None and steer is not None:
            raise SteeringError("pass clamp= or steer=, not both")
        prompts = [prompt] if isinstance(prompt, str) else list(prompt)
        if not prompts or not all(isinstance(p, str) for p in prompts):
            raise SteeringError("prompt must be a string or a non-empty list of strings")
        if isinstance(n, bool) or not isinstance(n, int) or n < 1 or n * len(prompts) > MAX_BATCH:
            raise SteeringError(f"n must be a whole number with n * prompts <= {MAX_BATCH}, got {n!r}")
        prompts = [p for p in prompts for _ in range(n)]
        for what, value, low in (
            ("max_new_tokens", max_new_tokens, 1),
            ("min_new_tokens", min_new_tokens, 0),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= MAX_NEW_TOKENS:
                raise SteeringError(
                    f"{what} must be a whole number in {low}..{MAX_NEW_TOKENS}, got {value!r}"
                )
        if min_new_tokens > max_new_tokens:
            raise SteeringError(f"min_new_tokens {min_new_tokens} > max_new_tokens {max_new_tokens}")
        temperature = _finite(temperature, "temperature")
        if temperature < 0:
            raise SteeringError(f"temperature must be >= 0 (0: greedy), got {temperature}")
        if clamp is not None:
            ctx = self.clamped(clamp)
        elif steer is not None:
            ctx = self.steered(steer, strength)
        else:
            _finite(strength, "strength")
            ctx = contextlib.nullcontext()
        tok = self.tokenizer
        if tok.pad_token is None:
            tok.pad_token = tok.eos_token
        texts = [chat_prompt(tok, p) if chat else p for p in prompts]
        side = tok.padding_side
        tok.padding_side = "left"
        try:
            enc = tok(texts, return_tensors="pt", padding=True)
        finally:
            tok.padding_side = side
        if enc["input_ids"].shape[1] == 0:
            start = tok.bos_token_id if tok.bos_token_id is not None else tok.eos_token_id
            enc = {
                "input_ids": torch.full((len(texts), 1), start),
                "attention_mask": torch.ones(len(texts), 1, dtype=torch.long),
            }
        device = next(self.model.parameters()).device
        enc = {k: v.to(device) for k, v in enc.items()}
        sampling = (
            {"do_sample": False}
            if temperature == 0
            else {"do_sample": True, "temperature": temperature, "top_k": 0, "top_p": 1.0}
        )
        torch.manual_seed(int(seed))
        with ctx:
            out = self.model.generate(
                **enc,
                max_new_tokens=max_new_tokens,
                min_new_tokens=min_new_tokens,
                pad_token_id=tok.pad_token_id,
                **sampling,
            )
        return tok.batch_decode(out[:, enc["input_ids"].shape[1] :], skip_special_tokens=True)


@torch.no_grad()
def continuation_nll(
    model: nn.Module,
    tokenizer,
    prompts: Sequence[str],
    continuations: Sequence[str],
    chat: bool = False,
    batch_size: int = 20,
) -> tuple[np.ndarray, np.ndarray]:
    """Per sample: summed negative log-likelihood (nats) of ``continuation`` after ``prompt`` under ``model`` (no
    hooks: the unclamped model) and its token count. ``(N,), (N,)``; perplexity = ``exp(sum nll / sum count)``.
    Prompt and continuation are tokenised separately and concatenated; batches are right-padded (causal, so padding
    changes nothing before it)."""
    seqs = []
    for p, c in zip(prompts, continuations):
        p = chat_prompt(tokenizer, p) if chat else p
        p_ids = tokenizer(p)["input_ids"]
        c_ids = tokenizer(c, add_special_tokens=False)["input_ids"]
        seqs.append((p_ids, c_ids))
    nll = np.zeros(len(seqs))
    count = np.array([len(c) for _, c in seqs], dtype=np.int64)
    device = next(model.parameters()).device
    for start in range(0, len(seqs), batch_size):
        chunk = [(i, p, c) for i, (p, c) in enumerate(seqs[start : start + batch_size], start) if c]
        if not chunk:
            continue
        width = max(len(p) + len(c) for _, p, c in chunk)
        ids = torch.zeros(len(chunk), width, dtype=torch.long)
        mask = torch.zeros(len(chunk), width, dtype=torch.long)
        for row, (_, p, c) in enumerate(chunk):
            ids[row, : len(p) + len(c)] = torch.tensor(p + c)
            mask[row, : len(p) + len(c)] = 1
        logp = torch.log_softmax(
            model(input_ids=ids.to(device), attention_mask=mask.to(device), use_cache=False).logits.float(),
            -1,
        )
        for row, (i, p, c) in enumerate(chunk):
            pos = torch.arange(len(p) - 1, len(p) + len(c) - 1)
            nll[i] = -float(logp[row, pos, torch.tensor(c)].sum())
    return nll, count


__all__ = [
    "ControlVector",
    "SentimentNeuron",
    "SteeringError",
    "SteeringVector",
    "add_control",
    "add_vector",
    "continuation_nll",
    "load_steering",
    "mean_difference",
    "response_mean_difference",
    "site_width",
]
