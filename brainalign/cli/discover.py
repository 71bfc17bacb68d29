"""``brainalign discover``: voxel preferences, captions and brain-guided synthesis from a finished vision score
run's saved encoders (``task: discover``)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

from brainalign.cli.app import app, fail, quiet_libraries
from brainalign.errors import BrainAlignError


def load_discover_config(config: Path | None, overrides: list[str]) -> object:
    """A ``task: discover`` config (YAML + ``--set`` overrides); one-line ConfigError otherwise."""
    from brainalign.config.discover import DiscoverConfig
    from brainalign.config.loading import read_raw_config, validate_config
    from brainalign.errors import ConfigError

    raw, source = read_raw_config(config, overrides)
    task = raw.setdefault("task", "discover")
    if task != "discover":
        raise ConfigError(f"{source}: task {task!r} is not discover; brainalign discover runs task: discover configs")
    return validate_config(DiscoverConfig, raw, source)


@app.command()
def discover(
    config: Annotated[Path, typer.Option("--config", "-c", help="YAML config with task: discover.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output directory (re-runs resume here).")],
    set_: Annotated[list[str] | None, typer.Option("--set", help="Override, e.g. --set preferences.top_k=4")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")] = False,
    executor: Annotated[str, typer.Option(help="inprocess (default) or ray.")] = "inprocess",
) -> None:
    """Ask a score run's fitted encoders what each voxel / ROI prefers (nearest images, captions) and which
    images the encoder predicts drive an ROI most (guided diffusion)."""
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        from brainalign.engine import get_executor
        from brainalign.tasks import discover as task

        cfg = load_discover_config(config, set_ or [])
        with quiet_libraries(quiet):
            run = task.run(cfg, out, executor=get_executor(executor), progress=not quiet)  # type: ignore[arg-type]
    except BrainAlignError as exc:
        fail(exc)
    s = run.drive_stats
    if len(s):
        for r in s[s["level"] == "voxel"].itertuples():
            typer.echo(f"{r.encoder} {r.roi:>5}: top images' true drive {r.mean_diff:+.3f} over random "
                       f"(d_z={r.cohens_dz:.2f}, rank-biserial={r.rank_biserial:.2f}, p={r.p_wilcoxon:.2g}, "
                       f"percentile {r.percentile_top:.2f}, {r.n} voxels)")
    g = run.guidance
    if len(g):
        for (enc, roi), d in g.groupby(["encoder", "roi"], sort=False):
            vals = ", ".join(f"{a:.3f}" for a in d.sort_values("scale")["activation_mean"])
            typer.echo(f"{enc} {roi}: predicted activation by scale {vals} (top real images "
                       f"{d['reference_mean'].iloc[0]:.3f})")
    typer.echo(f"wrote preferences, captions, synthesis tables and figures to {run.out} "
               f"({len(run.ran)} jobs run, {len(run.reused)} reused)")
