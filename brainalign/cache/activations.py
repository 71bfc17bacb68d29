"""Zarr v3 activation store: one group per cache key, one ``(n_stimuli, dim)`` float32 array per layer.

Layers may also be N-D with a per-layer shape (``layer_shapes``: e.g. ``(n_images, n_tokens, dim)`` tokens
or ``(n_images, h, w, c)`` feature maps); then chunks hold whole rows of about 4 MiB (at least one row).

Layout of ``<root>/<key>/``: arrays ``layer_000`` .. (rows = stimuli, chunked over rows), ``done``
``(n_contexts,)`` bool (set after a context's rows are written, so an interrupted extraction resumes),
attrs: the semantic config, ``layer_names``, and ``complete`` (written last; incomplete groups are never
read as complete). The key hashes the semantic config only (never device or batch size).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np

from brainalign import settings

STORE_VERSION = 1


def activation_key(config: dict[str, Any]) -> str:
    """Stable 24-hex key of a semantic config (JSON with sorted keys)."""
    payload = json.dumps({"store_version": STORE_VERSION, **config}, sort_keys=True, default=str)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:24]


def _chunk_rows(dim: int) -> int:
    """Rows per chunk: about 4 MiB of float32, a power of two in [256, 8192]."""
    rows = max(1, (4 << 20) // (4 * max(dim, 1)))
    return int(min(8192, max(256, 1 << (rows.bit_length() - 1))))


def _chunk_rows_nd(row_size: int) -> int:
    """Rows per chunk of an N-D layer: about 4 MiB of float32, a power of two in [1, 8192]."""
    rows = max(1, (4 << 20) // (4 * max(row_size, 1)))
    return int(min(8192, 1 << (rows.bit_length() - 1)))


class ActivationEntry:
    """One cache key's group: per-layer arrays, the per-context ``done`` mask and the ``complete`` flag."""

    def __init__(self, group: Any) -> None:
        self.group = group

    @property
    def attrs(self) -> dict[str, Any]:
        return dict(self.group.attrs)

    @property
    def complete(self) -> bool:
        return bool(self.group.attrs.get("complete", False))

    @property
    def layer_names(self) -> list[str]:
        return list(self.group.attrs["layer_names"])

    @property
    def n_layers(self) -> int:
        return len(self.layer_names)

    def layer(self, i: int) -> Any:
        """The zarr array of layer ``i``: ``(n_stimuli, dim)`` float32 (or ``(n_stimuli, *layer_shapes[i])``)."""
        return self.group[f"layer_{i:03d}"]

    @property
    def layer_shapes(self) -> list[tuple[int, ...]]:
        """Per-row shape of each layer (``(dim,)`` for 2-D entries)."""
        shapes = self.group.attrs.get("layer_shapes")
        if shapes is None:
            return [(int(self.group.attrs["dim"]),)] * self.n_layers
        return [tuple(int(d) for d in s) for s in shapes]

    def done(self) -> np.ndarray:
        """``(n_contexts,)`` bool: contexts whose rows are written."""
        return np.asarray(self.group["done"][:], dtype=bool)

    def write_rows(self, start: int, block: np.ndarray | list[np.ndarray]) -> None:
        """Write ``block`` ``(n_layers, n_rows, dim)`` into rows ``start:start + n_rows`` of every layer.

        ``block`` may also be a list with one ``(n_rows, *layer_shapes[i])`` array per layer (N-D entries).
        """
        stop = start + len(block[0])
        for i in range(len(block)):
            self.layer(i)[start:stop] = np.asarray(block[i], dtype=np.float32)

    def mark_done(self, contexts: np.ndarray | list[int]) -> None:
        """Mark contexts as written (call after :meth:`write_rows` of their rows)."""
        done = self.done()
        done[np.asarray(contexts, dtype=np.int64)] = True
        self.group["done"][:] = done

    def mark_complete(self) -> None:
        """Set ``complete`` (only when every context is done)."""
        if not self.done().all():
            raise RuntimeError("cannot mark an activation entry complete before every context is written")
        self.group.attrs["complete"] = True


class ActivationStore:
    """Zarr v3 store of activation entries under ``root`` (default ``cache_dir("activations")/activations.zarr``)."""

    def __init__(self, root: str | Path | None = None) -> None:
        self.root = Path(root) if root is not None else settings.cache_dir("activations") / "activations.zarr"

    def _root_group(self, mode: str = "a") -> Any:
        """The root group, created on first use. Several processes (Ray workers) may race to create it: the
        loser of that race opens the group the winner wrote."""
        import zarr
        from zarr.errors import ContainsGroupError

        try:
            return zarr.open_group(store=str(self.root), mode=mode)
        except ContainsGroupError:
            return zarr.open_group(store=str(self.root), mode="r+")

    def open(self, key: str) -> ActivationEntry | None:
        """The entry for ``key`` (complete or not), or ``None``."""
        if not (self.root / key / "zarr.json").is_file():
            return None
        return ActivationEntry(self._root_group()[key])

    def open_complete(self, key: str) -> ActivationEntry | None:
        """The entry for ``key`` if it is complete, else ``None``."""
        entry = self.open(key)
        return entry if entry is not None and entry.complete else None

    def create(
        self,
        key: str,
        *,
        config: dict[str, Any],
        layer_names: list[str],
        n_stimuli: int,
        n_contexts: int,
        dim: int | None = None,
        layer_shapes: list[tuple[int, ...]] | None = None,
        layer_attrs: list[dict[str, Any]] | None = None,
    ) -> ActivationEntry:
        """Open the incomplete entry for ``key`` to resume it, or (re)create it empty when its shape differs.

        Give ``dim`` (every layer ``(n_stimuli, dim)``) or ``layer_shapes`` (layer ``i`` is
        ``(n_stimuli, *layer_shapes[i])``); ``layer_attrs``: optional per-layer metadata kept in the attrs.
        """
        if (dim is None) == (layer_shapes is None):
            raise ValueError("give exactly one of 'dim' or 'layer_shapes'")
        shapes = [tuple(int(d) for d in s) for s in layer_shapes] if layer_shapes is not None else None
        if shapes is not None and len(shapes) != len(layer_names):
            raise ValueError(f"{len(layer_names)} layer names but {len(shapes)} layer shapes")
        existing = self.open(key)
        if existing is not None:
            attrs = existing.attrs
            same = (
                attrs.get("layer_names") == list(layer_names)
                and attrs.get("n_stimuli") == n_stimuli
                and attrs.get("n_contexts") == n_contexts
                and attrs.get("dim") == dim
                and attrs.get("layer_shapes") == ([list(s) for s in shapes] if shapes is not None else None)
            )
            if same:
                return existing
        root = self._root_group()
        group = root.create_group(key, overwrite=True)
        for i in range(len(layer_names)):
            row_shape = shapes[i] if shapes is not None else (int(dim),)  # type: ignore[arg-type]
            rows = _chunk_rows(row_shape[0]) if shapes is None else _chunk_rows_nd(int(np.prod(row_shape)))
            group.create_array(
                f"layer_{i:03d}", shape=(n_stimuli, *row_shape), chunks=(max(1, min(rows, n_stimuli)), *row_shape),
                dtype="float32", fill_value=np.nan,
            )
        group.create_array("done", shape=(n_contexts,), chunks=(n_contexts,), dtype="bool", fill_value=False)
        attrs = {"config": config, "layer_names": list(layer_names), "n_stimuli": n_stimuli,
                 "n_contexts": n_contexts, "dim": dim, "complete": False}
        if shapes is not None:
            attrs["layer_shapes"] = [list(s) for s in shapes]
        if layer_attrs is not None:
            attrs["layer_attrs"] = list(layer_attrs)
        group.attrs.update(attrs)
        return ActivationEntry(group)

    def delete(self, key: str) -> None:
        """Remove the entry for ``key`` (if any)."""
        import shutil

        shutil.rmtree(self.root / key, ignore_errors=True)
