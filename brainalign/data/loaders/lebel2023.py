"""LeBel et al. 2023, natural-language listening fMRI (OpenNeuro ds003020), from its ``derivative/`` folder.

Citation: LeBel, A., Wagner, L., Jain, S. et al. "A natural language fMRI dataset for voxelwise encoding models",
Sci Data 10, 555 (2023), doi:10.1038/s41597-023-02437-z; dataset doi:10.18112/openneuro.ds003020.v2.2.0.
Access: ``datalad clone https://github.com/OpenNeuroDatasets/ds003020 && cd ds003020 && datalad get derivative``
(~20 GB) or https://openneuro.org/datasets/ds003020. Licence: OpenNeuro's default CC0 (not confirmed for this
dataset). Subjects ``UTS01``..``UTS08``. (The manifest schema admits only Brain-Score netCDF files with a sha1, so
these facts live here rather than in ``data_manifests/``.)

Layout read (``root`` = the ds003020 folder or its ``derivative/``):

- ``preprocessed_data/<SUBJ>/<story>.hf5``: HDF5 dataset ``data``, ``(n_TR, n_voxels)``;
- ``TextGrids/<story>.TextGrid``: phone and word tiers (the word tier is used);
- ``respdict.json``: ``{story: number of TRs}``.

Timing, as in HuthLab/deep-fMRI-dataset (``load_simulated_trfiles(respdict, tr=2.0, start_time=10.0, pad=5)`` then
``feat[5 + trim : -trim]`` with ``trim=5``): a story's TR grid has ``respdict[story] - pad`` volumes, volume ``i``
at scan time ``2 i`` s and story time ``2 i - 10`` s (``stim_onset=10``); the first 10 and last 5 grid volumes
are dropped (``trim_start=10``, ``trim_end=5``). The ``.hf5`` files of the derivative hold only the kept volumes
(``respdict - 20`` rows, as the HuthLab code's stimulus/response shapes require); this loader puts them back on the grid: rows ``10 .. respdict - 11`` hold the file, the
trimmed volumes are filled with 0 (not data; never fitted or scored, listed in ``meta["runs_with_filled_trims"]``).
A file with the full ``respdict - pad`` rows is used as it is. Huth samples features at mid-volume
(story time ``2 i - 9``) from word midpoints; that choice belongs to the feature resampling, not to this loader.
Words: the word tier minus :data:`~brainalign.data.timeseries.textgrid.SILENCE_LABELS`, case kept (Huth lower-cases
and drops only ``sentence_start sentence_end br lg ls ns sp``, keeping empty intervals); words ending after the
grid's last volume are dropped (counted in ``meta["words_dropped_after_last_tr"]``).

Test story: ``wheretheressmoke`` (heard once per session). The derivative, as the HuthLab code reads it, has one
``wheretheressmoke.hf5`` per subject; repeats stored as ``wheretheressmoke_<k>.hf5`` (or ``-<k>``, ``_rep<k>``)
become one run each (run ids ``<SUBJ>/<story>/<k>``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from brainalign.data.timeseries import TimeSeriesDataset, TimeSeriesRun, WordEvents
from brainalign.data.timeseries.textgrid import read_textgrid
from brainalign.errors import DataError

H5_DATASET = "data"
TEST_STORY = "wheretheressmoke"
#: Training stories of the 5-session subset (HuthLab ``sess_to_story.json``); the test story is heard in each.
SESSIONS: dict[int, tuple[str, ...]] = {
    1: ("alternateithicatom", "souls", "avatar", "legacy", "odetostepfather"),
    2: ("undertheinfluence", "howtodraw", "myfirstdaywiththeyankees", "naked", "life"),
    3: ("stagefright", "tildeath", "fromboyhoodtofatherhood", "sloth", "exorcism"),
    4: ("haveyoumethimyet", "adollshouse", "inamoment", "theclosetthatateeverything", "adventuresinsayingyes", "buck"),
    5: ("swimmingwithastronauts", "thatthingonmyarm", "eyespy", "itsabox", "hangtime"),
}
CITATION = ("LeBel, A., Wagner, L., Jain, S. et al. (2023). A natural language fMRI dataset for voxelwise encoding "
            "models. Scientific Data 10, 555. doi:10.1038/s41597-023-02437-z")
_GET = "datalad get derivative (in a datalad clone of https://github.com/OpenNeuroDatasets/ds003020)"
_BLOCK_ROWS = 64
_FANCY_MAX = 2048  # voxel selections up to this size use HDF5 point selection; larger ones read row blocks


def _derivative(root: str | Path) -> Path:
    root = Path(root)
    for folder in (root / "derivative", root):
        if (folder / "preprocessed_data").is_dir():
            return folder
    raise DataError(f"{root} has no derivative/preprocessed_data/ folder; {_GET}, then pass the ds003020 folder")


def _respdict(folder: Path) -> dict[str, int]:
    path = folder / "respdict.json"
    if not path.is_file():
        raise DataError(f"{path} does not exist; {_GET}")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return {str(k): int(v) for k, v in data.items()}
    except (ValueError, AttributeError, TypeError) as exc:
        raise DataError(f"{path}: not a JSON mapping of story -> TR count ({type(exc).__name__}); fetch it again") from None


def _story_files(subject_dir: Path, known: set[str]) -> dict[str, list[tuple[str | None, Path]]]:
    """``{story: [(repeat or None, file)]}`` of a subject folder."""
    out: dict[str, list[tuple[str | None, Path]]] = {}
    for path in sorted(subject_dir.glob("*.hf5")):
        m = re.fullmatch(r"(.+?)(?:[_-](?:rep)?(\d+))?", path.stem)
        story, rep = (path.stem, None) if path.stem in known or m is None or m.group(2) is None else m.groups()
        out.setdefault(story, []).append((rep, path))
    return out


def _voxel_index(voxels: Any, n: int, path: Path) -> np.ndarray | None:
    if voxels is None:
        return None
    sel = np.asarray(voxels)
    if sel.dtype == bool:
        if sel.shape != (n,):
            raise DataError(f"{path}: voxel mask has shape {sel.shape} but the file has {n} voxels; give a ({n},) mask")
        sel = np.flatnonzero(sel)
    elif sel.ndim != 1 or (sel.size and sel.dtype.kind not in "iu"):
        raise DataError(f"voxels must be integer indices or a boolean mask, got dtype {sel.dtype} shape {sel.shape}")
    if sel.size == 0:
        raise DataError("voxels selects no voxel; give at least one index")
    if sel.min() < 0 or sel.max() >= n:
        raise DataError(f"{path}: voxel index {int(sel.min() if sel.min() < 0 else sel.max())} is outside 0..{n - 1}")
    if np.unique(sel).size != sel.size:
        raise DataError("voxels repeats an index; give each voxel once")
    return sel.astype(np.int64)


def _read_hf5(path: Path, voxels: Any) -> tuple[np.ndarray, np.ndarray]:
    """``((n_TR, n_selected) float32 responses, (n_selected,) voxel indices)`` read without loading unselected
    voxels into memory."""
    import h5py

    if path.is_symlink() and not path.exists():
        raise DataError(f"{path} is a git-annex placeholder without content; run datalad get {path}")
    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise DataError(f"cannot read {path} as HDF5 ({exc}); fetch it again") from None
    with f:
        if H5_DATASET not in f or not isinstance(f[H5_DATASET], h5py.Dataset):
            raise DataError(f"{path}: no HDF5 dataset {H5_DATASET!r} (has {', '.join(map(repr, f.keys())) or 'nothing'}); "
                            "expected the ds003020 derivative layout")
        ds = f[H5_DATASET]
        if ds.ndim != 2:
            raise DataError(f"{path}: dataset {H5_DATASET!r} has shape {ds.shape}; expected (n_TR, n_voxels)")
        idx = _voxel_index(voxels, ds.shape[1], path)
        if idx is None:
            return np.asarray(ds[()], dtype=np.float32), np.arange(ds.shape[1])
        order = np.sort(idx)
        if order.size <= _FANCY_MAX:
            y = np.asarray(ds[:, order], dtype=np.float32)
        else:
            y = np.empty((ds.shape[0], order.size), dtype=np.float32)
            for start in range(0, ds.shape[0], _BLOCK_ROWS):
                y[start:start + _BLOCK_ROWS] = ds[start:start + _BLOCK_ROWS][:, order]
        return y[:, np.searchsorted(order, idx)], idx


def _on_grid(y: np.ndarray, n_grid: int, trim_start: int, trim_end: int, path: Path, story: str, n_resp: int) -> tuple[np.ndarray, bool]:
    """Responses on the story's TR grid, and whether trimmed volumes were filled in."""
    if y.shape[0] == n_grid:
        return y, False
    if y.shape[0] == n_grid - trim_start - trim_end:
        full = np.zeros((n_grid, y.shape[1]), dtype=y.dtype)
        full[trim_start:n_grid - trim_end] = y
        return full, True
    raise DataError(f"{path}: {y.shape[0]} TRs, but respdict.json gives {story} {n_resp} TRs, i.e. "
                    f"{n_grid - trim_start - trim_end} after trimming {trim_start}+{trim_end} of {n_grid} (or {n_grid} "
                    "untrimmed); check pad / trim_start / trim_end or the files")


def _events(folder: Path, story: str, tier: str | None, end: float) -> tuple[WordEvents, int]:
    """The story's words (those ending after story time ``end``, past the last volume, dropped)."""
    path = folder / "TextGrids" / f"{story}.TextGrid"
    if not path.is_file():
        raise DataError(f"{path} does not exist; {_GET}")
    ev = read_textgrid(path, tier=tier)
    keep = ev.offsets <= end + 1e-9
    if keep.all():
        return ev, 0
    if not keep.any():
        raise DataError(f"{path}: every word ends after the last TR ({end:.1f} s of story time); check respdict.json")
    idx = np.flatnonzero(keep)
    return WordEvents(tuple(ev.words[i] for i in idx), ev.onsets[idx], ev.offsets[idx], ev.source), int((~keep).sum())


def _pick(wanted: Sequence[str] | None, available: list[str], what: str, where: Path) -> list[str]:
    if wanted is None:
        return available
    wanted = [wanted] if isinstance(wanted, str) else list(wanted)
    missing = [w for w in wanted if w not in available]
    if missing:
        shown = ", ".join(available[:12]) + (" ..." if len(available) > 12 else "")
        raise DataError(f"{where}: no {what} {', '.join(missing)}; available: {shown or '(none)'}")
    return wanted


def load_lebel2023(
    root: str | Path,
    subjects: Sequence[str] | None = None,
    stories: Sequence[str] | None = None,
    tr: float = 2.0,
    stim_onset: float = 10.0,
    trim_start: int = 10,
    trim_end: int = 5,
    *,
    pad: int = 5,
    voxels: Any = None,
    tier: str | None = None,
) -> TimeSeriesDataset:
    """Read the ds003020 derivative into runs, one per subject x story file (only the files asked for).

    Args:
        root: the ds003020 folder (or its ``derivative/``).
        subjects: e.g. ``["UTS03"]`` (default: every folder in ``preprocessed_data/``).
        stories: stories to read (default: every ``.hf5`` of each subject).
        tr, stim_onset, trim_start, trim_end, pad: the timing described in the module docstring.
        voxels: ``(n_selected,)`` voxel indices or a ``(n_voxels,)`` boolean mask, read without loading the other
            voxels; default all.
        tier: TextGrid tier of the words (default the one named ``word`` / ``words``).

    Returns:
        A dataset of runs with responses ``(respdict - pad, n_selected)`` and target ids the voxel indices;
        ``meta`` names the test story, the sessions, the words dropped and the runs with filled-in volumes.
    """
    folder = _derivative(root)
    resp_counts = _respdict(folder)
    pre = folder / "preprocessed_data"
    subjects = _pick(subjects, sorted(p.name for p in pre.iterdir() if p.is_dir()), "subject", pre)
    events: dict[str, WordEvents] = {}
    dropped: dict[str, int] = {}
    filled: list[str] = []
    runs: list[TimeSeriesRun] = []
    for subj in subjects:
        files = _story_files(pre / subj, set(resp_counts))
        for story in _pick(stories, sorted(files), "story", pre / subj):
            if story not in resp_counts:
                raise DataError(f"{folder / 'respdict.json'} has no entry for {story!r}; its TR count is needed")
            n_grid = resp_counts[story] - pad
            if story not in events:
                events[story], dropped[story] = _events(folder, story, tier, n_grid * tr - stim_onset)
            for rep, path in files[story]:
                y, idx = _read_hf5(path, voxels)
                y, padded = _on_grid(y, n_grid, trim_start, trim_end, path, story, resp_counts[story])
                run_id = f"{subj}/{story}" + (f"/{rep}" if rep is not None else "")
                filled.extend([run_id] if padded else [])
                runs.append(TimeSeriesRun(run_id=run_id, story=story, subject=subj, tr=tr, responses=y,
                                          target_ids=idx.astype(str), events=events[story], stim_onset=stim_onset,
                                          trim_start=trim_start, trim_end=trim_end))
    if not runs:
        raise DataError(f"{pre}: no .hf5 files for {', '.join(subjects)}; {_GET}")
    meta = {
        "citation": CITATION,
        "source": str(folder),
        "test_story": TEST_STORY,
        "sessions": {k: list(v) for k, v in SESSIONS.items()},
        "words_dropped_after_last_tr": {s: n for s, n in dropped.items() if n},
        "runs_with_filled_trims": filled,
        "timing": {"tr": tr, "stim_onset": stim_onset, "trim_start": trim_start, "trim_end": trim_end, "pad": pad},
    }
    return TimeSeriesDataset(name="LeBel2023", runs=runs, meta=meta)


def held_out_runs(dataset: TimeSeriesDataset) -> list[TimeSeriesRun]:
    """The runs of the test story (:data:`TEST_STORY`)."""
    return [r for r in dataset.runs if r.story == TEST_STORY]
