"""The audio style transfer UI: content + style audio in, stylised audio and the L-BFGS loss curve out.

:func:`build_audio_tab` renders the components inside the current ``gr.Blocks`` context (the style Space calls it in
its "Audio" tab); :func:`build_demo` wraps it in a standalone ``gr.Blocks``. Example clips are made by
:mod:`hfmech.style.demo_sounds` on first use (no audio data is shipped).

A Space request is kept short by its defaults, each documented on the form: the first ``DEFAULT_SECONDS`` (5 s) of
each input (longer uploads are truncated, not refused), ``DEFAULT_N_FILTERS`` = 1024 random filters instead of the
paper's 4096 (≈7× cheaper per step; the choice offers 4096), ``DEFAULT_STEPS`` = 50 L-BFGS iterations, and
Griffin-Lim with 100 iterations of Perraudin et al.'s momentum (0.99) instead of 500 plain ones. Every user error
reaches the page (and ``gradio_client`` as ``AppError``) as a ``gr.Error`` with hfmech's message.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import gradio as gr
import numpy as np

from ..errors import USER_ERRORS
from ..hub import load_pipeline
from ..ui import (
    add_stop,
    download_file,
    download_name,
    event_kwargs,
    examples_kwargs,
    how_it_works,
    stop_message,
    stream_run,
)
from .audio import save_audio_atomic
from .demo_sounds import write_examples

DEFAULT_MODEL = "random-audio-conv"
DEFAULT_SECONDS = 5.0
DEFAULT_STEPS = 50
QUALITY_STEPS = 200
STREAM_SECONDS = 1.0  # at most one loss curve a second is sent to the page
DEFAULT_N_FILTERS = 1024
FILTER_CHOICES = [256, 512, 1024, 2048, 4096]
SPACE_GRIFFIN_LIM = {"griffin_lim_iters": 100, "griffin_lim_momentum": 0.99}
EXAMPLE_PAIRS = [("melody", "rain"), ("melody", "drums"), ("speech", "rain"), ("chirp", "drums")]


def example_folder() -> Path:
    """Where the example clips are written: ``$HFMECH_CACHE/audio-examples`` or ``~/.cache/hfmech/audio-examples``."""
    root = os.environ.get("HFMECH_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "hfmech")
    return Path(root) / "audio-examples"


def example_clips() -> dict[str, Path]:
    folder = example_folder()
    names = {name for pair in EXAMPLE_PAIRS for name in pair}
    existing = {p.stem: p for p in folder.glob("*.wav")} if folder.is_dir() else {}
    if not {"melody", "rain", "drums", "chirp"} <= set(existing):
        existing = write_examples(folder, seconds=DEFAULT_SECONDS)
    return {k: v for k, v in existing.items() if k in names}


def loss_figure(history: list[float]):
    """The total loss at every L-BFGS evaluation, log scale."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3), dpi=100)
    if history:
        ax.semilogy(np.arange(len(history)), np.maximum(history, 1e-12), color="tab:blue")
    ax.set_xlabel("L-BFGS loss evaluation")
    ax.set_ylabel("loss (style + α·content)")
    ax.set_title("Optimisation of the spectrogram")
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    plt.close(fig)
    return fig


def _transfer_stream(
    content,
    style,
    steps=DEFAULT_STEPS,
    seconds=DEFAULT_SECONDS,
    n_filters=DEFAULT_N_FILTERS,
    content_weight=1e-2,
    seed=0,
    model=DEFAULT_MODEL,
    progress=None,
    request=None,
):
    """Yield ``(WAV path or None, loss figure, status)``: the loss curve every few evaluations, then the result."""
    if content is None or style is None:
        raise gr.Error("Upload both a content and a style sound first (or click an example below).")
    try:
        pipe = load_pipeline("audio-style-transfer", model)
    except USER_ERRORS as e:
        raise gr.Error(str(e)) from e
    losses: list[float] = []
    shown = 0.0

    def call(callback):
        try:
            return pipe(
                content,
                style=style,
                steps=int(steps),
                max_seconds=float(seconds),
                on_too_long="truncate",
                n_filters=int(n_filters),
                content_weight=float(content_weight),
                seed=int(seed) if seed is not None else None,
                progress=False,
                callback_on_step_end=callback,
                **SPACE_GRIFFIN_LIM,
            )
        except USER_ERRORS as e:
            raise gr.Error(_without_server_paths(str(e), content, style)) from e

    def to_frame(state):
        losses.append(float(state["loss"]))
        return list(losses)

    for item in stream_run(
        pipe, call, to_frame, every=1, progress=progress, desc="audio style transfer", request=request
    ):
        if hasattr(item, "output"):
            result = item.output
            name = download_name("audio-style", _stem(content), _stem(style), f"seed{seed}", suffix=".wav")
            out = download_file(
                name, lambda p, r=result: save_audio_atomic(r["audio"], r["sampling_rate"], p)
            )
            note = stop_message(item, "sound")
            status = f"{len(result['loss_history'])} evaluations + Griffin-Lim in {item.seconds:.1f} s."
            yield out, loss_figure(result["loss_history"]), (f"**{note}** " if note else "") + status
        elif time.monotonic() - shown >= STREAM_SECONDS:  # a figure costs ~0.1 s: at most one a second
            shown = time.monotonic()
            yield gr.skip(), loss_figure(item.value), f"Evaluation {item.step} of at most {item.total}…"


def _stem(path) -> str | None:
    return Path(path).stem if isinstance(path, str) and path else None


def transfer_audio(
    content,
    style,
    steps=DEFAULT_STEPS,
    seconds=DEFAULT_SECONDS,
    n_filters=DEFAULT_N_FILTERS,
    content_weight=1e-2,
    seed=0,
    model=DEFAULT_MODEL,
):
    """One request without streaming: returns (path of the stylised WAV, loss figure). User errors -> ``gr.Error``."""
    *_, last = _transfer_stream(content, style, steps, seconds, n_filters, content_weight, seed, model)
    return last[0], last[1]


def _without_server_paths(message: str, *paths) -> str:
    """Name an uploaded file by its base name, not the server's temporary path."""
    for path in paths:
        if isinstance(path, str) and path:
            message = message.replace(path, os.path.basename(path))
    return message


CITATION = (
    'Ulyanov & Lebedev 2016, "Audio texture synthesis and style transfer" (after Gatys, Ecker & Bethge 2016).'
)
HOW_IT_WORKS = """
1. Each sound becomes a log-magnitude spectrogram (frequency bins are the channels, time is the axis).
2. One 1-D convolution with **random, untrained** filters reads it; the Gram matrix of its activations (which
   filters fire together, whatever the time) is the style, the activations themselves the content.
3. L-BFGS optimises the result's spectrogram towards the style's Gram matrix and the content's activations
   (Ulyanov & Lebedev 2016), then Griffin-Lim turns the magnitudes back into a waveform.
"""


def build_audio_tab(model: str = DEFAULT_MODEL) -> None:
    """Render the audio style transfer UI into the current ``gr.Blocks`` (or tab) context."""
    gr.Markdown(
        "## Audio style transfer — one random convolution\n"
        "Ulyanov & Lebedev (2016): the Gram matrix of a **random, untrained** 1-D convolution over the "
        "log-magnitude spectrogram is a style. The spectrogram of the result is optimised with L-BFGS to match the "
        "style's Gram statistics and the content's activations, then turned into sound with Griffin-Lim. "
        f"Inputs are cut to their first seconds (default {DEFAULT_SECONDS:g} s); the paper uses 4096 filters, "
        f"the default here is {DEFAULT_N_FILTERS} (faster, coarser style)."
    )
    with gr.Row():
        with gr.Column():
            content = gr.Audio(type="filepath", format=None, label="Content", elem_id="audio-style-content")
            style = gr.Audio(type="filepath", format=None, label="Style", elem_id="audio-style-style")
            preset = gr.Radio(
                ["fast", "quality"], value="fast", label="Preset (fast for a CPU; quality for a GPU)"
            )
            steps = gr.Slider(1, 300, value=DEFAULT_STEPS, step=1, label="L-BFGS steps")
            seconds = gr.Slider(1, 10, value=DEFAULT_SECONDS, step=0.5, label="Seconds used of each input")
            n_filters = gr.Dropdown(FILTER_CHOICES, value=DEFAULT_N_FILTERS, label="Random filters")
            content_weight = gr.Number(value=1e-2, label="Content weight α")
            seed = gr.Number(value=0, precision=0, label="Seed")
            with gr.Row():
                run = gr.Button("Transfer style", variant="primary", elem_id="audio-style-run")
                stop = gr.Button("Stop", variant="stop", elem_id="audio-style-stop")
        with gr.Column():
            output = gr.Audio(
                type="filepath",
                label="Result (WAV; download with the button on the player)",
                elem_id="audio-style-output",
                interactive=False,
            )
            status = gr.Markdown(elem_id="audio-style-status")
            plot = gr.Plot(label="Loss", elem_id="audio-style-loss")
            how_it_works(Path(__file__).with_name("figure_audio.png"), CITATION, HOW_IT_WORKS)

    # a named function, not a lambda: its parameter names are the API's (``Client.predict(steps=...)``)
    def audio_style(
        content,
        style,
        steps,
        seconds,
        n_filters,
        content_weight,
        seed,
        progress=gr.Progress(),  # noqa: B008
        request: gr.Request = None,
    ):
        """Audio style transfer with one random convolution; streams the loss curve, then the WAV.

        Args:
            content: the sound whose structure is kept.
            style: the sound whose texture is transferred.
            steps: L-BFGS steps (1-300).
            seconds: seconds used of each input (longer inputs are truncated).
            n_filters: random filters of the convolution (256-4096; the paper uses 4096).
            content_weight: weight of the content loss (alpha).
            seed: random seed (the filters and the start).
        Returns:
            the stylised WAV, the loss curve and a status line.
        """
        yield from _transfer_stream(
            content, style, steps, seconds, n_filters, content_weight, seed, model, progress, request
        )

    def example(content, style, progress=gr.Progress(), request: gr.Request = None):  # noqa: B008
        yield from _transfer_stream(content, style, model=model, progress=progress, request=request)

    preset.change(
        lambda name: (DEFAULT_STEPS, DEFAULT_N_FILTERS) if name == "fast" else (QUALITY_STEPS, 4096),
        preset,
        [steps, n_filters],
        api_visibility="private",
        queue=False,
    )
    event = run.click(
        audio_style,
        inputs=[content, style, steps, seconds, n_filters, content_weight, seed],
        outputs=[output, plot, status],
        **event_kwargs("audio_style"),
    )
    clips = example_clips()
    pairs = [[str(clips[c]), str(clips[s])] for c, s in EXAMPLE_PAIRS if c in clips and s in clips]
    if pairs:
        gr.Examples(
            pairs,
            inputs=[content, style],
            outputs=[output, plot, status],
            fn=example,
            api_name="audio_style_example",
            label="Project-made example sounds (content, style): click one, it runs at the fast preset",
            elem_id="audio-style-examples",
            **examples_kwargs(),
        )
    add_stop(stop, event)


def build_demo(model: str = DEFAULT_MODEL) -> gr.Blocks:
    """A standalone ``gr.Blocks`` with the audio style transfer UI."""
    with gr.Blocks(title="hfmech · audio style transfer") as demo:
        build_audio_tab(model)
    from ..ui import configure

    return configure(demo)
