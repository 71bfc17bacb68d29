"""Fabricated Brain-Score language assemblies in brainio's netCDF layout (few stimuli, real coordinate names)."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def write_brainio_nc(
    path: Path,
    values: np.ndarray,
    presentation: dict[str, list],
    neuroid: dict[str, list],
    identifier: str,
    compress: bool = True,
) -> Path:
    """Write an assembly the way brainio's ``write_netcdf`` does.

    ``DataAssembly`` gathers the coords of each dim into a MultiIndex; ``write_netcdf`` resets every index
    (levels become flat variables along ``presentation`` / ``neuroid``) and writes ``to_dataset(name="data")``
    with zlib level 1 (or, uncompressed, the bare DataArray as ``__xarray_dataarray_variable__``).
    """
    import xarray as xr

    coords = {k: ("presentation", v) for k, v in presentation.items()}
    coords.update({k: ("neuroid", v) for k, v in neuroid.items()})
    da = xr.DataArray(np.asarray(values, dtype=np.float64), dims=("presentation", "neuroid"), coords=coords)
    da = da.set_index(presentation=list(presentation), neuroid=list(neuroid))  # brainio gather_indexes
    da = da.reset_index(list(da.indexes))  # brainio write_netcdf
    da.attrs = {"identifier": identifier, "stimulus_set_identifier": ""}
    if compress:
        ds = da.to_dataset(name="data")
        ds.attrs = dict(da.attrs)
        encoding = {v: {"zlib": True, "complevel": 1} for v in ds.variables}
        ds.to_netcdf(path, engine="h5netcdf", encoding=encoding)
    else:
        da.to_netcdf(path, engine="h5netcdf")
    return path


FED_SENTENCES = [["ALEX", "WAS", "TIRED"], ["AMY", "CAUGHT", "BALL"], ["THE", "DOG", "RAN"]]


def fedorenko_nc(tmp_path: Path) -> Path:
    """3 sentences x 3 words (stored out of order), 4 electrodes of subjects 1, 1, 2, 3."""
    rng = np.random.default_rng(0)
    words, word_num, sentence_id = [], [], []
    for s, sent in enumerate(FED_SENTENCES):
        for w, word in enumerate(sent):
            words.append(word)
            word_num.append(w)
            sentence_id.append(s)
    n = len(words)
    values = rng.normal(size=(n, 4))
    order = rng.permutation(n)  # the loader must restore sentence / word order
    pres = {
        "stimulus_id": list(np.arange(n)[order]),
        "stimulus": [words[i] for i in order],
        "word": [words[i] for i in order],
        "word_num": [word_num[i] for i in order],
        "sentence_id": [sentence_id[i] for i in order],
    }
    neur = {"electrode": [0, 1, 2, 3], "neuroid_id": [0, 1, 2, 3], "subject_UID": [1, 1, 2, 3]}
    path = write_brainio_nc(tmp_path / "assy_Fedorenko2016_language.nc", values[order], pres, neur, "Fedorenko2016.language")
    np.save(tmp_path / "fed_values.npy", values)
    return path


PEREIRA_ROWS = [
    # experiment, stimulus_num, passage_index, passage_label, passage_category, sentence
    ("243sentences", 1, 1, "Beekeeping", "work", "Bees live in hives."),
    ("243sentences", 2, 1, "Beekeeping", "work", "Keepers collect the honey."),
    ("243sentences", 3, 1, "Beekeeping", "work", "Smoke calms the bees."),
    ("243sentences", 4, 2, "Accordion", "music", "An accordion has bellows."),
    ("243sentences", 5, 2, "Accordion", "music", "It is played with both hands."),
    ("384sentences", 1, 1, "Dog", "animal", "A dog is a loyal pet."),
    ("384sentences", 2, 1, "Dog", "animal", "Dogs like to play fetch."),
    ("384sentences", 3, 2, "Apple", "fruit", "An apple grows on a tree."),
    ("384sentences", 4, 2, "Apple", "fruit", "Apples can be red or green."),
]
PEREIRA_NEUROIDS = [("018", 1), ("018", 2), ("199", 1), ("215", 1), ("215", 2)]


def pereira_nc(tmp_path: Path) -> Path:
    """Both experiments; subject 199 only ran 384sentences, 215 only 243sentences (NaN elsewhere)."""
    rng = np.random.default_rng(1)
    values = rng.normal(size=(len(PEREIRA_ROWS), len(PEREIRA_NEUROIDS)))
    for i, row in enumerate(PEREIRA_ROWS):
        for j, (subject, _) in enumerate(PEREIRA_NEUROIDS):
            if (subject == "199" and row[0] == "243sentences") or (subject == "215" and row[0] == "384sentences"):
                values[i, j] = np.nan
    np.save(tmp_path / "pereira_values.npy", values)
    exp, num, pidx, plabel, pcat, sent = (list(c) for c in zip(*PEREIRA_ROWS, strict=True))
    pres = {
        "experiment": exp,
        "stimulus_num": num,
        "sentence": sent,
        "stimulus": sent,
        "passage_index": pidx,
        "passage_label": plabel,
        "passage_category": pcat,
        "stimulus_id": [f"{e}.{n}" for e, n in zip(exp, num, strict=True)],
        "story": [f"{e}.{c}" for e, c in zip(exp, pcat, strict=True)],
    }
    subj = [s for s, _ in PEREIRA_NEUROIDS]
    vox = [v for _, v in PEREIRA_NEUROIDS]
    neur = {
        "subject": subj,
        "voxel_num": vox,
        "atlas": ["language"] * len(subj),
        "filter_strategy": ["", "HminusE", "", "FIXminusH", ""],
        "atlas_selection": ["from90to100prcnt"] * len(subj),
        "atlas_selection_lower": [90] * len(subj),
        "roi": ["LH_AntTemp"] * len(subj),
        "indices_in_3d": [10, 11, 12, 13, 14],
        "col_to_coord_1": [1, 2, 3, 4, 5],
        "col_to_coord_2": [1, 2, 3, 4, 5],
        "col_to_coord_3": [1, 2, 3, 4, 5],
        "neuroid_id": [f"{s}.{v}" for s, v in PEREIRA_NEUROIDS],
    }
    return write_brainio_nc(tmp_path / "assy_Pereira2018_language.nc", values, pres, neur, "Pereira2018.language")


BLANK_FRAGMENTS = {
    # story -> fragments in reading order: (sentence_number_in_story, part_number_in_sentence, text)
    "Boar": [(0, 0, "If you were to "), (0, 1, "journey north, "), (1, 0, "you would come.")],
    "Aqua": [(i, 0, f"Sentence {i} ") for i in range(11)] + [(10, 1, "ends here.")],
}
BLANK_NEUROIDS = [("061", "01_LH_PostTemp"), ("061", "03_LH_IFG"), ("085", "01_LH_PostTemp"), ("085", "03_LH_IFG")]


def blank_nc(tmp_path: Path) -> Path:
    """Two stories stored in lexicographic ``stimulus_id`` order (``Aqua.10.0`` before ``Aqua.2.0``)."""
    rows = [(story, s, p, text) for story, frags in BLANK_FRAGMENTS.items() for s, p, text in frags]
    rows.sort(key=lambda r: f"{r[0]}.{r[1]}.{r[2]}")
    rng = np.random.default_rng(2)
    values = rng.normal(size=(len(rows), len(BLANK_NEUROIDS)))
    pres = {
        "stimulus_id": [f"{r[0]}.{r[1]}.{r[2]}" for r in rows],
        "stimulus": [r[3] for r in rows],
        "stimulus_sentence": [r[3] for r in rows],
        "meta_sentence": [r[3].lower().strip() for r in rows],
        "sentence_number_in_story": [r[1] for r in rows],
        "part_number_in_sentence": [r[2] for r in rows],
        "story": [r[0] for r in rows],
        "timepoint_value": [2 * i for i in range(len(rows))],
    }
    neur = {
        "subject_id": [s for s, _ in BLANK_NEUROIDS],
        "fROI_area": [f for _, f in BLANK_NEUROIDS],
        "neuroid_id": [f"{s}.{f}" for s, f in BLANK_NEUROIDS],
    }
    np.save(tmp_path / "blank_values.npy", values)
    return write_brainio_nc(tmp_path / "assy_Blank2014_fROI.nc", values, pres, neur, "Blank2014.fROI")


TUCKUTE_IDS = [3, 1, 10, 2, 5]


def tuckute_nc(tmp_path: Path) -> Path:
    """5 sentences (item ids stored out of order) x 1 neuroid, written uncompressed."""
    values = np.array([[0.3], [-0.1], [1.285], [0.0], [-0.7]])
    pres = {
        "stimulus_id": TUCKUTE_IDS,
        "stimulus": [f"Sentence number {i}." for i in TUCKUTE_IDS],
        "cond": ["B", "B", "D", "S", "B"],
        "cond_approach": ["baseline", "baseline", "modify", "search", "baseline"],
    }
    neur = {"neuroid_id": [1], "subject_UID": ["848-853-865-875-876"], "roi": ["lang_LH_netw"]}
    return write_brainio_nc(
        tmp_path / "assy_Tuckute2024_language.nc", values, pres, neur, "Tuckute2024.language", compress=False
    )
