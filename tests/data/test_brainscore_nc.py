"""Brain-Score netCDF loaders on fabricated files in brainio's layout."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from fabricate import BLANK_FRAGMENTS, FED_SENTENCES, PEREIRA_ROWS, TUCKUTE_IDS, write_brainio_nc

from brainalign.data.loaders.brainscore_nc import (
    load_assembly,
    load_blank2014,
    load_fedorenko2016,
    load_pereira2018,
    load_tuckute2024,
    read_assembly,
)
from brainalign.errors import DataError


def test_layout_is_flat_coords_along_dims(pereira_nc: Path) -> None:
    import xarray as xr

    with xr.open_dataset(pereira_nc, engine="h5netcdf") as ds:
        assert list(ds.data_vars) == ["data"]
        assert ds["data"].dims == ("presentation", "neuroid")
        assert "presentation" not in ds.variables and "neuroid" not in ds.variables
        assert ds["passage_label"].dims == ("presentation",)
        assert ds["neuroid_id"].dims == ("neuroid",)
    assy = read_assembly(pereira_nc)
    assert assy.values.shape == (9, 5)
    assert assy.attrs["identifier"] == "Pereira2018.language"
    assert set(assy.presentation) >= {"experiment", "stimulus", "passage_label", "story"}


def test_fedorenko2016(fedorenko_nc: Path) -> None:
    (ds,) = load_fedorenko2016(fedorenko_nc, meta={"citation": "x"}).values()
    assert ds.name == "Fedorenko2016"
    assert ds.responses.shape == (9, 4)
    assert ds.stimuli.contexts() == FED_SENTENCES
    assert ds.stimuli.unit == "word"
    np.testing.assert_allclose(ds.responses, np.load(fedorenko_nc.parent / "fed_values.npy"))
    assert ds.groups.tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    assert ds.group_kind == "sentence"
    assert ds.subjects.tolist() == ["1", "1", "2", "3"]
    assert ds.target_ids.tolist() == ["0", "1", "2", "3"]
    assert ds.meta["citation"] == "x"


def test_pereira2018_two_experiments(pereira_nc: Path) -> None:
    out = load_pereira2018(pereira_nc)
    assert sorted(out) == ["Pereira2018.243sentences", "Pereira2018.384sentences"]
    values = np.load(pereira_nc.parent / "pereira_values.npy")

    e243 = out["Pereira2018.243sentences"]
    # subject 199 has NaN here and is dropped; passages sorted by label: Accordion before Beekeeping
    assert e243.subjects.tolist() == ["018", "018", "215", "215"]
    assert e243.target_ids.tolist() == ["018.1", "018.2", "215.1", "215.2"]
    assert e243.stimuli.contexts() == [
        ["An accordion has bellows.", "It is played with both hands."],
        ["Bees live in hives.", "Keepers collect the honey.", "Smoke calms the bees."],
    ]
    assert e243.stimuli.unit == "sentence"
    assert e243.groups.tolist() == ["Accordion"] * 2 + ["Beekeeping"] * 3
    assert e243.group_kind == "passage"
    np.testing.assert_allclose(e243.responses, values[[3, 4, 0, 1, 2]][:, [0, 1, 3, 4]])
    assert e243.meta["passage_category"] == ["music"] * 2 + ["work"] * 3
    assert e243.meta["story"][0] == "243sentences.music"
    assert e243.meta["n_neuroids_dropped_nan"] == 1

    e384 = out["Pereira2018.384sentences"]
    assert e384.subjects.tolist() == ["018", "018", "199"]
    assert [c[0] for c in e384.stimuli.contexts()] == ["An apple grows on a tree.", "A dog is a loyal pet."]
    assert not np.isnan(e384.responses).any()
    assert len(PEREIRA_ROWS) == e243.n_stimuli + e384.n_stimuli


def test_blank2014_reading_order(blank_nc: Path) -> None:
    (ds,) = load_blank2014(blank_nc).values()
    assert ds.stimuli.unit == "fragment"
    assert ds.stimuli.separator == ""
    stories = {"Aqua": 0, "Boar": 1}
    for story, k in stories.items():
        assert "".join(ds.stimuli.contexts()[k]) == "".join(t for _, _, t in BLANK_FRAGMENTS[story])
    assert ds.stimuli.text[:3] == ("Sentence 0 ", "Sentence 1 ", "Sentence 2 ")  # numeric, not lexicographic
    assert ds.groups.tolist() == ["Aqua"] * 12 + ["Boar"] * 3
    assert ds.subjects.tolist() == ["061", "061", "085", "085"]
    assert ds.target_ids.tolist()[1] == "061.03_LH_IFG"
    # rows follow the text: the response row of "journey north, " is the stored row of Boar.0.1
    stored = read_assembly(blank_nc)
    i_stored = stored.presentation["stimulus_id"].tolist().index("Boar.0.1")
    i_loaded = ds.stimuli.text.index("journey north, ")
    np.testing.assert_allclose(ds.responses[i_loaded], np.load(blank_nc.parent / "blank_values.npy")[i_stored])


def test_tuckute2024(tuckute_nc: Path) -> None:
    (ds,) = load_tuckute2024(tuckute_nc).values()
    assert ds.responses.shape == (5, 1)
    assert ds.stimuli.text == tuple(f"Sentence number {i}." for i in sorted(TUCKUTE_IDS))
    assert len(set(ds.stimuli.context_id.tolist())) == 5
    assert ds.groups.tolist() == ["1", "2", "3", "5", "10"]
    assert ds.subjects.tolist() == ["848-853-865-875-876"]
    assert ds.target_ids.tolist() == ["1"]
    assert 1.28 < ds.responses.max() < 1.29
    assert ds.meta["cond"] == ["B", "S", "B", "B", "D"]


def test_dispatch_and_errors(tmp_path: Path, tuckute_nc: Path) -> None:
    assert list(load_assembly(tuckute_nc, "Tuckute2024")) == ["Tuckute2024"]
    with pytest.raises(DataError, match="no Brain-Score netCDF loader"):
        load_assembly(tuckute_nc, "Nope2020")
    junk = tmp_path / "junk.nc"
    junk.write_bytes(b"<html>AccessDenied</html>")
    with pytest.raises(DataError, match="not a netCDF file"):
        read_assembly(junk)
    with pytest.raises(DataError, match="does not exist"):
        read_assembly(tmp_path / "missing.nc")
    with pytest.raises(DataError, match="no presentation coordinate 'sentence_id'"):
        load_fedorenko2016(tuckute_nc)


def test_no_2d_variable(tmp_path: Path) -> None:
    import xarray as xr

    path = tmp_path / "flat.nc"
    xr.Dataset({"x": ("presentation", [1.0, 2.0])}).to_netcdf(path, engine="h5netcdf")
    with pytest.raises(DataError, match="no variable with dims"):
        read_assembly(path)


def test_transposed_data_is_accepted(tmp_path: Path) -> None:
    values = np.array([[1.0, 2.0], [3.0, 5.0]])
    path = write_brainio_nc(
        tmp_path / "t.nc", values, {"stimulus_id": [1, 2], "stimulus": ["A b.", "C d."]},
        {"neuroid_id": [1, 2], "subject_UID": ["s", "s"]}, "x",
    )
    import xarray as xr

    ds = xr.open_dataset(path, engine="h5netcdf").load()
    ds["data"] = ds["data"].transpose("neuroid", "presentation")
    path2 = tmp_path / "t2.nc"
    ds.to_netcdf(path2, engine="h5netcdf")
    assy = read_assembly(path2)
    np.testing.assert_allclose(assy.values, values)
