"""The Space folders are complete Hugging Face Spaces, and ``hfmech space push`` uploads one to the local Hub
(tests/hub_server.py) as a Space repo: README metadata, app.py, requirements.txt naming the wheel ``make wheel`` puts
there; a folder without that wheel is refused before anything is uploaded."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import hfmech
from hfmech.cli import main
from hfmech.hub.spaces import SpaceFolderError, check_space_folder, local_requirements, push_space

REPO_ROOT = Path(__file__).resolve().parents[2]
SPACES = [m.space for m in hfmech.MECHANISMS]  # every mechanism's Space folder
TOKEN = "hf_test"


def _with_wheel(tmp_path: Path, name: str) -> Path:
    """A copy of spaces/<name> with a stand-in for the wheel its requirements.txt installs."""
    folder = tmp_path / name
    shutil.copytree(
        REPO_ROOT / "spaces" / name, folder, ignore=shutil.ignore_patterns("*.whl", "__pycache__")
    )
    for wheel in local_requirements(folder / "requirements.txt"):
        (folder / wheel).write_bytes(b"PK\x05\x06" + b"\0" * 18)  # an empty zip
    (folder / "__pycache__").mkdir()
    (folder / "__pycache__" / "app.cpython-311.pyc").write_bytes(b"junk")
    return folder


@pytest.mark.parametrize("name", SPACES)
def test_space_folder_is_complete(name, tmp_path):
    folder = REPO_ROOT / "spaces" / name
    readme = (folder / "README.md").read_text()
    for needed in ("sdk: gradio", "app_file: app.py", "## Use it from Python", "gradio_client", "seconds"):
        assert needed in readme, f"spaces/{name}/README.md lacks {needed!r}"
    wheels = local_requirements(folder / "requirements.txt")
    assert wheels and all(w.startswith("hfmech-") and w.endswith(".whl") for w in wheels)
    assert "build_demo" in (folder / "app.py").read_text()
    meta = check_space_folder(_with_wheel(tmp_path, name))
    assert meta["sdk"] == "gradio"


def test_a_folder_without_its_wheel_is_refused(tmp_path):
    folder = tmp_path / "deepdream"
    shutil.copytree(REPO_ROOT / "spaces" / "deepdream", folder, ignore=shutil.ignore_patterns("*.whl"))
    with pytest.raises(SpaceFolderError, match="make wheel"):
        push_space(folder, "org/deepdream", token=TOKEN)
    assert main(["space", "push", str(folder), "--repo", "org/deepdream", "--token", TOKEN]) == 2


def test_push_uploads_the_space(local_hub, tmp_path, capsys):
    from huggingface_hub import HfApi, snapshot_download

    folder = _with_wheel(tmp_path, "word-analogy")
    assert main(["space", "push", str(folder), "--repo", "org/word-analogy", "--token", TOKEN]) == 0
    assert "org/word-analogy" in capsys.readouterr().out
    api = HfApi(token=TOKEN)
    files = set(api.list_repo_files("org/word-analogy", repo_type="space"))
    expected = {"README.md", "app.py", "requirements.txt", *local_requirements(folder / "requirements.txt")}
    assert expected <= files
    assert not any("__pycache__" in f or f.endswith(".pyc") for f in files)
    local = Path(snapshot_download("org/word-analogy", repo_type="space", local_dir=tmp_path / "download"))
    for name in ("README.md", "app.py", "requirements.txt"):
        assert (local / name).read_bytes() == (folder / name).read_bytes()

    # a second push of a changed folder updates the same repo
    (folder / "app.py").write_text((folder / "app.py").read_text() + "\n# changed\n")
    url = push_space(folder, "org/word-analogy", token=TOKEN)
    assert "word-analogy" in url
    again = Path(snapshot_download("org/word-analogy", repo_type="space", local_dir=tmp_path / "again"))
    assert (again / "app.py").read_text().endswith("# changed\n")


def test_push_by_name_from_the_repository_root(local_hub, tmp_path, monkeypatch):
    root = tmp_path / "checkout"
    (root / "spaces").mkdir(parents=True)
    _with_wheel(root / "spaces", "deepdream")
    monkeypatch.chdir(root)
    push_space("deepdream", "org/deepdream", token=TOKEN)
    from huggingface_hub import HfApi

    assert "app.py" in HfApi(token=TOKEN).list_repo_files("org/deepdream", repo_type="space")
