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
