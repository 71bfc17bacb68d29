"""Bad input for audio / video sources fails in prepare, in one line naming the run and file, and writes nothing:
a run without the file a model needs, a model listed under the wrong modality, unreadable / silent audio, a
video shorter than the run, a step longer than the TR, a frame rate the video does not have."""

from __future__ import annotations

import dataclasses

import media_tiny as mt
import numpy as np
import pytest

from brainalign.errors import ConfigError, DataError

TR = 1.0


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    """A 20 s film, a 5 s clip, a silent and an unreadable WAV."""
    import soundfile as sf

    from brainalign.data.simulate_film import write_film

    root = tmp_path_factory.mktemp("bad_media")
    film = write_film(root, "film", duration=20.0, seed=3)
    short = write_film(root, "short", duration=5.0, seed=4)
    sf.write(str(root / "silent.wav"), np.zeros(16000 * 20, dtype=np.float32), 16000)
    (root / "broken.wav").write_bytes(b"RIFF not really a wave file" * 40)
    return {"film": film, "short": short, "silent": root / "silent.wav", "broken": root / "broken.wav"}


@pytest.fixture
def entries(tmp_path):
    """Registered tiny entries (their folders are never loaded: every error comes before extraction)."""
    from brainalign.features.audio.registry import AUDIO
    from brainalign.features.video.registry import VIDEO

    a, v = mt.audio_entry(tmp_path / "w2v", name="bad-w2v"), mt.video_entry(tmp_path / "vmae", name="bad-vmae")
    AUDIO.register(a)
    VIDEO.register(v)
    yield a, v
    AUDIO.unregister(a.name)
    VIDEO.unregister(v.name)


def _dataset(media, **run_kw):
    from brainalign.data.timeseries import TimeSeriesDataset, TimeSeriesRun

    f = media["film"]
    runs = []
    for k in range(2):
        n = int((2 + f.duration) / TR)
        y = np.random.default_rng(k).standard_normal((n, 3))
        run = TimeSeriesRun(f"s1/rep{k}", f"story{k}", "s1", TR, y, ["a", "b", "c"], f.words, stim_onset=2.0,
                            audio=str(f.audio), video=str(f.video))
        runs.append(dataclasses.replace(run, **run_kw) if k == 1 else run)
    return TimeSeriesDataset("bad", runs)


def _cfg(**kw):
    from brainalign.config import TimeSeriesConfig

    base = {"dataset": {"kind": "runs", "path": "given.csv", "name": "bad"}, "random_init_controls": False,
            "baselines": [], "resample": {"method": "bin"}, "encoder": {"inner_folds": 2}}
    return TimeSeriesConfig.model_validate(base | kw)


def _fails(tmp_path, cfg, ds, exc, match):
    from brainalign.tasks.timeseries import run

    with pytest.raises(exc, match=match) as info:
        run(cfg, tmp_path / "out", progress=False, dataset=ds)
    assert "\n" not in str(info.value)
    assert not (tmp_path / "out").exists()
    return str(info.value)


def test_run_without_the_file_a_model_needs(tmp_path, media, entries):
    msg = _fails(tmp_path, _cfg(video_models=["bad-vmae"]), _dataset(media, video=None), DataError,
                 r"run s1/rep1 has no video file for video model bad-vmae")
    assert "video column" in msg
    _fails(tmp_path, _cfg(audio_models=["bad-w2v"]), _dataset(media, audio=None), DataError,
           r"run s1/rep1 has no audio file for audio model bad-w2v")


def test_model_under_the_wrong_modality(tmp_path, media, entries):
    ds = _dataset(media)
    _fails(tmp_path, _cfg(video_models=["bad-w2v"]), ds, ConfigError,
           r"video_models: 'bad-w2v' is in the audio registry.*list it under audio_models")
    _fails(tmp_path, _cfg(audio_models=["bad-vmae"]), ds, ConfigError,
           r"audio_models: 'bad-vmae' is in the video registry.*list it under video_models")
    _fails(tmp_path, _cfg(models=["bad-w2v"]), ds, ConfigError, r"models: 'bad-w2v' is in the audio registry")
    with pytest.raises(ValueError, match="both audio_models and video_models"):
        _cfg(audio_models=["x"], video_models=["x"])


def test_unreadable_and_silent_audio(tmp_path, media, entries):
    _fails(tmp_path, _cfg(audio_models=["bad-w2v"]), _dataset(media, audio=str(media["silent"])), DataError,
           r"run s1/rep1: .*silent\.wav is silent")
    _fails(tmp_path, _cfg(audio_models=["bad-w2v"]), _dataset(media, audio=str(media["broken"])), DataError,
           r"run s1/rep1: .*broken\.wav")


def test_video_shorter_than_the_run(tmp_path, media, entries):
    _fails(tmp_path, _cfg(video_models=["bad-vmae"]), _dataset(media, video=str(media["short"].video)), DataError,
           r"run s1/rep1: video .*short\.mp4 lasts 5\.00 s but the run's kept volumes reach")


def test_step_and_frame_rate_that_do_not_fit_the_tr(tmp_path, media, entries):
    ds = _dataset(media)
    _fails(tmp_path, _cfg(video_models=["bad-vmae"], media={"step_seconds": 2.0}), ds, ConfigError,
           r"run s1/rep0: media.step_seconds 2.0 is longer than the TR 1.0 s")
    # 4 frames per clip at 16 fps: the 8 fps film would repeat frames
    _fails(tmp_path, _cfg(video_models=["bad-vmae"], media={"fps": 16.0}), ds, DataError,
           r"run s1/rep0: video .*film\.mp4 has 8 frames/s but bad-vmae samples 16 \(frame rate mismatch\)")
    with pytest.raises(ValueError, match="less than one frame per step"):
        _cfg(video_models=["bad-vmae"], media={"fps": 0.5, "step_seconds": 1.0})


def test_score_cli_says_one_line(tmp_path, media, entries):
    """Through ``brainalign score`` on a run table: one line, exit code 1, no output folder."""
    import yaml
    from typer.testing import CliRunner

    from brainalign.cli.app import app
    from brainalign.data.simulate_film import write_run_table

    table = write_run_table(_dataset(media, video=None), tmp_path / "runs")
    cfg = {"task": "timeseries", "dataset": {"kind": "runs", "path": str(table)}, "video_models": ["bad-vmae"],
           "baselines": [], "random_init_controls": False, "encoder": {"inner_folds": 2}}
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(cfg))
    res = CliRunner().invoke(app, ["score", "-c", str(tmp_path / "c.yaml"), "-o", str(tmp_path / "out")])
    assert res.exit_code != 0
    lines = [ln for ln in res.output.strip().splitlines() if ln.strip()]
    assert len(lines) == 1 and "s1/rep1 has no video file" in lines[0], res.output
    assert not (tmp_path / "out").exists()
