"""Token -> unit mapping via character offsets, and pooling a unit's tokens (``last`` or ``mean``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np

from brainalign.errors import ModelError

Pooling = Literal["last", "mean"]
POOLINGS: tuple[str, ...] = ("last", "mean")


def unit_char_spans(units: Sequence[str], separator: str) -> tuple[str, list[tuple[int, int]]]:
    """``(text, spans)``: units joined with ``separator`` and each unit's ``[start, stop)`` character span."""
    spans: list[tuple[int, int]] = []
    pos = 0
    for i, unit in enumerate(units):
        if i:
            pos += len(separator)
        spans.append((pos, pos + len(unit)))
        pos += len(unit)
    return separator.join(units), spans


def assign_tokens(
    offsets: Sequence[tuple[int, int]], special: Sequence[int], spans: Sequence[tuple[int, int]]
) -> np.ndarray:
    """``(n_tokens,)`` unit index of each token, ``-1`` for special tokens and separator-only tokens.

    A token belongs to the unit its characters overlap (a leading space from the separator does not count);
    a token overlapping two units (a merge across the separator) goes to the later one, so an earlier unit
    never includes characters of a later unit.
    """
    starts = np.array([s for s, _ in spans], dtype=np.int64)
    stops = np.array([e for _, e in spans], dtype=np.int64)
    out = np.full(len(offsets), -1, dtype=np.int64)
    for t, ((s, e), sp) in enumerate(zip(offsets, special, strict=True)):
        if sp or e <= s:
            continue
        overlap = np.flatnonzero((starts < e) & (stops > s))
        if overlap.size:
            out[t] = overlap[-1]
    return out


def unit_tokens(token_unit: np.ndarray, n_units: int, units: Sequence[str] | None = None) -> list[np.ndarray]:
    """Token indices of each unit (ascending); raises :class:`ModelError` when a unit got no token."""
    groups = [np.flatnonzero(token_unit == u) for u in range(n_units)]
    empty = [u for u, g in enumerate(groups) if g.size == 0]
    if empty:
        shown = repr(units[empty[0]]) if units is not None else str(empty[0])
        raise ModelError(
            f"unit {shown} has no token of its own (merged into a neighbour by the tokenizer); "
            "use a whitespace separator or merge the units"
        )
    return groups


def pool_rows(states: Any, positions: Sequence[np.ndarray], pooling: str) -> Any:
    """Pool rows of ``states`` ``(n_positions, hidden)`` (torch): ``(n_units, hidden)`` float32.

    ``last``: the row at each unit's last position; ``mean``: the average of its rows (index ops, exact).
    """
    import torch

    if pooling not in POOLINGS:
        raise ModelError(f"unknown pooling {pooling!r}; use one of {', '.join(POOLINGS)}")
    dev = states.device
    if pooling == "last":
        idx = torch.tensor([int(p[-1]) for p in positions], dtype=torch.long, device=dev)
        return states.index_select(0, idx).float()
    idx = torch.from_numpy(np.concatenate(positions).astype(np.int64)).to(dev)
    owner = torch.from_numpy(np.repeat(np.arange(len(positions)), [len(p) for p in positions])).to(dev)
    total = torch.zeros((len(positions), states.shape[-1]), dtype=torch.float32, device=dev)
    total.index_add_(0, owner, states.index_select(0, idx).float())
    counts = torch.tensor([len(p) for p in positions], dtype=torch.float32, device=dev)
    return total / counts[:, None]
