"""What every mechanism's Space shares: launch and queue settings (upload limit, bounded queue, one run per event at a
time), user errors as ``gr.Error``, a readable message for an undecodable upload, the streaming runner (a pipeline in
a worker thread, its ``callback_on_step_end`` states pushed through a queue, the request time limit and the Stop
button both ending the run through ``pipeline.interrupt``), download files with sensible names, and the shipped
example images, one theme and CSS for every tab (inputs left, outputs right; one column on a phone), and the "How it
works" accordion (paper, paragraph, the mechanism's figure). Knows no mechanism; no Space borrows from another."""

from __future__ import annotations

import os
import queue
import re
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gradio as gr

from .errors import USER_ERRORS

#: Per-upload limit for every app hfmech launches (Spaces and ``hfmech serve``).
MAX_UPLOAD = "20mb"
#: Requests waiting in a Space's queue beyond the running ones; the next one is refused with "queue is full".
QUEUE_MAX_SIZE = 16
#: Runs of one event at a time: the Hub's free CPU tier has 2 cores and one optimisation uses both.
CONCURRENCY_LIMIT = 1
#: Seconds one request may run (``$HFMECH_TIME_LIMIT`` overrides); then it stops and shows its result so far.
TIME_LIMIT_S = 120.0
#: The shipped example images (public-domain paintings and permissively licensed photos, ATTRIBUTION.md beside them).
EXAMPLES_DIR = Path(__file__).resolve().parent / "examples"


#: One look for every tab: Gradio's Soft theme in hfmech's colours, with the system's fonts (no font download).
THEME_SETTINGS = {
    "primary_hue": "indigo",
    "secondary_hue": "orange",
    "neutral_hue": "slate",
    "font": ["ui-sans-serif", "system-ui", "-apple-system", "Segoe UI", "Roboto", "sans-serif"],
    "font_mono": ["ui-monospace", "SFMono-Regular", "Menlo", "monospace"],
}

#: Shared layout: inputs left and outputs right on a desktop (each Space's ``gr.Row`` of two ``gr.Column``), one
#: column on a narrow screen. At 390 px Gradio's own 32 px side padding and a gallery's fixed columns made two tabs
#: scroll sideways (tests/ui/test_layout.py): narrower padding, and gallery columns that shrink.
CSS = """
.gradio-container { max-width: 1280px !important; margin: 0 auto !important; }
.gradio-container img, .gradio-container canvas, .gradio-container video { max-width: 100%; }
.hfmech-figure img { object-fit: contain; height: auto !important; }
@media (max-width: 720px) {
  .gradio-container .main { padding-left: 8px !important; padding-right: 8px !important; }
  .gradio-container .row { flex-wrap: wrap !important; }
  .gradio-container .row > .column { min-width: 100% !important; flex: 1 1 100% !important; }
  .gradio-container .grid-wrap, .gradio-container .grid-container { min-width: 0 !important; max-width: 100%; }
  .gradio-container .grid-container { grid-template-columns: repeat(auto-fill, minmax(72px, 1fr)) !important; }
  .gradio-container .table-wrap { max-width: 100%; overflow-x: auto !important; }
  .gradio-container pre, .gradio-container code { white-space: pre-wrap; word-break: break-word; }
}
"""


def theme() -> gr.themes.Base:
    """hfmech's theme (:data:`THEME_SETTINGS`), the same for every Space and ``hfmech serve``."""
    return gr.themes.Soft(**THEME_SETTINGS)


def launch_kwargs() -> dict:
    """Keyword arguments for ``Blocks.launch`` shared by every hfmech app: the upload limit, the theme and the CSS
    (Gradio 6 takes both at launch). The CSS goes into the page's ``<head>`` as it is: Gradio's ``css=`` rewrites
    the selectors inside ``@media`` blocks under ``.gradio-container .contain``, where ``.main`` and the rows of the
    page could not be reached."""
    return {"max_file_size": MAX_UPLOAD, "theme": theme(), "head": f"<style>{CSS}</style>"}


def how_it_works(
    figure: str | os.PathLike | None, citation: str, text: str, *, open: bool = False
) -> gr.Accordion:
    """The "How it works" accordion every tab ends with: the paper cited, the mechanism in a paragraph, and the
    mechanism's figure (``hfmech/<mechanism>/figure.png``, drawn by ``tests/ui/space_figures.py``; skipped when the
    file is absent). Call it inside the output column."""
    with gr.Accordion("How it works", open=open, elem_classes=["hfmech-how"]) as accordion:
        gr.Markdown(f"*{citation.strip()}*\n\n{text.strip()}")
        if figure is not None and Path(figure).is_file():
            gr.Image(
                str(figure),
                show_label=False,
                label="How it works",
                interactive=False,
                container=False,
                buttons=[],
                elem_classes=["hfmech-figure"],
            )
    return accordion


def figure_of(module_file: str | os.PathLike) -> Path:
    """``hfmech/<mechanism>/figure.png`` for a module of that mechanism (pass ``__file__``)."""
    return Path(module_file).resolve().with_name("figure.png")


def queue_kwargs() -> dict:
    """Keyword arguments for ``Blocks.queue``: a bounded queue, one run per event at a time."""
    return {"max_size": QUEUE_MAX_SIZE, "default_concurrency_limit": CONCURRENCY_LIMIT}


def configure(demo: gr.Blocks) -> gr.Blocks:
    """Set hfmech's queue on ``demo`` (a Space's top-level Blocks); returns it."""
    return demo.queue(**queue_kwargs())


def event_kwargs(api_name: str) -> dict:
    """Keyword arguments of every long-running Space event: its API name and concurrency (one at a time per event).

    They travel with the event when ``hfmech serve`` renders the Space in a tab."""
    return {"api_name": api_name, "concurrency_limit": CONCURRENCY_LIMIT, "concurrency_id": api_name}


def time_limit() -> float:
    value = os.environ.get("HFMECH_TIME_LIMIT")
    try:
        return float(value) if value else TIME_LIMIT_S
    except ValueError:
        return TIME_LIMIT_S


def examples_kwargs(cache: bool = True) -> dict:
    """``gr.Examples`` settings: a click runs the example and its output is cached lazily (on the first click), so
    the next visitor's click is instant; ``cache=False`` or ``$HFMECH_CACHE_EXAMPLES=0`` runs every click without
    caching."""
    value = os.environ.get("HFMECH_CACHE_EXAMPLES", "lazy").strip().lower()
    if not cache or value in ("0", "false", "no", "off"):
        return {"cache_examples": False, "run_on_click": True}
    return {"cache_examples": True, "cache_mode": "lazy"}


def example_path(name: str) -> str:
    """The path of a shipped example image (``hfmech/examples/NAME``)."""
    return str(EXAMPLES_DIR / name)


def readable_upload(component: gr.Image) -> gr.Image:
    """Make an unreadable upload to ``component`` a ``gr.Error`` with hfmech's message (see ``load_image``).

    Gradio decodes an upload with Pillow before the handler runs; a failure there becomes a
    ``ComponentProcessingError`` whose text Gradio hides. The message names the uploaded file, not the server path.
    The instance's ``preprocess`` is wrapped rather than subclassing ``gr.Image``: Gradio writes a ``.pyi`` stub
    beside the module of every ``Component`` subclass.
    """
    from .vision.image_io import load_image

    decode = component.preprocess

    def preprocess(payload):
        try:
            return decode(payload)
        except gr.Error:
            raise
        except Exception as err:
            path = getattr(payload, "path", None)
            name = getattr(payload, "orig_name", None) or "the uploaded file"
            try:
                load_image(path)
            except USER_ERRORS as e:
                raise gr.Error(str(e).replace(str(path), name)) from err
            except Exception:
                pass
            raise gr.Error(f"Could not read {name} as an image ({type(err).__name__}).") from err

    component.preprocess = preprocess
    return component


# ------------------------------------------------------------------------------------------------ downloads


def download_name(*parts: Any, suffix: str) -> str:
    """``deepdream-shallow-seed0.png`` from ``("deepdream", "shallow", "seed0")``: lower case, safe characters."""
    words = [re.sub(r"[^a-z0-9.]+", "-", str(p).lower()).strip("-.") for p in parts if p not in (None, "")]
    return "-".join(w for w in words if w)[:120] + suffix


def download_file(name: str, write: Callable[[Path], None]) -> str:
    """Write a result for download as ``<fresh temp dir>/name`` with ``write(path)``; returns the path."""
    path = Path(tempfile.mkdtemp(prefix="hfmech-download-")) / name
    write(path)
    return str(path)


def save_png(image, name: str) -> str:
    """``image`` (PIL) as a PNG for download, named ``name``."""
    return download_file(name, lambda p: image.save(p, format="PNG"))


# ------------------------------------------------------------------------------------------------ streaming runs

# One run of a given pipeline object at a time: its ``interrupt`` flag is per object, and a cancelled run finishes
# its step before the next run on the same pipeline starts.
_RUN_LOCKS: dict[int, threading.Lock] = {}
_RUN_LOCKS_GUARD = threading.Lock()


def _run_lock(pipe) -> threading.Lock:
    with _RUN_LOCKS_GUARD:
        return _RUN_LOCKS.setdefault(id(pipe), threading.Lock())


# The runs in progress of each browser session, so that its Stop button ends its own runs only.
_ACTIVE: dict[str, set[threading.Event]] = {}


def _session(request) -> str | None:
    return getattr(request, "session_hash", None) if request is not None else None


def stop_runs(request: gr.Request | None = None) -> None:
    """End the runs of ``request``'s session at their next step (the Stop button's handler)."""
    with _RUN_LOCKS_GUARD:
        for flag in _ACTIVE.get(_session(request) or "", ()):
            flag.set()


def add_stop(button: gr.Button, *events) -> None:
    """Make ``button`` stop ``events`` (their runs end at the next step; the result so far is kept)."""

    def stop(request: gr.Request):
        stop_runs(request)

    button.click(stop, None, None, cancels=list(events), api_visibility="private", queue=False)


@dataclass
class Frame:
    """One streamed update: ``step`` of ``total`` and what ``to_frame(state)`` made of the pipeline's state."""

    step: int
    total: int
    value: Any


@dataclass
class Finished:
    """The end of a run: the pipeline's output; ``stopped`` is ``"time limit"``, ``"cancelled"`` or ``None``."""

    output: Any
    stopped: str | None = None
    seconds: float = 0.0
    frames: int = 0
    extra: dict = field(default_factory=dict)


def stream_run(
    pipe,
    call: Callable[[Callable], Any],
    to_frame: Callable[[dict], Any] | None = None,
    *,
    every: int = 1,
    limit: float | None = None,
    progress: gr.Progress | None = None,
    desc: str = "optimising",
    request: gr.Request | None = None,
) -> Iterator[Frame | Finished]:
    """Run ``call(callback)`` (the pipeline call, passing ``callback_on_step_end=callback``) in a worker thread.

    Yields a :class:`Frame` for every ``every``-th step (and the last) with ``to_frame(state)`` made *inside* the
    callback (the state's tensors change after it returns), then one :class:`Finished`. Only the newest frame waiting
    is yielded, so a slow page never falls behind. The run ends early, through ``pipeline.interrupt``, when it passes
    ``limit`` seconds (default :func:`time_limit`) or when the consumer stops iterating (Gradio's Stop button closes
    the generator) or :func:`stop_runs` is called for ``request``'s session. User errors raised by the pipeline
    become ``gr.Error``.
    """
    limit = time_limit() if limit is None else float(limit)
    events: queue.Queue = queue.Queue()
    cancelled = threading.Event()
    timed_out = threading.Event()
    start = time.monotonic()
    every = max(1, int(every))

    def callback(pipeline, step, total, state):
        if cancelled.is_set():
            pipeline.interrupt = True
            return
        if time.monotonic() - start > limit:
            timed_out.set()
            pipeline.interrupt = True
        if to_frame is not None and (step % every == 0 or step >= total or pipeline.interrupt):
            events.put(Frame(step, total, to_frame(state)))
        elif progress is not None:
            events.put(Frame(step, total, None))

    def worker():
        try:
            with _run_lock(pipe):
                if cancelled.is_set():
                    events.put(Finished(None, "cancelled"))
                    return
                output = call(callback)
            stopped = "cancelled" if cancelled.is_set() else "time limit" if timed_out.is_set() else None
            events.put(Finished(output, stopped, time.monotonic() - start))
        except BaseException as err:  # re-raised in the consumer's thread
            events.put(err)

    session = _session(request)
    if session:
        with _RUN_LOCKS_GUARD:
            _ACTIVE.setdefault(session, set()).add(cancelled)
    thread = threading.Thread(target=worker, name="hfmech-run", daemon=True)
    thread.start()
    frames = 0
    try:
        while True:
            item = events.get()
            # skip to the newest frame waiting (keep errors and the end)
            while isinstance(item, Frame) and not events.empty():
                item = events.get()
            if isinstance(item, BaseException):
                if isinstance(item, USER_ERRORS):
                    raise gr.Error(str(item)) from item
                raise item
            if isinstance(item, Finished):
                item.frames = frames
                yield item
                return
            if progress is not None:
                progress((item.step, item.total), desc=desc, unit="steps")
            if item.value is not None:
                frames += 1
                yield item
    finally:
        cancelled.set()  # the generator closed (Stop) or an error: end the run at its next step
        if session:
            with _RUN_LOCKS_GUARD:
                _ACTIVE.get(session, set()).discard(cancelled)


def stop_message(finished: Finished, what: str = "result") -> str:
    """The note shown when a run stopped early: time limit or Stop."""
    if finished.stopped == "time limit":
        return (
            f"Stopped at the request time limit ({time_limit():.0f} s): this is the {what} so far. "
            "Lower the size or steps (or use the fast preset), or run it locally with hfmech."
        )
    if finished.stopped == "cancelled":
        return f"Stopped on request: this is the {what} so far."
    return ""


__all__ = [
    "CONCURRENCY_LIMIT",
    "CSS",
    "EXAMPLES_DIR",
    "MAX_UPLOAD",
    "QUEUE_MAX_SIZE",
    "TIME_LIMIT_S",
    "Finished",
    "Frame",
    "add_stop",
    "examples_kwargs",
    "figure_of",
    "how_it_works",
    "configure",
    "download_file",
    "download_name",
    "event_kwargs",
    "example_path",
    "launch_kwargs",
    "queue_kwargs",
    "readable_upload",
    "save_png",
    "stop_message",
    "stop_runs",
    "stream_run",
    "theme",
    "time_limit",
]
