"""Users' own naturalistic runs, listed in a run table (CSV / TSV, one row per run).

Columns (relative paths resolve against the table's folder):

- ``run_id``, ``story``, ``subject``: names (runs of one story share the words and the features);
- ``tr``: seconds;
- ``responses``: ``.npy`` / ``.h5`` (``.hdf5``, ``.hf5``; dataset ``data`` or the only dataset) / ``.csv`` / ``.tsv``
  of ``(n_volumes, n_targets)`` (a CSV's header names the targets), or a 4-D ``.nii`` / ``.nii.gz`` with a
  ``mask`` column (a 3-D NIfTI in the same voxel grid; targets are the mask voxels with their mm coordinates);
- ``events``: a Praat ``.TextGrid`` (word tier), an events CSV / TSV (``word, onset[, offset]``) or a per-TR text
  CSV / TSV (column ``text``, row ``i`` = the words heard during TR ``i`` of story time, spread evenly over it);
- optional: ``stim_onset`` (scan time of story time 0, default 0), ``trim_start`` / ``trim_end`` (volumes
  dropped, default 0), ``mask`` (NIfTI responses only), and the stimulus media of audio / video sources:
  ``audio`` (a sound file, e.g. ``.wav`` / ``.flac``, or a video with a sound track) and ``video`` (e.g. ``.mp4`` /
  ``.mkv``). Media time 0 (first sample / frame) is story time 0, so a film that starts 2 volumes into the scan
  has ``stim_onset`` = 2 x TR. A video is opened at load (headers only) and must last until the last kept volume,
  give or take :data:`~brainalign.data.timeseries.runs.MEDIA_SLACK_TRS` TRs; an audio file must exist at load and
  is checked the same way (and for silence) by :func:`~brainalign.data.timeseries.runs.check_media` before
  extraction.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from brainalign.data.timeseries import TimeSeriesDataset, TimeSeriesRun, WordEvents
from brainalign.data.timeseries.runs import check_media
from brainalign.data.timeseries.tables import events_from_tr_text, read_events_table, read_frame
from brainalign.data.timeseries.textgrid import read_textgrid
from brainalign.errors import DataError

REQUIRED = ("run_id", "story", "subject", "tr", "responses", "events")
_H5 = (".h5", ".hdf5", ".hf5")
_TABLES = (".csv", ".tsv", ".tab")
_SPACES = {3: "Talairach", 4: "MNI152"}  # NIfTI sform/qform codes; others read as "scanner"


def _suffix(path: Path) -> str:
    s = [x.lower() for x in path.suffixes]
    return "".join(s[-2:]) if len(s) >= 2 and s[-1] == ".gz" else (s[-1] if s else "")


def _existing(value: Any, folder: Path, column: str, row: int, table: Path) -> Path:
    if _blank(value):
        raise DataError(f"{table.name}: row {row} has no {column!r}; fill it in")
    path = Path(str(value).strip())
    path = path if path.is_absolute() else folder / path
    if not path.is_file():
        raise DataError(f"{table.name}: row {row} {column} file {path} does not exist; check the path "
                        "(relative paths start at the table's folder)")
    return path


def _read_h5(path: Path) -> np.ndarray:
    import h5py

    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise DataError(f"cannot read {path} as HDF5 ({exc}); check the file") from None
    with f:
        names = [k for k in f if isinstance(f[k], h5py.Dataset)]
        name = "data" if "data" in names else (names[0] if len(names) == 1 else None)
        if name is None:
            raise DataError(f"{path}: no HDF5 dataset 'data' and {len(names)} others ({', '.join(names) or 'none'}); "
                            "store the responses as 'data'")
        return np.asarray(f[name][()])


def _read_nifti(path: Path, mask_path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, str]:
    """``(responses (n_vol, n_vox), target ids, coords (n_vox, 3) mm, space)``."""
    import nibabel as nib

    try:
        img, mimg = nib.load(str(path)), nib.load(str(mask_path))
    except Exception as exc:  # nibabel raises many types for damaged files
        raise DataError(f"cannot read {path.name} / {mask_path.name} as NIfTI ({type(exc).__name__}: {exc})") from None
    if len(img.shape) != 4:
        raise DataError(f"{path}: shape {img.shape}; expected a 4-D (x, y, z, n_volumes) image")
    mask = np.asarray(mimg.dataobj).astype(bool)
    if mask.shape != img.shape[:3]:
        raise DataError(f"{mask_path}: mask shape {mask.shape} differs from the image grid {img.shape[:3]}; use a mask "
                        "in the image's voxel grid")
    ijk = np.argwhere(mask)
    if ijk.size == 0:
        raise DataError(f"{mask_path}: the mask selects no voxel")
    data = np.asarray(img.dataobj)[mask].T  # (n_vol, n_vox)
    coords = nib.affines.apply_affine(img.affine, ijk)
    code = int(img.header.get_sform(coded=True)[1] or img.header.get_qform(coded=True)[1])
    return data, np.array([f"{i}_{j}_{k}" for i, j, k in ijk]), coords, _SPACES.get(code, "scanner")


def _responses(path: Path, mask: Path | None) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, str | None]:
    """``(responses, target ids, coords or None, space or None)`` of one run file."""
    kind = _suffix(path)
    if kind in (".nii", ".nii.gz"):
        if mask is None:
            raise DataError(f"{path.name} is a NIfTI image: give a 'mask' column (3-D NIfTI) to pick its voxels")
        return _read_nifti(path, mask)
    if kind == ".npy":
        try:
            y = np.load(path, allow_pickle=False)
        except ValueError as exc:
            raise DataError(f"cannot read {path} as .npy ({exc}); save a plain numeric array") from None
    elif kind in _H5:
        y = _read_h5(path)
    elif kind.split(".gz")[0] in _TABLES:
        import pandas as pd

        frame = read_frame(path, "responses table")
        bad = [c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])]
        if bad:
            raise DataError(f"{path.name}: column {bad[0]!r} is not numeric; keep only response columns")
        return frame.to_numpy(dtype=np.float64), np.asarray(frame.columns, dtype=str), None, None
    else:
        raise DataError(f"{path.name}: unknown responses format {kind!r}; use .npy, .h5, .csv, .tsv or .nii.gz + mask")
    y = np.asarray(y)
    if y.dtype.kind not in "iuf" or y.ndim not in (1, 2):
        raise DataError(f"{path}: array of dtype {y.dtype} shape {y.shape}; expected numeric (n_volumes, n_targets)")
    return y, np.arange(1 if y.ndim == 1 else y.shape[1]).astype(str), None, None


def _events(path: Path, tr: float) -> WordEvents:
    kind = _suffix(path)
    if kind == ".textgrid":
        return read_textgrid(path)
    if kind.split(".gz")[0] not in _TABLES:
        raise DataError(f"{path.name}: unknown events format {kind!r}; use a .TextGrid, an events CSV or a per-TR text CSV")
    frame = read_frame(path, "events table", skip_blank_lines=False)  # a blank line is a TR without words
    if "onset" in frame.columns:
        return read_events_table(path)
    if "text" in frame.columns:
        return events_from_tr_text(frame["text"].fillna("").astype(str).tolist(), tr, source=str(path))
    raise DataError(f"{path.name}: neither 'word, onset' (timed words) nor 'text' (per-TR text) columns; has "
                    f"{', '.join(map(str, frame.columns))}")


def _blank(value: Any) -> bool:
    return value is None or value != value or not str(value).strip()


def _number(frame: Any, column: str, row: int, table: Path, default: float | None = None) -> float:
    value = frame[column].iloc[row] if column in frame.columns else None
    if _blank(value) and default is not None:
        return default
    try:
        out = float(value)
    except (TypeError, ValueError):
        out = float("nan")
    if not np.isfinite(out):
        raise DataError(f"{table.name}: row {row + 1} {column!r} is {value!r}, not a number; fill it in")
    return out


def _count(frame: Any, column: str, row: int, table: Path) -> int:
    v = _number(frame, column, row, table, default=0.0)
    if v != int(v) or v < 0:
        raise DataError(f"{table.name}: row {row + 1} {column!r} is {v}; give a whole number of volumes >= 0")
    return int(v)


def load_run_table(path: str | Path, name: str | None = None) -> TimeSeriesDataset:
    """Read every run listed in a run table (see the module docstring for the columns).

    Returns:
        A dataset named ``name`` (default the table's stem); ``meta["source"]`` is the table.
    """
    table = Path(path)
    frame = read_frame(table, "run table", dtype={c: str for c in ("run_id", "story", "subject")})
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing:
        raise DataError(f"{table.name}: missing column(s) {', '.join(missing)}; has {', '.join(map(str, frame.columns))}")
    folder = table.parent
    cache: dict[tuple[Path, float], WordEvents] = {}
    runs = []
    for i in range(len(frame)):
        row = frame.iloc[i]
        names = {c: row[c] for c in ("run_id", "story", "subject")}
        empty = [c for c, v in names.items() if _blank(v)]
        if empty:
            raise DataError(f"{table.name}: row {i + 1} has no {empty[0]!r}; fill it in")
        tr = _number(frame, "tr", i, table)
        resp = _existing(row["responses"], folder, "responses", i + 1, table)
        mask = None if _blank(row.get("mask")) else _existing(row["mask"], folder, "mask", i + 1, table)
        ev_path = _existing(row["events"], folder, "events", i + 1, table)
        if (ev_path, tr) not in cache:
            cache[(ev_path, tr)] = _events(ev_path, tr)
        y, ids, coords, space = _responses(resp, mask)
        media = {c: None if _blank(row.get(c)) else str(_existing(row[c], folder, c, i + 1, table))
                 for c in ("audio", "video")}
        run = TimeSeriesRun(
            run_id=str(names["run_id"]).strip(), story=str(names["story"]).strip(), subject=str(names["subject"]).strip(),
            tr=tr, responses=y, target_ids=ids, events=cache[(ev_path, tr)],
            stim_onset=_number(frame, "stim_onset", i, table, default=0.0),
            trim_start=_count(frame, "trim_start", i, table), trim_end=_count(frame, "trim_end", i, table),
            coords=coords, space=space, audio=media["audio"], video=media["video"],
        )
        check_media(run, kinds=("video",), silence=False)
        runs.append(run)
    return TimeSeriesDataset(name=name or table.name.split(".")[0], runs=runs, meta={"source": str(table)})
