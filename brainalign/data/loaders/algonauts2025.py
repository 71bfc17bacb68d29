"""Algonauts 2025 challenge data: CNeuroMod *Friends* (seasons 1-7) and *Movie10*, from a local copy of the release.

Install the release yourself (``datalad install -r`` of courtois-neuromod/algonauts_2025.competitors, then
``datalad get`` what you need; its terms apply: non-commercial research, see the manifest
``data_manifests/restricted/Algonauts2025.yaml``). Layout under ``root`` (from the release README):

- ``fmri/<sub>/func/<sub>_task-friends_space-MNI152NLin2009cAsym_atlas-Schaefer18_parcel-1000Par7Net_desc-s123456_bold.h5``
  and ``..._task-movie10_..._parcel-1000Par7Net_bold.h5``: one HDF5 per subject and film set, one dataset per run
  ``ses-<NNN>_task-<chunk>[_run-<k>]`` of shape ``(n_volumes, 1000)`` (Schaefer 1000 parcels), TR 1.49 s;
- ``stimuli/movies/friends/s<N>/friends_<chunk>.mkv``, ``stimuli/movies/movie10/<movie>/<chunk>.mkv``: the films;
- ``stimuli/transcripts/friends/s<N>/friends_<chunk>.tsv``, ``stimuli/transcripts/movie10/<movie>/movie10_<chunk>.tsv``:
  one row per 1.49 s of film, ``words_per_tr`` / ``onsets_per_tr`` / ``durations_per_tr`` (Python lists; a word
  sits in the row where it ends; onsets in seconds from the film's start).

``<chunk>`` is ``s01e02a`` (Friends season, episode, part a/b/c/d) or ``bourne01`` (Movie10 film + part); it is the
run's ``story``. Volume ``i`` shows film time ``i x 1.49`` s (``stim_onset`` 0), as in the challenge's development
kit, which also drops 5 volumes at each end (the ``trim_*`` defaults). Season 7 has films but no fMRI (held out), so
it yields no runs. The two viewings of *Life* and *Hidden Figures* (``_run-1`` / ``_run-2``) are separate runs of
one story.
"""

from __future__ import annotations

import ast
import fnmatch
import re
from pathlib import Path
from typing import Any

import numpy as np

from brainalign.data.timeseries import TimeSeriesDataset, TimeSeriesRun, WordEvents
from brainalign.data.timeseries.runs import check_media
from brainalign.data.timeseries.tables import read_frame
from brainalign.errors import DataError

TR = 1.49
N_PARCELS = 1000
SUBJECTS = ("sub-01", "sub-02", "sub-03", "sub-05")
MOVIES = ("friends", "movie10")
TRIM_START, TRIM_END = 5, 5
SPACE = "MNI152NLin2009cAsym"
_ATLAS = "atlas-Schaefer18_parcel-1000Par7Net"
FMRI_FILES = {
    "friends": f"{{sub}}_task-friends_space-{SPACE}_{_ATLAS}_desc-s123456_bold.h5",
    "movie10": f"{{sub}}_task-movie10_space-{SPACE}_{_ATLAS}_bold.h5",
}
ATLAS_FILE = f"{{sub}}_space-{SPACE}_{_ATLAS}_desc-dseg_parcellation.nii.gz"
_KEY = re.compile(r"^ses-(?P<ses>\w+?)_task-(?P<chunk>[a-z0-9]+)(?:_run-(?P<run>\d+))?$")
_FRIENDS = re.compile(r"^s(?P<season>\d{2})e\d{2}[a-z]$")
CITATION = ("Gifford, A. T., Bersch, D., St-Laurent, M., Pinsard, B., Boyle, J., Bellec, L., Oliva, A., Roig, G., "
            "Cichy, R. M. (2025). The Algonauts Project 2025 Challenge: How the Human Brain Makes Sense of Multimodal "
            "Movies. arXiv:2501.00504. Data: the Courtois Project on Neuronal Modelling (CNeuroMod).")


def stimulus_paths(root: Path, movie: str, chunk: str) -> tuple[Path, Path]:
    """``(video .mkv, transcript .tsv)`` of one chunk in the release layout."""
    if movie == "friends":
        m = _FRIENDS.match(chunk)
        if m is None:
            raise DataError(f"Friends chunk {chunk!r} is not s<NN>e<NN><part>; is this the Algonauts 2025 release?")
        season = f"s{int(m['season'])}"
        return (root / "stimuli/movies/friends" / season / f"friends_{chunk}.mkv",
                root / "stimuli/transcripts/friends" / season / f"friends_{chunk}.tsv")
    film = chunk.rstrip("0123456789")
    return (root / "stimuli/movies/movie10" / film / f"{chunk}.mkv",
            root / "stimuli/transcripts/movie10" / film / f"movie10_{chunk}.tsv")


def _cell(value: Any, path: Path, row: int, column: str) -> list:
    if value is None or value != value or not str(value).strip():
        return []
    try:
        out = ast.literal_eval(str(value).strip())
    except (ValueError, SyntaxError):
        out = None
    if not isinstance(out, (list, tuple)):
        raise DataError(f"{path}: row {row + 1} {column} is {str(value)[:40]!r}, not a list; is this a release transcript?")
    return list(out)


def read_transcript(path: Path) -> WordEvents:
    """The words of one transcript TSV in film time, sorted by onset (offset = onset + duration)."""
    frame = read_frame(path, "transcript", skip_blank_lines=False)
    cols = ("words_per_tr", "onsets_per_tr", "durations_per_tr")
    missing = [c for c in cols if c not in frame.columns]
    if missing:
        raise DataError(f"{path}: missing column(s) {', '.join(missing)}; has {', '.join(frame.columns)}")
    words: list[str] = []
    times: list[float] = []
    lengths: list[float] = []
    for i in range(len(frame)):
        w, on, du = (_cell(frame[c].iloc[i], path, i, c) for c in cols)
        if not len(w) == len(on) == len(du):
            raise DataError(f"{path}: row {i + 1} has {len(w)} words, {len(on)} onsets and {len(du)} durations")
        words += [str(x) for x in w]
        times += [float(x) for x in on]
        lengths += [float(x) for x in du]
    if not words:
        raise DataError(f"{path}: no words in the transcript; drop this chunk with stories=")
    order = np.argsort(np.asarray(times), kind="stable")
    on_arr = np.asarray(times)[order]
    return WordEvents(tuple(words[k] for k in order), on_arr, on_arr + np.asarray(lengths)[order], source=str(path))


def _read_runs(h5: Path, stories: list[str] | None) -> dict[str, np.ndarray]:
    """``{dataset name: (n_volumes, 1000) responses}`` of the runs whose chunk matches ``stories``."""
    import h5py

    try:
        f = h5py.File(h5, "r")
    except OSError as exc:
        raise DataError(f"cannot read {h5} as HDF5 ({exc}); re-fetch it with datalad get") from None
    out = {}
    with f:
        for name in sorted(f):
            if not _wanted(_chunk(name, h5), stories):
                continue
            y = f[name]
            if not isinstance(y, h5py.Dataset) or y.ndim != 2 or y.shape[1] != N_PARCELS:
                raise DataError(f"{h5}: {name} has shape {getattr(y, 'shape', None)}, expected (n_volumes, "
                                f"{N_PARCELS}); is this the Algonauts 2025 release?")
            out[name] = np.asarray(y[()])
    return out


def _parcel_coords(root: Path, subject: str) -> np.ndarray | None:
    """``(1000, 3)`` mm centroids of the subject's parcels when the atlas and nibabel are there, else ``None``."""
    path = root / "fmri" / subject / "atlas" / ATLAS_FILE.format(sub=subject)
    try:
        import nibabel as nib
    except ImportError:
        return None
    if not path.is_file():
        return None
    img = nib.load(str(path))
    labels = np.asarray(img.dataobj).astype(np.int64)
    ijk = np.argwhere((labels > 0) & (labels <= N_PARCELS))
    lab = labels[tuple(ijk.T)]
    counts = np.bincount(lab, minlength=N_PARCELS + 1)[1:]
    if np.any(counts == 0):
        return None
    sums = np.stack([np.bincount(lab, weights=ijk[:, d], minlength=N_PARCELS + 1)[1:] for d in range(3)], 1)
    return nib.affines.apply_affine(img.affine, sums / counts[:, None])


def _wanted(chunk: str, stories: list[str] | None) -> bool:
    return stories is None or any(fnmatch.fnmatchcase(chunk, s) for s in stories)


def load_algonauts2025(root: str | Path, subjects: list[str] | None = None, stories: list[str] | None = None,
                       movies: tuple[str, ...] = MOVIES, media: bool = True, trim_start: int = TRIM_START,
                       trim_end: int = TRIM_END) -> TimeSeriesDataset:
    """One run per (subject, fMRI dataset): responses ``(n_volumes, 1000)`` parcels, TR 1.49 s, the chunk's words.

    Args:
        root: the release folder (with ``fmri/`` and ``stimuli/``).
        subjects: e.g. ``["sub-01"]`` (default: every subject with an fMRI file).
        stories: chunk names or shell patterns (``["s01e0*", "bourne01"]``); default all.
        movies: ``friends`` and / or ``movie10``.
        media: give each run its film as ``video`` (and as ``audio`` when it has a sound track); each film must
            exist and last the run (headers are read). ``False``: words only.
        trim_start / trim_end: volumes dropped at each end (the development kit's 5 and 5).

    Words that end after the shortest run of their story are dropped (``meta["words_dropped"]``): every run of a
    story shares its words. Nothing is written.
    """
    root = Path(root)
    bad = [m for m in movies if m not in MOVIES]
    if bad or not movies:
        raise DataError(f"movies {list(movies)}: use friends and/or movie10")
    if not (root / "fmri").is_dir():
        raise DataError(f"{root} has no fmri/ folder; point root at the algonauts_2025.competitors release")
    subs = subjects or sorted(p.name for p in (root / "fmri").glob("sub-*") if p.is_dir())
    found: list[tuple[str, str, str, str, np.ndarray]] = []  # subject, movie, dataset name, chunk, responses
    files: list[Path] = []
    for sub in subs:
        h5s = {m: root / "fmri" / sub / "func" / FMRI_FILES[m].format(sub=sub) for m in movies}
        if not any(h.is_file() for h in h5s.values()):
            raise DataError(f"{sub}: none of {', '.join(str(h) for h in h5s.values())} exists; datalad get them or "
                            "drop the subject")
        for movie, h5 in h5s.items():
            if h5.is_file():
                files.append(h5)
                found += [(sub, movie, name, _chunk(name, h5), y) for name, y in _read_runs(h5, stories).items()]
    exact = [s for s in stories or [] if not any(c in s for c in "*?[")]
    absent = [s for s in exact if s not in {f[3] for f in found}]
    if absent or not found:
        raise DataError(f"no fMRI dataset for {', '.join(absent) or f'stories={stories}'} in "
                        f"{', '.join(str(f) for f in files)}; check the chunk names (e.g. s01e02a, bourne01; season 7 "
                        "has no fMRI)")
    have = {(f[0], f[3]) for f in found}
    missing_runs = [f"{sub}/{s}" for sub in subs for s in exact if (sub, s) not in have]
    shortest: dict[str, float] = {}
    for _, _, _, chunk, y in found:
        shortest[chunk] = min(shortest.get(chunk, np.inf), y.shape[0] * TR)
    events, dropped, films = {}, {}, {}
    for sub, movie, name, chunk, _ in found:
        if chunk in events:
            continue
        video, tsv = stimulus_paths(root, movie, chunk)
        if not tsv.is_file():
            raise DataError(f"run {sub}/{name}: transcript {tsv} does not exist; datalad get it")
        ev = read_transcript(tsv)
        keep = ev.offsets <= shortest[chunk] + 1e-6
        dropped[chunk] = int((~keep).sum())
        events[chunk] = WordEvents(tuple(w for w, k in zip(ev.words, keep, strict=True) if k), ev.onsets[keep],
                                   ev.offsets[keep], source=str(tsv))
        films[chunk] = video
    coords = {sub: _parcel_coords(root, sub) for sub in dict.fromkeys(f[0] for f in found)}
    runs = []
    for sub, _, name, chunk, y in found:
        run = TimeSeriesRun(run_id=f"{sub}/{name}", story=chunk, subject=sub, tr=TR, responses=y,
                            target_ids=np.array([f"parcel{k:04d}" for k in range(1, N_PARCELS + 1)]),
                            events=events[chunk], trim_start=trim_start, trim_end=trim_end, coords=coords[sub],
                            space=SPACE if coords[sub] is not None else None)
        if media:
            if not films[chunk].is_file():
                raise DataError(f"run {run.run_id}: video {films[chunk]} does not exist; datalad get it or load with "
                                "media=False")
            run.video = str(films[chunk])
            if check_media(run, kinds=("video",), silence=False)["video"].has_audio:
                run.audio = run.video
        runs.append(run)
    meta = {"citation": CITATION, "source": str(root), "tr": TR, "space": SPACE, "atlas": "Schaefer2018 1000 parcels "
            "7 networks", "words_dropped": {k: v for k, v in dropped.items() if v}, "missing_runs": missing_runs,
            "license": "Algonauts 2025 terms: non-commercial research and education; cite the challenge paper"}
    return TimeSeriesDataset(name="Algonauts2025", runs=runs, meta=meta)


def _chunk(name: str, h5: Path) -> str:
    m = _KEY.match(name)
    if m is None:
        raise DataError(f"{h5}: dataset {name!r} is not named ses-<N>_task-<chunk>[_run-<k>]; is this the Algonauts "
                        "2025 release?")
    return m["chunk"]
