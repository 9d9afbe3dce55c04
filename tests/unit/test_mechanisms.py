"""Every mechanism is complete, and the layers point one way.

The list of mechanisms is :data:`hfmech.MECHANISMS` (found from the ``hfmech/<package>/`` folders that declare a
``MECHANISM``). For each, this file checks what a user reaches it by: a registered pipeline task, a default zoo
model with a card, CLI subcommands, a tab in ``hfmech serve``, a deployable ``spaces/<name>/`` folder and a docs page.
Forgetting any of them fails here, not in front of a user.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
from pathlib import Path

import pytest

import hfmech
from hfmech.errors import USER_ERRORS, HfmechError
from hfmech.hub import zoo
from hfmech.hub.mechanism import Mechanism

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "hfmech"
MECHANISMS = hfmech.MECHANISMS
IDS = [m.package for m in MECHANISMS]
SHARED_LAYERS = ("hub", "vision")
#: old module paths kept as re-exports that warn
DEPRECATED_MODULES = ("hfmech.vision.efficientnet_lite", "hfmech.vision.vgg", "hfmech.vision.mobilenet")


def test_every_mechanism_folder_is_found():
    folders = {
        p.parent.name
        for p in PACKAGE.glob("*/__init__.py")
        if "MECHANISM = Mechanism(" in p.read_text(encoding="utf-8")
    }
    assert folders == {m.package for m in MECHANISMS}
    assert len(MECHANISMS) >= 5
    assert all(isinstance(m, Mechanism) for m in MECHANISMS)


@pytest.mark.parametrize("mechanism", MECHANISMS, ids=IDS)
def test_tasks_are_registered_with_transformers(mechanism):
    from transformers.pipelines import PIPELINE_REGISTRY

    for task in mechanism.tasks:
        assert task.name in PIPELINE_REGISTRY.get_supported_tasks(), task.name
        assert hfmech.TASKS[task.name] is task.pipeline_class
        assert task.input_type in ("image", "text", "audio", "multimodal")


@pytest.mark.parametrize("mechanism", MECHANISMS, ids=IDS)
def test_default_models_are_zoo_entries_with_cards(mechanism):
    names = {e.name: e for e in zoo.entries()}
    for task in mechanism.tasks:
        assert task.default_model in names, f"{task.name}: default {task.default_model!r} is not a zoo entry"
        entry = names[task.default_model]
        assert (ROOT / "model_cards" / entry.card).is_file(), f"no model_cards/{entry.card}"


@pytest.mark.parametrize("mechanism", MECHANISMS, ids=IDS)
def test_cli_commands_exist_and_default_to_the_zoo_model(mechanism):
    from hfmech.cli import build_parser

    parser = build_parser()
    choices = parser._subparsers._group_actions[0].choices
    for command in mechanism.cli_commands:
        assert command in choices, f"hfmech {command} is missing"
        if command in mechanism.recipes:
            continue
        model = choices[command]._option_string_actions.get("--model")
        if model is not None:
            assert model.default in {t.default_model for t in mechanism.tasks}
    own = importlib.import_module(f"{mechanism.module}.cli")
    assert callable(own.add_commands)


@pytest.mark.parametrize("mechanism", MECHANISMS, ids=IDS)
def test_space_folder_is_complete_and_builds_from_the_mechanism(mechanism):
    folder = ROOT / "spaces" / mechanism.space
    for name in ("app.py", "README.md", "requirements.txt"):
        assert (folder / name).is_file(), f"spaces/{mechanism.space}/{name} is missing"
    app = (folder / "app.py").read_text(encoding="utf-8")
    assert f"hfmech.{mechanism.package}.space" in app, (
        "the Space must be built by the mechanism's space module"
    )
    assert (folder / "README.md").read_text(encoding="utf-8").startswith("---\n"), "Space YAML header"
    space = importlib.import_module(f"{mechanism.module}.space")
    assert "build_demo" in vars(space)


def test_serve_has_one_tab_per_mechanism(monkeypatch):
    """``hfmech serve`` builds its tabs from the list (each ``build_demo`` stubbed: no models load)."""
    from hfmech import serve

    built = []
    monkeypatch.setattr(Mechanism, "build_demo", lambda self, **kw: built.append(self.package) or self.title)
    tabs = serve.mechanism_demos()
    assert [title for title, _ in tabs] == [m.title for m in MECHANISMS]
    assert built == IDS


@pytest.mark.parametrize("mechanism", MECHANISMS, ids=IDS)
def test_docs_page_exists_and_is_linked_from_the_readme(mechanism):
    page = ROOT / "docs" / mechanism.docs
    assert page.is_file(), f"docs/{mechanism.docs} is missing"
    assert f"docs/{mechanism.docs}" in (ROOT / "README.md").read_text(encoding="utf-8")


def _modules():
    for info in pkgutil.walk_packages(hfmech.__path__, "hfmech."):
        if info.name.endswith(("space", "space_audio", ".ui", ".serve")) or ".__main__" in info.name:
            continue  # gradio-side modules: imported by their own tests
        if info.name in DEPRECATED_MODULES:
            continue
        yield importlib.import_module(info.name)


def test_every_typed_error_derives_from_the_ground_floor():
    offenders = []
    for module in _modules():
        for name, obj in vars(module).items():
            if (
                inspect.isclass(obj)
                and issubclass(obj, Exception)
                and not issubclass(obj, Warning)
                and not name.startswith("_")  # control flow inside a module (e.g. stopping a forward early)
                and obj.__module__ == module.__name__
                and not issubclass(obj, HfmechError)
            ):
                offenders.append(f"{module.__name__}.{name}")
    assert offenders == []
    assert USER_ERRORS[0] is HfmechError


def _imported_modules(path: Path) -> set[str]:
    """Absolute module names ``path`` imports (relative imports resolved against its package)."""
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


@pytest.mark.parametrize("layer", SHARED_LAYERS)
def test_shared_layers_import_no_mechanism(layer):
    mechanisms = tuple(f"hfmech.{m.package}" for m in MECHANISMS)
    offenders = {}
    for path in sorted((PACKAGE / layer).rglob("*.py")):
        bad = {m for m in _imported_modules(path) if m.startswith(mechanisms) or m in ("hfmech.mechanisms",)}
        if bad:
            offenders[str(path.relative_to(ROOT))] = sorted(bad)
    assert offenders == {}


def test_errors_module_imports_nothing_from_hfmech():
    imported = _imported_modules(PACKAGE / "errors.py")
    assert not any(m.startswith("hfmech") for m in imported), imported


def test_no_mechanism_imports_another():
    packages = {m.package for m in MECHANISMS}
    offenders = {}
    for package in packages:
        others = tuple(f"hfmech.{p}" for p in packages - {package})
        for path in sorted((PACKAGE / package).rglob("*.py")):
            bad = {m for m in _imported_modules(path) if m.startswith(others)}
            if bad:
                offenders[str(path.relative_to(ROOT))] = sorted(bad)
    assert offenders == {}
