"""Write an :class:`ImageResponseData` (a simulated subject) in the NSD layout, so a run can be checked through
the real file formats: ``kind: nsd`` reads it back.

What is written under ``root`` (subject ``AA``): ``nsd_expdesign.mat`` (``subjectim`` rows = list position, so the
73k id of list position ``p`` is ``p - 1``; test images take positions 1..1000, the shared1000 block, train images
1001..), per-session betas (``betas_sessionNN.hdf5`` ``(trials, Z, Y, X)`` chunked like NSD, and/or ``.nii.gz``
``(X, Y, Z, trials)``) as int16 percent signal change x 300 (or float32), ``roi/nsdgeneral.nii.gz`` (1 at the
data's voxels, -1 elsewhere), ``roi/simulated.nii.gz`` (one label per ROI), ``brainmask.nii.gz`` and
``nsd_stimuli.hdf5`` (``imgBrick`` rows at the 73k ids).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from brainalign.data.image_responses import ImageResponseData
from brainalign.data.loaders.nsd import (
    BETA_SCALE,
    DEFAULT_BETAS,
    N_SHARED,
    TRIALS_PER_SESSION,
    betas_dir,
    design_path,
    roi_path,
    stimuli_path,
)
from brainalign.errors import DataError

INT16_MAX = 32767


def largest_divisor(n: int, at_most: int) -> int:
    """The largest divisor of ``n`` that is ``<= at_most``."""
    return next(d for d in range(min(n, at_most), 0, -1) if n % d == 0)


def trial_order(counts: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Shuffled trials: ``(image (n_trials,), repeat (n_trials,))``, the k-th occurrence of an image is repeat k."""
    image = np.repeat(np.arange(counts.size), counts)[np.random.default_rng(seed).permutation(int(counts.sum()))]
    order = np.argsort(image, kind="stable")
    rank = np.empty(image.size, dtype=np.int64)
    rank[order] = np.arange(image.size) - np.repeat(np.cumsum(counts) - counts, counts)
    return image, rank


def _grid(data: ImageResponseData) -> tuple[np.ndarray, np.ndarray, tuple[int, int, int]]:
    ds = data.dataset
    if ds.voxel_ijk is None or ds.affine is None or ds.volume_shape is None:
        raise DataError(f"{ds.name} has no volume grid (voxel_ijk, affine, volume_shape); only volume data can be "
                        "written in the NSD layout")
    ijk = np.asarray(ds.voxel_ijk, dtype=np.int64)
    if np.unique(ijk, axis=0).shape[0] != ijk.shape[0]:
        raise DataError(f"{ds.name}: two voxels share one grid position; voxel_ijk must be unique")
    return ijk, np.asarray(ds.affine, dtype=np.float64), tuple(int(x) for x in ds.volume_shape)  # type: ignore[return-value]


def write_simulated_nsd(
    data: ImageResponseData,
    root: str | os.PathLike,
    int16: bool = True,
    subject: int = 1,
    trials_per_session: int | None = None,
    formats: tuple[str, ...] = ("hdf5",),
    seed: int = 0,
    chunks: tuple[int, int, int, int] | None = None,
) -> dict[str, Any]:
    """Write ``data`` as subject ``subject`` of an NSD folder at ``root``.

    Args:
        data: responses ``(n_repeats, n_images, n_voxels)`` (NaN-padded) or means, on a volume grid.
        int16: store ``round(betas * 300)`` as int16 (NSD's storage; the quantisation step is 1/300); else float32.
        trials_per_session: default the largest divisor of the trial count that is <= 750.
        formats: ``"hdf5"`` and/or ``"nifti"``.
        chunks: HDF5 chunk shape ``(trials, z, y, x)`` (default NSD's one voxel's time course ``(trials, 1, 1, 1)``).

    Returns:
        ``{"nsd_ids": (n_images,) 73k id of each image, "voxel_order": (n_voxels,) data voxel of each loaded voxel,
        "image_order": (n_images,) data image of each loaded image, "trials_per_session", "sessions", "max_error"}``
        (loaded voxels are in C order of the grid, images sorted by 73k id).
    """
    import h5py
    import nibabel as nib
    from scipy.io import savemat

    root = Path(root)
    ds = data.dataset
    ijk, affine, shape = _grid(data)
    y = ds.responses if ds.has_repeats else ds.responses[None]
    n = y.shape[1]
    counts = (~np.isnan(y[..., 0])).sum(0)
    if (counts == 0).any():
        raise DataError(f"{ds.name}: image {int(np.flatnonzero(counts == 0)[0])} has no trial; drop it first")
    test = np.zeros(n, bool) if ds.test_images is None else np.asarray(ds.test_images, bool)
    if test.sum() > N_SHARED or (~test).sum() > 10000 - N_SHARED:
        raise DataError(f"{ds.name}: NSD lists hold <= {N_SHARED} test and <= {10000 - N_SHARED} train images per subject")
    if not 1 <= subject <= 8:
        raise DataError(f"NSD subject {subject} out of range 1..8")
    pos = np.empty(n, dtype=np.int64)
    pos[test] = 1 + np.arange(test.sum())
    pos[~test] = N_SHARED + 1 + np.arange((~test).sum())
    nsd_ids = pos - 1
    image, rank = trial_order(counts, seed)
    total = image.size
    tps = trials_per_session or largest_divisor(total, TRIALS_PER_SESSION)
    if total % tps:
        raise DataError(f"{total} trials do not fill sessions of {tps}; pick trials_per_session dividing {total}")
    n_sessions = total // tps
    values = y[rank, image]  # (n_trials, v)
    if int16:
        scaled = np.round(values * BETA_SCALE)
        if np.abs(scaled).max() > INT16_MAX:
            raise DataError(f"{ds.name}: betas reach {np.abs(values).max():.1f} but int16 x 300 stores at most "
                            f"{INT16_MAX / BETA_SCALE:.1f}; write with int16=False")
        values = scaled.astype(np.int16)
    else:
        values = values.astype(np.float32)

    design = design_path(root)
    design.parent.mkdir(parents=True, exist_ok=True)
    filler = N_SHARED + 1 + np.arange(max(30000, total) - total) % (10000 - N_SHARED)
    savemat(design, {
        "masterordering": np.concatenate([pos[image], filler])[None, :].astype(np.float64),
        "subjectim": np.tile(np.arange(1, 10001, dtype=np.float64), (8, 1)),
        "sharedix": np.arange(1, N_SHARED + 1, dtype=np.float64)[None, :],
    })

    out = betas_dir(root, subject, "func1pt8mm", DEFAULT_BETAS)
    out.mkdir(parents=True, exist_ok=True)
    i, j, k = ijk.T
    for s in range(n_sessions):
        vals = values[s * tps : (s + 1) * tps]
        vol = np.zeros((tps,) + shape[::-1], dtype=vals.dtype)  # (trials, Z, Y, X), h5py view of NSD's X x Y x Z x T
        vol[:, k, j, i] = vals
        if "hdf5" in formats:
            with h5py.File(out / f"betas_session{s + 1:02d}.hdf5", "w") as f:
                f.create_dataset("betas", data=vol, chunks=chunks or (tps, 1, 1, 1))
        if "nifti" in formats:
            nib.save(nib.Nifti1Image(vol.transpose(3, 2, 1, 0), affine), out / f"betas_session{s + 1:02d}.nii.gz")
        del vol

    nsdgeneral = -np.ones(shape, dtype=np.int16)
    nsdgeneral[i, j, k] = 1
    names = sorted(set(ds.roi.tolist()))
    atlas = np.zeros(shape, dtype=np.int16)
    atlas[i, j, k] = np.searchsorted(names, ds.roi) + 1
    mask_path = roi_path(root, subject, "nsdgeneral")
    mask_path.parent.mkdir(parents=True, exist_ok=True)
    nib.save(nib.Nifti1Image(nsdgeneral, affine), mask_path)
    nib.save(nib.Nifti1Image(atlas, affine), roi_path(root, subject, "simulated"))
    nib.save(nib.Nifti1Image((nsdgeneral > 0).astype(np.int16), affine), roi_path(root, subject, "brainmask"))

    first = np.asarray(data.images.load_array(0))
    stim = stimuli_path(root)
    stim.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(stim, "w") as f:
        brick = f.create_dataset("imgBrick", shape=(int(nsd_ids.max()) + 1,) + first.shape, dtype=np.uint8,
                                 chunks=(1,) + first.shape)
        for row, nid in enumerate(nsd_ids):
            a = data.images.load_array(row)
            if a.shape != first.shape:
                raise DataError(f"{data.images.name}: image {row} is {a.shape} but image 0 is {first.shape}; "
                                "nsd_stimuli.hdf5 needs one size")
            brick[int(nid)] = a
    return {
        "nsd_ids": nsd_ids, "voxel_order": np.lexsort((k, j, i)), "image_order": np.argsort(nsd_ids),
        "trials_per_session": tps, "sessions": list(range(1, n_sessions + 1)), "roi_names": names,
        "max_error": 0.5 / BETA_SCALE if int16 else 0.0,
    }
