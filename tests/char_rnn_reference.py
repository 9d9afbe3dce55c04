"""An independent numpy transcription of textgenrnn's Keras model, for the char-RNN equivalence tests.

Nothing here imports hfmech or TensorFlow: it reads the ``.hdf5`` with h5py and reproduces, in float64,

* ``tensorflow.python.keras.saving.hdf5_format._convert_rnn_weights`` (what ``model.load_weights`` applies to a
  ``CuDNNLSTM`` file loaded into an ``LSTM``: per gate block ``kernel.T.reshape(kernel.shape, order="F")``, the
  recurrent blocks transposed, the two bias halves summed), transcribed line by line;
* Keras' ``LSTM`` (``recurrent_activation="sigmoid"``, as textgenrnn's ``new_rnn`` sets it; gates i, f, c, o);
* textgenrnn's ``AttentionWeightedAverage.call`` (max trick, ``K.epsilon()`` in the denominator) and the softmax
  ``Dense``;
* ``textgenrnn_encode_sequence`` (``vocab.get(ch, 0)``, ``pad_sequences(maxlen=40)``: pre-padding, pre-truncation)
  with ``[meta_token] + list(prefix)`` as ``textgenrnn_generate`` builds it.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

K_EPSILON = 1e-7


def keras_convert_rnn_weights(weights: list[np.ndarray]) -> list[np.ndarray]:
    def transform_kernels(kernels, func, n_gates):
        return np.hstack([func(k) for k in np.hsplit(kernels, n_gates)])

    def transpose_input(from_cudnn):
        order = "F" if from_cudnn else "C"

        def transform(kernel):
            return kernel.T.reshape(kernel.shape, order=order)

        return transform

    units = weights[1].shape[0]
    bias_shape = weights[2].shape
    n_gates = 4
    if bias_shape == (2 * units * n_gates,):
        source = "CuDNNLSTM"
    elif bias_shape == (units * n_gates,):
        source = "LSTM"
    else:
        raise ValueError("Invalid bias shape: " + str(bias_shape))
    if source != "LSTM":  # the target layer is an LSTM
        kernels = transform_kernels(weights[0], transpose_input(True), n_gates)
        recurrent_kernels = transform_kernels(weights[1], lambda k: k.T, n_gates)
        biases = np.sum(np.split(weights[2], 2, axis=0), axis=0)
        return [kernels, recurrent_kernels, biases]
    return weights


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def keras_lstm(x: np.ndarray, kernel, recurrent_kernel, bias) -> np.ndarray:
    """``LSTM(units, return_sequences=True, recurrent_activation="sigmoid")`` on one sequence ``x`` (T, in)."""
    u = recurrent_kernel.shape[0]
    h, c, out = np.zeros(u), np.zeros(u), []
    for x_t in x:
        z = x_t @ kernel + h @ recurrent_kernel + bias
        i, f, g, o = z[:u], z[u : 2 * u], z[2 * u : 3 * u], z[3 * u :]
        c = _sigmoid(f) * c + _sigmoid(i) * np.tanh(g)
        h = _sigmoid(o) * np.tanh(c)
        out.append(h)
    return np.array(out)


def read_h5(path) -> dict[str, np.ndarray]:
    import h5py

    with h5py.File(path, "r") as f:
        out = {}
        f.visititems(
            lambda name, obj: (
                out.__setitem__(name, np.asarray(obj[()], np.float64))
                if isinstance(obj, h5py.Dataset)
                else None
            )
        )
    return out


def encode_sequence(
    prefix: str, vocab: dict[str, int], maxlen: int = 40, meta_token: str = "<s>"
) -> np.ndarray:
    text = [meta_token] + list(prefix)
    encoded = np.array([vocab.get(x, 0) for x in text[-maxlen:]])
    padded = np.zeros(maxlen, dtype=np.int64)  # pad_sequences: padding="pre", truncating="pre", value=0
    padded[maxlen - len(encoded) :] = encoded
    return padded


def keras_predict(weights: dict[str, np.ndarray], ids: np.ndarray, rnn_layers: int = 2) -> np.ndarray:
    """``model.predict(ids[None])[0]``: the next-character distribution (V,) for one window ``ids`` (T,)."""
    x = weights["embedding/embedding/embeddings:0"][ids]
    seq, h = [x], x
    for k in range(1, rnn_layers + 1):
        p = f"rnn_{k}/rnn_{k}/"
        kernel, recurrent, bias = keras_convert_rnn_weights(
            [weights[p + "kernel:0"], weights[p + "recurrent_kernel:0"], weights[p + "bias:0"]]
        )
        h = keras_lstm(h, kernel, recurrent, bias)
        seq.append(h)
    s = np.concatenate(seq, axis=-1)[None]  # (1, T, 356): rnn_concat
    logits = (s @ weights["attention/attention/attention_W:0"]).reshape(1, -1)
    ai = np.exp(logits - logits.max(axis=-1, keepdims=True))
    att = ai / (ai.sum(axis=1, keepdims=True) + K_EPSILON)
    r = (s * att[..., None]).sum(axis=1)[0]
    z = r @ weights["output/output/kernel:0"] + weights["output/output/bias:0"]
    e = np.exp(z - z.max())
    return e / e.sum()


def reference_probs(h5_path, vocab_path, prefix: str) -> np.ndarray:
    vocab = json.loads(Path(vocab_path).read_text(encoding="utf-8"))
    return keras_predict(read_h5(h5_path), encode_sequence(prefix, vocab))
