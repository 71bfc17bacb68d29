"""Command line: ``brainalign score / models / datasets``."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated

import typer

from brainalign.cli_report import report
from brainalign.errors import BrainAlignError

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Brain encoding and neural alignment.")


def _fail(exc: BaseException) -> None:
    typer.echo(f"error: {exc}", err=True)
    raise typer.Exit(2)


@app.command()
def score(
    config: Annotated[Path, typer.Option("--config", "-c", help="YAML score config.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output directory (re-runs resume here).")],
    set_: Annotated[list[str] | None, typer.Option("--set", help="Override, e.g. --set encoder.alphas=[1,10]")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")] = False,
    executor: Annotated[str, typer.Option(help="inprocess (default) or ray.")] = "inprocess",
) -> None:
    """Score models x layers x datasets with grouped-CV ridge; write tables and layer-profile figures.

    A config with ``task: vision`` scores vision models on an image dataset with every encoder instead."""
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        from brainalign.config import VisionScoreConfig, load_config

        cfg = load_config(config, set_ or [], tasks=("language", "vision"))
        if isinstance(cfg, VisionScoreConfig):
            _score_vision(cfg, out, quiet, executor)
            return
        from brainalign.engine import get_executor
        from brainalign.tasks import language
        from brainalign.tasks.language.report_text import best_layer_text

        run = language.run(cfg, out, executor=get_executor(executor), progress=not quiet)
    except BrainAlignError as exc:
        _fail(exc)
    typer.echo(best_layer_text(run.out_dir))
    typer.echo(f"wrote {', '.join(sorted(run.files))} to {run.out_dir} "
               f"({len(run.jobs_run)} jobs run, {len(run.jobs_skipped)} reused)")


def _score_vision(cfg: object, out: Path, quiet: bool, executor: str) -> None:
    from brainalign.engine import get_executor
    from brainalign.tasks import vision

    run = vision.run(cfg, out, executor=get_executor(executor), progress=not quiet)  # type: ignore[arg-type]
    b = run.best[run.best["roi"] != "all"]
    for row in b.itertuples():
        typer.echo(f"{row.roi:>5} {row.model} · {row.encoder}: best {row.layer} r={row.r_mean:.3f} "
                   f"({row.frac_ceiling:.2f} of ceiling {row.ceiling_mean:.3f})")
    gt = run.summary[(run.summary["model"] == "ground_truth") & (run.summary["roi"] == "all")]
    if len(gt):
        typer.echo(f"ground-truth features: r={gt['r_mean'].iloc[0]:.3f} ({gt['frac_ceiling'].iloc[0]:.2f} of ceiling)")
    typer.echo(f"wrote scores.csv, summary.csv, best_layers.csv and figures to {run.out} "
               f"({len(run.ran)} jobs run, {len(run.reused)} reused)")


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

            run = decode_category.run(cfg, out, executor=get_executor(executor), progress=not quiet)
            for kind, res in run.results.items():
                typer.echo(f"{kind}: {res.summary()}")
            typer.echo(f"wrote metrics.csv, folds.csv, predictions.csv and confusion figures to {run.out} "
                       f"({len(run.jobs_run)} jobs run, {len(run.jobs_reused)} reused)")
            return
        from brainalign.tasks import reconstruct as task

        rec = task.run(cfg, out, executor=get_executor(executor), progress=not quiet)
    except BrainAlignError as exc:
        _fail(exc)
    for row in rec.retrieval.itertuples():
        typer.echo(f"{row.decoder:>10} {row.direction} retrieval top-1 {row.top1:.3f} [{row.ci_low:.3f}, "
                   f"{row.ci_high:.3f}] among {row.n_candidates} (chance {row.chance:.4f})")
    typer.echo(f"wrote metrics.csv, retrieval.csv, per_image.csv and reconstructions.png to {rec.out} "
               f"({len(rec.jobs_run)} jobs run, {len(rec.jobs_reused)} reused)")


@app.command("train-decoder")
def train_decoder_cmd(
    config: Annotated[Path, typer.Option("--config", "-c", help="A task: reconstruct YAML config.")],
    decoder: Annotated[str, typer.Option("--decoder", "-d", help="Name of a kind: mindeye decoder in the config.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Run folder (checkpoints; an interrupted run resumes).")],
    set_: Annotated[list[str] | None, typer.Option("--set", help="Override, e.g. --set cv.test_fraction=0.3")] = None,
) -> None:
    """Train one MindEye-style decoder (works under `accelerate launch` for several GPUs or machines)."""
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        from brainalign.config import ReconstructConfig, load_reconstruct_config
        from brainalign.errors import ConfigError
        from brainalign.tasks.reconstruct.train import train_decoder

        cfg = load_reconstruct_config(config, set_ or [])
        if not isinstance(cfg, ReconstructConfig):
            raise ConfigError(f"{config} is a {cfg.task} config; train-decoder needs task: reconstruct")
        dec = train_decoder(cfg, decoder, out)
    except BrainAlignError as exc:
        _fail(exc)
    typer.echo(f"trained {decoder} ({len(dec.history_)} epochs) into {out}; use it with "
               f"decoders[].checkpoint: {out}")


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
        _fail(exc)
    typer.echo(f"wrote {', '.join(sorted(run.files))} to {run.out_dir}")


@app.command()
def models() -> None:
    """List the registered models."""
    try:
        from brainalign.features.specs import load_model_entries

        for e in load_model_entries().values():
            typer.echo(f"{e.name:32s} {e.kind:16s} {e.hf_id or e.package or ''}")
    except BrainAlignError as exc:
        _fail(exc)


@app.command()
def datasets() -> None:
    """List the datasets of the catalog."""
    from brainalign.data.catalog import available

    for name in available():
        typer.echo(name)


app.command("report")(report)


def main() -> None:  # pragma: no cover
    app(sys.argv[1:])


if __name__ == "__main__":  # pragma: no cover - `python -m brainalign.cli` (e.g. under accelerate launch)
    main()
