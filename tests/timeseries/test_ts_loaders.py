"""Time-series loaders on fabricated files in each layout (ds003020, run tables, Blank2014 netCDF, Alice mirror),
every error path, and the real Alice2022 data from the mirror."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import fabricate_ts as fab
import numpy as np
import pytest

import brainalign.data.loaders.lebel2023 as lebel
from brainalign.data.loaders.alice2022 import FROIS, LH_NETWORK, load_alice2022
from brainalign.data.loaders.blank2014_timeseries import load_blank2014_timeseries
from brainalign.data.loaders.timeseries_runs import load_run_table
from brainalign.errors import DataError

# ---- LeBel 2023 (ds003020 derivative) ----


def test_lebel_runs_on_the_huth_grid(tmp_path: Path) -> None:
    ds = lebel.load_lebel2023(fab.lebel_root(tmp_path))
    assert [r.run_id for r in ds.runs] == [f"{s}/{t}" for s in fab.LEBEL_SUBJECTS for t in sorted(fab.LEBEL_STORIES)]
    run = next(r for r in ds.runs if r.run_id == "UTS02/beta")
    n_grid = fab.LEBEL_STORIES["beta"] - 5
    assert (run.n_volumes, run.tr, run.stim_onset, run.trim_start, run.trim_end) == (n_grid, 2.0, 10.0, 10, 5)
    np.testing.assert_allclose(run.responses[run.kept], fab.lebel_values("UTS02", "beta", n_grid - 15), rtol=1e-6)
    assert not run.responses[:10].any() and not run.responses[-5:].any()  # filled trims
    assert run.story_times()[10] == 10.0  # first kept volume: story time 2*10 - 10
    assert run.target_ids.tolist() == [str(i) for i in range(fab.LEBEL_VOXELS)]
    assert ds.meta["words_dropped_after_last_tr"] == {"beta": 1} and "late" not in run.events.words
    assert ds.meta["test_story"] == "wheretheressmoke" and len(ds.meta["runs_with_filled_trims"]) == 6
    assert [r.run_id for r in lebel.held_out_runs(ds)] == ["UTS01/wheretheressmoke", "UTS02/wheretheressmoke"]
    assert ds.events_of("alpha").words[:3] == ("w0", "w1", "w2")


def test_lebel_untrimmed_files_used_as_they_are(tmp_path: Path) -> None:
    ds = lebel.load_lebel2023(fab.lebel_root(tmp_path, trimmed=False) / "derivative", subjects=["UTS01"], stories="alpha")
    (run,) = ds.runs
    np.testing.assert_allclose(run.responses, fab.lebel_values("UTS01", "alpha", 35), rtol=1e-6)
    assert ds.meta["runs_with_filled_trims"] == []


@pytest.mark.parametrize("fancy_max", [2048, 1])  # HDF5 point selection, then row blocks
def test_lebel_voxel_selection(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fancy_max: int) -> None:
    monkeypatch.setattr(lebel, "_FANCY_MAX", fancy_max)
    monkeypatch.setattr(lebel, "_BLOCK_ROWS", 4)
    root = fab.lebel_root(tmp_path)
    full = fab.lebel_values("UTS01", "alpha", 20)
    (run,) = lebel.load_lebel2023(root, ["UTS01"], ["alpha"], voxels=[7, 2, 4]).runs
    assert run.target_ids.tolist() == ["7", "2", "4"]
    np.testing.assert_allclose(run.responses[run.kept], full[:, [7, 2, 4]], rtol=1e-6)
    mask = np.zeros(fab.LEBEL_VOXELS, bool)
    mask[[1, 8]] = True
    (run,) = lebel.load_lebel2023(root, ["UTS01"], ["alpha"], voxels=mask).runs
    np.testing.assert_allclose(run.responses[run.kept], full[:, [1, 8]], rtol=1e-6)


def test_lebel_repeats_of_the_test_story(tmp_path: Path) -> None:
    root = fab.lebel_root(tmp_path)
    folder = root / "derivative" / "preprocessed_data" / "UTS01"
    shutil.copy(folder / "wheretheressmoke.hf5", folder / "wheretheressmoke_2.hf5")
    ds = lebel.load_lebel2023(root, subjects=["UTS01"], stories=["wheretheressmoke"])
    assert [r.run_id for r in ds.runs] == ["UTS01/wheretheressmoke", "UTS01/wheretheressmoke/2"]
    assert {r.story for r in ds.runs} == {"wheretheressmoke"}


def _h5(path: Path, **arrays: np.ndarray) -> None:
    import h5py

    path.unlink()
    with h5py.File(path, "w") as f:
        for k, v in arrays.items():
            f.create_dataset(k, data=v)


def test_lebel_errors(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"has no derivative/preprocessed_data/ folder; datalad get derivative"):
        lebel.load_lebel2023(tmp_path)
    root = fab.lebel_root(tmp_path)
    der = root / "derivative"
    with pytest.raises(DataError, match=r"preprocessed_data: no subject UTS09; available: UTS01, UTS02"):
        lebel.load_lebel2023(root, subjects=["UTS09"])
    with pytest.raises(DataError, match=r"UTS01: no story souls; available: alpha, beta, wheretheressmoke"):
        lebel.load_lebel2023(root, subjects=["UTS01"], stories=["souls"])
    with pytest.raises(DataError, match=r"outside 0\.\.8"):
        lebel.load_lebel2023(root, ["UTS01"], ["alpha"], voxels=[3, 9])
    with pytest.raises(DataError, match=r"voxel mask has shape \(3,\) but the file has 9 voxels"):
        lebel.load_lebel2023(root, ["UTS01"], ["alpha"], voxels=np.ones(3, bool))
    with pytest.raises(DataError, match=r"voxels repeats an index"):
        lebel.load_lebel2023(root, ["UTS01"], ["alpha"], voxels=[1, 1])
    with pytest.raises(DataError, match=r"voxels must be integer indices or a boolean mask"):
        lebel.load_lebel2023(root, ["UTS01"], ["alpha"], voxels=[0.5])
    alpha = der / "preprocessed_data" / "UTS01" / "alpha.hf5"
    _h5(alpha, resp=np.zeros((20, 9)))
    with pytest.raises(DataError, match=r"alpha\.hf5: no HDF5 dataset 'data' \(has 'resp'\); expected the ds003020"):
        lebel.load_lebel2023(root, ["UTS01"], ["alpha"])
    _h5(alpha, data=np.zeros((21, 9)))
    with pytest.raises(DataError, match=r"alpha\.hf5: 21 TRs, but respdict\.json gives alpha 40 TRs, i\.e\. 20 after "
                                        r"trimming 10\+5 of 35 \(or 35 untrimmed\)"):
        lebel.load_lebel2023(root, ["UTS01"], ["alpha"])
    alpha.write_bytes(b"not hdf5")
    with pytest.raises(DataError, match=r"cannot read .*alpha\.hf5 as HDF5"):
        lebel.load_lebel2023(root, ["UTS01"], ["alpha"])
    alpha.unlink()
    alpha.symlink_to(tmp_path / ".git" / "annex" / "objects" / "XX")
    with pytest.raises(DataError, match=r"alpha\.hf5 is a git-annex placeholder without content; run datalad get"):
        lebel.load_lebel2023(root, ["UTS01"], ["alpha"])
    (der / "TextGrids" / "beta.TextGrid").unlink()
    with pytest.raises(DataError, match=r"TextGrids/beta\.TextGrid does not exist; datalad get derivative"):
        lebel.load_lebel2023(root, ["UTS01"], ["beta"])
    (der / "respdict.json").write_text(json.dumps({"alpha": 40}))
    with pytest.raises(DataError, match=r"respdict\.json has no entry for 'wheretheressmoke'; its TR count is needed"):
        lebel.load_lebel2023(root, ["UTS01"], ["wheretheressmoke"])
    (der / "respdict.json").write_text("[1, 2")
    with pytest.raises(DataError, match=r"respdict\.json: not a JSON mapping of story -> TR count"):
        lebel.load_lebel2023(root)
    (der / "respdict.json").unlink()
    with pytest.raises(DataError, match=r"respdict\.json does not exist; datalad get derivative"):
        lebel.load_lebel2023(root)


# ---- run tables ----


def _run_folder(tmp_path: Path) -> Path:
    """A run table with .npy, .csv and .h5 responses and TextGrid / events CSV / per-TR text events."""
    import h5py

    d = tmp_path / "study"
    (d / "resp").mkdir(parents=True)
    rng = np.random.default_rng(0)
    np.save(d / "resp" / "s1_story.npy", rng.normal(size=(12, 3)))
    (d / "resp" / "s2_story.csv").write_text("roiA,roiB\n" + "".join(f"{i},{-i}\n" for i in range(12)))
    with h5py.File(d / "resp" / "s1_other.h5", "w") as f:
        f.create_dataset("bold", data=rng.normal(size=(10, 2)))
    fab.write_textgrid(d / "story.TextGrid", fab.textgrid_long({"word": fab.WORDS}))
    (d / "other_words.tsv").write_text("word\tonset\nhello\t0.5\nthere\t1.0\n")
    (d / "other_trs.csv").write_text("text\nhello there\n\ngeneral\n")
    (d / "runs.csv").write_text(
        "run_id,story,subject,tr,responses,events,stim_onset,trim_start,trim_end,audio\n"
        "s1/story,story,01,2.0,resp/s1_story.npy,story.TextGrid,4.0,2,1,\n"
        "s2/story,story,02,2.0,resp/s2_story.csv,story.TextGrid,4.0,2,1,\n"
        f"s1/other,other,01,1.5,{d / 'resp' / 's1_other.h5'},other_words.tsv,,,,story.TextGrid\n"
        "s1/other_tr,other_tr,01,1.5,resp/s1_other.h5,other_trs.csv,3.0,1,0,\n"
    )
    return d


def test_run_table(tmp_path: Path) -> None:
    d = _run_folder(tmp_path)
    ds = load_run_table(d / "runs.csv")
    assert ds.name == "runs" and ds.stories() == ["story", "other", "other_tr"] and ds.subjects() == ["01", "02"]
    s1, s2, other, other_tr = ds.runs
    np.testing.assert_allclose(s1.responses, np.load(d / "resp" / "s1_story.npy"))
    assert (s1.stim_onset, s1.trim_start, s1.trim_end, s1.target_ids.tolist()) == (4.0, 2, 1, ["0", "1", "2"])
    assert s2.target_ids.tolist() == ["roiA", "roiB"] and s2.responses[3].tolist() == [3.0, -3.0]
    assert s1.events is s2.events and s1.events.words == fab.WORDS_KEPT
    assert (other.stim_onset, other.trim_start, other.audio) == (0.0, 0, str(d / "story.TextGrid"))
    np.testing.assert_allclose(other.events.offsets, [1.0, 1.3])
    assert other_tr.events.words == ("hello", "there", "general")
    np.testing.assert_allclose(other_tr.events.onsets, [0.0, 0.75, 3.0])


def test_run_table_nifti_with_mask(tmp_path: Path) -> None:
    import nibabel as nib

    d = _run_folder(tmp_path)
    bold = np.arange(2 * 3 * 1 * 12, dtype=np.float32).reshape(2, 3, 1, 12)
    mask = np.zeros((2, 3, 1), np.uint8)
    mask[0, 1, 0] = mask[1, 2, 0] = 1
    affine = np.diag([2.0, 2.0, 2.0, 1.0])
    img = nib.Nifti1Image(bold, affine)
    img.header.set_sform(affine, code=4)
    nib.save(img, d / "bold.nii.gz")
    nib.save(nib.Nifti1Image(mask, affine), d / "mask.nii.gz")
    (d / "nii.tsv").write_text("run_id\tstory\tsubject\ttr\tresponses\tevents\tstim_onset\tmask\n"
                               "s1/story\tstory\t01\t2\tbold.nii.gz\tstory.TextGrid\t4\tmask.nii.gz\n")
    (run,) = load_run_table(d / "nii.tsv").runs
    assert run.responses.shape == (12, 2) and run.target_ids.tolist() == ["0_1_0", "1_2_0"]
    np.testing.assert_allclose(run.responses[:, 0], bold[0, 1, 0])
    np.testing.assert_allclose(run.coords, [[0.0, 2.0, 0.0], [2.0, 4.0, 0.0]])
    assert run.space == "MNI152"
    (d / "nomask.csv").write_text("run_id,story,subject,tr,responses,events\nr,story,01,2,bold.nii.gz,story.TextGrid\n")
    with pytest.raises(DataError, match=r"bold\.nii\.gz is a NIfTI image: give a 'mask' column"):
        load_run_table(d / "nomask.csv")


HEADER = "run_id,story,subject,tr,responses,events,stim_onset,trim_start,trim_end\n"


@pytest.mark.parametrize(
    ("row", "match"),
    [
        ("r,story,01,2,resp/none.npy,story.TextGrid,4,0,0", r"row 1 responses file .*none\.npy does not exist; check the path"),
        ("r,story,01,2,resp/s1_story.npy,none.TextGrid,4,0,0", r"row 1 events file .*none\.TextGrid does not exist"),
        ("r,story,01,fast,resp/s1_story.npy,story.TextGrid,4,0,0", r"row 1 'tr' is 'fast', not a number"),
        ("r,story,01,2,resp/s1_story.npy,story.TextGrid,4,1.5,0", r"row 1 'trim_start' is 1\.5; give a whole number"),
        ("r,,01,2,resp/s1_story.npy,story.TextGrid,4,0,0", r"row 1 has no 'story'; fill it in"),
        ("r,story,01,2,runs.csv,story.TextGrid,4,0,0", r"runs\.csv: column 'run_id' is not numeric"),
        ("r,story,01,2,story.TextGrid,story.TextGrid,4,0,0", r"unknown responses format '\.textgrid'"),
        ("r,story,01,2,resp/s1_story.npy,resp/s1_story.npy,4,0,0", r"s1_story\.npy: unknown events format '\.npy'"),
        ("r,story,01,2,resp/s1_story.npy,resp/s2_story.csv,4,0,0", r"neither 'word, onset' .* has roiA, roiB"),
        ("r,story,01,2,resp/s1_story.npy,story.TextGrid,22,0,0", r"run r: 2 words end after the last volume"),
        ("r,story,01,2,resp/s1_story.npy,story.TextGrid,4,6,6", r"run r: trimming 6 \+ 6 of 12 volumes leaves nothing"),
    ],
)
def test_run_table_errors(tmp_path: Path, row: str, match: str) -> None:
    d = _run_folder(tmp_path)
    (d / "bad.csv").write_text(HEADER + row + "\n")
    with pytest.raises(DataError, match=match) as err:
        load_run_table(d / "bad.csv")
    assert "\n" not in str(err.value)


def test_run_table_structure_errors(tmp_path: Path) -> None:
    import h5py

    d = _run_folder(tmp_path)
    (d / "cols.csv").write_text("run_id,story,tr\nr,s,2\n")
    with pytest.raises(DataError, match=r"cols\.csv: missing column\(s\) subject, responses, events; has run_id, story, tr"):
        load_run_table(d / "cols.csv")
    with h5py.File(d / "two.h5", "w") as f:
        f.create_dataset("a", data=np.zeros((12, 2)))
        f.create_dataset("b", data=np.zeros((12, 2)))
    (d / "h5.csv").write_text(HEADER + "r,story,01,2,two.h5,story.TextGrid,4,0,0\n")
    with pytest.raises(DataError, match=r"two\.h5: no HDF5 dataset 'data' and 2 others \(a, b\); store the responses as 'data'"):
        load_run_table(d / "h5.csv")
    np.save(d / "strs.npy", np.array([["a"]]))
    (d / "strs.csv").write_text(HEADER + "r,story,01,2,strs.npy,story.TextGrid,0,0,0\n")
    with pytest.raises(DataError, match=r"strs\.npy: array of dtype <U1 shape \(1, 1\); expected numeric"):
        load_run_table(d / "strs.csv")
    with pytest.raises(DataError, match=r"run table .*missing\.csv does not exist"):
        load_run_table(d / "missing.csv")


# ---- Blank2014 as time series ----


def test_blank2014_timeseries(tmp_path: Path) -> None:
    path, values, rows = fab.blank_nc(tmp_path)
    ds = load_blank2014_timeseries(path)
    assert [r.run_id for r in ds.runs] == ["061/Aqua", "085/Aqua", "061/Boar", "085/Boar"]
    aqua = ds.runs[0]
    assert aqua.target_ids.tolist() == ["01_LH_PostTemp", "03_LH_IFG", "12_RH_AngG"]
    cols = [fab.BLANK_FROIS.index(f) for f in aqua.target_ids]  # subject 061's columns come first
    np.testing.assert_allclose(aqua.responses, values[:3][:, cols])
    assert (aqua.tr, aqua.stim_onset, aqua.trim_start, aqua.trim_end) == (2.0, 0.0, 0, 0)
    assert aqua.events.words == ("Once", "upon", "a", "time", "there", "was", "a", "fish.")
    np.testing.assert_allclose(aqua.events.offsets[[2, 4, 7]], [2.0, 4.0, 6.0])  # each TR's words end inside it
    boar = ds.runs[3]
    assert boar.n_volumes == 5 and ds.meta["filled_volumes"] == {"061/Boar": [2], "085/Boar": [2]}
    b = values[3:][:, [3 + c for c in cols]]  # 085's columns
    np.testing.assert_allclose(boar.responses[[0, 1, 3, 4]], b)
    np.testing.assert_allclose(boar.responses[2], (b[1] + b[2]) / 2)
    assert not ((boar.events.onsets >= 4.0) & (boar.events.onsets < 6.0)).any()  # the gap has no words


def test_blank2014_timeseries_selection_and_errors(tmp_path: Path) -> None:
    import xarray as xr

    path, _, _ = fab.blank_nc(tmp_path)
    ds = load_blank2014_timeseries(path, subjects=["085"], stories=["Aqua"])
    assert [r.run_id for r in ds.runs] == ["085/Aqua"]
    with pytest.raises(DataError, match=r"assy_Blank2014_fROI\.nc: no subject 099; available: 061, 085"):
        load_blank2014_timeseries(path, subjects=["099"])
    with pytest.raises(DataError, match=r"no story Roswell; available: Aqua, Boar"):
        load_blank2014_timeseries(path, stories=["Roswell"])
    with pytest.raises(DataError, match=r"story Boar has no TR between 8 s and 12 s \(1 missing in all\); pass fill_gaps=True"):
        load_blank2014_timeseries(path, fill_gaps=False)
    with pytest.raises(DataError, match=r"story Aqua timepoint_value is not on a 3\.0 s grid"):
        load_blank2014_timeseries(path, tr=3.0)
    with xr.open_dataset(path, engine="h5netcdf") as f:
        bare = f.load().drop_vars("timepoint_value")
    bare.to_netcdf(tmp_path / "bare.nc", engine="h5netcdf")
    with pytest.raises(DataError, match=r"bare\.nc: no timepoint_value coordinate; cannot place the TRs in time"):
        load_blank2014_timeseries(tmp_path / "bare.nc")


def test_blank2014_timeseries_default_path_goes_through_the_manifest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path, _, _ = fab.blank_nc(tmp_path)
    mirror = tmp_path / "mirror" / "brainscore_language"
    mirror.mkdir(parents=True)
    shutil.copy(path, mirror / path.name)
    monkeypatch.setenv("BRAINALIGN_DATA_MIRROR", str(tmp_path / "mirror"))
    monkeypatch.setenv("BRAINALIGN_HOME", str(tmp_path / "home"))
    with pytest.raises(DataError, match=r"data mirror copy of Blank2014/assy_Blank2014_fROI\.nc\) has sha1"):
        load_blank2014_timeseries()


# ---- Alice 2022 (mirror) ----


def _alice_copy(tmp_path: Path, data_mirror: Path) -> Path:
    mirror = tmp_path / "mirror"
    shutil.copytree(data_mirror / "alice2022", mirror / "alice2022")
    return mirror


def test_alice_needs_the_mirror(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BRAINALIGN_DATA_MIRROR", raising=False)
    with pytest.raises(DataError, match=r"set BRAINALIGN_DATA_MIRROR to a folder laid out like shared/data \(with alice2022/"):
        load_alice2022()
    (tmp_path / "alice2022").mkdir()
    with pytest.raises(DataError, match=r"alice2022 lacks timeseries_english\.csv, transcript_en\.csv; point"):
        load_alice2022(tmp_path)


@pytest.mark.realdata
def test_alice_checksum_mismatch(tmp_path: Path, data_mirror: Path) -> None:
    mirror = _alice_copy(tmp_path, data_mirror)
    path = mirror / "alice2022" / "transcript_en.csv"
    path.chmod(0o644)
    path.write_text(path.read_text().replace("witness", "witless"))
    with pytest.raises(DataError, match=r"transcript_en\.csv: sha256 [0-9a-f]{12}\.\.\. differs from the published "
                                        r"41563a395fc3\.\.\.; replace the file"):
        load_alice2022(mirror)


@pytest.mark.realdata
def test_alice2022_real_data(data_mirror: Path) -> None:
    ds = load_alice2022(data_mirror)
    assert [r.run_id for r in ds.runs] == ["492/alice", "502/alice"] and ds.stories() == ["alice"]
    for run in ds.runs:
        assert run.responses.shape == (142, 12) and run.target_ids.tolist() == list(FROIS)
        assert (run.tr, run.stim_onset, run.trim_start, run.trim_end) == (2.0, 12.0, 9, 3)
        assert run.responses[run.kept].shape[0] == 130
    events = ds.events_of("alice")
    assert len(events) == 739 and ds.meta["words_dropped_after_story_end"] == 0
    assert events.words[:4] == ("Call", "the", "first", "witness") and events.offsets.max() == pytest.approx(267.92)
    dropped = load_alice2022(data_mirror, late_words="drop")
    short = dropped.events_of("alice")
    assert len(short) == 723 and dropped.meta["words_dropped_after_story_end"] == 16 and short.offsets.max() <= 260.0
    lh = [list(FROIS).index(f) for f in LH_NETWORK]
    a, b = (r.responses[r.kept][:, lh].mean(axis=1) for r in ds.runs)
    assert round(float(np.corrcoef(a, b)[0, 1]), 3) == 0.153  # README: r = 0.153 over T_10..T_139
