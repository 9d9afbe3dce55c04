"""Upload a Space folder (``spaces/<name>/``) to the Hub as a Gradio Space: ``hfmech space push NAME --repo ORG/NAME``.

A Space folder is complete when it holds ``README.md`` (YAML front matter with ``sdk`` and ``app_file``), the app file
and ``requirements.txt``; every local file that ``requirements.txt`` names (hfmech's wheel, built into the folder by
``make wheel``) must be there too, or the Space builder would fail long after the upload. Only the folder's own files
are uploaded (no ``__pycache__``, no ``.gradio`` example cache).
"""

from __future__ import annotations

import re
from pathlib import Path

from ..errors import HfmechError

#: What is never uploaded from a Space folder.
IGNORE = ["__pycache__", "__pycache__/*", "*.pyc", ".gradio", ".gradio/*", ".gitignore", ".DS_Store"]


class SpaceFolderError(HfmechError, ValueError):
    """A Space folder is missing or incomplete (no README YAML, app file, requirements, or a wheel they name)."""


def find_space_folder(name: str | Path, root: str | Path | None = None) -> Path:
    """``name`` as a folder path, else ``<root or cwd>/spaces/<name>``."""
    given = Path(name)
    if given.is_dir():
        return given.resolve()
    candidate = Path(root or Path.cwd()) / "spaces" / str(name)
    if candidate.is_dir():
        return candidate.resolve()
    raise SpaceFolderError(f"no Space folder {str(name)!r} (looked for {given} and {candidate})")


def front_matter(readme: Path) -> dict[str, str]:
    """The top-level ``key: value`` pairs of a README's YAML front matter (enough to check a Space's metadata)."""
    text = readme.read_text(encoding="utf-8")
    match = re.match(r"^---\s*\n(.*?)\n---\s*(\n|$)", text, re.S)
    if not match:
        raise SpaceFolderError(f"{readme} has no YAML front matter (--- ... ---)")
    values = {}
    for line in match.group(1).splitlines():
        m = re.match(r"^([A-Za-z_][\w-]*):\s*(.*)$", line)
        if m:
            values[m.group(1)] = m.group(2).strip().strip("'\"")
    return values


def local_requirements(requirements: Path) -> list[str]:
    """The local files ``requirements.txt`` installs (lines starting with ``./``, extras stripped)."""
    files = []
    for line in requirements.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line.startswith("./"):
            files.append(re.sub(r"\[.*\]$", "", line.split(";")[0].strip())[2:])
    return files


def check_space_folder(folder: str | Path) -> dict[str, str]:
    """Check ``folder`` is a complete Gradio Space; returns its README metadata."""
    folder = Path(folder)
    readme = folder / "README.md"
    if not readme.is_file():
        raise SpaceFolderError(f"{folder} has no README.md (the Space's metadata)")
    meta = front_matter(readme)
    for key in ("sdk", "app_file"):
        if not meta.get(key):
            raise SpaceFolderError(f"{readme}: the YAML front matter has no {key!r}")
    if not (folder / meta["app_file"]).is_file():
        raise SpaceFolderError(f"{folder} has no {meta['app_file']} (app_file in README.md)")
    requirements = folder / "requirements.txt"
    if not requirements.is_file():
        raise SpaceFolderError(f"{folder} has no requirements.txt")
    missing = [f for f in local_requirements(requirements) if not (folder / f).is_file()]
    if missing:
        raise SpaceFolderError(
            f"{requirements} installs {', '.join(missing)}, which is not in the folder: run `make wheel` first"
        )
    return meta


def push_space(
    name: str | Path,
    repo_id: str,
    *,
    token: str | None = None,
    private: bool = False,
    commit_message: str | None = None,
    endpoint: str | None = None,
    root: str | Path | None = None,
) -> str:
    """Check the Space folder ``name`` and upload it to the Space repo ``repo_id``; returns the repo URL."""
    from huggingface_hub import HfApi

    folder = find_space_folder(name, root)
    meta = check_space_folder(folder)
    api = HfApi(endpoint=endpoint, token=token)
    url = api.create_repo(repo_id, repo_type="space", space_sdk=meta["sdk"], private=private, exist_ok=True)
    api.upload_folder(
        folder_path=str(folder),
        repo_id=repo_id,
        repo_type="space",
        commit_message=commit_message or f"Upload the {folder.name} Space (hfmech space push)",
        ignore_patterns=IGNORE,
    )
    return str(url)


__all__ = ["SpaceFolderError", "check_space_folder", "find_space_folder", "front_matter", "push_space"]
