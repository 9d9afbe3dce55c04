"""``hfmech melody-sample``, ``melody-interpolate``, ``melody-attribute`` and ``melody-train`` (MusicVAE, Roberts et
al. 2018). Melodies in: ``.mid``/``.midi``, ``.abc``, ``.xml``/``.musicxml``/``.mxl``; out: ``.mid`` (every 2-bar
result one after another, a bar of rest between them) and, with ``--wav``, the same as audio
(``--synth auto|builtin|fluidsynth``: FluidSynth and a General MIDI soundfont when installed, else the numpy
synthesiser)."""

from __future__ import annotations

import argparse

import numpy as np

from ..hub.cli import check_input_path, check_output_path, load_pipeline_for_cli
from ..latent import INTERPOLATION_METHODS
from . import MECHANISM
from .data import NO_EVENT, NOTE_OFF, STEPS_PER_BAR
from .modeling_music_vae import ATTRIBUTES

MIDI_SUFFIXES = (".mid", ".midi")
WAV_SUFFIXES = (".wav",)


def join_with_rests(melodies: list[np.ndarray], rest_bars: int = 1) -> np.ndarray:
    """Melodies one after another, each followed by ``rest_bars`` bars of silence: events ``(T,)``."""
    rest = np.full(rest_bars * STEPS_PER_BAR, NO_EVENT, dtype=np.int64)
    rest[0] = NOTE_OFF
    parts = []
    for m in melodies:
        parts.extend([np.asarray(m, dtype=np.int64), rest])
    return np.concatenate(parts)


def _outputs(args):
    out = check_output_path(args.output, suffixes=MIDI_SUFFIXES, kind="-o MIDI")
    wav = check_output_path(args.wav, suffixes=WAV_SUFFIXES, kind="--wav") if args.wav else None
    if wav is not None:  # settle the synthesiser before loading the model: a missing FluidSynth fails fast
        from .io import choose_synth

        args.synth, args.soundfont = choose_synth(args.synth, args.soundfont)
    return out, wav


def _write(melodies, out, wav, args) -> None:
    from .io import write_midi, write_wav

    events = join_with_rests(melodies)
    write_midi(out, events, bpm=args.bpm)
    print(f"midi: {out}")
    if wav is not None:
        write_wav(wav, events, bpm=args.bpm, synth=args.synth, soundfont=args.soundfont)
        print(f"wav: {wav} ({args.synth}{f', {args.soundfont}' if args.soundfont else ''})")


def melody_sample(args) -> int:
    out, wav = _outputs(args)
    pipe = load_pipeline_for_cli("melody-vae", args.model)
    melodies = pipe.sample(args.n, temperature=args.temperature, seed=args.seed)
    _write(melodies, out, wav, args)
    return 0


def melody_interpolate(args) -> int:
    out, wav = _outputs(args)
    a = check_input_path(args.a, "melody file")
    b = check_input_path(args.b, "melody file")
    pipe = load_pipeline_for_cli("melody-vae", args.model)
    melodies = pipe.interpolate(
        str(a), str(b), steps=args.steps, method=args.method, temperature=args.temperature, seed=args.seed
    )
    _write(melodies, out, wav, args)
    return 0


def melody_attribute(args) -> int:
    out, wav = _outputs(args)
    tune = check_input_path(args.melody, "melody file")
    pipe = load_pipeline_for_cli("melody-vae", args.model)
    strengths = args.strength if args.strength else [-2.0, -1.0, 0.0, 1.0, 2.0]
    melodies = pipe.attribute(
        str(tune), args.attribute, strengths, temperature=args.temperature, seed=args.seed
    )
    _write(melodies, out, wav, args)
    return 0


def _common(p, temperature_help="sampling temperature (default from the model config, 0.5)") -> None:
    p.add_argument(
        "--model",
        default=MECHANISM.default_model(),
        help="zoo name, local folder or Hub id (default: %(default)s)",
    )
    p.add_argument("-o", "--output", required=True, help="output MIDI file (.mid)")
    p.add_argument("--wav", default=None, help="also write audio (.wav)")
    p.add_argument(
        "--synth",
        choices=("auto", "builtin", "fluidsynth"),
        default="auto",
        help="audio for --wav: FluidSynth with a General MIDI soundfont, or the built-in numpy synthesiser; auto "
        "takes FluidSynth when it and a soundfont are installed (default: %(default)s)",
    )
    p.add_argument(
        "--soundfont",
        default=None,
        help="a .sf2 soundfont for FluidSynth (default: $HFMECH_SOUNDFONT, then the system's)",
    )
    p.add_argument("--temperature", type=float, default=None, help=temperature_help)
    p.add_argument("--seed", type=int, default=0, help="random seed (default: %(default)s)")
    p.add_argument(
        "--bpm", type=float, default=120.0, help="tempo of the written files (default: %(default)s)"
    )


def add_commands(sub: argparse._SubParsersAction) -> None:
    s = sub.add_parser(
        "melody-sample", help="sample 2-bar melodies from the MusicVAE prior (Roberts et al. 2018)"
    )
    s.add_argument("-n", type=int, default=4, help="how many melodies (default: %(default)s)")
    _common(s)
    s.set_defaults(func=melody_sample)

    i = sub.add_parser(
        "melody-interpolate", help="interpolate in latent space between two melodies' first 2 bars"
    )
    i.add_argument("a", help="first melody (.mid, .abc, .xml)")
    i.add_argument("b", help="second melody")
    i.add_argument(
        "--steps", type=int, default=8, help="melodies on the path, ends included (default: %(default)s)"
    )
    i.add_argument("--method", choices=INTERPOLATION_METHODS, default="slerp")
    _common(i)
    i.set_defaults(func=melody_interpolate)

    a = sub.add_parser("melody-attribute", help="move a melody along an attribute vector (note_density, ...)")
    a.add_argument("melody", help="melody file (.mid, .abc, .xml)")
    a.add_argument(
        "--attribute",
        default="note_density",
        choices=ATTRIBUTES,
    )
    a.add_argument(
        "--strength", type=float, action="append", help="α of z + α·v (repeatable; default -2 -1 0 1 2)"
    )
    _common(a)
    a.set_defaults(func=melody_attribute)

    t = sub.add_parser(
        "melody-train",
        help="the MusicVAE training recipe; arguments as `python -m hfmech.melody.train` (data | fit | export)",
        add_help=False,
    )
    t.add_argument("train_args", nargs=argparse.REMAINDER, help="passed to hfmech.melody.train (try --help)")
