"""Process-wide settings read from the environment.

- ``BRAINALIGN_HOME``: one directory for caches and results (default: ``~/.cache/brainalign``).
- ``BRAINALIGN_DATA_MIRROR``: a folder laid out like the shared data mirror; read instead of downloading.
- ``BRAINALIGN_OFFLINE`` (or ``HF_HUB_OFFLINE``): never touch the network.
"""

from __future__ import annotations

import os
from pathlib import Path

from brainalign.errors import NotWritableError


def _unusable(path: Path, from_env: bool) -> NotWritableError:
    if from_env:
        return NotWritableError(f"BRAINALIGN_HOME={path} is not a writable folder; point it at one")
    return NotWritableError(f"cache folder {path} is not a writable folder; set BRAINALIGN_HOME to a writable folder")


def _usable_dir(path: Path, from_env: bool) -> Path:
    """``path`` as a folder this process can write, created if missing; one-line error otherwise."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError:  # a file in the way, no permission, read-only file system
        raise _unusable(path, from_env) from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise _unusable(path, from_env)
    return path


def home() -> Path:
    """Root directory for caches and results, created on first use.

    A one-line :class:`~brainalign.errors.NotWritableError` when it is a file or cannot be written.
    """
    root = os.environ.get("BRAINALIGN_HOME")
    path = Path(root).expanduser() if root else Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "brainalign"
    return _usable_dir(path, from_env=bool(root))


def cache_dir(kind: str) -> Path:
    """A named sub-directory of :func:`home` (``activations``, ``models``, ``data``, ``results``)."""
    root = home()
    path = root / kind
    try:
        path.mkdir(exist_ok=True)
    except OSError:
        raise NotWritableError(f"cache folder {path} cannot be created (a file of that name, or no permission); "
                               "remove the file or point BRAINALIGN_HOME at another folder") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise NotWritableError(f"cache folder {path} is not writable; fix its permissions or point BRAINALIGN_HOME elsewhere")
    return path


def data_mirror() -> Path | None:
    """The data mirror folder if ``BRAINALIGN_DATA_MIRROR`` is set, else ``None``."""
    value = os.environ.get("BRAINALIGN_DATA_MIRROR")
    return Path(value).expanduser() if value else None


def offline() -> bool:
    """True when the network must not be used."""
    flags = (os.environ.get("BRAINALIGN_OFFLINE"), os.environ.get("HF_HUB_OFFLINE"))
    return any(f not in (None, "", "0", "false", "False") for f in flags)
