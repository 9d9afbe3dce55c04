"""A direct ``Model.from_pretrained(folder)`` (and ``AutoModel``) is verified like a pipeline load."""

from __future__ import annotations

import pytest
from tiny_models import tiny_effnet
from transformers import AutoModel

from hfmech.errors import HfmechError, WeightsError
from hfmech.vision.modeling_efficientnet_lite import EfficientNetLiteForImageClassification


def _rename_in_header(path, old: str, new: str) -> None:
    data = bytearray(path.read_bytes())
    n = int.from_bytes(data[:8], "little")
    header = data[8 : 8 + n].decode()
    assert old in header
    data[8 : 8 + n] = header.replace(old, new, 1).encode()
    path.write_bytes(bytes(data))


def test_clean_folder_loads_exactly(tmp_path):
    model = tiny_effnet()
    model.save_pretrained(tmp_path)
    loaded = EfficientNetLiteForImageClassification.from_pretrained(tmp_path)
    for (name, a), (_, b) in zip(model.state_dict().items(), loaded.state_dict().items()):
        assert a.equal(b), name


@pytest.mark.parametrize(
    "loader", [EfficientNetLiteForImageClassification.from_pretrained, AutoModel.from_pretrained]
)
def test_renamed_tensor_is_an_error_not_a_random_weight(tmp_path, loader):
    tiny_effnet().save_pretrained(tmp_path)
    _rename_in_header(tmp_path / "model.safetensors", "stem.conv.weight", "stem.conv.weighz")
    with pytest.raises(WeightsError, match="stem.conv.weighz") as info:
        loader(tmp_path)
    assert isinstance(info.value, HfmechError) and "model.safetensors" in str(info.value)
