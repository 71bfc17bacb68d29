"""Command line: one module per command (``score``, ``reconstruct``, ``train-decoder``, ``compare``, ``models``,
``datasets``, ``report``, ``discover``) registered on one typer app."""

from __future__ import annotations

import sys

from brainalign.cli import compare, discover, listing, reconstruct, report, score, train_decoder  # noqa: F401 - registers
from brainalign.cli.app import app

__all__ = ["app", "main"]


def main() -> None:  # pragma: no cover
    app(sys.argv[1:])
