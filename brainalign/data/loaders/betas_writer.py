"""Write an :class:`ImageResponseData` (a simulated subject) in the ``kind: betas`` layout that
:mod:`brainalign.data.loaders.betas` reads back.

Under ``root``: ``images/<image id>.png``, ``trials.tsv`` (image, session, repeat, test), the responses
(``betas.npy`` / ``betas.h5`` dataset ``betas`` / ``betas.zarr`` ``(n_trials, n_voxels)`` float32, or
``betas.nii.gz`` ``(X, Y, Z, n_trials)`` with ``mask.nii.gz``), ``roi_atlas`` (``.npy`` ``(n_voxels,)`` or
``.nii.gz``) and ``roi_labels.tsv``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from brainalign.data.image_responses import ImageResponseData
from brainalign.data.loaders.nsd_writer import trial_order
from brainalign.errors import DataError

FORMATS = ("npy", "hdf5", "zarr", "nifti")


def write_simulated_betas(
    data: ImageResponseData, root: str | os.PathLike, fmt: str = "npy", n_sessions: int = 2, seed: int = 0
) -> dict[str, Any]:
    """Write ``data`` under ``root``; return the ``kind: betas`` spec fields (``images``, ``responses``, ``trials``,
    ``dataset``, ``mask``, ``roi_atlas``, ``roi_labels``) and ``voxel_order`` (data voxel of each loaded voxel:
    column order for arrays, C order of the grid for NIfTI)."""
    import pandas as pd
    from PIL import Image

    if fmt not in FORMATS:
        raise DataError(f"fmt must be one of {', '.join(FORMATS)}, got {fmt!r}")
    root = Path(root)
    ds = data.dataset
    y = ds.responses if ds.has_repeats else ds.responses[None]
    counts = (~np.isnan(y[..., 0])).sum(0)
    image, rank = trial_order(counts, seed)
    values = y[rank, image].astype(np.float32)  # (n_trials, v)
    names = [str(x) for x in ds.image_ids]
    folder = root / "images"
    folder.mkdir(parents=True, exist_ok=True)
    for i, name in enumerate(names):
        Image.fromarray(data.images.load_array(i)).save(folder / f"{name}.png")
    test = np.zeros(len(names), bool) if ds.test_images is None else np.asarray(ds.test_images, bool)
    session = 1 + np.arange(image.size) * n_sessions // image.size
    pd.DataFrame({"image": [names[i] for i in image], "session": session, "repeat": rank,
                  "test": test[image].astype(int)}).to_csv(root / "trials.tsv", sep="\t", index=False)
    roi_names = sorted(set(ds.roi.tolist()))
    labels = np.searchsorted(roi_names, ds.roi) + 1
    pd.DataFrame({"value": np.arange(1, len(roi_names) + 1), "name": roi_names}).to_csv(
        root / "roi_labels.tsv", sep="\t", index=False)
    spec: dict[str, Any] = {"images": str(folder), "trials": str(root / "trials.tsv"),
                            "roi_labels": str(root / "roi_labels.tsv"), "dataset": None, "mask": None}
    order = np.arange(ds.n_voxels)
    if fmt == "nifti":
        import nibabel as nib

        if ds.voxel_ijk is None or ds.affine is None or ds.volume_shape is None:
            raise DataError(f"{ds.name} has no volume grid; write it with fmt npy, hdf5 or zarr")
        i, j, k = np.asarray(ds.voxel_ijk).T
        shape = tuple(int(x) for x in ds.volume_shape)
        vol = np.zeros(shape + (image.size,), dtype=np.float32)
        vol[i, j, k] = values.T
        affine = np.asarray(ds.affine, dtype=np.float64)
        nib.save(nib.Nifti1Image(vol, affine), root / "betas.nii.gz")
        mask = np.zeros(shape, np.uint8)
        mask[i, j, k] = 1
        atlas = np.zeros(shape, np.int16)
        atlas[i, j, k] = labels
        nib.save(nib.Nifti1Image(mask, affine), root / "mask.nii.gz")
        nib.save(nib.Nifti1Image(atlas, affine), root / "roi_atlas.nii.gz")
        spec.update(responses=str(root / "betas.nii.gz"), mask=str(root / "mask.nii.gz"),
                    roi_atlas=str(root / "roi_atlas.nii.gz"))
        order = np.lexsort((k, j, i))
    else:
        np.save(root / "roi_atlas.npy", labels.astype(np.int64))
        spec["roi_atlas"] = str(root / "roi_atlas.npy")
        if fmt == "npy":
            np.save(root / "betas.npy", values)
            spec["responses"] = str(root / "betas.npy")
        elif fmt == "hdf5":
            import h5py

            with h5py.File(root / "betas.h5", "w") as f:
                f.create_dataset("betas", data=values, chunks=(min(64, values.shape[0]), values.shape[1]))
                f.create_dataset("meta/n_sessions", data=n_sessions)
            spec.update(responses=str(root / "betas.h5"), dataset="betas")
        else:
            import zarr

            z = zarr.open_group(str(root / "betas.zarr"), mode="w")
            z.create_array("betas", data=values, chunks=(min(64, values.shape[0]), values.shape[1]))
            spec.update(responses=str(root / "betas.zarr"), dataset="betas")
    return {**spec, "voxel_order": order}
