"""The melody Space: two tunes in (public-domain examples held out from training, or your MIDI), hear them, slide
along MusicVAE's latent interpolation, push an attribute slider; play, see and download every result.

``spaces/melody/app.py`` is just ``demo = build_demo()``; ``hfmech serve`` renders the same Blocks in a tab. User
errors (a corrupt or drums-only MIDI, a melody shorter than two bars, a 3/4 file) reach the page as ``gr.Error``.
"""

from __future__ import annotations

import io
import json
import tempfile
from pathlib import Path

import gradio as gr
import numpy as np

from ..errors import USER_ERRORS
from ..hub import load_pipeline
from ..ui import configure, figure_of, how_it_works
from .data import NO_EVENT, NOTE_OFF, STEPS_PER_BAR
from .dataset import ATTRIBUTES
from .zoo_music_vae import WEIGHTS_DIR

DEFAULT_MODEL = "musicvae-mel2bar-folk"
BPM = 120.0
UPLOAD = "(upload a MIDI file)"


def examples() -> dict[str, list[int]]:
    """Title → events of the held-out example tunes shipped with the weights (``examples.json``)."""
    path = WEIGHTS_DIR / "examples.json"
    if not path.is_file():
        return {}
    return {e["title"]: e["events"] for e in json.loads(path.read_text(encoding="utf-8"))}


def _audio(events: np.ndarray):
    from .io import SAMPLE_RATE, synthesize

    return SAMPLE_RATE, (synthesize(np.asarray(events), bpm=BPM) * 32767).astype(np.int16)


def _roll(rows, titles):
    from PIL import Image

    from .io import piano_roll

    fig = piano_roll([np.asarray(r) for r in rows], titles)
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    buf.seek(0)
    return Image.open(buf).convert("RGB")


def _midi_file(events: np.ndarray, name: str) -> str:
    from .io import write_midi

    folder = Path(tempfile.mkdtemp(prefix="hfmech-melody-"))
    return str(write_midi(folder / name, np.asarray(events), bpm=BPM))


def _joined(melodies) -> np.ndarray:
    rest = np.full(STEPS_PER_BAR, NO_EVENT, dtype=np.int64)
    rest[0] = NOTE_OFF
    return np.concatenate([np.concatenate([np.asarray(m), rest]) for m in melodies])


def _melody(choice, upload) -> np.ndarray:
    from .io import read_melody

    if upload:
        return read_melody(upload)[:32]
    table = examples()
    if choice not in table:
        raise gr.Error("Pick an example tune or upload a MIDI file.")
    return read_melody(np.asarray(table[choice], dtype=np.int64))[:32]


def listen(choice, upload):
    """The first two bars of a tune: audio and piano roll."""
    try:
        events = _melody(choice, upload)
    except USER_ERRORS as e:
        raise gr.Error(str(e)) from e
    return _audio(events), _roll([events], ["tune"])


def interpolate(
    choice_a, upload_a, choice_b, upload_b, steps=8, temperature=0.5, seed=0, model=DEFAULT_MODEL
):
    """The latent path from A to B: (path events as a list, audio of the whole path, piano roll, MIDI file)."""
    try:
        a, b = _melody(choice_a, upload_a), _melody(choice_b, upload_b)
        pipe = load_pipeline("melody-vae", model)
        path = pipe.interpolate(a, b, steps=int(steps), temperature=float(temperature), seed=int(seed))
    except USER_ERRORS as e:
        raise gr.Error(str(e)) from e
    titles = ["A"] + [f"{i}" for i in range(1, len(path) - 1)] + ["B"]
    joined = _joined(path)
    return (
        [p.tolist() for p in path],
        _audio(joined),
        _roll(path, titles),
        _midi_file(joined, "interpolation.mid"),
        gr.update(maximum=len(path) - 1, value=0),
    )


def pick(path, index):
    """One melody of the computed path: audio and piano roll."""
    if not path:
        raise gr.Error("Interpolate first.")
    index = int(min(max(index, 0), len(path) - 1))
    events = np.asarray(path[index])
    return _audio(events), _roll([events], [f"step {index}"])


def attribute(choice, upload, name, strength, temperature=0.5, seed=0, model=DEFAULT_MODEL):
    """Tune A moved by ``strength`` along the attribute vector ``name``: audio, piano roll (original, moved), MIDI."""
    try:
        a = _melody(choice, upload)
        pipe = load_pipeline("melody-vae", model)
        moved = pipe.attribute(
            a, name, [0.0, float(strength)], temperature=float(temperature), seed=int(seed)
        )
    except USER_ERRORS as e:
        raise gr.Error(str(e)) from e
    return (
        _audio(moved[1]),
        _roll(moved, ["α = 0", f"α = {float(strength):g}"]),
        _midi_file(moved[1], f"{name}_{float(strength):+g}.mid"),
    )


CITATION = (
    "Roberts, Engel, Raffel, Hawthorne & Eck 2018, "
    '"A Hierarchical Latent Vector Model for Learning Long-Term Structure in Music", ICML.'
)
HOW_IT_WORKS = """
1. A 2-bar melody is 32 sixteenth-note steps; each step is one event: a new note (its pitch), note off, or no
   change.
2. A bidirectional LSTM encoder maps the melody to a latent code `z` (a variational autoencoder: MusicVAE's
   `cat-mel_2bar` configuration, reduced for a CPU).
3. An LSTM decoder turns any `z` back into a melody, step by step; the temperature sets how freely it samples.
4. Spherical interpolation from tune A's code to tune B's gives a path of melodies that changes smoothly; an
   attribute vector (the mean code of the training tunes in the top quartile of, e.g., note density minus that of
   the bottom quartile) moves a tune along that attribute: `z + α·v`.
"""


def build_demo(model: str = DEFAULT_MODEL) -> gr.Blocks:
    load_pipeline("melody-vae", model)  # built once, before the first request
    table = examples()
    names = list(table)
    first, second = (names[0], names[1]) if len(names) > 1 else (None, None)
    with gr.Blocks(title="hfmech · Melody VAE") as demo:
        gr.Markdown(
            "## MusicVAE — latent arithmetic on 2-bar melodies\n"
            "A 2-bar melody VAE (Roberts et al. 2018, `cat-mel_2bar`, reduced for CPU) trained by hfmech on "
            "public-domain folk tunes (O'Neill 1850, Ryan 1883). Pick two tunes (held out from training) or "
            "upload MIDI (4/4, at least 2 bars; the first 2 bars are used), slide along the latent path between "
            "them, or push one of the paper's attribute vectors."
        )
        with gr.Row():
            with gr.Column():
                choice_a = gr.Dropdown(names, value=first, label="Tune A")
                upload_a = gr.File(label="or MIDI A", file_types=[".mid", ".midi"], type="filepath")
                play_a = gr.Button("Hear A")
                audio_a = gr.Audio(label="A", type="numpy", interactive=False)
                roll_a = gr.Image(
                    label="A piano roll", type="pil", interactive=False, elem_id="melody-roll-a"
                )
            with gr.Column():
                choice_b = gr.Dropdown(names, value=second, label="Tune B")
                upload_b = gr.File(label="or MIDI B", file_types=[".mid", ".midi"], type="filepath")
                play_b = gr.Button("Hear B")
                audio_b = gr.Audio(label="B", type="numpy", interactive=False)
                roll_b = gr.Image(label="B piano roll", type="pil", interactive=False)
        with gr.Row():
            steps = gr.Slider(3, 16, value=8, step=1, label="interpolation steps")
            temperature = gr.Slider(0.05, 1.5, value=0.5, step=0.05, label="temperature")
            seed = gr.Number(value=0, precision=0, label="seed")
        go = gr.Button("Interpolate A → B", variant="primary", elem_id="melody-interpolate")
        path_state = gr.State([])
        with gr.Row():
            path_audio = gr.Audio(label="the whole path", type="numpy", interactive=False)
            path_file = gr.File(label="download the path (MIDI)", elem_id="melody-path-file")
        path_roll = gr.Image(
            label="path piano rolls", type="pil", interactive=False, elem_id="melody-path-roll"
        )
        position = gr.Slider(0, 7, value=0, step=1, label="slide along the path")
        step_audio = gr.Audio(label="this step", type="numpy", interactive=False)
        step_roll = gr.Image(label="this step", type="pil", interactive=False)
        gr.Markdown(
            "### Attribute vectors (mean latent of the top quartile − bottom quartile of the training data)"
        )
        with gr.Row():
            name = gr.Dropdown(list(ATTRIBUTES), value="note_density", label="attribute")
            strength = gr.Slider(-2.0, 2.0, value=1.0, step=0.25, label="strength α (z + α·v), applied to A")
            apply = gr.Button("Apply to A")
        with gr.Row():
            attr_audio = gr.Audio(label="moved", type="numpy", interactive=False)
            attr_file = gr.File(label="download (MIDI)")
        attr_roll = gr.Image(label="before / after", type="pil", interactive=False)
        how_it_works(figure_of(__file__), CITATION, HOW_IT_WORKS)

        play_a.click(listen, [choice_a, upload_a], [audio_a, roll_a], api_name="listen_a")
        play_b.click(listen, [choice_b, upload_b], [audio_b, roll_b], api_name="listen_b")
        go.click(
            lambda *a: interpolate(*a, model=model),
            [choice_a, upload_a, choice_b, upload_b, steps, temperature, seed],
            [path_state, path_audio, path_roll, path_file, position],
            api_name="interpolate",
        )
        position.change(pick, [path_state, position], [step_audio, step_roll], api_name="pick")
        apply.click(
            lambda *a: attribute(*a, model=model),
            [choice_a, upload_a, name, strength, temperature, seed],
            [attr_audio, attr_roll, attr_file],
            api_name="attribute",
        )
    return configure(demo)  # bounded queue, one run per event at a time
