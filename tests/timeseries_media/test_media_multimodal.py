"""Issue 14 "done when", multimodal part: a tiny random audio LLM (Qwen2-Audio: Whisper-like audio encoder +
Qwen2 language model reading the audio tokens), built offline from a config and saved like a hub folder, scored
through ``brainalign score`` on three synthetic films next to a tiny wav2vec 2.0. The simulated subject's
"auditory" ROI follows wav2vec 2.0 layer 1 and its "audio_lm" ROI the Qwen2-Audio language-model layer ``lm.L2``:
the hierarchy picks each ROI's planted source and recovers the planted layer within one layer."""

from __future__ import annotations

import film_models as fm
import numpy as np
import pandas as pd
import pytest
import yaml

from brainalign.features.audio.audio_llm import qwen2_audio_supported

pytestmark = pytest.mark.skipif(not qwen2_audio_supported(), reason="transformers without Qwen2-Audio")

# Qwen2-Audio layers: audio.emb, audio.L1, audio.L2, lm.emb, lm.L1, lm.L2, lm.L3, lm.L4 (index 0..7)
LM_L2 = 5
PLANTED = {"auditory": ("audio:tiny-w2v", 1), "audio_lm": ("audio:tiny-qwen2-audio", LM_L2)}


@pytest.fixture(scope="module")
def film(tmp_path_factory):
    """``(planted film, entries)``; the models' feature cache lives in the fixture's BRAINALIGN_HOME."""
    root = tmp_path_factory.mktemp("mmfilm")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("BRAINALIGN_HOME", str(root / "home"))
        mp.setenv("HF_HUB_OFFLINE", "1")
        mp.setenv("TRANSFORMERS_OFFLINE", "1")
        w2v = fm.audio_entry(fm.build_wav2vec2(root / "w2v"))
        qwen = fm.qwen2_audio_entry(fm.build_qwen2_audio(root / "qwen2audio"))
        planted = fm.plant_film(root, {"auditory": (w2v, PLANTED["auditory"][1]),
                                       "audio_lm": (qwen, PLANTED["audio_lm"][1])})
        yield planted, [w2v, qwen], root / "home"


@pytest.fixture
def registered(film):
    from brainalign.features.audio.registry import AUDIO

    _, entries, _ = film
    for e in entries:
        AUDIO.register(e)
    yield entries
    for e in entries:
        AUDIO.unregister(e.name)


def test_score_recovers_the_audio_llm_roi_source_and_layer(tmp_path, film, registered, monkeypatch):
    from typer.testing import CliRunner

    from brainalign.cli.app import app

    planted, _, home = film
    monkeypatch.setenv("BRAINALIGN_HOME", str(home))  # the fixture's feature cache: features are not recomputed
    cfg = {"task": "timeseries", "name": "mmfilm", "dataset": {"kind": "runs", "path": str(planted.table),
                                                               "name": "mmfilm"},
           "audio_models": ["tiny-w2v", "tiny-qwen2-audio"], "random_init_controls": False, "baselines": [],
           "resample": {"method": "bin"}, "delays": [1, 2, 3, 4, 5, 6], "features": {"device": "cpu"},
           "targets": {"groups": {roi: [f"{roi}_{k}" for k in range(4)] for roi in PLANTED}},
           "encoder": {"alphas": [1, 10, 100, 1000, 10000], "inner_folds": 2},
           "stats": {"n_perm": 50, "n_boot": 200}}
    (tmp_path / "mm.yaml").write_text(yaml.safe_dump(cfg))
    out = tmp_path / "out"
    res = CliRunner().invoke(app, ["score", "-c", str(tmp_path / "mm.yaml"), "-o", str(out), "-q"])
    assert res.exit_code == 0, res.output
    hier = pd.read_csv(out / "hierarchy.csv")
    print(hier[["roi", "model", "best_layer", "best_layer_index", "depth", "depth_ci_low", "depth_ci_high",
                "best_share", "r_best", "roi_best"]].to_string())
    qwen = hier[hier["model"] == "audio:tiny-qwen2-audio"]
    assert set(qwen["n_layers"]) == {8}  # audio.emb, audio.L1-2, lm.emb, lm.L1-4: the LM layers are scored too
    for roi, (source, layer) in PLANTED.items():
        top = hier[(hier["roi"] == roi) & hier["roi_best"]]
        assert len(top) == 1, top
        row = top.iloc[0]
        assert row["model"] == source and row["modality"] == "audio", (roi, row.to_dict())
        assert abs(int(row["best_layer_index"]) - layer) <= 1, (roi, row.to_dict())
        assert row["depth"] == pytest.approx(row["best_layer_index"] / (int(row["n_layers"]) - 1))
        assert row["depth_ci_low"] <= row["depth"] <= row["depth_ci_high"]
        # the block-bootstrap argmax stays within one layer of the peak: with initializer_range 0.02 the LM layers
        # are one (CKA 1.0) and this CI spans lm.emb..lm.L4 (0.43..1.0, best_share 0.69), though the peak lands
        assert row["depth_ci_high"] - row["depth_ci_low"] <= 2 / (int(row["n_layers"]) - 1) + 1e-9, row.to_dict()
        assert row["best_share"] >= 0.8, row.to_dict()
        assert row["r_ci_low"] > 0.2
    lm_row = hier[(hier["roi"] == "audio_lm") & hier["roi_best"]].iloc[0]
    assert str(lm_row["best_layer"]).startswith("lm.L"), lm_row.to_dict()  # a language-model layer, not the encoder
    # the other ROI's source explains less of it: the audio LLM ROI is not a generic audio response
    w2v_on_lm = hier[(hier["roi"] == "audio_lm") & (hier["model"] == "audio:tiny-w2v")].iloc[0]
    assert w2v_on_lm["r_best"] < lm_row["r_best"] - 0.1
    assert (out / "hierarchy.png").is_file()


def test_media_transcript_reaches_the_audio_llm_only(film, registered):
    """``media.transcript: true``: the audio LLM's key and LM layers change with the run's words; wav2vec 2.0 (no
    text input) keeps its key."""
    from brainalign.config import TimeSeriesConfig
    from brainalign.tasks.timeseries.data import load
    from brainalign.tasks.timeseries.media import extract, media_key, parse_source

    planted, _, _ = film
    base = {"task": "timeseries", "dataset": {"kind": "runs", "path": str(planted.table), "name": "mmfilm"},
            "audio_models": ["tiny-w2v", "tiny-qwen2-audio"], "baselines": [], "features": {"device": "cpu"}}
    plain = TimeSeriesConfig.model_validate(base)
    read = TimeSeriesConfig.model_validate({**base, "media": {"transcript": True}})
    ds = load(plain.dataset)
    qwen, w2v = parse_source("audio:tiny-qwen2-audio"), parse_source("audio:tiny-w2v")
    assert media_key(plain, w2v, False, ds) == media_key(read, w2v, False, ds)
    assert media_key(plain, qwen, False, ds) != media_key(read, qwen, False, ds)
    run = ds.runs[0]
    a, b = extract(plain, qwen, False, run, False), extract(read, qwen, False, run, False)
    names = a.layer_names
    assert not np.allclose(a.get(names.index("lm.L2")), b.get(names.index("lm.L2")))
    np.testing.assert_allclose(a.get(names.index("audio.L1")), b.get(names.index("audio.L1")), atol=1e-5)
