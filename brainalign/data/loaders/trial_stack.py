"""Single trials -> images: group trials by image (NaN-padded repeats or means) and z-score within sessions."""

from __future__ import annotations

import numpy as np

from brainalign.errors import DataError


def zscore_columns(betas: np.ndarray) -> np.ndarray:
    """``(n_trials, n_voxels)`` z-scored per voxel over the trials (in place when float32); constant voxels -> 0."""
    b = betas.astype(np.float32, copy=False)
    mean = b.mean(0, dtype=np.float64).astype(np.float32)
    sd = b.std(0, dtype=np.float64).astype(np.float32)
    b -= mean
    b /= np.where(sd > 0, sd, 1.0)
    return b


def stack_trials(
    betas: np.ndarray, image_of_trial: np.ndarray, average: bool = False, min_repeats: int = 1, what: str = "dataset"
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Group ``(n_trials, n_voxels)`` trials by image.

    Returns:
        ``(responses, image_ids (n_images,) sorted, repeat_counts (n_images,))``; responses are
        ``(n_images, n_voxels)`` means with ``average``, else ``(max_repeats, n_images, n_voxels)`` NaN-padded
        in trial order. Images with fewer than ``min_repeats`` trials are dropped.
    """
    ids, inverse, counts = np.unique(np.asarray(image_of_trial), return_inverse=True, return_counts=True)
    keep = counts >= min_repeats
    if not keep.any():
        raise DataError(f"{what}: no image has >= {min_repeats} trials; lower min_repeats or load more sessions")
    order = np.argsort(inverse, kind="stable")
    if average:
        starts = np.cumsum(counts) - counts
        y = np.empty((ids.size, betas.shape[1]), dtype=np.float32)
        for v0 in range(0, betas.shape[1], 4096):  # float64 sums, one voxel block at a time
            block = betas[order, v0 : v0 + 4096].astype(np.float64)
            y[:, v0 : v0 + 4096] = np.add.reduceat(block, starts, axis=0) / counts[:, None]
        y = y if keep.all() else y[keep]
    else:
        rank = np.arange(order.size) - np.repeat(np.cumsum(counts) - counts, counts)
        y = np.full((int(counts[keep].max()), ids.size, betas.shape[1]), np.nan, dtype=np.float32)
        ok = rank < y.shape[0]
        y[rank[ok], inverse[order][ok]] = betas[order[ok]]
        if not keep.all():
            y = y[:, keep]
    return y, ids[keep], counts[keep]
