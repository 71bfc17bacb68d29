"""`brainalign reconstruct` end to end on tiny models: decoders, retrieval, a tiny unCLIP generator, grid, resume."""

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from brainalign.cli import app
from brainalign.config import load_reconstruct_config
from brainalign.errors import ConfigError


@pytest.fixture(autouse=True)
def _one_thread(isolated_home):
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _labels(uids):
    """``label`` of decoder jobs, ``label/generated`` and ``label/scores`` of the jobs that follow them."""
    return sorted("/".join(u.split("__")[:-1]) for u in uids)


def test_reconstruct_end_to_end_and_resume(tmp_path, reconstruct_config):
    from brainalign.tasks import reconstruct

    cfg = load_reconstruct_config(reconstruct_config(tmp_path))
    out = tmp_path / "run"
    run = reconstruct.run(cfg, out, progress=False)
    assert _labels(run.jobs_run) == ["mlp", "mlp/generated", "mlp/scores", "ridge", "ridge/generated", "ridge/scores"]
    ret = pd.read_csv(out / "retrieval.csv")
    for col in ("decoder", "direction", "top1", "ci_low", "ci_high", "n_candidates"):
        assert col in ret
    assert set(ret["decoder"]) == {"ridge", "mlp"} and set(ret["direction"]) == {"image", "brain"}
    assert (ret["n_candidates"] == 20).all() and (ret["ci_low"] <= ret["top1"]).all()
    ridge = ret[(ret.decoder == "ridge") & (ret.direction == "image")].iloc[0]
    assert ridge["top1"] > 3 * ridge["chance"], ridge  # high-SNR subject: far above chance
    m = pd.read_csv(out / "metrics.csv")
    assert {"decoder", "metric", "value", "average_repeats", "n_test"} <= set(m.columns)
    metrics = set(zip(m.decoder, m.metric, strict=True))
    for dec in ("ridge", "mlp"):
        assert (dec, "fit_seconds") in metrics
        for kind in ("retrieved", "generated"):
            assert (f"{dec} ({kind})", "pixcorr") in metrics and (f"{dec} ({kind})", "ssim") in metrics
            assert (f"{dec} ({kind})", "two_way[tiny layer1]") in metrics
    assert ("true embedding", "reencode_r[last repeat]") in metrics and ("ridge", "reencode_r[last repeat]") in metrics
    gen_imgs = np.load(out / "reconstructions" / "ridge_generated.npy")
    assert gen_imgs.shape[0] == 3 and gen_imgs.dtype == np.uint8 and gen_imgs.shape[-1] == 3
    assert (out / "reconstructions.png").stat().st_size > 1000
    assert (out / "decoded" / "ridge_target.npy").is_file() and (out / "decoded" / "mlp_retrieval.npy").is_file()
    mlp_uid = next(u for u in run.jobs_run if u.startswith("mlp__") and "generated" not in u)
    assert (out / "decoders" / mlp_uid / "model.safetensors").is_file()  # the run folder is keyed by the job
    per = pd.read_csv(out / "per_image.csv")
    assert len(per) == 2 * 40 and "retrieved_id" in per
    # resume: nothing is refitted or regenerated, numbers identical
    again = reconstruct.run(cfg, out, progress=False)
    assert again.jobs_run == [] and len(again.jobs_reused) == 6
    pd.testing.assert_frame_equal(again.retrieval, run.retrieval)
    pd.testing.assert_frame_equal(again.metrics, run.metrics)
    from brainalign.reports.html import write_report

    html = write_report(out).read_text()
    assert "Retrieval" in html and "Metrics" in html and "data:image/png;base64" in html
    # a changed protocol is never answered from the old outputs: both decoders are refitted
    changed = load_reconstruct_config(reconstruct_config(tmp_path), ["train_on=means", "reconstruction=retrieve"])
    third = reconstruct.run(changed, out, progress=False)
    assert _labels(third.jobs_run) == ["mlp", "mlp/scores", "ridge", "ridge/scores"]
    assert (third.metrics["train_on"] == "means").all()


def test_reconstruct_errors(tmp_path, reconstruct_config, tiny_models):
    vis, gen, dim = tiny_models
    runner = CliRunner()
    cfg = reconstruct_config(tmp_path)
    res = runner.invoke(app, ["reconstruct", "-c", str(cfg), "-o", str(tmp_path / "o1"), "-q",
                              "--set", "retrieval.n_candidates=300"])
    assert res.exit_code == 2 and "cannot fill 300-way retrieval" in res.output
    assert not (tmp_path / "o1").exists()  # validated before anything is written
    # the generator takes `dim`-d embeddings; decoding into layer1 (fewer channels) must fail before any job
    res = runner.invoke(app, ["reconstruct", "-c", str(cfg), "-o", str(tmp_path / "o2"), "-q",
                              "--set", "target.layer=layer1", "--set", "decoders=[{kind: ridge}]"])
    assert res.exit_code == 2 and f"expects {dim}" in res.output, res.output
    assert not (tmp_path / "o2").exists()
    for override, message in [("target.model=nope", "nope"), ("target.layer=nolayer", "no layer"),
                              ("generator.name=nogen", "nogen"), ("--executor=nowhere", "unknown executor")]:
        args = ["--executor", "nowhere"] if override.startswith("--") else ["--set", override]
        res = runner.invoke(app, ["reconstruct", "-c", str(cfg), "-o", str(tmp_path / "o3"), "-q", *args])
        assert res.exit_code == 2 and message in res.output and len(res.output.strip().splitlines()) == 1, res.output
        assert not (tmp_path / "o3").exists()
    with pytest.raises(ConfigError, match="needs a generator"):
        load_reconstruct_config(cfg, ["generator=null"])
    with pytest.raises(ConfigError, match="unique"):
        load_reconstruct_config(cfg, ["decoders=[{kind: ridge}, {kind: ridge}]"])
    with pytest.raises(ConfigError, match="holdout"):
        load_reconstruct_config(cfg, ["cv.kind=grouped"])


def test_train_decoder_then_reconstruct_from_checkpoint(tmp_path, reconstruct_config):
    runner = CliRunner()
    cfg = reconstruct_config(tmp_path, reconstruction="retrieve", feature_metrics=[])
    ck = tmp_path / "mlp_run"
    res = runner.invoke(app, ["train-decoder", "-c", str(cfg), "-d", "mlp", "-o", str(ck)])
    assert res.exit_code == 0, res.output
    assert (ck / "model.safetensors").is_file() and (ck / "config.json").is_file() and (ck / "job.json").is_file()
    res = runner.invoke(app, ["train-decoder", "-c", str(cfg), "-d", "ridge", "-o", str(tmp_path / "r")])
    assert res.exit_code == 2 and "trains mindeye decoders" in res.output
    # the run folder belongs to its job: another config of the same decoder is refused, never resumed
    res = runner.invoke(app, ["train-decoder", "-c", str(cfg), "-d", "mlp", "-o", str(ck), "--set", "cv.seed=5"])
    assert res.exit_code == 2 and "another decoder job" in res.output, res.output
    res = runner.invoke(app, ["reconstruct", "-c", str(cfg), "-o", str(tmp_path / "rec"), "-q",
                              "--set", f"decoders=[{{kind: mindeye, name: mlp, checkpoint: {ck}}}]"])
    assert res.exit_code == 0, res.output
    assert not (tmp_path / "rec" / "decoders").exists()  # loaded, not trained
    ret = pd.read_csv(tmp_path / "rec" / "retrieval.csv")
    assert set(ret["decoder"]) == {"mlp"}
    missing = tmp_path / "nope"
    res = runner.invoke(app, ["reconstruct", "-c", str(cfg), "-o", str(tmp_path / "rec2"), "-q",
                              "--set", f"decoders=[{{kind: mindeye, checkpoint: {missing}}}]"])
    assert res.exit_code == 2 and "no MindEye run folder" in res.output, res.output
    # a checkpoint of another shape (trained on other voxels) is refused before any job runs
    res = runner.invoke(app, ["reconstruct", "-c", str(cfg), "-o", str(tmp_path / "rec3"), "-q",
                              "--set", f"decoders=[{{kind: mindeye, checkpoint: {ck}}}]",
                              "--set", "dataset.subject.rois={V1: 20, LOC: 60}"])
    assert res.exit_code == 2 and "voxels" in res.output and not (tmp_path / "rec3").exists(), res.output
    with pytest.raises(ConfigError, match="use it with kind: mindeye"):
        load_reconstruct_config(cfg, [f"decoders=[{{kind: ridge, checkpoint: {ck}}}]"])
