"""The Alice data (real fMRI, data mirror) with synthetic speech of its transcript (espeak-ng, word by word, fitted
into each word's Whisper interval) as a run table, and scored end to end with a speech source (a tiny random
wav2vec 2.0). This tests the speech path, not the science: a robot voice says nothing about how the participants
heard the story."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from brainalign.data import speech_synthesis as speech
from brainalign.data.loaders.alice2022 import load_alice2022
from brainalign.data.loaders.timeseries_runs import load_run_table
from brainalign.data.timeseries.runs import check_media

sf = pytest.importorskip("soundfile")
pytestmark = [pytest.mark.realdata, pytest.mark.skipif(speech.espeak_version() is None,
                                                      reason="espeak-ng is not installed (apt-get install espeak-ng)")]
CONFIG = Path(__file__).resolve().parents[2] / "pipelines/configs/alice_speech.yaml"


@pytest.fixture(scope="module")
def mirror() -> Path:
    value = os.environ.get("BRAINALIGN_DATA_MIRROR")
    if not value or not (Path(value) / "alice2022").is_dir():
        pytest.skip("BRAINALIGN_DATA_MIRROR with alice2022/ is not set; point it at a copy of shared/data")
    return Path(value)


@pytest.fixture(scope="module")
def table(mirror, tmp_path_factory) -> Path:
    """The run table with the synthesized track, written once for the module (about 10 s of espeak-ng)."""
    return speech.speech_run_table(load_alice2022(mirror), tmp_path_factory.mktemp("alice") / "speech")


def test_word_energy_lies_inside_the_word_intervals(mirror, table):
    events = load_alice2022(mirror).events_of("alice")
    wav, rate = sf.read(str(table.parent / "alice.wav"), dtype="float64")
    info = sf.info(str(table.parent / "alice.wav"))
    assert rate == 16000 and wav.ndim == 1 and info.subtype == "PCM_16"
    assert wav.size / rate == pytest.approx(max(float(events.offsets.max()), (142 - 3) * 2.0 - 12.0), abs=1e-3)
    inside = np.zeros(wav.size, bool)
    for on, off in zip(events.onsets, events.offsets, strict=True):
        inside[int(round(on * rate)):int(round(off * rate))] = True
    energy = wav ** 2
    assert energy[~inside].sum() <= 1e-9 * energy.sum()  # silence between words
    loud = 10 ** (-40 / 20)  # -40 dBFS
    starts, voiced = [], 0
    for on, off in zip(events.onsets, events.offsets, strict=True):
        seg = wav[int(round(on * rate)):int(round(off * rate))]
        if seg.size and np.sqrt(np.mean(seg ** 2)) > loud / 4:
            voiced += 1
            starts.append(np.flatnonzero(np.abs(seg) > loud)[0] / rate)
    assert voiced >= 0.97 * len(events)  # nearly every word is heard in its own interval
    assert np.median(starts) < 0.02  # ... from its onset on
    meta = json.loads((table.parent / "alice.wav.json").read_text())
    assert meta["n_words"] == 739 and meta["n_spoken"] >= 730 and meta["key"]


def test_the_run_table_holds_the_alice_runs_and_its_track(mirror, table, monkeypatch):
    original = load_alice2022(mirror)
    ds = load_run_table(table)
    assert [r.run_id for r in ds.runs] == [r.run_id for r in original.runs]
    for got, ref in zip(ds.runs, original.runs, strict=True):
        np.testing.assert_array_equal(got.responses, ref.responses)
        assert list(got.target_ids) == list(ref.target_ids) and got.events.words == ref.events.words
        np.testing.assert_array_equal(got.events.offsets, ref.events.offsets)
        assert (got.tr, got.stim_onset, got.trim_start, got.trim_end) == (2.0, 12.0, 9, 3)
        assert got.audio == str(table.parent / "alice.wav")
        assert check_media(got)["audio"].duration == pytest.approx(267.92, abs=1e-3)  # not silent, long enough
    # same transcript, same settings: the track is reused, espeak-ng is not run again
    monkeypatch.setattr(speech, "speak_word", lambda *a, **k: pytest.fail("re-synthesized an unchanged track"))
    speech.speech_run_table(original, table.parent)
    assert sf.info(str(table.parent / "alice.wav")).frames == pytest.approx(267.92 * 16000, abs=1)


@pytest.mark.slow  # ~15 s alone: torch, a tiny wav2vec 2.0 on 268 s of audio, the within protocol
def test_alice_scored_end_to_end_with_a_speech_source(table, tmp_path):
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from media_tiny import audio_entry, build_wav2vec2
    from typer.testing import CliRunner

    from brainalign.cli import app
    from brainalign.features.audio.registry import register_audio_entry, unregister_audio_entry

    entry = audio_entry(build_wav2vec2(tmp_path / "w2v"), name="tiny-speech")
    register_audio_entry(entry)
    try:
        sets = [f"dataset.path={table}", "audio_models=[tiny-speech]", "stats={n_perm: 50, n_boot: 50, seed: 0}",
                "protocols=[within]", "random_init_controls=false", "hierarchy=null"]
        res = CliRunner().invoke(app, ["score", "-c", str(CONFIG), "-o", str(tmp_path / "out"), "-q",
                                       *[a for s in sets for a in ("--set", s)]])
    finally:
        unregister_audio_entry("tiny-speech")
    assert res.exit_code == 0, res.output
    summary = pd.read_csv(tmp_path / "out" / "summary.csv")
    audio = summary[summary["model"].astype(str).str.startswith("audio:tiny-speech")]
    assert len(audio) >= 5 and list(audio["layer_index"]) == list(range(len(audio)))  # every layer of the tiny model
    assert np.isfinite(audio["r_mean"]).all()
    assert {"baseline:word_rate", "baseline:audio_envelope"} <= set(summary["model"].astype(str))
