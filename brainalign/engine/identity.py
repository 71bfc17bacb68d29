"""Content identity: canonical JSON, digests of arrays, files and folders, and names safe to become paths.

A job's id is a digest of *what makes its result* (config sections, data content, model fingerprints, method
version); these helpers turn each of those into a short, deterministic string.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from brainalign.errors import ConfigError

_CHUNK = 1 << 20
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def _plain(obj: Any) -> Any:
    """JSON-able form with a stable meaning: paths as strings, numpy scalars as Python, floats by repr."""
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_plain(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, np.generic):
        return _plain(obj.item())
    if isinstance(obj, float) and not math.isfinite(obj):
        return repr(obj)
    if isinstance(obj, np.ndarray):
        return {"__array__": hash_array(obj)}
    return obj


def canonical_json(obj: Any) -> str:
    """Sorted-key, whitespace-free JSON of ``obj`` (the byte string digests are taken of)."""
    return json.dumps(_plain(obj), sort_keys=True, separators=(",", ":"), default=str)


def digest(obj: Any, n: int = 64) -> str:
    """sha256 hex digest (first ``n`` characters) of ``canonical_json(obj)``."""
    return hashlib.sha256(canonical_json(obj).encode()).hexdigest()[:n]


def hash_array(a: Any) -> str:
    """sha256 of an array's dtype, shape and bytes (C order); equal arrays give equal digests."""
    arr = np.ascontiguousarray(np.asarray(a))
    h = hashlib.sha256(f"{arr.dtype.str}|{arr.shape}|".encode())
    if arr.dtype == object:
        h.update(canonical_json(arr.tolist()).encode())
    else:
        h.update(memoryview(arr.reshape(-1).view(np.uint8)))
    return h.hexdigest()


def hash_strings(items: Iterable[Any]) -> str:
    """sha256 of a sequence of strings (length-prefixed, so ``["ab", "c"]`` != ``["a", "bc"]``)."""
    h = hashlib.sha256()
    for s in items:
        b = str(s).encode()
        h.update(len(b).to_bytes(8, "little"))
        h.update(b)
    return h.hexdigest()


def hash_file(path: str | Path) -> str:
    """sha256 of a file's bytes, streamed."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(_CHUNK):
            h.update(block)
    return h.hexdigest()


def safe_label(name: str) -> str:
    """A readable folder-name fragment of ``name``: runs of characters other than ``[A-Za-z0-9._-]`` become
    ``-``, leading dots are dropped (the digest beside it keeps labels unique)."""
    out = _SAFE.sub("-", str(name)).lstrip(".") or "x"
    return out[:80]


def check_name(name: str, what: str) -> str:
    """``name`` unchanged if it can become one path component; else a one-line ConfigError (``..``, ``/``,
    ``\\``, NUL, empty or leading dot are refused, so no name writes outside its folder)."""
    bad = (not name or name in (".", "..") or name.startswith(".") or any(c in name for c in "/\\\0")
           or ".." in Path(name).parts)
    if bad:
        raise ConfigError(f"{what} {name!r} cannot be used as a file name (no '/', '\\', '..' or leading '.'); "
                          "rename it")
    return name
