"""``brainalign compare``: paired model comparisons on a finished language or time-series run."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from brainalign.cli.app import app, fail
from brainalign.errors import BrainAlignError


@app.command()
def compare(
    scores: Annotated[Path, typer.Option("--scores", help="Output folder of a `brainalign score` run.")],
    pairs: Annotated[list[str] | None, typer.Option(
        "--pairs", help="base:other model pairs, or base,other (media sources: audio:a,audio:b); default: registry")] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Default: SCORES/compare")] = None,
    n_boot: Annotated[int, typer.Option(help="Group-bootstrap draws.")] = 1000,
    n_perm: Annotated[int, typer.Option(help="Paired permutations.")] = 1000,
) -> None:
    """Paired model comparisons (e.g. base vs instruct) and alignment vs model size, with a figure."""
    try:
        from brainalign.tasks.language.compare import run_compare

        parsed = [_pair(p) for p in pairs] if pairs else None
        from brainalign.tasks.timeseries.compare import is_timeseries_run, run_timeseries_compare

        if is_timeseries_run(scores):
            files = run_timeseries_compare(scores, parsed, out_dir=out)
            typer.echo(f"wrote {', '.join(sorted(files))} to {out or scores / 'compare'}")
            return
        run = run_compare(scores, parsed, n_boot=n_boot, n_perm=n_perm, out_dir=out)
    except BrainAlignError as exc:
        fail(exc)
    typer.echo(f"wrote {', '.join(sorted(run.files))} to {run.out_dir}")


def _pair(text: str) -> tuple[str, str]:
    """``base:other`` or ``base,other`` (the comma form for names holding a colon, e.g. ``audio:a,audio:b``)."""
    from brainalign.errors import ConfigError

    parts = text.split(",") if "," in text else text.split(":") if text.count(":") == 1 else (
        [":".join(text.split(":")[:2]), ":".join(text.split(":")[2:])] if text.count(":") == 3 else [])
    if len(parts) != 2 or not all(p.strip() for p in parts):
        raise ConfigError(f"pair {text!r} is not base:other (or base,other), e.g. --pairs "
                          "smollm2-135m:smollm2-135m-instruct or --pairs audio:qwen2-audio-7b,audio:qwen2-audio-7b-instruct")
    return parts[0].strip(), parts[1].strip()
