"""Bad-input tests: every failure is one line, and nothing half-written is left behind."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _isolated(isolated_home: Path) -> Path:
    return isolated_home


@pytest.fixture
def umask() -> Iterator[object]:
    """``umask(mask)`` sets the process umask for the test; the old one is restored afterwards."""
    old = os.umask(0o022)
    os.umask(old)
    yield os.umask
    os.umask(old)
