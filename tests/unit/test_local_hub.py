"""The local Hub lookalike (tests/hub_server.py) speaks enough of the Hub for huggingface_hub and transformers."""

import os
import re
from pathlib import Path

import pytest
import torch
import transformers
from hub_server import LocalHub, git_oid
from huggingface_hub import (
    CommitOperationAdd,
    CommitOperationDelete,
    HfApi,
    constants,
    hf_hub_download,
    snapshot_download,
)
from huggingface_hub.errors import (
    EntryNotFoundError,
    HfHubHTTPError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)
from huggingface_hub.utils import get_session

TOKEN = "hf_test"
README = "---\nlicense: mit\nlibrary_name: transformers\npipeline_tag: image-classification\n---\n# tiny\n"


def tiny_resnet() -> transformers.ResNetForImageClassification:
    torch.manual_seed(0)
    config = transformers.ResNetConfig(
        num_channels=3, embedding_size=8, hidden_sizes=[8, 16], depths=[1, 1], num_labels=3
    )
    return transformers.ResNetForImageClassification(config).eval()


def local_files(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def test_environment_points_at_local_hub(local_hub):
    assert "HF_HUB_OFFLINE" not in os.environ and constants.HF_HUB_OFFLINE is False
    assert constants.ENDPOINT == local_hub.url == os.environ["HF_ENDPOINT"]
    assert os.environ["HF_HOME"] == constants.HF_HOME and "hfmech-test-hf-home-" in constants.HF_HOME
    assert HfApi().whoami(token=TOKEN)["name"] == "local-user"


def test_push_download_load_roundtrip(local_hub, tmp_path):
    api = HfApi(token=TOKEN)
    model = tiny_resnet()
    folder = tmp_path / "tiny"
    model.save_pretrained(folder)
    (folder / "README.md").write_text(README)

    repo_url = api.create_repo("org/tiny")
    assert repo_url.repo_id == "org/tiny" and repo_url.repo_type == "model"
    api.create_repo("org/tiny", exist_ok=True)
    with pytest.raises(HfHubHTTPError) as excinfo:
        api.create_repo("org/tiny")
    assert excinfo.value.response.status_code == 409

    first = api.upload_folder(repo_id="org/tiny", folder_path=folder, commit_message="add model")
    assert re.fullmatch(r"[0-9a-f]{40}", first.oid)
    info = api.model_info("org/tiny")
    assert info.id == "org/tiny" and info.sha == first.oid and info.private is False
    expected = local_files(folder)
    assert {s.rfilename for s in info.siblings} == {*expected, ".gitattributes"}
    assert sorted(api.list_repo_files("org/tiny")) == sorted({*expected, ".gitattributes"})

    snapshot = Path(snapshot_download("org/tiny"))
    assert snapshot.name == first.oid
    downloaded = local_files(snapshot)
    assert downloaded.pop(".gitattributes").startswith(b"*.")
    assert downloaded == expected

    loaded = transformers.AutoModelForImageClassification.from_pretrained("org/tiny")
    assert type(loaded) is type(model) and not loaded.training
    pixels = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(loaded(pixels).logits, model(pixels).logits, rtol=0, atol=0)

    # A second commit moves main; the first commit's sha still resolves the old content.
    second = api.upload_file(
        path_or_fileobj=README.replace("# tiny", "# tiny v2").encode(),
        path_in_repo="README.md",
        repo_id="org/tiny",
    )
    assert second.oid != first.oid and api.model_info("org/tiny").sha == second.oid
    assert "# tiny v2" in Path(hf_hub_download("org/tiny", "README.md")).read_text()
    assert Path(hf_hub_download("org/tiny", "README.md", revision=first.oid)).read_text() == README
    assert api.model_info("org/tiny", revision=first.oid).sha == first.oid

    # Unchanged files are skipped (preupload returns their oid); deletions work.
    third = api.create_commit(
        "org/tiny",
        [
            CommitOperationAdd("config.json", (folder / "config.json").read_bytes()),
            CommitOperationDelete("README.md"),
        ],
        commit_message="drop card",
    )
    assert "README.md" not in api.list_repo_files("org/tiny")
    same = (folder / "config.json").read_bytes()
    assert (
        api.upload_file(path_or_fileobj=same, path_in_repo="config.json", repo_id="org/tiny").oid == third.oid
    )
    with pytest.raises(EntryNotFoundError):
        hf_hub_download("org/tiny", "README.md", revision=third.oid)
    commits = api.list_repo_commits("org/tiny")
    assert [c.commit_id for c in commits[:3]] == [third.oid, second.oid, first.oid] and len(commits) == 4

    # transformers' own push path goes through the same endpoints.
    model.push_to_hub("org/tiny-pushed", token=TOKEN)
    again = transformers.AutoModelForImageClassification.from_pretrained("org/tiny-pushed")
    with torch.no_grad():
        torch.testing.assert_close(again(pixels).logits, model(pixels).logits, rtol=0, atol=0)


def test_errors_map_to_hub_exceptions(local_hub):
    local_hub.create_repo("org/errors")
    local_hub.commit("org/errors", {"a.txt": b"a"}, message="a")
    with pytest.raises(RepositoryNotFoundError):
        HfApi().model_info("org/missing")
    with pytest.raises(RepositoryNotFoundError):
        hf_hub_download("org/missing", "config.json")
    with pytest.raises(EntryNotFoundError):
        hf_hub_download("org/errors", "missing.json")
    with pytest.raises(RevisionNotFoundError):
        hf_hub_download("org/errors", "a.txt", revision="no-such-branch")
    with pytest.raises(HfHubHTTPError) as excinfo:  # writes need a token (HF_TOKEN is unset by conftest)
        HfApi().create_repo("org/anonymous")
    assert excinfo.value.response.status_code == 401
    assert not HfApi().file_exists("org/errors", "missing.json")
    assert not HfApi().repo_exists("org/missing")


def test_resolve_headers_and_ranges(local_hub):
    local_hub.create_repo("org/raw")
    sha = local_hub.commit("org/raw", {"dir/data.bin": bytes(range(100))})
    url = f"{local_hub.url}/org/raw/resolve/main/dir/data.bin"
    head = get_session().head(url)
    assert head.status_code == 200 and head.headers["X-Repo-Commit"] == sha
    assert (
        head.headers["ETag"] == f'"{git_oid(bytes(range(100)))}"' and head.headers["Content-Length"] == "100"
    )
    part = get_session().get(url, headers={"Range": "bytes=10-19"})
    assert part.status_code == 206 and part.content == bytes(range(10, 20))
    assert part.headers["Content-Range"] == "bytes 10-19/100"
    assert get_session().get(url, headers={"Range": "bytes=-5"}).content == bytes(range(95, 100))
    assert get_session().get(url, headers={"Range": "bytes=200-"}).status_code == 416
    missing = get_session().head(f"{local_hub.url}/org/raw/resolve/main/nope")
    assert missing.status_code == 404 and missing.headers["X-Error-Code"] == "EntryNotFound"
    tree = sorted((type(e).__name__, e.path) for e in HfApi().list_repo_tree("org/raw"))
    assert tree == [("RepoFile", ".gitattributes"), ("RepoFolder", "dir")]
    infos = HfApi().get_paths_info("org/raw", ["dir", "dir/data.bin", "nope"])
    assert [(type(e).__name__, e.path) for e in infos] == [
        ("RepoFolder", "dir"),
        ("RepoFile", "dir/data.bin"),
    ]


def test_standalone_server_context_manager(tmp_path):
    with LocalHub() as hub:
        api = HfApi(endpoint=hub.url, token=TOKEN)
        api.create_repo("org/solo", private=True)
        api.upload_file(path_or_fileobj=b"hello", path_in_repo="hello.txt", repo_id="org/solo")
        path = hf_hub_download("org/solo", "hello.txt", endpoint=hub.url, token=TOKEN, cache_dir=tmp_path)
        assert Path(path).read_bytes() == b"hello"
        with pytest.raises(RepositoryNotFoundError):  # private: invisible without a token
            HfApi(endpoint=hub.url).model_info("org/solo", token=False)
        url = hub.url
    with pytest.raises(Exception):  # noqa: B017 - any connection error
        get_session().get(f"{url}/api/whoami-v2", timeout=2)
