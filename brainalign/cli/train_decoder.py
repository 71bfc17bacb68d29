"""``brainalign train-decoder``: one MindEye-style decoder into a resumable run folder."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

from brainalign.cli.app import app, fail
from brainalign.errors import BrainAlignError


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
        fail(exc)
    typer.echo(f"trained {decoder} ({len(dec.history_)} epochs) into {out}; use it with "
               f"decoders[].checkpoint: {out}")
