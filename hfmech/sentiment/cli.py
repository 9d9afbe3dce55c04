"""``hfmech sentiment``, ``hfmech sentiment-generate`` and ``hfmech sentiment-train`` (Radford et al. 2017)."""

from __future__ import annotations

import argparse

from ..hub.cli import add_seed_argument, load_pipeline_for_cli, seed_from_args
from . import MECHANISM


def sentiment(args) -> int:
    from .pipeline_sentiment_neuron import format_reading

    pipe = load_pipeline_for_cli("sentiment-neuron", args.model)
    out = pipe(args.text, unit=args.unit, layer=args.layer, return_trace=args.trace, truncate=args.truncate)
    print(format_reading(out, trace=args.trace))
    return 0


def parse_clamp_arg(items: list[str] | None):
    """``--clamp 1.0`` (the sentiment unit, positive-up scale) or ``--clamp 12=0.5 --clamp 40=-1`` (raw units)."""
    from .generation import ClampError

    if not items:
        return None
    if len(items) == 1 and "=" not in items[0]:
        return items[0]  # a number: validated by the pipeline
    clamp = {}
    for item in items:
        unit, sep, value = item.partition("=")
        if not sep:
            raise ClampError(f"--clamp {item!r}: use one number, or UNIT=VALUE pairs")
        try:
            clamp[int(unit)] = value
        except ValueError:
            raise ClampError(f"--clamp {item!r}: the unit must be an integer") from None
    return clamp


def sentiment_generate(args) -> int:
    seed = seed_from_args(args)
    clamp = parse_clamp_arg(args.clamp)
    pipe = load_pipeline_for_cli("sentiment-neuron", args.model)
    out = pipe.generate(
        args.prompt,
        clamp=clamp,
        max_bytes=args.max_bytes,
        temperature=args.temperature,
        seed=seed,
        clamp_on=args.clamp_on,
        max_new_tokens=args.max_new_tokens,
        **({"steer": args.steer, "strength": args.strength} if args.steer else {}),
    )
    print(out["prompt"] + out["text"])
    return 0


def char_rnn_sample(args) -> int:
    """char-rnn's ``sample.lua`` on a char-RNN checkpoint (default: the zoo's ``char-rnn-reddit``)."""
    from .modeling_char_rnn import check_length, check_temperature
    from .zoo_char_rnn import load_char_rnn

    seed = seed_from_args(args)
    check_length(args.length)
    if not args.argmax:
        check_temperature(args.temperature)
    model = load_char_rnn(args.model)
    text = model.sample(
        args.primetext,
        length=args.length,
        temperature=args.temperature,
        sample=not args.argmax,
        seed=seed,
        stop_at_end=not args.continue_after_end,
    )
    print(text)
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    se = sub.add_parser("sentiment", help="read a review with the sentiment neuron (Radford et al. 2017)")
    se.add_argument("text", help="the review text")
    se.add_argument(
        "--model",
        default=MECHANISM.default_model(),
        help="zoo name, local folder or Hub id (default: %(default)s)",
    )
    se.add_argument(
        "--unit", type=int, default=None, help="unit to read (default: the model's sentiment unit)"
    )
    se.add_argument("--layer", type=int, default=None, help="layer to read (causal LMs; default: the unit's)")
    se.add_argument(
        "--truncate",
        action="store_true",
        help="read the beginning of a text over the length limit instead of refusing",
    )
    se.add_argument(
        "--trace", action="store_true", help="print the unit's value after every character or token"
    )
    se.set_defaults(func=sentiment)

    sg = sub.add_parser("sentiment-generate", help="generate a review with the sentiment unit clamped")
    sg.add_argument("prompt", nargs="?", default="", help="text to continue (default: start a review)")
    sg.add_argument(
        "--model",
        default=MECHANISM.default_model(),
        help="zoo name, local folder or Hub id (default: %(default)s)",
    )
    sg.add_argument(
        "--clamp",
        action="append",
        default=None,
        help="a number (sentiment unit, +: positive) or UNIT=VALUE (repeatable); default: no clamp",
    )
    sg.add_argument(
        "--clamp-on",
        choices=["c", "h", "both"],
        default=None,
        help="byte mLSTM only; default from the model config",
    )
    sg.add_argument("--max-bytes", type=int, default=None, help="bytes to generate (byte mLSTM; default 200)")
    sg.add_argument(
        "--max-new-tokens", type=int, default=None, help="tokens to generate (causal LMs; default 48)"
    )
    sg.add_argument("--temperature", type=float, default=1.0)
    sg.add_argument(
        "--steer",
        choices=["direction"],
        default=None,
        help="causal LMs: add the model's steering vector (its CAA vector if it ships one, else its sentiment "
        "direction) at every position instead of clamping the unit",
    )
    sg.add_argument(
        "--strength",
        type=float,
        default=8.0,
        help="with --steer: + positive, - negative (CAA vector: percent of the residual norm at each of its "
        "layers; direction: norm of the added vector; default 8)",
    )
    add_seed_argument(sg, default=0)
    sg.set_defaults(func=sentiment_generate)

    stn = sub.add_parser(
        "sentiment-train",
        help="train the byte mLSTM; arguments as `python -m hfmech.sentiment.train`",
        add_help=False,
    )
    stn.add_argument(
        "train_args", nargs=argparse.REMAINDER, help="passed to hfmech.sentiment.train (try --help)"
    )

    cs = sub.add_parser(
        "char-rnn-sample",
        help="sample text from a character-level LSTM, like char-rnn's sample.lua (default: char-rnn-reddit)",
    )
    cs.add_argument(
        "model",
        nargs="?",
        default="char-rnn-reddit",
        help="zoo name, local folder or Hub id of a char-RNN (default: %(default)s, textgenrnn's Reddit-title LSTM)",
    )
    cs.add_argument("--primetext", default="", help="text to continue (default: start a new title)")
    cs.add_argument(
        "--length", type=int, default=200, help="at most this many characters (default: %(default)s)"
    )
    cs.add_argument(
        "--temperature", type=float, default=0.5, help="sampling temperature > 0 (default: %(default)s)"
    )
    cs.add_argument(
        "--argmax", action="store_true", help="take the most likely character (sample.lua -sample 0)"
    )
    cs.add_argument(
        "--continue-after-end",
        action="store_true",
        help="go on after the end-of-title token (written as a newline) until --length",
    )
    add_seed_argument(cs, default=None)
    cs.set_defaults(func=char_rnn_sample)
