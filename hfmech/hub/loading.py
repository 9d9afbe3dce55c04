"""Loading pipelines by zoo name, local folder or Hub id (with a small in-process cache for apps and the CLI)."""

from __future__ import annotations

import functools


@functools.lru_cache(maxsize=8)
def load_pipeline(task: str, model: str):
    """``transformers.pipeline(task, model=...)`` where ``model`` may also be an hfmech zoo name (built on demand)."""
    from transformers import pipeline

    from . import zoo
    from .registry import REGISTERED_TASKS

    if task not in REGISTERED_TASKS:
        raise ValueError(f"unknown hfmech task {task!r}; known: {', '.join(sorted(REGISTERED_TASKS))}")
    return pipeline(task, model=zoo.resolve(model))
