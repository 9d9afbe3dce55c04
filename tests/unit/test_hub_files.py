"""hfmech.hub.files: atomic writes replace the target only on success and never leave temporary files behind."""

import json

import numpy as np
import pytest

from hfmech.hub.files import atomic_path, write_json_atomic, write_text_atomic


def test_write_text_replaces_and_keeps_line_ends(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text("old", encoding="utf-8")
    assert write_text_atomic(path, "x\ny\r\nz\n") == path
    assert path.read_bytes() == b"x\ny\r\nz\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]


def test_failed_writer_keeps_the_old_file_and_removes_the_temporary(tmp_path):
    path = tmp_path / "kept.bin"
    path.write_bytes(b"previous")
    with pytest.raises(RuntimeError, match="boom"), atomic_path(path) as tmp:
        tmp.write_bytes(b"half")
        raise RuntimeError("boom")
    assert path.read_bytes() == b"previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept.bin"]


def test_unserialisable_json_writes_nothing(tmp_path):
    path = tmp_path / "r.json"
    with pytest.raises(TypeError):
        write_json_atomic(path, {"x": object()})
    assert not path.exists() and list(tmp_path.iterdir()) == []
    write_json_atomic(path, {"x": np.float32(0.5)}, default=float)
    assert json.loads(path.read_text(encoding="utf-8")) == {"x": 0.5}


def test_temporary_keeps_the_suffix_so_format_sniffing_writers_work(tmp_path):
    path = tmp_path / "feats.npy"
    with atomic_path(path) as tmp:
        assert tmp.parent == tmp_path and tmp.suffix == ".npy" and tmp != path
        np.save(tmp, np.arange(3))  # np.save appends ".npy" unless the name already ends with it
    np.testing.assert_array_equal(np.load(path), np.arange(3))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["feats.npy"]


def test_replacing_keeps_the_permission_bits_and_new_files_follow_the_umask(tmp_path):
    import os
    import stat

    from hfmech.hub.files import umask, write_bytes_atomic

    old = tmp_path / "script.sh"
    old.write_bytes(b"old")
    old.chmod(0o750)
    write_bytes_atomic(old, b"new")
    assert old.read_bytes() == b"new" and stat.S_IMODE(os.stat(old).st_mode) == 0o750
    new = write_bytes_atomic(tmp_path / "fresh.bin", b"x")
    assert stat.S_IMODE(os.stat(new).st_mode) == 0o666 & ~umask()


def test_interrupted_writer_leaves_no_temporary(tmp_path):
    path = tmp_path / "out.json"
    with pytest.raises(KeyboardInterrupt), atomic_path(path) as tmp:
        tmp.write_text("{")
        raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []
