"""``hfmech serve``: one Gradio app with a tab per available mechanism (each tab is that mechanism's Space)."""

from __future__ import annotations

import gradio as gr

#: Per-upload limit for every app hfmech launches (Spaces and ``hfmech serve``).
MAX_UPLOAD = "20mb"


def launch_kwargs() -> dict:
    return {"max_file_size": MAX_UPLOAD}


def mechanism_demos() -> list[tuple[str, gr.Blocks]]:
    from .analogy.space import build_demo as build_analogy
    from .dream.space import build_demo as build_dream
    from .perception.space import build_demo as build_perception
    from .sentiment.space import build_demo as build_sentiment
    from .style.space import build_demo as build_style

    return [
        ("DeepDream", build_dream()),
        ("Style transfer", build_style()),
        ("Sentiment neuron", build_sentiment()),
        ("Word analogy", build_analogy()),
        ("Perception Engine", build_perception()),
    ]


def build_app() -> gr.Blocks:
    demos = mechanism_demos()
    with gr.Blocks(title="hfmech") as app:
        gr.Markdown("# hfmech — creative mechanisms of deep networks")
        for title, demo in demos:
            with gr.Tab(title):
                demo.render()
    return app
