"""Alice in Wonderland listening, English speakers (Malik-Moraleda et al. 2022), from the data mirror.

Folder ``$BRAINALIGN_DATA_MIRROR/alice2022/`` (mirror only; no download, no licence file: tests and demos):

- ``timeseries_english.csv``: one row per participant x fROI (``UID`` 492, 502; ``ROI`` one of :data:`FROIS`),
  ``T_1..T_142`` percent signal change of the fROI mean (one run of 142 volumes, TR 2 s).
- ``transcript_en.csv``: ``text,start,end``, 739 words with Whisper times in story time (0 = story onset).

Timing (README): 12 s silence (6 TRs), the 260 s story, 12 s silence. The authors analyse volumes ``T_10..T_139``
(1-based): story time 0-260 s shifted by 3 TRs for the haemodynamic lag; here ``trim_start=9``, ``trim_end=3``.
16 words of the transcript end after 260 s (up to 267.9 s). Whisper heard them in the audio file, so by default
they are kept (739 words, as the reference implementation does); ``late_words="drop"`` keeps the 723 that end by
260 s (the README's reading that the audio was cut at 4:20). The responses favour keeping them: the within-person
word-rate baseline scores r = 0.095 with them and 0.035 without (binning, LH network; see the time-series note).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np

from brainalign.data.timeseries import TimeSeriesDataset, TimeSeriesRun, WordEvents
from brainalign.data.timeseries.tables import read_frame
from brainalign.errors import DataError

FOLDER = "alice2022"
TIMESERIES = "timeseries_english.csv"
TRANSCRIPT = "transcript_en.csv"
SHA256 = {
    TIMESERIES: "4fc77fa8024ab2a08cd898c950455ccf09cfe3ce8069c483341f15d60109cbc5",
    TRANSCRIPT: "41563a395fc3965d0fe8760dc3d4df1b1d184251617636fc5ca2b88af9e1a39c",
}
FROIS = tuple(f"Lang_{h}_{r}" for h in ("LH", "RH") for r in ("IFGorb", "IFG", "MFG", "AntTemp", "PostTemp", "AngG"))
#: The authors' language-network summary: mean of these 5 fROIs.
LH_NETWORK = ("Lang_LH_IFGorb", "Lang_LH_IFG", "Lang_LH_MFG", "Lang_LH_AntTemp", "Lang_LH_PostTemp")
TR = 2.0
N_VOLUMES = 142
STIM_ONSET = 12.0
STORY_LENGTH = 260.0
TRIM_START, TRIM_END = 9, 3  # keep T_10..T_139 (1-based), 130 volumes
CITATION = ("Malik-Moraleda, S., Ayyash, D., et al. (2022). An investigation across 45 languages and 12 language "
            "families reveals a universal language network. Nature Neuroscience 25.")


def _folder(mirror: str | Path | None) -> Path:
    value = mirror if mirror is not None else os.environ.get("BRAINALIGN_DATA_MIRROR")
    if not value:
        raise DataError("set BRAINALIGN_DATA_MIRROR to a folder laid out like shared/data (with alice2022/ inside), "
                        "or pass mirror=")
    folder = Path(value) / FOLDER
    missing = [f for f in SHA256 if not (folder / f).is_file()]
    if missing:
        raise DataError(f"{folder} lacks {', '.join(missing)}; point BRAINALIGN_DATA_MIRROR at a copy of shared/data")
    return folder


def _check_sha256(path: Path) -> str:
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != SHA256[path.name]:
        raise DataError(f"{path}: sha256 {digest[:12]}... differs from the published {SHA256[path.name][:12]}...; "
                        "replace the file with the original copy")
    return digest


def _responses(path: Path) -> dict[str, np.ndarray]:
    """``{participant: (142, 12) responses}`` with columns in :data:`FROIS` order."""
    frame = read_frame(path, "time-series table")
    cols = [f"T_{i}" for i in range(1, N_VOLUMES + 1)]
    missing = [c for c in ("UID", "ROI", *cols) if c not in frame.columns]
    if missing:
        raise DataError(f"{path.name}: missing column(s) {', '.join(missing[:3])}; not the Alice time-series table")
    out: dict[str, np.ndarray] = {}
    for uid in sorted(frame["UID"].astype(str).unique()):
        rows = frame[frame["UID"].astype(str) == uid].set_index("ROI")
        absent = [r for r in FROIS if r not in rows.index]
        if absent or rows.index.duplicated().any():
            raise DataError(f"{path.name}: participant {uid} lacks fROI(s) {', '.join(absent)} or repeats one; "
                            "expected one row per fROI")
        out[uid] = rows.loc[list(FROIS), cols].to_numpy(dtype=np.float64).T
    return out


def _transcript(path: Path, late_words: str) -> tuple[WordEvents, int]:
    frame = read_frame(path, "transcript")
    if not {"text", "start", "end"} <= set(frame.columns):
        raise DataError(f"{path.name}: expected columns text,start,end; has {', '.join(frame.columns)}")
    keep = frame["end"].to_numpy(dtype=np.float64) <= STORY_LENGTH
    if late_words == "keep":
        keep[:] = True
    elif late_words != "drop":
        raise DataError(f"late_words {late_words!r}: use keep or drop")
    kept = frame[keep]
    events = WordEvents(tuple(kept["text"].astype(str)), kept["start"].to_numpy(), kept["end"].to_numpy(), source=str(path))
    return events, int((~keep).sum())


def load_alice2022(mirror: str | Path | None = None, late_words: str = "keep") -> TimeSeriesDataset:
    """Two runs (participants 492, 502) of story ``"alice"``: responses ``(142, 12)``, TR 2 s, stim_onset 12 s,
    ``trim_start=9``, ``trim_end=3`` (130 kept volumes), 739 words (723 with ``late_words="drop"``); targets
    :data:`FROIS`.

    Args:
        mirror: the data mirror folder (default ``$BRAINALIGN_DATA_MIRROR``).
        late_words: ``keep`` or ``drop`` the 16 words that end after the story's 260 s (module docstring).

    Both files are checked against their published sha256 first.
    """
    folder = _folder(mirror)
    digests = {name: _check_sha256(folder / name) for name in SHA256}
    events, dropped = _transcript(folder / TRANSCRIPT, late_words)
    runs = [
        TimeSeriesRun(run_id=f"{uid}/alice", story="alice", subject=uid, tr=TR, responses=y, target_ids=np.array(FROIS),
                      events=events, stim_onset=STIM_ONSET, trim_start=TRIM_START, trim_end=TRIM_END)
        for uid, y in _responses(folder / TIMESERIES).items()
    ]
    meta = {
        "citation": CITATION,
        "source": str(folder),
        "sha256": digests,
        "words_dropped_after_story_end": dropped,
        "story_length_s": STORY_LENGTH,
        "lh_network": list(LH_NETWORK),
        "license": "no licence file in the source repository; tests and demos only",
    }
    return TimeSeriesDataset(name="Alice2022", runs=runs, meta=meta)
