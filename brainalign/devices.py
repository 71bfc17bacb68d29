"""The one device resolver (torch imported only when a device must be probed).

``"auto"`` picks CUDA when available, else the CPU; it never picks MPS (no float64 there, which the ridge engine
uses on the CPU): ask for ``"mps"`` explicitly.
"""

from __future__ import annotations

import re
from typing import Any

from brainalign.errors import ConfigError

_CUDA = re.compile(r"cuda(?::(\d+))?")
DTYPES = ("float32", "float64")


def resolve_device(device: Any = "auto") -> str:
    """``"auto"`` | ``"cpu"`` | ``"cuda"`` | ``"cuda:N"`` | ``"mps"`` (or a ``torch.device``) -> a device string.

    Raises :class:`~brainalign.errors.ConfigError` (one line) for an unknown or unavailable device.
    """
    name = str(device).strip().lower()
    if name == "cpu":
        return "cpu"
    m = _CUDA.fullmatch(name)
    if name not in ("auto", "mps") and m is None:
        raise ConfigError(f"unknown device {device!r}; use 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'")
    import torch

    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name == "mps":
        if not torch.backends.mps.is_available():
            raise ConfigError("device 'mps' is not available on this machine; use device='cpu' or 'auto'")
        return "mps"
    if not torch.cuda.is_available():
        raise ConfigError(f"device {device!r} needs CUDA, which is not available here; use device='cpu' or 'auto'")
    if m is not None and m.group(1) is not None and int(m.group(1)) >= torch.cuda.device_count():
        raise ConfigError(
            f"device {device!r} does not exist: {torch.cuda.device_count()} CUDA device(s); use cuda:0.."
            f"{torch.cuda.device_count() - 1}"
        )
    return name


def resolve_dtype(dtype: str, device: str) -> str:
    """Working dtype name: ``"auto"`` -> ``"float32"`` on an accelerator, ``"float64"`` on the CPU.

    ``device`` is a resolved device string (see :func:`resolve_device`).
    """
    if dtype == "auto":
        return "float64" if device == "cpu" else "float32"
    if dtype not in DTYPES:
        raise ConfigError(f"unknown dtype {dtype!r}; use 'auto', 'float32' or 'float64'")
    return dtype
