"""The audio style transfer UI end to end: :func:`hfmech.style.space_audio.build_demo` served by Gradio, driven through
``gradio_client`` (results and user errors) and headless Chromium (example, run, screenshot).

Runs on the zoo model ``random-audio-conv`` (a config-only repo: built into ``$HFMECH_CACHE`` in seconds, no
download). Requests use short clips and few steps; no timing assertions (durations are printed with ``pytest -s``).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

gr = pytest.importorskip("gradio")
gradio_client = pytest.importorskip("gradio_client")
from gradio_client import Client, handle_file  # noqa: E402
from gradio_client.exceptions import AppError  # noqa: E402
from space_testing import click_first_example, save_screenshot, served  # noqa: E402

from hfmech.style import demo_sounds  # noqa: E402
from hfmech.style.audio import save_audio_atomic  # noqa: E402
from hfmech.style.space_audio import DEFAULT_N_FILTERS, DEFAULT_SECONDS, DEFAULT_STEPS, build_demo  # noqa: E402

pytestmark = pytest.mark.ui

REPO_ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT = REPO_ROOT / "docs" / "screenshots" / "audio_style_space.png"
SR = 22050
QUICK = {"steps": 15, "seconds": 1.5, "n_filters": 256, "content_weight": 0.01, "seed": 0}


@pytest.fixture(scope="module")
def space():
    demo = build_demo()
    assert isinstance(demo, gr.Blocks)
    with served(demo) as url:
        yield demo, url


@pytest.fixture(scope="module")
def client(space):
    return Client(space[1], verbose=False)


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("clips")
    return {
        "content": save_audio_atomic(demo_sounds.melody(2.0), SR, folder / "content.wav"),
        "style": save_audio_atomic(demo_sounds.rain(2.0), SR, folder / "style.mp3"),
        "silent": save_audio_atomic(np.zeros(SR, np.float32), SR, folder / "silent.wav"),
        "corrupt": _write(folder / "corrupt.wav", b"definitely not a RIFF file\n" * 40),
    }


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _params(client) -> dict:
    api = client.view_api(print_info=False, return_format="dict")["named_endpoints"]["/audio_style"]
    return {p["parameter_name"]: p for p in api["parameters"]}


def _predict(client, content, style, **settings):
    s = {**QUICK, **settings}
    return client.predict(
        handle_file(str(content)),
        handle_file(str(style)),
        s["steps"],
        s["seconds"],
        s["n_filters"],
        s["content_weight"],
        s["seed"],
        api_name="/audio_style",
    )


# ---------------------------------------------------------------------------------------------- gradio_client
def test_endpoint_and_defaults(client):
    params = _params(client)
    assert list(params) == ["content", "style", "steps", "seconds", "n_filters", "content_weight", "seed"]
    defaults = {k: p["parameter_default"] for k, p in params.items() if p["parameter_has_default"]}
    assert defaults["steps"] == DEFAULT_STEPS and defaults["seconds"] == DEFAULT_SECONDS
    assert defaults["n_filters"] == DEFAULT_N_FILTERS and defaults["content_weight"] == pytest.approx(0.01)


def test_transfer_returns_audio_and_a_loss_plot(client, clips):
    start = time.perf_counter()
    audio_path, plot, status = _predict(client, clips["content"], clips["style"])
    print(f"\n[audio style space] 1.5 s clip, 15 steps, 256 filters: {time.perf_counter() - start:.1f} s")
    assert Path(audio_path).name == "audio-style-content-style-seed0.wav"  # named after the inputs
    assert "evaluations" in status
    audio, sr = sf.read(audio_path, dtype="float32")
    assert sr == SR and audio.ndim == 1
    assert abs(len(audio) / sr - QUICK["seconds"]) < 0.01  # the content, cut to the requested seconds
    assert 0.01 < np.max(np.abs(audio)) <= 1.0
    assert plot is not None


def test_default_request(client, clips):
    """One request at the form's defaults (5 s limit, 50 steps, 1024 filters) on 2 s clips."""
    defaults = {k: p["parameter_default"] for k, p in _params(client).items() if p["parameter_has_default"]}
    start = time.perf_counter()
    audio_path, _, _ = _predict(client, clips["content"], clips["style"], **defaults)
    print(
        f"\n[audio style space] default request {defaults} on 2 s clips: {time.perf_counter() - start:.1f} s"
    )
    audio, sr = sf.read(audio_path, dtype="float32")
    assert abs(len(audio) / sr - 2.0) < 0.01


@pytest.mark.parametrize(
    "which, expected",
    [("silent", "'silent.wav' is silent"), ("corrupt", "cannot decode 'corrupt.wav' as audio")],
)
def test_bad_uploads_are_clear_errors(client, clips, which, expected):
    with pytest.raises(AppError) as err:
        _predict(client, clips[which], clips["style"])
    message = str(err.value)
    assert expected in message
    for leak in ("Traceback", "show_error", "/tmp/gradio"):
        assert leak not in message


# ---------------------------------------------------------------------------------------------- headless Chromium


def test_streams_the_loss_curve(client, clips):
    job = client.submit(
        handle_file(str(clips["content"])),
        handle_file(str(clips["style"])),
        25,
        1.5,
        256,
        0.01,
        0,
        api_name="/audio_style",
    )
    audio_path, _, _ = job.result()
    assert Path(audio_path).is_file()
    assert len(job.outputs()) >= 2, (
        "the loss curve was not streamed"
    )  # at most one curve a second, then the end


@pytest.fixture
def fast_examples(monkeypatch):
    """The example runs at a smaller budget in tests; ``make screenshots`` keeps the Space's real defaults."""
    if os.environ.get("HFMECH_UPDATE_SCREENSHOTS") != "1":
        from hfmech.style import space_audio

        real = space_audio._transfer_stream

        def quick(content, style, *args, **kwargs):
            if not args and kwargs.get("steps") is None:  # the examples' call: defaults
                kwargs.update(steps=10, seconds=2.0, n_filters=256)
            return real(content, style, *args, **kwargs)

        monkeypatch.setattr(space_audio, "_transfer_stream", quick)


def test_browser_example_click_and_screenshot(browser, space, tmp_path, fast_examples):
    """Click the first example (melody × rain): it runs, and the result and its loss curve appear."""
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    try:
        page.goto(space[1], wait_until="domcontentloaded")
        page.locator("#audio-style-run").wait_for(state="visible", timeout=60_000)
        click_first_example(page, "audio-style-examples")
        try:
            page.locator("#audio-style-output a[download][href*='audio-style-']").wait_for(
                state="attached", timeout=300_000
            )
        except Exception:
            page.screenshot(path=str(tmp_path / "failure.png"), full_page=True)
            raise
        page.locator("#audio-style-loss img, #audio-style-loss svg").first.wait_for(
            state="attached", timeout=60_000
        )
        assert "evaluations" in page.locator("#audio-style-status").inner_text()
        assert page.locator(".toast-body.error").count() == 0, "the page shows an error toast"
        save_screenshot(page, SCREENSHOT, tmp_path)
    finally:
        page.close()
