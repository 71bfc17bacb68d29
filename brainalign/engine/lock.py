"""One run at a time per output folder: an advisory ``flock`` on ``OUT/.brainalign.lock``.

A second run into the same ``--out`` while the first is alive is refused with one line naming the holder
(pid, host, config digest). The lock is released when the holder exits, even if it is killed.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

from brainalign.errors import BrainAlignError

LOCK_NAME = ".brainalign.lock"


class RunLockedError(BrainAlignError):
    """Another brainalign run is writing the same output folder."""


@contextlib.contextmanager
def run_lock(out: str | Path, config_digest: str) -> Iterator[Path]:
    """Hold the output folder's lock for the duration of the block."""
    import fcntl

    path = Path(out) / LOCK_NAME
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(path)
            raise RunLockedError(
                f"{out} is being written by another brainalign run ({holder}); wait for it to finish or use "
                "another --out") from None
        info = {"pid": os.getpid(), "host": socket.gethostname(), "config": config_digest[:12],
                "started": time.strftime("%Y-%m-%d %H:%M:%S")}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(info).encode(), 0)
        yield path
    finally:
        os.close(fd)


def _holder(path: Path) -> str:
    try:
        info = json.loads(path.read_text() or "{}")
    except (OSError, ValueError):
        return "holder unknown"
    return f"pid {info.get('pid')} on {info.get('host')}, config {info.get('config')}, started {info.get('started')}"
