"""Evaluate a sentiment neuron: the probe table, unit discovery, data efficiency, steering — one JSON report.

Usage (byte mLSTM, the paper's setting)::

    python -m hfmech.sentiment.evaluate --model mlstm-imdb --data /work/shared/data --out report.json \
        --figures docs/figures

and the same mechanism on any causal LM (SmolLM2 by default)::

    python -m hfmech.sentiment.evaluate --lm smollm2-135m --data /work/shared/data --out lm_report.json

What it measures (Radford, Jozefowicz & Sutskever 2017, arXiv:1704.01444, §3-4):

1. **Probe table** — for SST-2, IMDB, MR, CR, SUBJ, MPQA and Amazon: features of every text (final ``c`` state of
   the mLSTM; pooled MLP activations for an LM), the L1 logistic regression of :mod:`hfmech.sentiment.probe`
   (``C`` on dev), its test accuracy and number of non-zero weights. MR/CR/SUBJ/MPQA have no fixed split: 10-fold
   cross-validation (SentEval convention), features computed once.
2. **Unit discovery** — the largest-|weight| unit of the probe on the discovery set (IMDB by default: the model
   was trained on IMDB text), its polarity, its accuracy alone (threshold fitted on train) on every benchmark.
3. **Data efficiency** — test accuracy vs number of labelled examples (paper Fig. 2), several seeds.
4. **Steering** — with the unit clamped to a sweep of values, ``n`` generations per value judged by the independent
   MiniLM judge (:mod:`hfmech.sentiment.judge`); fraction judged positive.

Featurisation dominates the cost on CPU: the bytes/s rate is measured and reported, and IMDB/Amazon can be
subsampled (``--imdb-train``, ``--imdb-test``, ``--amazon-max``); the report states exactly what was run.
Features are cached (``--cache``) so a rerun only refits.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from joblib import parallel_config

from ..hub.files import atomic_path, write_json_atomic, write_text_atomic
from .datasets import (
    SENTENCE_FILES,
    TextSplits,
    kfold_splits,
    load_amazon,
    load_imdb,
    load_sentence_classification,
    load_sst2,
    stratified_sample,
)
from .probe import (
    cross_validated_probe,
    data_efficiency_curve,
    discover_unit,
    single_unit_accuracy,
)

PAPER = {
    "all_units": {"sst2": 91.8, "imdb": 92.88, "mr": 86.9, "cr": 91.4, "subj": 94.6, "mpqa": 88.5},
    "single_unit": {"imdb": 92.30},
    "note": "Radford et al. 2017, 4096-unit mLSTM trained on 82M Amazon reviews (Tables 1-3, §3.1)",
}
ALL_BENCHMARKS = ("sst2", "imdb", "mr", "cr", "subj", "mpqa", "amazon")

Featurizer = Callable[[Sequence[str]], np.ndarray]


def _log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def _pct(x: float | None) -> float | None:
    return None if x is None else round(100.0 * float(x), 2)


class FeatureCache:
    """``(N, H)`` features of a text list, cached as ``.npy`` under ``folder`` keyed by the texts' hash."""

    def __init__(self, featurize: Featurizer, folder: Path | None):
        self.featurize = featurize
        self.folder = folder
        self.seconds = 0.0
        self.bytes = 0
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        digest = hashlib.sha256("\x00".join(texts).encode("utf-8", "replace")).hexdigest()[:24]
        path = None if self.folder is None else self.folder / f"{digest}.npy"
        if path is not None and path.is_file():
            return np.load(path)
        t0 = time.perf_counter()
        feats = np.asarray(self.featurize(list(texts)), dtype=np.float32)
        self.seconds += time.perf_counter() - t0
        self.bytes += sum(len(t.encode("utf-8")) for t in texts)
        if path is not None:
            with atomic_path(path) as tmp:
                np.save(tmp, feats)
        return feats


def cap_splits(
    splits: TextSplits, max_per_split: int | None, seed: int = 5, max_eval: int | None = None
) -> TextSplits:
    """Seeded stratified subsample of every split to at most ``max_per_split`` items, and of dev/test to at most
    ``max_eval`` (noted in ``splits.note``)."""
    for key in ("train", "dev", "test"):
        texts, labels = getattr(splits, key)
        cap = max_per_split if key == "train" or not max_eval else min(max_eval, max_per_split or max_eval)
        if cap and len(labels) > cap:
            idx = stratified_sample(labels, cap, seed)
            setattr(splits, key, ([texts[i] for i in idx], labels[idx]))
    if max_per_split:
        splits.note += f"; every split capped at {max_per_split} (stratified, seed {seed})"
    if max_eval:
        splits.note += f"; dev/test capped at {max_eval}"
    return splits


def _features(cache: FeatureCache, splits: TextSplits):
    return [(cache(split[0]), split[1]) for split in (splits.train, splits.dev, splits.test)]


# ----------------------------------------------------------------------------------------- probe table


def evaluate_split_benchmark(cache: FeatureCache, splits: TextSplits) -> tuple[dict, tuple]:
    """Probe + own unit on a benchmark with train/dev/test; returns (record, features)."""
    t0 = time.perf_counter()
    (trX, trY), (vaX, vaY), (teX, teY) = _features(cache, splits)
    feat_s = time.perf_counter() - t0
    probe, unit = discover_unit(trX, trY, vaX, vaY, teX, teY)
    record = {
        "split": splits.note,
        "sizes": splits.sizes(),
        "featurize_seconds": round(feat_s, 1),
        "all_units": {
            "test_accuracy": _pct(probe.test_accuracy),
            "dev_accuracy": _pct(probe.dev_accuracy),
            "n_nonzero": probe.n_nonzero,
            "n_units": int(trX.shape[1]),
            "C": probe.C,
            "top_units": probe.top_units(5),
        },
        "own_unit": {
            "unit": unit.unit,
            "polarity": unit.polarity,
            "threshold": unit.threshold,
            "test_accuracy": _pct(unit.test_accuracy),
        },
    }
    return record, ((trX, trY), (vaX, vaY), (teX, teY))


def evaluate_cv_benchmark(
    cache: FeatureCache, name: str, data, folds: int, unit: int | None
) -> tuple[dict, tuple]:
    t0 = time.perf_counter()
    X = cache(data[0])
    feat_s = time.perf_counter() - t0
    y = data[1]
    cv = cross_validated_probe(X, y, kfold_splits(y, folds, seed=0), unit=unit)
    record = {
        "split": f"{folds}-fold stratified cross-validation (seed 0); dev = 10 % of the training folds",
        "sizes": {"all": len(y)},
        "featurize_seconds": round(feat_s, 1),
        "all_units": {
            "test_accuracy": _pct(cv["accuracy_mean"]),
            "test_accuracy_std": _pct(cv["accuracy_std"]),
            "n_nonzero_mean": cv["n_nonzero_mean"],
            "n_units": int(X.shape[1]),
        },
        "top_unit_per_fold": cv["top_unit_per_fold"],
    }
    if unit is not None:
        record["discovered_unit"] = {
            "unit": unit,
            "test_accuracy": _pct(cv["unit_accuracy_mean"]),
            "test_accuracy_std": _pct(cv["unit_accuracy_std"]),
        }
    return record, (X, y)


def run_probe_table(
    cache: FeatureCache,
    data_root: Path,
    benchmarks: Sequence[str],
    discovery: str = "imdb",
    imdb_train: int | None = None,
    imdb_test: int | None = None,
    amazon_max: int | None = None,
    cv_folds: int = 10,
    efficiency_on: Sequence[str] = ("sst2",),
    efficiency_seeds: int = 3,
    max_per_split: int | None = None,
    max_eval: int | None = None,
) -> dict:
    """The whole table. The discovery benchmark is evaluated first; its unit is then scored everywhere."""
    loaders = {
        "sst2": lambda: load_sst2(data_root / "sst2"),
        "imdb": lambda: load_imdb(data_root / "imdb", max_train=imdb_train, max_test=imdb_test),
        "amazon": lambda: _amazon(data_root, amazon_max),
    }
    order = (
        [discovery] + [b for b in benchmarks if b != discovery]
        if discovery in benchmarks
        else list(benchmarks)
    )
    table: dict = {}
    feats: dict = {}
    unit = polarity = None
    for name in order:
        t0 = time.perf_counter()
        _log(f"benchmark {name}")
        if name in SENTENCE_FILES:
            data = load_sentence_classification(data_root / "sentence-classification", name)
            if max_per_split and len(data[1]) > max_per_split:
                idx = stratified_sample(data[1], max_per_split, seed=5)
                data = ([data[0][i] for i in idx], data[1][idx])
            record, f = evaluate_cv_benchmark(cache, name, data, cv_folds, unit)
        else:
            splits = cap_splits(loaders[name](), max_per_split, max_eval=max_eval)
            record, f = evaluate_split_benchmark(cache, splits)
            if unit is not None:
                (trX, trY), _, (teX, teY) = f
                single = single_unit_accuracy(trX, trY, teX, teY, unit, polarity)
                record["discovered_unit"] = {"unit": unit, "test_accuracy": _pct(single.test_accuracy)}
        if name == discovery:
            unit, polarity = record["own_unit"]["unit"], record["own_unit"]["polarity"]
            record["discovered_unit"] = {"unit": unit, "test_accuracy": record["own_unit"]["test_accuracy"]}
        record["seconds"] = round(time.perf_counter() - t0, 1)
        record["paper_all_units"] = PAPER["all_units"].get(name)
        record["paper_single_unit"] = PAPER["single_unit"].get(name)
        table[name] = record
        feats[name] = f
        _log(f"  {name}: {json.dumps({k: record[k] for k in ('all_units',) if k in record})[:300]}")
    efficiency = {}
    for name in efficiency_on:
        if name in feats and name not in SENTENCE_FILES:
            (trX, trY), (vaX, vaY), (teX, teY) = feats[name]
            _log(f"data efficiency on {name}")
            efficiency[name] = data_efficiency_curve(
                trX, trY, vaX, vaY, teX, teY, seeds=tuple(range(efficiency_seeds)), unit=unit
            )
    return {
        "discovery": {"benchmark": discovery, "unit": unit, "polarity": polarity},
        "table": table,
        "data_efficiency": efficiency,
        "_features": feats,
    }


def _amazon(data_root: Path, amazon_max: int | None) -> TextSplits:
    splits = load_amazon(data_root / "amazon-multidomain" / "reviews.jsonl")
    if amazon_max is not None:
        for key, n in (("train", amazon_max), ("dev", amazon_max // 8), ("test", amazon_max // 4)):
            texts, labels = getattr(splits, key)
            idx = stratified_sample(labels, n, seed=3)
            setattr(splits, key, ([texts[i] for i in idx], labels[idx]))
        splits.note += f"; subsampled to train {amazon_max} / dev {amazon_max // 8} / test {amazon_max // 4}"
    return splits


# -------------------------------------------------------------------------------------------- steering


def clamp_sweep_values(unit_values: np.ndarray, polarity: int, multipliers=(1.0, 2.0, 4.0)) -> list[float]:
    """Clamp values from the unit's observed range: ±k × the 99th percentile of |value| (positive direction =
    ``polarity``), for each ``k`` in ``multipliers``; sorted negative to positive."""
    scale = float(np.percentile(np.abs(unit_values), 99)) or 1.0
    vals = [polarity * s * k * scale for k in multipliers for s in (1, -1)]
    return sorted(round(v, 4) for v in vals)


def summarise_steering(results: list[dict], polarity: int = 1) -> dict:
    """Best positive-direction and negative-direction rates across the sweep."""
    pos = [r for r in results if r["clamp"] is not None and polarity * r["clamp"] > 0]
    neg = [r for r in results if r["clamp"] is not None and polarity * r["clamp"] < 0]
    out = {}
    if pos:
        best = max(pos, key=lambda r: r["fraction_positive"])
        out["best_positive"] = {"clamp": best["clamp"], "fraction_positive": best["fraction_positive"]}
    if neg:
        best = min(neg, key=lambda r: r["fraction_positive"])
        out["best_negative"] = {
            "clamp": best["clamp"],
            "fraction_negative": round(1 - best["fraction_positive"], 4),
        }
    return out


def mlstm_steering(
    model,
    judge,
    unit: int,
    values: Sequence[float],
    n: int,
    max_bytes: int,
    prompt: str,
    temperature: float,
    clamp_on: str,
) -> list[dict]:
    from .generation import generate
    from .judge import measure_steering

    def one(value, seed):
        out = generate(
            model,
            prompt,
            max_bytes=max_bytes,
            temperature=temperature,
            clamp=None if value is None else {unit: float(value)},
            clamp_on=clamp_on,
            seed=seed,
        )
        if isinstance(out, dict):
            out = out.get("text", out.get("generated_text", ""))
        if isinstance(out, (bytes, bytearray)):
            out = bytes(out).decode("utf-8", "replace")
        return str(out)

    def batch(value, count, seed):
        return [one(value, seed + i) for i in range(count)]

    return measure_steering(batch, judge, [None, *values], n=n)


# ------------------------------------------------------------------------------------------ mLSTM run


def _write_json(obj: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(path, obj, default=float)


def _judge(data_root: Path):
    from .judge import sst2_judge

    judge = sst2_judge(data_root / "sst2")
    return judge, {"sst2_test_accuracy": _pct(judge.info.get("test_accuracy")), **judge.info}


def evaluate_mlstm(args) -> dict:
    import torch
    from transformers import AutoModel

    from hfmech.hub import zoo

    from . import modeling_mlstm  # noqa: F401  (registers hfmech-mlstm with AutoModel)

    torch.set_num_threads(args.threads)
    path = zoo.resolve(args.model)
    device = args.device if args.device != "auto" else ("cuda" if torch.cuda.is_available() else "cpu")
    model = AutoModel.from_pretrained(path, dtype=torch.float32).eval().to(device)
    if args.precision is not None:
        model.config.precision = args.precision
    model_id = hashlib.sha256(
        b"".join(p.read_bytes() for p in sorted(Path(path).glob("*.safetensors")))
    ).hexdigest()[:16]
    products = model.recurrence_precision()  # config.precision ("auto": bf16 on AMX CPUs)
    suffix = "" if products == "float32" else f"-{products}"  # cached features are per precision
    cache = FeatureCache(
        lambda texts: model.featurize(texts, state=args.state, batch_size=args.batch_size),
        Path(args.cache) / f"mlstm-{model_id}-{args.state}{suffix}" if args.cache else None,
    )
    report: dict = {
        "model": str(args.model),
        "model_path": str(path),
        "model_sha": model_id,
        "hidden_size": int(model.config.hidden_size),
        "state": args.state,
        "recurrent_products": products,
        "paper": PAPER,
        "settings": {k: v for k, v in vars(args).items() if k not in ("func",)},
    }
    t0 = time.perf_counter()
    with parallel_config(n_jobs=args.jobs):
        res = run_probe_table(
            cache,
            Path(args.data),
            args.benchmarks,
            discovery=args.discovery,
            imdb_train=args.imdb_train,
            imdb_test=args.imdb_test,
            amazon_max=args.amazon_max,
            cv_folds=args.cv_folds,
            efficiency_on=args.efficiency_on,
            efficiency_seeds=args.efficiency_seeds,
            max_per_split=args.max_per_split,
            max_eval=args.max_eval,
        )
    feats = res.pop("_features")
    report.update(res)
    report["featurize_rate_bytes_per_s"] = round(cache.bytes / cache.seconds, 1) if cache.seconds else None
    report["probe_seconds"] = round(time.perf_counter() - t0, 1)
    _write_json(report, Path(args.out))
    unit, polarity = report["discovery"]["unit"], report["discovery"]["polarity"]
    disc = feats.get(args.discovery)
    if args.figures and disc is not None and unit is not None:
        report["figures"] = make_mlstm_figures(model, args, disc, unit, polarity)
        _write_json(report, Path(args.out))
    if args.unit_json and unit is not None:
        (trX, trY), _, _ = disc
        thr = single_unit_accuracy(trX, trY, trX[:1], trY[:1], unit, polarity).threshold
        _write_json(
            {
                "sentiment_unit": unit,
                "polarity": polarity,
                "threshold": thr,
                "state": args.state,
                "clamp_scale_p99": float(np.percentile(np.abs(trX[:, unit]), 99)),
                "discovered_on": report["table"][args.discovery]["split"],
                "model_sha": model_id,
                "imdb_single_unit_test_accuracy": report["table"][args.discovery]["own_unit"][
                    "test_accuracy"
                ],
            },
            Path(args.unit_json),
        )
    if args.steer_n > 0 and unit is not None:
        judge, judge_info = _judge(Path(args.data))
        report["judge"] = judge_info
        (trX, _), _, _ = disc
        values = args.steer_values or clamp_sweep_values(
            trX[:, unit], polarity, multipliers=args.steer_multipliers
        )
        t1 = time.perf_counter()
        sweep = mlstm_steering(
            model,
            judge,
            unit,
            values,
            args.steer_n,
            args.steer_bytes,
            args.steer_prompt,
            args.temperature,
            args.clamp_on,
        )
        report["steering"] = {
            "n_per_value": args.steer_n,
            "max_bytes": args.steer_bytes,
            "prompt": args.steer_prompt,
            "temperature": args.temperature,
            "clamp_on": args.clamp_on,
            "sweep": sweep,
            "summary": summarise_steering(sweep, polarity),
            "seconds": round(time.perf_counter() - t1, 1),
        }
        _write_json(report, Path(args.out))
    return report


def make_mlstm_figures(model, args, disc, unit: int, polarity: int) -> dict:
    from .figures import char_values, heatmap_png, save_heatmap_html, unit_histogram
    from .preprocessing import preprocess

    folder = Path(args.figures)
    folder.mkdir(parents=True, exist_ok=True)
    _, _, (teX, teY) = disc
    prefix = args.figure_prefix
    out = {}
    out["histogram"] = str(
        unit_histogram(
            teX[:, unit],
            teY,
            folder / f"{prefix}_histogram.png",
            title=f"unit {unit} on {args.discovery} test (final {args.state} state)",
        )
    )
    review = args.heatmap_text
    values = model.trace(review, unit=unit, state=args.state)
    data = preprocess(review)
    pairs = char_values(data, values)[2:]  # drop the '\n ' front pad
    center = float(np.median(teX[:, unit]))
    out["heatmap_png"] = str(
        heatmap_png(
            pairs,
            folder / f"{prefix}_heatmap.png",
            polarity=polarity,
            center=center,
            title=f"unit {unit}, per character",
        )
    )
    out["heatmap_html"] = str(
        save_heatmap_html(
            pairs, folder / f"{prefix}_heatmap.html", polarity=polarity, center=center, title=f"unit {unit}"
        )
    )
    return out


# -------------------------------------------------------------------------------------- causal LM run


def evaluate_lm(args) -> dict:
    import torch

    from .lm_neuron import featurize, generate_clamped
    from .zoo_smollm2 import load_smollm2

    torch.set_num_threads(args.threads)
    from hfmech.hub import zoo

    model, tokenizer = load_smollm2(zoo.resolve(args.lm)) if args.lm == "smollm2-135m" else _load_lm(args.lm)
    data_root = Path(args.data)
    layers = args.lm_layers
    cache_root = (
        Path(args.cache) / f"lm-{Path(str(args.lm)).name}-{args.lm_site}-{args.lm_pool}"
        if args.cache
        else None
    )
    report: dict = {
        "lm": str(args.lm),
        "site": args.lm_site,
        "pool": args.lm_pool,
        "layers": layers,
        "max_tokens": args.lm_max_tokens,
        "paper": PAPER,
        "settings": {k: v for k, v in vars(args).items() if k != "func"},
    }

    def feats_for(texts):  # all requested layers in one forward pass, cached per layer
        key = hashlib.sha256("\x00".join(texts).encode("utf-8", "replace")).hexdigest()[:24]
        paths = {L: None if cache_root is None else cache_root / f"L{L}" / f"{key}.npy" for L in layers}
        if all(p is not None and p.is_file() for p in paths.values()):
            return {L: np.load(p) for L, p in paths.items()}
        t0 = time.perf_counter()
        out = featurize(
            model,
            tokenizer,
            texts,
            layers=layers,
            site=args.lm_site,
            pool=args.lm_pool,
            batch_size=args.batch_size,
            max_length=args.lm_max_tokens,
        )
        timing["seconds"] += time.perf_counter() - t0
        timing["texts"] += len(texts)
        res = {}
        for L, (_name, arr) in zip(layers, out.items()):
            res[L] = arr
            if paths[L] is not None:
                paths[L].parent.mkdir(parents=True, exist_ok=True)
                np.save(paths[L], arr)
        return res

    timing = {"seconds": 0.0, "texts": 0}
    benches = {}
    for name in args.benchmarks:
        if name == "sst2":
            benches[name] = load_sst2(data_root / "sst2")
            if args.lm_sst2_train:
                tr = benches[name].train
                idx = stratified_sample(tr[1], args.lm_sst2_train, seed=0)
                benches[name].train = ([tr[0][i] for i in idx], tr[1][idx])
                benches[name].note += f"; train subsampled to {args.lm_sst2_train}"
        elif name == "imdb":
            benches[name] = load_imdb(data_root / "imdb", max_train=args.imdb_train, max_test=args.imdb_test)
        else:
            raise SystemExit(f"--lm evaluates sst2 and imdb only, not {name}")
        cap_splits(benches[name], args.max_per_split, max_eval=args.max_eval)
    table = {}
    layer_feats = {}
    for name, splits in benches.items():
        _log(f"LM benchmark {name} {splits.sizes()}")
        per_split = [feats_for(s[0]) for s in (splits.train, splits.dev, splits.test)]
        labels = [s[1] for s in (splits.train, splits.dev, splits.test)]
        per_layer = {}
        for L in layers:
            (trX, vaX, teX) = (per_split[0][L], per_split[1][L], per_split[2][L])
            probe, unit = discover_unit(trX, labels[0], vaX, labels[1], teX, labels[2])
            per_layer[str(L)] = {
                "all_units": {
                    "test_accuracy": _pct(probe.test_accuracy),
                    "dev_accuracy": _pct(probe.dev_accuracy),
                    "n_nonzero": probe.n_nonzero,
                    "n_units": int(trX.shape[1]),
                    "C": probe.C,
                },
                "own_unit": {
                    "unit": unit.unit,
                    "polarity": unit.polarity,
                    "threshold": unit.threshold,
                    "test_accuracy": _pct(unit.test_accuracy),
                    "dev_accuracy": None,
                },
            }
            # dev accuracy of the single unit, to choose the layer without looking at test
            single_dev = single_unit_accuracy(trX, labels[0], vaX, labels[1], unit.unit, unit.polarity)
            per_layer[str(L)]["own_unit"]["dev_accuracy"] = _pct(single_dev.test_accuracy)
            layer_feats[(name, L)] = (trX, labels[0], vaX, labels[1], teX, labels[2])
        table[name] = {
            "split": splits.note,
            "sizes": splits.sizes(),
            "layers": per_layer,
            "paper_all_units": PAPER["all_units"].get(name),
            "paper_single_unit": PAPER["single_unit"].get(name),
        }
        _log(
            f"  {name}: "
            + json.dumps(
                {
                    L: (v["all_units"]["test_accuracy"], v["own_unit"]["test_accuracy"])
                    for L, v in per_layer.items()
                }
            )
        )
    report["table"] = table
    report["featurize_seconds"] = round(timing["seconds"], 1)
    report["featurize_texts_per_s"] = (
        round(timing["texts"] / timing["seconds"], 2) if timing["seconds"] else None
    )
    disc = args.discovery if args.discovery in table else next(iter(table))
    best_layer = max(layers, key=lambda L: table[disc]["layers"][str(L)]["own_unit"]["dev_accuracy"])
    unit = table[disc]["layers"][str(best_layer)]["own_unit"]["unit"]
    polarity = table[disc]["layers"][str(best_layer)]["own_unit"]["polarity"]
    report["discovery"] = {
        "benchmark": disc,
        "layer": best_layer,
        "unit": unit,
        "polarity": polarity,
        "chosen_by": "single-unit dev accuracy",
    }
    for name in table:
        if name != disc:
            trX, trY, _, _, teX, teY = layer_feats[(name, best_layer)]
            table[name]["discovered_unit"] = {
                "layer": best_layer,
                "unit": unit,
                "test_accuracy": _pct(single_unit_accuracy(trX, trY, teX, teY, unit, polarity).test_accuracy),
            }
    _write_json(report, Path(args.out))
    if args.figures:
        from .figures import unit_histogram

        Path(args.figures).mkdir(parents=True, exist_ok=True)
        _, _, _, _, teX, teY = layer_feats[(disc, best_layer)]
        report["figures"] = {
            "histogram": str(
                unit_histogram(
                    teX[:, unit],
                    teY,
                    Path(args.figures) / f"{args.figure_prefix}_lm_histogram.png",
                    title=f"SmolLM2 layer {best_layer} MLP unit {unit} ({disc} test, {args.lm_pool}-pooled)",
                    xlabel=f"unit value ({args.lm_pool} over tokens)",
                )
            )
        }
    if args.steer_n > 0:
        judge, judge_info = _judge(data_root)
        report["judge"] = judge_info
        trX = layer_feats[(disc, best_layer)][0]
        # activations are per token: the clamp scale comes from per-token extremes, approximated by the pooled range
        values = args.steer_values or clamp_sweep_values(
            trX[:, unit], polarity, multipliers=args.steer_multipliers
        )
        from .judge import measure_steering

        def batch(value, count, seed):
            clamp = None if value is None else {unit: float(value)}
            return generate_clamped(
                model,
                tokenizer,
                args.steer_prompt_lm,
                clamp,
                best_layer,
                args.lm_site,
                n=count,
                max_new_tokens=args.steer_tokens,
                temperature=args.temperature,
                seed=seed,
            )

        t1 = time.perf_counter()
        sweep = measure_steering(batch, judge, [None, *values], n=args.steer_n)
        report["steering"] = {
            "n_per_value": args.steer_n,
            "max_new_tokens": args.steer_tokens,
            "prompt": args.steer_prompt_lm,
            "temperature": args.temperature,
            "layer": best_layer,
            "unit": unit,
            "sweep": sweep,
            "summary": summarise_steering(sweep, polarity),
            "seconds": round(time.perf_counter() - t1, 1),
        }
    _write_json(report, Path(args.out))
    return report


def _load_lm(name):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    return (
        AutoModelForCausalLM.from_pretrained(name, dtype=torch.float32).eval(),
        AutoTokenizer.from_pretrained(name),
    )


# -------------------------------------------------------------------------------------------- markdown


def _fmt(x, suffix=" %") -> str:
    return "–" if x is None else f"{x:.1f}{suffix}" if isinstance(x, float) else f"{x}{suffix}"


def report_to_markdown(report: dict) -> str:
    """The report's tables as Markdown (what docs/sentiment.md shows), generated, never typed by hand."""
    lines = []
    disc = report.get("discovery", {})
    if "lm" in report:
        lines.append(
            f"Model `{report['lm']}`, site `{report['site']}`, {report['pool']}-pooled over ≤ "
            f"{report['max_tokens']} tokens; unit discovered on {disc.get('benchmark')} at layer "
            f"{disc.get('layer')} ({disc.get('chosen_by')}): unit **{disc.get('unit')}**, polarity "
            f"{disc.get('polarity'):+d}."
        )
        lines += [
            "",
            "| benchmark | split | layer | all units (test) | non-zero / units | own top unit (test) | "
            "discovered unit (test) |",
            "|---|---|---|---|---|---|---|",
        ]
        for name, rec in report["table"].items():
            for layer, r in rec["layers"].items():
                du = rec.get("discovered_unit", {}) if int(layer) == disc.get("layer") else {}
                if name == disc.get("benchmark") and int(layer) == disc.get("layer"):
                    du = {"test_accuracy": r["own_unit"]["test_accuracy"]}
                lines.append(
                    f"| {name} | {rec['sizes']} | {layer} | {_fmt(r['all_units']['test_accuracy'])} | "
                    f"{r['all_units']['n_nonzero']} / {r['all_units']['n_units']} | "
                    f"{_fmt(r['own_unit']['test_accuracy'])} (unit {r['own_unit']['unit']}) | "
                    f"{_fmt(du.get('test_accuracy'))} |"
                )
    else:
        lines.append(
            f"Model `{report['model']}` (H = {report['hidden_size']}, sha {report['model_sha']}), features: "
            f"final `{report['state']}` state; unit discovered on {disc.get('benchmark')}: unit "
            f"**{disc.get('unit')}**, polarity {disc.get('polarity'):+d}. Featurisation measured at "
            f"{report.get('featurize_rate_bytes_per_s')} bytes/s on the shared CPU."
        )
        lines += [
            "",
            "| benchmark | split / sizes | all units (test) | non-zero / units | discovered unit (test) | "
            "paper, all units | paper, single unit |",
            "|---|---|---|---|---|---|---|",
        ]
        for name, rec in report["table"].items():
            au = rec["all_units"]
            nz = au.get("n_nonzero", au.get("n_nonzero_mean"))
            std = f" ± {au['test_accuracy_std']:.1f}" if "test_accuracy_std" in au else ""
            lines.append(
                f"| {name} | {rec['sizes']} | {_fmt(au['test_accuracy'], '')}{std} % | {nz} / {au['n_units']} | "
                f"{_fmt(rec.get('discovered_unit', {}).get('test_accuracy'))} | {_fmt(rec.get('paper_all_units'))} | "
                f"{_fmt(rec.get('paper_single_unit'))} |"
            )
    for name, curve in report.get("data_efficiency", {}).items():
        lines += [
            "",
            f"Data efficiency on {name} (test accuracy, mean ± std over seeds):",
            "",
            "| labelled examples | all units | discovered unit |",
            "|---|---|---|",
        ]
        for p in curve:
            unit = (
                f"{100 * p['unit_accuracy_mean']:.1f} ± {100 * p['unit_accuracy_std']:.1f} %"
                if "unit_accuracy_mean" in p
                else "–"
            )
            lines.append(
                f"| {p['n']} | {100 * p['accuracy_mean']:.1f} ± {100 * p['accuracy_std']:.1f} % | {unit} |"
            )
    steer = report.get("steering")
    if steer:
        judge = report.get("judge", {})
        lines += [
            "",
            f"Steering: {steer['n_per_value']} samples per clamp value, judged by MiniLM + L1 logistic "
            f"regression (SST-2 test accuracy {judge.get('sst2_test_accuracy')} %):",
            "",
            "| clamp value | judged positive | mean P(positive) |",
            "|---|---|---|",
        ]
        for r in steer["sweep"]:
            clamp = "none" if r["clamp"] is None else f"{r['clamp']:+.3g}"
            lines.append(f"| {clamp} | {100 * r['fraction_positive']:.0f} % | {r['mean_p_positive']:.2f} |")
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------------------------- CLI


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m hfmech.sentiment.evaluate",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--model", help="mLSTM: zoo name, folder or Hub id")
    p.add_argument("--lm", help="evaluate a causal LM instead (zoo name smollm2-135m, folder or Hub id)")
    p.add_argument(
        "--data",
        required=True,
        help="data root with sst2/, imdb/, sentence-classification/, amazon-multidomain/",
    )
    p.add_argument("--out", required=True, help="report JSON path")
    p.add_argument(
        "--benchmarks",
        type=lambda s: [b.strip().lower() for b in s.split(",") if b.strip()],
        default=list(ALL_BENCHMARKS),
    )
    p.add_argument("--discovery", default="imdb", help="benchmark whose probe names the unit (default imdb)")
    p.add_argument("--state", default="c", choices=["c", "h"])
    p.add_argument(
        "--precision",
        default=None,
        choices=["auto", "float32", "bfloat16"],
        help="mLSTM recurrent products (default: the model's config.precision; features are cached per precision)",
    )
    p.add_argument("--imdb-train", type=int, default=None, help="subsample IMDB train (stratified, seeded)")
    p.add_argument("--imdb-test", type=int, default=None, help="subsample IMDB test (stratified, seeded)")
    p.add_argument("--amazon-max", type=int, default=None)
    p.add_argument("--cv-folds", type=int, default=10)
    p.add_argument("--max-eval", type=int, default=None, help="cap dev and test splits at N (stratified)")
    p.add_argument(
        "--max-per-split",
        type=int,
        default=None,
        help="cap every split (and each CV set) at N examples, stratified (quick runs, tests)",
    )
    p.add_argument("--efficiency-on", type=lambda s: [b for b in s.split(",") if b], default=["sst2", "imdb"])
    p.add_argument("--efficiency-seeds", type=int, default=3)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--device", default="cpu", help="torch device for featurisation: cpu, cuda, or auto")
    p.add_argument(
        "--jobs", type=int, default=1, help="parallel probe fits (joblib processes) over the C grid"
    )
    p.add_argument(
        "--cache",
        default=os.path.join(
            os.environ.get("HFMECH_CACHE", os.path.expanduser("~/.cache/hfmech")), "sentiment-features"
        ),
    )
    p.add_argument("--figures", default=None, help="folder for figures (histogram, heat map)")
    p.add_argument("--figure-prefix", default="sentiment")
    p.add_argument(
        "--heatmap-text",
        default=(
            "This movie started out slow and I almost turned it off. The acting was wooden and the plot made no sense. "
            "But then it got better, and by the end I was completely hooked: a wonderful, moving film."
        ),
    )
    p.add_argument("--markdown", default=None, help="also write the tables as Markdown here")
    p.add_argument(
        "--unit-json", default=None, help="also write the discovered unit here (e.g. weights/.../unit.json)"
    )
    p.add_argument("--steer-n", type=int, default=100, help="generations per clamp value (0: skip steering)")
    p.add_argument("--steer-bytes", type=int, default=200)
    p.add_argument("--steer-tokens", type=int, default=48)
    p.add_argument("--steer-prompt", default="")
    p.add_argument("--steer-prompt-lm", default="Here is my review of the movie:")
    p.add_argument("--steer-values", type=lambda s: [float(v) for v in s.split(",")], default=None)
    p.add_argument(
        "--steer-multipliers",
        type=lambda s: [float(v) for v in s.split(",")],
        default=[1.0, 2.0, 4.0],
        help="clamp values = ±k × the unit's 99th-percentile |value| on the discovery train set",
    )
    p.add_argument("--temperature", type=float, default=1.0)
    p.add_argument("--clamp-on", default="c", choices=["c", "h", "both"])
    p.add_argument("--lm-layers", type=lambda s: [int(v) for v in s.split(",")], default=[6, 12, 18])
    p.add_argument("--lm-site", default="mlp")
    p.add_argument("--lm-pool", default="mean", choices=["mean", "last"])
    p.add_argument("--lm-max-tokens", type=int, default=256)
    p.add_argument("--lm-sst2-train", type=int, default=None, help="subsample SST-2 train for the LM")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if bool(args.model) == bool(args.lm):
        build_parser().error("give exactly one of --model (mLSTM) or --lm (causal LM)")
    unknown = [b for b in args.benchmarks if b not in ALL_BENCHMARKS]
    if unknown:
        build_parser().error(f"unknown benchmarks {unknown}; known: {', '.join(ALL_BENCHMARKS)}")
    if args.lm:
        if args.benchmarks == list(ALL_BENCHMARKS):
            args.benchmarks = ["sst2", "imdb"]
        report = evaluate_lm(args)
    else:
        report = evaluate_mlstm(args)
    if args.markdown:
        write_text_atomic(args.markdown, report_to_markdown(report))
    summary = {
        k: {
            "all": v.get("all_units", {}).get("test_accuracy"),
            "unit": v.get("discovered_unit", {}).get("test_accuracy"),
        }
        for k, v in report.get("table", {}).items()
    }
    print(
        json.dumps(
            {
                "discovery": report.get("discovery"),
                "table": summary,
                "steering": report.get("steering", {}).get("summary"),
            },
            indent=1,
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
