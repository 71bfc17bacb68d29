"""Atomic file and directory writes: write to a temporary name, then rename.

An interrupted write leaves either the old content or nothing, never a half-written file. Files and
folders end up with the permissions a plain ``open()`` / ``mkdir()`` would give (the user's umask applied),
and a full disk or quota becomes a one-line :class:`~brainalign.errors.DiskFullError`.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from brainalign.errors import DiskFullError, NotWritableError

_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})
_FULL_TEXTS = ("no space left on device", "disk quota exceeded")


# ---- permissions ----


def current_umask() -> int:
    """The process umask, read without changing it where the OS allows (``/proc/self/status`` on Linux)."""
    with contextlib.suppress(OSError, ValueError), open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    mask = os.umask(0o022)  # fallback: set and restore (briefly visible to other threads)
    os.umask(mask)
    return mask


def _file_mode() -> int:
    return 0o666 & ~current_umask()


def _dir_mode() -> int:
    return 0o777 & ~current_umask()


# ---- disk full ----


def is_disk_full(exc: BaseException) -> bool:
    """True when ``exc`` (or an error it was raised from) is ENOSPC / EDQUOT."""
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        if isinstance(cur, OSError) and (cur.errno in _FULL_ERRNOS or any(t in str(cur).lower() for t in _FULL_TEXTS)):
            return True
        cur = cur.__cause__ or cur.__context__
    return False


def _kept(path: Path) -> str:
    """What survives a failed write under ``path``: the finished jobs of its run folder, if it has one."""
    for parent in (path, *path.parents):
        if parent.name == "jobs":
            return f"finished jobs under {parent} are kept"
        if (parent / "jobs").is_dir():
            return f"finished jobs under {parent / 'jobs'} are kept"
    return "files finished before it are kept"


def disk_full_error(path: Path) -> DiskFullError:
    """The one-line error for a write to ``path`` that ran out of space."""
    return DiskFullError(
        f"disk full (no space left on device or quota exceeded) while writing {path}; nothing half-written is left "
        f"and {_kept(path)}; free space and run the same command again to resume"
    )


@contextlib.contextmanager
def _disk_full_as_error(path: Path) -> Iterator[None]:
    """Turn ENOSPC / EDQUOT raised inside the block into :func:`disk_full_error`."""
    try:
        yield
    except OSError as exc:
        if is_disk_full(exc):
            raise disk_full_error(path) from None
        raise


# ---- temporary siblings ----


def _tmp_sibling(path: Path, suffix: str = "") -> Path:
    """An empty file next to ``path`` with the umask's permissions (``mkstemp`` alone gives 0600)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=f".tmp{suffix}", dir=path.parent)
    try:
        os.fchmod(fd, _file_mode())
    finally:
        os.close(fd)
    return Path(name)


def _tmp_dir_sibling(path: Path) -> Path:
    """An empty folder next to ``path`` with the umask's permissions (``mkdtemp`` alone gives 0700)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    os.chmod(tmp, _dir_mode())
    return tmp


def _write_all(fd: int, data: bytes) -> None:
    """Write every byte of ``data`` to ``fd`` (``os.write`` may write fewer)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


# ---- public writers ----


def write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically."""
    path = Path(path)
    with _disk_full_as_error(path):
        tmp = _tmp_sibling(path)
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_TRUNC)
            try:
                _write_all(fd, data)
            finally:
                os.close(fd)
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
    return path


def write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    return write_bytes(path, text.encode("utf-8"))


def write_json(path: str | os.PathLike, obj: Any, sort_keys: bool = True) -> Path:
    """Write ``obj`` as indented JSON atomically (``sort_keys=False`` keeps the mappings' own order)."""
    return write_text(path, json.dumps(obj, indent=2, sort_keys=sort_keys, default=str) + "\n")


@contextlib.contextmanager
def writing(path: str | os.PathLike, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary file path; on success it is renamed to ``path``, on error removed.

    Use for writers that need a filename (``df.to_parquet(tmp)``, ``fig.savefig(tmp)``);
    ``suffix`` keeps the extension writers use to pick a format (e.g. ``".png"``).
    """
    path = Path(path)
    with _disk_full_as_error(path):
        tmp = _tmp_sibling(path, suffix)
        try:
            yield tmp
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise


@contextlib.contextmanager
def writing_dir(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary directory; on success it replaces ``path``, on error it is removed."""
    path = Path(path)
    with _disk_full_as_error(path):
        tmp = _tmp_dir_sibling(path)
        try:
            yield tmp
            if path.exists():
                shutil.rmtree(path)
            os.replace(tmp, path)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise


# ---- output folders ----


def _probe(folder: Path) -> None:
    """Create, write and remove one small file in ``folder``; raises the ``OSError`` if it cannot."""
    fd, name = tempfile.mkstemp(prefix=".brainalign-probe.", dir=folder)
    try:
        _write_all(fd, b"0")
    finally:
        os.close(fd)
        os.unlink(name)


def _check_writable(folder: Path, target: Path) -> None:
    """One-line error unless ``folder`` (``target`` itself or its nearest existing parent) can be written."""
    what = f"output folder {target}" if folder == target else f"cannot create output folder {target}: {folder}"
    if not folder.is_dir():
        raise NotWritableError(f"{what} is a file, not a folder; pass a folder path (new or existing) instead")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise NotWritableError(f"{what} is not writable; fix its permissions or choose another output folder")
    try:
        _probe(folder)
    except OSError as exc:
        if is_disk_full(exc):
            raise DiskFullError(f"{what} has no free space (or quota); free space and run again") from None
        reason = exc.strerror or type(exc).__name__
        raise NotWritableError(f"{what} is not writable ({reason}); fix it or choose another output folder") from None


def _nearest_existing(path: Path) -> Path:
    """``path`` or its closest ancestor that exists (a file counts: it blocks the folder)."""
    for candidate in (path, *path.parents):
        if candidate.exists():
            return candidate
    return Path(path.anchor or ".")


def _remove_created(created: list[Path]) -> None:
    """Remove folders made by a failed :func:`prepare_out_dir`, deepest first, if still empty."""
    for folder in reversed(created):
        with contextlib.suppress(OSError):
            folder.rmdir()


def _make_missing(target: Path, base: Path) -> list[Path]:
    """Create the folders from below ``base`` down to ``target``; returns those this call created."""
    chain: list[Path] = []
    for folder in (target, *target.parents):
        if folder == base:
            break
        chain.append(folder)
    created: list[Path] = []
    try:
        for folder in reversed(chain):
            try:
                folder.mkdir()
                created.append(folder)
            except FileExistsError:
                if not folder.is_dir():
                    raise
    except BaseException:
        _remove_created(created)
        raise
    return created


def prepare_out_dir(path: str | os.PathLike) -> Path:
    """Check that ``path`` can hold a run's outputs and create it if missing; returns it.

    Raises a one-line :class:`~brainalign.errors.NotWritableError` when ``path`` is an existing file, or it
    (or the folder it would be created in) cannot be written -- checked with ``os.access`` and a real probe
    write. Nothing is created when it fails. Call it before anything else is written.
    """
    target = Path(path).expanduser()
    full = target.absolute()
    base = _nearest_existing(full)
    if base != full:
        _check_writable(base, target)
    try:
        created = _make_missing(full, base)
    except OSError as exc:
        if is_disk_full(exc):
            raise DiskFullError(f"cannot create output folder {target}: no space left on device; free space and run again") from None
        raise NotWritableError(f"cannot create output folder {target} ({exc.strerror or exc}); choose another output folder") from None
    try:
        _check_writable(full, target)
    except BaseException:
        _remove_created(created)
        raise
    return target
