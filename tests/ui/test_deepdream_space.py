"""The DeepDream Space end to end: the real ``spaces/deepdream/app.py`` served by Gradio, driven through
``gradio_client`` (results and user errors), headless Chromium (upload, run, screenshot) and ``hfmech serve``'s tabbed app.

Runs on the zoo model ``efficientnet-lite0-imagenet`` (built into ``$HFMECH_CACHE`` on first use). No timing assertions:
the default request's duration is printed (``pytest -s``).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

gr = pytest.importorskip("gradio")
gradio_client = pytest.importorskip("gradio_client")
from gradio_client import Client, handle_file  # noqa: E402
from gradio_client.exceptions import AppError  # noqa: E402
from space_testing import (  # noqa: E402
    assert_image_not_blank,
    click_first_example,
    launch_space,
    load_space_app,
    save_screenshot,
    served,
)

from hfmech.dream.space import DEFAULT_MAX_SIDE, dream_image  # noqa: E402
from hfmech.serve import build_app  # noqa: E402
from hfmech.vision.image_io import ImageInputError, load_image  # noqa: E402

pytestmark = pytest.mark.ui

REPO_ROOT = Path(__file__).resolve().parents[2]
# The committed screenshot is refreshed only on request (HFMECH_UPDATE_SCREENSHOTS=1), so a test run never dirties
# the working tree; otherwise the screenshot goes to pytest's temporary directory.
SCREENSHOT = REPO_ROOT / "docs" / "screenshots" / "deepdream_space.png"
SMALL_SETTINGS = {"octaves": 2, "steps": 3}


@pytest.fixture(scope="module")
def space():
    """(module of spaces/deepdream/app.py, its URL), served for the whole module."""
    module = load_space_app("deepdream")
    assert isinstance(module.demo, gr.Blocks)
    with served(module.demo) as url:
        yield module, url


@pytest.fixture
def fast_examples(monkeypatch):
    """The example runs at a smaller budget in tests; ``make screenshots`` keeps the Space's real defaults."""
    if os.environ.get("HFMECH_UPDATE_SCREENSHOTS") != "1":
        from hfmech.dream import space as dream_space

        monkeypatch.setattr(dream_space, "DEFAULT_OCTAVES", 2)
        monkeypatch.setattr(dream_space, "DEFAULT_STEPS", 4)
        monkeypatch.setattr(dream_space, "DEFAULT_MAX_SIDE", 192)


@pytest.fixture(scope="module")
def client(space):
    return Client(space[1], verbose=False)


@pytest.fixture(scope="module")
def small_image(tmp_path_factory) -> Path:
    """A 160x120 RGB picture with structure (gradients, a disc, noise) for the dream to work on."""
    h, w = 120, 160
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    rng = np.random.default_rng(0)
    pixels = np.stack([x / w, y / h, 0.5 + 0.5 * np.sin(x / 7.0) * np.cos(y / 9.0)], axis=-1)
    disc = (x - 100) ** 2 + (y - 50) ** 2 < 30**2
    pixels[disc] = [0.9, 0.3, 0.2]
    pixels = np.clip(pixels + rng.normal(0, 0.03, pixels.shape), 0, 1)
    path = tmp_path_factory.mktemp("images") / "small.png"
    Image.fromarray((pixels * 255).astype(np.uint8)).save(path)
    return path


def _assert_dream_of(result, source: Path, max_side: int) -> Image.Image:
    """``result`` (the client's (image, download, status)) is an image of ``source``'s aspect ratio at ``max_side``,
    changed, with a PNG download of the same picture."""
    assert isinstance(result, tuple) and len(result) == 3, result
    result, download, status = result
    assert Path(download).name.startswith("deepdream-") and Path(download).suffix == ".png"
    assert "→" in status
    assert isinstance(result, str) and Path(result).is_file(), result
    with Image.open(result) as im:
        out = im.convert("RGB")
    with Image.open(source) as im:
        src = im.convert("RGB")
    assert max(out.size) == max_side
    assert out.width / out.height == pytest.approx(src.width / src.height, abs=0.02)
    reference = np.asarray(src.resize(out.size, Image.Resampling.LANCZOS), dtype=np.float32)
    diff = np.abs(np.asarray(out, dtype=np.float32) - reference).mean()
    assert diff > 2.0, f"the dream is (nearly) the input: mean |diff| = {diff:.2f} levels"
    return out


def _endpoints(client: Client) -> dict:
    return client.view_api(print_info=False, return_format="dict")["named_endpoints"]


def _dream_parameters(client: Client, api_name: str = "/dream") -> list[dict]:
    return _endpoints(client)[api_name]["parameters"]


# ---------------------------------------------------------------- gradio_client


def test_space_exposes_dream_endpoint(client):
    params = {p["parameter_name"]: p for p in _dream_parameters(client)}
    assert list(params) == ["image", "layer", "octaves", "steps", "guide", "seed", "max_side"]
    assert not params["image"]["parameter_has_default"]
    # the API's defaults are the form's: the config's default layer, 3 octaves of 10 steps, 384 px
    defaults = {k: p["parameter_default"] for k, p in params.items() if p["parameter_has_default"]}
    assert defaults["octaves"] == 3 and defaults["steps"] == 10 and defaults["max_side"] == DEFAULT_MAX_SIDE
    assert defaults["layer"]


def test_dream_small_image_streams_and_downloads(client, small_image):
    job = client.submit(
        handle_file(str(small_image)),
        "shallow",
        SMALL_SETTINGS["octaves"],
        SMALL_SETTINGS["steps"],
        None,
        0,
        128,
        api_name="/dream",
    )
    result = job.result()
    _assert_dream_of(result, small_image, max_side=128)
    # the dream streamed: intermediate images (octave by octave) before the final one
    assert len(job.outputs()) >= 3, job.outputs()
    assert Path(result[1]).name == "deepdream-shallow-seed0.png"
    with Image.open(result[0]) as a, Image.open(result[1]) as b:
        assert a.size == b.size


def test_time_limit_returns_the_dream_so_far(client, small_image, monkeypatch):
    monkeypatch.setenv("HFMECH_TIME_LIMIT", "0.01")  # the server runs in this process
    image, download, status = client.predict(
        handle_file(str(small_image)), "shallow", 3, 20, None, 0, 128, api_name="/dream"
    )
    assert "request time limit" in status
    assert Path(image).is_file() and Path(download).is_file()


def test_dream_default_settings_on_sky(client, shared_dir):
    sky = shared_dir / "data" / "images" / "sky1024px.jpg"
    if not sky.is_file():
        pytest.skip(f"{sky} not found")
    # every input but the picture at the Space's default (the guide's default is "none")
    defaults = {p["parameter_name"]: p.get("parameter_default") for p in _dream_parameters(client)[1:]}

    start = time.perf_counter()
    result = client.predict(handle_file(str(sky)), *defaults.values(), api_name="/dream")
    elapsed = time.perf_counter() - start
    print(f"\n[deepdream space] default request on sky1024px.jpg {defaults}: {elapsed:.1f} s")
    _assert_dream_of(result, sky, max_side=defaults["max_side"])


@pytest.fixture
def corrupt_png(tmp_path) -> tuple[Path, str]:
    """(a .png file that is text, hfmech's message about it as the Space must show it: named by file name)."""
    corrupt = tmp_path / "corrupt.png"
    corrupt.write_bytes(b"this is not a PNG, just some text pretending to be one\n" * 20)
    with pytest.raises(ImageInputError) as ours:
        load_image(corrupt)
    return corrupt, str(ours.value).replace(str(corrupt), "corrupt.png")


def _assert_clear_error(err: pytest.ExceptionInfo, expected: str) -> None:
    message = str(err.value)
    assert expected in message
    for leak in (
        "Traceback",
        "show_error",
        "/tmp/gradio",
        "UnidentifiedImageError",
        "ComponentProcessingError",
    ):
        assert leak not in message


@pytest.mark.parametrize("slot", ["image", "guide"])
def test_corrupt_upload_is_a_clear_error(client, corrupt_png, small_image, slot):
    corrupt, expected = corrupt_png
    image, guide = (corrupt, None) if slot == "image" else (small_image, corrupt)
    with pytest.raises(AppError) as err:
        client.predict(
            handle_file(str(image)),
            None,
            1,
            1,
            handle_file(str(guide)) if guide else None,
            0,
            128,
            api_name="/dream",
        )
    _assert_clear_error(err, expected)
    # the fix wraps gr.Image.preprocess on the instance: a gr.Image subclass would make Gradio write this stub
    assert not (REPO_ROOT / "hfmech" / "dream" / "space.pyi").exists()


def test_unknown_layer_is_a_clear_error(client, small_image):
    with pytest.raises(gr.Error) as ours:  # the handler itself, in-process: our message
        dream_image(str(small_image), "no-such-layer", 1, 1, None, 0, 128)
    assert "no-such-layer" in ours.value.message

    with pytest.raises(AppError) as err:
        client.predict(handle_file(str(small_image)), "no-such-layer", 1, 1, None, 0, 128, api_name="/dream")
    message = str(err.value)
    assert ours.value.message in message
    assert "valid layers" in message
    assert "Traceback" not in message and "show_error" not in message


# ---------------------------------------------------------------- headless Chromium


@pytest.fixture
def page(browser, space):
    """A fresh page on the Space, loaded (the Dream button is on screen)."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    try:
        page.goto(space[1], wait_until="domcontentloaded")
        page.locator("#dream-run").wait_for(state="visible", timeout=60_000)
        yield page
    finally:
        page.close()


def _upload(page, picture: Path) -> None:
    page.locator("#dream-input input[type=file]").set_input_files(str(picture))
    preview = page.locator("#dream-input img[src]").first
    preview.wait_for(state="visible", timeout=30_000)


def test_browser_upload_run_and_screenshot(page, shared_dir, small_image, tmp_path):
    sky = shared_dir / "data" / "images" / "sky1024px.jpg"
    _upload(page, sky if sky.is_file() else small_image)

    steps = page.get_by_label("Steps per octave").and_(page.locator("input[type=number]"))
    if steps.count() == 1:  # fewer steps keep the run short; the dream stays plainly visible
        steps.fill("6")
        steps.press("Enter")

    page.locator("#dream-run").click()
    output = page.locator("#dream-output img[src]").first
    output.wait_for(state="visible", timeout=180_000)
    page.wait_for_function(
        "el => el.complete && el.naturalWidth > 0", arg=output.element_handle(), timeout=30_000
    )
    assert output.is_visible()
    assert output.evaluate("el => el.naturalWidth") > 0
    assert page.locator(".toast-body.error").count() == 0, "the page shows an error toast"

    target = tmp_path / SCREENSHOT.name
    page.screenshot(path=str(target), full_page=True)
    assert target.stat().st_size > 10_000


def test_browser_example_click_and_screenshot(page, tmp_path, fast_examples):
    """Click the first example (sky.jpg): the dream streams in, ends with a download, and is not blank."""
    click_first_example(page, "dream-examples")
    page.locator("#dream-download a[download], #dream-download a[href]").first.wait_for(
        state="attached", timeout=300_000
    )
    assert_image_not_blank(page, "#dream-output img[src]")
    assert "deepdream-" in page.locator("#dream-download").inner_text()
    assert page.locator(".toast-body.error").count() == 0, "the page shows an error toast"
    save_screenshot(page, SCREENSHOT, tmp_path)


def test_browser_stop_ends_the_run(page, small_image, space):
    """Stop during a long dream: the page keeps the dream so far and the pipeline's run ends at its next step."""
    from hfmech import ui
    from hfmech.dream.space import DEFAULT_MODEL
    from hfmech.hub import load_pipeline

    _upload(page, small_image)
    steps = page.get_by_label("Steps per octave").and_(page.locator("input[type=number]"))
    steps.fill("30")
    steps.press("Enter")
    page.locator("#dream-run").click()
    page.locator("#dream-status").get_by_text("Octave").first.wait_for(timeout=120_000)
    lock = ui._run_lock(load_pipeline("deep-dream", DEFAULT_MODEL))
    assert lock.locked()
    page.locator("#dream-stop").click()
    deadline = time.monotonic() + 30
    while lock.locked() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not lock.locked(), "the dream kept running after Stop"
    # never finished: either gradio cancelled the event before its last update (no download), or the handler got
    # to yield the interrupted dream, marked as stopped (on a fast machine Stop and that update race)
    if page.locator("#dream-download a[href]").count():
        page.locator("#dream-status").get_by_text("Stopped on request").first.wait_for(timeout=10_000)


def test_browser_shows_our_error_message(page, small_image):
    """A user error is a toast with hfmech's message (here: a layer name typed into the dropdown)."""
    _upload(page, small_image)
    layer = page.get_by_label("Layer (or preset)")
    layer.fill("no-such-layer")
    layer.press("Enter")
    page.locator("#dream-run").click()
    toast = page.locator(".toast-body.error").first
    toast.wait_for(state="visible", timeout=60_000)
    text = toast.inner_text()
    assert "unknown layer 'no-such-layer'" in text
    assert "valid layers" in text
    assert page.locator("#dream-output img[src]").count() == 0


# ---------------------------------------------------------------- hfmech serve


def test_serve_app_has_deepdream_tab_with_same_api(small_image, corrupt_png):
    app = build_app()
    assert isinstance(app, gr.Blocks)
    tabs = [b for b in app.blocks.values() if isinstance(b, gr.Tab)]
    assert "DeepDream" in [t.label for t in tabs]
    assert any(getattr(b, "elem_id", None) == "dream-run" for b in app.blocks.values())

    url = launch_space(app)
    try:
        client = Client(url, verbose=False)
        assert "/dream" in _endpoints(client), list(_endpoints(client))
        api_name = "/dream"  # the Space's api_name survives render() into a tab
        print(f"\n[hfmech serve] DeepDream endpoint: {api_name}")
        params = [p["parameter_name"] for p in _dream_parameters(client, api_name)]
        assert params == ["image", "layer", "octaves", "steps", "guide", "seed", "max_side"]
        result = client.predict(
            handle_file(str(small_image)),
            "shallow",
            SMALL_SETTINGS["octaves"],
            SMALL_SETTINGS["steps"],
            None,
            0,
            128,
            api_name=api_name,
        )
        _assert_dream_of(result, small_image, max_side=128)

        corrupt, expected = corrupt_png
        with pytest.raises(AppError) as err:
            client.predict(handle_file(str(corrupt)), None, 1, 1, None, 0, 128, api_name=api_name)
        _assert_clear_error(err, expected)
    finally:
        app.close()
