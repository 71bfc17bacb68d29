"""sha256 of a file's bytes, remembered per (path, modification time, size) in this process: stimulus films and
audio (gigabytes) enter a dataset digest, a job key and a feature-cache key, and are read once, not three times."""

from __future__ import annotations

import functools
import hashlib
import os
from pathlib import Path

_CHUNK = 1 << 20


@functools.lru_cache(maxsize=1024)
def _hash(path: str, mtime_ns: int, size: int) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(_CHUNK):
            h.update(block)
    return h.hexdigest()


def file_sha256(path: str | os.PathLike) -> str:
    """sha256 hex digest of ``path``'s bytes (a changed file — new mtime or size — is read again)."""
    p = Path(path).expanduser()
    st = p.stat()
    return _hash(str(p.resolve()), st.st_mtime_ns, st.st_size)
