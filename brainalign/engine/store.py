"""Result store: one folder per job uid, written atomically, with a manifest of file checksums verified on read.

``root/<uid>/`` holds ``config.json`` (the job's key), the job's files (tables as parquet, arrays as ``.npy``,
JSON documents), ``manifest.json`` (sha256 and size of every file) and ``meta.json`` (timings; written last). A
folder whose manifest does not match its files is *damaged*: it is named in a warning, removed, and the job runs
again.
"""

from __future__ import annotations

import json
import logging
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from brainalign.cache import atomic
from brainalign.engine.identity import hash_file

log = logging.getLogger("brainalign")

MANIFEST = "manifest.json"
_UNLISTED = {MANIFEST, "meta.json"}


@dataclass
class JobOutput:
    """What a job returns: ``tables`` (name -> DataFrame, stored as ``<name>.parquet``), ``arrays`` (name ->
    ndarray, ``<name>.npy``), ``documents`` (name -> JSON-able, ``<name>.json``) and ``meta`` (timings, sizes)."""

    tables: dict[str, Any] = field(default_factory=dict)
    arrays: dict[str, Any] = field(default_factory=dict)
    documents: dict[str, Any] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)


class ResultStore:
    """Finished jobs under ``root/<uid>/``; ``has`` verifies a folder once per store object."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self._verified: set[str] = set()

    def path(self, uid: str) -> Path:
        return self.root / uid

    def has(self, uid: str) -> bool:
        """True when the job's folder is complete and every file matches its manifest; a damaged folder is
        reported, removed and reported absent (so the job is recomputed)."""
        if uid in self._verified:
            return True
        p = self.path(uid)
        if not p.is_dir():
            return False
        problem = self._problem(p)
        if problem is None:
            self._verified.add(uid)
            return True
        log.warning("result %s is damaged (%s); recomputing it", p, problem)
        shutil.rmtree(p, ignore_errors=True)
        return False

    @staticmethod
    def _problem(p: Path) -> str | None:
        """Why ``p`` is not a complete, intact job folder (``None`` when it is)."""
        if not (p / "meta.json").is_file():
            return "unfinished: no meta.json"
        try:
            manifest = json.loads((p / MANIFEST).read_text())
        except (OSError, ValueError):
            return f"{MANIFEST} missing or unreadable"
        for name, rec in manifest.items():
            f = p / name
            if not f.is_file():
                return f"{name} missing"
            if f.stat().st_size != rec["size"]:
                return f"{name} has {f.stat().st_size} bytes, expected {rec['size']}"
            if hash_file(f) != rec["sha256"]:
                return f"{name} checksum mismatch"
        return None

    def write(self, uid: str, describe: dict[str, Any], output: JobOutput) -> Path:
        """Write a job's folder atomically: files, then manifest, then ``meta.json``."""
        import numpy as np

        with atomic.writing_dir(self.path(uid)) as tmp:
            (tmp / "config.json").write_text(json.dumps(describe, indent=2, sort_keys=True, default=str))
            for name, table in output.tables.items():
                table.to_parquet(tmp / f"{name}.parquet", index=False)
            for name, arr in output.arrays.items():
                np.save(tmp / f"{name}.npy", arr)
            for name, doc in output.documents.items():
                (tmp / f"{name}.json").write_text(json.dumps(doc, indent=2, sort_keys=True, default=str))
            manifest = {f.name: {"sha256": hash_file(f), "size": f.stat().st_size}
                        for f in sorted(tmp.iterdir()) if f.name not in _UNLISTED}
            (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True))
            (tmp / "meta.json").write_text(json.dumps(output.meta, indent=2, sort_keys=True, default=str))
        self._verified.add(uid)
        return self.path(uid)

    def table(self, uid: str, name: str = "scores") -> Any:
        """A stored table as a pandas DataFrame."""
        import pandas as pd

        return pd.read_parquet(self.path(uid) / f"{name}.parquet")

    def array(self, uid: str, name: str) -> Any:
        """A stored ``.npy`` array (memory-mapped), or ``None`` when the job stored none by that name."""
        import numpy as np

        path = self.path(uid) / f"{name}.npy"
        return np.load(path, mmap_mode="r") if path.is_file() else None

    def document(self, uid: str, name: str) -> Any:
        """A stored JSON document."""
        return json.loads((self.path(uid) / f"{name}.json").read_text())

    def meta(self, uid: str) -> dict[str, Any]:
        return json.loads((self.path(uid) / "meta.json").read_text())
