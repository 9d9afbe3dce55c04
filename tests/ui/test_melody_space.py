"""The melody Space end to end: the real ``spaces/melody/app.py`` served by Gradio, driven through ``gradio_client``
(listen, interpolate, pick a step, attribute; user errors) and headless Chromium (click, audio element playable,
piano roll rendered). Runs on the committed zoo weights ``musicvae-mel2bar-folk``; needs ``mido``."""

from __future__ import annotations

import pytest

gr = pytest.importorskip("gradio")
pytest.importorskip("gradio_client")
pytest.importorskip("mido")
from gradio_client import Client, handle_file  # noqa: E402
from gradio_client.exceptions import AppError  # noqa: E402
from space_testing import REPO_ROOT, assert_image_not_blank, load_space_app, save_screenshot, served  # noqa: E402

from hfmech.melody.space import examples  # noqa: E402

pytestmark = [pytest.mark.ui]


@pytest.fixture(scope="module")
def space():
    module = load_space_app("melody")
    assert isinstance(module.demo, gr.Blocks)
    with served(module.demo) as url:
        yield module, url


@pytest.fixture(scope="module")
def client(space):
    return Client(space[1], verbose=False)


def test_examples_are_held_out_tunes():
    table = examples()
    assert len(table) >= 2
    assert all(len(events) >= 32 for events in table.values())


def test_listen_interpolate_pick_attribute(client):
    a, b = list(examples())[:2]
    audio, roll = client.predict(a, None, api_name="/listen_a")
    assert audio.endswith(".wav") and roll.endswith((".png", ".webp", ".jpeg", ".jpg"))
    # the path itself is a gr.State (session-side: gradio_client does not see it)
    path_audio, path_roll, midi, position = client.predict(
        a, None, b, None, 5, 0.5, 0, api_name="/interpolate"
    )
    assert midi.endswith(".mid") and path_audio.endswith(".wav")
    step_audio, step_roll = client.predict(2, api_name="/pick")
    assert step_audio.endswith(".wav")
    moved_audio, moved_roll, moved_midi = client.predict(
        a, None, "note_density", 1.5, 0.5, 0, api_name="/attribute"
    )
    assert moved_midi.endswith(".mid")


def test_a_corrupt_upload_is_a_readable_error(client, tmp_path):
    bad = tmp_path / "bad.mid"
    bad.write_bytes(b"MThd\x00\x00\x00\x06garbage")
    with pytest.raises(AppError, match="corrupt MIDI|not a Standard MIDI"):
        client.predict(None, handle_file(str(bad)), api_name="/listen_a")


def test_chromium_plays_the_interpolation(space, browser):
    _, url = space
    page = browser.new_page()
    try:
        page.goto(url, wait_until="domcontentloaded")
        button = page.locator("#melody-interpolate")
        button.wait_for(state="visible", timeout=60_000)
        button.click()
        # Gradio 6 draws the player with a waveform; the WAV it plays is the download link's file
        page.wait_for_function(
            "() => [...document.querySelectorAll('a[href]')].some(a => a.href.includes('.wav'))",
            timeout=180_000,
        )
        page.wait_for_function(
            "() => [...document.querySelectorAll('img')].some(i => i.complete && i.naturalWidth > 400)",
            timeout=60_000,
        )
        durations = page.evaluate(
            "() => Promise.all([...document.querySelectorAll('a[href]')].filter(a => a.href.includes('.wav')).map("
            "a => new Promise(r => { const au = new Audio(a.href); au.addEventListener('loadedmetadata', "
            "() => r(au.duration)); au.addEventListener('error', () => r(-1)); au.load(); })))"
        )
        assert durations and all(d > 1.0 for d in durations), durations
    finally:
        page.close()


def test_browser_example_click_and_screenshot(space, browser, tmp_path):
    """The example tunes (A and B preselected): hear A, interpolate A → B; the path's piano rolls are not blank;
    ``make screenshots`` keeps docs/screenshots/melody_space.png."""
    _, url = space
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    try:
        page.goto(url, wait_until="domcontentloaded")
        button = page.locator("#melody-interpolate")
        button.wait_for(state="visible", timeout=60_000)
        page.get_by_role("button", name="Hear A").click()
        assert_image_not_blank(page, "#melody-roll-a img[src]", timeout_ms=120_000)
        button.click()
        assert_image_not_blank(page, "#melody-path-roll img[src]", timeout_ms=180_000)
        page.locator("#melody-path-file a[href]").first.wait_for(state="attached", timeout=60_000)
        assert ".mid" in page.locator("#melody-path-file").inner_text()
        assert page.locator(".toast-body.error").count() == 0
        save_screenshot(page, REPO_ROOT / "docs" / "screenshots" / "melody_space.png", tmp_path)
    finally:
        page.close()
