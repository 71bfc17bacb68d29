"""The hierarchy on the brain: per-target best-layer depth (``hierarchy_targets.csv``) and ``hierarchy_map.png``.

End to end: a fabricated run table of 4-D NIfTI runs with a mask in MNI152 space (sform code 4), whose posterior
voxels follow layer 1 and anterior voxels layer 4 of a tiny random GPT-2, scored through ``brainalign score``; the
per-target table carries each voxel's mm coordinates and recovers its region's planted depth."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml
from film_models import build_gpt2

from brainalign.data.timeseries import TimeSeriesRun, WordEvents
from brainalign.tasks.timeseries.hierarchy_map import (
    DEPTH_FLOOR,
    TARGET_COLUMNS,
    TargetCoords,
    depth_volume,
    plot_glass_depths,
    plot_hierarchy_map,
    splat_radius,
    target_coordinates,
    target_depths,
)

VOCAB = ["the", "cat", "sat", "on", "a", "mat", "while", "dogs", "ran", "far", "away", "and", "birds", "sang",
         "songs", "of", "rain", "over", "green", "hills", "near", "old", "towns", "where", "people", "walked"]
AFFINE = np.array([[4.0, 0, 0, -8.0], [0, 4.0, 0, -72.0], [0, 0, 4.0, 8.0], [0, 0, 0, 1]])
EARLY, LATE, N_PER = 1, 4, 8  # planted GPT-2 layers (hidden states 0..4) and voxels per region


def _events(n_stories: int = 4, n_words: int = 150, seed: int = 0) -> dict[str, WordEvents]:
    rng = np.random.default_rng(seed)
    out = {}
    for s in range(n_stories):
        on = np.cumsum(rng.uniform(0.2, 0.9, n_words))
        out[f"story{s}"] = WordEvents([VOCAB[i] for i in rng.integers(0, len(VOCAB), n_words)], on, on + 0.15,
                                      f"story{s}")
    return out


def _mask_voxels() -> np.ndarray:
    """``(16, 3)`` voxel indices: 8 posterior (j = 1, 2) then 8 anterior (j = 12, 13), i = 0..3 at k = 2."""
    post = [(i, j, 2) for j in (1, 2) for i in range(4)]
    ant = [(i, j, 2) for j in (12, 13) for i in range(4)]
    return np.array(post + ant)


@pytest.fixture(scope="module")
def nifti_table(tmp_path_factory):
    """``(run table, text entry, voxel mm coords (16, 3))``: NIfTI runs in MNI152 with a mask."""
    import nibabel as nib

    from brainalign.data.simulate_timeseries import simulate_timeseries_subject
    from brainalign.data.stimuli import StimulusSet
    from brainalign.features.extract import extract_layers
    from brainalign.testing.tiny_models import registered, tiny_entry

    root = tmp_path_factory.mktemp("nifti_runs")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("BRAINALIGN_HOME", str(root / "home"))
        mp.setenv("HF_HUB_OFFLINE", "1")
        mp.setenv("TRANSFORMERS_OFFLINE", "1")
        entry = tiny_entry("gpt2", build_gpt2(root / "gpt2"),
                           name="tiny-gpt2-map")
        events = _events()
        layers = {}
        with registered(entry):
            for story, ev in events.items():
                stim = StimulusSet(f"map:{story}", list(ev.words), np.zeros(len(ev), dtype=int), unit="word")
                feats = extract_layers(entry, stim, progress=False, device="cpu")
                layers[story] = [feats.get(i) for i in range(feats.n_layers)]
        early, late = (simulate_timeseries_subject(layers, events, planted_layer=p, n_targets=N_PER, tr=2.0, snr=1.5,
                                                   ar1=0.5, seed=s) for p, s in ((EARLY, 1), (LATE, 2)))
        ijk = _mask_voxels()
        mask = np.zeros((4, 16, 4), np.uint8)
        mask[tuple(ijk.T)] = 1
        mimg = nib.Nifti1Image(mask, AFFINE)
        mimg.header.set_sform(AFFINE, code=4)
        nib.save(mimg, root / "mask.nii.gz")
        rows = ["run_id\tstory\tsubject\ttr\tresponses\tevents\tstim_onset\tmask"]
        for re, rl in zip(early.runs, late.runs, strict=True):
            y = np.column_stack([re.responses, rl.responses])  # (n_vol, 16) in _mask_voxels order
            vol = np.zeros((*mask.shape, len(y)), np.float32)
            vol[tuple(ijk.T)] = y.T
            img = nib.Nifti1Image(vol, AFFINE)
            img.header.set_sform(AFFINE, code=4)
            nib.save(img, root / f"{re.story}_bold.nii.gz")
            pd.DataFrame({"word": re.events.words, "onset": re.events.onsets, "offset": re.events.offsets}).to_csv(
                root / f"{re.story}_words.csv", index=False)
            rows.append(f"sim01/{re.story}\t{re.story}\tsim01\t2\t{re.story}_bold.nii.gz\t{re.story}_words.csv\t"
                        f"{re.stim_onset}\tmask.nii.gz")
        (root / "runs.tsv").write_text("\n".join(rows) + "\n")
        xyz = ijk @ AFFINE[:3, :3].T + AFFINE[:3, 3]
        yield root / "runs.tsv", entry, xyz, root / "home"


def test_score_writes_per_target_depths_and_map_for_mni_voxels(tmp_path, nifti_table, monkeypatch):
    from typer.testing import CliRunner

    from brainalign.cli.app import app
    from brainalign.testing.tiny_models import registered

    table, entry, xyz, home = nifti_table
    monkeypatch.setenv("BRAINALIGN_HOME", str(home))
    cfg = {"task": "timeseries", "name": "map", "dataset": {"kind": "runs", "path": str(table), "name": "map"},
           "models": ["tiny-gpt2-map"], "random_init_controls": False, "baselines": ["word_rate"],
           "resample": {"method": "bin"}, "protocols": ["within"], "cv": {"kind": "leave_one_group_out"},
           "encoder": {"alphas": [1, 10, 100, 1000, 10000], "inner_folds": 3}, "features": {"device": "cpu"},
           "stats": {"n_perm": 20, "n_boot": 50}, "block_seconds": 20}
    (tmp_path / "map.yaml").write_text(yaml.safe_dump(cfg))
    out = tmp_path / "out"
    with registered(entry):
        res = CliRunner().invoke(app, ["score", "-c", str(tmp_path / "map.yaml"), "-o", str(out), "-q"])
    assert res.exit_code == 0, res.output
    t = pd.read_csv(out / "hierarchy_targets.csv")
    print(t.to_string())
    assert list(t.columns) == TARGET_COLUMNS
    assert set(t["model"]) == {"tiny-gpt2-map"} and len(t) == 2 * N_PER  # no baseline rows
    assert (t["space"] == "MNI152").all() and (t["n_layers"] == 5).all()
    ids = t["target"].str.split("_", expand=True).astype(int).to_numpy()
    np.testing.assert_allclose(t[["x", "y", "z"]].to_numpy(), ids @ AFFINE[:3, :3].T + AFFINE[:3, 3])
    assert sorted(map(tuple, t[["x", "y", "z"]].to_numpy())) == sorted(map(tuple, xyz))
    np.testing.assert_allclose(t["depth"], t["best_layer_index"] / 4)
    posterior = t["y"] < -40
    early, late = t[posterior], t[~posterior]
    assert (abs(early["best_layer_index"] - EARLY) <= 1).mean() >= 0.75, early
    assert (abs(late["best_layer_index"] - LATE) <= 1).mean() >= 0.75, late
    assert late["depth"].mean() - early["depth"].mean() > 0.4
    scores = pd.read_csv(out / "scores.csv")
    best_r = (scores[scores["model"] == "tiny-gpt2-map"].groupby(["target", "layer_index"])["r"].mean()
              .groupby("target").max())
    np.testing.assert_allclose(t.set_index("target")["r_best"].sort_index(), best_r.sort_index())
    png = out / "hierarchy_map.png"
    assert png.is_file() and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def _run(ids, coords, space, story="s"):
    ev = WordEvents(["a"], np.array([0.0]), np.array([0.1]), story)
    return TimeSeriesRun(f"sub/{story}", story, "sub", 1.0, np.zeros((4, len(ids))), np.asarray(ids), ev,
                         coords=None if coords is None else np.asarray(coords, float), space=space)


def test_target_coordinates_first_run_wins_and_other_spaces_are_left_out():
    runs = [_run(["a", "b"], [[0, 0, 0], [1, 2, 3]], "MNI152", "s1"),
            _run(["b", "c"], [[9, 9, 9], [4, 5, 6]], "MNI152", "s2"),
            _run(["d"], [[7, 7, 7]], "scanner", "s3")]
    tc = target_coordinates(runs)
    assert tc is not None and tc.space == "MNI152" and tc.is_mni
    assert tc.ids.tolist() == ["a", "b", "c"]
    np.testing.assert_allclose(tc.xyz, [[0, 0, 0], [1, 2, 3], [4, 5, 6]])
    assert target_coordinates([_run(["a"], None, None)]) is None  # CSV / npy runs: no map


def _scores() -> pd.DataFrame:
    """Two units x 3 layers x 2 targets of a model (peaks: t0 at layer 0, t1 at layer 2) and a baseline."""
    rows = []
    r = {("t0", 0): 0.5, ("t0", 1): 0.2, ("t0", 2): 0.1, ("t1", 0): 0.1, ("t1", 1): 0.3, ("t1", 2): 0.4}
    for unit, shift in (("u1", 0.0), ("u2", 0.02)):
        for (target, li), v in r.items():
            rows.append({"protocol": "within", "model": "m", "random_init": False, "resample": "bin",
                         "layer": f"L{li}", "layer_index": li, "depth_frac": li / 2, "kind": "model",
                         "unit": unit, "target": target, "r": v + shift})
        rows.append({"protocol": "within", "model": "baseline:word_rate", "random_init": False, "resample": "bin",
                     "layer": "baseline", "layer_index": 0, "depth_frac": 0.0, "kind": "baseline", "unit": unit,
                     "target": "t0", "r": 0.9})
    return pd.DataFrame(rows)


def test_target_depths_argmax_of_the_unit_mean():
    coords = TargetCoords(np.array(["t0", "t1", "t9"]), np.array([[0.0, 0, 0], [10, 0, 0], [5, 5, 5]]), "subject")
    t = target_depths(_scores(), coords).set_index("target")
    assert list(t.index) == ["t0", "t1"] and set(t["model"]) == {"m"}
    assert t.loc["t0", "best_layer"] == "L0" and t.loc["t0", "depth"] == 0.0
    assert t.loc["t1", "best_layer_index"] == 2 and t.loc["t1", "depth"] == 1.0
    assert t.loc["t1", "r_best"] == pytest.approx(0.41) and t.loc["t1", "x"] == 10.0
    assert (t["n_layers"] == 3).all() and (t["space"] == "subject").all()
    none = target_depths(_scores(), TargetCoords(np.array(["zz"]), np.zeros((1, 3)), "MNI152"))
    assert none.empty and list(none.columns) == TARGET_COLUMNS


def test_depth_volume_splats_each_target_and_keeps_depth_zero_visible():
    import nibabel as nib

    template = nib.Nifti1Image(np.zeros((20, 20, 20), np.float32), np.diag([2.0, 2.0, 2.0, 1.0]))
    xyz = np.array([[10.0, 10.0, 10.0], [30.0, 10.0, 10.0]])
    assert splat_radius(xyz) == pytest.approx(6.0)  # half of 20 mm, capped at 6
    img = depth_volume(xyz, np.array([0.0, 0.75]), template, radius=3.0)
    data = np.asarray(img.dataobj)
    assert data[5, 5, 5] == pytest.approx(DEPTH_FLOOR) and data[15, 5, 5] == pytest.approx(0.75)
    assert data[6, 5, 5] == pytest.approx(DEPTH_FLOOR) and data[7, 5, 5] == 0.0  # 2 mm in, 4 mm out
    assert (data > 0).sum() == 2 * 19  # per target: the centre, 6 face (2 mm) and 12 edge (2.8 mm) neighbours
    tiny = np.asarray(depth_volume(xyz, np.array([0.5, 0.5]), template, radius=0.1).dataobj)
    assert (tiny > 0).sum() == 2  # a radius below the voxel size still fills the nearest voxel


def _table(space: str) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    xyz = rng.uniform(-60, 60, (30, 3))
    return pd.DataFrame({"protocol": "within", "resample": "bin", "target": [f"t{i}" for i in range(30)],
                         "x": xyz[:, 0], "y": xyz[:, 1], "z": xyz[:, 2], "space": space, "model": "m",
                         "modality": "text", "random_init": False, "n_layers": 5, "best_layer": "L1",
                         "best_layer_index": 1, "depth": rng.uniform(0, 1, 30), "r_best": 0.3})[TARGET_COLUMNS]


def test_map_draws_mni_slices_or_the_glass_scatter(tmp_path):
    import matplotlib.pyplot as plt

    mni = plot_hierarchy_map(_table("MNI152NLin2009cAsym"), "MNI152NLin2009cAsym", tmp_path / "mni.png")
    glass = plot_hierarchy_map(_table("scanner"), "scanner", tmp_path / "glass.png")
    direct = plot_glass_depths(_table("scanner"), "scanner", tmp_path / "direct.png")
    a, b, c = (plt.imread(str(p)) for p in (mni, glass, direct))
    assert b.shape == c.shape and np.allclose(b, c)  # a non-MNI space is the glass scatter
    assert a.shape != b.shape  # MNI: the template slices of brain_maps.plot_mni_map


def test_map_falls_back_to_the_glass_scatter_without_the_template(tmp_path, monkeypatch):
    import matplotlib.pyplot as plt
    from nilearn import datasets

    def missing(*_a, **_k):
        raise OSError("template file missing")

    monkeypatch.setattr(datasets, "load_mni152_template", missing)
    fallback = plot_hierarchy_map(_table("MNI152"), "MNI152", tmp_path / "fb.png")
    glass = plot_glass_depths(_table("MNI152"), "MNI152", tmp_path / "glass.png")
    assert np.allclose(plt.imread(str(fallback)), plt.imread(str(glass)))
