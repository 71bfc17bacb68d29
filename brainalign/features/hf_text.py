"""Hidden states of HF text models per unit: tokenise each context once, plan forward passes, pool.

- Causal LMs (mode ``full``): one pass per context; by causality a unit's last token equals running the prefix
  of units ``0..i`` alone.
- Masked LMs: ``prefix`` (default; one pass per unit over units ``0..i`` so a unit never sees later units) or
  ``full`` (one pass over the whole context).
- Contexts longer than the window: units whose last token falls past the first window get their own window
  ending at that token (as much left context as fits; one window-sized pass per such unit). Special tokens the
  tokenizer adds (BOS, [CLS], [SEP]) wrap every pass and are never assigned to a unit.
- ``stride`` (causal ``full`` only; a fraction of the window's text room): strided windows instead. Pass ``k``
  holds content tokens ``[k*step, k*step + room)``; it pools the units whose last token falls in its final
  ``step`` tokens (pass 0: all of ``[0, room)``), so every unit has between ``room - step + 1`` and ``room`` tokens
  of context and costs about ``(room + n_special) / step`` token forwards per token. Each unit equals a lone pass
  over its own window ``[k*step, last + 1)``. Contexts that fit in one window are planned exactly as without it.

Why not a KV cache across windows: a cached key/value of layer ``l >= 1`` encodes its token's own left context
(every earlier token of the pass that made it), so reusing it in a later window gives a receptive field beyond
that window; only layer 1 of a RoPE model comes out equal to a lone window (absolute positions break even that).
Exact windows therefore need their overlap recomputed; ``stride`` sets how much.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from brainalign.errors import ModelError
from brainalign.features.pooling import assign_tokens, pool_rows, unit_char_spans, unit_tokens

CONTEXT_MODES: tuple[str, ...] = ("full", "prefix")


@dataclass(frozen=True)
class TokenizedContext:
    """One context: content token ids (no specials), the special ids around them, each unit's token indices."""

    ids: list[int]
    prefix: list[int]
    suffix: list[int]
    units: list[np.ndarray]

    @property
    def last(self) -> np.ndarray:
        """``(n_units,)`` content index of each unit's last token."""
        return np.array([u[-1] for u in self.units], dtype=np.int64)


@dataclass(frozen=True)
class Job:
    """One forward pass: content tokens ``[start, stop)`` of context ``ctx``; pools ``units`` (context-local)."""

    ctx: int
    start: int
    stop: int
    units: tuple[int, ...]


def tokenize_context(tokenizer: Any, units: Sequence[str], separator: str) -> TokenizedContext:
    """Join ``units`` with ``separator``, tokenise once (default special tokens) and map tokens to units."""
    text, spans = unit_char_spans(units, separator)
    enc = tokenizer(text, return_offsets_mapping=True, return_special_tokens_mask=True, verbose=False)
    ids, offsets, special = enc["input_ids"], enc["offset_mapping"], enc["special_tokens_mask"]
    special_idx = [i for i, s in enumerate(special) if s]
    content = [i for i, s in enumerate(special) if not s]
    if not content:
        raise ModelError(f"tokenizer produced no content tokens for {text[:40]!r}")
    first, last = content[0], content[-1]
    if any(first < i < last for i in special_idx):
        raise ModelError(f"special tokens inside the text {text[:40]!r}; remove special-token strings from stimuli")
    token_unit = assign_tokens(offsets, special, spans)[first : last + 1]
    return TokenizedContext(
        ids=list(ids[first : last + 1]),
        prefix=list(ids[:first]),
        suffix=list(ids[last + 1 :]),
        units=unit_tokens(token_unit, len(units), units),
    )


def plan_jobs(ctx: int, tc: TokenizedContext, window: int, mode: str, stride: float | None = None) -> list[Job]:
    """Forward passes for one context; ``window`` = most tokens per pass including special tokens.

    ``stride`` (causal ``full`` mode): fraction of the text room each strided window advances (see module doc).
    """
    if mode not in CONTEXT_MODES:
        raise ModelError(f"unknown context mode {mode!r}; use one of {', '.join(CONTEXT_MODES)}")
    room = window - len(tc.prefix) - len(tc.suffix)
    if room < 1:
        raise ModelError(f"window of {window} tokens leaves no room for text after special tokens")
    last = tc.last
    if mode == "prefix":
        if stride is not None:
            raise ModelError("context stride needs context mode 'full' (a causal model); drop the stride")
        return [Job(ctx, max(0, int(e) + 1 - room), int(e) + 1, (u,)) for u, e in enumerate(last)]
    stop = min(len(tc.ids), room)
    jobs = [Job(ctx, 0, stop, tuple(int(u) for u in np.flatnonzero(last < stop)))]
    if stride is not None:
        return jobs + strided_jobs(ctx, last, room, stride_tokens(room, stride))
    jobs += [Job(ctx, int(e) + 1 - room, int(e) + 1, (int(u),)) for u, e in enumerate(last) if e >= stop]
    return jobs


def stride_tokens(room: int, stride: float) -> int:
    """Content tokens each strided window advances: ``floor(stride * room)``, at least 1."""
    if not 0.0 < stride <= 1.0:
        raise ModelError(f"context stride must be in (0, 1] (a fraction of the window); got {stride}")
    return max(1, int(stride * room))


def window_starts(last: np.ndarray, room: int, step: int) -> np.ndarray:
    """``(n_units,)`` first content token of each unit's strided window (0 for units inside the first window).

    A unit whose last token ``e >= room`` belongs to pass ``k = (e - room) // step + 1``, starting at ``k * step``.
    """
    last = np.asarray(last, dtype=np.int64)
    k = np.where(last >= room, (last - room) // step + 1, 0)
    return k * step


def strided_jobs(ctx: int, last: np.ndarray, room: int, step: int) -> list[Job]:
    """Passes after the first window: one per stride that holds a unit's last token, ending at its last unit."""
    starts = window_starts(last, room, step)
    jobs = []
    for start in np.unique(starts[last >= room]):
        units = np.flatnonzero((starts == start) & (last >= room))
        jobs.append(Job(ctx, int(start), int(last[units].max()) + 1, tuple(int(u) for u in units)))
    return jobs


def model_window(model: Any, max_context_tokens: int | None = None) -> int:
    """Most tokens one pass may hold: the model's position limit, capped by ``max_context_tokens``."""
    cfg = model.config
    limit = getattr(cfg, "max_position_embeddings", None) or getattr(cfg, "n_positions", None) or 10**9
    if "roberta" in getattr(cfg, "model_type", ""):
        limit -= 2  # positions start after padding_idx
    return int(min(limit, max_context_tokens or limit))


def run_jobs(
    model: Any,
    tokenized: Sequence[TokenizedContext],
    jobs: Sequence[Job],
    *,
    pooling: str,
    batch_size: int,
    pad_id: int,
) -> dict[tuple[int, int], np.ndarray]:
    """Run ``jobs`` in right-padded batches; ``{(ctx, unit): (n_layers, hidden) float32}``."""
    import torch

    device = next(model.parameters()).device
    order = sorted(range(len(jobs)), key=lambda j: jobs[j].stop - jobs[j].start)
    out: dict[tuple[int, int], np.ndarray] = {}
    for b0 in range(0, len(order), max(1, batch_size)):
        batch = [jobs[j] for j in order[b0 : b0 + batch_size]]
        seqs, positions, owners = [], [], []
        for bi, job in enumerate(batch):
            tc = tokenized[job.ctx]
            seqs.append(tc.prefix + tc.ids[job.start : job.stop] + tc.suffix)
            for u in job.units:
                idx = tc.units[u]
                idx = idx[(idx >= job.start) & (idx < job.stop)]
                positions.append(len(tc.prefix) + idx - job.start)
                owners.append((bi, job.ctx, u))
        length = max(len(s) for s in seqs)
        ids = torch.full((len(seqs), length), pad_id, dtype=torch.long)
        mask = torch.zeros((len(seqs), length), dtype=torch.long)
        for i, s in enumerate(seqs):
            ids[i, : len(s)] = torch.tensor(s, dtype=torch.long)
            mask[i, : len(s)] = 1
        with torch.inference_mode():
            hidden = model(input_ids=ids.to(device), attention_mask=mask.to(device), output_hidden_states=True).hidden_states
        flat_pos = [pos + bi * length for pos, (bi, _, _) in zip(positions, owners, strict=True)]
        pooled = torch.stack([pool_rows(h.reshape(-1, h.shape[-1]), flat_pos, pooling) for h in hidden])
        pooled_np = pooled.cpu().numpy()
        for k, (_, ctx, u) in enumerate(owners):
            out[(ctx, u)] = pooled_np[:, k]
    return out


def extract_contexts(
    model: Any,
    tokenizer: Any,
    contexts: Sequence[Sequence[str]],
    separator: str,
    *,
    mode: str = "full",
    pooling: str = "last",
    window: int | None = None,
    batch_size: int = 8,
    stride: float | None = None,
) -> list[np.ndarray]:
    """Per context ``(n_layers, n_units, hidden)`` float32 (n_layers = embeddings + every layer).

    ``stride``: strided windows for contexts longer than ``window`` (causal ``full`` mode; see module doc).
    """
    window = window or model_window(model)
    tokenized = [tokenize_context(tokenizer, units, separator) for units in contexts]
    jobs = [job for c, tc in enumerate(tokenized) for job in plan_jobs(c, tc, window, mode, stride)]
    pad_id = tokenizer.pad_token_id
    if pad_id is None:
        pad_id = tokenizer.eos_token_id if tokenizer.eos_token_id is not None else 0
    pooled = run_jobs(model, tokenized, jobs, pooling=pooling, batch_size=batch_size, pad_id=int(pad_id))
    return [np.stack([pooled[(c, u)] for u in range(len(units))], axis=1) for c, units in enumerate(contexts)]
