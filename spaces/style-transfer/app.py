"""Style-transfer Space (Gradio): image and audio tabs; all logic lives in hfmech.style.space."""

from hfmech.serve import launch_kwargs
from hfmech.style.space import build_demo

demo = build_demo()

if __name__ == "__main__":
    demo.launch(**launch_kwargs())
