"""One cached-extraction skeleton shared by text (:mod:`~brainalign.features.extract`) and vision
(:mod:`~brainalign.features.vision`) extraction.

:func:`cached_extraction`: key from the semantic config -> a complete entry whose every chunk passes its checksum
is returned as is (no model loaded); otherwise the caller's extraction is started (model loaded), a partial entry is
resumed (only contexts not yet ``done`` run), rows are written in contiguous runs and flushed periodically (and on
interruption), the finished entry is marked complete and checked once more before it is returned.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from brainalign.cache.activations import ActivationEntry, ActivationStore, DamagedEntryError, activation_key

FLUSH_SECONDS = 60.0
FLUSH_ROWS = 4096
FLUSH_BYTES = 512 << 20

Block = tuple[list[int], Sequence[np.ndarray]]
"""``(contexts, per_layer)``: consecutive context ids and, per layer, their rows ``(n_rows, *row_shape)``."""


@dataclass(frozen=True)
class EntryLayout:
    """Shape of an entry: layer names, rows of each context, and ``dim`` (2-D layers) or per-row ``layer_shapes``.

    Attributes:
        layer_names: names in depth order.
        context_rows: ``(start, stop)`` rows of each context, in row order and contiguous.
        dim: every layer is ``(n_rows, dim)`` (give this or ``layer_shapes``).
        layer_shapes: layer ``i`` is ``(n_rows, *layer_shapes[i])``.
        layer_attrs: optional per-layer metadata kept in the entry.
    """

    layer_names: list[str]
    context_rows: list[tuple[int, int]]
    dim: int | None = None
    layer_shapes: list[tuple[int, ...]] | None = None
    layer_attrs: list[dict[str, Any]] | None = None

    @property
    def n_rows(self) -> int:
        return self.context_rows[-1][1] if self.context_rows else 0


class Extraction(Protocol):
    """A loaded model ready to fill an entry."""

    layout: EntryLayout

    def blocks(self, todo: list[int]) -> Iterator[Block]:
        """Features of the contexts ``todo`` (ascending), as blocks of consecutive contexts."""
        ...


def cached_extraction(
    store: ActivationStore, config: dict[str, Any], start: Callable[[], Extraction], *, progress: bool, desc: str,
    unit: str,
) -> tuple[str, ActivationEntry]:
    """``(key, complete checked entry)`` for ``config``: read from ``store``, else extracted by ``start()`` (resuming)."""
    key = activation_key(config)
    cached = store.open_complete(key)
    if cached is not None:
        return key, cached
    extraction = start()
    layout = extraction.layout
    store.open_resumable(key, layout.context_rows)  # drops a damaged partial entry (warning) before resuming it
    entry = store.create(key, config=config, layer_names=layout.layer_names, n_stimuli=layout.n_rows,
                         n_contexts=len(layout.context_rows), dim=layout.dim, layer_shapes=layout.layer_shapes,
                         layer_attrs=layout.layer_attrs)
    _fill(entry, extraction, progress=progress, desc=desc, unit=unit)
    entry.mark_complete()
    damage = entry.damage()
    if damage is not None:
        store.drop(key, damage)
        raise DamagedEntryError(f"activation cache entry {key} is damaged right after writing ({damage.reason}) at "
                                f"{damage.path}; check the disk under {store.root} and run again")
    return key, entry


def _fill(entry: ActivationEntry, extraction: Extraction, *, progress: bool, desc: str, unit: str) -> None:
    """Run every context not yet done, writing through a :class:`_Writer` (flushed also on interruption)."""
    from tqdm.auto import tqdm

    n = len(extraction.layout.context_rows)
    todo = [int(c) for c in np.flatnonzero(~entry.done())]
    writer = _Writer(entry, extraction.layout.context_rows)
    bar = tqdm(total=n, initial=n - len(todo), disable=not progress, unit=unit, desc=desc)
    try:
        for contexts, per_layer in extraction.blocks(todo):
            writer.add(contexts, per_layer)
            bar.update(len(contexts))
    finally:
        writer.flush()  # an interrupted run keeps every finished context
        bar.close()


class _Writer:
    """Buffers blocks and writes contiguous runs of contexts (one write per layer per run), then marks them done.

    Flushes after ``FLUSH_ROWS`` rows, ``FLUSH_BYTES`` bytes or ``FLUSH_SECONDS`` seconds of pending blocks.
    """

    def __init__(self, entry: ActivationEntry, context_rows: list[tuple[int, int]]) -> None:
        self.entry = entry
        self.context_rows = context_rows
        self.pending: list[Block] = []
        self.rows = 0
        self.nbytes = 0
        self.last_flush = time.monotonic()

    def add(self, contexts: list[int], per_layer: Sequence[np.ndarray]) -> None:
        self.pending.append((list(contexts), per_layer))
        self.rows += len(per_layer[0])
        self.nbytes += sum(int(np.asarray(a).nbytes) for a in per_layer)
        if (self.rows >= FLUSH_ROWS or self.nbytes >= FLUSH_BYTES
                or time.monotonic() - self.last_flush > FLUSH_SECONDS):
            self.flush()

    def flush(self) -> None:
        for run in _contiguous_runs(sorted(self.pending, key=lambda block: block[0][0])):
            contexts = [c for block, _ in run for c in block]
            n_layers = len(run[0][1])
            rows = [np.concatenate([np.asarray(block[1][i]) for block in run], axis=0) for i in range(n_layers)]
            self.entry.write_rows(self.context_rows[contexts[0]][0], rows)
            self.entry.mark_done(contexts)
        self.pending.clear()
        self.rows = self.nbytes = 0
        self.last_flush = time.monotonic()


def _contiguous_runs(blocks: list[Block]) -> list[list[Block]]:
    """Split blocks sorted by first context into runs whose contexts follow each other without gaps."""
    runs: list[list[Block]] = []
    for block in blocks:
        if runs and runs[-1][-1][0][-1] + 1 == block[0][0]:
            runs[-1].append(block)
        else:
            runs.append([block])
    return runs
