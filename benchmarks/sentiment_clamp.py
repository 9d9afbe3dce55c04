"""The paper's steering method on a pretrained (base) causal LM: the sentiment unit clamped while the model writes,
judged by the independent MiniLM judge, with fluency measured (Radford et al. 2017 §4; issue 19 §2).

The chat-request protocol of ``sentiment_steering.py`` needs an instruction-tuned model. A base model such as
Gemma 3 270M continues text instead, so here the prompts are 10 review openings (:data:`OPENINGS`, "Hotel review:"
…), each sampled ``--per-prompt`` times in one batch; 40 new tokens (end-of-text suppressed), temperature 0.8, the
same seed for every setting (paired samples). Clamp values are in sentiment units, as in the pipeline: the unit is
held at ``polarity · v · clamp_value`` at every position. Measured per setting: the share judged positive / negative
(:mod:`hfmech.sentiment.judge`; cached with ``--judge``), perplexity of the samples under the unclamped model, and
the share of English sentences (``sentiment_steering.english_sentence``).

    python benchmarks/sentiment_clamp.py --model gemma3-270m-sentiment --judge JUDGE \\
        --values 0 8 -8 -10 --out benchmarks/results/sentiment_clamp_gemma3.json
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.common import machine_info, write_report  # noqa: E402

OPENINGS = [
    "Review of the movie I watched last night:",
    "My review of the restaurant:",
    "Hotel review:",
    "Book review:",
    "Review of my new phone:",
    "Headphones review:",
    "Coffee shop review:",
    "Video game review:",
    "Concert review:",
    "Laptop review:",
]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="gemma3-270m-sentiment", help="zoo name or model folder")
    ap.add_argument(
        "--judge", required=True, help="a saved judge folder (benchmarks/sentiment_steering.py prep)"
    )
    ap.add_argument("--values", type=float, nargs="+", default=[0.0, 8.0, -8.0])
    ap.add_argument("--per-prompt", type=int, default=10)
    ap.add_argument("--tokens", type=int, default=40)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default="benchmarks/results/sentiment_clamp.json")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    import hfmech
    from benchmarks.sentiment_steering import english_sentence
    from hfmech.sentiment.judge import SentimentJudge
    from hfmech.sentiment.steering import SentimentNeuron, continuation_nll

    folder = Path(args.model) if Path(args.model).is_dir() else hfmech.zoo.build(args.model)
    lm = SentimentNeuron.from_pretrained(str(folder))
    judge = SentimentJudge.load(args.judge)
    vocab = {w for w in judge.encoder.tokenizer.get_vocab() if w.isalpha() and w.isascii()}
    prompts = [p for p in OPENINGS for _ in range(args.per_prompt)]
    rows = []
    for v in args.values:
        t0 = time.perf_counter()
        texts = lm.generate(
            OPENINGS,
            clamp=None if v == 0 else v,
            n=args.per_prompt,
            max_new_tokens=args.tokens,
            min_new_tokens=args.tokens,
            temperature=0.8,
            seed=args.seed,
        )
        seconds = time.perf_counter() - t0
        p = judge.predict_proba(texts)
        nll, count = continuation_nll(lm.model, lm.tokenizer, prompts, texts)
        row = {
            "clamp": v,
            "samples": len(texts),
            "judged_positive": float((p > 0.5).mean()),
            "judged_negative": float((p <= 0.5).mean()),
            "perplexity": float(np.exp(nll.sum() / max(count.sum(), 1))),
            "english_sentences": float(np.mean([english_sentence(t, vocab) for t in texts])),
            "generate_seconds": round(seconds, 1),
            "examples": texts[:: args.per_prompt][:4],
        }
        rows.append(row)
        print(
            f"clamp {v:+g}: positive {100 * row['judged_positive']:.0f} %, negative "
            f"{100 * row['judged_negative']:.0f} %, perplexity {row['perplexity']:.1f}, English "
            f"{100 * row['english_sentences']:.0f} % ({seconds:.0f} s)",
            flush=True,
        )
    write_report(
        args.out,
        {
            "machine": machine_info(args.threads),
            "model": args.model,
            "unit": {
                k: lm.model.config.sentiment_neuron[k] for k in ("site", "layer", "unit", "pool", "polarity")
            },
            "protocol": {
                "openings": OPENINGS,
                "per_prompt": args.per_prompt,
                "tokens": args.tokens,
                "seed": args.seed,
            },
            "rows": rows,
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
