"""Brain-Score language assemblies (netCDF files written by brainio) -> :class:`NeuralDataset`.

brainio's ``write_netcdf`` calls ``reset_index`` on every MultiIndex before writing, so a file holds one 2-D
data variable with dims ``(presentation, neuroid)`` (named ``data``, or ``__xarray_dataarray_variable__``
for uncompressed writes) and every coordinate as a flat 1-D variable along ``presentation`` or ``neuroid``.

Presentation order follows Brain-Score's benchmarks: contexts (sentences, passages, stories) in sorted
order, units within a context in reading order.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from brainalign.data.dataset import NeuralDataset
from brainalign.data.loaders.arrays import codes_in_order
from brainalign.data.stimuli import StimulusSet
from brainalign.errors import DataError

_logger = logging.getLogger(__name__)

_DATA_NAMES = ("data", "__xarray_dataarray_variable__")


@dataclass
class Assembly:
    """A netCDF assembly as plain arrays.

    Attributes:
        values: ``(n_presentations, n_neuroids)`` float64.
        presentation: coordinate name -> ``(n_presentations,)`` array.
        neuroid: coordinate name -> ``(n_neuroids,)`` array.
        attrs: global attributes (``identifier``...).
        path: the file read.
    """

    values: np.ndarray
    presentation: dict[str, np.ndarray]
    neuroid: dict[str, np.ndarray]
    attrs: dict[str, Any]
    path: Path

    def pres(self, *names: str) -> np.ndarray:
        """The first presentation coordinate among ``names`` that exists."""
        return self._coord(self.presentation, "presentation", names)

    def neur(self, *names: str) -> np.ndarray:
        """The first neuroid coordinate among ``names`` that exists."""
        return self._coord(self.neuroid, "neuroid", names)

    def _coord(self, coords: dict[str, np.ndarray], dim: str, names: tuple[str, ...]) -> np.ndarray:
        for n in names:
            if n in coords:
                return coords[n]
        raise DataError(
            f"{self.path.name}: no {dim} coordinate {' or '.join(map(repr, names))}; "
            f"has {', '.join(sorted(coords))}. Is this the right Brain-Score assembly?"
        )


def _engine(path: Path) -> str:
    with open(path, "rb") as f:
        magic = f.read(8)
    if magic.startswith(b"\x89HDF"):
        return "h5netcdf"
    if magic.startswith(b"CDF"):
        return "scipy"  # netCDF-3 classic
    raise DataError(f"{path} is not a netCDF file (starts with {magic[:4]!r}); delete it and fetch it again")


def _plain(values: np.ndarray) -> np.ndarray:
    """Decode bytes to str; keep numbers as they are."""
    arr = np.asarray(values)
    if arr.dtype.kind == "S" or (arr.dtype == object and arr.size and isinstance(arr.flat[0], bytes)):
        return np.array([v.decode("utf-8") if isinstance(v, bytes) else v for v in arr.tolist()], dtype=object)
    if arr.dtype.kind == "U":
        return arr.astype(object)
    return arr


def read_assembly(path: str | Path) -> Assembly:
    """Read a brainio netCDF assembly into an :class:`Assembly` (all in memory)."""
    import xarray as xr

    path = Path(path)
    if not path.is_file():
        raise DataError(f"assembly file {path} does not exist; fetch it first")
    try:
        with xr.open_dataset(path, engine=_engine(path)) as ds:
            ds = ds.load()
    except ImportError as exc:
        raise DataError(f"reading {path.name} needs an HDF5 backend for h5netcdf ({exc}); pip install h5py") from None
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot read {path} as netCDF ({type(exc).__name__}: {exc}); delete it and fetch it again") from None
    variables = {**ds.coords.variables, **ds.data_vars.variables}
    two_d = [n for n, v in variables.items() if {"presentation", "neuroid"} <= set(v.dims)]
    if not two_d:
        raise DataError(f"{path.name}: no variable with dims (presentation, neuroid); not a Brain-Score neural assembly")
    name = next((n for n in _DATA_NAMES if n in two_d), two_d[0])
    var = variables[name]
    extra = [d for d in var.dims if d not in ("presentation", "neuroid")]
    if any(var.sizes[d] != 1 for d in extra):
        raise DataError(f"{path.name}: data has extra dims {extra} of size > 1; only (presentation, neuroid) is supported")
    var = var.isel({d: 0 for d in extra}).transpose("presentation", "neuroid")
    values = np.asarray(var.values, dtype=np.float64)
    pres = {n: _plain(v.values) for n, v in variables.items() if v.dims == ("presentation",)}
    neur = {n: _plain(v.values) for n, v in variables.items() if v.dims == ("neuroid",)}
    return Assembly(values=values, presentation=pres, neuroid=neur, attrs=dict(ds.attrs), path=path)


def _as_str(values: np.ndarray) -> np.ndarray:
    return np.array([str(v) for v in np.asarray(values).tolist()], dtype=object)


def _as_int(values: np.ndarray, what: str, path: Path) -> np.ndarray:
    try:
        return np.asarray(values).astype(np.int64)
    except (TypeError, ValueError):
        raise DataError(f"{path.name}: coordinate {what} is not integer; not the expected assembly layout") from None


def _build(
    assy: Assembly,
    name: str,
    rows: np.ndarray,
    cols: np.ndarray,
    texts: np.ndarray,
    contexts: np.ndarray,
    groups: np.ndarray,
    group_kind: str,
    unit: str,
    separator: str,
    subjects: np.ndarray,
    meta: dict[str, Any],
) -> NeuralDataset:
    """Dataset from row / column selections of ``assy`` (``rows`` already in presentation order)."""
    stimuli = StimulusSet(
        name=name,
        text=tuple(str(t) for t in texts[rows]),
        context_id=codes_in_order(contexts[rows]),
        unit=unit,  # type: ignore[arg-type]
        separator=separator,
    )
    return NeuralDataset(
        name=name,
        stimuli=stimuli,
        responses=assy.values[np.ix_(rows, cols)],
        subjects=_as_str(subjects[cols]),
        target_ids=_as_str(assy.neur("neuroid_id")[cols]),
        groups=np.asarray(groups[rows]),
        group_kind=group_kind,
        meta={
            **meta,
            "source": str(assy.path),
            "assembly_attrs": {k: str(v) for k, v in assy.attrs.items()},
            "stimulus_id": _as_str(assy.pres("stimulus_id")[rows]).tolist() if "stimulus_id" in assy.presentation else None,
        },
    )


def load_fedorenko2016(path: str | Path, meta: dict[str, Any] | None = None) -> dict[str, NeuralDataset]:
    """Fedorenko2016.language: word units (upper case, no punctuation), context = group = ``sentence_id``.

    Returns ``{"Fedorenko2016": dataset}`` with responses ``(416, 97)`` for the real file.
    """
    assy = read_assembly(path)
    words = assy.pres("word", "stimulus")
    sentence = _as_int(assy.pres("sentence_id"), "sentence_id", assy.path)
    if "word_num" in assy.presentation:
        rows = np.lexsort((_as_int(assy.pres("word_num"), "word_num", assy.path), sentence))
    else:
        rows = np.argsort(sentence, kind="stable")
    cols = np.arange(assy.values.shape[1])
    ds = _build(assy, "Fedorenko2016", rows, cols, words, sentence, sentence, "sentence", "word", " ",
                assy.neur("subject_UID"), meta or {})
    return {ds.name: ds}


def _passage_keys(labels: np.ndarray, index: np.ndarray | None) -> np.ndarray:
    """Passage id per sentence: its label, or ``label.index`` when one label names several passages."""
    if index is None:
        return labels
    pairs = set(zip(labels.tolist(), index.tolist(), strict=True))
    if len({lab for lab, _ in pairs}) == len(pairs):
        return labels
    return np.array([f"{lab}.{i}" for lab, i in zip(labels.tolist(), index.tolist(), strict=True)], dtype=object)


def load_pereira2018(path: str | Path, meta: dict[str, Any] | None = None) -> dict[str, NeuralDataset]:
    """Pereira2018.language -> ``Pereira2018.243sentences`` and ``Pereira2018.384sentences``.

    Per experiment: neuroids with any NaN are dropped (subjects who did not run it); sentence units in
    passages sorted by ``passage_label`` and, within a passage, by ``stimulus_num``; context = group =
    passage (each sentence is read after the earlier sentences of its passage). ``meta`` keeps
    ``passage_category`` and ``story`` (= ``experiment.passage_category``, Brain-Score's CV groups) per row.
    """
    assy = read_assembly(path)
    experiment = _as_str(assy.pres("experiment"))
    text = assy.pres("stimulus", "sentence")
    labels = _as_str(assy.pres("passage_label", "passage_index"))
    index = assy.presentation.get("passage_index")
    num = assy.presentation.get("stimulus_num")
    subjects = assy.neur("subject")
    out: dict[str, NeuralDataset] = {}
    for exp in sorted(set(experiment.tolist())):
        sel = np.flatnonzero(experiment == exp)
        exp_index = None if index is None else _as_int(index[sel], "passage_index", assy.path)
        keys = _passage_keys(labels[sel], exp_index)
        within = _as_int(num[sel], "stimulus_num", assy.path) if num is not None else np.arange(sel.size)
        by_index = exp_index if exp_index is not None else np.zeros(sel.size, dtype=np.int64)
        order = np.lexsort((within, by_index, labels[sel].astype(str)))
        rows = sel[order]
        cols = np.flatnonzero(~np.isnan(assy.values[sel]).any(axis=0))
        if cols.size == 0:
            raise DataError(f"{assy.path.name}: experiment {exp} has no neuroid without NaN; the file looks damaged")
        passage = np.empty(assy.values.shape[0], dtype=object)
        passage[sel] = keys
        name = f"Pereira2018.{exp}"
        extra = {
            "experiment": exp,
            "passage_category": _as_str(assy.pres("passage_category")[rows]).tolist()
            if "passage_category" in assy.presentation else None,
            "story": _as_str(assy.pres("story")[rows]).tolist() if "story" in assy.presentation else None,
            "passage_label": labels[rows].tolist(),
            "n_neuroids_dropped_nan": int(assy.values.shape[1] - cols.size),
        }
        out[name] = _build(assy, name, rows, cols, text, passage, passage, "passage", "sentence", " ",
                           subjects, {**(meta or {}), **extra})
    return out


def _blank_positions(assy: Assembly) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(story, sentence_number, part_number)`` per presentation, from coords or parsed from ``stimulus_id``."""
    if {"sentence_number_in_story", "part_number_in_sentence"} <= set(assy.presentation):
        return (
            _as_str(assy.pres("story")),
            _as_int(assy.pres("sentence_number_in_story"), "sentence_number_in_story", assy.path),
            _as_int(assy.pres("part_number_in_sentence"), "part_number_in_sentence", assy.path),
        )
    ids = _as_str(assy.pres("stimulus_id"))
    parts = [s.rsplit(".", 2) for s in ids.tolist()]
    if any(len(p) != 3 or not p[1].isdigit() or not p[2].isdigit() for p in parts):
        raise DataError(f"{assy.path.name}: stimulus_id is not 'story.sentence.part'; cannot order the fragments")
    story = np.array([p[0] for p in parts], dtype=object)
    return story, np.array([int(p[1]) for p in parts]), np.array([int(p[2]) for p in parts])


def load_blank2014(path: str | Path, meta: dict[str, Any] | None = None) -> dict[str, NeuralDataset]:
    """Blank2014.fROI: fragment units (text of the words ending in each TR, with their own spacing and
    punctuation, joined with ``""``), stories in sorted order, fragments in reading order
    (``sentence_number_in_story``, ``part_number_in_sentence``); context = group = story;
    subjects from ``subject_id``, targets = ``neuroid_id`` (``subject.fROI``).
    """
    assy = read_assembly(path)
    story, sentence, part = _blank_positions(assy)
    rows = np.lexsort((part, sentence, story.astype(str)))
    cols = np.arange(assy.values.shape[1])
    extra = {"timepoint_value": assy.presentation["timepoint_value"][rows].tolist()} if "timepoint_value" in assy.presentation else {}
    ds = _build(assy, "Blank2014", rows, cols, assy.pres("stimulus", "stimulus_sentence"), story, story, "story",
                "fragment", "", assy.neur("subject_id", "subject_UID"), {**(meta or {}), **extra})
    return {ds.name: ds}


def load_tuckute2024(path: str | Path, meta: dict[str, Any] | None = None) -> dict[str, NeuralDataset]:
    """Tuckute2024.language: 1,000 sentences (one context and one group each) x 1 target (the 5-subject mean
    language-network response); rows sorted by ``stimulus_id`` (item id). ``meta`` keeps ``cond`` and
    ``cond_approach``.
    """
    assy = read_assembly(path)
    ids = assy.pres("stimulus_id")
    try:
        rows = np.argsort(np.asarray(ids).astype(np.int64), kind="stable")
    except (TypeError, ValueError):
        rows = np.argsort(_as_str(ids).astype(str), kind="stable")
    sid = _as_str(ids)
    cols = np.arange(assy.values.shape[1])
    extra = {c: _as_str(assy.pres(c)[rows]).tolist() for c in ("cond", "cond_approach") if c in assy.presentation}
    ds = _build(assy, "Tuckute2024", rows, cols, assy.pres("stimulus", "sentence"), sid, sid, "sentence",
                "sentence", " ", assy.neur("subject_UID", "subject"), {**(meta or {}), **extra})
    return {ds.name: ds}


LOADERS: dict[str, Callable[..., dict[str, NeuralDataset]]] = {
    "Fedorenko2016": load_fedorenko2016,
    "Pereira2018": load_pereira2018,
    "Blank2014": load_blank2014,
    "Tuckute2024": load_tuckute2024,
}


def load_assembly(path: str | Path, manifest_name: str, meta: dict[str, Any] | None = None) -> dict[str, NeuralDataset]:
    """Read the assembly of manifest ``manifest_name`` into ``{dataset name: dataset}``."""
    if manifest_name not in LOADERS:
        raise DataError(f"no Brain-Score netCDF loader for {manifest_name!r}; known: {', '.join(sorted(LOADERS))}")
    return LOADERS[manifest_name](path, meta=meta)
