"""Users' own data as a table: one row per stimulus, one column per response target.

CSV / TSV (plain or ``.gz``, ``.bz2``, ``.xz``, ``.zst``, ``.zip`` compressed) and parquet. A repeated header, a
truncated or corrupt file gives a one-line :class:`DataError` naming the file, never a partial table.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from brainalign.data.dataset import NeuralDataset
from brainalign.data.loaders.arrays import DEFAULT_SUBJECT, from_arrays
from brainalign.data.stimuli import Unit
from brainalign.errors import DataError

_SEPARATORS = {".csv": ",", ".tsv": "\t", ".tab": "\t"}
_COMPRESSIONS = (".gz", ".bz2", ".xz", ".zst", ".zip")
_PARQUET = (".parquet", ".pq")
_OPTIONAL = {".zst": "zstandard"}


def _suffixes(path: Path) -> tuple[str, str]:
    """``(format suffix, compression suffix or "")`` of ``path``, lower-case."""
    suffixes = [s.lower() for s in path.suffixes]
    comp = suffixes.pop() if suffixes and suffixes[-1] in _COMPRESSIONS else ""
    return (suffixes[-1] if suffixes else ""), comp


def _infer_sep(path: Path) -> str:
    ext, _ = _suffixes(path)
    if ext not in _SEPARATORS:
        raise DataError(f"cannot infer the column separator of {path.name}; name it .csv or .tsv, or pass sep=")
    return _SEPARATORS[ext]


def _is_parquet(path: Path) -> bool:
    ext, comp = _suffixes(path)
    return ext in _PARQUET and not comp


def _check_unique(names: Sequence[object], path: Path) -> None:
    """One-line error naming the first repeated header (pandas would silently rename it ``x.1``)."""
    seen: set[str] = set()
    for raw in names:
        name = str(raw)
        if name in seen and name.strip():
            raise DataError(f"{path}: column {name!r} appears more than once in the header; rename or drop the duplicate")
        seen.add(name)


def _is_corrupt(exc: BaseException) -> bool:
    """True for the errors a truncated or damaged compressed file / parquet raises mid-read."""
    import lzma
    import zipfile
    import zlib

    if isinstance(exc, EOFError | zlib.error | lzma.LZMAError | zipfile.BadZipFile):
        return True
    module = type(exc).__module__ or ""
    if module.startswith(("pyarrow", "zstandard")):
        return True
    return isinstance(exc, OSError) and not isinstance(exc, PermissionError | IsADirectoryError | FileNotFoundError)


def _read_error(exc: BaseException, path: Path, sep: str | None) -> DataError:
    """The one-line error for a table that could not be read."""
    import pandas as pd

    if isinstance(exc, ImportError):
        _, comp = _suffixes(path)
        package = _OPTIONAL.get(comp, getattr(exc, "name", None) or "the missing package")
        return DataError(f"reading {path} needs the optional package {package}; pip install {package}")
    if isinstance(exc, PermissionError):
        return DataError(f"cannot read {path}: permission denied; fix its permissions")
    if isinstance(exc, pd.errors.ParserError | pd.errors.EmptyDataError | UnicodeDecodeError):
        detail = (str(exc).strip().splitlines() or [type(exc).__name__])[0].replace("Error tokenizing data. C error: ", "")
        hint = "check the file, or re-export it if it is truncated or corrupt" if _suffixes(path)[1] else "check the file"
        return DataError(f"cannot read {path.name} as a table with sep={sep!r} ({type(exc).__name__}: {detail}); {hint}")
    if _is_corrupt(exc):
        return DataError(f"{path} is truncated or corrupt ({type(exc).__name__}); re-export it")
    first = (str(exc).splitlines() or [type(exc).__name__])[0]
    return DataError(f"cannot read {path} as a table ({first}); check the file")


def _read_parquet(path: Path, text_column: str) -> Any:
    import pandas as pd
    import pyarrow.parquet as pq

    _check_unique(pq.read_schema(path).names, path)
    df = pd.read_parquet(path)
    if text_column in df.columns:
        text = df[text_column]
        df[text_column] = text.where(text.isna(), text.astype(str))
    return df


def _read_delimited(path: Path, sep: str, text_column: str) -> Any:
    import pandas as pd

    header = pd.read_csv(path, sep=sep, header=None, nrows=1, dtype=str, keep_default_na=False)
    _check_unique(header.iloc[0].tolist() if len(header) else [], path)
    return pd.read_csv(path, sep=sep, dtype={text_column: str}, keep_default_na=True)


def _read_frame(path: Path, sep: str | None, text_column: str) -> Any:
    """The whole table as a DataFrame, or a one-line :class:`DataError` (never a partial table)."""
    try:
        if sep is None and _is_parquet(path):
            return _read_parquet(path, text_column)
        sep = sep if sep is not None else _infer_sep(path)
        return _read_delimited(path, sep, text_column)
    except DataError:
        raise
    except Exception as exc:  # every reader failure becomes one line
        raise _read_error(exc, path, sep) from None


def _pick_columns(columns: list[str], wanted: str | Sequence[str], path: Path) -> list[str]:
    """Response columns from names and/or glob-like patterns (``"vox_*"``), patterns matched in table order."""
    items = [wanted] if isinstance(wanted, str) else list(wanted)
    if not items:
        raise DataError(f"{path.name}: response_columns is empty; name at least one column or pattern")
    picked: list[str] = []
    missing: list[str] = []
    for item in items:
        if any(ch in item for ch in "*?["):
            matches = [c for c in columns if fnmatch.fnmatchcase(c, item)]
            if not matches:
                missing.append(f"{item} (pattern)")
            picked.extend(m for m in matches if m not in picked)
        elif item in columns:
            if item not in picked:
                picked.append(item)
        else:
            missing.append(item)
    if missing:
        raise DataError(f"{path.name}: missing column(s) {', '.join(missing)}; available: {', '.join(columns)}")
    return picked


def _subjects(targets: list[str], mapping: Mapping[str, str] | None, path: Path) -> np.ndarray:
    """Subject of each response column from ``{column or pattern: subject}`` (first matching key wins)."""
    if mapping is None:
        return np.full(len(targets), DEFAULT_SUBJECT)
    out = []
    for col in targets:
        subj = mapping.get(col)
        if subj is None:
            subj = next((s for key, s in mapping.items() if fnmatch.fnmatchcase(col, key)), None)
        if subj is None:
            raise DataError(f"{path.name}: response column {col!r} has no subject in subject_column_map; add it")
        out.append(str(subj))
    return np.asarray(out)


def load_table(
    path: str | Path,
    text_column: str,
    response_columns: str | Sequence[str],
    group_column: str | None = None,
    context_column: str | None = None,
    subject_column_map: Mapping[str, str] | None = None,
    unit: Unit = "sentence",
    name: str | None = None,
    sep: str | None = None,
    *,
    separator: str = " ",
) -> NeuralDataset:
    """Read a CSV/TSV/parquet table into a dataset.

    Args:
        path: the table (``.csv`` / ``.tsv``, optionally compressed, or ``.parquet``); rows are stimuli in
            reading order.
        text_column: column holding each unit's text.
        response_columns: response column names, or a glob-like pattern such as ``"vox_*"`` (matched in
            table order). They become the ``(n_rows, n_targets)`` responses; target ids are the column names.
        group_column: cross-validation group of each row. Without it the group is the context when
            ``context_column`` is given, else each row is its own group.
        context_column: context (sentence / passage / story) of each row; rows of one context must be
            contiguous. Without it each row is its own context.
        subject_column_map: ``{response column or pattern: subject}``; default: one subject ``"S1"``.
        unit: ``"word"``, ``"sentence"`` or ``"fragment"``.
        name: dataset name (default: the file stem).
        sep: column separator (default: from the extension; a parquet file needs none).
        separator: string placed between units of a context when they are joined.
    """
    import pandas as pd

    path = Path(path)
    if not path.is_file():
        raise DataError(f"table {path} does not exist; check the path")
    df = _read_frame(path, sep, text_column)
    columns = [str(c) for c in df.columns]
    df.columns = columns
    named = [c for c in (text_column, group_column, context_column) if c is not None]
    missing = [c for c in named if c not in columns]
    if missing:
        raise DataError(f"{path.name}: missing column(s) {', '.join(missing)}; available: {', '.join(columns)}")
    targets = _pick_columns(columns, response_columns, path)
    overlap = [c for c in targets if c in named]
    if overlap:
        raise DataError(f"{path.name}: column {overlap[0]!r} is both a response and a text/group/context column")
    if len(df) == 0:
        raise DataError(f"{path.name} has no rows")

    text = df[text_column]
    empty = np.flatnonzero(text.isna().to_numpy() | (text.fillna("").str.strip() == "").to_numpy())
    if empty.size:
        raise DataError(f"{path.name}: empty {text_column!r} in row {int(empty[0]) + 1} (of {len(df)} data rows); fill or drop it")

    values = np.empty((len(df), len(targets)), dtype=np.float64)
    for j, col in enumerate(targets):
        converted = pd.to_numeric(df[col], errors="coerce")
        bad = np.flatnonzero(converted.isna().to_numpy() & df[col].notna().to_numpy())
        if bad.size:
            raise DataError(
                f"{path.name}: response column {col!r} is not numeric (row {int(bad[0]) + 1}: {df[col].iloc[bad[0]]!r}); "
                "keep only numbers in response columns"
            )
        values[:, j] = converted.to_numpy(dtype=np.float64)

    contexts = df[context_column].to_numpy() if context_column else None
    groups = df[group_column].to_numpy() if group_column else None
    dataset = from_arrays(
        texts=text.tolist(),
        responses=values,
        groups=groups,
        contexts=contexts,
        subjects=_subjects(targets, subject_column_map, path),
        name=name or path.stem.split(".")[0],
        unit=unit,
        target_ids=targets,
        separator=separator,
    )
    dataset.group_kind = group_column or context_column or "row"
    dataset.meta = {"source": str(path), "text_column": text_column, "response_columns": targets}
    return dataset
