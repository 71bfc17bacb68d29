"""Natural Scenes Dataset (Allen et al. 2022) from a local copy laid out like ``s3://natural-scenes-dataset``.

NSD is released under terms that every user must accept (see ``data_manifests/restricted/NSD.yaml``); this
loader never downloads: it reads a folder you synced yourself, e.g.
``aws s3 sync --no-sign-request s3://natural-scenes-dataset/<key> <root>/<key>``. Layout (keys under ``root``):

- ``nsddata/experiments/nsd/nsd_expdesign.mat``: ``masterordering`` (30000 trials, 1-based index into the
  subject's 10k list), ``subjectim`` (8 x 10000, 1-based 73k ids), ``sharedix`` (1000 shared 73k ids).
- ``nsddata_betas/ppdata/subjAA/func1pt8mm/<beta_version>/betas_sessionNN.{hdf5,nii.gz}``: int16 percent
  signal change x 300. NIfTI is ``(X, Y, Z, 750)``; the HDF5 ``/betas`` is X x Y x Z x 750 in the
  manual's (MATLAB) order, i.e. ``(750, Z, Y, X)`` through h5py.
- ``nsddata/ppdata/subjAA/func1pt8mm/roi/<roi>.nii.gz`` (``nsdgeneral``: 1 inside, 0 outside, -1 off-brain)
  and ``brainmask.nii.gz``.
- ``nsddata_stimuli/stimuli/nsd/nsd_stimuli.hdf5``: ``imgBrick`` ``(73000, 425, 425, 3)`` uint8.

Trial ``t`` (0-based, ``t = (session - 1) * 750 + trial``) shows 73k image
``subjectim[subject - 1, masterordering[t] - 1] - 1``; it is a shared-1000 (test) trial iff
``masterordering[t] <= 1000``.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from brainalign.data.image_responses import NSD_TERMS_URL, ImageResponseData, require_terms
from brainalign.data.loaders.trial_stack import stack_trials, zscore_columns
from brainalign.data.visual import VisualDataset
from brainalign.errors import DataError

BETA_SCALE = 300.0
TRIALS_PER_SESSION = 750
N_SHARED = 1000
DEFAULT_BETAS = "betas_fithrf_GLMdenoise_RR"
TERMS = (
    "NSD is not downloaded automatically: accept the NSD Terms and Conditions "
    "(https://cvnlab.slite.page/p/IB6BSeW_7o/Terms-and-Conditions), fill in the data access form "
    "(https://forms.gle/xue2bCdM9LaFNMeb7), then sync the files from s3://natural-scenes-dataset/{key}"
)


#: Label names of the NSD volume ROI atlases (value 1, 2, ... in this order; the order Algonauts 2023 lists them,
#: the NSD ``.ctab`` files were not read). Unlisted atlases keep ``"<roi>:<value>"``.
ROI_NAMES: dict[str, tuple[str, ...]] = {
    "prf-visualrois": ("V1v", "V1d", "V2v", "V2d", "V3v", "V3d", "hV4"),
    "floc-bodies": ("EBA", "FBA-1", "FBA-2", "mTL-bodies"),
    "floc-faces": ("OFA", "FFA-1", "FFA-2", "mTL-faces", "aTL-faces"),
    "floc-places": ("OPA", "PPA", "RSC"),
    "floc-words": ("OWFA", "VWFA-1", "VWFA-2", "mfs-words", "mTL-words"),
    "streams": ("early", "midventral", "midlateral", "midparietal", "ventral", "lateral", "parietal"),
}


def _where(key: str) -> str:
    return TERMS.format(key=key)


def design_path(root: Path) -> Path:
    return root / "nsddata/experiments/nsd/nsd_expdesign.mat"


def betas_dir(root: Path, subject: int, space: str = "func1pt8mm", beta_version: str = DEFAULT_BETAS) -> Path:
    return root / f"nsddata_betas/ppdata/subj{subject:02d}/{space}/{beta_version}"


def roi_path(root: Path, subject: int, roi: str, space: str = "func1pt8mm") -> Path:
    base = root / f"nsddata/ppdata/subj{subject:02d}/{space}"
    return base / "brainmask.nii.gz" if roi == "brainmask" else base / "roi" / f"{roi}.nii.gz"


def stimuli_path(root: Path) -> Path:
    return root / "nsddata_stimuli/stimuli/nsd/nsd_stimuli.hdf5"


def _key(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix()


def load_design(root: str | os.PathLike, subject: int) -> dict[str, np.ndarray]:
    """Trial order of one subject: ``nsd_ids`` (n_trials,) 0-based 73k ids, ``shared`` (n_trials,) bool,
    ``sharedix`` (1000,) 0-based 73k ids, ``masterordering`` (n_trials,) 1-based."""
    from scipy.io import loadmat

    root = Path(root)
    path = design_path(root)
    if not path.is_file():
        raise DataError(f"NSD design file {path} not found; {_where(_key(path, root))}")
    mat = loadmat(path)
    missing = [k for k in ("masterordering", "subjectim", "sharedix") if k not in mat]
    if missing:
        raise DataError(f"NSD design file {path} lacks {', '.join(missing)}; is it nsd_expdesign.mat?")
    order = np.asarray(mat["masterordering"]).ravel().astype(np.int64)
    subjectim = np.asarray(mat["subjectim"]).astype(np.int64)
    if not 1 <= subject <= subjectim.shape[0]:
        raise DataError(f"NSD subject {subject} out of range 1..{subjectim.shape[0]}")
    ims = subjectim[subject - 1]
    if order.min() < 1 or order.max() > ims.size:
        raise DataError(f"masterordering values {order.min()}..{order.max()} fall outside the {ims.size} images of subjectim")
    return {
        "nsd_ids": ims[order - 1] - 1,
        "shared": order <= N_SHARED,
        "sharedix": np.asarray(mat["sharedix"]).ravel().astype(np.int64) - 1,
        "masterordering": order,
    }


def _load_mask(
    root: Path, subject: int, roi: str | os.PathLike | np.ndarray | None, roi_values: tuple[int, ...] | None, space: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray, str]:
    """``(mask (X, Y, Z) bool, labels (X, Y, Z) int, affine, name)``."""
    import nibabel as nib

    if isinstance(roi, np.ndarray):
        labels, affine, name = roi.astype(np.int64), np.eye(4), "mask"
    else:
        name = "brainmask" if roi is None else str(roi)
        path = Path(roi) if roi is not None and str(roi).endswith((".nii", ".nii.gz")) else roi_path(root, subject, name, space)
        if not path.is_file():
            where = _where(_key(path, root)) if path.is_relative_to(root) else "check the path"
            raise DataError(f"NSD ROI file {path} not found; {where}")
        img = nib.load(str(path))
        labels, affine = np.rint(np.asarray(img.dataobj)).astype(np.int64), np.asarray(img.affine)
        name = path.name.removesuffix(".gz").removesuffix(".nii")
    if labels.ndim != 3:
        raise DataError(f"ROI mask {name} must be a 3-D volume, got shape {labels.shape}")
    mask = np.isin(labels, roi_values) if roi_values is not None else labels > 0
    if not mask.any():
        raise DataError(f"ROI mask {name} selects no voxels (values {roi_values or '> 0'}); check roi and roi_values")
    return mask, labels, affine, name


def _session_files(folder: Path, fmt: str) -> dict[int, Path]:
    pattern = re.compile(r"^betas_session(\d+)\.(hdf5|nii\.gz|nii)$")
    found: dict[int, Path] = {}
    for p in sorted(folder.glob("betas_session*")) if folder.is_dir() else []:
        m = pattern.match(p.name)
        if m and (fmt == "auto" or (fmt == "hdf5") == (m.group(2) == "hdf5")):
            s = int(m.group(1))
            if s not in found or m.group(2) == "hdf5":  # prefer HDF5 (faster to slice) when both exist
                found[s] = p
    return found


def read_session(
    path: Path, mask: np.ndarray, slab: int = 8, trial_chunk: int = 125, mask_affine: np.ndarray | None = None
) -> tuple[np.ndarray, np.dtype]:
    """Masked betas of one session file: ``((n_trials, n_voxels) float32 in the file's units, file dtype)``.

    Voxels come in C order of the ``(X, Y, Z)`` mask (``np.argwhere(mask)``). Only the mask's bounding box is
    read: HDF5 ``(trials, Z, Y, X)`` in slabs of ``slab`` Z planes, NIfTI ``(X, Y, Z, trials)`` in chunks of
    ``trial_chunk`` trials (one forward pass through a ``.nii.gz``). ``mask_affine``: refuse NIfTI betas whose
    affine differs (a mask of another space).
    """
    ijk = np.argwhere(mask)
    lo, hi = ijk.min(0), ijk.max(0) + 1
    if path.name.endswith(".hdf5"):
        import h5py

        with h5py.File(path, "r") as f:
            if "betas" not in f:
                raise DataError(f"NSD beta file {path} has no 'betas' dataset (has {', '.join(f.keys()) or 'none'}); "
                                "is it an NSD betas_sessionNN.hdf5?")
            ds = f["betas"]
            if ds.ndim != 4:
                raise DataError(f"NSD beta file {path}: /betas must be (trials, Z, Y, X), got {ds.shape}")
            _check_shape(path, tuple(ds.shape[1:][::-1]), mask.shape)
            out = np.empty((ds.shape[0], len(ijk)), dtype=np.float32)
            for z0 in range(int(lo[2]), int(hi[2]), slab):
                sel = np.flatnonzero((ijk[:, 2] >= z0) & (ijk[:, 2] < z0 + slab))
                if sel.size:
                    block = ds[:, z0 : min(z0 + slab, hi[2]), lo[1] : hi[1], lo[0] : hi[0]]  # (trials, z, y, x)
                    i, j, k = (ijk[sel] - [lo[0], lo[1], z0]).T
                    out[:, sel] = block[:, k, j, i]
            return out, ds.dtype
    import nibabel as nib

    try:
        img = nib.load(str(path), keep_file_open=True)
    except Exception as exc:  # nibabel raises several types for damaged files
        raise DataError(f"cannot read NSD beta file {path} ({type(exc).__name__}); re-sync it") from None
    if len(img.shape) != 4:
        raise DataError(f"NSD beta file {path} must be 4-D (X, Y, Z, trials), got {img.shape}")
    _check_shape(path, tuple(img.shape[:3]), mask.shape)
    if mask_affine is not None and not np.allclose(img.affine, mask_affine, atol=1e-3):
        raise DataError(f"NSD betas {path.name} and the ROI mask have different affines (another space); use the "
                        "mask of the same subject and space")
    n_trials = img.shape[3]
    out = np.empty((n_trials, len(ijk)), dtype=np.float32)
    i, j, k = (ijk - lo).T
    dtype = img.get_data_dtype()
    for t0 in range(0, n_trials, trial_chunk):
        block = np.asarray(img.dataobj[lo[0] : hi[0], lo[1] : hi[1], lo[2] : hi[2], t0 : t0 + trial_chunk])
        out[t0 : t0 + block.shape[3]] = block[i, j, k].T
    scaled = float(getattr(img.dataobj, "slope", 1.0)) != 1.0 or float(getattr(img.dataobj, "inter", 0.0)) != 0.0
    return out, np.dtype(np.float32) if scaled else dtype  # scl_slope set: values already in real units


def _check_shape(path: Path, vol: tuple, mask: tuple) -> None:
    if tuple(vol) != tuple(mask):
        raise DataError(f"NSD betas {path.name} have volume {tuple(vol)} but the ROI mask is {tuple(mask)}; use the mask of the same subject and space")


def load_nsd(
    root: str | os.PathLike,
    subject: int = 1,
    sessions: list[int] | None = None,
    roi: str | os.PathLike | np.ndarray | None = "nsdgeneral",
    roi_values: tuple[int, ...] | None = None,
    average_repeats: bool = True,
    min_repeats: int = 1,
    fmt: str = "auto",
    space: str = "func1pt8mm",
    beta_version: str = DEFAULT_BETAS,
    zscore_sessions: bool = False,
    trials_per_session: int = TRIALS_PER_SESSION,
    label_names: bool = False,
    progress: Callable[[int, float], None] | None = None,
) -> tuple[VisualDataset, np.ndarray]:
    """Load one NSD subject's single-trial betas from a local copy.

    Args:
        root: folder holding the bucket's keys (``nsddata/``, ``nsddata_betas/``...).
        subject: 1..8.
        sessions: 1-based session numbers (default: every session file present).
        roi: ROI name under ``roi/`` (``"nsdgeneral"``, ``"prf-visualrois"``...), ``"brainmask"``, ``None``
            (= brainmask), a NIfTI path, or an ``(X, Y, Z)`` int array.
        roi_values: label values to keep (default ``> 0``); voxel labels are ``"<roi>"`` for a binary mask,
            ``"<roi>:<value>"`` otherwise.
        average_repeats: average the trials of each image (``(n_images, n_voxels)``); else keep them
            ``(max_repeats, n_images, n_voxels)``, NaN-padded, trial order preserved.
        min_repeats: drop images with fewer trials in the loaded sessions.
        fmt: ``"hdf5"``, ``"nifti"`` or ``"auto"`` (HDF5 when both exist).
        space, beta_version: the folder of the betas.
        zscore_sessions: z-score each voxel within each session (common NSD practice) before averaging.
        trials_per_session: 750 in NSD (smaller only for fabricated test files).
        label_names: name the voxels of the known atlases (:data:`ROI_NAMES`: ``"V1v"``, ``"FFA-1"``...).
        progress: called ``(session, seconds)`` after each session is read.

    Returns:
        ``(dataset, nsd_ids)``: betas in percent signal change (int16 / 300); images sorted by 73k id
        ``nsd_ids`` ``(n_images,)`` (0-based, also ``dataset.image_ids``); ``dataset.test_images`` marks
        the shared-1000 images; ``repeat_counts`` the trials per image; voxel positions in the subject's
        native grid (``voxel_ijk``, ``affine``, ``coords`` in scanner mm).
    """
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"NSD folder {root} does not exist; {_where('')}")
    if fmt not in ("auto", "hdf5", "nifti"):
        raise DataError(f"fmt must be 'auto', 'hdf5' or 'nifti', got {fmt!r}")
    design = load_design(root, subject)
    mask, labels, affine, roi_name = _load_mask(root, subject, roi, roi_values, space)
    mask_affine = None if isinstance(roi, np.ndarray) else affine
    folder = betas_dir(root, subject, space, beta_version)
    files = _session_files(folder, fmt)
    if sessions is None:
        sessions = sorted(files)
        if not sessions:
            key = _key(folder, root) + "/betas_sessionNN." + ("nii.gz" if fmt == "nifti" else "hdf5")
            raise DataError(f"no NSD beta files in {folder}; {_where(key)}")
    for s in sessions:
        if s not in files:
            ext = "nii.gz" if fmt == "nifti" else "hdf5"
            key = f"{_key(folder, root)}/betas_session{s:02d}.{ext}"
            raise DataError(f"NSD session {s} file {folder}/betas_session{s:02d}.{ext} not found; {_where(key)}")

    n_design = design["nsd_ids"].size
    for s in sessions:
        if s * trials_per_session > n_design:
            raise DataError(f"session {s} trials run past the {n_design} trials of masterordering; "
                            "check sessions and trials_per_session")
    rows, trial_ids = [], []
    for s in sessions:
        t0 = time.perf_counter()
        b, dtype = read_session(files[s], mask, mask_affine=mask_affine)
        if b.shape[0] != trials_per_session:
            raise DataError(f"{files[s].name} holds {b.shape[0]} trials, expected {trials_per_session} per session")
        if np.issubdtype(dtype, np.integer):
            b /= BETA_SCALE
        if zscore_sessions:
            b = zscore_columns(b)
        rows.append(b)
        trial_ids.append((s - 1) * trials_per_session + np.arange(trials_per_session))
        if progress is not None:
            progress(s, time.perf_counter() - t0)
    betas = np.concatenate(rows) if len(rows) > 1 else rows[0]
    del rows
    trials = np.concatenate(trial_ids)
    y, nsd_ids, counts = stack_trials(betas, design["nsd_ids"][trials], average_repeats, min_repeats,
                                      f"NSD subj{subject:02d} sessions {list(sessions)}")
    del betas
    shared_ids = set(design["nsd_ids"][design["shared"]].tolist())
    is_test = np.array([i in shared_ids for i in nsd_ids])

    ijk = np.argwhere(mask)
    values = labels[tuple(ijk.T)]
    binary = set(np.unique(values).tolist()) == {1}
    names = ROI_NAMES.get(roi_name, ()) if label_names else ()
    if binary:
        roi_labels = np.full(ijk.shape[0], roi_name)
    else:
        roi_labels = np.array([names[v - 1] if 0 < v <= len(names) else f"{roi_name}:{v}" for v in values])
    coords = ijk @ affine[:3, :3].T + affine[:3, 3]
    ds = VisualDataset(
        name=f"NSD.subj{subject:02d}", responses=y, image_ids=nsd_ids, roi=roi_labels,
        subject=f"subj{subject:02d}", coords=coords, voxel_ijk=ijk, affine=affine, volume_shape=tuple(mask.shape),
        space=f"subj{subject:02d}-{space}", repeat_counts=counts, test_images=is_test,
        meta={"dataset": "NSD", "root": str(root), "sessions": list(sessions), "beta_version": beta_version,
              "roi": roi_name, "units": "percent signal change" + (" (z-scored per session)" if zscore_sessions else ""),
              "files": [str(files[s]) for s in sessions], "terms": NSD_TERMS_URL},
    )
    return ds, nsd_ids


def load_nsd_stimuli(root: str | os.PathLike, nsd_ids: np.ndarray, rgb: bool = True) -> np.ndarray:
    """Images from ``nsd_stimuli.hdf5`` (``imgBrick``) for 0-based 73k ids, in the given order.

    Returns:
        ``(n, 425, 425, 3)`` RGB (or ``(n, 425, 425)`` luminance with ``rgb=False``) float32 in ``[0, 1]``.
    """
    import h5py

    root = Path(root)
    path = stimuli_path(root)
    if not path.is_file():
        raise DataError(f"NSD stimuli {path} not found; {_where(_key(path, root))}")
    ids = np.asarray(nsd_ids, dtype=np.int64).ravel()
    with h5py.File(path, "r") as f:
        if "imgBrick" not in f:
            raise DataError(f"{path} has no 'imgBrick' dataset")
        brick = f["imgBrick"]
        if brick.ndim != 4 or brick.shape[-1] != 3:
            raise DataError(f"{path}: imgBrick must be RGB (n, H, W, 3), got {brick.shape}")
        bad = ids[(ids < 0) | (ids >= brick.shape[0])]
        if bad.size:
            raise DataError(f"NSD image index {int(bad[0])} out of range 0..{brick.shape[0] - 1} (73k ids are 0-based)")
        uniq, inv = np.unique(ids, return_inverse=True)
        imgs = brick[uniq][inv]
    x = imgs.astype(np.float32) / 255.0
    if not rgb:
        x = x @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    return x


def nsd_manifest(path: str | Path | None = None) -> dict:
    """The NSD manifest (default ``data_manifests/restricted/NSD.yaml``): file keys, terms, facts.

    Invalid YAML or a repeated key gives a one-line :class:`~brainalign.errors.ConfigError` naming the file.
    """
    from brainalign.yaml_io import load_file

    if path is None:
        from brainalign.data.manifest import restricted_manifest_path

        path = restricted_manifest_path("NSD")
    return load_file(path, "NSD manifest")


def load_nsd_spec(spec: Any) -> ImageResponseData:
    """``kind: nsd`` (:class:`~brainalign.config.vision.NSDDatasetSpec`): betas, trial design and the lazily read
    ``nsd_stimuli.hdf5`` images of one subject; shared-1000 images are ``dataset.test_images``."""
    from brainalign.data.loaders.hdf5_images import HDF5ImageSet

    require_terms(spec, "NSD")
    root = Path(spec.root).expanduser()
    if not root.is_dir():
        raise DataError(f"NSD folder {root} does not exist; {_where('')}")
    stim = stimuli_path(root)
    if not stim.is_file():
        raise DataError(f"NSD stimuli {stim} not found; {_where(_key(stim, root))}")
    roi: str | None = None if spec.roi == "brainmask" else spec.roi
    ds, ids = load_nsd(
        root, spec.subject, spec.sessions, roi=roi, roi_values=tuple(spec.roi_values) if spec.roi_values else None,
        average_repeats=spec.average_repeats, min_repeats=spec.min_repeats, fmt=spec.fmt, space=spec.space,
        beta_version=spec.beta_version, zscore_sessions=spec.zscore_sessions,
        trials_per_session=spec.trials_per_session, label_names=True,
    )
    images = HDF5ImageSet(f"NSD.subj{spec.subject:02d}", h5_path=stim, key="imgBrick", indices=tuple(ids.tolist()))
    describe = {"kind": "nsd", "root": str(root), "subject": spec.subject, "sessions": ds.meta["sessions"],
                "roi": ds.meta["roi"], "beta_version": spec.beta_version, "space": spec.space,
                "zscore_sessions": spec.zscore_sessions, "units": ds.meta["units"], "files": ds.meta["files"],
                "n_images": ds.n_images, "n_test_images": int(ds.test_images.sum()), "terms": NSD_TERMS_URL}
    return ImageResponseData(images, ds, describe)
