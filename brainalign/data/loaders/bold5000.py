"""``kind: bold5000``: BOLD5000 GLMsingle single-trial betas (Chang et al. 2019; v2.0 betas), one file per session.

The release's own file names were not verified here, so this loader reads a documented layout you arrange
(links or renames) under ``root``:

- ``<subject>/betas_sessionNN.nii.gz`` ``(X, Y, Z, n_trials)`` (or ``.hdf5``/``.npy`` trial-first
  ``(n_trials, X, Y, Z)``, see :mod:`brainalign.data.loaders.beta_arrays`);
- ``<subject>/stimlists/<subject>_sessNN.txt``: the image file name of each trial, one a line, in trial order;
- ``stimuli/``: the images (COCO / ImageNet / Scene sub-folders allowed), matched by file name;
- ``<subject>/rois/<roi>.nii.gz`` (or ``roi`` a NIfTI path); without ``roi``, ``<subject>/brainmask.nii.gz`` if
  present, else every voxel.

Images shown more than once (BOLD5000's repeated set) are the predefined ``test_images``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

from brainalign.data.image_responses import ImageResponseData
from brainalign.data.images import IMAGE_SUFFIXES, ImageStimulusSet
from brainalign.data.loaders.beta_arrays import open_betas
from brainalign.data.loaders.betas import select_voxels
from brainalign.data.loaders.trial_stack import stack_trials, zscore_columns
from brainalign.data.visual import VisualDataset
from brainalign.errors import DataError

_SESSION = re.compile(r"^betas_session(\d+)\.(nii\.gz|nii|hdf5|h5|npy)$")
_WHERE = "see brainalign.data.loaders.bold5000 for the layout (OpenNeuro ds001499, figshare BOLD5000)"


def session_files(folder: Path) -> dict[int, Path]:
    """``{session: betas file}`` of ``folder``."""
    found = {}
    for p in sorted(folder.glob("betas_session*")) if folder.is_dir() else []:
        m = _SESSION.match(p.name)
        if m:
            found.setdefault(int(m.group(1)), p)
    return found


def load_bold5000_spec(spec: Any) -> ImageResponseData:
    """``kind: bold5000`` (:class:`~brainalign.config.vision.BOLD5000DatasetSpec`)."""
    root = Path(spec.root).expanduser()
    sub = root / spec.subject
    files = session_files(sub)
    if not files:
        raise DataError(f"no BOLD5000 betas_sessionNN files in {sub}; {_WHERE}")
    sessions = sorted(files) if spec.sessions is None else list(spec.sessions)
    for s in sessions:
        if s not in files:
            raise DataError(f"BOLD5000 session {s} file {sub}/betas_session{s:02d}.nii.gz not found; {_WHERE}")
    stim_dir = root / "stimuli"
    if not stim_dir.is_dir():
        raise DataError(f"BOLD5000 stimuli folder {stim_dir} not found; {_WHERE}")
    by_name = {p.name: p for p in stim_dir.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES}
    if spec.roi is None:
        mask = sub / "brainmask.nii.gz"
        mask_path = str(mask) if mask.is_file() else None
    else:
        mask = Path(spec.roi).expanduser() if spec.roi.endswith((".nii", ".nii.gz")) else sub / "rois" / f"{spec.roi}.nii.gz"
        if not mask.is_file():
            raise DataError(f"BOLD5000 ROI mask {mask} not found; {_WHERE}")
        mask_path = str(mask)

    rows, keys, voxels, affine, grid = [], [], None, None, None
    for s in sessions:
        listing = sub / "stimlists" / f"{spec.subject}_sess{s:02d}.txt"
        if not listing.is_file():
            raise DataError(f"BOLD5000 stimulus list {listing} not found; {_WHERE}")
        names = [ln.strip() for ln in listing.read_text().splitlines() if ln.strip()]
        unknown = [n for n in names if n not in by_name]
        if unknown:
            raise DataError(f"{listing.name}: image {unknown[0]!r} is not in {stim_dir}; copy the BOLD5000 stimuli there")
        betas = open_betas(files[s], None, "BOLD5000 betas")
        try:
            if betas.n_trials != len(names):
                raise DataError(f"{files[s].name} holds {betas.n_trials} trials but {listing.name} lists {len(names)}; "
                                "use the stimulus list of the same session")
            if voxels is None:
                voxels, roi = select_voxels(betas, mask_path, None, None)
                affine, grid = betas.affine, betas.grid
            elif betas.grid != grid:
                raise DataError(f"{files[s].name} has grid {betas.grid} but session {sessions[0]} has {grid}; "
                                "use betas of one space")
            b = betas.read(np.arange(betas.n_trials), voxels)
        finally:
            betas.close()
        rows.append(zscore_columns(b) if spec.zscore_sessions else b)
        keys.extend(names)
    y, image_names, counts = stack_trials(np.concatenate(rows), np.array(keys), spec.average_repeats, 1,
                                          f"BOLD5000 {spec.subject}")
    stems = np.array([Path(n).stem for n in image_names])
    volume = voxels is not None and np.ndim(voxels) == 2
    ds = VisualDataset(
        name=f"BOLD5000.{spec.subject}", responses=y, image_ids=stems,
        roi=np.full(y.shape[-1], spec.roi or "brainmask") if mask_path else roi, subject=spec.subject,
        voxel_ijk=voxels if volume else None, affine=affine if volume else None,
        volume_shape=tuple(grid) if volume else None,  # type: ignore[arg-type]
        coords=voxels @ affine[:3, :3].T + affine[:3, 3] if volume and affine is not None else None,
        space=f"{spec.subject}-native", repeat_counts=counts, test_images=counts > 1,
        meta={"dataset": "BOLD5000", "root": str(root), "sessions": sessions, "roi": spec.roi,
              "files": [str(files[s]) for s in sessions], "zscore_sessions": spec.zscore_sessions},
    )
    images = ImageStimulusSet.from_files(f"BOLD5000.{spec.subject}", [by_name[n] for n in image_names],
                                         names=stems.tolist())
    describe = {"kind": "bold5000", **ds.meta, "n_images": ds.n_images, "n_voxels": ds.n_voxels,
                "n_test_images": int(ds.test_images.sum())}
    return ImageResponseData(images, ds, describe)
