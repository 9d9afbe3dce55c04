"""Style-transfer Space (Gradio): image and audio tabs; all logic lives in hfmech.style.space."""

from hfmech.style.space import build_demo
from hfmech.ui import launch_kwargs

demo = build_demo()

if __name__ == "__main__":
    demo.launch(**launch_kwargs())
