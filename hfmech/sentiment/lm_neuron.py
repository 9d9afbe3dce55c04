"""The sentiment-neuron mechanism on any ``transformers`` causal LM: probe, unit discovery, clamped generation.

Radford, Jozefowicz & Sutskever (2017, arXiv:1704.01444) read the final cell state of a byte mLSTM, fit an L1
logistic regression, find one dominant unit, and steer generation by overwriting that unit at every step. For a
transformer decoder (e.g. SmolLM2, any ``AutoModelForCausalLM`` with Llama/Mistral/Qwen-style blocks) the natural
"units" are

* ``site="mlp"`` — the MLP's hidden activations of layer ``L``: the *input* of ``layers[L].mlp.down_proj``
  (for a gated MLP ``act_fn(gate_proj(x)) * up_proj(x)``), shape ``(B, T, intermediate_size)``;
* ``site="residual"`` — the residual stream after block ``L`` (the block's output), ``(B, T, hidden_size)``.

Any dotted module path can be passed instead of a layer number (``site="input:<path>"`` hooks the module's input,
``site="output:<path>"`` its output).

A text's feature vector is the mean over its tokens (``pool="mean"``, masked) or the activation at its last token
(``pool="last"``) — the transformer analogue of the mLSTM's final state. Forward passes stop after the deepest
hooked layer. :func:`clamp_units` overwrites chosen units at every position of every forward step through the same
hook, so ``model.generate()`` runs with the unit held fixed (the paper's steering), and removes the hook on exit.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ..errors import HfmechError
from ..vision.features import UnknownLayerError


class LMNeuronError(HfmechError, ValueError):
    """Bad arguments to the LM probe/clamp: unknown site, layer or unit index, empty text list, bad pooling."""


class _StopForward(Exception):
    pass


def decoder_layers(model: nn.Module) -> nn.ModuleList:
    """The list of transformer blocks of a causal LM (Llama-style ``model.model.layers``, GPT-2 ``transformer.h``)."""
    for path in ("model.layers", "transformer.h", "gpt_neox.layers", "model.decoder.layers", "layers"):
        obj = model
        for part in path.split("."):
            obj = getattr(obj, part, None)
            if obj is None:
                break
        if isinstance(obj, nn.ModuleList):
            return obj
    raise UnknownLayerError(f"cannot find the decoder blocks of {type(model).__name__}")


@dataclass(frozen=True)
class Site:
    """Where a unit lives: a module and whether its input (``"input"``) or output (``"output"``) is read."""

    name: str
    module: nn.Module
    side: str  # "input" | "output"


def resolve_site(model: nn.Module, layer: int | str, site: str = "mlp") -> Site:
    """The hook point for ``site`` at ``layer`` (see module docstring)."""
    if isinstance(site, str) and (site.startswith("input:") or site.startswith("output:")):
        side, path = site.split(":", 1)
        modules = dict(model.named_modules())
        if path not in modules:
            raise UnknownLayerError(f"no module {path!r} in {type(model).__name__}")
        return Site(site, modules[path], side)
    layers = decoder_layers(model)
    try:
        index = int(layer)
    except (TypeError, ValueError):
        raise LMNeuronError(f"layer must be an integer, got {layer!r}") from None
    if not -len(layers) <= index < len(layers):
        raise UnknownLayerError(
            f"layer {index} out of range: the model has {len(layers)} blocks (0..{len(layers) - 1})"
        )
    index %= len(layers)
    block = layers[index]
    if site == "mlp":
        mlp = getattr(block, "mlp", None)
        down = (
            getattr(mlp, "down_proj", None)
            or getattr(mlp, "c_proj", None)
            or getattr(mlp, "dense_4h_to_h", None)
        )
        if down is None:
            raise UnknownLayerError(f"block {index} has no recognised MLP output projection")
        return Site(f"layers.{index}.mlp", down, "input")
    if site == "residual":
        return Site(f"layers.{index}.residual", block, "output")
    raise LMNeuronError(
        f"site must be 'mlp', 'residual', 'input:<module>' or 'output:<module>', got {site!r}"
    )


def _first(x):
    return x[0] if isinstance(x, tuple) else x


@torch.no_grad()
def featurize(
    model: nn.Module,
    tokenizer,
    texts: Sequence[str],
    layers: int | str | Iterable[int | str] = 0,
    site: str = "mlp",
    pool: str = "mean",
    batch_size: int = 16,
    max_length: int = 256,
) -> dict[str, np.ndarray]:
    """Pooled activations ``{site name: (N, units) float32}`` for every requested layer, one forward per batch.

    Texts are tokenised (truncated to ``max_length`` tokens), length-sorted into batches, right-padded; pooling
    ignores padding. The forward pass stops once the deepest requested layer has run.
    """
    if pool not in ("mean", "last"):
        raise LMNeuronError(f"pool must be 'mean' or 'last', got {pool!r}")
    texts = [str(t) for t in texts]
    if not texts:
        raise LMNeuronError("no texts to featurise")
    if isinstance(layers, (int, str)):
        layers = [layers]
    sites = [resolve_site(model, layer, site) for layer in layers]
    pending: dict[str, torch.Tensor] = {}

    def make_hook(s: Site):
        def pre_hook(_module, args):
            pending[s.name] = args[0]
            if len(pending) == len(sites):
                raise _StopForward

        def post_hook(_module, _args, output):
            pending[s.name] = _first(output)
            if len(pending) == len(sites):
                raise _StopForward

        if s.side == "input":
            return s.module.register_forward_pre_hook(pre_hook)
        return s.module.register_forward_hook(post_hook)

    padding_side = getattr(tokenizer, "padding_side", "right")
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = "right"
    results: dict[str, np.ndarray] = {}
    order = np.argsort([len(t) for t in texts], kind="stable")
    handles = [make_hook(s) for s in sites]
    was_training = model.training
    model.eval()
    try:
        for start in range(0, len(texts), batch_size):
            idx = order[start : start + batch_size]
            enc = tokenizer(
                [texts[i] for i in idx],
                return_tensors="pt",
                padding=True,
                truncation=True,
                max_length=max_length,
            )
            device = next(model.parameters()).device
            enc = {k: v.to(device) for k, v in enc.items()}
            pending.clear()
            with contextlib.suppress(_StopForward):
                model(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"], use_cache=False)
            mask = enc["attention_mask"].unsqueeze(-1).float()  # (B, T, 1)
            for s in sites:
                act = pending[s.name].float()  # (B, T, U)
                if pool == "mean":
                    pooled = (act * mask).sum(1) / mask.sum(1).clamp(min=1.0)
                else:
                    last = enc["attention_mask"].sum(1).clamp(min=1) - 1  # (B,)
                    pooled = act[torch.arange(act.shape[0]), last]
                if s.name not in results:
                    results[s.name] = np.zeros((len(texts), pooled.shape[-1]), dtype=np.float32)
                results[s.name][idx] = pooled.cpu().numpy()
    finally:
        for h in handles:
            h.remove()
        tokenizer.padding_side = padding_side
        model.train(was_training)
    return results


@torch.no_grad()
def unit_values(
    model: nn.Module, tokenizer, text: str, layer: int | str, site: str = "mlp", max_length: int | None = None
) -> tuple[list[int], torch.Tensor]:
    """The whole site's activations at every token of one text: ``(token ids (T,), activations (T, units) float32)``.

    The text is tokenised exactly as :func:`featurize` does (no padding, truncated to ``max_length`` tokens when
    given), and the forward pass stops after the hooked block. Because the decoder is causal, row ``t`` depends
    only on tokens ``0..t``, so the running mean of a unit over rows ``0..t`` is exactly the ``pool="mean"``
    feature of the text cut after token ``t`` (the transformer counterpart of the mLSTM's state after a byte).
    """
    s = resolve_site(model, layer, site)
    enc = tokenizer([text], return_tensors="pt", truncation=max_length is not None, max_length=max_length)
    device = next(model.parameters()).device
    captured: dict[str, torch.Tensor] = {}

    def grab(t):
        captured["act"] = t
        raise _StopForward

    if s.side == "input":
        handle = s.module.register_forward_pre_hook(lambda _m, args: grab(args[0]))
    else:
        handle = s.module.register_forward_hook(lambda _m, _a, out: grab(_first(out)))
    was_training = model.training
    model.eval()
    try:
        with contextlib.suppress(_StopForward):
            model(
                input_ids=enc["input_ids"].to(device),
                attention_mask=enc["attention_mask"].to(device),
                use_cache=False,
            )
    finally:
        handle.remove()
        model.train(was_training)
    return enc["input_ids"][0].tolist(), captured["act"][0].float().cpu()


@contextlib.contextmanager
def edit_site(s: Site, edit):
    """Within the block, every forward pass replaces the activation at site ``s`` (``(B, T, U)``) by
    ``edit(activation)``: a pre-hook for an input site, a forward hook for an output site (the first element of a
    tuple output). The hook is removed on exit, also when the block raises, so the model is left unchanged."""
    if s.side == "input":
        handle = s.module.register_forward_pre_hook(lambda _m, args: (edit(args[0]), *args[1:]))
    else:

        def hook(_module, _args, output):
            if isinstance(output, tuple):
                return (edit(output[0]), *output[1:])
            return edit(output)

        handle = s.module.register_forward_hook(hook)
    try:
        yield s
    finally:
        handle.remove()


@contextlib.contextmanager
def clamp_units(model: nn.Module, clamp: dict[int, float], layer: int | str, site: str = "mlp"):
    """Within the ``with`` block, every forward pass holds ``unit -> value`` of ``site`` at ``layer`` fixed, at every
    position (prompt and generated tokens). Works with ``model.generate()`` and the KV cache, since every step's new
    positions pass through the hook."""
    s = resolve_site(model, layer, site)
    units = sorted(clamp)
    width = None

    def apply(t: torch.Tensor) -> torch.Tensor:
        nonlocal width
        width = t.shape[-1]
        for u in units:
            if not 0 <= u < width:
                raise LMNeuronError(f"unit {u} out of range: {s.name} has {width} units")
        t = t.clone()
        t[..., units] = torch.tensor([float(clamp[u]) for u in units], dtype=t.dtype, device=t.device)
        return t

    with edit_site(s, apply):
        yield s


def _validate_clamp(clamp) -> dict[int, float]:
    out = {}
    for unit, value in dict(clamp or {}).items():
        try:
            v = float(value)
        except (TypeError, ValueError):
            raise LMNeuronError(f"clamp value for unit {unit} must be a number, got {value!r}") from None
        if not np.isfinite(v):
            raise LMNeuronError(f"clamp value for unit {unit} must be finite, got {value!r}")
        if isinstance(unit, bool) or not isinstance(unit, (int, np.integer)) or unit < 0:
            raise LMNeuronError(f"unit indices must be non-negative integers, got {unit!r}")
        out[int(unit)] = v
    return out


@torch.no_grad()
def generate_clamped(
    model: nn.Module,
    tokenizer,
    prompt: str,
    clamp: dict[int, float] | None,
    layer: int | str,
    site: str = "mlp",
    n: int = 1,
    max_new_tokens: int = 48,
    temperature: float = 1.0,
    top_p: float = 1.0,
    seed: int = 0,
) -> list[str]:
    """``n`` samples continuing ``prompt`` with ``clamp`` applied (``None``/``{}``: unclamped). Seeded; returns the
    generated continuations only (prompt stripped)."""
    clamp = _validate_clamp(clamp)
    if temperature <= 0:
        raise LMNeuronError(f"temperature must be > 0, got {temperature}")
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    enc = tokenizer([prompt] * n, return_tensors="pt")
    device = next(model.parameters()).device
    enc = {k: v.to(device) for k, v in enc.items()}
    torch.manual_seed(seed)
    ctx = clamp_units(model, clamp, layer, site) if clamp else contextlib.nullcontext()
    with ctx:
        out = model.generate(
            **enc,
            do_sample=True,
            temperature=temperature,
            top_p=top_p,
            top_k=0,
            max_new_tokens=max_new_tokens,
            pad_token_id=tokenizer.pad_token_id,
        )
    new = out[:, enc["input_ids"].shape[1] :]
    return tokenizer.batch_decode(new, skip_special_tokens=True)


def chat_prompt(tokenizer, instruction: str) -> str:
    """The instruction wrapped in the tokenizer's chat template (for instruct models), else unchanged."""
    if getattr(tokenizer, "chat_template", None):
        return tokenizer.apply_chat_template(
            [{"role": "user", "content": instruction}], tokenize=False, add_generation_prompt=True
        )
    return instruction
