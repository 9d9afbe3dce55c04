"""Steering measured (issue 19 §2): SmolLM2-135M-Instruct's sentiment unit clamped (Radford et al. 2017), the
sentiment direction added (Tigges et al. 2023; activation addition, Turner et al. 2023) and a TopK-SAE feature's
decoder row added, each judged by an independent classifier, with fluency measured.

Protocol (the same for every method and setting):

- **Prompts**: 10 neutral chat requests (:data:`PROMPTS`, "Write a short review of …"), each sampled 10 times in one
  left-padded batch of 100; ``torch.manual_seed(0)`` before every setting, so sample *i* uses the same random
  stream in every setting (paired).
- **Sampling**: temperature 0.8, no top-k/top-p, 40 to 48 new tokens (end-of-text is suppressed before 40).
- **Intervention** at layer 14's MLP hidden activations (the unit's site), at every position (prompt and generated):
  ``neuron``: unit 451 held at ``polarity · v · 0.87`` (``v`` in sentiment units, 0.87 = its 99th-percentile |value|
  on SST-2 train); ``direction`` / ``sae``: ``strength · û`` added (``û`` the unit-norm mean-difference direction or
  the SAE feature's unit-norm decoder row, signed so that + is positive).
  ``caa`` (contrastive activation addition, Rimsky et al. 2024, on the residual stream at several layers; step
  ``caa``): the model writes 4 reviews of each of 40 subjects *not* among the prompts' (:data:`CAA_SUBJECTS`) when
  asked for a positive and for a negative review ("Write a short positive/negative review of …", seed 1, same
  sampling); each response is read after the *neutral* request ("Write a short review of …"), and per block the
  residual stream (block output, 576-d) is averaged over the response tokens; the vector of layer ``l`` is
  ``mean(positive) − mean(negative)``, unit-normed and scaled to 1 % of the residual's median token norm at ``l``
  (over the same tokens). ``strength · v_l`` is added at each of layers :data:`CAA_LAYERS` (6, 9, 12 of 30), at
  every position: ``strength`` is in percent of the residual norm. Its reading accuracy is the projection on
  layer 9's direction of the mean-pooled residual stream, threshold fitted on SST-2 train.
- **Judge**: :mod:`hfmech.sentiment.judge` (MiniLM-L6 sentence embeddings + L1 logistic regression on SST-2 train;
  shares no weights or training data with SmolLM2's sentiment discovery beyond SST-2 *labels*, which the judge and
  the discovery both use; its accuracy on SST-2 test is reported).
- **Fluency**: perplexity of the samples under the *unsteered* model (conditioned on the same chat prompt), and the
  fraction of samples that are English sentences: ≥ 8 words, ≥ 90 % of the words whole entries of the judge's
  English WordPiece vocabulary (bert-base-uncased's 30,522, not sub-word pieces), ≥ 50 % distinct words, and ≥ 95 %
  of the characters ASCII letters, digits, spaces or punctuation.

    python benchmarks/sentiment_steering.py prep --data ../shared/data --feats FEATS --work /tmp/steer
    python benchmarks/sentiment_steering.py caa --data ../shared/data --feats FEATS --work /tmp/steer
    python benchmarks/sentiment_steering.py generate --work /tmp/steer --method neuron --values 0 2 -2 5 -5 ...
    python benchmarks/sentiment_steering.py score --work /tmp/steer
    python benchmarks/sentiment_steering.py figure --work /tmp/steer --feats FEATS --sae-work /tmp/sae
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.common import machine_info, write_report  # noqa: E402
from hfmech.hub.files import write_json_atomic  # noqa: E402

LAYER, SITE, UNIT = 14, "mlp", 451
ZOO = Path.home() / ".cache" / "hfmech" / "zoo" / "smollm2-135m-sentiment"
PROMPTS = [
    "Write a short review of a movie you watched recently.",
    "Write a short review of a restaurant you visited.",
    "Write a short review of a hotel you stayed at.",
    "Write a short review of a book you read.",
    "Write a short review of a phone you bought.",
    "Write a short review of a pair of headphones.",
    "Write a short review of a coffee shop.",
    "Write a short review of a video game you played.",
    "Write a short review of a concert you went to.",
    "Write a short review of a laptop you used.",
]
PER_PROMPT = 10
CAA_SUBJECTS = [
    "a museum you visited", "a car you drove", "a TV series you watched", "a city park", "a gym you joined",
    "a bakery", "a flight you took", "a podcast you listened to", "a pizza place", "a theatre play you saw",
    "a tablet you bought", "a smartwatch", "a camera you used", "a bicycle you bought", "a spa you visited",
    "a pair of running shoes", "a blender you bought", "a streaming service", "a theme park you visited",
    "a bookstore", "a dentist you visited", "a hiking trail", "a ski resort", "a board game", "a vacuum cleaner",
    "a sushi bar", "a car rental company", "a music album", "an online course", "a mattress you bought",
    "a zoo you visited", "a cruise you took", "a barber shop", "a tent you camped in", "a printer you used",
    "a food delivery app", "a yoga class", "a furniture store", "an art exhibition", "a train journey",
]  # fmt: skip
"""Subjects of the contrastive requests that build the ``caa`` vector: none is a subject of :data:`PROMPTS`."""
CAA_LAYERS = (6, 9, 12)
CAA_READ_LAYER = 9
CAA_PER_SUBJECT = 4
METHODS = ("neuron", "direction", "sae", "caa")
GEN = {"max_new_tokens": 48, "min_new_tokens": 40, "temperature": 0.8, "seed": 0, "chat": True}


def _neuron(model_dir):
    from hfmech.sentiment.steering import SentimentNeuron

    return SentimentNeuron.from_pretrained(model_dir)


# ------------------------------------------------------------------------------------------------ prep


def prep(args) -> None:
    """Judge (fitted once, cached), the direction (SST-2 train mean difference), CR features, reading accuracies."""
    from hfmech.sentiment.datasets import load_sentence_classification, stratified_sample
    from hfmech.sentiment.judge import sst2_judge
    from hfmech.sentiment.steering import mean_difference

    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    feats = Path(args.feats)
    t0 = time.time()
    judge = sst2_judge(Path(args.data) / "sst2", cache=work / "judge")
    t_judge = time.time() - t0
    sets = {}
    for name in ("sst2-train", "sst2-dev", "sst2-test", "imdb-test"):
        X = np.load(feats / name / "mlp-last.npy", mmap_mode="r")[:, LAYER, :].astype(np.float32)
        sets[name] = (X, np.load(feats / name / "labels.npy"))
    cr_path = work / "cr-mlp-last-L14.npz"
    if not cr_path.is_file():
        texts, labels = load_sentence_classification(Path(args.data) / "sentence-classification", "cr")
        idx = stratified_sample(np.asarray(labels), args.cr, seed=0)
        neuron = _neuron(args.model)
        X = neuron.activations([texts[i] for i in idx], pool="last")
        np.savez(cr_path, X=X, y=np.asarray(labels)[idx], idx=idx)
    z = np.load(cr_path)
    sets["cr"] = (z["X"], z["y"])
    Xtr, ytr = sets["sst2-train"]
    direction = mean_difference(Xtr, ytr, LAYER, SITE)
    direction.save(work / "direction.safetensors")
    from hfmech.sentiment.probe import fit_threshold

    thr, pol, unit_train = fit_threshold(Xtr[:, UNIT], ytr)
    reading = {"neuron": {"sst2-train": unit_train}, "direction": {}}
    for name, (X, y) in sets.items():
        reading["neuron"][name] = float(((pol * (X[:, UNIT] - thr) > 0) == y).mean())
        reading["direction"][name] = float((direction.predict(X) == y).mean())
        reading["neuron"][f"{name}-n"] = reading["direction"][f"{name}-n"] = int(len(y))
    report = {
        "judge": {**judge.info, "fit_seconds": t_judge},
        "unit": {"unit": UNIT, "layer": LAYER, "site": SITE, "threshold": thr, "polarity": pol},
        "direction": {
            "norm": float(direction.vector.norm()),
            "threshold": direction.threshold,
            "cosine_with_unit_axis": float(direction.unit_vector[UNIT]),
        },
        "reading": reading,
        "cr_sample": "CR (Hu & Liu 2004 customer reviews, harvardnlp custrev.all), stratified sample, seed 0",
    }
    write_json_atomic(work / "prep.json", report)
    print(json.dumps(report, indent=1))


# ------------------------------------------------------------------------------------------------- caa


def caa(args) -> None:
    """The ``caa`` control vector: contrastive responses → per-layer residual mean differences → layers 6, 9, 12."""
    from hfmech.sentiment.datasets import load_sentence_classification
    from hfmech.sentiment.lm_neuron import chat_prompt, featurize
    from hfmech.sentiment.probe import fit_threshold
    from hfmech.sentiment.steering import ControlVector, response_mean_difference

    work = Path(args.work)
    neuron = _neuron(args.model)
    t0 = time.time()
    responses = {
        side: neuron.generate(
            [f"Write a short {side} review of {s}." for s in CAA_SUBJECTS],
            n=CAA_PER_SUBJECT,
            max_new_tokens=GEN["max_new_tokens"],
            min_new_tokens=GEN["min_new_tokens"],
            temperature=GEN["temperature"],
            seed=1,
            chat=True,
        )
        for side in ("positive", "negative")
    }
    contexts = [
        chat_prompt(neuron.tokenizer, f"Write a short review of {s}.")
        for s in CAA_SUBJECTS
        for _ in range(CAA_PER_SUBJECT)
    ]
    diffs, norms = response_mean_difference(
        neuron.model, neuron.tokenizer, contexts, responses["positive"], responses["negative"]
    )
    control = ControlVector.from_differences(diffs, norms, args.layers, name="caa")
    control.save(work / "caa.safetensors")
    t_build = time.time() - t0
    # reading: the mean-pooled residual stream of layer CAA_READ_LAYER projected on that layer's direction
    feats = Path(args.feats)
    u = diffs[CAA_READ_LAYER] / np.linalg.norm(diffs[CAA_READ_LAYER])
    proj = {}
    for name in ("sst2-train", "sst2-dev", "sst2-test", "imdb-test"):
        X = np.load(feats / name / "residual-mean.npy", mmap_mode="r")[:, CAA_READ_LAYER, :].astype(
            np.float32
        )
        proj[name] = (X @ u, np.load(feats / name / "labels.npy"))
    cr = np.load(work / "cr-mlp-last-L14.npz")
    texts, _ = load_sentence_classification(Path(args.data) / "sentence-classification", "cr")
    X = featurize(
        neuron.model, neuron.tokenizer, [texts[i] for i in cr["idx"]], CAA_READ_LAYER, "residual", "mean"
    )
    proj["cr"] = (next(iter(X.values())) @ u, cr["y"])
    thr, pol, _ = fit_threshold(*proj["sst2-train"], polarity=1)
    reading = {name: float(((p > thr) == y).mean()) for name, (p, y) in proj.items()}
    reading.update({f"{name}-n": int(len(y)) for name, (_, y) in proj.items()})
    cos = diffs / np.maximum(np.linalg.norm(diffs, axis=1, keepdims=True), 1e-12)
    report = {
        "layers": list(control.layers),
        "read_layer": CAA_READ_LAYER,
        "subjects": CAA_SUBJECTS,
        "per_subject": CAA_PER_SUBJECT,
        "difference_norm": [float(x) for x in np.linalg.norm(diffs, axis=1)],
        "median_token_norm": [float(x) for x in norms],
        "cosine_between_layers": {
            f"{a}-{b}": float(cos[a] @ cos[b]) for a in control.layers for b in control.layers if a < b
        },
        "threshold": float(thr),
        "reading": reading,
        "build_seconds": t_build,
        "responses": {k: v[:4] for k, v in responses.items()},
    }
    write_json_atomic(work / "caa.json", report)
    write_json_atomic(work / "caa-responses.json", responses)
    print(json.dumps({k: v for k, v in report.items() if k != "subjects"}, indent=1))


# -------------------------------------------------------------------------------------------- generate


def generate(args) -> None:
    from hfmech.sentiment.steering import ControlVector, SteeringVector

    work = Path(args.work)
    neuron = _neuron(args.model)
    out_path = work / f"samples-{args.method}.json"
    done = json.loads(out_path.read_text()) if out_path.is_file() else {}
    vector = None
    if args.method in ("direction", "sae"):
        vector = SteeringVector.load(
            work / ("direction.safetensors" if args.method == "direction" else "sae_feature.safetensors")
        )
    elif args.method == "caa":
        vector = ControlVector.load(work / "caa.safetensors")
    for value in args.values:
        key = f"{value:g}"
        if key in done:
            continue
        t0 = time.time()
        if value == 0:
            texts = neuron.generate(PROMPTS, n=PER_PROMPT, **GEN)
        elif args.method == "neuron":
            texts = neuron.generate(PROMPTS, n=PER_PROMPT, clamp=value, **GEN)
        else:
            texts = neuron.generate(PROMPTS, n=PER_PROMPT, steer=vector, strength=value, **GEN)
        done[key] = {"value": value, "texts": texts, "seconds": time.time() - t0}
        write_json_atomic(out_path, done)
        print(f"{args.method} {key}: {time.time() - t0:.0f}s  {texts[0][:100]!r}", flush=True)


# ----------------------------------------------------------------------------------------------- score

_WORD = re.compile(r"[A-Za-z]+")
TOPIC_WORDS = [
    ("movie", "film", "cinema"),
    ("restaurant", "food", "dish", "meal", "menu", "dinner", "lunch", "chef"),
    ("hotel", "room", "stay", "stayed"),
    ("book", "novel", "author", "read"),
    ("phone", "smartphone", "battery", "screen"),
    ("headphone", "headphones", "sound", "ear", "audio"),
    ("coffee", "cafe", "latte", "espresso", "shop"),
    ("game", "gameplay", "play", "player"),
    ("concert", "band", "music", "show", "performance", "stage"),
    ("laptop", "computer", "keyboard", "screen", "battery"),
]
"""Per prompt of :data:`PROMPTS`: words, one of which an on-topic sample mentions."""


def on_topic(text: str, prompt_index: int) -> bool:
    """The sample names its request's subject (a word of :data:`TOPIC_WORDS`, case-insensitive): a cheap check
    that steering kept the text a review of what was asked, not a drift to another topic."""
    words = {w.lower() for w in _WORD.findall(text)}
    return any(w in words for w in TOPIC_WORDS[prompt_index])


def english_sentence(text: str, vocab: set[str]) -> bool:
    """The fluency heuristic of the module docstring."""
    words = [w.lower() for w in _WORD.findall(text)]
    if len(words) < 8:
        return False
    in_vocab = sum(w in vocab for w in words) / len(words)
    distinct = len(set(words)) / len(words)
    ok_chars = sum(c.isascii() and (c.isprintable() or c.isspace()) for c in text) / max(len(text), 1)
    return in_vocab >= 0.9 and distinct >= 0.5 and ok_chars >= 0.95


def score(args) -> None:
    from hfmech.sentiment.judge import SentimentJudge
    from hfmech.sentiment.steering import continuation_nll

    work = Path(args.work)
    judge = SentimentJudge.load(work / "judge")
    vocab = {w for w in judge.encoder.tokenizer.get_vocab() if w.isalpha() and w.isascii()}
    neuron = _neuron(args.model)
    prompts = [p for p in PROMPTS for _ in range(PER_PROMPT)]
    for method in args.methods:
        path = work / f"samples-{method}.json"
        if not path.is_file():
            continue
        scores_path = work / f"scores-{method}.json"
        scores = json.loads(scores_path.read_text()) if scores_path.is_file() else {}
        for key, entry in json.loads(path.read_text()).items():
            sid = f"{method}:{key}"
            if sid in scores:
                continue
            texts = entry["texts"]
            p = judge.predict_proba(texts)
            nll, count = continuation_nll(neuron.model, neuron.tokenizer, prompts, texts, chat=True)
            english = [english_sentence(t, vocab) for t in texts]
            scores[sid] = {
                "method": method,
                "value": entry["value"],
                "n": len(texts),
                "fraction_positive": float((p > 0.5).mean()),
                "fraction_negative": float((p <= 0.5).mean()),
                "mean_p_positive": float(p.mean()),
                "perplexity": float(np.exp(nll.sum() / max(count.sum(), 1))),
                "median_sample_perplexity": float(np.median(np.exp(nll / np.maximum(count, 1)))),
                "fraction_english": float(np.mean(english)),
                "mean_new_tokens": float(count.mean()),
                "generation_seconds": entry["seconds"],
                "examples": texts[:3],
            }
            write_json_atomic(scores_path, scores)
            s = scores[sid]
            print(
                f"{sid}: +{s['fraction_positive']:.2f} ppl {s['perplexity']:.1f} en {s['fraction_english']:.2f}",
                flush=True,
            )
    scores = load_scores(work)
    prep_report = json.loads((work / "prep.json").read_text())
    sae_path = REPO / "benchmarks" / "results" / "sentiment_sae.json"
    report = {
        "protocol": {"prompts": PROMPTS, "per_prompt": PER_PROMPT, **GEN, "layer": LAYER, "site": SITE},
        "prep": prep_report,
        "sae": json.loads(sae_path.read_text()) if sae_path.is_file() else None,
        "caa": json.loads((work / "caa.json").read_text()) if (work / "caa.json").is_file() else None,
        "steering": scores,
        "machine": machine_info(threads=torch.get_num_threads()),
    }
    write_report(REPO / "benchmarks" / "results" / "sentiment_steering.json", report)


def table(args) -> None:
    """Markdown tables from ``benchmarks/results/sentiment_steering.json``: reading accuracy and the steering grid."""
    report = json.loads((REPO / "benchmarks" / "results" / "sentiment_steering.json").read_text())
    reading = dict(report["prep"]["reading"])
    if report.get("sae"):
        reading["sae"] = report["sae"]["feature"]["reading"]
    if report.get("caa"):
        reading["caa"] = report["caa"]["reading"]
    steering = report["steering"]
    base = steering.get("neuron:0")
    names = {
        "neuron": f"unit {UNIT} clamped",
        "direction": "direction (activation addition)",
        "sae": "SAE feature",
        "caa": "CAA, residual layers " + "/".join(str(x) for x in CAA_LAYERS),
    }
    pct = lambda x: f"{100 * x:.1f} %"  # noqa: E731
    print(
        "| method | SST-2 dev | SST-2 test | IMDB test (600) | CR (1,000) | best judged positive | "
        "best judged negative |"
    )
    print("|---|---|---|---|---|---|---|")
    for method in METHODS:
        if method not in reading:
            continue
        r = reading[method]
        # a setting counts only while >= 80 % of its samples are English sentences and >= 50 % stay on topic
        rows = [
            v
            for v in steering.values()
            if v["method"] == method
            and v["value"] != 0
            and v["fraction_english"] >= 0.8
            and v["fraction_on_topic"] >= 0.5
        ]
        # either sign: a setting's effect need not follow the side its reading suggests (the unit's does not)
        best_pos = max(rows, key=lambda v: v["fraction_positive"], default=None)
        best_neg = max(rows, key=lambda v: v["fraction_negative"], default=None)

        def cell(v, key):
            if v is None:
                return "–"
            return (
                f"{pct(v[key])} at {v['value']:+g} (ppl {v['perplexity']:.1f}, English "
                f"{pct(v['fraction_english'])}, on topic {pct(v['fraction_on_topic'])})"
            )

        print(
            f"| {names[method]} | {pct(r['sst2-dev'])} | {pct(r['sst2-test'])} | {pct(r['imdb-test'])} | "
            f"{pct(r['cr'])} | {cell(best_pos, 'fraction_positive')} | {cell(best_neg, 'fraction_negative')} |"
        )
    print()
    print(
        "| method | setting | judged positive | judged negative | perplexity | English sentences | on topic |"
    )
    print("|---|---|---|---|---|---|---|")
    if base:
        print(
            f"| none | – | {pct(base['fraction_positive'])} | {pct(base['fraction_negative'])} | "
            f"{base['perplexity']:.1f} | {pct(base['fraction_english'])} | {pct(base['fraction_on_topic'])} |"
        )
    for method in METHODS:
        rows = sorted(
            (v for v in steering.values() if v["method"] == method and v["value"] != 0),
            key=lambda v: v["value"],
        )
        for v in rows:
            print(
                f"| {names[method]} | {v['value']:+g} | {pct(v['fraction_positive'])} | {pct(v['fraction_negative'])} | "
                f"{v['perplexity']:.1f} | {pct(v['fraction_english'])} | {pct(v['fraction_on_topic'])} |"
            )


FIGURE_REVIEW = (
    "A dull, boring mess: the plot is stupid and the acting is awful. "
    "Then the last act surprised me, and it is a moving, wonderful ending."
)


def load_scores(work: Path) -> dict:
    """Every method's scores from ``work``, each setting with its on-topic fraction (from its samples)."""
    scores = {}
    for method in METHODS:
        if (work / f"scores-{method}.json").is_file():
            scores.update(json.loads((work / f"scores-{method}.json").read_text()))
        if (work / f"samples-{method}.json").is_file():
            for key, entry in json.loads((work / f"samples-{method}.json").read_text()).items():
                if f"{method}:{key}" in scores:
                    flags = [on_topic(t, i // PER_PROMPT) for i, t in enumerate(entry["texts"])]
                    scores[f"{method}:{key}"]["fraction_on_topic"] = float(np.mean(flags))
    return scores


def figure(args) -> None:
    """Per-token readings of the unit, the direction and the SAE feature over one review (one PNG)."""
    from hfmech.sentiment.figures import trace_comparison_png
    from hfmech.sentiment.lm_neuron import unit_values
    from hfmech.sentiment.sae import TopKSAE
    from hfmech.sentiment.steering import SteeringVector

    work = Path(args.work)
    prep_report = json.loads((work / "prep.json").read_text())
    neuron = _neuron(args.model)
    ids, acts = unit_values(neuron.model, neuron.tokenizer, args.review, LAYER, SITE)  # (T,), (T, 1536)
    tokens = [neuron.tokenizer.decode([i]) for i in ids]
    feats = Path(args.feats)
    Xtr = np.load(feats / "sst2-train" / "mlp-last.npy", mmap_mode="r")[:, LAYER, :].astype(np.float32)
    unit = prep_report["unit"]
    traces = {}
    v = acts[:, UNIT].numpy()
    traces[f"unit {UNIT}"] = unit["polarity"] * (v - unit["threshold"]) / Xtr[:, UNIT].std()
    direction = SteeringVector.load(work / "direction.safetensors")
    proj = direction.project(acts.numpy())
    traces["direction"] = (proj - direction.threshold) / direction.project(Xtr).std()
    sae_report = json.loads((REPO / "benchmarks" / "results" / "sentiment_sae.json").read_text())
    f = sae_report["feature"]
    sae = TopKSAE.load(Path(args.sae_work) / "sae.safetensors")
    with torch.no_grad():
        z = sae.encode(acts)[:, f["index"]].numpy()
        z_tr = sae.encode(torch.from_numpy(Xtr))[:, f["index"]].numpy()
    traces[f"SAE feature {f['index']}"] = f["polarity"] * (z - f["threshold"]) / max(z_tr.std(), 1e-6)
    path = REPO / "docs" / "figures" / "sentiment_smollm2_traces.png"
    trace_comparison_png(
        tokens,
        traces,
        path,
        title="SmolLM2-135M layer 14 MLP: per-token readings (threshold = 0; + positive)",
    )
    write_json_atomic(
        path.with_suffix(".json"),
        {
            "review": args.review,
            "tokens": tokens,
            "traces": {k: [float(x) for x in t] for k, t in traces.items()},
        },
    )
    print(path)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("prep")
    a.add_argument("--data", required=True)
    a.add_argument("--feats", required=True)
    a.add_argument("--cr", type=int, default=1000)
    c = sub.add_parser("caa")
    c.add_argument("--data", required=True)
    c.add_argument("--feats", required=True)
    c.add_argument("--layers", type=int, nargs="+", default=list(CAA_LAYERS))
    g = sub.add_parser("generate")
    g.add_argument("--method", choices=METHODS, required=True)
    g.add_argument("--values", type=float, nargs="+", required=True)
    s = sub.add_parser("score")
    s.add_argument("--methods", nargs="+", default=list(METHODS))
    tb = sub.add_parser("table")
    fg = sub.add_parser("figure")
    fg.add_argument("--feats", required=True)
    fg.add_argument("--sae-work", required=True)
    fg.add_argument("--review", default=FIGURE_REVIEW)
    for q in (a, c, g, s, fg, tb):
        q.add_argument("--work", required=True)
        q.add_argument("--model", default=str(ZOO))
        q.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    steps = {"prep": prep, "caa": caa, "generate": generate, "score": score, "figure": figure, "table": table}
    steps[args.cmd](args)


if __name__ == "__main__":
    main()
