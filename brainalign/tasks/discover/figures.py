"""Figures of a discover run: nearest images per ROI, guided synthesis beside the encoder's top real images,
predicted activation against guidance scale, and ROI caption word frequencies."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from brainalign.cache import atomic


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig: Any, path: Path) -> Path:
    plt = _plt()
    with atomic.writing(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=100)
    plt.close(fig)
    return path


def _thumb(img: np.ndarray, side: int = 96) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.fromarray(np.asarray(img, dtype=np.uint8)).convert("RGB").resize((side, side)))


def image_rows(rows: dict[str, list[np.ndarray]], path: Path, title: str, captions: dict[str, str] | None = None
               ) -> Path:
    """One row of thumbnails per key (``(H, W, 3)`` uint8 each), the key (and a caption) as the row label."""
    plt = _plt()
    n_cols = max(len(v) for v in rows.values())
    fig, axes = plt.subplots(len(rows), n_cols, figsize=(1.3 * n_cols + 1.5, 1.4 * len(rows) + 0.4),
                             squeeze=False, constrained_layout=True)
    for r, (name, imgs) in enumerate(rows.items()):
        for c in range(n_cols):
            ax = axes[r, c]
            ax.axis("off")
            if c < len(imgs):
                ax.imshow(_thumb(imgs[c]))
        label = name + (f"\n{captions[name][:40]}" if captions and name in captions else "")
        axes[r, 0].text(-0.08, 0.5, label, transform=axes[r, 0].transAxes, ha="right", va="center", fontsize=7)
    fig.suptitle(title, fontsize=9)
    return _save(fig, path)


def synthesis_grid(images: np.ndarray, scales: list[float], reference: list[np.ndarray], path: Path, title: str
                   ) -> Path:
    """Rows: the encoder's top real images, then one row per guidance scale (``images (s, n, H, W, 3)``)."""
    rows = {"top real": reference}
    rows.update({f"scale {s:g}": list(images[i]) for i, s in enumerate(scales)})
    return image_rows(rows, path, title)


def guidance_curve(curve: pd.DataFrame, path: Path) -> Path:
    """Mean predicted ROI activation of the generated images against the guidance scale, per encoder x ROI;
    dashed: the mean of the encoder's top real images."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(5, 3.6), constrained_layout=True)
    for (enc, roi), g in curve.groupby(["encoder", "roi"], sort=False):
        g = g.sort_values("scale")
        line = ax.errorbar(g["scale"], g["activation_mean"], yerr=g["activation_sem"], marker="o", ms=3,
                           label=f"{roi} · {enc}", capsize=2)
        ax.axhline(float(g["reference_mean"].iloc[0]), ls="--", lw=0.8, color=line[0].get_color())
    ax.set_xlabel("guidance scale")
    ax.set_ylabel("predicted ROI activation")
    ax.legend(fontsize=6)
    return _save(fig, path)


def caption_words(words: pd.DataFrame, path: Path, top: int = 8) -> Path:
    """The most frequent caption words per ROI (horizontal bars)."""
    plt = _plt()
    rois = list(dict.fromkeys(words["roi"]))
    fig, axes = plt.subplots(1, len(rois), figsize=(2.6 * len(rois), 2.8), squeeze=False, constrained_layout=True)
    for ax, roi in zip(axes[0], rois, strict=True):
        d = words[words["roi"] == roi].nlargest(top, "frequency")[::-1]
        ax.barh(d["word"], d["frequency"])
        ax.set_title(roi, fontsize=8)
        ax.tick_params(labelsize=6)
    return _save(fig, path)
