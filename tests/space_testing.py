"""Helpers shared by the Space UI tests (tests/ui): import a Space's ``app.py`` from its path, serve a ``gr.Blocks``
on a free local port, headless Chromium."""

from __future__ import annotations

import importlib.util
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

REPO_ROOT = Path(__file__).resolve().parents[1]

#: Debian's chromium, driven by playwright (never `playwright install`).
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def launch_space(blocks) -> str:
    """Serve ``blocks`` on 127.0.0.1 with hfmech's launch settings (upload limit); returns its URL."""
    from hfmech.ui import launch_kwargs

    port = free_port()
    blocks.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, **launch_kwargs())
    return f"http://127.0.0.1:{port}/"


def load_space_app(folder: str) -> ModuleType:
    """Import ``spaces/<folder>/app.py`` from its path, so the Space file itself is what is tested."""
    path = REPO_ROOT / "spaces" / folder / "app.py"
    spec = importlib.util.spec_from_file_location(f"hfmech_space_{folder.replace('-', '_')}_app", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@contextmanager
def served(blocks) -> Iterator[str]:
    """Serve ``blocks`` (:func:`launch_space`) for the ``with`` block; yields its URL and closes it afterwards."""
    url = launch_space(blocks)
    try:
        yield url
    finally:
        blocks.close()


# The standard deviation of an <img>'s pixels (0..255, all channels), drawn on a canvas in the page.
_PIXEL_STD_JS = """el => {
  const c = document.createElement('canvas');
  c.width = el.naturalWidth; c.height = el.naturalHeight;
  const g = c.getContext('2d'); g.drawImage(el, 0, 0);
  const d = g.getImageData(0, 0, c.width, c.height).data;
  let n = 0, s = 0, s2 = 0;
  for (let i = 0; i < d.length; i += 4) for (let k = 0; k < 3; k++) { n++; s += d[i + k]; s2 += d[i + k] * d[i + k]; }
  const m = s / n; return Math.sqrt(Math.max(s2 / n - m * m, 0));
}"""


def assert_image_not_blank(page, selector: str, timeout_ms: int = 300_000, min_std: float = 4.0) -> float:
    """Wait for the image at ``selector`` to load and assert its pixels vary (not blank); returns their std."""
    image = page.locator(selector).first
    image.wait_for(state="visible", timeout=timeout_ms)
    page.wait_for_function(
        "el => el.complete && el.naturalWidth > 0", arg=image.element_handle(), timeout=60_000
    )
    std = image.evaluate(_PIXEL_STD_JS)
    assert std > min_std, f"the image at {selector} is blank (pixel std {std:.2f})"
    return std


def wait_until_idle(page, timeout_ms: int = 120_000) -> None:
    """Wait until no component shows Gradio's "processing" overlay (the event has completed)."""
    page.wait_for_function(
        "() => !document.body.innerText.includes('processing |')", timeout=timeout_ms, polling=500
    )


def save_screenshot(page, committed: Path, tmp_path: Path) -> Path:
    """A full-page screenshot: to ``committed`` (docs/screenshots) under ``HFMECH_UPDATE_SCREENSHOTS=1`` (``make
    screenshots``), else to ``tmp_path`` so a test run never dirties the working tree."""
    import os

    wait_until_idle(page)
    target = committed if os.environ.get("HFMECH_UPDATE_SCREENSHOTS") == "1" else tmp_path / committed.name
    target.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(target), full_page=True)
    assert target.stat().st_size > 10_000
    shrink_png(target)
    return target


def shrink_png(path: Path, limit: int = 300_000) -> Path:
    """Keep a committed screenshot under ``limit`` bytes: a page with photos is re-saved as a 256-colour PNG (the
    UI's text and flat colours survive; photos get a dithered palette), and halved in size if still too large."""
    from PIL import Image

    if path.stat().st_size <= limit:
        return path
    image = Image.open(path).convert("RGB")
    for scale in (1.0, 0.75, 0.5):
        if scale != 1.0:
            image = image.resize(
                (int(image.width * scale), int(image.height * scale)), Image.Resampling.LANCZOS
            )
        image.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(path, format="PNG", optimize=True)
        if path.stat().st_size <= limit:
            break
    return path


def click_first_example(page, elem_id: str) -> None:
    """Click the first row of the ``gr.Examples`` with ``elem_id`` (a table for several inputs, buttons for one)."""
    first = page.locator(f"#{elem_id} tr.tr-body, #{elem_id} button.gallery-item").first
    first.wait_for(state="visible", timeout=60_000)
    first.click()
