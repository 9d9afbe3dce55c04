"""``hfmech analogy``, ``hfmech analogy-eval`` and ``hfmech word2vec-train`` (Mikolov et al. 2013)."""

from __future__ import annotations

import argparse

from ..hub.cli import PLOT_SUFFIXES, check_input_path, check_output_path, load_pipeline_for_cli
from . import MECHANISM
from .search import METHODS


def analogy(args) -> int:
    plot = check_output_path(args.plot, suffixes=PLOT_SUFFIXES, kind="--plot") if args.plot else None
    pipe = load_pipeline_for_cli("word-analogy", args.model)
    kwargs = {"method": args.method, "topn": args.topn, "explain": plot is not None}
    if args.restrict_vocab is not None:
        kwargs["restrict_vocab"] = args.restrict_vocab
    answers = pipe(args.query, **kwargs)
    settings = answers.settings
    print(
        f"{answers.query['expression']}   ({settings['method']}, restrict_vocab={settings['restrict_vocab']})"
    )
    width = max((len(a["word"]) for a in answers), default=4)
    for a in answers:
        print(f"{a['rank']:>3}. {a['word']:<{width}}  {a['score']:.4f}")
    if plot is not None:
        answers.figure.savefig(plot, dpi=120, bbox_inches="tight")
        print(f"plot: {plot}")
    return 0


def analogy_eval(args) -> int:
    from ..hub.files import write_text_atomic
    from .evaluate import evaluate_analogies

    json_out = check_output_path(args.json) if args.json else None
    questions = check_input_path(args.questions, "questions file or folder")
    pipe = load_pipeline_for_cli("word-analogy", args.model)
    restrict = None if args.restrict_vocab == 0 else args.restrict_vocab
    result = evaluate_analogies(pipe.model, str(questions), method=args.method, restrict_vocab=restrict)
    print(result.summary())
    print(
        f"{result.dataset} questions, {result.method}, restrict_vocab={result.restrict_vocab}; "
        f"{result.seconds:.1f} s"
    )
    if json_out is not None:
        write_text_atomic(json_out, result.to_json() + "\n")
        print(f"json: {json_out}")
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    a = sub.add_parser("analogy", help="solve a word analogy or vector expression (Mikolov et al. 2013)")
    a.add_argument("query", help="'man:king::woman:?' or an expression like 'king - man + woman'")
    a.add_argument(
        "--model",
        default=MECHANISM.default_model(),
        help="zoo name, local folder or Hub id (default: %(default)s)",
    )
    a.add_argument("--method", choices=METHODS, default=None, help="default from the model config")
    a.add_argument("--topn", type=int, default=10, help="answers to print")
    a.add_argument(
        "--restrict-vocab", type=int, default=None, help="only the N most frequent words are candidates"
    )
    a.add_argument("--plot", default=None, help="write the parallelogram figure (.png/.svg/.pdf)")
    a.set_defaults(func=analogy)

    ae = sub.add_parser("analogy-eval", help="analogy accuracy on a Google / MSR / BATS question set")
    ae.add_argument("questions", help="questions-words.txt, an MSR file or a BATS folder")
    ae.add_argument(
        "--model",
        default=MECHANISM.default_model(),
        help="zoo name, local folder or Hub id (default: %(default)s)",
    )
    ae.add_argument("--method", choices=METHODS, default="3cosadd")
    ae.add_argument(
        "--restrict-vocab", type=int, default=30000, help="the N most frequent words only (0: all words)"
    )
    ae.add_argument("--json", default=None, help="also write the full results as JSON")
    ae.set_defaults(func=analogy_eval)

    w = sub.add_parser(
        "word2vec-train",
        help="train word2vec (CBOW / skip-gram) vectors; arguments as `python -m hfmech.analogy.train`",
        add_help=False,
    )
    w.add_argument("train_args", nargs=argparse.REMAINDER, help="passed to hfmech.analogy.train (try --help)")
