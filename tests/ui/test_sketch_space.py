"""The sketch Space in headless Chromium: draw strokes with real mouse events on the canvas, reconstruct, and see
the result (a tiny random sketch-rnn, so the test needs no trained weights)."""

from __future__ import annotations

import json

import pytest
import torch
from space_testing import served

from hfmech.sketch.modeling_sketch_rnn import SketchRNNConfig, SketchRNNModel


@pytest.fixture(scope="module")
def space_url(tmp_path_factory):
    pytest.importorskip("gradio")
    from hfmech.sketch.space import build_demo

    torch.manual_seed(0)
    cfg = SketchRNNConfig.from_preset("cpu-small", enc_rnn_size=8, dec_rnn_size=16, z_size=4, num_mixture=3)
    cfg.max_seq_len = 60
    cfg.scale_factor = 10.0
    cfg.sketch_vae = {"canvas": 100.0}
    folder = tmp_path_factory.mktemp("tiny-sketch-space")
    SketchRNNModel(cfg).save_pretrained(folder)
    with served(build_demo(model=str(folder))) as url:
        yield url


def _draw(page, points):
    box = page.locator("#sketch-canvas").bounding_box()
    x0, y0 = box["x"], box["y"]
    page.mouse.move(x0 + points[0][0], y0 + points[0][1])
    page.mouse.down()
    for x, y in points[1:]:
        page.mouse.move(x0 + x, y0 + y, steps=4)
    page.mouse.up()


def test_draw_with_the_mouse_and_reconstruct(browser, space_url, tmp_path):
    page = browser.new_page()
    try:
        page.goto(space_url, wait_until="domcontentloaded")
        page.locator("#sketch-canvas").wait_for(state="visible", timeout=60_000)
        _draw(page, [(40, 40), (120, 60), (200, 160)])
        _draw(page, [(60, 200), (180, 210)])
        sent = page.locator("#sketch-strokes textarea").input_value()
        strokes = json.loads(sent)
        assert len(strokes) == 2 and len(strokes[0][0]) >= 3, sent
        page.locator("#sketch-reconstruct").click()
        page.locator("#sketch-recon img").first.wait_for(state="visible", timeout=60_000)
        page.locator("#sketch-input img").first.wait_for(state="visible", timeout=60_000)
        assert page.locator(".toast-body.error").count() == 0, "the page shows an error toast"
        page.screenshot(path=str(tmp_path / "sketch-space.png"), full_page=True)
    finally:
        page.close()


def test_reconstruct_without_drawing_shows_our_message(browser, space_url):
    page = browser.new_page()
    try:
        page.goto(space_url, wait_until="domcontentloaded")
        page.locator("#sketch-reconstruct").wait_for(state="visible", timeout=60_000)
        page.locator("#sketch-reconstruct").click()
        toast = page.locator(".toast-body.error").first
        toast.wait_for(state="visible", timeout=30_000)
        assert "Draw something" in toast.inner_text()
    finally:
        page.close()


def test_the_deployed_app_reconstructs_a_drawn_character(browser, tmp_path):
    """spaces/sketch/app.py itself, with the shipped sketch-rnn-omniglot weights."""
    from space_testing import REPO_ROOT, assert_image_not_blank, load_space_app, save_screenshot

    app = load_space_app("sketch")
    with served(app.demo) as url:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        try:
            page.goto(url, wait_until="domcontentloaded")
            page.locator("#sketch-canvas").wait_for(state="visible", timeout=60_000)
            _draw(page, [(100, 40), (100, 160), (110, 260)])
            _draw(page, [(60, 120), (200, 120)])
            page.locator("#sketch-reconstruct").click()
            assert_image_not_blank(page, "#sketch-recon img")
            assert_image_not_blank(page, "#sketch-input img")
            assert page.locator(".toast-body.error").count() == 0
            save_screenshot(page, REPO_ROOT / "docs" / "screenshots" / "sketch_space.png", tmp_path)
        finally:
            page.close()


def test_gradio_client_endpoints(space_url):
    """The calls spaces/sketch/README.md documents, and a user error as a message."""
    from gradio_client import Client
    from gradio_client.exceptions import AppError

    client = Client(space_url, verbose=False)
    drawing = [[[10, 60, 120], [20, 25, 80]], [[50, 50], [10, 150]]]
    seen, recon, svg = client.predict(
        strokes=json.dumps(drawing), temperature=0.1, seed=0, api_name="/reconstruct"
    )
    assert svg.startswith("<svg") and recon and seen
    assert client.predict(strokes=json.dumps(drawing), temperature=0.4, api_name="/variations")
    with pytest.raises(AppError, match="Draw something"):
        client.predict(strokes="[]", temperature=0.1, seed=0, api_name="/reconstruct")
    with pytest.raises(AppError, match="NaN or infinite"):
        bad = json.dumps([[[0, 10], [0, 1e999]]])
        client.predict(strokes=bad, temperature=0.1, seed=0, api_name="/reconstruct")
