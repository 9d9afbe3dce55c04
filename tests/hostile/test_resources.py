"""Peak memory of the worst input each pipeline *accepts* (at its bounds, docs/limits.md), measured in a fresh
process (``VmHWM``) so that nothing else in the test session counts. The models are the hostile corpus's tiny ones:
what is measured is the pipeline's own work at its bounds (decoded images, tensors, spectrograms, traces), which is
what the bounds exist to cap. A bound removed or raised tenfold breaks these caps.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent

#: task -> (the child's code: builds a tiny model, runs the worst accepted input; cap in MiB)
CASES = {
    # 4096 x 4096 = DEFAULT_MAX_PIXELS, one octave, one tiled step
    "deep-dream": (
        """
        import numpy as np
        from PIL import Image
        from hfmech.dream import DeepDreamPipeline
        image = Image.fromarray(np.random.default_rng(0).integers(0, 255, (4096, 4096, 3), dtype=np.uint8))
        out = DeepDreamPipeline(model=conftest.tiny_effnet())(image, octaves=1, steps=1, tile_size=512, seed=0,
                                                               progress=False)
        assert out.image.size == (4096, 4096)
        """,
        3072,
    ),
    # the largest output side accepted (MAX_SIDE) with the tiny random VGG, one evaluation per scale
    "style-transfer": (
        """
        import numpy as np
        from PIL import Image
        from hfmech.style import StyleTransferPipeline
        from hfmech.style.pipeline_style_transfer import MAX_SIDE
        rng = np.random.default_rng(0)
        content = Image.fromarray(rng.integers(0, 255, (MAX_SIDE, MAX_SIDE, 3), dtype=np.uint8))
        style = Image.fromarray(rng.integers(0, 255, (512, 512, 3), dtype=np.uint8))
        pipe = StyleTransferPipeline(model=conftest.tiny_vgg())
        out = pipe(content, style=style, size=MAX_SIDE, scales=[MAX_SIDE], steps=1, seed=0, progress=False)
        assert max(out.image.size) == MAX_SIDE
        """,
        8192,
    ),
    # the longest audio accepted (MAX_SECONDS) with the tiny conv, one L-BFGS step, Griffin-Lim 1 round
    "audio-style-transfer": (
        """
        import numpy as np
        from hfmech.style import AudioStyleTransferPipeline
        from hfmech.style.pipeline_audio_style_transfer import MAX_SECONDS
        sr = conftest.AUDIO_SR
        t = np.arange(int(MAX_SECONDS * sr)) / sr
        audio = (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
        pipe = AudioStyleTransferPipeline(model=conftest.tiny_audio())
        out = pipe((audio, sr), style=(audio[: sr * 5], sr), steps=1, griffin_lim_iters=1, max_seconds=MAX_SECONDS,
                   seed=0, progress=False)
        assert len(out.audio) == len(audio)
        """,
        3072,
    ),
    # topn far beyond the vocabulary: clamped before anything is allocated
    "word-analogy": (
        """
        from hfmech.analogy import WordAnalogyPipeline
        out = WordAnalogyPipeline(model=conftest.tiny_word_vectors())("man:king::woman:?", topn=10**12)
        assert len(out) <= len(conftest.WORDS)
        """,
        1536,
    ),
    # the longest review the byte mLSTM reads (MLSTM_MAX_READ_BYTES), with its per-character trace
    "sentiment-neuron": (
        """
        from hfmech.sentiment import SentimentNeuronPipeline
        from hfmech.sentiment.pipeline_sentiment_neuron import MLSTM_MAX_READ_BYTES
        text = ("A fine film with a plot. " * (MLSTM_MAX_READ_BYTES // 25 + 1))[:MLSTM_MAX_READ_BYTES]
        out = SentimentNeuronPipeline(model=conftest.tiny_mlstm())(text, return_trace=True)
        assert len(out["trace"]) >= len(text) // 2 and out["label"] is not None
        """,
        2048,
    ),
    # the most points a drawing may have (MAX_INPUT_POINTS), reconstructed
    "sketch-vae": (
        """
        import numpy as np
        from hfmech.sketch import SketchVAEPipeline
        from hfmech.sketch.strokes import MAX_INPUT_POINTS
        rng = np.random.default_rng(0)
        drawing = np.zeros((MAX_INPUT_POINTS, 3), dtype=np.float32)
        drawing[:, :2] = rng.normal(size=(MAX_INPUT_POINTS, 2))
        drawing[99::100, 2] = 1
        model = conftest.tiny_sketch_rnn()
        model.config.max_seq_len = 250  # magenta's default: what a real model reads
        out = SketchVAEPipeline(model=model)(drawing, seed=0)
        assert out is not None
        """,
        2048,
    ),
    # the longest melody accepted (MAX_BARS), every window encoded and decoded
    "melody-vae": (
        """
        import numpy as np
        from hfmech.melody import MelodyVAEPipeline
        from hfmech.melody.io import MAX_BARS
        events = np.full(MAX_BARS * 16, -2, dtype=np.int64)
        events[::4] = 60 + (np.arange(MAX_BARS * 4) % 12)
        out = MelodyVAEPipeline(model=conftest.tiny_music_vae())(events, seed=0)
        assert len(out.events) > 0
        """,
        2048,
    ),
    # the largest canvas accepted (MAX_SIZE) and the most views, one step
    "perception-engine": (
        """
        from hfmech.perception import PerceptionEnginePipeline
        from hfmech.perception.pipeline_perception_engine import MAX_SIZE
        pipe = PerceptionEnginePipeline(model=conftest.tiny_ensemble())
        out = pipe("hammerhead", size=MAX_SIZE, views=8, steps=1, init_candidates=1, seed=0, progress=False)
        assert out.image.size == (MAX_SIZE, MAX_SIZE)
        """,
        3072,
    ),
}

CHILD = """
import importlib.util, json, sys
sys.path.insert(0, {tests!r})
import torch
torch.set_num_threads(1)
spec = importlib.util.spec_from_file_location("hostile_conftest", {conftest!r})
conftest = importlib.util.module_from_spec(spec)
spec.loader.exec_module(conftest)
{body}
for line in open("/proc/self/status"):
    if line.startswith("VmHWM:"):
        print("PEAK_RSS_MIB " + json.dumps(int(line.split()[1]) / 1024))
"""


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="VmHWM needs Linux /proc")
@pytest.mark.parametrize("task", sorted(CASES))
def test_worst_accepted_input_stays_under_its_memory_cap(task):
    body, cap_mib = CASES[task]
    code = CHILD.format(
        tests=str(HERE.parent), conftest=str(HERE / "conftest.py"), body=textwrap.dedent(body)
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    peak = json.loads(done.stdout.split("PEAK_RSS_MIB ")[-1])
    print(f"{task}: peak RSS {peak:.0f} MiB (cap {cap_mib} MiB)")
    assert peak < cap_mib
