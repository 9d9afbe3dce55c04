"""``hfmech serve``: one Gradio app with a tab per mechanism (each tab is that mechanism's Space)."""

from __future__ import annotations

import gradio as gr

from .mechanisms import MECHANISMS
from .ui import launch_kwargs, queue_kwargs

__all__ = ["build_app", "launch_kwargs", "mechanism_demos"]


def mechanism_demos() -> list[tuple[str, gr.Blocks]]:
    """``(tab title, Blocks)`` for every mechanism, in :data:`hfmech.MECHANISMS` order."""
    return [(mechanism.title, mechanism.build_demo()) for mechanism in MECHANISMS]


def build_app() -> gr.Blocks:
    demos = mechanism_demos()
    with gr.Blocks(title="hfmech") as app:
        gr.Markdown("# hfmech — creative mechanisms of deep networks")
        for title, demo in demos:
            with gr.Tab(title):
                demo.render()
    return app.queue(**queue_kwargs())  # bounded queue, one run per event at a time (as each Space)
