"""Convert a textgenrnn Keras weights file (``textgenrnn_weights.hdf5`` + ``textgenrnn_vocab.json``) to
:class:`~hfmech.sentiment.modeling_char_rnn.CharRNNForCausalLM`.

The PyPI package ``textgenrnn`` (Max Woolf, MIT) ships a pretrained model saved by Keras 2.1.5 with
``model.save_weights``: an HDF5 file whose root attribute ``layer_names`` lists ``input, embedding, rnn_1, rnn_2,
rnn_concat, attention, output`` and whose group ``<layer>`` names its arrays in the attribute ``weight_names``::

    embedding/embedding/embeddings:0        (V, E)       (465, 100)
    rnn_k/rnn_k/kernel:0                    (in, 4U)     (100 or 128, 512)
    rnn_k/rnn_k/recurrent_kernel:0          (U, 4U)      (128, 512)
    rnn_k/rnn_k/bias:0                      (8U,)        (1024,): a CuDNNLSTM's input and recurrent biases
    attention/attention/attention_W:0       (E + 2U, 1)  (356, 1)
    output/output/kernel:0                  (E + 2U, V)
    output/output/bias:0                    (V,)

The LSTMs were trained as ``CuDNNLSTM`` (bias of ``8U``). Keras loads such weights into its ``LSTM`` through
``_convert_rnn_weights``: per gate block, the input kernel is ``k.T.reshape(k.shape, order="F")``, the recurrent
kernel ``k.T``, and the two biases are summed. Read directly, each ``(in, U)`` gate block of a CuDNN kernel is the
cuDNN matrix ``(U, in)`` stored row-major, so the PyTorch weight of a gate is ``block.reshape(U, in)``, for the input
and the recurrent kernel alike (the derivation is in the test, which checks it against Keras' own transform). A file
written by a plain ``LSTM`` (bias of ``4U``: a model trained with textgenrnn on CPU) is the usual Keras layout:
``weight_ih = kernel.T``, ``weight_hh = recurrent_kernel.T``. Gate order is i, f, c, o in Keras, cuDNN and PyTorch.

The vocabulary file maps characters to indices ``1 … V-1`` (0 is the placeholder). h5py reads the file; TensorFlow
is never imported, and nothing is unpickled.

Command line (the zoo builds ``char-rnn-reddit`` this way from the installed package)::

    python -m hfmech.sentiment.convert_textgenrnn WEIGHTS.hdf5 VOCAB.json OUT_DIR [--config textgenrnn_config.json]
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import torch

from ..errors import HfmechError
from .modeling_char_rnn import CharRNNConfig, CharRNNForCausalLM

__all__ = ["TextgenrnnWeightsError", "convert_textgenrnn", "read_keras_weights", "read_vocab"]

META_TOKEN = "<s>"
#: textgenrnn's default ``config`` (textgenrnn.py), used when no textgenrnn_config.json is given.
DEFAULT_CONFIG = {
    "rnn_layers": 2,
    "rnn_size": 128,
    "rnn_bidirectional": False,
    "max_length": 40,
    "dim_embeddings": 100,
    "word_level": False,
}
MAX_VOCAB = 65_536


class TextgenrnnWeightsError(HfmechError, ValueError):
    """The files are not a textgenrnn character model (names, shapes, vocabulary or options we cannot convert)."""


def read_keras_weights(path: str | os.PathLike) -> dict[str, dict[str, np.ndarray]]:
    """``{layer: {"kernel:0": array, …}}`` from a Keras ``save_weights`` (or ``save``) HDF5 file, via h5py.

    Arrays are keyed by the last component of their ``weight_names`` entry (``kernel:0``, ``bias:0``, …).
    """
    try:
        import h5py
    except ImportError as exc:
        raise TextgenrnnWeightsError(
            "reading textgenrnn's .hdf5 needs h5py: pip install 'hfmech[charrnn]' (or pip install h5py)"
        ) from exc
    path = Path(path)
    if not path.is_file():
        raise TextgenrnnWeightsError(f"{path}: no such file")
    try:
        with h5py.File(path, "r") as f:
            root = f.get("model_weights", f)
            names = [
                n.decode() if isinstance(n, bytes) else str(n) for n in root.attrs.get("layer_names", [])
            ]
            if not names:
                raise TextgenrnnWeightsError(
                    f"{path}: no Keras 'layer_names' attribute (not a Keras weights file)"
                )
            layers = {}
            for name in names:
                group = root[name]
                weights = {}
                for w in group.attrs.get("weight_names", []):
                    w = w.decode() if isinstance(w, bytes) else str(w)
                    dataset = group[w]
                    if not isinstance(dataset, h5py.Dataset) or dataset.dtype.kind != "f":
                        raise TextgenrnnWeightsError(f"{path}: {name}/{w} is not a float array")
                    weights[w.rsplit("/", 1)[-1]] = np.asarray(dataset[()], dtype=np.float32)
                layers[name] = weights
    except OSError as exc:
        raise TextgenrnnWeightsError(
            f"{path}: not a readable HDF5 file ({' '.join(str(exc).split())})"
        ) from None
    except KeyError as exc:
        raise TextgenrnnWeightsError(f"{path}: a listed layer or weight is missing ({exc})") from None
    return layers


def read_vocab(path: str | os.PathLike) -> list[str]:
    """textgenrnn_vocab.json (``{char: index}``, indices 1 … V-1) → the list ``["", char_1, …]``."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise TextgenrnnWeightsError(f"{path}: not a readable JSON vocabulary ({exc})") from None
    if not isinstance(data, dict) or not data or len(data) >= MAX_VOCAB:
        raise TextgenrnnWeightsError(f"{path}: expected a JSON object of 1..{MAX_VOCAB - 1} characters")
    if not all(
        isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool) for k, v in data.items()
    ):
        raise TextgenrnnWeightsError(f"{path}: every entry must map a string to an integer index")
    if sorted(data.values()) != list(range(1, len(data) + 1)):
        raise TextgenrnnWeightsError(f"{path}: indices must be exactly 1..{len(data)}, each once")
    vocab = [""] * (len(data) + 1)
    for token, index in data.items():
        vocab[index] = token
    if META_TOKEN not in data:
        raise TextgenrnnWeightsError(f"{path}: the meta token {META_TOKEN!r} is not in the vocabulary")
    return vocab


def _lstm_weights(name: str, w: dict[str, np.ndarray], n_in: int, u: int) -> dict[str, np.ndarray]:
    """PyTorch ``weight_ih_l0 (4U, in)``, ``weight_hh_l0 (4U, U)``, ``bias_ih_l0``, ``bias_hh_l0`` of one layer."""
    need = ("kernel:0", "recurrent_kernel:0", "bias:0")
    missing = [k for k in need if k not in w]
    if missing:
        raise TextgenrnnWeightsError(f"{name}: missing {', '.join(missing)}")
    kernel, recurrent, bias = (w[k] for k in need)
    if kernel.shape != (n_in, 4 * u) or recurrent.shape != (u, 4 * u):
        raise TextgenrnnWeightsError(
            f"{name}: kernel {kernel.shape} / recurrent_kernel {recurrent.shape}, expected "
            f"{(n_in, 4 * u)} / {(u, 4 * u)}"
        )
    if bias.shape == (8 * u,):  # CuDNNLSTM: each gate block is cuDNN's (U, in) matrix, row-major
        w_ih = np.concatenate([k.reshape(u, n_in) for k in np.split(kernel, 4, axis=1)])
        w_hh = np.concatenate([k.reshape(u, u) for k in np.split(recurrent, 4, axis=1)])
        b_ih, b_hh = bias[: 4 * u], bias[4 * u :]
    elif bias.shape == (4 * u,):  # Keras LSTM: x · kernel, h · recurrent_kernel
        w_ih, w_hh = kernel.T, recurrent.T
        b_ih, b_hh = bias, np.zeros_like(bias)
    else:
        raise TextgenrnnWeightsError(f"{name}: bias {bias.shape}, expected ({4 * u},) or ({8 * u},)")
    return {"weight_ih_l0": w_ih, "weight_hh_l0": w_hh, "bias_ih_l0": b_ih, "bias_hh_l0": b_hh}


def convert_textgenrnn(
    weights_path: str | os.PathLike,
    vocab_path: str | os.PathLike,
    config_path: str | os.PathLike | None = None,
    **config_kwargs,
) -> CharRNNForCausalLM:
    """Build a float32 :class:`CharRNNForCausalLM` from textgenrnn's weights, vocabulary and (optional) config."""
    cfg = dict(DEFAULT_CONFIG)
    if config_path is not None:
        try:
            cfg.update(json.loads(Path(config_path).read_text(encoding="utf-8")))
        except (OSError, ValueError) as exc:
            raise TextgenrnnWeightsError(f"{config_path}: not a readable JSON config ({exc})") from None
    if cfg.get("rnn_bidirectional"):
        raise TextgenrnnWeightsError(
            "bidirectional textgenrnn models are not supported (rnn_bidirectional=True)"
        )
    if cfg.get("word_level"):
        raise TextgenrnnWeightsError("word-level textgenrnn models are not supported (word_level=True)")
    vocab = read_vocab(vocab_path)
    layers = read_keras_weights(weights_path)
    n_layers = int(cfg["rnn_layers"])
    rnn_names = [f"rnn_{i + 1}" for i in range(n_layers)]
    missing = [n for n in ("embedding", *rnn_names, "attention", "output") if n not in layers]
    if missing:
        raise TextgenrnnWeightsError(
            f"{weights_path}: layers {', '.join(missing)} missing (found {list(layers)})"
        )
    emb = layers["embedding"].get("embeddings:0")
    if emb is None or emb.ndim != 2 or emb.shape[0] != len(vocab):
        raise TextgenrnnWeightsError(
            f"embedding: shape {None if emb is None else emb.shape}, expected ({len(vocab)}, E) for the vocabulary"
        )
    e, u = emb.shape[1], int(cfg["rnn_size"])
    width = e + n_layers * u
    att = next((v for k, v in layers["attention"].items() if k.endswith("_W:0") or k == "W:0"), None)
    if att is None or att.shape != (width, 1):
        raise TextgenrnnWeightsError(
            f"attention: weight {None if att is None else att.shape}, expected ({width}, 1)"
        )
    out_w, out_b = layers["output"].get("kernel:0"), layers["output"].get("bias:0")
    if out_w is None or out_b is None or out_w.shape != (width, len(vocab)) or out_b.shape != (len(vocab),):
        raise TextgenrnnWeightsError(
            f"output: kernel/bias {getattr(out_w, 'shape', None)} / {getattr(out_b, 'shape', None)}, expected "
            f"{(width, len(vocab))} / {(len(vocab),)}"
        )
    config = CharRNNConfig(
        vocab=vocab,
        vocab_size=len(vocab),
        meta_token=META_TOKEN,
        max_length=int(cfg["max_length"]),
        dim_embeddings=int(e),
        rnn_size=u,
        rnn_layers=n_layers,
        **config_kwargs,
    )
    model = CharRNNForCausalLM(config)
    state = {"embedding.weight": emb, "attention": att[:, 0], "output.weight": out_w.T, "output.bias": out_b}
    for i, name in enumerate(rnn_names):
        for k, v in _lstm_weights(name, layers[name], e if i == 0 else u, u).items():
            state[f"rnns.{i}.{k}"] = v
    model.load_state_dict(
        {k: torch.from_numpy(np.ascontiguousarray(v, dtype=np.float32)) for k, v in state.items()},
        strict=True,
    )
    return model.eval()


def main(argv=None) -> int:
    import argparse
    import sys

    p = argparse.ArgumentParser(
        prog="python -m hfmech.sentiment.convert_textgenrnn", description=__doc__.split("\n")[0]
    )
    p.add_argument("weights", help="textgenrnn_weights.hdf5")
    p.add_argument("vocab", help="textgenrnn_vocab.json")
    p.add_argument("out", help="output folder (config.json + model.safetensors)")
    p.add_argument("--config", default=None, help="textgenrnn_config.json of a model you trained (optional)")
    a = p.parse_args(argv)
    try:
        convert_textgenrnn(a.weights, a.vocab, a.config).save_pretrained(a.out)
    except TextgenrnnWeightsError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(a.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
