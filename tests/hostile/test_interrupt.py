"""Ctrl-C during a long CLI run: exit 130, one line, no output file and no temporary file left behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
from PIL import Image
from tiny_models import tiny_effnet


def test_ctrl_c_mid_dream_leaves_nothing(tmp_path):
    model = tmp_path / "model"
    tiny_effnet().save_pretrained(model)
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (256, 256, 3), dtype=np.uint8)).save(
        tmp_path / "in.png"
    )
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    argv = [
        sys.executable,
        "-m",
        "hfmech.cli",
        "dream",
        str(tmp_path / "in.png"),
        "-o",
        str(out_dir / "dream.png"),
    ]
    # long enough (4 octaves x 1,000 steps at up to 256 px) that it cannot finish before the signal on a fast machine
    argv += ["--model", str(model), "--octaves", "4", "--steps", "1000", "--seed", "0"]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    # SIGINT as a terminal delivers it: a shell running the suite in the background (nohup, `&`) leaves SIGINT
    # ignored, the child would inherit that and Python would never raise KeyboardInterrupt
    process = subprocess.Popen(
        argv,
        stderr=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    stderr: list[str] = []
    started = threading.Event()

    def read():
        for chunk in iter(lambda: process.stderr.read(1), ""):
            stderr.append(chunk)
            if "deep dream" in "".join(stderr[-200:]):
                started.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    if not started.wait(timeout=240):
        process.kill()
        pytest.fail("the dream did not start: " + "".join(stderr)[-2000:])
    time.sleep(0.2)
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=60) == 130
    reader.join(timeout=10)
    assert "interrupted: nothing was written" in "".join(stderr)
    assert "Traceback" not in "".join(stderr)
    assert list(out_dir.iterdir()) == []
