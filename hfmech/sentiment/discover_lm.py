"""Sentiment-unit discovery over every layer and site of a causal LM (the protocol of issue 19, after Radford et al.).

Radford, Jozefowicz & Sutskever (2017, arXiv:1704.01444, §3-4) fit an L1-regularised logistic regression on a
byte mLSTM's final cell state, take the unit with the largest weight, and find that it alone classifies sentiment.
For a transformer there is no single "final state", so the same search runs over every candidate:

* every decoder block ``L`` (0 … n_layers − 1);
* both sites: ``"mlp"`` (the gated MLP's hidden activations, the input of ``down_proj``: ``(B, T, intermediate)``)
  and ``"residual"`` (the block's output: ``(B, T, hidden)``);
* both poolings: ``"mean"`` over the text's tokens and ``"last"`` (the activation at the final token, the
  analogue of the mLSTM's final state).

For each candidate: the L1 probe (:func:`~hfmech.sentiment.probe.train_with_reg_cv`, ``C`` chosen on dev) on
train, its largest-|weight| unit, polarity from the weight's sign, threshold fitted exactly on train
(:func:`~hfmech.sentiment.probe.single_unit_accuracy`); the candidate whose single unit is most accurate on **dev**
wins. Nothing is fitted on test.

Two steps (features are written to disk once, then every candidate is probed from them)::

    python -m hfmech.sentiment.discover_lm featurize --data ../shared/data --out /tmp/sentiment_work/feats
    python -m hfmech.sentiment.discover_lm discover --feats /tmp/sentiment_work/feats --out discovery.json

Feature files: ``<out>/<split>/<site>-<pool>.npy``, float16 ``(N, n_layers, units)`` (memory-mapped while
written), labels ``<out>/<split>/labels.npy``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from .lm_neuron import _first, _StopForward, resolve_site

SITES = ("mlp", "residual")
POOLS = ("mean", "last")


@torch.no_grad()
def featurize_all(
    model,
    tokenizer,
    texts: Sequence[str],
    out_dir: Path,
    batch_size: int = 16,
    max_length: int = 256,
    max_layer: int | None = None,
    log_every: int = 20,
    truncation_side: str = "right",
) -> dict:
    """Pool every layer's MLP activations and residual stream (mean and last token) for ``texts`` into
    ``out_dir/<site>-<pool>.npy`` (float16 ``(N, n_layers, units)``). One forward pass per batch; texts are
    length-sorted and right-padded (pooling ignores padding; the decoder is causal, so padding changes nothing
    before it). Texts longer than ``max_length`` tokens keep their beginning (``truncation_side="right"``) or their
    end (``"left"``: the last token is then the text's own last token). Returns timing."""
    from .lm_neuron import decoder_layers

    n_layers = len(decoder_layers(model)) if max_layer is None else max_layer + 1
    sites = {(s, L): resolve_site(model, L, s) for s in SITES for L in range(n_layers)}
    pending: dict = {}
    handles = []
    for key, s in sites.items():
        if s.side == "input":
            handles.append(
                s.module.register_forward_pre_hook(lambda _m, a, key=key: pending.__setitem__(key, a[0]))
            )
        else:
            handles.append(
                s.module.register_forward_hook(lambda _m, _a, o, key=key: pending.__setitem__(key, _first(o)))
            )
    # stop after the deepest block: nothing after it (final norm, lm_head) is read
    last_block = sites[("residual", n_layers - 1)].module

    def stop(_m, _a, _o):
        raise _StopForward

    handles.append(last_block.register_forward_hook(stop))
    out_dir.mkdir(parents=True, exist_ok=True)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = "right"
    tokenizer.truncation_side = truncation_side
    widths = {}
    arrays = {}
    order = np.argsort([-len(t) for t in texts], kind="stable")  # longest first: the slow batches show early
    t0 = time.perf_counter()
    n_tokens = 0
    try:
        for b, start in enumerate(range(0, len(texts), batch_size)):
            idx = np.sort(order[start : start + batch_size])
            enc = tokenizer(
                [texts[i] for i in idx],
                return_tensors="pt",
                padding=True,
                truncation=True,
                max_length=max_length,
            )
            pending.clear()
            with contextlib.suppress(_StopForward):
                model(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"], use_cache=False)
            mask = enc["attention_mask"].unsqueeze(-1).float()  # (B, T, 1)
            n_tokens += int(mask.sum())
            last = enc["attention_mask"].sum(1).clamp(min=1) - 1  # (B,)
            rows = torch.arange(len(idx))
            for site in SITES:
                for pool in POOLS:
                    stack = []
                    for L in range(n_layers):
                        act = pending[(site, L)].float()  # (B, T, U)
                        if pool == "mean":
                            stack.append((act * mask).sum(1) / mask.sum(1).clamp(min=1.0))
                        else:
                            stack.append(act[rows, last])
                    pooled = torch.stack(stack, 1).numpy()  # (B, n_layers, U)
                    name = f"{site}-{pool}"
                    if name not in arrays:
                        widths[site] = pooled.shape[-1]
                        arrays[name] = np.lib.format.open_memmap(
                            out_dir / f"{name}.npy",
                            mode="w+",
                            dtype=np.float16,
                            shape=(len(texts), n_layers, pooled.shape[-1]),
                        )
                    arrays[name][idx] = pooled.astype(np.float16)
            if log_every and b % log_every == 0:
                el = time.perf_counter() - t0
                print(f"  {start + len(idx)}/{len(texts)} texts, {n_tokens} tokens, {el:.0f} s", flush=True)
    finally:
        for h in handles:
            h.remove()
    for a in arrays.values():
        a.flush()
    seconds = time.perf_counter() - t0
    return {"texts": len(texts), "tokens": n_tokens, "seconds": round(seconds, 1), "n_layers": n_layers}


def _featurize_cmd(args) -> None:
    from .datasets import load_imdb, load_sst2
    from .zoo_smollm2 import load_smollm2

    torch.set_num_threads(args.threads)
    model, tokenizer = load_smollm2(args.model)
    data = Path(args.data)
    out = Path(args.out)
    jobs = []
    if "sst2" in args.sets:
        sst = load_sst2(data / "sst2")
        for split in ("train", "dev", "test"):
            texts, labels = getattr(sst, split)
            if split == "train" and args.sst2_train:
                from .datasets import stratified_sample

                keep = stratified_sample(labels, args.sst2_train, seed=0)
                texts, labels = [texts[i] for i in keep], labels[keep]
            jobs.append((f"sst2-{split}", texts, labels, args.max_tokens))
    if "imdb" in args.sets:
        imdb = load_imdb(data / "imdb", max_train=args.imdb_train, max_test=args.imdb_test, seed=0)
        for split in ("train", "test"):
            texts, labels = getattr(imdb, split)
            jobs.append((f"imdb-{split}", texts, labels, args.imdb_max_tokens))
    report = {}
    for name, texts, labels, max_tokens in jobs:
        folder = out / name
        folder.mkdir(parents=True, exist_ok=True)
        np.save(folder / "labels.npy", np.asarray(labels, dtype=np.int64))
        print(f"{name}: {len(texts)} texts (max {max_tokens} tokens)", flush=True)
        report[name] = featurize_all(
            model,
            tokenizer,
            texts,
            folder,
            batch_size=args.batch_size,
            max_length=max_tokens,
            max_layer=args.max_layer,
            truncation_side=args.truncation_side if name.startswith("imdb") else "right",
        )
        report[name]["max_tokens"] = max_tokens
        (folder / "timing.json").write_text(json.dumps(report[name], indent=1))
        print(f"{name}: {report[name]}", flush=True)


def _discover_cmd(args) -> None:
    from .probe import C_GRID, find_unit, single_unit_accuracy, train_with_reg_cv

    feats = Path(args.feats)

    def load(split, name):
        return np.load(feats / split / f"{name}.npy", mmap_mode="r"), np.load(feats / split / "labels.npy")

    results = []
    grid = tuple(C_GRID) if not args.C else tuple(float(c) for c in args.C.split(","))
    configs = args.configs.split(",") if args.configs else [f"{s}-{p}" for p in POOLS for s in SITES]
    for name in configs:
        site, pool = name.split("-")
        tr, trY = load("sst2-train", name)
        va, vaY = load("sst2-dev", name)
        te, teY = load("sst2-test", name)
        n = tr.shape[1]
        # middle layers first (where earlier work found the unit), so a stopped run has covered the likeliest
        layers = sorted(range(n), key=lambda L: abs(L - n // 2 + 2)) if not args.layers else []
        layers = layers or [int(x) for x in args.layers.split(",")]
        for L in layers:
            t0 = time.perf_counter()
            trX, vaX, teX = (np.asarray(a[:, L], dtype=np.float32) for a in (tr, va, te))
            probe = train_with_reg_cv(trX, trY, vaX, vaY, teX, teY, C=grid)
            source = probe
            if probe.n_nonzero == 0:  # every weight zero at the dev-chosen C: take the least regularised fit
                source = train_with_reg_cv(trX, trY, trX, trY, teX, teY, C=(max(grid),))
            unit, polarity = find_unit(source)
            dev = single_unit_accuracy(trX, trY, vaX, vaY, unit, polarity)
            test = single_unit_accuracy(trX, trY, teX, teY, unit, polarity)
            rec = {
                "site": site,
                "pool": pool,
                "layer": L,
                "C": probe.C,
                "n_nonzero": probe.n_nonzero,
                "probe_dev": probe.dev_accuracy,
                "probe_test": probe.test_accuracy,
                "unit": unit,
                "polarity": polarity,
                "threshold": dev.threshold,
                "unit_train": dev.train_accuracy,
                "unit_dev": dev.test_accuracy,
                "unit_test": test.test_accuracy,
                "seconds": round(time.perf_counter() - t0, 1),
            }
            results.append(rec)
            print(json.dumps(rec), flush=True)
            Path(args.out).write_text(json.dumps({"results": results}, indent=1))
    best = max(results, key=lambda r: (r["unit_dev"], r["probe_dev"]))
    Path(args.out).write_text(json.dumps({"results": results, "best_by_unit_dev": best}, indent=1))
    print("best:", json.dumps(best))


def best_single_units(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For every unit (column of ``X`` ``(N, U)``): the best train accuracy over all cut points and both
    polarities, that polarity ``(U,)`` and the threshold (midpoint of the cut) ``(U,)``. Vectorised exact search."""
    X = np.asarray(X, dtype=np.float32)
    y = np.asarray(y)
    n, u = X.shape
    order = np.argsort(X, axis=0, kind="stable")
    pos_below = np.vstack([np.zeros((1, u)), np.cumsum(y[order], 0)])  # positives among the k lowest
    k = np.arange(n + 1)[:, None]
    acc_up = ((k - pos_below) + (y.sum() - pos_below)) / n  # polarity +1: positive above the cut
    best_up, best_down = acc_up.max(0), (1 - acc_up).max(0)
    cut = np.where(best_up >= best_down, acc_up.argmax(0), (1 - acc_up).argmax(0))
    xs = np.take_along_axis(X, order, 0)
    cols = np.arange(u)
    lo = np.where(cut > 0, xs[np.maximum(cut - 1, 0), cols], xs[0] - 1)
    hi = np.where(cut < n, xs[np.minimum(cut, n - 1), cols], xs[-1] + 1)
    return np.maximum(best_up, best_down), np.where(best_up >= best_down, 1, -1), (lo + hi) / 2


def _scan_cmd(args) -> None:
    """Every unit of every candidate with its exact best threshold on train: the candidate's best unit *on train*
    (a selection that never sees dev or test; ``train_unit``, with its dev and test accuracy) and, as an upper bound
    of what any rule could pick, its best unit *on dev* (``best_dev_unit``)."""
    feats = Path(args.feats)
    rows = []
    for name in args.configs.split(","):
        arrays = {
            s: np.load(feats / f"sst2-{s}" / f"{name}.npy", mmap_mode="r") for s in ("train", "dev", "test")
        }
        labels = {s: np.load(feats / f"sst2-{s}" / "labels.npy") for s in arrays}
        layers = [int(x) for x in args.layers.split(",")] if args.layers else range(arrays["train"].shape[1])
        for L in layers:
            acc, pol, thr = best_single_units(arrays["train"][:, L], labels["train"])
            scores = {
                s: ((pol * (np.asarray(arrays[s][:, L], np.float32) - thr) > 0) == labels[s][:, None]).mean(0)
                for s in ("dev", "test")
            }
            best = int(np.argmax(scores["dev"]))
            on_train = int(np.argmax(acc))
            rec = {
                "config": name,
                "layer": L,
                "train_unit": on_train,
                "train_unit_polarity": int(pol[on_train]),
                "train_unit_threshold": float(thr[on_train]),
                "train_unit_train": float(acc[on_train]),
                "train_unit_dev": float(scores["dev"][on_train]),
                "train_unit_test": float(scores["test"][on_train]),
                "best_dev_unit": best,
                "bd_train": float(acc[best]),
                "bd_dev": float(scores["dev"][best]),
                "bd_test": float(scores["test"][best]),
            }
            rows.append(rec)
            print(json.dumps(rec), flush=True)
            Path(args.out).write_text(json.dumps(rows, indent=1))


def unit_scale(values: np.ndarray, labels: np.ndarray, polarity: int, threshold: float) -> float:
    """Slope ``s`` of the single-unit logistic fit ``P(positive) = σ(s·polarity·(value − threshold))`` on train
    (no intercept: the threshold is the decision point; unregularised)."""
    from sklearn.linear_model import LogisticRegression

    z = (polarity * (np.asarray(values, dtype=np.float64) - threshold)).reshape(-1, 1)
    fit = LogisticRegression(C=np.inf, fit_intercept=False, max_iter=1000).fit(z, labels)
    return float(fit.coef_[0, 0])


def _calibrate_cmd(args) -> None:
    from .probe import single_unit_accuracy

    feats = Path(args.feats)
    disc = json.loads(Path(args.discovery).read_text())
    best = (
        disc["best_by_unit_dev"]
        if args.layer is None
        else next(
            r
            for r in disc["results"]
            if (r["site"], r["pool"], r["layer"]) == (args.site, args.pool, args.layer)
        )
    )
    site, pool, layer, unit, pol = best["site"], best["pool"], best["layer"], best["unit"], best["polarity"]
    name = f"{site}-{pool}"

    def col(split):
        x = np.load(feats / split / f"{name}.npy", mmap_mode="r")
        return np.asarray(x[:, layer, unit], dtype=np.float64), np.load(feats / split / "labels.npy")

    trX, trY = col("sst2-train")
    res = single_unit_accuracy(trX[:, None], trY, trX[:, None], trY, 0, pol)
    threshold = float(res.threshold)
    report = {
        "site": site,
        "pool": pool,
        "layer": layer,
        "unit": unit,
        "polarity": pol,
        "threshold": threshold,
        "scale": unit_scale(trX, trY, pol, threshold),
        "clamp_value_p99_abs": float(np.percentile(np.abs(trX), 99)),
        "probe_all_units": {k: best[k] for k in ("C", "n_nonzero", "probe_dev", "probe_test")},
        "accuracy": {},
    }

    def acc(x, y, t):
        return float(((pol * (x - t) > 0).astype(int) == y).mean())

    for split in ("sst2-train", "sst2-dev", "sst2-test", "imdb-train", "imdb-test"):
        if not (feats / split / f"{name}.npy").is_file():
            continue
        if np.load(feats / split / f"{name}.npy", mmap_mode="r").shape[1] <= layer:
            continue  # featurised only up to a shallower layer
        x, y = col(split)
        report["accuracy"][split] = {"n": int(len(y)), "sst2_threshold": acc(x, y, threshold)}
    if "imdb-train" in report["accuracy"] and "imdb-test" in report["accuracy"]:
        x, y = col("imdb-train")
        t_imdb = float(single_unit_accuracy(x[:, None], y, x[:, None], y, 0, pol).threshold)
        xt, yt = col("imdb-test")
        report["accuracy"]["imdb-test"]["imdb_train_threshold"] = acc(xt, yt, t_imdb)
        report["imdb_threshold"] = t_imdb
        from sklearn.metrics import roc_auc_score

        report["accuracy"]["imdb-test"]["auc"] = float(roc_auc_score(yt, pol * xt))
    Path(args.out).write_text(json.dumps(report, indent=1))
    print(json.dumps(report, indent=1))


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m hfmech.sentiment.discover_lm", description=__doc__.split("\n")[0]
    )
    sub = p.add_subparsers(dest="cmd", required=True)
    f = sub.add_parser("featurize", help="pooled activations of every layer/site/pool to .npy files")
    f.add_argument("--model", default=None, help="a built smollm2-135m folder (default: the zoo build)")
    f.add_argument("--data", required=True)
    f.add_argument("--out", required=True)
    f.add_argument("--sets", default="sst2", help="comma list: sst2, imdb")
    f.add_argument(
        "--sst2-train", type=int, default=None, help="stratified subsample of SST-2 train (default: all)"
    )
    f.add_argument("--imdb-train", type=int, default=200)
    f.add_argument("--imdb-test", type=int, default=1000)
    f.add_argument("--max-tokens", type=int, default=128)
    f.add_argument("--imdb-max-tokens", type=int, default=256)
    f.add_argument("--max-layer", type=int, default=None)
    f.add_argument(
        "--truncation-side",
        choices=["right", "left"],
        default="right",
        help="IMDB reviews over --imdb-max-tokens keep their beginning (right) or their end (left)",
    )
    f.add_argument("--batch-size", type=int, default=16)
    f.add_argument("--threads", type=int, default=1)
    f.set_defaults(func=_featurize_cmd)
    d = sub.add_parser("discover", help="L1 probe + top unit for every layer/site/pool; choose on dev")
    d.add_argument("--feats", required=True)
    d.add_argument("--out", required=True)
    d.add_argument("--layers", default=None)
    d.add_argument(
        "--configs",
        default=None,
        help="comma list of site-pool, in order (default: mlp-mean,residual-mean,mlp-last,...)",
    )
    d.add_argument("--C", default=None, help="comma list of C values (default: the paper's grid)")
    d.set_defaults(func=_discover_cmd)
    sc = sub.add_parser(
        "scan", help="every unit's best threshold on train: each candidate's best unit on train (and on dev)"
    )
    sc.add_argument("--feats", required=True)
    sc.add_argument("--out", required=True)
    sc.add_argument("--configs", default="mlp-last,mlp-mean,residual-last,residual-mean")
    sc.add_argument("--layers", default=None)
    sc.set_defaults(func=_scan_cmd)
    c = sub.add_parser("calibrate", help="threshold, scale and accuracies of the chosen unit")
    c.add_argument("--feats", required=True)
    c.add_argument("--discovery", required=True)
    c.add_argument("--out", required=True)
    c.add_argument("--site", default=None)
    c.add_argument("--pool", default=None)
    c.add_argument("--layer", type=int, default=None, help="override the dev-chosen candidate")
    c.set_defaults(func=_calibrate_cmd)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if hasattr(args, "sets"):
        args.sets = [s.strip() for s in args.sets.split(",")]
    args.func(args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
