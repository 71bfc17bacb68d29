"""``brainalign reconstruct``: task reconstruct (voxels -> embeddings -> images) or decode_category."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

from brainalign.cli.app import app, fail, quiet_libraries
from brainalign.errors import BrainAlignError


@app.command()
def reconstruct(
    config: Annotated[Path, typer.Option("--config", "-c", help="YAML config with task: reconstruct or decode_category.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output directory (re-runs resume here).")],
    set_: Annotated[list[str] | None, typer.Option("--set", help="Override, e.g. --set cv.test_fraction=0.3")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")] = False,
    executor: Annotated[str, typer.Option(help="inprocess (default) or ray.")] = "inprocess",
) -> None:
    """Decode brain responses: to image embeddings (retrieval, reconstructions, metric suite) or to categories."""
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        from brainalign.config import CategoryDecodeConfig, load_reconstruct_config
        from brainalign.engine import get_executor

        cfg = load_reconstruct_config(config, set_ or [])
        if isinstance(cfg, CategoryDecodeConfig):
            from brainalign.tasks import decode_category

            with quiet_libraries(quiet):
                run = decode_category.run(cfg, out, executor=get_executor(executor), progress=not quiet)
            for kind, res in run.results.items():
                typer.echo(f"{kind}: {res.summary()}")
            if cfg.ablate is not None:
                _echo_ablation(run.out)
            typer.echo(f"wrote metrics.csv, folds.csv, predictions.csv and confusion figures to {run.out} "
                       f"({len(run.jobs_run)} jobs run, {len(run.jobs_reused)} reused)")
            return
        from brainalign.tasks import reconstruct as task

        with quiet_libraries(quiet):
            rec = task.run(cfg, out, executor=get_executor(executor), progress=not quiet)
    except BrainAlignError as exc:
        fail(exc)
    for row in rec.retrieval.itertuples():
        typer.echo(f"{row.decoder:>10} {row.direction} retrieval top-1 {row.top1:.3f} [{row.ci_low:.3f}, "
                   f"{row.ci_high:.3f}] among {row.n_candidates} (chance {row.chance:.4f})")
    typer.echo(f"wrote metrics.csv, retrieval.csv, per_image.csv and reconstructions.png to {rec.out} "
               f"({len(rec.jobs_run)} jobs run, {len(rec.jobs_reused)} reused)")


def _echo_ablation(out: Path) -> None:
    """One line per network of ``ablation.csv``: voxels, accuracy drop [CI], p and the random-ablation band."""
    import pandas as pd

    path = out / "ablation.csv"
    if not path.is_file():
        return
    for r in pd.read_csv(path).itertuples():
        typer.echo(f"ablate {r.network:>10} ({r.n_voxels} voxels): drop {r.drop:+.3f} [{r.ci_low:+.3f}, "
                   f"{r.ci_high:+.3f}], p={r.p:.3f}; random band {r.random_drop_mean:+.3f} "
                   f"[{r.random_drop_low:+.3f}, {r.random_drop_high:+.3f}]")
