"""The typer application and the one way every command reports a user error (one line, exit 2)."""

from __future__ import annotations

from typing import NoReturn

import typer

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Brain encoding and neural alignment.")


def fail(exc: BaseException) -> NoReturn:
    """Print ``error: <one line>`` on stderr and exit with status 2."""
    typer.echo(f"error: {exc}", err=True)
    raise typer.Exit(2)
