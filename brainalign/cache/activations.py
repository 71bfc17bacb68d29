"""Zarr v3 activation store: one group per cache key, one ``(n_stimuli, dim)`` float32 array per layer.

Layers may also be N-D with a per-layer shape (``layer_shapes``: e.g. ``(n_images, n_tokens, dim)`` tokens
or ``(n_images, h, w, c)`` feature maps); then chunks hold whole rows of about 4 MiB (at least one row).

Layout of ``<root>/<key>/``: arrays ``layer_000`` .. (rows = stimuli, chunked over rows), ``done``
``(n_contexts,)`` bool (set after a context's rows are written, so an interrupted extraction resumes),
attrs: the semantic config, ``layer_names``, ``checksums`` and ``complete`` (written last; incomplete groups are
never read as complete). The key hashes the semantic config only (never device or batch size).

Every chunk of every array ends with a crc32c checksum (zarr v3's ``crc32c`` codec, last in each array's codec
pipeline; empty chunks are written too). :meth:`ActivationStore.open_complete` and :meth:`ActivationStore.open_resumable`
check every chunk file's checksum before an entry is used (raw bytes, no decompression): a damaged, truncated or
missing chunk, unreadable metadata or an entry without checksums (store version 1) is logged as one warning naming
the key and the path, deleted, and reported as absent, so the caller recomputes it. Reads through zarr verify the
checksum again (:meth:`ActivationEntry.read`).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from brainalign import settings
from brainalign.errors import DataError

STORE_VERSION = 2  # 2: crc32c checksum on every chunk (version-1 entries have none and are never reused)
CHECKSUMS = "crc32c"
_log = logging.getLogger(__name__)


class DamagedEntryError(DataError):
    """An activation cache entry failed its checksum while being read."""


@dataclass(frozen=True)
class Damage:
    """The first problem found in an entry: ``path`` on disk and a short ``reason``."""

    path: Path
    reason: str


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


def _checksummed() -> dict[str, Any]:
    """``create_array`` arguments: zstd then a crc32c checksum per chunk, ``c/i/j`` chunk files, empty chunks
    written (so a missing chunk file always means damage)."""
    from zarr.codecs import Crc32cCodec, ZstdCodec

    return {"compressors": [ZstdCodec(level=0, checksum=False), Crc32cCodec()],
            "chunk_key_encoding": {"name": "default", "separator": "/"}, "config": {"write_empty_chunks": True}}


class ActivationEntry:
    """One cache key's group: per-layer arrays, the per-context ``done`` mask and the ``complete`` flag."""

    def __init__(self, group: Any, key: str, path: Path) -> None:
        self.group = group
        self.key = key
        self.path = path

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

    def read(self, i: int) -> np.ndarray:
        """Layer ``i`` as a float32 array (every chunk's checksum checked by zarr on the way)."""
        try:
            return np.asarray(self.layer(i)[:], dtype=np.float32)
        except ValueError as exc:  # the crc32c codec: "Stored and computed checksum do not match"
            raise DamagedEntryError(
                f"activation cache entry {self.key} at {self.path / f'layer_{i:03d}'} is damaged "
                f"({_first_line(exc)}); run again to drop and recompute it"
            ) from None

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

    def damage(self, context_rows: list[tuple[int, int]] | None = None) -> Damage | None:
        """The first damaged file of this entry, or ``None`` when every needed chunk passes its checksum.

        Complete entries need every chunk; partial ones need every existing chunk intact and the chunks holding
        rows of done contexts present (``context_rows``: ``(start, stop)`` rows of each context; default: one row
        per context).
        """
        try:  # unreadable metadata (truncated / garbled zarr.json, a missing array): whatever zarr raises is damage
            if self.group.attrs.get("checksums") != CHECKSUMS:
                return Damage(self.path, "no chunk checksums (old store format)")
            arrays = {name: self.group[name] for name in ["done", *(f"layer_{i:03d}" for i in range(self.n_layers))]}
            n_rows = int(self.group.attrs["n_stimuli"])
        except Exception as exc:
            return Damage(self.path, f"unreadable metadata ({type(exc).__name__}: {_first_line(exc)})")
        found = _array_damage(arrays.pop("done"), self.path / "done", self.complete)
        if found is not None:
            return found
        needed = True if self.complete else _rows_needed(self.done(), context_rows, n_rows)
        for name, array in arrays.items():
            found = _array_damage(array, self.path / name, needed)
            if found is not None:
                return found
        return None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else ""


def _rows_needed(done: np.ndarray, context_rows: list[tuple[int, int]] | None, n_rows: int) -> np.ndarray:
    """``(n_rows,)`` bool: the rows of done contexts (``context_rows`` ``None``: context ``i`` is row ``i``)."""
    if context_rows is None:
        context_rows = [(i, i + 1) for i in range(len(done))]
    needed = np.zeros(n_rows, dtype=bool)
    if len(context_rows) != len(done):  # another layout: ActivationStore.create starts the entry over
        return needed
    for c in np.flatnonzero(done):
        start, stop = context_rows[c]
        needed[start:stop] = True
    return needed


def _chunk_damage(path: Path) -> str | None:
    """Why the chunk file at ``path`` is unusable (missing, truncated, checksum mismatch), or ``None``."""
    import google_crc32c

    try:
        data = np.frombuffer(path.read_bytes(), dtype=np.uint8)
    except FileNotFoundError:
        return "missing chunk"
    if len(data) <= 4:
        return "truncated chunk"
    if google_crc32c.value(data[:-4]) != int.from_bytes(data[-4:].tobytes(), "little"):
        return "checksum mismatch (damaged or truncated chunk)"
    return None


def _array_damage(array: Any, path: Path, required: bool | np.ndarray | None) -> Damage | None:
    """The first bad chunk of ``array`` (stored under ``path``). ``required``: ``True`` every chunk must exist,
    ``False``/``None`` only existing ones are checked, a ``(n_rows,)`` mask: chunks holding a masked row must exist."""
    from zarr.codecs import Crc32cCodec

    if not any(isinstance(c, Crc32cCodec) for c in array.metadata.codecs):
        return Damage(path, "no chunk checksums (old store format)")
    grid = [range(-(-s // c)) for s, c in zip(array.shape, array.chunks, strict=True)]
    rows = array.chunks[0] if array.chunks else 1
    for idx in itertools.product(*grid):
        chunk = path / array.metadata.encode_chunk_key(idx)
        reason = _chunk_damage(chunk)
        if reason is None:
            continue
        if reason != "missing chunk" or _must_exist(required, idx[0], rows):
            return Damage(chunk, reason)
    return None


def _must_exist(required: bool | np.ndarray | None, row_chunk: int, rows: int) -> bool:
    if isinstance(required, np.ndarray):
        return bool(required[row_chunk * rows : (row_chunk + 1) * rows].any())
    return bool(required)


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
        """The entry for ``key`` (complete or not, unchecked), or ``None``; unreadable metadata raises."""
        if not (self.root / key / "zarr.json").is_file():
            return None
        return ActivationEntry(self._root_group()[key], key, self.root / key)

    def open_complete(self, key: str) -> ActivationEntry | None:
        """The entry for ``key`` if it is complete and every chunk passes its checksum, else ``None`` (a damaged
        entry is logged, naming key and path, and deleted)."""
        entry = self._open_or_drop(key)
        if entry is None or not entry.complete:
            return None
        return self._checked(entry)

    def open_resumable(self, key: str, context_rows: list[tuple[int, int]] | None = None) -> ActivationEntry | None:
        """The entry for ``key`` (complete or partial) once checked, else ``None`` (a damaged one is deleted).

        ``context_rows``: ``(start, stop)`` rows of each context (default: one row per context), so that the chunks
        of every done context must be present.
        """
        entry = self._open_or_drop(key)
        return self._checked(entry, context_rows) if entry is not None else None

    def _open_or_drop(self, key: str) -> ActivationEntry | None:
        try:
            return self.open(key)
        except Exception as exc:  # a garbled or truncated zarr.json: whatever zarr raises, the entry is unusable
            self.drop(key, Damage(self.root / key, f"unreadable metadata ({type(exc).__name__}: {_first_line(exc)})"))
            return None

    def _checked(self, entry: ActivationEntry, context_rows: list[tuple[int, int]] | None = None
                 ) -> ActivationEntry | None:
        damage = entry.damage(context_rows)
        if damage is None:
            return entry
        self.drop(entry.key, damage)
        return None

    def drop(self, key: str, damage: Damage) -> None:
        """Log ``damage`` (one warning naming the key and the path) and delete the entry."""
        _log.warning("activation cache entry %s is damaged (%s) at %s; dropping it, it will be recomputed",
                     key, damage.reason, damage.path)
        self.delete(key)

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
        existing = self._open_or_drop(key)
        if existing is not None:
            attrs = existing.attrs
            same = (
                attrs.get("layer_names") == list(layer_names)
                and attrs.get("n_stimuli") == n_stimuli
                and attrs.get("n_contexts") == n_contexts
                and attrs.get("dim") == dim
                and attrs.get("layer_shapes") == ([list(s) for s in shapes] if shapes is not None else None)
                and attrs.get("checksums") == CHECKSUMS
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
                dtype="float32", fill_value=np.nan, **_checksummed(),
            )
        group.create_array("done", shape=(n_contexts,), chunks=(n_contexts,), dtype="bool", fill_value=False,
                           **_checksummed())
        attrs = {"config": config, "layer_names": list(layer_names), "n_stimuli": n_stimuli,
                 "n_contexts": n_contexts, "dim": dim, "checksums": CHECKSUMS, "complete": False}
        if shapes is not None:
            attrs["layer_shapes"] = [list(s) for s in shapes]
        if layer_attrs is not None:
            attrs["layer_attrs"] = list(layer_attrs)
        group.attrs.update(attrs)
        return ActivationEntry(group, key, self.root / key)

    def delete(self, key: str) -> None:
        """Remove the entry for ``key`` (if any)."""
        import shutil

        shutil.rmtree(self.root / key, ignore_errors=True)
