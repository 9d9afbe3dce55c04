"""Training checkpoints shared by every recipe (safetensors only, never pickles): Adam's moments as safetensors,
and a checkpoint folder written whole into a temporary sibling and swapped into place, so a run killed while saving
keeps its previous checkpoint."""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import torch

__all__ = ["adam_state_tensors", "checkpoint_folder", "load_adam_state"]


def adam_state_tensors(optimizer: torch.optim.Optimizer) -> dict[str, torch.Tensor]:
    """Adam's ``exp_avg``, ``exp_avg_sq`` and ``step`` per parameter of the first group, as ``{"i.key": tensor}``."""
    tensors: dict[str, torch.Tensor] = {}
    for i, p in enumerate(optimizer.param_groups[0]["params"]):
        state = optimizer.state.get(p, {})
        for key in ("exp_avg", "exp_avg_sq"):
            if key in state:
                tensors[f"{i}.{key}"] = state[key].detach().cpu().contiguous()
        if "step" in state:
            tensors[f"{i}.step"] = torch.as_tensor(state["step"], dtype=torch.float64).reshape(1).cpu()
    return tensors


def load_adam_state(path: str | os.PathLike, optimizer: torch.optim.Optimizer) -> None:
    """Restore what :func:`adam_state_tensors` saved (a safetensors file) into ``optimizer``."""
    from safetensors.torch import load_file

    tensors = load_file(str(path))
    for i, p in enumerate(optimizer.param_groups[0]["params"]):
        if f"{i}.exp_avg" in tensors:
            optimizer.state[p] = {
                "step": torch.tensor(float(tensors[f"{i}.step"][0])),
                "exp_avg": tensors[f"{i}.exp_avg"].to(p.device, p.dtype),
                "exp_avg_sq": tensors[f"{i}.exp_avg_sq"].to(p.device, p.dtype),
            }


@contextlib.contextmanager
def checkpoint_folder(folder: str | os.PathLike) -> Iterator[Path]:
    """Yield an empty ``folder.tmp`` to write a checkpoint into; on a clean exit it replaces ``folder`` (the old one
    is moved aside first and removed after), on an error it is removed and ``folder`` is untouched."""
    folder = Path(folder)
    tmp = folder.with_name(folder.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = folder.with_name(folder.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if folder.exists():
        os.replace(folder, old)
    os.replace(tmp, folder)
    shutil.rmtree(old, ignore_errors=True)
