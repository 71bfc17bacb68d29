"""Output folders (``prepare_out_dir``) and ``BRAINALIGN_HOME``: unusable ones fail in one line, creating nothing."""

from __future__ import annotations

import errno
import os
import re
import tempfile
from pathlib import Path

import pytest
from badinput_helpers import listing, one_line

from brainalign import settings
from brainalign.cache import atomic
from brainalign.errors import BrainAlignError, DiskFullError, NotWritableError

ROOT = os.geteuid() == 0  # root writes anywhere: real chmod tests cannot fail for it


def _deny(monkeypatch: pytest.MonkeyPatch, *denied: Path) -> None:
    """``os.access`` says no for ``denied`` (works as root too)."""
    real = os.access
    blocked = {str(p) for p in denied}

    def fake(path, mode, *args, **kwargs):
        return False if str(path) in blocked and mode & os.W_OK else real(path, mode, *args, **kwargs)

    monkeypatch.setattr(os, "access", fake)


# ---- prepare_out_dir ----


def test_creates_a_missing_nested_folder_and_accepts_an_existing_one(tmp_path: Path) -> None:
    out = tmp_path / "a" / "b" / "run"
    assert atomic.prepare_out_dir(out) == out and out.is_dir()
    (out / "keep.txt").write_text("x")
    assert atomic.prepare_out_dir(out) == out
    assert listing(tmp_path) == ["a", "a/b", "a/b/run", "a/b/run/keep.txt"]  # no probe file left


def test_existing_file_is_refused_and_untouched(tmp_path: Path) -> None:
    path = tmp_path / "results.csv"
    path.write_text("mine")
    with pytest.raises(NotWritableError, match=r"output folder .*results\.csv is a file, not a folder; pass a folder") as exc:
        atomic.prepare_out_dir(path)
    one_line(exc)
    assert path.read_text() == "mine" and listing(tmp_path) == ["results.csv"]


def test_file_in_the_parent_chain_creates_nothing(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    with pytest.raises(NotWritableError, match=r"cannot create output folder .*f/out/run: .*f is a file"):
        atomic.prepare_out_dir(tmp_path / "f" / "out" / "run")
    assert listing(tmp_path) == ["f"]


def test_unwritable_parent_creates_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    parent = tmp_path / "ro"
    parent.mkdir()
    _deny(monkeypatch, parent)
    with pytest.raises(NotWritableError, match=r"cannot create output folder .*ro/x/run: .*ro is not writable; fix") as exc:
        atomic.prepare_out_dir(parent / "x" / "run")
    one_line(exc)
    assert listing(tmp_path) == ["ro"]


def test_unwritable_existing_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _deny(monkeypatch, tmp_path)
    with pytest.raises(NotWritableError, match=r"^output folder .* is not writable; fix its permissions or choose"):
        atomic.prepare_out_dir(tmp_path)


def test_failing_probe_write_removes_what_it_created(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``os.access`` can say yes where a write fails (read-only mounts, ACLs, network file systems)."""
    target = tmp_path / "new" / "run"
    real = tempfile.mkstemp

    def probe_fails_in_target(*args, dir=None, **kwargs):
        if dir is not None and Path(dir) == target:
            raise PermissionError(errno.EROFS, "Read-only file system")
        return real(*args, dir=dir, **kwargs)

    monkeypatch.setattr(tempfile, "mkstemp", probe_fails_in_target)
    with pytest.raises(NotWritableError, match=r"output folder .*new/run is not writable \(Read-only file system\)") as exc:
        atomic.prepare_out_dir(target)
    one_line(exc)
    assert listing(tmp_path) == []


def test_full_disk_at_the_probe(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def full(*_a, **_k):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(tempfile, "mkstemp", full)
    with pytest.raises(DiskFullError, match="has no free space"):
        atomic.prepare_out_dir(tmp_path / "out")
    assert listing(tmp_path) == []


def test_mkdir_failing_midway_removes_what_it_created(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = Path.mkdir

    def mkdir(self, *args, **kwargs):
        if self.name == "c":
            raise PermissionError(errno.EACCES, "Permission denied")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", mkdir)
    with pytest.raises(NotWritableError, match=r"cannot create output folder .*a/b/c \(Permission denied\)"):
        atomic.prepare_out_dir(tmp_path / "a" / "b" / "c")
    assert listing(tmp_path) == []


@pytest.mark.skipif(ROOT, reason="root bypasses permission bits")
def test_real_read_only_parent(tmp_path: Path) -> None:
    parent = tmp_path / "ro"
    parent.mkdir(mode=0o555)
    try:
        with pytest.raises(NotWritableError, match="is not writable"):
            atomic.prepare_out_dir(parent / "run")
        assert listing(parent) == []
    finally:
        parent.chmod(0o755)


# ---- BRAINALIGN_HOME ----


def test_home_is_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    home.write_text("not a folder")
    monkeypatch.setenv("BRAINALIGN_HOME", str(home))
    for call in (settings.home, lambda: settings.cache_dir("activations")):
        with pytest.raises(NotWritableError, match=rf"^BRAINALIGN_HOME={re.escape(str(home))} is not a writable folder; point it at one$") as exc:
            call()
        one_line(exc)
    assert home.read_text() == "not a folder"


def test_home_below_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "f").write_text("x")
    monkeypatch.setenv("BRAINALIGN_HOME", str(tmp_path / "f" / "home"))
    with pytest.raises(NotWritableError, match="is not a writable folder; point it at one"):
        settings.home()


def test_home_not_writable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("BRAINALIGN_HOME", str(home))
    _deny(monkeypatch, home)
    with pytest.raises(NotWritableError, match=r"^BRAINALIGN_HOME=.* is not a writable folder; point it at one$"):
        settings.cache_dir("models")
    assert listing(home) == []


def test_default_home_not_writable_names_the_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BRAINALIGN_HOME")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "brainalign").write_text("x")
    with pytest.raises(NotWritableError, match="cache folder .* is not a writable folder; set BRAINALIGN_HOME"):
        settings.home()


def test_cache_kind_is_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BRAINALIGN_HOME", str(tmp_path))
    (tmp_path / "models").write_text("x")
    with pytest.raises(NotWritableError, match=r"cache folder .*models cannot be created"):
        settings.cache_dir("models")


def test_usable_home_is_created(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BRAINALIGN_HOME", str(tmp_path / "new" / "home"))
    assert settings.cache_dir("data") == tmp_path / "new" / "home" / "data"
    assert (tmp_path / "new" / "home" / "data").is_dir()
    assert issubclass(NotWritableError, BrainAlignError)
