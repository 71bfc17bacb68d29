"""Entry point: per-layer unit features of a registry model for a stimulus set, cached in the activation store."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from brainalign.cache.activations import ActivationEntry, ActivationStore
from brainalign.data.stimuli import StimulusSet
from brainalign.errors import ConfigError
from brainalign.features._cached import Block, EntryLayout, cached_extraction
from brainalign.features.hf_text import CONTEXT_MODES
from brainalign.features.pooling import POOLINGS
from brainalign.features.specs import ModelEntry

EXTRACTOR_VERSION = 1


@dataclass
class LayerFeatures:
    """Per-layer features of one model on one stimulus set (read lazily from the activation store).

    Attributes:
        key: activation cache key.
        layer_names: ``["emb", "L1", ..., "Ln"]``.
        depth_frac: ``(n_layers,)`` relative depth in [0, 1] (emb = 0, last layer = 1).
        n_layers: number of hidden states (embeddings + layers).
        n_stimuli: rows of every layer.
        config: the semantic config the key hashes.
    """

    key: str
    layer_names: list[str]
    depth_frac: np.ndarray
    n_layers: int
    n_stimuli: int
    config: dict[str, Any]
    _entry: ActivationEntry = field(repr=False)

    def get(self, i: int) -> np.ndarray:
        """Layer ``i`` (negative counts from the end): ``(n_stimuli, dim)`` float32."""
        if not -self.n_layers <= i < self.n_layers:
            raise IndexError(f"layer {i} out of range for {self.n_layers} layers")
        return self._entry.read(i % self.n_layers)

    def __len__(self) -> int:
        return self.n_layers

    @classmethod
    def from_entry(cls, key: str, entry: ActivationEntry) -> LayerFeatures:
        names = entry.layer_names
        n = len(names)
        depth = np.linspace(0.0, 1.0, n) if n > 1 else np.zeros(1)
        return cls(key=key, layer_names=names, depth_frac=depth, n_layers=n,
                   n_stimuli=int(entry.attrs["n_stimuli"]), config=dict(entry.attrs["config"]), _entry=entry)


def layer_names(n_layers: int) -> list[str]:
    """``["emb", "L1", ..., "L{n_layers - 1}"]`` for ``n_layers`` hidden states."""
    return ["emb"] + [f"L{i}" for i in range(1, n_layers)]


def resolve_context_mode(entry: ModelEntry, context_mode: str | None) -> str:
    """Causal models always run ``full`` (identical to ``prefix`` by causality); masked default ``prefix``."""
    if context_mode is not None and context_mode not in CONTEXT_MODES:
        raise ConfigError(f"unknown context_mode {context_mode!r}; use one of {', '.join(CONTEXT_MODES)}")
    if entry.arch == "causal":
        return "full"
    return context_mode or "prefix"


def resolve_context_stride(entry: ModelEntry, context_stride: float | None) -> float | None:
    """``None`` (one window per unit past the first window) or a stride in (0, 1] for a causal model."""
    if context_stride is None:
        return None
    if entry.arch != "causal":
        raise ConfigError(f"context_stride needs a causal model; {entry.name} is {entry.arch}, drop context_stride")
    if not 0.0 < float(context_stride) <= 1.0:
        raise ConfigError(f"context_stride must be in (0, 1] (a fraction of the window); got {context_stride}")
    return float(context_stride)


def semantic_config(
    entry: ModelEntry, stimuli: StimulusSet, *, random_init: bool, seed: int, pooling: str, context_mode: str,
    context_stride: float | None = None,
) -> dict[str, Any]:
    """What determines the features (and the cache key); never device or batch size.

    ``context_stride`` is keyed only when set, so entries extracted without it keep their key.
    """
    from brainalign.features.sources import weights_fingerprint

    stride = {} if context_stride is None else {"context_stride": float(context_stride)}
    return {
        "extractor_version": EXTRACTOR_VERSION,
        "model": entry.name,
        "hf_id": entry.hf_id,
        "revision": entry.revision,
        "weights": weights_fingerprint(entry),
        "max_context_tokens": entry.max_context_tokens,
        "random_init": bool(random_init),
        "seed": int(seed) if random_init else None,
        "stimuli": stimuli.name,
        "stimuli_hash": stimuli.content_hash(),
        "pooling": pooling,
        "context_mode": context_mode,
        **stride,
    }


def extract_layers(
    entry: ModelEntry,
    stimuli: StimulusSet,
    *,
    random_init: bool = False,
    seed: int = 0,
    pooling: str = "last",
    context_mode: str | None = None,
    device: str = "auto",
    batch_size: int = 8,
    progress: bool = True,
    store: ActivationStore | None = None,
    context_stride: float | None = None,
) -> LayerFeatures:
    """Hidden states of every layer pooled per unit; read from the cache when complete, else extracted (resuming).

    ``context_stride`` (causal models): contexts longer than the window run as strided windows advancing this
    fraction of the window, about ``1 / context_stride`` token forwards per token, each unit with between
    ``(1 - context_stride) * window`` and ``window`` tokens of context (see :mod:`brainalign.features.hf_text`).
    ``None`` gives every unit past the first window a full window of its own (one pass per unit).

    Returns :class:`LayerFeatures` whose ``get(i)`` is ``(n_stimuli, hidden)`` float32 in stimulus order.
    """
    if pooling not in POOLINGS:
        raise ConfigError(f"unknown pooling {pooling!r}; use one of {', '.join(POOLINGS)}")
    mode = resolve_context_mode(entry, context_mode)
    stride = resolve_context_stride(entry, context_stride)
    config = semantic_config(entry, stimuli, random_init=random_init, seed=seed, pooling=pooling, context_mode=mode,
                             context_stride=stride)

    def start() -> _TextExtraction:
        return _TextExtraction(entry, stimuli, random_init=random_init, seed=seed, pooling=pooling, mode=mode,
                               device=device, batch_size=batch_size, stride=stride)

    key, cached = cached_extraction(store or ActivationStore(), config, start, progress=progress,
                                    desc=f"{entry.name} layers", unit="ctx")
    return LayerFeatures.from_entry(key, cached)


class _TextExtraction:
    """A loaded text model over a stimulus set: one block per context, ``(n_layers, n_rows, hidden)``."""

    def __init__(self, entry: ModelEntry, stimuli: StimulusSet, *, random_init: bool, seed: int, pooling: str,
                 mode: str, device: str, batch_size: int, stride: float | None = None) -> None:
        from brainalign.features.hf_text import model_window
        from brainalign.features.sources import load_model

        self.model, self.tokenizer = load_model(entry, random_init=random_init, seed=seed, device=_device(device))
        self.stimuli, self.pooling, self.mode, self.batch_size = stimuli, pooling, mode, batch_size
        self.stride = stride
        self.window = model_window(self.model, entry.max_context_tokens)
        n_layers = int(self.model.config.num_hidden_layers) + 1
        self.layout = EntryLayout(layer_names=layer_names(n_layers), context_rows=stimuli.context_slices(),
                                  dim=int(self.model.config.hidden_size))

    def blocks(self, todo: list[int]) -> Iterator[Block]:
        from brainalign.features.hf_text import extract_contexts

        contexts = self.stimuli.contexts()
        per_call = max(1, self.batch_size) if self.mode == "full" else 1
        for i in range(0, len(todo), per_call):
            chunk = todo[i : i + per_call]
            outs = extract_contexts(self.model, self.tokenizer, [contexts[c] for c in chunk], self.stimuli.separator,
                                    mode=self.mode, pooling=self.pooling, window=self.window,
                                    batch_size=self.batch_size, stride=self.stride)
            for c, out in zip(chunk, outs, strict=True):
                yield [c], out


def _device(device: str) -> str:
    from brainalign.features.sources import resolve_device

    return resolve_device(device)
