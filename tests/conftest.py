"""Shared test setup.

``huggingface_hub`` reads ``HF_ENDPOINT``/``HF_HUB_OFFLINE``/``HF_HOME`` once, at import, so they are set here,
before anything imports it: the endpoint is a local Hub lookalike (``tests/hub_server.py``, started on demand by
the ``local_hub`` fixture), the cache is a fresh temp dir, and the suite never reaches huggingface.co.
"""

import atexit
import os
import shutil
import socket
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent

with socket.socket() as _sock:
    _sock.bind(("127.0.0.1", 0))
    HUB_PORT = _sock.getsockname()[1]
_HF_HOME = tempfile.mkdtemp(prefix="hfmech-test-hf-home-")
atexit.register(shutil.rmtree, _HF_HOME, ignore_errors=True)

# A user's cache/token/offline settings would override HF_HOME or bypass the local Hub. HF_HUB_DISABLE_XET is not
# needed: the local Hub never advertises Xet (see tests/hub_server.py).
_UNSET = (
    "HF_HUB_CACHE HUGGINGFACE_HUB_CACHE HF_XET_CACHE HF_ASSETS_CACHE HF_TOKEN HF_TOKEN_PATH HF_HUB_OFFLINE"
)
for _name in [*_UNSET.split(), "TRANSFORMERS_OFFLINE", "TRANSFORMERS_CACHE"]:
    os.environ.pop(_name, None)
os.environ["HF_ENDPOINT"] = f"http://127.0.0.1:{HUB_PORT}"
os.environ["HF_HOME"] = _HF_HOME
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
os.environ.setdefault("HFMECH_CACHE", str(REPO_ROOT / ".cache" / "hfmech-test"))

import pytest  # noqa: E402

# pytest puts tests/ (this conftest's folder, no __init__.py) on sys.path.
from hub_server import LocalHub  # noqa: E402
from tiny_models import TINY_DREAM_CARD, tiny_effnet  # noqa: E402


@pytest.fixture(scope="session")
def local_hub():
    """The local Hub on ``$HF_ENDPOINT``; write calls need any token (``token="hf_test"``)."""
    from huggingface_hub import constants

    if f"http://127.0.0.1:{HUB_PORT}" != constants.ENDPOINT:
        raise RuntimeError("huggingface_hub was imported before tests/conftest.py set HF_ENDPOINT")
    with LocalHub(port=HUB_PORT) as hub:
        yield hub


@pytest.fixture
def shared_dir() -> Path:
    """``<repo root>/../shared`` (zoo data, design notes); skips the test when absent."""
    path = REPO_ROOT.parent / "shared"
    if not path.is_dir():
        pytest.skip(f"{path} not found")
    return path


class TinyZoo(list):
    """The zoo entry :func:`tiny_zoo` registers: ``name``, and one item per build (the folders built)."""

    name = "tiny-dream"


@pytest.fixture
def tiny_zoo(tmp_path, monkeypatch):
    """A zoo entry ``tiny-dream`` building :func:`tiny_effnet`, with its own card template directory and cache."""
    from hfmech.hub import cards, zoo

    templates = tmp_path / "cards"
    templates.mkdir()
    (templates / "tiny-dream.md").write_text(TINY_DREAM_CARD)
    monkeypatch.setattr(cards, "card_template_dir", lambda: templates)
    monkeypatch.setenv("HFMECH_CACHE", str(tmp_path / "cache"))
    builds = TinyZoo()

    @zoo.register("tiny-dream", card="tiny-dream.md", task="deep-dream", description="tiny test model")
    def build_tiny(out_dir):
        model = tiny_effnet()
        model.save_pretrained(out_dir)
        builds.append(out_dir)
        return {"num_parameters": sum(p.numel() for p in model.parameters())}

    yield builds
    zoo._ZOO.pop("tiny-dream", None)
