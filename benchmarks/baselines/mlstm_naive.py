"""The mLSTM baselines: a straightforward per-byte loop (embedding and input projections inside the loop, one text at a
time or batched), as a first port of OpenAI's encoder.py would be written."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def naive_featurize(model, texts):
    """One text at a time; embedding and input projections per byte inside the loop (the baseline)."""
    import numpy as np

    from hfmech.sentiment.preprocessing import preprocess

    w = model.effective_weights()
    hdim = model.config.hidden_size
    out = np.zeros((len(texts), hdim), dtype=np.float32)
    with torch.no_grad():
        for k, text in enumerate(texts):
            ids = model._ids(preprocess(text)).unsqueeze(0)
            c, h = model.zero_state(1)
            for t in range(ids.shape[1]):
                x = model.embed(ids[:, t])
                m = (x @ w["wmx"]) * (h @ w["wmh"])
                z = x @ w["wx"] + m @ w["wh"] + w["b"]
                i, f, o, u = z.chunk(4, dim=1)
                c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(u)
                h = torch.sigmoid(o) * torch.tanh(c)
            out[k] = c[0].numpy()
    return out


def naive_featurize_batched(model, texts, batch_size):
    """For information: the naive per-byte loop (``X[:, t]`` embedding and projections inside the loop) over
    length-sorted, left-padded batches, holding the state over padding with ``torch.where`` (encoder.py's
    ``transform`` batching without chunk projections)."""
    import numpy as np

    from hfmech.sentiment.preprocessing import preprocess

    w = model.effective_weights()
    data = [preprocess(t) for t in texts]
    order = np.argsort([len(d) for d in data], kind="stable")
    out = np.zeros((len(texts), model.config.hidden_size), dtype=np.float32)
    with torch.no_grad():
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            longest = max(len(data[i]) for i in idx)
            ids = torch.zeros(len(idx), longest, dtype=torch.long)
            mask = torch.zeros(len(idx), longest, dtype=torch.bool)
            for row, i in enumerate(idx):
                ids[row, longest - len(data[i]) :] = model._ids(data[i])
                mask[row, longest - len(data[i]) :] = True
            c, h = model.zero_state(len(idx))
            for t in range(longest):
                x = model.embed(ids[:, t])
                m = (x @ w["wmx"]) * (h @ w["wmh"])
                z = x @ w["wx"] + m @ w["wh"] + w["b"]
                i, f, o, u = z.chunk(4, dim=1)
                c_new = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(u)
                h_new = torch.sigmoid(o) * torch.tanh(c_new)
                keep = mask[:, t : t + 1]
                c, h = torch.where(keep, c_new, c), torch.where(keep, h_new, h)
            out[idx] = c.numpy()
    return out


def naive_loss(model, x):
    """The training forward with ``X[:, t]`` indexing and per-step input projections inside the loop."""

    w = model.effective_weights()
    c, h = model.zero_state(x.shape[0])
    emb = model.embed(x[:, :-1])
    hs = []
    for t in range(emb.shape[1]):
        xt = emb[:, t]
        m = (xt @ w["wmx"]) * (h @ w["wmh"])
        z = xt @ w["wx"] + m @ w["wh"] + w["b"]
        i, f, o, u = z.chunk(4, dim=1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(u)
        h = torch.sigmoid(o) * torch.tanh(c)
        hs.append(h)
    logits = model.out(torch.stack(hs, 1))
    return F.cross_entropy(logits.reshape(-1, 256), x[:, 1:].reshape(-1))
