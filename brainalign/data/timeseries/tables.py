"""Word events from tables (word, onset[, offset]) and from per-TR text."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from brainalign.data.timeseries.events import WordEvents
from brainalign.errors import DataError

#: Duration (s) given to the last word when an events table has no offset column.
LAST_WORD_DURATION = 0.3

_SEPARATORS = {".csv": ",", ".tsv": "\t", ".tab": "\t", ".txt": "\t"}
_COMPRESSIONS = (".gz", ".bz2", ".xz", ".zip")


def read_frame(path: str | Path, what: str = "table", **read_csv: Any) -> Any:
    """A CSV / TSV file (optionally compressed) as a pandas DataFrame (``read_csv`` options passed on); one-line
    :class:`DataError` otherwise."""
    import pandas as pd

    path = Path(path)
    if not path.is_file():
        raise DataError(f"{what} {path} does not exist; check the path")
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] in _COMPRESSIONS:
        suffixes.pop()
    sep = _SEPARATORS.get(suffixes[-1] if suffixes else "")
    if sep is None:
        raise DataError(f"cannot tell the column separator of {path.name}; name it .csv or .tsv")
    try:
        frame = pd.read_csv(path, sep=sep, keep_default_na=False, na_values=[""], **read_csv)
    except Exception as exc:  # every reader failure becomes one line
        detail = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise DataError(f"cannot read {path} as a {what} ({type(exc).__name__}: {detail}); check the file") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    if len(frame) == 0:
        raise DataError(f"{path} has no rows; check the {what}")
    return frame


def _numbers(frame: Any, column: str, path: Path) -> np.ndarray:
    import pandas as pd

    values = pd.to_numeric(frame[column], errors="coerce")
    bad = np.flatnonzero(values.isna().to_numpy())
    if bad.size:
        row = int(bad[0])
        raise DataError(f"{path.name}: column {column!r} row {row + 1} is {frame[column].iloc[row]!r}, not a number; "
                        "fill in the time")
    return values.to_numpy(dtype=np.float64)


def read_events_table(path: str | Path, word: str = "word", onset: str = "onset", offset: str | None = "offset") -> WordEvents:
    """Timed words from a CSV / TSV with one row per word, in story time (seconds).

    Args:
        path: the table (``.csv`` / ``.tsv``, optionally compressed).
        word / onset / offset: column names. The offset column is optional: when the table lacks it (or
            ``offset=None``), each word ends at the next word's onset and the last word lasts
            :data:`LAST_WORD_DURATION` (0.3 s).

    Returns:
        ``WordEvents`` of ``(n_rows,)`` words in table order (rows must be sorted by onset).
    """
    path = Path(path)
    frame = read_frame(path, "events table")
    missing = [c for c in (word, onset) if c not in frame.columns]
    if missing:
        raise DataError(f"{path.name}: missing column(s) {', '.join(map(repr, missing))}; "
                        f"has {', '.join(map(repr, frame.columns))}; pass word= / onset= to name them")
    texts = frame[word]
    empty = np.flatnonzero(texts.isna().to_numpy() | (texts.astype(str).str.strip() == "").to_numpy())
    if empty.size:
        raise DataError(f"{path.name}: empty {word!r} in row {int(empty[0]) + 1}; drop the row or fill in the word")
    on = _numbers(frame, onset, path)
    if offset is not None and offset in frame.columns:
        off = _numbers(frame, offset, path)
    else:
        off = np.append(on[1:], on[-1] + LAST_WORD_DURATION)
    return WordEvents(tuple(texts.astype(str).str.strip()), on, off, source=str(path))


def events_from_tr_text(texts: Sequence[str], tr: float, start: float = 0.0, source: str = "(per-TR text)") -> WordEvents:
    """Words given per TR, spread evenly over their TR.

    TR ``i`` spans ``[start + i * tr, start + (i + 1) * tr)``; its ``n`` whitespace-separated words get onsets
    ``start + i * tr + k * tr / n`` and offsets ``onset + tr / n`` (``k = 0..n-1``), so every word ends inside
    its TR and the last one at the TR's end. Empty TRs contribute no words.

    Args:
        texts: ``(n_trs,)`` text of each TR (``""`` for none).
        tr: TR length in seconds.
        start: time of TR 0's start in story time.
    """
    if not tr > 0:
        raise DataError(f"{source}: TR must be > 0 seconds, got {tr}")
    words: list[str] = []
    onsets: list[float] = []
    offsets: list[float] = []
    for i, text in enumerate(texts):
        toks = str(text).split() if text is not None and text == text else []  # None / NaN -> no words
        step = tr / max(len(toks), 1)
        words.extend(toks)
        onsets.extend(start + i * tr + k * step for k in range(len(toks)))
        offsets.extend(start + i * tr + (k + 1) * step for k in range(len(toks)))
    if not words:
        raise DataError(f"{source}: all {len(texts)} TRs are empty; give the words heard in each TR")
    return WordEvents(tuple(words), np.asarray(onsets), np.asarray(offsets), source=source)
