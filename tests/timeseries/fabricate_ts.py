"""Small fabricated files in the naturalistic time-series layouts (TextGrid, events CSV, ds003020, run tables,
a Blank2014-like netCDF)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

Interval = tuple[float, float, str]


def _q(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def textgrid_long(tiers: dict[str, list[Interval]], points: dict[str, list[tuple[float, str]]] | None = None) -> str:
    """A long-format ("ooTextFile") TextGrid with interval tiers (and optional point tiers)."""
    points = points or {}
    end = max([b for iv in tiers.values() for _, b, _ in iv] + [t for p in points.values() for t, _ in p] + [1.0])
    out = ['File type = "ooTextFile"', 'Object class = "TextGrid"', "", "xmin = 0 ", f"xmax = {end} ", "tiers? <exists> ",
           f"size = {len(tiers) + len(points)} ", "item []: "]
    k = 0
    for name, ivs in tiers.items():
        k += 1
        out += [f"    item [{k}]:", '        class = "IntervalTier" ', f"        name = {_q(name)} ", "        xmin = 0 ",
                f"        xmax = {end} ", f"        intervals: size = {len(ivs)} "]
        for j, (a, b, text) in enumerate(ivs, 1):
            out += [f"        intervals [{j}]:", f"            xmin = {a} ", f"            xmax = {b} ",
                    f"            text = {_q(text)} "]
    for name, pts in points.items():
        k += 1
        out += [f"    item [{k}]:", '        class = "TextTier" ', f"        name = {_q(name)} ", "        xmin = 0 ",
                f"        xmax = {end} ", f"        points: size = {len(pts)} "]
        for j, (t, mark) in enumerate(pts, 1):
            out += [f"        points [{j}]:", f"            number = {t} ", f"            mark = {_q(mark)} "]
    return "\n".join(out) + "\n"


def textgrid_short(tiers: dict[str, list[Interval]]) -> str:
    """A short-format TextGrid (values only)."""
    end = max([b for iv in tiers.values() for _, b, _ in iv] + [1.0])
    out = ['File type = "ooTextFile"', 'Object class = "TextGrid"', "", "0", str(end), "<exists>", str(len(tiers))]
    for name, ivs in tiers.items():
        out += ['"IntervalTier"', _q(name), "0", str(end), str(len(ivs))]
        for a, b, text in ivs:
            out += [str(a), str(b), _q(text)]
    return "\n".join(out) + "\n"


WORDS: list[Interval] = [(0.0, 0.5, ""), (0.5, 0.9, "Once"), (0.9, 1.2, "upon"), (1.2, 1.3, "sp"), (1.3, 1.4, "a"),
                         (1.4, 2.0, "{SL}"), (2.0, 2.6, "time"), (2.6, 2.8, "<unk>"), (2.8, 3.4, 'said "hi"')]
PHONES: list[Interval] = [(0.0, 0.5, ""), (0.5, 0.7, "W"), (0.7, 0.9, "AH1"), (0.9, 3.4, "N")]
WORDS_KEPT = ("Once", "upon", "a", "time", 'said "hi"')


def write_textgrid(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


# ---- ds003020 derivative ----

LEBEL_STORIES = {"alpha": 40, "beta": 44, "wheretheressmoke": 42}  # respdict: story -> TRs
LEBEL_SUBJECTS = ("UTS01", "UTS02")
LEBEL_VOXELS = 9


def lebel_values(subject: str, story: str, n_rows: int) -> np.ndarray:
    """The deterministic ``(n_rows, LEBEL_VOXELS)`` float32 responses written for ``subject`` / ``story``."""
    seed = sum(map(ord, subject + story))
    return np.random.default_rng(seed).normal(size=(n_rows, LEBEL_VOXELS)).astype(np.float32)


def story_words(n_tr: int, late: bool = False) -> list[Interval]:
    """Word intervals every 0.5 s from 1 s to 20 s of story time (+ one ending after the grid when ``late``)."""
    ivs: list[Interval] = [(0.0, 1.0, "sp")]
    t = 1.0
    k = 0
    while t < 20.0:
        ivs.append((t, t + 0.4, f"w{k}"))
        ivs.append((t + 0.4, t + 0.5, "sp"))
        t += 0.5
        k += 1
    if late:
        end = 2.0 * (n_tr - 5) - 10.0
        ivs += [(t, end + 0.5, "sp"), (end + 0.5, end + 1.0, "late")]
    return ivs


def lebel_root(tmp_path: Path, trimmed: bool = True) -> Path:
    """``ds003020/derivative/`` with 2 subjects x 3 stories (``.hf5`` of ``respdict - 20`` rows when ``trimmed``)."""
    import h5py

    root = tmp_path / "ds003020"
    der = root / "derivative"
    (der / "TextGrids").mkdir(parents=True)
    (der / "respdict.json").write_text(json.dumps(LEBEL_STORIES))
    for story, n_tr in LEBEL_STORIES.items():
        words = story_words(n_tr, late=story == "beta")
        phones = [(a, b, "AH") for a, b, _ in words]
        write_textgrid(der / "TextGrids" / f"{story}.TextGrid", textgrid_long({"phone": phones, "word": words}))
    for subj in LEBEL_SUBJECTS:
        folder = der / "preprocessed_data" / subj
        folder.mkdir(parents=True)
        for story, n_tr in LEBEL_STORIES.items():
            rows = n_tr - 20 if trimmed else n_tr - 5
            with h5py.File(folder / f"{story}.hf5", "w") as f:
                f.create_dataset("data", data=lebel_values(subj, story, rows))
    return root


# ---- Blank2014-like assembly ----

BLANK_SUBJECTS = ("061", "085")
BLANK_FROIS = ("03_LH_IFG", "01_LH_PostTemp", "12_RH_AngG")  # stored out of order
BLANK_STORIES = {
    "Aqua": ["Once upon a ", "time there ", "was a fish."],
    "Boar": ["If you were ", "to journey ", "north, ", "you would come"],
}
BLANK_GAP = ("Boar", 2)  # Boar's 3rd TR is missing (no word ended in it)


def blank_rows() -> list[tuple[str, int, str, float]]:
    """``(story, part, text, timepoint_value)`` of every presentation, in time order within a story."""
    rows = []
    for story, parts in BLANK_STORIES.items():
        t = 6.0
        for p, text in enumerate(parts):
            if (story, p) == BLANK_GAP:
                t += 2.0
            rows.append((story, p, text, t))
            t += 2.0
    return rows


def blank_nc(tmp_path: Path) -> tuple[Path, np.ndarray, list[tuple[str, int, str, float]]]:
    """``(file, values, rows)``: the presentations stored in reverse order; ``values`` in ``rows`` order."""
    import xarray as xr

    rows = blank_rows()
    neuroids = [(s, f) for s in BLANK_SUBJECTS for f in BLANK_FROIS]
    values = np.random.default_rng(3).normal(size=(len(rows), len(neuroids)))
    order = np.arange(len(rows))[::-1]
    pres = {
        "stimulus_id": [f"{rows[i][0]}.0.{rows[i][1]}" for i in order],
        "stimulus": [rows[i][2] for i in order],
        "stimulus_sentence": [rows[i][2] for i in order],
        "story": [rows[i][0] for i in order],
        "sentence_number_in_story": [0 for _ in order],
        "part_number_in_sentence": [rows[i][1] for i in order],
        "timepoint_value": [rows[i][3] for i in order],
    }
    neur = {"subject_id": [s for s, _ in neuroids], "fROI_area": [f for _, f in neuroids],
            "neuroid_id": [f"{s}.{f}" for s, f in neuroids]}
    coords = {k: ("presentation", v) for k, v in pres.items()} | {k: ("neuroid", v) for k, v in neur.items()}
    ds = xr.Dataset({"data": (("presentation", "neuroid"), values[order])}, coords=coords)
    ds.attrs = {"identifier": "Blank2014.fROI"}
    path = tmp_path / "assy_Blank2014_fROI.nc"
    ds.to_netcdf(path, engine="h5netcdf")
    return path, values, rows
