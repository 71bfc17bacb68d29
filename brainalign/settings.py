"""Process-wide settings read from the environment.

- ``BRAINALIGN_HOME``: one directory for caches and results (default: ``~/.cache/brainalign``).
- ``BRAINALIGN_DATA_MIRROR``: a folder laid out like the shared data mirror; read instead of downloading.
- ``BRAINALIGN_OFFLINE`` (or ``HF_HUB_OFFLINE``): never touch the network.
"""

from __future__ import annotations

import os
from pathlib import Path


def home() -> Path:
    """Root directory for caches and results, created on first use."""
    root = os.environ.get("BRAINALIGN_HOME")
    path = Path(root).expanduser() if root else Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "brainalign"
    path.mkdir(parents=True, exist_ok=True)
    return path


def cache_dir(kind: str) -> Path:
    """A named sub-directory of :func:`home` (``activations``, ``models``, ``data``, ``results``)."""
    path = home() / kind
    path.mkdir(parents=True, exist_ok=True)
    return path


def data_mirror() -> Path | None:
    """The data mirror folder if ``BRAINALIGN_DATA_MIRROR`` is set, else ``None``."""
    value = os.environ.get("BRAINALIGN_DATA_MIRROR")
    return Path(value).expanduser() if value else None


def offline() -> bool:
    """True when the network must not be used."""
    flags = (os.environ.get("BRAINALIGN_OFFLINE"), os.environ.get("HF_HUB_OFFLINE"))
    return any(f not in (None, "", "0", "false", "False") for f in flags)
