"""Haxby et al. 2001 (subject 1, one axial slice) as kept in the data mirror, and run-wise z-scoring.

Folder ``<mirror>/haxby2001_subj<N>/``:

- ``bold.nii.gz``: int16 ``(40, 20, 1, 1452)``, 12 runs x 121 TRs, TR 2.5 s.
- ``mask.nii.gz``: ``(40, 20, 1)``, 530 voxels (the default mask); any mask in the bold's voxel grid may be
  given instead.
- ``attributes_literal.txt``: one line per TR, ``<label> <run>`` (label ``rest`` or one of the categories).
- ``condition_key.txt``: ``task001 cond001 house`` ... ; the category order used everywhere.

Only nibabel is needed; it is imported inside :func:`load_haxby`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from brainalign.errors import DataError

FOLDER = "haxby2001_subj{subject}"
BOLD = "bold.nii.gz"
ATTRIBUTES = "attributes_literal.txt"
CONDITION_KEY = "condition_key.txt"
REST = "rest"
DEFAULT_TR = 2.5  # seconds, published TR; used when the bold header has no time step

_WHERE = (
    "BRAINALIGN_DATA_MIRROR should point at a folder laid out like shared/data (with haxby2001_subj1/ inside)"
)


@dataclass
class HaxbyData:
    """One Haxby subject inside a mask.

    Attributes:
        X: ``(n_trs, n_voxels)`` float32 BOLD values of the mask voxels (raw scanner units, not z-scored).
        labels: ``(n_trs,)`` str category of each TR (``"rest"`` only with ``include_rest=True``).
        runs: ``(n_trs,)`` int run of each TR (0-based as in ``attributes_literal.txt``).
        categories: the categories in ``condition_key.txt`` order (no ``"rest"``).
        tr: repetition time in seconds.
        affine: ``(4, 4)`` voxel-to-world affine of the bold image.
        mask: ``(nx, ny, nz)`` bool volume; ``X[:, j]`` is voxel ``voxel_ijk[j]``.
        voxel_ijk: ``(n_voxels, 3)`` int voxel indices of the mask voxels, in column order of ``X``.
        folder: the subject folder the data was read from.
    """

    X: np.ndarray
    labels: np.ndarray
    runs: np.ndarray
    categories: list[str]
    tr: float
    affine: np.ndarray
    mask: np.ndarray
    voxel_ijk: np.ndarray
    folder: Path | None = None

    @property
    def n_runs(self) -> int:
        """Number of distinct runs."""
        return int(np.unique(self.runs).size)


def _subject_folder(mirror: str | os.PathLike | None, subject: int) -> Path:
    if mirror is None:
        from brainalign.settings import data_mirror

        mirror = data_mirror()
        if mirror is None:
            raise DataError(f"BRAINALIGN_DATA_MIRROR is not set; {_WHERE}")
    folder = Path(mirror).expanduser() / FOLDER.format(subject=subject)
    if not folder.is_dir():
        raise DataError(f"no Haxby2001 folder {folder}; {_WHERE}")
    return folder


def _mask_path(folder: Path, mask: str | os.PathLike) -> Path:
    """``"mask"`` -> ``<folder>/mask.nii.gz``; a relative name is looked up in the subject folder first."""
    path = Path(mask).expanduser()
    if path.is_absolute() or path.is_file():
        return path
    inside = folder / path
    if not inside.name.endswith((".nii", ".nii.gz")):
        inside = inside.with_name(inside.name + ".nii.gz")
    return inside


def _read_attributes(path: Path) -> tuple[np.ndarray, np.ndarray]:
    labels, runs = [], []
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        parts = line.split()
        if not parts:
            continue
        try:
            if len(parts) != 2:
                raise ValueError
            runs.append(int(float(parts[1])))
        except ValueError:
            raise DataError(
                f"{path} line {i}: expected '<label> <run>', got {line.strip()!r}; fix or replace the file"
            ) from None
        labels.append(parts[0])
    return np.asarray(labels, dtype=str), np.asarray(runs, dtype=np.int64)


def _read_condition_key(path: Path) -> list[str]:
    cats = []
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) < 3:
            raise DataError(
                f"{path} line {i}: expected '<task> <cond> <name>', got {line.strip()!r}; "
                "fix or replace the file"
            )
        cats.append(parts[2])
    if not cats:
        raise DataError(f"{path} lists no conditions; expected lines like 'task001 cond001 house'")
    return cats


def _load_image(path: Path, what: str):
    import nibabel as nib

    try:
        return nib.load(str(path))
    except Exception as exc:  # nibabel raises several types for unreadable files
        raise DataError(
            f"cannot read {what} {path} ({type(exc).__name__}: {exc}); replace the file"
        ) from None


def load_haxby(
    mirror: str | os.PathLike | None = None,
    subject: int = 1,
    mask: str | os.PathLike = "mask",
    include_rest: bool = False,
) -> HaxbyData:
    """Read one Haxby2001 subject from the data mirror.

    Args:
        mirror: the data mirror folder; ``None`` uses ``BRAINALIGN_DATA_MIRROR``
            (:func:`brainalign.settings.data_mirror`).
        subject: subject number (the mirror holds subject 1).
        mask: ``"mask"`` (the folder's ``mask.nii.gz``), another name in the subject folder, or a path to a
            NIfTI mask in the bold's voxel grid (non-zero voxels are kept).
        include_rest: keep the ``rest`` TRs (dropped by default).

    Returns:
        :class:`HaxbyData` with ``X`` ``(n_trs, n_voxels)`` float32. Missing or inconsistent files raise a
        one-line :class:`~brainalign.errors.DataError` naming the file.
    """
    folder = _subject_folder(mirror, subject)
    mask_path = _mask_path(folder, mask)
    required = [folder / BOLD, folder / ATTRIBUTES, folder / CONDITION_KEY, mask_path]
    missing = [p for p in required if not p.is_file()]
    if missing:
        names = ", ".join(str(p.relative_to(folder)) if p.is_relative_to(folder) else str(p) for p in missing)
        raise DataError(f"{folder} lacks {names}; {_WHERE}")

    categories = _read_condition_key(folder / CONDITION_KEY)
    labels, runs = _read_attributes(folder / ATTRIBUTES)
    bold = _load_image(folder / BOLD, "bold")
    mimg = _load_image(mask_path, "mask")
    if len(bold.shape) != 4:
        raise DataError(
            f"{folder / BOLD} has shape {tuple(bold.shape)}; expected a 4-D (x, y, z, time) image"
        )
    vol = tuple(int(s) for s in bold.shape[:3])
    mshape = tuple(int(s) for s in mimg.shape)
    if len(mshape) == 4 and mshape[3] == 1:
        mshape = mshape[:3]
    if mshape != vol:
        raise DataError(
            f"{mask_path.name}: mask {mshape} does not match bold volume {vol}; "
            "use a mask in the bold's voxel grid"
        )
    if not np.allclose(mimg.affine, bold.affine, atol=1e-3):
        raise DataError(
            f"{mask_path.name}: mask affine differs from the bold affine; use a mask in the bold's voxel grid"
        )
    n_trs = int(bold.shape[3])
    if labels.size != n_trs:
        raise DataError(
            f"{folder / ATTRIBUTES} has {labels.size} rows but {BOLD} has {n_trs} volumes; "
            "they must match TR for TR"
        )
    unknown = sorted(set(labels.tolist()) - set(categories) - {REST})
    if unknown:
        raise DataError(
            f"{folder / ATTRIBUTES} has labels {unknown} that are not in {CONDITION_KEY} nor 'rest'"
        )

    mask_vol = np.asarray(mimg.dataobj).reshape(vol) != 0
    if not mask_vol.any():
        raise DataError(f"{mask_path} selects no voxels; use a non-empty mask")
    data = np.asarray(bold.dataobj)  # applies the header's scaling, if any
    X = np.ascontiguousarray(
        data[mask_vol].T, dtype=np.float32
    )  # (n_trs, n_voxels), C order = argwhere order
    voxel_ijk = np.argwhere(mask_vol).astype(np.int64)

    zooms = bold.header.get_zooms()
    tr = float(zooms[3]) if len(zooms) > 3 and zooms[3] > 0 else DEFAULT_TR
    if bold.header.get_xyzt_units()[1] == "msec":
        tr /= 1000.0

    keep = np.ones(n_trs, dtype=bool) if include_rest else labels != REST
    return HaxbyData(
        X=X[keep],
        labels=labels[keep],
        runs=runs[keep],
        categories=categories,
        tr=tr,
        affine=np.asarray(bold.affine, dtype=np.float64),
        mask=mask_vol,
        voxel_ijk=voxel_ijk,
        folder=folder,
    )


def zscore_by_run(X: np.ndarray, runs: np.ndarray) -> np.ndarray:
    """Z-score each column within each run, using only that run's rows (label-free).

    Args:
        X: ``(n_samples, n_features)``.
        runs: ``(n_samples,)`` run of each row.

    Returns:
        ``(n_samples, n_features)`` float32; a feature constant within a run becomes 0 in that run.
    """
    X = np.asarray(X)
    runs = np.asarray(runs)
    if X.ndim != 2 or runs.shape != (X.shape[0],):
        raise DataError(f"X {X.shape} must be 2-D with one run per row; got runs {runs.shape}")
    out = np.empty(X.shape, dtype=np.float32)
    for r in np.unique(runs):
        rows = runs == r
        block = X[rows].astype(np.float64)
        sd = block.std(0)
        out[rows] = np.where(sd > 0, (block - block.mean(0)) / np.where(sd > 0, sd, 1.0), 0.0)
    return out


# --- whole-brain runs (``runs_25mm/``), onsets, masks and atlases ------------------------------------------------

RUNS_FOLDER = "runs_25mm"
ONSETS = "onsets"
_NII = (".nii", ".nii.gz")


def shifted_labels(onsets: list[tuple[float, float, str]], n_trs: int, tr: float, shift_s: float) -> np.ndarray:
    """Per-TR labels of one run from its blocks, shifted for the haemodynamic lag.

    TR ``i`` is acquired at ``t_i = i * tr`` s from the run start; it gets the condition of the block
    ``(onset, duration, name)`` with ``onset <= t_i - shift_s < onset + duration``, else ``"rest"``. With
    ``shift_s = 4`` and ``tr = 2.5`` a block with onset 15 s and duration 22.5 s labels TRs 8..16 (t = 20..40 s)
    instead of 6..14.

    Returns:
        ``(n_trs,)`` str labels.
    """
    t = np.arange(n_trs) * float(tr) - float(shift_s)
    out = np.full(n_trs, REST, dtype=object)
    for onset, duration, name in onsets:
        out[(t >= onset - 1e-6) & (t < onset + duration - 1e-6)] = name
    return out.astype(str)


def shift_attribute_labels(labels: np.ndarray, runs: np.ndarray, tr: float, shift_s: float) -> np.ndarray:
    """Per-TR labels moved later by ``shift_s`` within each run (same rule as :func:`shifted_labels`).

    TR ``i`` of a run gets the label of TR ``j = floor((i * tr - shift_s) / tr)`` of that run (the TR that was on
    ``shift_s`` earlier), or ``"rest"`` when ``j < 0``. ``labels``, ``runs``: ``(n_trs,)`` in acquisition order.
    """
    out = np.asarray(labels).astype(object).copy()
    for r in np.unique(runs):
        idx = np.flatnonzero(runs == r)
        src = np.floor((np.arange(idx.size) * tr - shift_s) / tr + 1e-9).astype(int)
        lab = np.asarray(labels)[idx]
        out[idx] = np.where(src >= 0, lab[np.clip(src, 0, None)], REST)
    return out.astype(str)


def _read_onsets(path: Path, name: str) -> list[tuple[float, float, str]]:
    rows = []
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        parts = line.split()
        if not parts:
            continue
        try:
            rows.append((float(parts[0]), float(parts[1]), name))
        except (ValueError, IndexError):
            raise DataError(f"{path} line {i}: expected '<onset> <duration> <weight>', got {line.strip()!r}") from None
    return rows


def read_mask(path: Path, shape: tuple[int, ...], affine: np.ndarray, what: str = "mask") -> np.ndarray:
    """A NIfTI (or a folder of NIfTI masks: their union) as a ``shape`` bool volume of its non-zero voxels.

    A volume of another shape or affine than the data is a one-line DataError naming the file."""
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.name.endswith(_NII))
        if not files:
            raise DataError(f"{what} folder {path} holds no .nii/.nii.gz files")
        return np.any([read_mask(p, shape, affine, what) for p in files], axis=0)
    return read_labels(path, shape, affine, what) != 0


def read_labels(path: Path, shape: tuple[int, ...], affine: np.ndarray, what: str = "atlas") -> np.ndarray:
    """The values of a 3-D NIfTI in the data's voxel grid ``shape`` / ``affine`` (``(*shape,)`` float)."""
    if not path.is_file():
        raise DataError(f"{what} {path} does not exist; give a NIfTI file or a folder of masks")
    img = _load_image(path, what)
    mshape = tuple(int(s) for s in img.shape)
    if len(mshape) == 4 and mshape[3] == 1:
        mshape = mshape[:3]
    if mshape != tuple(shape):
        raise DataError(f"{path}: {what} shape {mshape} does not match the data volume {tuple(shape)}; "
                        "resample it to the runs' voxel grid")
    if not np.allclose(img.affine, affine, atol=1e-3):
        raise DataError(f"{path}: {what} affine differs from the runs' affine; resample it to the runs' voxel grid")
    return np.asarray(img.dataobj, dtype=np.float64).reshape(shape)


def read_atlas(path: Path, shape: tuple[int, ...], affine: np.ndarray, skip: tuple[Path, ...] = ()
               ) -> dict[str, tuple[np.ndarray, Path]]:
    """Networks of an atlas: ``{name: (bool volume, file)}``.

    ``path`` is a folder of masks (one network per ``.nii``/``.nii.gz`` file, named by its stem, non-zero voxels;
    files in ``skip`` — e.g. the brain mask — are left out) or a labelled NIfTI (one network per distinct
    non-zero integer value, named ``label<value>``)."""
    if path.is_dir():
        files = [p for p in sorted(path.iterdir()) if p.name.endswith(_NII)
                 and p.resolve() not in {s.resolve() for s in skip}]
        if not files:
            raise DataError(f"atlas folder {path} holds no masks (.nii/.nii.gz) besides the brain mask")
        return {p.name.split(".nii")[0]: (read_labels(p, shape, affine, "network mask") != 0, p) for p in files}
    values = read_labels(path, shape, affine, "atlas")
    labels = [v for v in np.unique(np.round(values)) if v != 0]
    if not labels:
        raise DataError(f"atlas {path} has no non-zero labels")
    return {f"label{int(v)}": (np.round(values) == v, path) for v in labels}


def resolve_in_subject(folder: Path, name: str | os.PathLike) -> Path:
    """A path as given when absolute or existing, else relative to the subject folder."""
    path = Path(name).expanduser()
    return path if path.is_absolute() or path.exists() else folder / path


def load_haxby_runs(
    mirror: str | os.PathLike | None = None,
    subject: int = 1,
    runs_folder: str = RUNS_FOLDER,
    mask: str | os.PathLike = "masks_25mm/brain.nii.gz",
    label_shift_s: float = 0.0,
) -> HaxbyData:
    """Whole-brain Haxby runs (one 4-D NIfTI per run in ``runs_folder``, sorted by name; run ``k`` (0-based)
    reads ``onsets/task001_run<k+1:03d>/cond<c:03d>.txt`` for condition ``c`` of ``condition_key.txt``).

    Args:
        mask: a NIfTI (non-zero voxels) or a folder of masks (their union), in the runs' voxel grid; relative
            paths are looked up in the subject folder.
        label_shift_s: haemodynamic shift, see :func:`shifted_labels`.

    Returns:
        :class:`HaxbyData` with every TR (``rest`` included): ``X`` ``(n_trs, n_voxels)`` float32 raw values.
    """
    folder = _subject_folder(mirror, subject)
    rdir = resolve_in_subject(folder, runs_folder)
    if not rdir.is_dir():
        raise DataError(f"no runs folder {rdir}; expected one 4-D NIfTI per run (e.g. {RUNS_FOLDER}/)")
    files = sorted(p for p in rdir.iterdir() if p.name.endswith(_NII))
    if not files:
        raise DataError(f"runs folder {rdir} holds no .nii/.nii.gz files")
    if not (folder / CONDITION_KEY).is_file():
        raise DataError(f"{folder} lacks {CONDITION_KEY}; {_WHERE}")
    categories = _read_condition_key(folder / CONDITION_KEY)
    first = _load_image(files[0], "run")
    vol, affine = tuple(int(s) for s in first.shape[:3]), np.asarray(first.affine, dtype=np.float64)
    mask_vol = read_mask(resolve_in_subject(folder, mask), vol, affine, "mask")
    if not mask_vol.any():
        raise DataError(f"{resolve_in_subject(folder, mask)} selects no voxels; use a non-empty mask")
    zooms = first.header.get_zooms()
    tr = float(zooms[3]) if len(zooms) > 3 and zooms[3] > 0 else DEFAULT_TR
    Xs, labels, runs = [], [], []
    for k, f in enumerate(files):
        img = _load_image(f, "run")
        if len(img.shape) != 4 or tuple(img.shape[:3]) != vol or not np.allclose(img.affine, affine, atol=1e-3):
            raise DataError(f"{f}: shape {tuple(img.shape)} / affine differ from {files[0].name}; "
                            "every run must be 4-D in the same voxel grid")
        n = int(img.shape[3])
        Xs.append(np.asarray(img.dataobj)[mask_vol].T.astype(np.float32))
        odir = folder / ONSETS / f"task001_run{k + 1:03d}"
        blocks = []
        for c, name in enumerate(categories, start=1):
            p = odir / f"cond{c:03d}.txt"
            if not p.is_file():
                raise DataError(f"{folder} lacks {p.relative_to(folder)} (onsets of {name!r} in run {k + 1})")
            blocks += _read_onsets(p, name)
        labels.append(shifted_labels(blocks, n, tr, label_shift_s))
        runs.append(np.full(n, k, dtype=np.int64))
    return HaxbyData(X=np.ascontiguousarray(np.concatenate(Xs)), labels=np.concatenate(labels),
                     runs=np.concatenate(runs), categories=categories, tr=tr, affine=affine, mask=mask_vol,
                     voxel_ijk=np.argwhere(mask_vol).astype(np.int64), folder=folder)
