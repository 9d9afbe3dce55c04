"""``convert_openai`` end to end: a random tensor set in exactly the released ``model/*.npy`` layout, converted, and
compared with an independent numpy transcription of OpenAI's encoder.py (tests/openai_encoder_reference.py):
``preprocess``, ``transform`` (sorting, ``batch_pad`` masks, ``nsteps`` chunks, batches), ``cell_transform`` and the
logits. The full-size check (H = 4096, the released shapes) is tests/integration/test_convert_openai_full_size.py;
here H = 48 and small ``nsteps``/``nbatch`` so that every branch of ``transform`` runs.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from openai_encoder_reference import Encoder, load_params, preprocess, random_openai_files

from hfmech.sentiment.convert_openai import OPENAI_SENTIMENT_UNIT, OpenAIWeightsError, convert_openai
from hfmech.sentiment.modeling_mlstm import MLSTMForByteLM
from hfmech.sentiment.preprocessing import preprocess as hfmech_preprocess

H = 48  # not 64: wmx (64, H) and wmh (H, H) would share a shape
TEXTS = [
    "I loved it &amp; would watch again.",
    "  Worst.\nFilm.\nEver.  ",
    "<b>Great</b> acting — très bien 😀",
    "",
    "A long review that goes on, " * 6 + "and ends well.",
    "ok",
]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    path = tmp_path_factory.mktemp("openai") / "model"
    random_openai_files(path, H, seed=11)
    return path


def test_preprocessing_is_encoder_pys(folder):
    for text in TEXTS:
        assert hfmech_preprocess(text) == preprocess(text)


def test_file_layout_is_the_released_one(folder):
    names = sorted(p.name for p in folder.iterdir())
    assert names == sorted(f"{i}.npy" for i in range(15))
    params = load_params(folder)
    assert [a.shape for a in params] == [
        (256, 64), (64, 4 * H), (H, 4 * H), (64, H), (H, H), (4 * H,),
        (4 * H,), (4 * H,), (H,), (H,), (H, 256), (256,),
    ]  # fmt: skip


def test_converted_model_matches_encoder_py(folder, tmp_path):
    model = convert_openai(folder)
    assert (
        isinstance(model, MLSTMForByteLM) and model.config.hidden_size == H and model.config.embed_size == 64
    )
    assert model.config.sentiment_unit is None  # 2388 only exists in the 4096-unit model
    enc = Encoder(load_params(folder), nbatch=3, nsteps=16)
    features = enc.transform(TEXTS)  # 3 texts a batch, 16 bytes a step: sorting, offsets, masks all used
    np.testing.assert_allclose(model.featurize(TEXTS, state="c", precision="float32"), features, atol=1e-5)
    short = [t for t in TEXTS if len(preprocess(t)) <= 16]
    cells = enc.cell_transform(short)
    for i, text in enumerate(short):
        n = len(preprocess(text))
        np.testing.assert_allclose(model.trace(text, precision="float32"), cells[i, 16 - n :], atol=1e-5)
        assert np.all(cells[i, : 16 - n] == 0)  # the masked padding never moved the state
    for text in TEXTS[:3]:
        data = preprocess(text)
        logits = model(model._ids(data).unsqueeze(0)).logits[0].detach().numpy()
        np.testing.assert_allclose(logits, enc.logits(data), atol=1e-5)
    # the command line writes a folder that loads back to the same model
    out = tmp_path / "converted"
    run = subprocess.run(
        [sys.executable, "-m", "hfmech.sentiment.convert_openai", str(folder), str(out)],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr
    loaded = MLSTMForByteLM.from_pretrained(out)
    np.testing.assert_allclose(loaded.featurize(TEXTS, state="c", precision="float32"), features, atol=1e-5)


def test_a_wrongly_ordered_file_set_is_refused_not_misread(folder, tmp_path):
    """Files with a shape of their own are checked by shape; wh's four blocks and wmh (all (H, H)) are told apart
    only by the result, so a swapped block must change it."""
    swapped = tmp_path / "swapped"
    swapped.mkdir()
    for i in range(15):
        (swapped / f"{i}.npy").write_bytes((folder / f"{ {6: 7, 7: 6}.get(i, i) }.npy").read_bytes())
    with pytest.raises(OpenAIWeightsError, match="wmx"):
        convert_openai(swapped)
    blocks = tmp_path / "blocks"
    blocks.mkdir()
    for i in range(15):
        j = {2: 3, 3: 2}.get(i, i)
        (blocks / f"{i}.npy").write_bytes((folder / f"{j}.npy").read_bytes())
    a = convert_openai(folder).featurize(["block order"], precision="float32")
    b = convert_openai(blocks).featurize(["block order"], precision="float32")
    assert not np.allclose(
        a, b, atol=1e-3
    )  # the converter uses encoder.py's block order, so the test can fail


def test_the_known_unit_is_set_for_the_released_size():
    assert OPENAI_SENTIMENT_UNIT == 2388
