"""The Algonauts 2025 loader on a fabricated release folder (the layout of algonauts_2025.competitors: per-subject
HDF5 of (n_volumes, 1000) parcels, Friends / Movie10 .mkv films and per-TR transcript TSVs), and its bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from brainalign.data.loaders.algonauts2025 import FMRI_FILES, TR, load_algonauts2025, stimulus_paths
from brainalign.errors import DataError
from brainalign.yaml_io import load_file

h5py = pytest.importorskip("h5py")
pytest.importorskip("av", reason="PyAV (pip install av) writes the test films")
from test_movies_media import write_video  # noqa: E402  (same folder; needs av)

MANIFEST = Path(__file__).resolve().parents[2] / "data_manifests" / "restricted" / "Algonauts2025.yaml"
N = 20  # volumes per run (29.8 s)
ROWS = {1: (["Hey", "there"], [1.0, 1.3], [0.2, 0.3]), 4: (["How", "you", "doing"], [5.0, 5.4, 5.6], [0.3, 0.2, 0.5]),
        19: (["bye"], [28.5, ], [0.5])}  # "bye" ends at 29.0 s: after sub-02's 19 volumes (28.31 s)


def _transcript(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["text_per_tr\twords_per_tr\tonsets_per_tr\tdurations_per_tr"]
    for i in range(N):
        if i in ROWS:
            w, on, du = ROWS[i]
            lines.append(f"{' '.join(w)}\t{w!r}\t{on!r}\t{du!r}")
        else:
            lines.append("\t[]\t[]\t[]" if i % 2 else "\t\t\t")
    path.write_text("\n".join(lines) + "\n")


def _h5(path: Path, runs: dict[str, int], seed: int) -> dict[str, np.ndarray]:
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    data = {k: rng.standard_normal((n, 1000)).astype(np.float32) for k, n in runs.items()}
    with h5py.File(path, "w") as f:
        for k, y in data.items():
            f[k] = y
    return data


def fabricate(root: Path, films: bool = True) -> dict[tuple[str, str], np.ndarray]:
    """sub-01: s01e01a, s01e01b, life01 twice; sub-02: s01e01a only, one volume shorter."""
    fmri = {}
    for sub, movie, runs in (("sub-01", "friends", {"ses-001_task-s01e01a": N, "ses-002_task-s01e01b": N}),
                             ("sub-01", "movie10", {"ses-010_task-life01_run-1": N, "ses-011_task-life01_run-2": N}),
                             ("sub-02", "friends", {"ses-003_task-s01e01a": N - 1})):
        path = root / "fmri" / sub / "func" / FMRI_FILES[movie].format(sub=sub)
        fmri.update({(sub, k): y for k, y in _h5(path, runs, seed=len(fmri)).items()})
    for movie, chunk in (("friends", "s01e01a"), ("friends", "s01e01b"), ("movie10", "life01")):
        video, tsv = stimulus_paths(root, movie, chunk)
        _transcript(tsv)
        if films:
            write_video(video, N * TR, audio=chunk != "life01")
    return fmri


def test_release_layout_loads_one_run_per_subject_and_dataset(tmp_path):
    fmri = fabricate(tmp_path)
    ds = load_algonauts2025(tmp_path)
    assert [r.run_id for r in ds.runs] == ["sub-01/ses-001_task-s01e01a", "sub-01/ses-002_task-s01e01b",
                                           "sub-01/ses-010_task-life01_run-1", "sub-01/ses-011_task-life01_run-2",
                                           "sub-02/ses-003_task-s01e01a"]
    assert ds.stories() == ["s01e01a", "s01e01b", "life01"] and ds.subjects() == ["sub-01", "sub-02"]
    run = ds.runs[0]
    assert (run.tr, run.stim_onset, run.trim_start, run.trim_end) == (1.49, 0.0, 5, 5)
    assert run.target_ids[0] == "parcel0001" and run.target_ids.size == 1000
    np.testing.assert_allclose(run.responses, fmri[("sub-01", "ses-001_task-s01e01a")])
    assert run.video == str(tmp_path / "stimuli/movies/friends/s1/friends_s01e01a.mkv") and run.audio == run.video
    life = ds.runs[2]
    assert life.video.endswith("stimuli/movies/movie10/life/life01.mkv") and life.audio is None  # no sound track
    # s01e01a: "bye" ends after sub-02's last volume, so neither run of the story keeps it; s01e01b keeps it
    assert ds.events_of("s01e01a").words == ("Hey", "there", "How", "you", "doing")
    assert ds.events_of("s01e01b").words[-1] == "bye" and ds.meta["words_dropped"] == {"s01e01a": 1}
    np.testing.assert_allclose(ds.events_of("s01e01b").offsets[:2], [1.2, 1.6])


def test_story_patterns_subjects_and_words_only(tmp_path):
    fabricate(tmp_path, films=False)
    ds = load_algonauts2025(tmp_path, stories=["s01e01*"], media=False)
    assert ds.stories() == ["s01e01a", "s01e01b"] and all(r.video is None and r.audio is None for r in ds.runs)
    ds = load_algonauts2025(tmp_path, subjects=["sub-02"], movies=("friends",), media=False)
    assert [r.run_id for r in ds.runs] == ["sub-02/ses-003_task-s01e01a"]
    ds = load_algonauts2025(tmp_path, stories=["s01e01b"], media=False)
    assert ds.meta["missing_runs"] == ["sub-02/s01e01b"]  # sub-02 has no fMRI of that chunk


def test_parcel_centroids_from_the_subject_atlas(tmp_path):
    nib = pytest.importorskip("nibabel")
    fabricate(tmp_path, films=False)
    labels = np.arange(1, 1001, dtype=np.int16).reshape(10, 10, 10)
    atlas = tmp_path / "fmri/sub-01/atlas/sub-01_space-MNI152NLin2009cAsym_atlas-Schaefer18_parcel-1000Par7Net_desc-dseg_parcellation.nii.gz"
    atlas.parent.mkdir(parents=True)
    nib.save(nib.Nifti1Image(labels, np.diag([2.0, 2.0, 2.0, 1.0])), str(atlas))
    ds = load_algonauts2025(tmp_path, media=False)
    run = ds.runs_of("sub-01")[0]
    assert run.space == "MNI152NLin2009cAsym" and run.coords.shape == (1000, 3)
    np.testing.assert_allclose(run.coords[1], [0.0, 0.0, 2.0])  # label 2 is voxel (0, 0, 1)
    assert ds.runs_of("sub-02")[0].coords is None  # no atlas fetched for sub-02


def test_missing_video_is_one_line(tmp_path):
    fabricate(tmp_path)
    (tmp_path / "stimuli/movies/friends/s1/friends_s01e01b.mkv").unlink()
    with pytest.raises(DataError, match=r"^run sub-01/ses-002_task-s01e01b: video .*friends_s01e01b.mkv does not "
                                        r"exist; datalad get it or load with media=False$"):
        load_algonauts2025(tmp_path)


def test_video_shorter_than_the_run(tmp_path):
    fabricate(tmp_path)
    write_video(tmp_path / "stimuli/movies/movie10/life/life01.mkv", 6.0)
    with pytest.raises(DataError, match=r"^run sub-01/ses-010_task-life01_run-1: video .*life01.mkv lasts 6.00 s but "
                                        r"the run's kept volumes reach story time 22.35 s"):
        load_algonauts2025(tmp_path)


def test_unreadable_files(tmp_path):
    fabricate(tmp_path, films=False)
    h5 = tmp_path / "fmri/sub-02/func" / FMRI_FILES["friends"].format(sub="sub-02")
    h5.write_bytes(b"not hdf5" * 64)
    with pytest.raises(DataError, match=r"^cannot read .*sub-02_task-friends.*\.h5 as HDF5"):
        load_algonauts2025(tmp_path, media=False)
    tsv = tmp_path / "stimuli/transcripts/friends/s1/friends_s01e01b.tsv"
    tsv.write_text("text_per_tr\twords_per_tr\tonsets_per_tr\tdurations_per_tr\nhi\t['hi']\t[1.0, 2.0]\t[0.1]\n")
    with pytest.raises(DataError, match=r"friends_s01e01b.tsv: row 1 has 1 words, 2 onsets and 1 durations"):
        load_algonauts2025(tmp_path, subjects=["sub-01"], media=False)
    tsv.unlink()
    with pytest.raises(DataError, match=r"^run sub-01/ses-002_task-s01e01b: transcript .*friends_s01e01b.tsv does not "
                                        r"exist"):
        load_algonauts2025(tmp_path, subjects=["sub-01"], media=False)


def test_hdf5_missing_a_key_or_the_wrong_shape(tmp_path):
    fabricate(tmp_path, films=False)
    with pytest.raises(DataError, match=r"^no fMRI dataset for s01e02a in .*sub-01_task-friends.*\.h5, .*; check the "
                                        r"chunk names"):
        load_algonauts2025(tmp_path, stories=["s01e01a", "s01e02a"], media=False)
    with pytest.raises(DataError, match=r"^sub-07: none of .* exists"):
        load_algonauts2025(tmp_path, subjects=["sub-07"], media=False)
    with h5py.File(tmp_path / "fmri/sub-02/func" / FMRI_FILES["friends"].format(sub="sub-02"), "a") as f:
        f["ses-009_task-s01e02a"] = np.zeros((5, 400), np.float32)
    with pytest.raises(DataError, match=r"sub-02_task-friends.*\.h5: ses-009_task-s01e02a has shape \(5, 400\), "
                                        r"expected \(n_volumes, 1000\)"):
        load_algonauts2025(tmp_path, media=False)


def test_manifest_states_the_facts_the_loader_uses():
    m = load_file(MANIFEST, "manifest")
    assert m["name"] == "Algonauts2025" and m["access"] == "agreement-required"
    assert m["tr_seconds"] == TR and m["n_parcels"] == 1000 and m["subjects"] == ["sub-01", "sub-02", "sub-03", "sub-05"]
    keys = " ".join(f["key"] for f in m["files"])
    assert FMRI_FILES["friends"].format(sub="sub-0X") in keys and FMRI_FILES["movie10"].format(sub="sub-0X") in keys
    assert m["sources"] and m["unverified"]


def test_score_runs_on_the_release_layout(tmp_path):
    """`brainalign score` with ``dataset.kind: algonauts2025``: story patterns, the word-rate baseline, one row per
    selected parcel; a kind-specific option on another kind is one line."""
    import pandas as pd
    import yaml
    from typer.testing import CliRunner

    from brainalign.cli import app

    fabricate(tmp_path / "release")
    cfg = {"task": "timeseries", "name": "friends", "baselines": ["word_rate"], "resample": {"method": "bin"},
           "dataset": {"kind": "algonauts2025", "root": str(tmp_path / "release"), "subjects": ["sub-01"],
                       "stories": ["s01e01*"], "movies": ["friends"]},
           "targets": {"select": ["parcel0001", "parcel0002", "parcel0003"]}, "encoder": {"inner_folds": 2},
           "stats": {"n_perm": 20, "n_boot": 20}, "block_seconds": 4.5}
    path = tmp_path / "cfg.yaml"
    path.write_text(yaml.safe_dump(cfg))
    res = CliRunner().invoke(app, ["score", "-c", str(path), "-o", str(tmp_path / "out"), "-q"])
    assert res.exit_code == 0, res.output
    scores = pd.read_parquet(tmp_path / "out" / "scores.parquet") if (tmp_path / "out" / "scores.parquet").exists() \
        else pd.read_csv(tmp_path / "out" / "scores.csv")
    assert sorted(scores["target"].unique()) == ["parcel0001", "parcel0002", "parcel0003"]
    assert set(scores["subject"]) == {"sub-01"} and scores["r"].notna().all()
    cfg["dataset"] = {"kind": "alice2022", "movies": ["friends"]}
    path.write_text(yaml.safe_dump(cfg))
    res = CliRunner().invoke(app, ["score", "-c", str(path), "-o", str(tmp_path / "bad"), "-q"])
    assert res.exit_code != 0 and "movies applies to kind algonauts2025 only" in res.output
    assert not (tmp_path / "bad").exists()
