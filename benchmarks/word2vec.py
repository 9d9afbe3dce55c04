"""word2vec CBOW on IMDB: hfmech.analogy.train vs gensim 4.x, same token stream, same settings, same run.

Both get the identical sentences (``hfmech.analogy.train.load_corpus``: IMDB train+unsup, ``<br />`` removed,
lower-cased, letter/digit runs with inner apostrophes; vocabulary min_count 5; sentences cut at 1000 words) and
CBOW, size 100, window 5, negative 5, sample 1e-3, alpha 0.05, cbow_mean=1, the same number of epochs and 2 worker
threads. Runs are interleaved (gensim, ours, gensim, ours, ...) because the machine is shared. hfmech runs its
default CPU backend (``--backend auto``: word2vec.c's per-word loop compiled with numba when numba is installed, else
the batched torch updates; the JSON records which).

words/s = in-vocabulary corpus words (before subsampling) x epochs / wall time of the training phase, for both
(vocabulary building and tokenisation excluded for both: gensim's ``build_vocab`` and our token-id cache).

Accuracy: Google analogies (questions-words.txt), word2vec.c's compute-accuracy convention: words upper-cased, only
the 30,000 most frequent words, questions with a word outside them skipped, the three question words excluded, unit
vectors; 3CosAdd (argmax cos(x, b - a + c)) and 3CosMul (Levy & Goldberg 2014, eps 1e-3).

    python benchmarks/word2vec.py            # full corpus
    python benchmarks/word2vec.py --quick    # first 20,000 rows of train+unsup
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared" / "data"
IMDB = [str(SHARED / "imdb" / "train.parquet"), str(SHARED / "imdb" / "unsup.parquet")]
QUESTIONS = SHARED / "word-benchmarks" / "analogy" / "questions-words.txt"


def read_questions(path: Path):
    sections, cur = [], None
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith(":"):
            cur = (line[1:].strip(), [])
            sections.append(cur)
        elif line.strip() and cur is not None:
            cur[1].append(line.upper().split())
    return sections


def analogy_accuracy(
    words: list[str], vectors: np.ndarray, path: Path = QUESTIONS, restrict: int = 30000
) -> dict:
    """3CosAdd and 3CosMul accuracy, word2vec.c convention (see the module docstring); ``words`` by frequency."""
    words = [w.upper() for w in words[:restrict]]
    vec = np.asarray(vectors[: len(words)], dtype=np.float32)
    vec = vec / np.maximum(np.linalg.norm(vec, axis=1, keepdims=True), 1e-12)
    index = {}
    for i, w in enumerate(words):
        index.setdefault(w, i)
    out = {"sections": {}}
    totals = {"add": 0, "mul": 0, "n": 0, "all": 0}
    sem = {"add": 0, "mul": 0, "n": 0}
    for si, (name, qs) in enumerate(read_questions(path)):
        totals["all"] += len(qs)
        q = np.array([[index[w] for w in qq] for qq in qs if all(w in index for w in qq)], dtype=np.int64)
        if q.size == 0:
            continue
        a, b, c, d = q.T
        cadd = cmul = 0
        for s in range(0, len(q), 512):
            sl = slice(s, s + 512)
            sa, sb, sc = vec[a[sl]] @ vec.T, vec[b[sl]] @ vec.T, vec[c[sl]] @ vec.T
            add = sb - sa + sc
            mul = ((sb + 1) / 2) * ((sc + 1) / 2) / ((sa + 1) / 2 + 1e-3)
            r = np.arange(add.shape[0])
            for m in (add, mul):
                m[r, a[sl]] = m[r, b[sl]] = m[r, c[sl]] = -np.inf
            cadd += int((add.argmax(1) == d[sl]).sum())
            cmul += int((mul.argmax(1) == d[sl]).sum())
        out["sections"][name] = {"n": int(len(q)), "3cosadd": cadd / len(q), "3cosmul": cmul / len(q)}
        totals["add"] += cadd
        totals["mul"] += cmul
        totals["n"] += len(q)
        if si < 5:
            sem["add"] += cadd
            sem["mul"] += cmul
            sem["n"] += len(q)
    n = max(totals["n"], 1)
    out.update(
        {
            "3cosadd": totals["add"] / n,
            "3cosmul": totals["mul"] / n,
            "semantic_3cosadd": sem["add"] / max(sem["n"], 1),
            "syntactic_3cosadd": (totals["add"] - sem["add"]) / max(n - sem["n"], 1),
            "questions_answered": totals["n"],
            "questions_total": totals["all"],
        }
    )
    return out


def run_gensim(sentences, train_words: int, epochs: int, workers: int, seed: int) -> dict:
    from gensim.models import Word2Vec

    model = Word2Vec(
        vector_size=100,
        window=5,
        negative=5,
        sample=1e-3,
        min_count=5,
        workers=workers,
        sg=0,
        cbow_mean=1,
        alpha=0.05,
        epochs=epochs,
        seed=seed,
        hs=0,
    )
    t0 = time.perf_counter()
    model.build_vocab(sentences)
    t_vocab = time.perf_counter() - t0
    t0, c0 = time.perf_counter(), time.process_time()
    model.train(sentences, total_examples=model.corpus_count, epochs=epochs)
    dt, cpu = time.perf_counter() - t0, time.process_time() - c0
    words = list(model.wv.index_to_key)
    acc = analogy_accuracy(words, model.wv.vectors)
    return {
        "seconds": dt,
        "cpu_seconds": cpu,
        "seconds_vocab": t_vocab,
        "words_per_sec": train_words * epochs / dt,
        "words_per_cpu_sec": train_words * epochs / cpu,
        "vocab_size": len(words),
        **{k: acc[k] for k in acc if k != "sections"},
    }


def _version(package: str) -> str | None:
    try:
        from importlib.metadata import version

        return version(package)
    except Exception:  # noqa: BLE001 - not installed
        return None


def run_ours(corpus, epochs: int, workers: int, seed: int, batch_size: int, backend: str = "auto") -> dict:
    from hfmech.analogy.train import Word2VecConfig, Word2VecTrainer

    cfg = Word2VecConfig(
        model="cbow",
        size=100,
        window=5,
        negative=5,
        sample=1e-3,
        min_count=5,
        epochs=epochs,
        alpha=0.05,
        batch_size=batch_size,
        seed=seed,
        threads=workers,
        backend=backend,
    )
    t0 = time.perf_counter()
    trainer = Word2VecTrainer(corpus, cfg)
    t_init = time.perf_counter() - t0
    t0, c0 = time.perf_counter(), time.process_time()
    trainer.train(log=None)
    dt, cpu = time.perf_counter() - t0, time.process_time() - c0
    acc = analogy_accuracy(corpus.words, trainer.vectors.numpy())
    return {
        "seconds": dt,
        "cpu_seconds": cpu,
        "seconds_init": t_init,
        "words_per_sec": corpus.train_words * epochs / dt,
        "words_per_cpu_sec": corpus.train_words * epochs / cpu,
        "batch_size": batch_size,
        "backend": trainer.backend,
        "vocab_size": len(corpus.words),
        "objective_last_epoch": trainer.history[-1]["objective"],
        **{k: acc[k] for k in acc if k != "sections"},
    }


def finalize(run_dir: Path, top: int, dest: Path, comparison: str | None) -> dict:
    """Ship a finished ``python -m hfmech.analogy.train`` run: the ``top`` most frequent words as fp16
    ``vectors.safetensors`` + ``vocab.txt`` + ``training.json`` (accuracy measured on the fp16 vectors)."""
    import torch
    from safetensors.torch import load_file

    from hfmech.analogy.train import export_vectors

    info = json.loads((run_dir / "training.json").read_text(encoding="utf-8"))
    vectors = load_file(str(run_dir / "vectors.safetensors"))["vectors"]
    words, counts = [], []
    for line in (run_dir / "vocab.txt").read_text(encoding="utf-8").splitlines():
        w, c = line.split("\t")
        words.append(w)
        counts.append(int(c))
    full = analogy_accuracy(words, vectors.float().numpy())
    n = min(top, len(words))
    half = vectors[:n].to(torch.float16)
    acc = analogy_accuracy(words[:n], half.float().numpy())
    extra = {k: v for k, v in info.items() if k not in ("vocab_size", "dtype")}
    extra["accuracy"] = {
        **{k: acc[k] for k in acc if k != "sections"},
        "restrict_vocab": 30000,
        "benchmark": "Google analogies (questions-words.txt), word2vec.c convention, measured on these fp16 vectors",
        "sections": acc["sections"],
        "float32_full_vocab_3cosadd": full["3cosadd"],
    }
    if comparison:
        extra["gensim_comparison"] = comparison
    extra["shipped"] = {"words": n, "of": len(words), "dtype": "float16"}
    export_vectors(words, np.asarray(counts), half, dest, top=n, dtype="float16", extra=extra)
    return extra


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="first 20,000 rows only")
    p.add_argument("--limit", type=int, default=None)
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--batch-sizes", type=int, nargs="*", default=[1024])
    p.add_argument("--repeats", type=int, default=1, help="interleaved gensim/ours rounds")
    p.add_argument(
        "--backend", default="auto", choices=["auto", "numba", "torch"], help="hfmech trainer inner loop"
    )
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "word2vec.json"))
    p.add_argument("--finalize", metavar="RUN_DIR", help="ship a finished training run (no benchmark)")
    p.add_argument("--top", type=int, default=50000)
    p.add_argument("--dest", default=str(ROOT / "hfmech" / "analogy" / "weights" / "cbow-imdb"))
    p.add_argument("--comparison", default=None, help="gensim comparison sentence for the card")
    args = p.parse_args(argv)
    if args.finalize:
        extra = finalize(Path(args.finalize), args.top, Path(args.dest), args.comparison)
        print(json.dumps({k: v for k, v in extra["accuracy"].items() if k != "sections"}, indent=2))
        return 0
    if not all(os.path.exists(f) for f in IMDB) or not QUESTIONS.is_file():
        print("../shared data not found; skipping")
        return 0
    from hfmech.analogy.train import load_corpus

    limit = args.limit if args.limit is not None else (20000 if args.quick else None)
    t0 = time.perf_counter()
    corpus = load_corpus(IMDB, "text", min_count=5, limit=limit)
    t_corpus = time.perf_counter() - t0
    sentences = corpus.sentences()
    print(
        f"corpus: {corpus.raw_tokens:,} tokens, {corpus.train_words:,} in vocab, {len(corpus.words):,} words, "
        f"{len(sentences):,} sentences ({t_corpus:.1f}s)",
        flush=True,
    )
    load_start = os.getloadavg()
    runs = []
    for rep in range(args.repeats):
        for what in ["gensim", *[f"ours-{b}" for b in args.batch_sizes]]:
            if what == "gensim":
                r = run_gensim(sentences, corpus.train_words, args.epochs, args.workers, args.seed + rep)
            else:
                r = run_ours(
                    corpus, args.epochs, args.workers, args.seed + rep, int(what.split("-")[1]), args.backend
                )
            r.update({"system": what, "repeat": rep})
            runs.append(r)
            print(
                f"[{rep}] {what:12s} {r['words_per_sec']:>12,.0f} words/s  {r['seconds']:7.1f}s  "
                f"({r['words_per_cpu_sec']:,.0f} per CPU-s)  "
                f"3CosAdd {100 * r['3cosadd']:5.2f}%  3CosMul {100 * r['3cosmul']:5.2f}%  "
                f"({r['questions_answered']} q)",
                flush=True,
            )
    summary = {}
    for what in {r["system"] for r in runs}:
        rs = [r for r in runs if r["system"] == what]
        summary[what] = {
            "words_per_sec_median": float(np.median([r["words_per_sec"] for r in rs])),
            "words_per_cpu_sec_median": float(np.median([r["words_per_cpu_sec"] for r in rs])),
            "3cosadd_mean": float(np.mean([r["3cosadd"] for r in rs])),
            "3cosmul_mean": float(np.mean([r["3cosmul"] for r in rs])),
        }
    g = summary["gensim"]
    for name, s in summary.items():
        s["speed_ratio_vs_gensim"] = s["words_per_sec_median"] / g["words_per_sec_median"]
        s["cpu_speed_ratio_vs_gensim"] = s["words_per_cpu_sec_median"] / g["words_per_cpu_sec_median"]
        s["speed_ratios_per_round"] = [
            r["words_per_sec"] / q["words_per_sec"]
            for r in runs
            if r["system"] == name
            for q in runs
            if q["system"] == "gensim" and q["repeat"] == r["repeat"]
        ]
        s["3cosadd_minus_gensim_points"] = 100 * (s["3cosadd_mean"] - g["3cosadd_mean"])
    import gensim
    import torch

    result = {
        "benchmark": "word2vec CBOW on IMDB train+unsup, hfmech vs gensim (same run, interleaved)",
        "settings": {
            "model": "cbow",
            "size": 100,
            "window": 5,
            "negative": 5,
            "sample": 1e-3,
            "min_count": 5,
            "alpha": 0.05,
            "cbow_mean": 1,
            "epochs": args.epochs,
            "workers": args.workers,
            "limit_rows": limit,
        },
        "corpus": {
            "raw_tokens": corpus.raw_tokens,
            "train_words": corpus.train_words,
            "vocab_size": len(corpus.words),
            "sentences": len(sentences),
            "seconds_tokenize": t_corpus,
        },
        "words_per_sec_definition": "in-vocabulary corpus words (before subsampling) x epochs / training wall time "
        "(vocabulary building excluded for both); words_per_cpu_sec: the same over the process CPU time of the "
        "training phase (every thread; less sensitive to other jobs on a shared machine)",
        "accuracy_definition": "Google analogies, word2vec.c convention: upper-case, top 30k words, OOV questions "
        "skipped, inputs excluded",
        "summary": summary,
        "runs": runs,
        "versions": {
            "gensim": gensim.__version__,
            "torch": torch.__version__,
            "numba": _version("numba"),
            "python": platform.python_version(),
        },
        "machine": {
            "cpus": os.cpu_count(),
            "load_average_start": load_start,
            "load_average_end": os.getloadavg(),
            "note": "shared machine; other jobs ran concurrently",
        },
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    from hfmech.hub.files import write_json_atomic

    write_json_atomic(out, result)
    print(json.dumps(summary, indent=2))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
