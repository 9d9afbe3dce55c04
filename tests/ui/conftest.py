"""Fixtures shared by the Space UI tests."""

import os
import tempfile
from pathlib import Path

import pytest
from space_testing import CHROMIUM, CHROMIUM_ARGS

# Lazily cached example outputs go to a temporary folder, never to the working tree's .gradio/.
os.environ.setdefault("GRADIO_EXAMPLES_CACHE", tempfile.mkdtemp(prefix="hfmech-examples-cache-"))


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium (Debian's /usr/bin/chromium through playwright); skips when either is missing."""
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="the playwright python package is not installed"
    )
    if not Path(CHROMIUM).is_file():
        pytest.skip(f"{CHROMIUM} not found (apt-get install -y chromium)")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
