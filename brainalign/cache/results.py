"""Result store: one directory per job uid with ``config.json``, ``meta.json`` and ``scores.parquet``.

A job directory is written atomically, so a directory that exists is complete; re-runs skip it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from brainalign.cache import atomic


class ResultStore:
    """Completed job results under ``root/<uid>/``."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def path(self, uid: str) -> Path:
        return self.root / uid

    def has(self, uid: str) -> bool:
        """True when the job finished (its directory holds ``meta.json`` and the table)."""
        p = self.path(uid)
        return (p / "meta.json").is_file() and (p / "scores.parquet").is_file()

    def write(
        self, uid: str, config: dict[str, Any], meta: dict[str, Any], table: Any, arrays: dict[str, Any] | None = None
    ) -> Path:
        """Write a job's config, meta, table (a pandas DataFrame) and ``.npy`` arrays as one atomic directory."""
        import numpy as np

        with atomic.writing_dir(self.path(uid)) as tmp:
            (tmp / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True, default=str))
            table.to_parquet(tmp / "scores.parquet", index=False)
            for name, arr in (arrays or {}).items():
                np.save(tmp / f"{name}.npy", arr)
            (tmp / "meta.json").write_text(json.dumps(meta, indent=2, sort_keys=True, default=str))
        return self.path(uid)

    def read(self, uid: str) -> Any:
        """The job's table as a pandas DataFrame."""
        import pandas as pd

        return pd.read_parquet(self.path(uid) / "scores.parquet")

    def array(self, uid: str, name: str) -> Any:
        """A stored ``.npy`` array (memory-mapped), or ``None`` when the job saved none."""
        import numpy as np

        path = self.path(uid) / f"{name}.npy"
        return np.load(path, mmap_mode="r") if path.is_file() else None

    def meta(self, uid: str) -> dict[str, Any]:
        return json.loads((self.path(uid) / "meta.json").read_text())
