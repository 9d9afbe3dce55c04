"""hfmech.ui's shared Space helpers on a fake pipeline (no model, seconds): the streaming runner (frames every N steps,
newest frame only, the end), Stop and closing the generator ending the run through ``pipeline.interrupt``, the
request time limit with its message, user errors as ``gr.Error``, queue settings and download names."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace

import pytest

gr = pytest.importorskip("gradio")

from hfmech import ui  # noqa: E402
from hfmech.errors import HfmechError  # noqa: E402

pytestmark = pytest.mark.ui


class FakePipeline:
    """Calls ``callback_on_step_end`` after each of ``steps`` steps, like hfmech's optimisation pipelines."""

    def __init__(self, steps=10, delay=0.0, error=None):
        self.steps, self.delay, self.error = steps, delay, error
        self.interrupt = False
        self.ran = 0

    def __call__(self, callback_on_step_end=None):
        self.interrupt = False
        self.ran = 0
        for step in range(1, self.steps + 1):
            time.sleep(self.delay)
            self.ran = step
            if self.error is not None and step == 3:
                raise self.error
            callback_on_step_end(self, step, self.steps, {"value": step})
            if self.interrupt:
                return {"interrupted": True, "last": step}
        return {"interrupted": False, "last": self.steps}


def _run(pipe, **kwargs):
    return ui.stream_run(pipe, lambda cb: pipe(callback_on_step_end=cb), lambda s: s["value"], **kwargs)


def test_frames_every_n_steps_then_the_end():
    pipe = FakePipeline(steps=10, delay=0.01)
    items = list(_run(pipe, every=3))
    frames = [i for i in items if isinstance(i, ui.Frame)]
    assert frames and all(f.value % 3 == 0 or f.value == 10 for f in frames)
    assert frames[-1].value in (9, 10)
    end = items[-1]
    assert (
        isinstance(end, ui.Finished)
        and end.stopped is None
        and end.output == {"interrupted": False, "last": 10}
    )


def test_closing_the_generator_interrupts_the_run():
    pipe = FakePipeline(steps=1000, delay=0.005)
    gen = _run(pipe, every=1)
    first = next(gen)
    assert isinstance(first, ui.Frame)
    gen.close()  # what Gradio's cancel does to a generator handler
    deadline = time.monotonic() + 10
    while ui._run_lock(pipe).locked() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not ui._run_lock(pipe).locked()
    assert pipe.ran < 1000 and pipe.interrupt


def test_stop_runs_ends_only_its_sessions_runs():
    mine, other = FakePipeline(steps=400, delay=0.005), FakePipeline(steps=60, delay=0.005)
    me, them = SimpleNamespace(session_hash="me"), SimpleNamespace(session_hash="them")
    results = {}

    def consume(name, pipe, request):
        results[name] = list(_run(pipe, every=1000, request=request))[-1]

    threads = [
        threading.Thread(target=consume, args=("mine", mine, me)),
        threading.Thread(target=consume, args=("other", other, them)),
    ]
    for t in threads:
        t.start()
    time.sleep(0.1)
    ui.stop_runs(me)
    for t in threads:
        t.join(20)
    assert results["mine"].stopped == "cancelled" and results["mine"].output["interrupted"]
    assert results["other"].stopped is None and results["other"].output["last"] == 60


def test_time_limit_stops_with_a_clear_message(monkeypatch):
    monkeypatch.setenv("HFMECH_TIME_LIMIT", "0.1")
    pipe = FakePipeline(steps=1000, delay=0.01)
    end = list(_run(pipe))[-1]
    assert end.stopped == "time limit" and end.output["interrupted"] and end.output["last"] < 1000
    message = ui.stop_message(end, "dream")
    assert "request time limit" in message and "dream so far" in message


def test_user_errors_become_gr_error():
    class BadValue(HfmechError, ValueError):
        pass

    with pytest.raises(gr.Error, match="bad value here"):
        list(_run(FakePipeline(error=BadValue("bad value here"))))
    with pytest.raises(RuntimeError):
        list(_run(FakePipeline(error=RuntimeError("bug"))))


def test_queue_and_event_settings():
    assert ui.queue_kwargs() == {"max_size": ui.QUEUE_MAX_SIZE, "default_concurrency_limit": 1}
    assert ui.event_kwargs("dream")["concurrency_limit"] == 1
    with gr.Blocks() as demo:
        gr.Button().click(lambda: None, None, None, **ui.event_kwargs("x"))
    ui.configure(demo)
    assert demo._queue.max_size == ui.QUEUE_MAX_SIZE  # noqa: SLF001


def test_download_names_and_examples():
    assert ui.download_name("deepdream", "Shallow", "seed0", suffix=".png") == "deepdream-shallow-seed0.png"
    assert ui.download_name("analogy", "man:king::woman:x", suffix=".csv") == "analogy-man-king-woman-x.csv"
    for name in ("starry_night.jpg", "great_wave.jpg", "the_scream.jpg", "shipwreck.jpg", "sky.jpg"):
        assert (ui.EXAMPLES_DIR / name).is_file()
    attribution = (ui.EXAMPLES_DIR / "ATTRIBUTION.md").read_text()
    shipped = sorted(p.name for p in ui.EXAMPLES_DIR.glob("*.jpg"))
    assert all(name in attribution for name in shipped)
    assert sum(p.stat().st_size for p in ui.EXAMPLES_DIR.iterdir()) < 512_000
