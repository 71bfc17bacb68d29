"""``brainalign report DIR``: one self-contained HTML page for a finished score run."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from brainalign.errors import BrainAlignError


def report(
    run_dir: Annotated[Path, typer.Argument(help="Output folder of a `brainalign score` run.")],
) -> None:
    """Write RUN_DIR/report.html: run header, sortable tables, embedded figures and the resolved config."""
    try:
        from brainalign.reports.html import write_report

        path = write_report(run_dir)
    except BrainAlignError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"wrote {path}")
