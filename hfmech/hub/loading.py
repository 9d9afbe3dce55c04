"""Loading pipelines by zoo name, local folder or Hub id (with a small in-process cache for apps and the CLI).

Every model goes through one path: the folder (a zoo build, a local folder, or a Hub snapshot downloaded without
pickles) is verified by :func:`hfmech.hub.weights.verify_folder` before anything is allocated, loaded with the class
the pipeline would use, and transformers' load report (missing, unexpected or mismatched tensors) is an error, never
a warning. Every failure is a :class:`~hfmech.errors.ModelLoadError` naming the model and the cause.
"""

from __future__ import annotations

import contextlib
import functools
import os
from pathlib import Path

from ..errors import HfmechError, ModelLoadError, WeightsError
from .registry import ALREADY_VERIFIED
from .weights import verify_folder

#: What a Hub snapshot downloads: configs, safetensors and text files. Never pickles (``*.bin``, ``*.pt``…).
HUB_PATTERNS = ["*.json", "*.jsonl", "*.safetensors", "*.txt", "*.md"]


class UnknownTaskError(HfmechError, ValueError):
    """A task name that no hfmech pipeline registers."""


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _looks_local(model: str) -> bool:
    return (
        os.path.isabs(model)
        or model.startswith((".", "~"))
        or model.count("/") > 1
        or os.sep + os.sep in model
    )


def model_folder(model: str) -> Path:
    """The local folder for ``model`` (a folder, or a Hub id downloaded without pickles), else ModelLoadError."""
    if not model.strip():
        raise ModelLoadError("cannot load model '': no such folder (an empty name)")
    path = Path(os.path.expanduser(model))
    if path.is_dir():
        return path
    if path.exists():
        raise ModelLoadError(f"cannot load model {model!r}: it is a file, not a model folder")
    if _looks_local(model):
        raise ModelLoadError(f"cannot load model {model!r}: no such folder")
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(repo_id=model, allow_patterns=HUB_PATTERNS))
    except Exception as e:  # noqa: BLE001 — unknown id, invalid id, no network, refused: all "cannot load"
        raise ModelLoadError(
            f"cannot load model {model!r}: not a local folder, and the Hub gave no model ({_one_line(e)})"
        ) from None


@contextlib.contextmanager
def _quiet_transformers():
    """No load report or progress bar from transformers while hfmech loads (its findings become errors here)."""
    from transformers.utils import logging

    verbosity = logging.get_verbosity()
    bars = logging.is_progress_bar_enabled()
    logging.set_verbosity_error()
    logging.disable_progress_bar()
    try:
        yield
    finally:
        logging.set_verbosity(verbosity)
        if bars:
            logging.enable_progress_bar()


def load_verified_model(folder: str | os.PathLike, task: str | None = None, *, name: str | None = None):
    """Verify ``folder`` (:func:`~hfmech.hub.weights.verify_folder`) and load its model; the load report must be clean.

    ``name`` is what the user asked for (zoo name, Hub id), used in messages. Raises ModelLoadError/WeightsError.
    """
    folder = Path(folder)
    label = repr(name) if name and name != str(folder) else repr(str(folder))
    try:
        verified = verify_folder(folder, task)
    except ModelLoadError as e:  # same type, the model named first
        raise type(e)(f"cannot load model {label}: {e}") from None
    try:
        token = ALREADY_VERIFIED.set(True)  # verified above: the classes' own check need not run again
        try:
            with _quiet_transformers():
                loaded = verified.model_class.from_pretrained(
                    str(folder), config=verified.config, output_loading_info=True, use_safetensors=True
                )
        finally:
            ALREADY_VERIFIED.reset(token)
    except HfmechError:
        raise
    except Exception as e:  # noqa: BLE001 — SafetensorError, RuntimeError (size mismatch), OSError, ValueError…
        raise ModelLoadError(f"cannot load model {label} from {folder}: {_one_line(e)}") from None
    model, info = loaded if isinstance(loaded, tuple) else (loaded, {})
    for kind in ("missing_keys", "unexpected_keys", "mismatched_keys", "error_msgs"):
        problems = sorted(str(k) for k in (info.get(kind) or []))
        if problems:
            shown = ", ".join(problems[:5]) + (" …" if len(problems) > 5 else "")
            raise WeightsError(
                f"cannot load model {label}: {folder}: {kind.replace('_', ' ')}: {shown} "
                "(these tensors would be randomly initialised or dropped)"
            )
    return model.eval()


@functools.lru_cache(maxsize=8)
def load_pipeline(task: str, model: str):
    """``transformers.pipeline(task, model=...)`` where ``model`` may also be an hfmech zoo name (built on demand).

    The model folder is verified before loading (see the module docstring); every failure is a
    :class:`~hfmech.errors.ModelLoadError` (or its subclasses ``WeightsError``/``ModelConfigError``).
    """
    from transformers import pipeline

    from . import zoo
    from .registry import REGISTERED_TASKS

    if task not in REGISTERED_TASKS:
        raise UnknownTaskError(f"unknown hfmech task {task!r}; known: {', '.join(sorted(REGISTERED_TASKS))}")
    model = os.fspath(model)
    source = zoo.resolve(model)
    folder = model_folder(source)
    loaded = load_verified_model(folder, task, name=model)
    try:
        return pipeline(task, model=loaded)
    except HfmechError:
        raise
    except Exception as e:  # noqa: BLE001
        raise ModelLoadError(f"cannot build the {task} pipeline for {model!r}: {_one_line(e)}") from None


__all__ = ["HUB_PATTERNS", "UnknownTaskError", "load_pipeline", "load_verified_model", "model_folder"]
