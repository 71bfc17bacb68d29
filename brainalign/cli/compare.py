"""``brainalign compare``: paired model comparisons on a finished language run."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from brainalign.cli.app import app, fail
from brainalign.errors import BrainAlignError


@app.command()
def compare(
    scores: Annotated[Path, typer.Option("--scores", help="Output folder of a `brainalign score` run.")],
    pairs: Annotated[list[str] | None, typer.Option("--pairs", help="base:other model pairs (default: registry)")] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Default: SCORES/compare")] = None,
    n_boot: Annotated[int, typer.Option(help="Group-bootstrap draws.")] = 1000,
    n_perm: Annotated[int, typer.Option(help="Paired permutations.")] = 1000,
) -> None:
    """Paired model comparisons (e.g. base vs instruct) and alignment vs model size, with a figure."""
    try:
        from brainalign.errors import ConfigError
        from brainalign.tasks.language.compare import run_compare

        parsed = None
        if pairs:
            bad = [p for p in pairs if p.count(":") != 1]
            if bad:
                raise ConfigError(f"pair {bad[0]!r} is not base:other, e.g. --pairs smollm2-135m:smollm2-135m-instruct")
            parsed = [tuple(p.split(":")) for p in pairs]
        run = run_compare(scores, parsed, n_boot=n_boot, n_perm=n_perm, out_dir=out)
    except BrainAlignError as exc:
        fail(exc)
    typer.echo(f"wrote {', '.join(sorted(run.files))} to {run.out_dir}")
