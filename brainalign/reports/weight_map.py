"""Decoder weight maps: a per-voxel value back in the data's voxel grid (NIfTI) and an axial slice montage."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from brainalign.cache import atomic


def to_volume(values: np.ndarray, voxel_ijk: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """``(n_voxels,)`` values at ``voxel_ijk`` ``(n_voxels, 3)`` as a ``shape`` float32 volume (0 elsewhere)."""
    vol = np.zeros(shape, dtype=np.float32)
    vol[tuple(np.asarray(voxel_ijk).T)] = np.nan_to_num(np.asarray(values, dtype=np.float32))
    return vol


def write_nifti(vol: np.ndarray, affine: np.ndarray, path: str | Path) -> Path:
    """Write ``vol`` with ``affine`` ``(4, 4)`` (the runs' affine) as ``.nii.gz``, atomically."""
    import nibabel as nib

    path = Path(path)
    with atomic.writing(path, suffix=".nii.gz") as tmp:
        nib.save(nib.Nifti1Image(np.asarray(vol, dtype=np.float32), np.asarray(affine, dtype=np.float64)), str(tmp))
    return path


def plot_weight_map(vol: np.ndarray, path: str | Path, title: str = "Decoder weight map") -> Path:
    """Axial montage of a 3-D map ``(nx, ny, nz)``: one panel per slice holding a non-zero voxel."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    zs = [z for z in range(vol.shape[2]) if np.any(vol[:, :, z])] or [vol.shape[2] // 2]
    cols = min(len(zs), 5)
    rows = -(-len(zs) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(2.2 * cols + 1, 2.4 * rows + 0.6), squeeze=False,
                             constrained_layout=True)
    vmax = float(np.nanmax(vol)) or 1.0
    im = None
    for ax in axes.ravel():
        ax.axis("off")
    for ax, z in zip(axes.ravel(), zs, strict=False):
        im = ax.imshow(np.ma.masked_equal(vol[:, :, z].T, 0), origin="lower", cmap="hot", vmin=0, vmax=vmax)
        ax.set_title(f"z={z}", fontsize=8)
    fig.colorbar(im, ax=axes, shrink=0.7, label="weight norm over classes")
    fig.suptitle(title, fontsize=10)
    path = Path(path)
    with atomic.writing(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=120)
    plt.close(fig)
    return path
