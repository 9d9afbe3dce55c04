"""The mechanism descriptor: what one ``hfmech/<mechanism>/`` folder declares so the rest of hfmech can find it.

Each mechanism package defines one module-level ``MECHANISM = Mechanism(...)`` in its ``__init__.py``. From the
descriptors, and from nothing else:

- ``import hfmech`` registers every task with transformers' pipeline registry (:func:`register_tasks`);
- ``hfmech`` (the CLI) adds each mechanism's subcommands (``hfmech/<mechanism>/cli.py: add_commands(subparsers)``);
- ``hfmech serve`` renders each mechanism's Space as a tab (``hfmech/<mechanism>/space.py: build_demo()``);
- ``tests/unit/test_mechanisms.py`` checks that each one is complete (task registered, default zoo model with a card,
  CLI commands, a ``spaces/<space>/`` folder, a docs page).

The conventions are fixed, so a descriptor holds names, not callables: the CLI module and the Space module are
imported only when a CLI or a UI is built (``import hfmech`` never imports gradio).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any

from .registry import register_task


@dataclass(frozen=True)
class Task:
    """One transformers pipeline task of a mechanism.

    Args:
        name: the task string users pass to ``pipeline(...)``, e.g. ``"deep-dream"``.
        pipeline_class: the ``transformers.Pipeline`` subclass.
        pt_model: the auto class(es) transformers uses to load a model for it.
        input_type: transformers' registry ``type``: ``"image"``, ``"text"``, ``"audio"`` or ``"multimodal"``.
        default_model: the zoo name the CLI and the Space use when no model is given.
    """

    name: str
    pipeline_class: type
    pt_model: Any
    input_type: str
    default_model: str


@dataclass(frozen=True)
class Mechanism:
    """One creative mechanism of Wyse's paper, as a folder of hfmech.

    Args:
        package: the folder under ``hfmech/`` (``"dream"``); its ``cli.py`` and ``space.py`` follow the conventions.
        title: the tab title in ``hfmech serve`` (``"DeepDream"``).
        paper: the papers it implements, for cards, Spaces and docs.
        tasks: its pipeline tasks (the first is the mechanism's main task).
        cli_commands: the ``hfmech`` subcommands its ``cli.py`` adds.
        space: the folder under ``spaces/`` that deploys its Space.
        docs: the page under ``docs/`` that documents it.
        order: position of its tab in ``hfmech serve`` (then by package name).
        recipes: subcommands whose whole argument list belongs to a training recipe's own parser
            (``{"word2vec-train": "hfmech.analogy.train:main"}``), passed through untouched.
    """

    package: str
    title: str
    paper: str
    tasks: tuple[Task, ...]
    cli_commands: tuple[str, ...]
    space: str
    docs: str
    order: int = 100
    recipes: dict[str, str] = field(default_factory=dict)

    @property
    def module(self) -> str:
        return f"hfmech.{self.package}"

    def add_cli_commands(self, subparsers) -> None:
        """Add this mechanism's subcommands (``hfmech/<package>/cli.py: add_commands``) to ``subparsers``."""
        importlib.import_module(f"{self.module}.cli").add_commands(subparsers)

    def build_demo(self, **kwargs):
        """This mechanism's Space as a ``gr.Blocks`` (``hfmech/<package>/space.py: build_demo``)."""
        return importlib.import_module(f"{self.module}.space").build_demo(**kwargs)

    def default_model(self, task: str | None = None) -> str:
        """The default zoo model of ``task`` (default: the mechanism's main task, the first)."""
        if task is None:
            return self.tasks[0].default_model
        return next(t.default_model for t in self.tasks if t.name == task)

    def recipe_main(self, command: str):
        module, _, function = self.recipes[command].partition(":")
        return getattr(importlib.import_module(module), function)


def register_tasks(mechanisms) -> dict[str, type]:
    """Register every task of ``mechanisms`` with transformers; returns ``{task name: pipeline class}``."""
    tasks: dict[str, type] = {}
    for mechanism in mechanisms:
        for task in mechanism.tasks:
            if task.name in tasks:
                raise RuntimeError(f"task {task.name!r} is declared by two mechanisms")
            register_task(
                task.name, pipeline_class=task.pipeline_class, pt_model=task.pt_model, type=task.input_type
            )
            tasks[task.name] = task.pipeline_class
    return tasks


__all__ = ["Mechanism", "Task", "register_tasks"]
