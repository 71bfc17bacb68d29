"""``kind: betas``: your own study's single-trial betas, a trial table and the images.

- ``images``: a folder of image files (natural order) or a ``.txt`` list of image paths (relative to the list).
- ``responses``: ``.npy`` / ``.h5`` (``dataset``) / ``.zarr`` ``(n_trials, n_voxels)`` or ``(n_trials, X, Y, Z)``,
  or NIfTI ``(X, Y, Z, n_trials)``; row ``t`` is row ``t`` of ``trials``.
- ``trials``: CSV/TSV with ``image`` (file stem, or 0-based index into ``images``), ``session``, ``repeat`` and
  optionally ``test`` (a predefined test image: 1/true).
- ``mask`` (bool) and ``roi_atlas`` (integer labels, 0 = none; names from ``roi_labels``, a ``value,name``
  table) on the responses' grid: NIfTI for volumes, ``.npy`` ``(n_voxels,)`` for 2-D arrays. The voxels kept are
  ``mask & (atlas > 0)``; volume voxels come in C order of the grid (``np.argwhere``).

Sessions are read one at a time (only the kept voxels), z-scored within session on request, then grouped by
image: NaN-padded repeats ordered by ``repeat``, images in the order of ``images``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from brainalign.data.image_responses import ImageResponseData
from brainalign.data.images import ImageStimulusSet
from brainalign.data.loaders.beta_arrays import BetaArray, load_volume, open_betas
from brainalign.data.loaders.trial_stack import stack_trials, zscore_columns
from brainalign.data.visual import VisualDataset
from brainalign.errors import DataError


def read_table(path: str | Path, what: str = "trial table") -> Any:
    """A CSV/TSV file as a pandas DataFrame (separator from the suffix)."""
    import pandas as pd

    path = Path(path).expanduser()
    if not path.is_file():
        raise DataError(f"{what} {path} not found; check the path")
    name = path.name.lower()
    sep = "\t" if name.endswith((".tsv", ".tsv.gz", ".txt")) else "," if name.endswith((".csv", ".csv.gz")) else None
    if sep is None:
        raise DataError(f"{what} {path} must be .csv or .tsv")
    return pd.read_csv(path, sep=sep)


def image_set(images: str | Path, name: str = "images") -> ImageStimulusSet:
    """A folder of images, or a ``.txt`` list of image paths (one a line, relative to the list's folder)."""
    path = Path(images).expanduser()
    if path.is_dir():
        return ImageStimulusSet.from_folder(path, name=name)
    if path.is_file():
        lines = [ln.strip() for ln in path.read_text().splitlines() if ln.strip() and not ln.startswith("#")]
        if not lines:
            raise DataError(f"image list {path} is empty; list one image path per line")
        return ImageStimulusSet.from_files(name, [p if Path(p).is_absolute() else path.parent / p for p in lines])
    raise DataError(f"images {path} is neither a folder nor a list file; check the path")


def image_index(values: np.ndarray, names: tuple[str, ...], where: str) -> np.ndarray:
    """``(n_trials,)`` indices into ``names`` for a column of file stems or 0-based indices."""
    lookup = {n: i for i, n in enumerate(names)}
    as_str = [str(v) for v in values]
    if all(s in lookup for s in as_str):
        return np.array([lookup[s] for s in as_str], dtype=np.int64)
    try:
        idx = np.asarray(values).astype(np.int64)
    except (TypeError, ValueError):
        bad = next(s for s in as_str if s not in lookup)
        raise DataError(f"{where}: image {bad!r} is not one of the {len(names)} images; use file stems or 0-based "
                        "indices") from None
    bad = idx[(idx < 0) | (idx >= len(names))]
    if bad.size:
        raise DataError(f"{where}: image index {int(bad[0])} out of range 0..{len(names) - 1} (0-based indices into the "
                        f"{len(names)} images)")
    return idx


def _labels(path: str | None, values: np.ndarray) -> np.ndarray:
    """ROI name per voxel from a ``value,name`` table (default ``roi<value>``)."""
    names: dict[int, str] = {}
    if path is not None:
        table = read_table(path, "ROI label table")
        if not {"value", "name"} <= set(table.columns):
            raise DataError(f"ROI label table {path} needs columns value and name, has {', '.join(map(str, table.columns))}")
        names = {int(v): str(n) for v, n in zip(table["value"], table["name"], strict=True)}
    return np.array([names.get(int(v), f"roi{int(v)}") for v in values])


def select_voxels(betas: BetaArray, mask: str | None, atlas: str | None, labels: str | None
                  ) -> tuple[np.ndarray, np.ndarray]:
    """``(voxels, roi)``: ``(v,)`` flat indices or ``(v, 3)`` ijk on the betas' grid, and ``(v,)`` ROI names."""
    grid = betas.grid
    keep = np.ones(grid, dtype=bool)
    values = None
    for path, what in ((mask, "mask"), (atlas, "ROI atlas")):
        if path is None:
            continue
        data, affine = load_volume(path, what)
        if data.shape != grid:
            raise DataError(f"{what} {path} has shape {data.shape} but the betas {betas.path.name} have grid {grid}; "
                            "use a mask of the same space and resolution")
        if affine is not None and betas.affine is not None and not np.allclose(affine, betas.affine, atol=1e-3):
            raise DataError(f"{what} {path} is in another space than {betas.path.name} (affines differ); resample it "
                            "to the betas' grid")
        if what == "mask":
            keep &= data.astype(bool)
        else:
            values = np.rint(data).astype(np.int64)
            keep &= values > 0
    if not keep.any():
        raise DataError(f"mask and ROI atlas of {betas.path.name} select no voxels (empty ROI); check mask and roi_atlas")
    voxels = np.argwhere(keep) if betas.is_volume else np.flatnonzero(keep)
    roi = np.full(len(voxels), "all") if values is None else _labels(labels, values[keep])
    return voxels, roi


def load_betas_spec(spec: Any) -> ImageResponseData:
    """``kind: betas`` (:class:`~brainalign.config.vision.BetasDatasetSpec`)."""
    images = image_set(spec.images, spec.name)
    table = read_table(spec.trials)
    need = [spec.image_column, spec.session_column, spec.repeat_column]
    missing = [c for c in need if c not in table.columns]
    if missing:
        raise DataError(f"trial table {spec.trials} lacks column {missing[0]!r} (has {', '.join(map(str, table.columns))}); "
                        "set image_column / session_column / repeat_column")
    betas = open_betas(spec.responses, spec.dataset)
    try:
        if betas.n_trials != len(table):
            raise DataError(f"betas {betas.path.name} hold {betas.n_trials} trials but trial table {Path(spec.trials).name} "
                            f"has {len(table)} rows; give one table row per beta trial")
        img = image_index(table[spec.image_column].to_numpy(), images.names, f"trial table {spec.trials}")
        session = table[spec.session_column].to_numpy()
        repeat = table[spec.repeat_column].to_numpy()
        voxels, roi = select_voxels(betas, spec.mask, spec.roi_atlas, spec.roi_labels)
        rows, keys = [], []
        for s in sorted(set(session.tolist())):
            t = np.flatnonzero(session == s)
            b = betas.read(t, voxels)
            rows.append(zscore_columns(b) if spec.zscore_sessions else b)
            keys.append(t)
    finally:
        betas.close()
    trials = np.concatenate(keys)
    y = np.concatenate(rows)
    order = np.lexsort((trials, repeat[trials]))  # repeats in ``repeat`` order, then trial order
    y, used, counts = stack_trials(y[order], img[trials][order], spec.average_repeats, 1, f"betas {spec.responses}")
    test = None
    if spec.test_column in table.columns:
        flag = table[spec.test_column].astype(str).str.lower().isin(["1", "true", "yes", "test"]).to_numpy()
        per_image = np.zeros(len(images.names), dtype=np.int64)
        np.add.at(per_image, img, flag)
        n_trials = np.bincount(img, minlength=len(images.names))
        mixed = np.flatnonzero((per_image > 0) & (per_image < n_trials))
        if mixed.size:
            raise DataError(f"trial table {spec.trials}: image {images.names[mixed[0]]!r} is test on some trials only; "
                            f"mark every trial of an image the same in {spec.test_column!r}")
        test = per_image[used] > 0
    ds = VisualDataset(
        name=spec.name, responses=y, image_ids=np.array([images.names[i] for i in used]), roi=roi,
        subject=spec.subject, voxel_ijk=voxels if betas.is_volume else None,
        affine=betas.affine, volume_shape=tuple(betas.grid) if betas.is_volume else None,
        coords=voxels @ betas.affine[:3, :3].T + betas.affine[:3, 3] if betas.affine is not None else None,
        repeat_counts=counts, test_images=test,
        meta={"dataset": "betas", "responses": str(spec.responses), "trials": str(spec.trials), "mask": spec.mask,
              "roi_atlas": spec.roi_atlas, "zscore_sessions": spec.zscore_sessions},
    )
    describe = {"kind": "betas", **ds.meta, "images": str(spec.images), "n_images": ds.n_images,
                "n_voxels": ds.n_voxels, "sessions": sorted(set(session.tolist()))}
    return ImageResponseData(images.subset(used.tolist(), name=images.name), ds, describe)
