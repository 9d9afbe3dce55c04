"""``convert_openai`` at the released size: 4096 units, 64-d embedding, the 15 ``model/*.npy`` files with their
exact shapes (330 MB of random float32 written to a temporary folder), converted and compared with the numpy
transcription of encoder.py (tests/openai_encoder_reference.py): ``transform`` (final cell states with its default
nbatch=128, nsteps=64), ``cell_transform`` on unit 2388 and the logits, to 1e-5. Peak memory measured 2.4 GiB (RSS); the same checks at H = 48 are in tests/unit/test_convert_openai.py.
"""

from __future__ import annotations

import gc

import numpy as np
import pytest
from openai_encoder_reference import Encoder, load_params, preprocess, random_openai_files

pytestmark = pytest.mark.integration

H = 4096
TEXTS = [
    "This movie was a complete waste of time.",
    "I <b>loved</b> it &amp; would watch it again!",
    "A long review that goes on and on, " * 3 + "and ends well.",  # over 64 bytes: two encoder.py chunks
]


def test_released_layout_converts_and_matches_encoder_py(tmp_path):
    import torch

    from hfmech.sentiment.convert_openai import OPENAI_SENTIMENT_UNIT, convert_openai

    torch.manual_seed(0)
    folder = tmp_path / "model"
    random_openai_files(folder, H, seed=2388)
    gc.collect()
    sizes = {int(p.stem): p.stat().st_size for p in folder.glob("*.npy")}
    assert sorted(sizes) == list(range(15)) and sum(sizes.values()) > 320e6
    model = convert_openai(folder)
    assert model.config.hidden_size == H and model.config.embed_size == 64
    assert model.config.sentiment_unit == OPENAI_SENTIMENT_UNIT == 2388
    ours = model.featurize(TEXTS, state="c", precision="float32")
    short = TEXTS[:2]
    trace = [model.trace(t, unit=OPENAI_SENTIMENT_UNIT, precision="float32") for t in short]
    data = preprocess(TEXTS[0])
    with torch.no_grad():
        logits = model(model._ids(data).unsqueeze(0)).logits[0].numpy()
    del model
    gc.collect()

    enc = Encoder(load_params(folder))  # float64, encoder.py's defaults nbatch=128, nsteps=64
    np.testing.assert_allclose(ours, enc.transform(TEXTS), rtol=0, atol=1e-5)
    cells = enc.cell_transform(short)[:, :, OPENAI_SENTIMENT_UNIT]
    for i, text in enumerate(short):
        n = len(preprocess(text))
        np.testing.assert_allclose(trace[i], cells[i, 64 - n :], rtol=0, atol=1e-5)
    np.testing.assert_allclose(logits, enc.logits(data), rtol=0, atol=1e-5)
