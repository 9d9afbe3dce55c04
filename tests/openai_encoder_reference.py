"""An independent numpy transcription of OpenAI's ``encoder.py`` and ``utils.preprocess``
(openai/generating-reviews-discovering-sentiment), for the converter tests.

Nothing here imports hfmech. It keeps encoder.py's structure: the 15 ``model/<i>.npy`` arrays, ``params[2] =
concatenate(params[2:6], axis=1)``, variables consumed in creation order (embedding ``w``; ``wx, wh, wmx, wmh, b``,
then with ``rnn_wn`` the gains ``gx, gh, gmx, gmh``; ``out/w``, ``out/b``), ``tf.nn.l2_normalize(w, dim=0) * g``,
the masked mLSTM step, ``batch_pad`` (left padding with byte 0 and mask 0) and ``transform`` (texts sorted by length,
read ``nsteps`` bytes at a time in batches of ``nbatch``, finished texts dropped, the final cell state returned).
"""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np


def preprocess(text, front_pad="\n ", end_pad=" "):
    text = html.unescape(text)
    text = text.replace("\n", " ").strip()
    text = front_pad + text + end_pad
    text = text.encode()
    return text


def load_params(folder) -> list[np.ndarray]:
    """``params = [np.load('model/%d.npy' % i) for i in range(15)]; params[2] = concat(params[2:6], 1); del 3:6``."""
    params = [np.load(Path(folder) / f"{i}.npy") for i in range(15)]
    params[2] = np.concatenate(params[2:6], axis=1)
    params[3:6] = []
    return params


def _l2_normalize(w, g):  # tf.nn.l2_normalize(w, dim=0) * g: x / sqrt(max(sum(x**2), 1e-12))
    return w / np.sqrt(np.maximum(np.sum(w * w, axis=0, keepdims=True), 1e-12)) * g


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


class Encoder:
    """encoder.py's ``Model`` (rnn_wn=True, out_wn=False, nvocab=256) in numpy; ``dtype`` of the arithmetic."""

    def __init__(self, params: list[np.ndarray], nbatch: int = 128, nsteps: int = 64, dtype=np.float64):
        p = [np.asarray(a, dtype=dtype) for a in params]
        (self.embd, wx, wh, wmx, wmh, self.b, gx, gh, gmx, gmh, self.w_out, self.b_out) = p
        self.wx, self.wh = _l2_normalize(wx, gx), _l2_normalize(wh, gh)
        self.wmx, self.wmh = _l2_normalize(wmx, gmx), _l2_normalize(wmh, gmh)
        self.nhidden = self.wmh.shape[0]
        self.nbatch, self.nsteps, self.dtype = nbatch, nsteps, dtype

    def mlstm(self, xs, c, h, mask):
        """``mlstm(inputs, c, h, M, ...)``: xs (B, T) bytes, mask (B, T, 1) → (hs (B, T, H), cells (T, B, H), c, h)."""
        hs, cs = [], []
        for idx in range(xs.shape[1]):
            x = self.embd[xs[:, idx]]
            m = (x @ self.wmx) * (h @ self.wmh)
            z = x @ self.wx + m @ self.wh + self.b
            i, f, o, u = np.split(z, 4, axis=1)
            i, f, o, u = _sigmoid(i), _sigmoid(f), _sigmoid(o), np.tanh(u)
            ct = f * c + i * u
            ht = o * np.tanh(ct)
            mk = mask[:, idx, :]
            c = ct * mk + c * (1 - mk)
            h = ht * mk + h * (1 - mk)
            hs.append(h)
            cs.append(c)
        return np.stack(hs, 1), np.stack(cs), c, h

    def logits(self, data: bytes) -> np.ndarray:
        """``fc(hs, nvocab, act=identity, wn=False, scope='out')`` for one unpadded text: (T, 256)."""
        xs = np.frombuffer(data, dtype=np.uint8)[None].astype(np.int64)
        zero = np.zeros((1, self.nhidden), self.dtype)
        hs, _, _, _ = self.mlstm(xs, zero, zero, np.ones((1, xs.shape[1], 1), self.dtype))
        return hs[0] @ self.w_out + self.b_out

    def batch_pad(self, xs, nbatch, nsteps):
        xmb = np.zeros((nbatch, nsteps), dtype=np.int32)
        mmb = np.ones((nbatch, nsteps, 1), dtype=self.dtype)
        for i, x in enumerate(xs):
            n = len(x)
            npad = nsteps - n
            xmb[i, -n:] = list(x)
            mmb[i, :npad] = 0
        return xmb, mmb

    def transform(self, xs):
        """encoder.py's ``transform``: the final cell state of each text, (N, H)."""
        nsteps, nbatch = self.nsteps, self.nbatch
        xs = [preprocess(x) for x in xs]
        lens = np.asarray([len(x) for x in xs])
        sorted_idxs = np.argsort(lens)
        unsort_idxs = np.argsort(sorted_idxs)
        sorted_xs = [xs[i] for i in sorted_idxs]
        maxlen = np.max(lens)
        offset = 0
        n = len(xs)
        smb = np.zeros((2, n, self.nhidden), dtype=self.dtype)
        for step in range(0, int(np.ceil(maxlen / nsteps) * nsteps), nsteps):
            start = step
            end = step + nsteps
            xsubseq = [x[start:end] for x in sorted_xs]
            ndone = sum([x == b"" for x in xsubseq])
            offset += ndone
            xsubseq = xsubseq[ndone:]
            sorted_xs = sorted_xs[ndone:]
            nsubseq = len(xsubseq)
            xmb, mmb = self.batch_pad(xsubseq, nsubseq, nsteps)
            for batch in range(0, nsubseq, nbatch):
                start = batch
                end = batch + nbatch
                s = smb[:, offset + start : offset + end, :]
                _, _, c, h = self.mlstm(xmb[start:end].astype(np.int64), s[0], s[1], mmb[start:end])
                smb[:, offset + start : offset + end, :] = np.stack([c, h])
        return smb[0, unsort_idxs, :]

    def cell_transform(self, xs):
        """encoder.py's ``cell_transform`` for texts of at most ``nsteps`` bytes: (N, nsteps, H) per-step cells
        (left-padded positions keep the zero state)."""
        xs = [preprocess(x) for x in xs]
        xmb, mmb = self.batch_pad(xs, len(xs), self.nsteps)
        zero = np.zeros((len(xs), self.nhidden), self.dtype)
        _, cells, _, _ = self.mlstm(xmb.astype(np.int64), zero, zero, mmb)
        return cells.transpose(1, 0, 2)


def random_openai_files(folder, hidden: int, seed: int = 0, embed: int = 64) -> list[np.ndarray]:
    """Write ``folder/0.npy … 14.npy`` in the released files' layout, shapes and dtype (float32), random values:
    0 (256, 64) embedding; 1 (64, 4H) wx; 2-5 four (H, H) column blocks of wh; 6 (64, H) wmx; 7 (H, H) wmh;
    8 (4H,) b; 9 (4H,) gx; 10 (4H,) gh; 11 (H,) gmx; 12 (H,) gmh; 13 (H, 256) out/w; 14 (256,) out/b."""
    rng = np.random.default_rng(seed)
    h = hidden
    shapes = [(256, embed), (embed, 4 * h), (h, h), (h, h), (h, h), (h, h), (embed, h), (h, h), (4 * h,)]
    shapes += [(4 * h,), (4 * h,), (h,), (h,), (h, 256), (256,)]
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    arrays = []
    for i, shape in enumerate(shapes):
        if i in (9, 10, 11, 12):  # weight-norm gains: positive, around 1
            a = rng.uniform(0.5, 1.5, shape)
        elif i == 13:  # output layer (no weight norm): small, so the logits stay O(1) at H = 4096
            a = rng.standard_normal(shape) / np.sqrt(h)
        elif i == 8:
            a = rng.normal(0.0, 0.5, shape)
        else:
            a = rng.standard_normal(shape)
        a = a.astype(np.float32)
        np.save(folder / f"{i}.npy", a)
        arrays.append(a)
    return arrays
