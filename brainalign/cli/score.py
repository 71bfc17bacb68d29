"""``brainalign score``: a language, vision or time-series config on the shared engine."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

from brainalign.cli.app import app, fail, quiet_libraries
from brainalign.errors import BrainAlignError


@app.command()
def score(
    config: Annotated[Path, typer.Option("--config", "-c", help="YAML score config.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output directory (re-runs resume here).")],
    set_: Annotated[list[str] | None, typer.Option("--set", help="Override, e.g. --set encoder.alphas=[1,10]")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")] = False,
    executor: Annotated[str, typer.Option(help="inprocess (default) or ray.")] = "inprocess",
) -> None:
    """Score models x layers x datasets with grouped-CV ridge; write tables and layer-profile figures.

    A config with ``task: vision`` scores vision models on an image dataset with every encoder instead;
    ``task: timeseries`` scores stories on the TR grid (word timing, resampling, FIR delays); ``task: in_context``
    meta-trains the in-context voxel encoder and scores it against per-voxel ridge per support size."""
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        from brainalign.config import InContextConfig, TimeSeriesConfig, VisionScoreConfig, load_config

        cfg = load_config(config, set_ or [], tasks=("language", "vision", "timeseries", "in_context"))
        if isinstance(cfg, InContextConfig):
            _score_in_context(cfg, out, quiet, executor)
            return
        if isinstance(cfg, VisionScoreConfig):
            _score_vision(cfg, out, quiet, executor)
            return
        if isinstance(cfg, TimeSeriesConfig):
            _score_timeseries(cfg, out, quiet, executor)
            return
        from brainalign.engine import get_executor
        from brainalign.tasks import language
        from brainalign.tasks.language.report_text import best_layer_text

        with quiet_libraries(quiet):
            run = language.run(cfg, out, executor=get_executor(executor), progress=not quiet)
    except BrainAlignError as exc:
        fail(exc)
    typer.echo(best_layer_text(run.out_dir))
    typer.echo(f"wrote {', '.join(sorted(run.files))} to {run.out_dir} "
               f"({len(run.jobs_run)} jobs run, {len(run.jobs_skipped)} reused)")


def _score_vision(cfg: object, out: Path, quiet: bool, executor: str) -> None:
    from brainalign.engine import get_executor
    from brainalign.tasks import vision

    with quiet_libraries(quiet):
        run = vision.run(cfg, out, executor=get_executor(executor), progress=not quiet)  # type: ignore[arg-type]
    b = run.best[run.best["roi"] != "all"]
    for row in b.itertuples():
        typer.echo(f"{row.roi:>5} {row.model} · {row.encoder}: best {row.layer} r={row.r_mean:.3f} "
                   f"({row.frac_ceiling:.2f} of ceiling {row.ceiling_mean:.3f})")
    gt = run.summary[(run.summary["model"] == "ground_truth") & (run.summary["roi"] == "all")]
    if len(gt):
        typer.echo(f"ground-truth features: r={gt['r_mean'].iloc[0]:.3f} ({gt['frac_ceiling'].iloc[0]:.2f} of ceiling)")
    else:
        no_truth = _no_ground_truth(run.out)
        if no_truth:
            typer.echo(f"ground-truth features: no ground-truth row for real data; {no_truth.removeprefix('none: ')}")
    typer.echo(f"wrote scores.csv, summary.csv, best_layers.csv and figures to {run.out} "
               f"({len(run.ran)} jobs run, {len(run.reused)} reused)")


def _no_ground_truth(out: Path) -> str | None:
    """The ``ground_truth`` note of ``data_report.json`` (measured data: why there is no ground-truth job)."""
    import json

    try:
        note = json.loads((out / "data_report.json").read_text()).get("ground_truth")
    except (OSError, ValueError, AttributeError):
        return None
    return str(note) if note else None


def _score_timeseries(cfg: object, out: Path, quiet: bool, executor: str) -> None:
    from brainalign.engine import get_executor
    from brainalign.tasks import timeseries
    from brainalign.tasks.timeseries.report_text import best_layer_text

    with quiet_libraries(quiet):
        run = timeseries.run(cfg, out, executor=get_executor(executor), progress=not quiet)  # type: ignore[arg-type]
    typer.echo(best_layer_text(run))
    typer.echo(f"wrote {', '.join(sorted(run.files))} to {run.out} "
               f"({len(run.jobs_run)} jobs run, {len(run.jobs_skipped)} reused)")


def _score_in_context(cfg: object, out: Path, quiet: bool, executor: str) -> None:
    from brainalign.engine import get_executor
    from brainalign.tasks import in_context
    from brainalign.tasks.in_context.report_text import curve_text

    with quiet_libraries(quiet):
        run = in_context.run(cfg, out, executor=get_executor(executor), progress=not quiet)
    typer.echo(curve_text(run))
