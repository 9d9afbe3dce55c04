"""Melody VAE Space (Gradio): all logic lives in hfmech.melody.space."""

from hfmech.melody.space import build_demo
from hfmech.ui import launch_kwargs

demo = build_demo()

if __name__ == "__main__":
    demo.launch(**launch_kwargs())
