"""A small word-locked user table shared by the engine tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd


def user_table(path: Path, seed: int = 0, n_sent: int = 24) -> Path:
    """A user table: word-locked responses to ``n_sent`` sentences of 5 words, two subjects x 3 targets."""
    rng = np.random.default_rng(seed)
    rows = []
    for s in range(n_sent):
        words = [f"w{s}" + "x" * ((s + i) % 4) for i in range(5)]
        for w in words:
            rows.append({"word": w, "sentence": f"s{s}", **{f"vox_{j}": len(w) + rng.normal()
                                                             for j in range(3)}})
    pd.DataFrame(rows).to_csv(path, sep="\t", index=False)
    return path
