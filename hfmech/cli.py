"""The ``hfmech`` command: one subcommand per mechanism, plus ``zoo`` and ``serve``.

    hfmech zoo list | build NAME [--force] | push NAME --repo ORG/NAME
    hfmech dream INPUT -o OUT [--model NAME] [--layer L] [--octaves N] [--steps N] [--guide IMG] [--seed N]
    hfmech visualize -o OUT [--model NAME] [--layer L] [--channel C] [--size N] [--steps N] [--seed N]
    hfmech analogy "king - man + woman" [--model NAME] [--method M] [--topn N] [--restrict-vocab N] [--plot OUT.png]
    hfmech analogy-eval QUESTIONS [--model NAME] [--method M] [--restrict-vocab N] [--json OUT.json]
    hfmech word2vec-train --data ... --out DIR [...]   (the recipe of ``python -m hfmech.analogy.train``)
    hfmech style CONTENT STYLE [STYLE...] -o OUT [--weights W...] [--size N] [--backbone NAME] [--keep-colors]
                 [--precision auto|float32|bfloat16] [--pyramid-levels N]
                 [--lbfgs-history N]
    hfmech style-audio CONTENT STYLE -o OUT.wav [--steps N] [--seconds S] [--seed N] [--n-filters N] [--model NAME]
    hfmech sentiment "TEXT" [--model NAME] [--unit N] [--trace]
    hfmech sentiment-generate "The movie" [--clamp +1.0 | --clamp UNIT=VALUE ...] [--max-bytes N] [--seed N]
    hfmech sentiment-train --out DIR [...]   (the recipe of ``python -m hfmech.sentiment.train``)
    hfmech perceive "hammerhead" -o OUT.png [--strokes 20] [--blobs 0] [--palette 10] [--optimizer adam|es] [--size 224]
                    [--steps N] [--seed N] [--svg OUT.svg] [--model NAME]
    hfmech serve [--host 127.0.0.1] [--port 7860]

User errors (bad images, unknown layers or zoo names, out-of-range parameters, out-of-vocabulary words, malformed
analogies, unreadable benchmark files) print one ``error:`` line and exit 2.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

DEFAULT_VISION_MODEL = "efficientnet-lite0-imagenet"
DEFAULT_STYLE_MODEL = "vgg16-hed-trunk"
DEFAULT_VECTORS_MODEL = "glove-6b-50d"
DEFAULT_AUDIO_STYLE_MODEL = "random-audio-conv"
DEFAULT_SENTIMENT_MODEL = "mlstm-imdb"
ANALOGY_METHODS = ("3cosadd", "3cosmul", "pairdirection")


def _zoo(args) -> int:
    from .hub import zoo

    if args.zoo_command == "list":
        rows = [
            (e.name, e.task, "built" if zoo.is_built(e.name) else "-", e.description) for e in zoo.entries()
        ]
        width = max((len(r[0]) for r in rows), default=4)
        for name, task, built, description in rows:
            print(f"{name:<{width}}  {task:<14} {built:<6} {description}")
        return 0
    if args.zoo_command == "build":
        print(zoo.build(args.name, force=args.force))
        return 0
    if args.zoo_command == "push":
        from huggingface_hub.errors import HfHubHTTPError

        from .errors import USER_ERRORS, HubError

        try:
            url = zoo.push(args.name, args.repo, token=args.token, private=args.private)
        except USER_ERRORS:
            raise
        except (HfHubHTTPError, ValueError) as e:  # refused request (401/403/...), invalid repo id
            hint = " (pass --token or run `hf auth login`)" if "401" in str(e) else ""
            raise HubError(
                f"cannot push {args.name!r} to {args.repo!r}: {' '.join(str(e).split())}{hint}"
            ) from e
        print(url)
        return 0
    raise AssertionError(args.zoo_command)


def _check_output(path: str) -> Path:
    """Validate an output image path *before* any expensive work (``save_image_atomic`` checks only at the end)."""
    from .errors import OutputPathError
    from .vision.image_io import _SAVE_SUFFIXES

    out = Path(os.path.expanduser(path))
    if out.suffix.lower() not in _SAVE_SUFFIXES:
        raise OutputPathError(
            f"cannot write {str(out)!r}: unknown image suffix {out.suffix or '(none)'!r}; "
            f"use one of {', '.join(sorted(_SAVE_SUFFIXES))}"
        )
    if not out.parent.is_dir():
        raise OutputPathError(f"cannot write {str(out)!r}: the directory {str(out.parent)!r} does not exist")
    if out.is_dir():
        raise OutputPathError(f"cannot write {str(out)!r}: it is a directory; pass a file path")
    if not os.access(out.parent, os.W_OK):
        raise OutputPathError(f"cannot write {str(out)!r}: the directory {str(out.parent)!r} is not writable")
    return out


def _load_deep_dream(model: str):
    return _load_pipeline("deep-dream", model)


def _load_pipeline(task: str, model: str):
    from .errors import USER_ERRORS, ModelLoadError
    from .hub import load_pipeline

    looks_local = os.path.isabs(model) or model.startswith((".", "~")) or model.count("/") > 1
    if looks_local and not os.path.exists(os.path.expanduser(model)):
        raise ModelLoadError(f"cannot load model {model!r}: no such folder")
    try:
        return load_pipeline(task, model)
    except USER_ERRORS:
        raise
    except (OSError, ValueError) as e:
        # transformers: unknown Hub id or no network (OSError), a folder that holds no model (ValueError)
        raise ModelLoadError(f"cannot load model {model!r}: {' '.join(str(e).split())}") from e


def _dream(args) -> int:
    from .dream import DeepDreamPipeline, DreamSettings
    from .errors import OutputPathError
    from .vision.image_io import save_image_atomic

    out_path = _check_output(args.output)
    frames_dir = Path(os.path.expanduser(args.frames)) if args.frames else None
    if frames_dir is not None and frames_dir.exists() and not frames_dir.is_dir():
        raise OutputPathError(f"--frames {str(frames_dir)!r} exists and is not a directory")
    settings = dict(
        layer=args.layer,
        octaves=args.octaves,
        octave_scale=args.octave_scale,
        steps=args.steps,
        step_size=args.step_size,
        jitter=args.jitter,
        grad_norm=args.grad_norm,
        tile_size=args.tile_size,
        max_pixels=args.max_pixels,
    )
    DreamSettings().updated(**settings)  # range checks before the model and the image are loaded
    pipe: DeepDreamPipeline = _load_deep_dream(args.model)
    result = pipe(args.input, guide=args.guide, seed=args.seed, return_frames=bool(args.frames), **settings)
    save_image_atomic(result["image"], out_path)
    if frames_dir is not None:
        frames_dir.mkdir(parents=True, exist_ok=True)
        for i, frame in enumerate(result["frames"]):
            save_image_atomic(frame, frames_dir / f"octave_{i}.png")
    print(
        f"{out_path}  objective {result['objective']}: {result['objective_start']:.4g} -> "
        f"{result['objective_end']:.4g}"
    )
    return 0


def _visualize(args) -> int:
    from .dream import DreamParameterError, objectives
    from .errors import USER_ERRORS
    from .vision.image_io import save_image_atomic

    out_path = _check_output(args.output)
    pipe = _load_deep_dream(args.model)
    layer = pipe.resolve_layer(args.layer)
    if args.channel is not None:
        objective = objectives.channel(layer, args.channel)
    elif args.logit is not None:
        objective = objectives.class_logit(args.logit)
    else:
        objective = objectives.layer(layer)
    try:
        result = pipe.visualize(objective, size=args.size, steps=args.steps, seed=args.seed)
    except USER_ERRORS:
        raise
    except ValueError as e:
        # --size/--steps out of range, --channel/--logit past the layer's channels/classes
        raise DreamParameterError(str(e)) from e
    save_image_atomic(result["images"][0], out_path)
    print(f"{args.output}  {objective}: {result['objective_history'][-1]:.4g}")
    return 0


def _check_plot_output(path: str) -> Path:
    """``--plot``: a .png/.svg/.pdf path in an existing, writable directory (checked before the model loads)."""
    from .errors import OutputPathError

    out = Path(os.path.expanduser(path))
    if out.suffix.lower() not in (".png", ".svg", ".pdf"):
        raise OutputPathError(f"cannot write {str(out)!r}: use a .png, .svg or .pdf file for --plot")
    if out.is_dir():
        raise OutputPathError(f"cannot write {str(out)!r}: it is a directory; pass a file path")
    if not out.parent.is_dir():
        raise OutputPathError(f"cannot write {str(out)!r}: the directory {str(out.parent)!r} does not exist")
    if not os.access(out.parent, os.W_OK):
        raise OutputPathError(f"cannot write {str(out)!r}: the directory {str(out.parent)!r} is not writable")
    return out


def _check_json_output(path: str) -> Path:
    from .errors import OutputPathError

    out = Path(os.path.expanduser(path))
    if out.is_dir():
        raise OutputPathError(f"cannot write {str(out)!r}: it is a directory; pass a file path")
    if not out.parent.is_dir():
        raise OutputPathError(f"cannot write {str(out)!r}: the directory {str(out.parent)!r} does not exist")
    return out


def _analogy(args) -> int:
    plot = _check_plot_output(args.plot) if args.plot else None
    pipe = _load_pipeline("word-analogy", args.model)
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


def _analogy_eval(args) -> int:
    from .analogy import evaluate_analogies

    json_out = _check_json_output(args.json) if args.json else None
    if not Path(os.path.expanduser(args.questions)).exists():
        raise FileNotFoundError(f"no such questions file or folder: {args.questions!r}")
    pipe = _load_pipeline("word-analogy", args.model)
    restrict = None if args.restrict_vocab == 0 else args.restrict_vocab
    result = evaluate_analogies(
        pipe.model, os.path.expanduser(args.questions), method=args.method, restrict_vocab=restrict
    )
    print(result.summary())
    print(
        f"{result.dataset} questions, {result.method}, restrict_vocab={result.restrict_vocab}; "
        f"{result.seconds:.1f} s"
    )
    if json_out is not None:
        from .hub.files import write_text_atomic

        write_text_atomic(json_out, result.to_json() + "\n")
        print(f"json: {json_out}")
    return 0


def _word2vec_train(args) -> int:
    from .analogy.train import main as train_main

    return train_main(args.train_args)


def _style(args) -> int:
    """Gatys et al. image style transfer; ``--backbone`` is a zoo name, local folder or Hub id."""
    from .style import StyleSettings, StyleTransferPipeline
    from .vision.image_io import save_image_atomic

    out_path = _check_output(args.output)
    steps = (
        args.steps[0] if args.steps and len(args.steps) == 1 else args.steps
    )  # one count, or one per scale
    settings = dict(
        size=args.size,
        steps=steps,
        optimizer=args.optimizer,
        learning_rate=args.learning_rate,
        init=args.init,
        content_weight=args.content_weight,
        style_weight=args.style_weight,
        tv_weight=args.tv_weight,
        style_scale=args.style_scale,
        keep_colors=args.keep_colors,
        scales=args.scales,
        precision=args.precision,
        pyramid_levels=args.pyramid_levels,
        lbfgs_history=args.lbfgs_history,
    )
    # range checks before the model and the images are loaded (a per-scale steps list is checked against the
    # number of scales by the pipeline, which knows the model's default size)
    StyleSettings().updated(**dict(settings, steps=steps[0] if isinstance(steps, list) else steps))
    StyleTransferPipeline.blend_weights(args.style, args.weights)
    pipe = _load_pipeline("style-transfer", args.backbone)
    result = pipe(args.content, style=args.style, style_weights=args.weights, seed=args.seed, **settings)
    save_image_atomic(result["image"], out_path)
    history = result["loss_history"]
    first, last = (history[0], history[-1]) if history else (float("nan"), float("nan"))
    print(
        f"{out_path}  {result['image'].width}x{result['image'].height}  loss {first:.4g} -> {last:.4g} "
        f"(content {result['content_loss']:.3g}, style {result['style_loss']:.3g}, scales {result['scales']})"
    )
    return 0


def _style_audio(args) -> int:
    """Ulyanov & Lebedev audio style transfer; ``--seconds`` keeps the first S seconds of each input."""
    from .errors import OutputPathError
    from .style.audio import WRITE_FORMATS, AudioNotFoundError, save_audio_atomic
    from .style.pipeline_audio_style_transfer import AudioStyleSettings

    out = Path(os.path.expanduser(args.output))
    if out.suffix.lower() not in WRITE_FORMATS:
        raise OutputPathError(
            f"cannot write {str(out)!r}: unknown audio suffix {out.suffix or '(none)'!r}; "
            f"use one of {', '.join(sorted(WRITE_FORMATS))}"
        )
    _check_json_output(args.output)  # a directory, or a missing parent directory
    if not os.access(out.parent, os.W_OK):
        raise OutputPathError(f"cannot write {str(out)!r}: the directory {str(out.parent)!r} is not writable")
    for path in (args.content, args.style):
        if not Path(os.path.expanduser(path)).exists():
            raise AudioNotFoundError(f"no such audio file: {path!r}")
    settings = dict(
        steps=args.steps,
        content_weight=args.content_weight,
        n_filters=args.n_filters,
        griffin_lim_iters=args.griffin_lim_iters,
        max_seconds=args.seconds,
        on_too_long="truncate" if args.seconds is not None else None,
    )
    AudioStyleSettings().updated(**settings)  # range checks before the model and the audio are loaded
    pipe = _load_pipeline("audio-style-transfer", args.model)
    result = pipe(args.content, style=args.style, seed=args.seed, **settings)
    save_audio_atomic(result["audio"], result["sampling_rate"], out)
    (style_start, style_end), (content_start, content_end) = result["style_loss"], result["content_loss"]
    print(
        f"{out}  {len(result['audio']) / result['sampling_rate']:.2f} s at {result['sampling_rate']} Hz; "
        f"style loss {style_start:.4g} -> {style_end:.4g}, content loss {content_start:.4g} -> {content_end:.4g}"
    )
    return 0


def _sentiment(args) -> int:
    pipe = _load_pipeline("sentiment-neuron", args.model)
    out = pipe(args.text, unit=args.unit, return_trace=args.trace)
    print(
        f"{out['label']}  score={out['score']:.3f}  unit {out['unit']} ({out['state']}) = {out['value']:+.4f}"
    )
    if args.trace:
        for ch, v in zip(out["text"], out["trace"]):
            print(f"{ch!r}\t{v:+.4f}")
    return 0


def _parse_clamp_arg(items: list[str] | None):
    """``--clamp 1.0`` (the sentiment unit, positive-up scale) or ``--clamp 12=0.5 --clamp 40=-1`` (raw units)."""
    from .sentiment import ClampError

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


def _sentiment_generate(args) -> int:
    clamp = _parse_clamp_arg(args.clamp)
    pipe = _load_pipeline("sentiment-neuron", args.model)
    out = pipe.generate(
        args.prompt,
        clamp=clamp,
        max_bytes=args.max_bytes,
        temperature=args.temperature,
        seed=args.seed,
        clamp_on=args.clamp_on,
    )
    print(out["prompt"] + out["text"])
    return 0


def _sentiment_train(args) -> int:
    from .sentiment.train import main as train_main

    return train_main(args.train_args)


def _perceive(args) -> int:
    from .hub.files import write_text_atomic
    from .perception.targets import resolve_class
    from .vision.image_io import save_image_atomic

    out_path = _check_output(args.output)
    svg_path = _check_svg_output(args.svg) if args.svg else None
    # an unknown class name fails before the model loads
    resolve_class(int(args.target) if args.target.strip().isdigit() else args.target)
    kwargs = dict(
        strokes=args.strokes,
        blobs=args.blobs,
        palette=args.palette,
        optimizer=args.optimizer,
        size=args.size,
        steps=args.steps,
        init_layout=args.init_layout,
    )
    pipe = _load_pipeline("perception-engine", args.model)
    result = pipe(args.target, seed=args.seed, **{k: v for k, v in kwargs.items() if v is not None})
    save_image_atomic(result["image"], out_path)
    if svg_path is not None:
        write_text_atomic(svg_path, result["svg"])
    scores = result["scores"]
    print(
        f"{out_path}  {result['target']['label']} (class {result['target']['index']}), {result['steps']} steps, "
        f"{result['renders']} renders, {result['seconds']:.1f} s"
    )
    for role in ("training", "held_out"):
        for name, p in scores[role].items():
            print(f"  {role:<9} {name:<24} p = {p:.4f}  rank {result['ranks'][role][name]}")
    if svg_path is not None:
        print(f"svg: {svg_path}")
    return 0


def _check_svg_output(path: str) -> Path:
    from .errors import OutputPathError

    out = Path(os.path.expanduser(path))
    if out.suffix.lower() != ".svg":
        raise OutputPathError(f"cannot write {str(out)!r}: --svg needs a .svg file")
    if out.is_dir() or not out.parent.is_dir() or not os.access(out.parent, os.W_OK):
        raise OutputPathError(
            f"cannot write {str(out)!r}: not a file path in an existing, writable directory"
        )
    return out


def _serve(args) -> int:
    from .serve import build_app, launch_kwargs

    app = build_app()
    app.launch(server_name=args.host, server_port=args.port, share=False, **launch_kwargs())
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hfmech", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    z = sub.add_parser("zoo", help="list, build and push zoo models")
    zsub = z.add_subparsers(dest="zoo_command", required=True)
    zsub.add_parser("list", help="the zoo's models")
    zb = zsub.add_parser("build", help="build a Hub-ready folder from upstream weights; prints its path")
    zb.add_argument("name")
    zb.add_argument("--force", action="store_true", help="rebuild even if cached")
    zp = zsub.add_parser("push", help="build and upload to the Hub")
    zp.add_argument("name")
    zp.add_argument("--repo", required=True, help="ORG/NAME")
    zp.add_argument("--token", default=None, help="Hub token (default: the logged-in one)")
    zp.add_argument("--private", action="store_true")
    z.set_defaults(func=_zoo)

    d = sub.add_parser("dream", help="DeepDream an image")
    d.add_argument("input", help="image path or URL")
    d.add_argument("-o", "--output", required=True, help="output image (.png/.jpg/.webp), written atomically")
    d.add_argument("--model", default=DEFAULT_VISION_MODEL, help="zoo name, local folder or Hub id")
    d.add_argument(
        "--layer", default=None, help="layer name or preset (shallow, deep); default from the model config"
    )
    d.add_argument("--octaves", type=int, default=None)
    d.add_argument("--octave-scale", type=float, default=None)
    d.add_argument("--steps", type=int, default=None, help="ascent steps per octave")
    d.add_argument("--step-size", type=float, default=None, help="in [0, 1] pixel units")
    d.add_argument("--jitter", type=int, default=None)
    d.add_argument("--grad-norm", choices=["mean-abs", "std", "laplacian"], default=None)
    d.add_argument("--tile-size", type=int, default=None, help="tile side for large images; 0 = no tiling")
    d.add_argument("--guide", default=None, help="guide image for guided dreaming")
    d.add_argument("--seed", type=int, default=None)
    d.add_argument(
        "--max-pixels", type=int, default=None, help="larger inputs are downscaled to this many pixels"
    )
    d.add_argument("--frames", default=None, help="directory to write the image after each octave")
    d.set_defaults(func=_dream)

    v = sub.add_parser("visualize", help="feature visualisation from noise (activation maximisation)")
    v.add_argument("-o", "--output", required=True)
    v.add_argument("--model", default=DEFAULT_VISION_MODEL)
    v.add_argument("--layer", default=None)
    v.add_argument("--channel", type=int, default=None)
    v.add_argument("--logit", type=int, default=None, help="maximise an ImageNet class logit instead")
    v.add_argument("--size", type=int, default=224)
    v.add_argument("--steps", type=int, default=256)
    v.add_argument("--seed", type=int, default=None)
    v.set_defaults(func=_visualize)

    a = sub.add_parser("analogy", help="solve a word analogy or vector expression (Mikolov et al. 2013)")
    a.add_argument("query", help="'man:king::woman:?' or an expression like 'king - man + woman'")
    a.add_argument("--model", default=DEFAULT_VECTORS_MODEL, help="zoo name, local folder or Hub id")
    a.add_argument("--method", choices=ANALOGY_METHODS, default=None, help="default from the model config")
    a.add_argument("--topn", type=int, default=10, help="answers to print")
    a.add_argument(
        "--restrict-vocab", type=int, default=None, help="only the N most frequent words are candidates"
    )
    a.add_argument("--plot", default=None, help="write the parallelogram figure (.png/.svg/.pdf)")
    a.set_defaults(func=_analogy)

    ae = sub.add_parser("analogy-eval", help="analogy accuracy on a Google / MSR / BATS question set")
    ae.add_argument("questions", help="questions-words.txt, an MSR file or a BATS folder")
    ae.add_argument("--model", default=DEFAULT_VECTORS_MODEL, help="zoo name, local folder or Hub id")
    ae.add_argument("--method", choices=ANALOGY_METHODS, default="3cosadd")
    ae.add_argument(
        "--restrict-vocab", type=int, default=30000, help="the N most frequent words only (0: all words)"
    )
    ae.add_argument("--json", default=None, help="also write the full results as JSON")
    ae.set_defaults(func=_analogy_eval)

    w = sub.add_parser(
        "word2vec-train",
        help="train word2vec (CBOW / skip-gram) vectors; arguments as `python -m hfmech.analogy.train`",
        add_help=False,
    )
    w.add_argument("train_args", nargs=argparse.REMAINDER, help="passed to hfmech.analogy.train (try --help)")
    w.set_defaults(func=_word2vec_train)

    st = sub.add_parser("style", help="image style transfer (Gatys et al. 2016)")
    st.add_argument("content", help="content image")
    st.add_argument("style", nargs="+", help="one or more style images")
    st.add_argument(
        "-o", "--output", required=True, help="output image (.png/.jpg/.webp), written atomically"
    )
    st.add_argument("--weights", type=float, nargs="+", default=None, help="blend weight per style image")
    st.add_argument(
        "--backbone",
        "--model",
        dest="backbone",
        default=DEFAULT_STYLE_MODEL,
        help="vgg16-hed-trunk | random-multiscale | random-vgg, a local folder or a Hub id",
    )
    st.add_argument("--size", type=int, default=None, help="output's longer side in px")
    st.add_argument(
        "--scales", type=int, nargs="+", default=None, help="coarse-to-fine sizes (default: auto)"
    )
    st.add_argument(
        "--steps",
        type=int,
        nargs="+",
        default=None,
        help="optimiser steps per scale: one count for every scale, or one per scale (coarse to fine)",
    )
    st.add_argument("--optimizer", choices=["lbfgs", "adam"], default=None)
    st.add_argument("--learning-rate", type=float, default=None)
    st.add_argument("--init", choices=["content", "noise", "style"], default=None)
    st.add_argument("--content-weight", type=float, default=None)
    st.add_argument("--style-weight", type=float, default=None)
    st.add_argument("--tv-weight", type=float, default=None)
    st.add_argument("--style-scale", type=float, default=None, help="style size relative to the content's")
    st.add_argument(
        "--keep-colors",
        nargs="?",
        const="luminance",
        choices=["luminance", "histogram"],
        default=None,
        help="keep the content's colours: luminance-only transfer (default) or histogram matching",
    )
    st.add_argument(
        "--precision",
        choices=["auto", "float32", "bfloat16"],
        default=None,
        help="dtype of every evaluation (auto: bfloat16 on CPUs with AMX for VGG backbones, else float32)",
    )
    st.add_argument(
        "--pyramid-levels",
        type=int,
        default=None,
        help="L-BFGS on a Laplacian pyramid with N coarser levels (default 3; 0 = plain pixels)",
    )
    st.add_argument(
        "--lbfgs-history",
        type=int,
        default=None,
        help="L-BFGS correction pairs kept (neural-style's -lbfgs_num_correction; default 100)",
    )
    st.add_argument("--seed", type=int, default=None)
    st.set_defaults(func=_style)

    sa = sub.add_parser("style-audio", help="audio style transfer, one random conv (Ulyanov & Lebedev 2016)")
    sa.add_argument("content", help="content audio (WAV, FLAC, MP3, OGG)")
    sa.add_argument("style", help="style audio")
    sa.add_argument("-o", "--output", required=True, help="output audio (.wav/.flac/.mp3/.ogg), atomic write")
    sa.add_argument("--model", default=DEFAULT_AUDIO_STYLE_MODEL, help="zoo name, local folder or Hub id")
    sa.add_argument("--steps", type=int, default=None, help="L-BFGS iterations (default from the model: 300)")
    sa.add_argument("--seconds", type=float, default=None, help="use the first S seconds of each input")
    sa.add_argument("--seed", type=int, default=None)
    sa.add_argument("--content-weight", type=float, default=None, help="alpha (default 1e-2)")
    sa.add_argument("--n-filters", type=int, default=None, help="random filters (4096; fewer = faster)")
    sa.add_argument("--griffin-lim-iters", type=int, default=None, help="phase reconstruction rounds (500)")
    sa.set_defaults(func=_style_audio)

    se = sub.add_parser("sentiment", help="read a review with the sentiment neuron (Radford et al. 2017)")
    se.add_argument("text", help="the review text")
    se.add_argument("--model", default=DEFAULT_SENTIMENT_MODEL, help="zoo name, local folder or Hub id")
    se.add_argument(
        "--unit", type=int, default=None, help="unit to read (default: the model's sentiment unit)"
    )
    se.add_argument("--trace", action="store_true", help="print the unit's value after every character")
    se.set_defaults(func=_sentiment)

    sg = sub.add_parser("sentiment-generate", help="generate a review with the sentiment unit clamped")
    sg.add_argument("prompt", nargs="?", default="", help="text to continue (default: start a review)")
    sg.add_argument("--model", default=DEFAULT_SENTIMENT_MODEL, help="zoo name, local folder or Hub id")
    sg.add_argument(
        "--clamp",
        action="append",
        default=None,
        help="a number (sentiment unit, +: positive) or UNIT=VALUE (repeatable); default: no clamp",
    )
    sg.add_argument(
        "--clamp-on", choices=["c", "h", "both"], default=None, help="default from the model config"
    )
    sg.add_argument("--max-bytes", type=int, default=200)
    sg.add_argument("--temperature", type=float, default=1.0)
    sg.add_argument("--seed", type=int, default=0)
    sg.set_defaults(func=_sentiment_generate)

    stn = sub.add_parser(
        "sentiment-train",
        help="train the byte mLSTM; arguments as `python -m hfmech.sentiment.train`",
        add_help=False,
    )
    stn.add_argument(
        "train_args", nargs=argparse.REMAINDER, help="passed to hfmech.sentiment.train (try --help)"
    )
    stn.set_defaults(func=_sentiment_train)

    pe = sub.add_parser(
        "perceive", help="Perception Engine: draw an ImageNet class for a classifier ensemble"
    )
    pe.add_argument("target", help="ImageNet class name (any WordNet lemma, e.g. 'electric fan') or index")
    pe.add_argument(
        "-o", "--output", required=True, help="output image (.png/.jpg/.webp), written atomically"
    )
    pe.add_argument("--model", default="perception-ensemble-lite", help="zoo name, local folder or Hub id")
    pe.add_argument(
        "--strokes", type=int, default=None, help="number of strokes (default from the model config)"
    )
    pe.add_argument("--blobs", type=int, default=None, help="number of filled blobs")
    pe.add_argument(
        "--palette", type=int, default=None, help="number of inks from the default palette (1..10)"
    )
    pe.add_argument("--optimizer", choices=["adam", "es"], default=None)
    pe.add_argument("--size", type=int, default=None, help="canvas side in pixels (32..1024)")
    pe.add_argument("--steps", type=int, default=None, help="optimisation steps (ES: iterations)")
    pe.add_argument(
        "--init-layout",
        choices=["scatter", "radial", "mixed"],
        default=None,
        help="starting candidates: random strokes, a ring with spokes, or half each (default: mixed)",
    )
    pe.add_argument("--seed", type=int, default=None)
    pe.add_argument("--svg", default=None, help="also write the drawing as SVG")
    pe.set_defaults(func=_perceive)

    s = sub.add_parser("serve", help="launch the Gradio app with one tab per mechanism")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=7860)
    s.set_defaults(func=_serve)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["sentiment-train"]:
        args = argparse.Namespace(func=_sentiment_train, train_args=argv[1:])
    elif argv[:1] == ["word2vec-train"]:
        # every argument, options included, belongs to the recipe's own parser (argparse.REMAINDER would stop at a
        # leading option such as --data)
        args = argparse.Namespace(func=_word2vec_train, train_args=argv[1:])
    else:
        args = build_parser().parse_args(argv)
    from .errors import USER_ERRORS

    try:
        return args.func(args)
    except USER_ERRORS as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
