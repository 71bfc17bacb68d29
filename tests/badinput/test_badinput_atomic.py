"""Atomic writes honour the umask, and a full disk is one line with nothing half-written left."""

from __future__ import annotations

import errno
import os
import re
import stat
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from badinput_helpers import listing, one_line

from brainalign.cache import atomic
from brainalign.cache.results import ResultStore
from brainalign.errors import BrainAlignError, DiskFullError


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# ---- umask ----


@pytest.mark.parametrize("mask", [0o022, 0o077, 0o002])
def test_files_and_folders_get_the_umask(tmp_path: Path, umask, mask: int) -> None:
    umask(mask)
    assert atomic.current_umask() == mask
    files = [
        atomic.write_bytes(tmp_path / "a.bin", b"x"),
        atomic.write_text(tmp_path / "b.txt", "x"),
        atomic.write_json(tmp_path / "sub" / "c.json", {"a": 1}),
    ]
    with atomic.writing(tmp_path / "d.csv", suffix=".csv") as tmp:
        pd.DataFrame({"a": [1]}).to_csv(tmp, index=False)
    files.append(tmp_path / "d.csv")
    with atomic.writing_dir(tmp_path / "job") as tmp:
        (tmp / "inner.json").write_text("{}")
        (tmp / "nested").mkdir()
    plain = tmp_path / "plain.txt"
    plain.write_text("x")  # what an ordinary open() gives, for comparison
    for f in files:
        assert _mode(f) == 0o666 & ~mask == _mode(plain), f
    for d in (tmp_path / "job", tmp_path / "job" / "nested", tmp_path / "sub"):
        assert _mode(d) == 0o777 & ~mask, d
    assert _mode(tmp_path / "job" / "inner.json") == 0o666 & ~mask


@pytest.mark.parametrize("mask", [0o022, 0o077])
def test_result_store_and_out_dir_get_the_umask(tmp_path: Path, umask, mask: int) -> None:
    umask(mask)
    out = atomic.prepare_out_dir(tmp_path / "out" / "run")
    ResultStore(out / "jobs").write("u1", {"a": 1}, {"b": 2}, pd.DataFrame({"r": [0.1]}), {"pred": np.zeros(2)})
    job = out / "jobs" / "u1"
    assert _mode(tmp_path / "out") == _mode(out) == _mode(job) == 0o777 & ~mask
    assert {_mode(p) for p in job.iterdir()} == {0o666 & ~mask}


def test_overwrite_gets_the_umask_not_the_old_mode(tmp_path: Path, umask) -> None:
    umask(0o022)
    path = tmp_path / "a.txt"
    path.write_text("old")
    path.chmod(0o600)
    atomic.write_text(path, "new")
    assert path.read_text() == "new" and _mode(path) == 0o644


# ---- disk full ----


def _enospc(*_args, **_kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


def _edquot(*_args, **_kwargs):
    raise OSError(errno.EDQUOT, "Disk quota exceeded")


@pytest.mark.parametrize("fail", [_enospc, _edquot])
def test_low_level_write_failing_is_one_line_and_leaves_the_old_file(tmp_path: Path, monkeypatch, fail) -> None:
    path = tmp_path / "summary.json"
    path.write_text("old")
    monkeypatch.setattr(os, "write", fail)
    with pytest.raises(DiskFullError, match=rf"^disk full .* while writing {re.escape(str(path))}; nothing half-written is left .*"
                                            r"free space and run the same command again to resume$") as exc:
        atomic.write_json(path, {"a": 1})
    one_line(exc)
    assert exc.value.__cause__ is None
    assert listing(tmp_path) == ["summary.json"] and path.read_text() == "old"


def test_temp_file_creation_failing(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(tempfile, "mkstemp", _enospc)
    with pytest.raises(DiskFullError, match="while writing .*a.txt"):
        atomic.write_text(tmp_path / "a.txt", "x")
    assert listing(tmp_path) == []


def test_rename_failing(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(os, "replace", _enospc)
    with pytest.raises(DiskFullError, match="while writing .*a.txt"):
        atomic.write_text(tmp_path / "a.txt", "x")
    assert listing(tmp_path) == []


def test_writer_running_out_of_space_in_writing(tmp_path: Path) -> None:
    full = r"while writing .*scores\.csv.*files finished before it are kept"
    with pytest.raises(DiskFullError, match=full), atomic.writing(tmp_path / "scores.csv", suffix=".csv") as tmp:
        tmp.write_text("half a ta")
        _enospc()
    assert listing(tmp_path) == []


def test_job_folder_running_out_of_space_keeps_finished_jobs(tmp_path: Path) -> None:
    out = tmp_path / "out"
    store = ResultStore(out / "jobs")
    store.write("done", {}, {}, pd.DataFrame({"r": [0.5]}))
    before = listing(out)
    kept = rf"finished jobs under {re.escape(str(out / 'jobs'))} are kept; free space and run the same command again to resume$"
    with pytest.raises(DiskFullError, match=kept) as exc, atomic.writing_dir(out / "jobs" / "next") as tmp:
        (tmp / "config.json").write_text("{}")
        _enospc()
    one_line(exc)
    assert listing(out) == before and store.has("done") and not store.has("next")


def test_run_folder_files_name_the_jobs_folder(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "jobs").mkdir()
    monkeypatch.setattr(os, "write", _enospc)
    with pytest.raises(DiskFullError, match=rf"finished jobs under {re.escape(str(tmp_path / 'jobs'))} are kept"):
        atomic.write_json(tmp_path / "summary.json", {})


def test_disk_full_recognised_through_wrappers_and_by_text() -> None:
    try:
        try:
            _enospc()
        except OSError as inner:
            raise RuntimeError("writer failed") from inner
    except RuntimeError as outer:
        assert atomic.is_disk_full(outer)
    assert atomic.is_disk_full(OSError("[Errno 28] No space left on device"))  # pyarrow's OSError has no errno
    assert not atomic.is_disk_full(OSError(errno.EACCES, "Permission denied"))


def test_other_errors_pass_through_and_still_clean_up(tmp_path: Path, monkeypatch) -> None:
    def denied(*_a, **_k):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(os, "write", denied)
    with pytest.raises(PermissionError):
        atomic.write_text(tmp_path / "a.txt", "x")
    with pytest.raises(ValueError, match="boom"), atomic.writing_dir(tmp_path / "d"):
        raise ValueError("boom")
    assert listing(tmp_path) == []


def test_disk_full_error_is_a_brainalign_error() -> None:
    assert issubclass(DiskFullError, BrainAlignError)
