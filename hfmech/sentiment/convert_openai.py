"""Convert OpenAI's released sentiment-neuron weights (``model/0.npy`` … ``model/14.npy``) to :class:`MLSTMForByteLM`.

openai/generating-reviews-discovering-sentiment ``encoder.py`` loads 15 arrays and concatenates 2–5::

    params = [np.load('model/%d.npy' % i) for i in range(15)]
    params[2] = np.concatenate(params[2:6], axis=1)
    params[3:6] = []

and hands the resulting 12 arrays to the TF variables in creation order. The layout we assume (documented here
because the files carry no names; shapes for the released ``H = 4096``)::

    0   model/embedding/w   (256, 64)      byte embedding
    1   model/rnn/wx        (64, 4H)       input → gates i, f, o, u (column blocks in that order)
    2-5 model/rnn/wh        4 × (H, H)     m → gates, stored as four column blocks; concatenated on axis 1 → (H, 4H)
    6   model/rnn/wmx       (64, H)        input → multiplicative factor
    7   model/rnn/wmh       (H, H)         h → multiplicative factor
    8   model/rnn/b         (4H,)          gate bias
    9   model/rnn/gx        (4H,)          weight-norm gains of wx's columns
    10  model/rnn/gh        (4H,)          … of wh
    11  model/rnn/gmx       (H,)           … of wmx
    12  model/rnn/gmh       (H,)           … of wmh
    13  model/out/w         (H, 256)       output layer (no weight norm)
    14  model/out/b         (256,)

(``mlstm`` creates ``wx, wh, wmx, wmh, b`` and then, with ``wn=True``, ``gx, gh, gmx, gmh``.) The mLSTM parameters map
one-to-one onto ours (same ``(in, out)`` layout and names); the output layer is transposed into ``nn.Linear``.
Every shape is checked, so a file set in another order fails loudly instead of producing garbage.
Radford et al. found the sentiment unit at index 2388 of the cell state of this model.

Only ``np.load(allow_pickle=False)`` is used: the ``.npy`` files are plain arrays.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from ..errors import HfmechError
from .modeling_mlstm import MLSTMConfig, MLSTMForByteLM

__all__ = ["OPENAI_SENTIMENT_UNIT", "OpenAIWeightsError", "convert_openai", "load_openai_arrays", "merge_wh"]

OPENAI_SENTIMENT_UNIT = 2388
N_FILES = 15


class OpenAIWeightsError(HfmechError, ValueError):
    """The folder does not hold encoder.py's 15 arrays with consistent shapes."""


def load_openai_arrays(folder: str | os.PathLike) -> list[np.ndarray]:
    """The 15 arrays ``folder/{0..14}.npy`` (``folder`` is encoder.py's ``model/`` directory)."""
    folder = Path(folder)
    missing = [i for i in range(N_FILES) if not (folder / f"{i}.npy").is_file()]
    if missing:
        raise OpenAIWeightsError(
            f"{folder}: missing {', '.join(f'{i}.npy' for i in missing)} (expected 0..14.npy)"
        )
    arrays = []
    for i in range(N_FILES):
        path = folder / f"{i}.npy"
        try:
            array = np.load(path, allow_pickle=False)
        except (ValueError, OSError, EOFError) as e:  # object arrays (pickles), truncated or not-.npy files
            raise OpenAIWeightsError(
                f"{path}: not a plain numeric .npy array ({' '.join(str(e).split())})"
            ) from None
        if not isinstance(array, np.ndarray) or array.dtype.kind not in "fiu":
            raise OpenAIWeightsError(
                f"{path}: expected a numeric array, got {getattr(array, 'dtype', type(array))}"
            )
        arrays.append(array)
    return arrays


def merge_wh(params: list[np.ndarray]) -> list[np.ndarray]:
    """encoder.py's ``params[2] = concatenate(params[2:6], axis=1); params[3:6] = []`` → 12 arrays."""
    if len(params) != N_FILES:
        raise OpenAIWeightsError(f"expected {N_FILES} arrays, got {len(params)}")
    return [params[0], params[1], np.concatenate(params[2:6], axis=1), *params[6:]]


def convert_openai(params_or_folder, **config_kwargs) -> MLSTMForByteLM:
    """Build an :class:`MLSTMForByteLM` (float32) from the 15 arrays or their folder.

    ``config_kwargs`` go to :class:`MLSTMConfig` (default ``sentiment_unit=2388``, as found by Radford et al.).
    """
    params = (
        load_openai_arrays(params_or_folder)
        if isinstance(params_or_folder, (str, os.PathLike))
        else list(params_or_folder)
    )
    emb, wx, wh, wmx, wmh, b, gx, gh, gmx, gmh, w_out, b_out = merge_wh(params)
    vocab, e = emb.shape
    hdim = wmh.shape[0]
    expected = {
        "embedding": (emb.shape, (vocab, e)),
        "wx": (wx.shape, (e, 4 * hdim)),
        "wh": (wh.shape, (hdim, 4 * hdim)),
        "wmx": (wmx.shape, (e, hdim)),
        "wmh": (wmh.shape, (hdim, hdim)),
        "b": (b.shape, (4 * hdim,)),
        "gx": (gx.shape, (4 * hdim,)),
        "gh": (gh.shape, (4 * hdim,)),
        "gmx": (gmx.shape, (hdim,)),
        "gmh": (gmh.shape, (hdim,)),
        "out/w": (w_out.shape, (hdim, vocab)),
        "out/b": (b_out.shape, (vocab,)),
    }
    bad = [f"{k}: {tuple(got)} != {want}" for k, (got, want) in expected.items() if tuple(got) != want]
    if bad:
        raise OpenAIWeightsError("arrays do not match encoder.py's layout: " + "; ".join(bad))
    defaults = {"sentiment_unit": OPENAI_SENTIMENT_UNIT if hdim > OPENAI_SENTIMENT_UNIT else None}
    defaults.update(config_kwargs)
    config = MLSTMConfig(vocab_size=vocab, embed_size=e, hidden_size=hdim, **defaults)
    model = MLSTMForByteLM(config)

    def t(a):
        return torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))

    state = {
        "embed.weight": t(emb),
        "wx": t(wx),
        "wh": t(wh),
        "wmx": t(wmx),
        "wmh": t(wmh),
        "b": t(b),
        "gx": t(gx),
        "gh": t(gh),
        "gmx": t(gmx),
        "gmh": t(gmh),
        "out.weight": t(w_out.T),
        "out.bias": t(b_out),
    }
    model.load_state_dict(state, strict=True)
    return model.eval()


def main(argv=None) -> int:
    import argparse

    p = argparse.ArgumentParser(
        prog="python -m hfmech.sentiment.convert_openai", description=__doc__.split("\n")[0]
    )
    p.add_argument("model_dir", help="encoder.py's model/ folder with 0.npy … 14.npy")
    p.add_argument("out", help="output folder (config.json + model.safetensors)")
    a = p.parse_args(argv)
    try:
        convert_openai(a.model_dir).save_pretrained(a.out)
    except OpenAIWeightsError as e:
        import sys

        print(f"error: {e}", file=sys.stderr)
        return 2
    print(a.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
