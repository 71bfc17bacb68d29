"""Helpers shared by the bad-input tests."""

from __future__ import annotations

from pathlib import Path

import pytest


def listing(folder: Path) -> list[str]:
    """Every path under ``folder`` (relative, sorted), hidden temporaries included."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def one_line(exc: pytest.ExceptionInfo[BaseException]) -> str:
    """The error message, asserted to be a single line."""
    text = str(exc.value)
    assert "\n" not in text, text
    return text
