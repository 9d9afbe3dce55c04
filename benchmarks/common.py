"""What every benchmark shares: the machine it ran on (one set of key names), timing (wall + CPU), peak RSS
(``VmHWM``) and the JSON report, written atomically.

Benchmarks are not tests: each measures hfmech and a baseline in the same run and reports ratios.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"


def cpu_pressure() -> str | None:
    """Linux PSI line for CPU ("some avg10=... avg60=..."): how often runnable tasks waited (shared machines)."""
    try:
        return Path("/proc/pressure/cpu").read_text().splitlines()[0]
    except (OSError, IndexError):
        return None


def machine_info(threads: int | None = None) -> dict:
    """The machine and software a number was measured on; the same keys in every benchmark's JSON."""
    import torch

    try:
        import psutil

        total_ram = psutil.virtual_memory().total
    except ImportError:  # pragma: no cover
        total_ram = None
    try:
        from importlib.metadata import version

        hfmech_version = version("hfmech")
    except Exception:  # noqa: BLE001 - not installed as a distribution
        hfmech_version = None
    return {
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "torch_version": torch.__version__,
        "torch_threads": threads if threads is not None else torch.get_num_threads(),
        "total_ram_bytes": total_ram,
        "hfmech_version": hfmech_version,
        "load_average": os.getloadavg(),
        "cpu_pressure": cpu_pressure(),
    }


def timed(fn: Callable, *args, **kwargs) -> tuple[object, float, float]:
    """``(result, wall seconds, CPU seconds of this process)`` of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - wall, time.process_time() - cpu


def peak_rss_bytes() -> int:
    """Peak RSS of this process: ``VmHWM`` on Linux, else ``ru_maxrss``."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    value = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return value if sys.platform == "darwin" else value * 1024


def write_report(path: str | os.PathLike, report: dict) -> Path:
    """Write the JSON report atomically (creating its folder) and return its path."""
    from hfmech.hub.files import write_json_atomic

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(path, report)
    return path
