"""Helpers shared by the Space UI tests (tests/ui): serve a ``gr.Blocks`` on a free local port; headless Chromium."""

from __future__ import annotations

import socket

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
    from hfmech.serve import launch_kwargs

    port = free_port()
    blocks.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, **launch_kwargs())
    return f"http://127.0.0.1:{port}/"
