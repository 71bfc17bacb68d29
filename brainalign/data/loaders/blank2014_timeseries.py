"""Blank2014.fROI (Brain-Score netCDF) as time series: one run per subject x story, 12 fROIs per subject.

Brain-Score's packaging (``data/blank2014/data_packaging.py``) pairs each 2-s TR with the words that *ended* in the
window ``(t - 4 - 2, t - 4]`` s of story time, ``t`` = the TR's ``timepoint_value`` (the end of its acquisition,
story time; a 4-s BOLD shift), and keeps only TRs with at least one word after the fixation period.

Encoding here: the TRs of a story, in ``timepoint_value`` order, are the volumes; the words of TR ``j`` are spread
evenly over its word window (:func:`~brainalign.data.timeseries.tables.events_from_tr_text`), in story time.
``stim_onset`` is chosen so that volume ``j``'s nominal interval ``[j tr, (j + 1) tr)`` *is* that window:
``stim_onset = bold_shift + tr - t_0`` (0 s when the first TR ends at ``t_0 = 6`` s). The run's scan clock
therefore runs ``bold_shift`` (4 s) behind the real acquisition (true onset = ``stim_onset - 4``): zero-delay
features reproduce Brain-Score's pairing and FIR delays add to the 4-s shift. No trimming (Brain-Score dropped the
fixation and post-story TRs already). A TR missing inside a story (no word ended in it, so Brain-Score dropped it)
is put back with no words and responses linearly interpolated from its neighbours (``meta["filled_volumes"]``),
or refused with ``fill_gaps=False``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from brainalign.data.loaders.brainscore_nc import read_assembly
from brainalign.data.timeseries import TimeSeriesDataset, TimeSeriesRun
from brainalign.data.timeseries.tables import events_from_tr_text
from brainalign.errors import DataError

BOLD_SHIFT = 4.0
CITATION = ("Blank, I., Kanwisher, N., Fedorenko, E. (2014). A functional dissociation between language and "
            "multiple-demand systems revealed in patterns of BOLD signal fluctuations. J. Neurophysiol. 112(5), 1105-1118.")


def _strs(values: np.ndarray) -> np.ndarray:
    return np.array([str(v) for v in np.asarray(values).tolist()], dtype=object)


def _select(wanted: Sequence[str] | None, available: list[str], what: str, path: Path) -> list[str]:
    if wanted is None:
        return available
    wanted = [wanted] if isinstance(wanted, str) else [str(w) for w in wanted]
    missing = [w for w in wanted if w not in available]
    if missing:
        raise DataError(f"{path.name}: no {what} {', '.join(missing)}; available: {', '.join(available)}")
    return wanted


def _grid(times: np.ndarray, tr: float, story: str, path: Path, fill_gaps: bool) -> tuple[np.ndarray, int]:
    """``(position of each TR on the contiguous grid, grid length)``."""
    steps = (times - times[0]) / tr
    pos = np.rint(steps).astype(np.int64)
    if not np.allclose(steps, pos, atol=1e-3) or np.any(np.diff(pos) <= 0):
        raise DataError(f"{path.name}: story {story} timepoint_value is not on a {tr} s grid of distinct TRs; "
                        "is tr right?")
    n = int(pos[-1]) + 1
    if n != pos.size and not fill_gaps:
        gap = int(np.flatnonzero(np.diff(pos) > 1)[0])
        raise DataError(f"{path.name}: story {story} has no TR between {times[gap]:g} s and {times[gap + 1]:g} s "
                        f"({n - pos.size} missing in all); pass fill_gaps=True to interpolate them")
    return pos, n


def _fetched() -> Path:
    """The ``Blank2014`` manifest's assembly: mirror copy, verified cached download, or a fresh download."""
    from brainalign.data.fetch import fetch
    from brainalign.data.manifest import load_manifest

    manifest = load_manifest("Blank2014")
    return fetch(manifest, manifest.file())


def load_blank2014_timeseries(
    path: str | Path | None = None,
    subjects: Sequence[str] | None = None,
    stories: Sequence[str] | None = None,
    tr: float = 2.0,
    bold_shift: float = BOLD_SHIFT,
    fill_gaps: bool = True,
) -> TimeSeriesDataset:
    """Read ``assy_Blank2014_fROI.nc`` into runs ``"<subject>/<story>"`` with responses ``(n_TRs, n_fROIs)``.

    Args:
        path: the Brain-Score assembly; default the ``Blank2014`` manifest's file (data mirror, then the download
            cache, then a checksummed download).
        subjects / stories: subsets (default all; stories in sorted order).
        tr: the TR (2 s); ``timepoint_value`` steps must be multiples of it.
        bold_shift: the shift Brain-Score applied when pairing words with TRs (4 s).
        fill_gaps: put back TRs missing inside a story (interpolated responses, no words); else refuse them.

    Returns:
        A dataset whose target ids are the fROI names (``01_LH_PostTemp`` ... ``12_RH_AngG``), sorted.
    """
    assy = read_assembly(path if path is not None else _fetched())
    if "timepoint_value" not in assy.presentation:
        raise DataError(f"{assy.path.name}: no timepoint_value coordinate; cannot place the TRs in time "
                        "(is this the Blank2014.fROI assembly?)")
    story_of = _strs(assy.pres("story"))
    times = np.asarray(assy.presentation["timepoint_value"], dtype=np.float64)
    texts = _strs(assy.pres("stimulus", "stimulus_sentence"))
    subject_of = _strs(assy.neur("subject_id", "subject_UID"))
    froi_of = _strs(assy.neur("fROI_area", "roi"))
    runs: list[TimeSeriesRun] = []
    filled: dict[str, list[int]] = {}
    for story in _select(stories, sorted(set(story_of.tolist())), "story", assy.path):
        rows = np.flatnonzero(story_of == story)
        rows = rows[np.argsort(times[rows], kind="stable")]
        pos, n = _grid(times[rows], tr, story, assy.path, fill_gaps)
        grid_text = np.full(n, "", dtype=object)
        grid_text[pos] = texts[rows]
        t0 = float(times[rows[0]])
        events = events_from_tr_text(grid_text.tolist(), tr, start=t0 - bold_shift - tr, source=f"{assy.path.name} [{story}]")
        for subj in _select(subjects, sorted(set(subject_of.tolist())), "subject", assy.path):
            cols = np.flatnonzero(subject_of == subj)
            cols = cols[np.argsort(froi_of[cols].astype(str), kind="stable")]
            y = assy.values[np.ix_(rows, cols)]
            if np.isnan(y).any():
                raise DataError(f"{assy.path.name}: subject {subj} story {story} has NaN responses; not the expected "
                                "Blank2014.fROI assembly")
            full = np.column_stack([np.interp(np.arange(n), pos, y[:, k]) for k in range(y.shape[1])])
            run_id = f"{subj}/{story}"
            if pos.size != n:
                filled[run_id] = sorted(set(range(n)) - set(pos.tolist()))
            runs.append(TimeSeriesRun(run_id=run_id, story=story, subject=subj, tr=tr, responses=full,
                                      target_ids=froi_of[cols].astype(str), events=events,
                                      stim_onset=bold_shift + tr - t0))
    meta = {
        "citation": CITATION,
        "source": str(assy.path),
        "bold_shift_s": bold_shift,
        "stim_onset_note": "stim_onset = true onset + bold_shift: volume j's interval is its word window",
        "filled_volumes": filled,
        "assembly_attrs": {k: str(v) for k, v in assy.attrs.items()},
    }
    return TimeSeriesDataset(name="Blank2014", runs=runs, meta=meta)
