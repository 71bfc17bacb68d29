"""``brainalign report DIR``: one self-contained HTML page for a finished score run."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from brainalign.cli.app import app, fail
from brainalign.errors import BrainAlignError


@app.command()
def report(
    run_dir: Annotated[Path, typer.Argument(help="Output folder of a `brainalign score` run.")],
) -> None:
    """Write RUN_DIR/report.html: run header, sortable tables, embedded figures and the resolved config."""
    try:
        from brainalign.reports.html import write_report

        path = write_report(run_dir)
    except BrainAlignError as exc:
        fail(exc)
    typer.echo(f"wrote {path}")
