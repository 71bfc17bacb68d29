"""Confusion-matrix figure of a decoding result (row-normalised; accuracy and chance in the title)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from brainalign.cache import atomic


def plot_confusion(result: Any, path: str | Path, title: str | None = None) -> Path:
    """Write the row-normalised confusion matrix of ``result`` as a PNG, atomically.

    Args:
        result: a :class:`brainalign.decoders.category.DecodeResult` (or any object with ``classes``,
            ``confusion`` ``(n_classes, n_classes)`` counts with rows = true class, ``accuracy``, ``chance``).
        path: output ``.png`` path (parent folders are created).
        title: first title line (default ``"Category decoding"``).

    Returns:
        ``path`` as a :class:`~pathlib.Path`.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    classes = [str(c) for c in result.classes]
    counts = np.asarray(result.confusion, dtype=np.float64)
    if counts.shape != (len(classes), len(classes)):
        raise ValueError(f"confusion {counts.shape} does not match {len(classes)} classes")
    rows = counts.sum(1, keepdims=True)
    norm = counts / np.where(rows > 0, rows, 1.0)
    n = len(classes)
    size = max(4.0, 0.55 * n + 2.5)
    fig, ax = plt.subplots(figsize=(size + 1.0, size), constrained_layout=True)
    im = ax.imshow(norm, vmin=0.0, vmax=1.0, cmap="viridis")
    ax.set_xticks(range(n), classes, rotation=45, ha="right")
    ax.set_yticks(range(n), classes)
    ax.set_xlabel("predicted category")
    ax.set_ylabel("true category")
    if n <= 20:
        for i in range(n):
            for j in range(n):
                ax.text(
                    j,
                    i,
                    f"{norm[i, j]:.2f}",
                    ha="center",
                    va="center",
                    fontsize=7,
                    color="black" if norm[i, j] > 0.6 else "white",
                )
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="fraction of the true category's samples")
    head = title or "Category decoding"
    ax.set_title(
        f"{head}\naccuracy {float(result.accuracy):.3f} (chance {float(result.chance):.3f})", fontsize=10
    )
    path = Path(path)
    with atomic.writing(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=130)
    plt.close(fig)
    return path
