"""Issue 14 "done when": tiny random audio (wav2vec 2.0), video (VideoMAE) and text (GPT-2) models, built offline
from configs, scored through ``brainalign score`` on three synthetic films (real mp4 / wav / transcript files)
watched by a simulated subject whose "auditory" ROI follows audio layer 1, "visual" ROI video layer 1 and
"language" ROI the last text layer: the hierarchy recovers each planted (ROI, modality, depth) within one layer,
the instruct-vs-base pair is compared per ROI, and a re-run computes nothing."""

from __future__ import annotations

import json

import media_tiny as mt
import pandas as pd
import pytest
import yaml

PLANTED = {"auditory": ("audio", "audio:tiny-w2v", 1), "visual": ("video", "video:tiny-vmae", 1),
           "language": ("text", "tiny-gpt2-film", 4)}
TR = 1.0


@pytest.fixture(scope="module")
def film(tmp_path_factory):
    """``(run table, entries, films)`` with the planted subject written to disk; BRAINALIGN_HOME isolated."""
    from brainalign.data.simulate_film import RoiDrive, simulate_film_subject, write_film, write_run_table
    from brainalign.features.audio.extract import extract_audio_layers
    from brainalign.features.video.extract import extract_video_layers
    from brainalign.testing.tiny_models import build_tiny_model, registered, tiny_entry

    root = tmp_path_factory.mktemp("film")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("BRAINALIGN_HOME", str(root / "home"))
        mp.setenv("HF_HUB_OFFLINE", "1")
        mp.setenv("TRANSFORMERS_OFFLINE", "1")
        films = [write_film(root / "films", f"film{k}", duration=60.0, seed=k) for k in range(3)]
        audio = mt.audio_entry(mt.build_wav2vec2(root / "w2v"))
        # an "instruct" audio model with the first as its base: a second random model of the same kind
        instruct = mt.audio_entry(mt.build_wav2vec2(root / "w2v-instruct", seed=7), name="tiny-w2v-instruct",
                                  base="tiny-w2v", instruct=True)
        video = mt.video_entry(mt.build_videomae(root / "vmae"))
        text = tiny_entry("gpt2", build_tiny_model("gpt2", root / "gpt2", n_layers=4, max_positions=64),
                          name="tiny-gpt2-film")
        drives: dict[str, dict] = {roi: {} for roi in PLANTED}
        with registered(text):
            for f in films:
                fa = extract_audio_layers(audio, f.audio, device="cpu")
                fv = extract_video_layers(video, f.video, step_seconds=TR, device="cpu")
                words = mt.word_layers(text, f.words.words, f"film:{f.name}")
                drives["auditory"][f.name] = (fa.times, fa.get(PLANTED["auditory"][2]))
                drives["visual"][f.name] = (fv.times, fv.get(PLANTED["visual"][2]))
                drives["language"][f.name] = (f.words.offsets, words[PLANTED["language"][2]])
        rois = {"auditory": RoiDrive(drives["auditory"], label="audio layer 1"),
                "visual": RoiDrive(drives["visual"], label="video layer 1"),
                "language": RoiDrive(drives["language"], reduce="sum", label="text layer 4")}
        ds = simulate_film_subject(films, rois, tr=TR, snr=2.0, seed=0)
        table = write_run_table(ds, root / "runs")
        yield table, {"audio": [audio, instruct], "video": [video], "text": text}, films


def _config(path, table, **kw) -> None:
    cfg = {"task": "timeseries", "name": "film", "dataset": {"kind": "runs", "path": str(table), "name": "film"},
           "models": ["tiny-gpt2-film"], "audio_models": ["tiny-w2v", "tiny-w2v-instruct"],
           "video_models": ["tiny-vmae"], "random_init_controls": False, "baselines": ["word_rate"],
           "resample": {"method": "bin"}, "delays": [1, 2, 3, 4, 5, 6], "features": {"device": "cpu"},
           "targets": {"groups": {roi: [f"{roi}_{k}" for k in range(4)] for roi in PLANTED}},
           "encoder": {"alphas": [1, 10, 100, 1000, 10000], "inner_folds": 2},
           "stats": {"n_perm": 100, "n_boot": 200}, **kw}
    path.write_text(yaml.safe_dump(cfg))


@pytest.fixture
def registered_all(film):
    from brainalign.features.audio.registry import AUDIO
    from brainalign.features.video.registry import VIDEO
    from brainalign.testing.tiny_models import registered

    _, entries, _ = film
    for e in entries["audio"]:
        AUDIO.register(e)
    VIDEO.register(entries["video"][0])
    with registered(entries["text"]):
        yield entries
    for e in entries["audio"]:
        AUDIO.unregister(e.name)
    VIDEO.unregister(entries["video"][0].name)


def test_score_recovers_each_planted_roi_modality_and_depth(tmp_path, film, registered_all, monkeypatch):
    from typer.testing import CliRunner

    from brainalign.cli.app import app

    table, _, _ = film
    monkeypatch.setenv("BRAINALIGN_HOME", str(table.parent.parent / "home"))  # the fixture's feature cache
    _config(tmp_path / "film.yaml", table)
    out = tmp_path / "out"
    res = CliRunner().invoke(app, ["score", "-c", str(tmp_path / "film.yaml"), "-o", str(out), "-q"])
    assert res.exit_code == 0, res.output
    assert "layer hierarchy, within (bin resampling)" in res.output
    hier = pd.read_csv(out / "hierarchy.csv")
    print(hier[hier["roi_best"]][["roi", "model", "best_layer_index", "depth", "depth_ci_low", "depth_ci_high",
                                  "r_best"]].to_string())
    for roi, (modality, source, layer) in PLANTED.items():
        top = hier[(hier["roi"] == roi) & hier["roi_best"]]
        assert len(top) == 1, top
        row = top.iloc[0]
        assert row["modality"] == modality and row["model"] == source, (roi, row.to_dict())
        assert abs(int(row["best_layer_index"]) - layer) <= 1, (roi, row.to_dict())
        n = int(row["n_layers"])
        assert row["depth"] == pytest.approx(row["best_layer_index"] / (n - 1))
        assert row["depth_ci_low"] <= row["depth"] <= row["depth_ci_high"]
        assert row["r_ci_low"] > 0.2
    # early sensory vs late language: the planted ordering of depths comes out
    best = hier[hier["roi_best"]].set_index("roi")
    assert best.loc["language", "depth"] > max(best.loc["auditory", "depth"], best.loc["visual", "depth"])
    pairs = pd.read_csv(out / "instruct_vs_base.csv")
    assert set(pairs["roi"]) == set(PLANTED)
    assert (pairs["base"] == "audio:tiny-w2v").all() and (pairs["instruct"] == "audio:tiny-w2v-instruct").all()
    aud = pairs.set_index("roi").loc["auditory"]
    assert aud["diff"] < 0 and aud["ci_high"] < 0 and aud["q_fdr"] <= 0.05  # the base is the planted model
    assert pairs["q_fdr"].between(0, 1).all() and (pairs["q_fdr"] >= pairs["p_boot"] - 1e-12).all()
    from brainalign.tasks.timeseries.compare import is_timeseries_run, run_timeseries_compare

    assert is_timeseries_run(out)
    again_pairs = pd.read_csv(run_timeseries_compare(out)["pairs_by_roi.csv"])
    pd.testing.assert_frame_equal(again_pairs, pairs, check_dtype=False, atol=1e-6)
    for f in ("hierarchy.png", "hierarchy_draws.npz", "scores.csv", "summary.csv"):
        assert (out / f).is_file(), f
    report = json.loads((out / "data_report.json").read_text())
    assert all(r["video"].endswith(".mp4") and r["audio"].endswith(".wav") for r in report["runs"])
    again = CliRunner().invoke(app, ["score", "-c", str(tmp_path / "film.yaml"), "-o", str(out), "-q"])
    assert again.exit_code == 0 and "(0 jobs run, 5 reused)" in again.output, again.output


def test_media_jobs_are_keyed_by_file_content(tmp_path, film, registered_all):
    """Same file bytes under another path: same keys; changed bytes: new video keys, text keys unchanged."""
    import shutil

    from brainalign.config import TimeSeriesConfig
    from brainalign.tasks.timeseries import TimeSeriesTask

    table, _, films = film
    cfg = TimeSeriesConfig.model_validate({"dataset": {"kind": "runs", "path": str(table), "name": "film"},
                                           "models": ["tiny-gpt2-film"], "video_models": ["tiny-vmae"],
                                           "random_init_controls": False, "baselines": [],
                                           "resample": {"method": "bin"}})
    task = TimeSeriesTask()

    def keys(ds):
        from brainalign.tasks.timeseries.plan import plan_jobs

        return {j.label: j.digest for j in plan_jobs(cfg, "same-digest", ds)}

    ctx = task.prepare(cfg, progress=False)
    first = keys(ctx.dataset)
    moved = tmp_path / "copy.mp4"
    shutil.copy(films[0].video, moved)
    import dataclasses

    from brainalign.data.timeseries import TimeSeriesDataset

    ds2 = TimeSeriesDataset("film", [dataclasses.replace(r, video=str(moved)) if r.story == "film0" else r
                                     for r in ctx.dataset.runs])
    assert keys(ds2) == first
    with open(moved, "ab") as f:
        f.write(b"\0" * 16)
    changed = keys(ds2)
    assert changed["video:tiny-vmae__bin"] != first["video:tiny-vmae__bin"]
    assert changed["tiny-gpt2-film__bin"] == first["tiny-gpt2-film__bin"]
