"""The typer application and the one way every command reports a user error (one line, exit 2)."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from typing import NoReturn

import typer

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Brain encoding and neural alignment.")


@contextlib.contextmanager
def quiet_libraries(quiet: bool) -> Iterator[None]:
    """With ``--quiet``, silence the Hugging Face libraries' own progress bars (weights loading, GGUF conversion)
    too: ``HF_HUB_DISABLE_PROGRESS_BARS`` for what is imported later, transformers' switch if already imported."""
    if not quiet:
        yield
        return
    old = os.environ.get("HF_HUB_DISABLE_PROGRESS_BARS")
    os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"
    hf_logging = sys.modules.get("transformers.utils.logging")
    was_on = hf_logging.is_progress_bar_enabled() if hf_logging is not None else False
    if hf_logging is not None:
        hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("HF_HUB_DISABLE_PROGRESS_BARS", None)
        else:
            os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = old
        if hf_logging is not None and was_on:
            hf_logging.enable_progress_bar()


def fail(exc: BaseException) -> NoReturn:
    """Print ``error: <one line>`` on stderr and exit with status 2."""
    typer.echo(f"error: {exc}", err=True)
    raise typer.Exit(2)
