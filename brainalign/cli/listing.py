"""``brainalign models`` and ``brainalign datasets``: what the registries and the catalog hold."""

from __future__ import annotations

import typer

from brainalign.cli.app import app, fail
from brainalign.errors import BrainAlignError


@app.command()
def models() -> None:
    """List the registered models: text (language task), vision (vision/reconstruct) and generators."""
    try:
        from brainalign.decoders.generator_registry import load_generator_entries
        from brainalign.features.specs import load_model_entries
        from brainalign.features.vision_sources import load_vision_entries

        for e in load_model_entries().values():
            typer.echo(f"{e.name:32s} text      {e.kind:17s} {e.hf_id or e.package or ''}")
        for v in load_vision_entries().values():
            typer.echo(f"{v.name:32s} vision    {v.kind:17s} {v.model_id}")
        for g in load_generator_entries().values():
            typer.echo(f"{g.name:32s} generator {g.kind:17s} {g.model_id}")
    except BrainAlignError as exc:
        fail(exc)


@app.command()
def datasets() -> None:
    """List the datasets of the catalog."""
    try:
        from brainalign.data.catalog import available

        for name in available():
            typer.echo(name)
    except BrainAlignError as exc:
        fail(exc)
