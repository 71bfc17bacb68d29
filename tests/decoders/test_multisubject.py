"""Multi-subject decoding from the config: a shared MindEye space over simulated subjects (other seeds, same
images), per-subject metrics, and a new subject adapted with 1/4 of its data beating MindEye from scratch."""

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from brainalign.cli import app
from brainalign.config import load_reconstruct_config
from brainalign.errors import ConfigError

SHARED = {"kind": "mindeye", "name": "shared",
          "params": {"epochs": 40, "hidden": 128, "n_blocks": 1, "proj_hidden": 0, "batch_size": 16, "lr": 1e-3}}


@pytest.fixture(autouse=True)
def _one_thread(isolated_home):
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


N_IMAGES = 200


@pytest.fixture(scope="module")
def many_images(tmp_path_factory):
    """200 smooth random 32x32 RGB PNGs (a shared space needs more images than the conftest's 80)."""
    from PIL import Image
    from scipy.ndimage import gaussian_filter

    folder = tmp_path_factory.mktemp("many_images")
    rng = np.random.default_rng(1)
    for i in range(N_IMAGES):
        x = gaussian_filter(rng.normal(size=(32, 32, 3)), (2, 2, 0))
        Image.fromarray((255 * (x - x.min()) / np.ptp(x)).astype(np.uint8)).save(folder / f"{i}.png")
    return folder


def _config(tmp_path, reconstruct_config, many_images, **over):
    dataset = {"images": str(many_images), "n_images": N_IMAGES,
               "subject": {"rois": {"V1": 30, "LOC": 60}, "snr": 3.0, "seed": 2},
               "driver": {"model": "tiny-rec-resnet", "layer": "layer2"}}
    raw = {"dataset": dataset, "decoders": [{"kind": "ridge"}, SHARED], "reconstruction": "retrieve",
           "feature_metrics": [], "generator": None, "retrieval": {"n_candidates": 50, "n_draws": 10},
           "encode_back": False, "subjects": [0, 1], "adapt": {"subject": 2, "fractions": [0.25, 1.0]}}
    raw.update(over)
    return reconstruct_config(tmp_path, **raw)


def test_shared_space_and_adaptation_curve(tmp_path, reconstruct_config, many_images):
    from brainalign.tasks import reconstruct

    cfg = load_reconstruct_config(_config(tmp_path, reconstruct_config, many_images))
    out = tmp_path / "run"
    run = reconstruct.run(cfg, out, progress=False)
    labels = sorted(u.rsplit("__", 1)[0] for u in run.jobs_run)
    assert labels == sorted(["shared__shared", "ridge__sim-00", "ridge__sim-01",
                             *(f"adapt-{m}__fraction-{f}" for m in ("adapted", "scratch", "ridge")
                               for f in ("0.25", "1"))])
    ret = pd.read_csv(out / "retrieval.csv")
    assert set(zip(ret.decoder, ret.subject, strict=True)) == {(d, s) for d in ("ridge", "shared")
                                                               for s in ("sim-00", "sim-01")}
    shared = ret[(ret.decoder == "shared") & (ret.direction == "image")]
    assert (shared["top1"] > 3 * shared["chance"]).all(), shared  # both subjects decoded through one space
    m = pd.read_csv(out / "metrics.csv")
    assert {"subject", "decoder", "metric", "value"} <= set(m.columns)
    curve = pd.read_csv(out / "adapt_curve.csv")
    assert set(curve["method"]) == {"adapted", "scratch", "ridge"} and set(curve["amount"]) == {0.25, 1.0}
    assert (out / "adapt_curve.png").stat().st_size > 1000
    q = curve[curve.amount == 0.25].set_index("method")
    print("\n" + curve[["method", "amount", "n_images", "top1_image", "top1_brain", "two_way"]].to_string())
    assert q.loc["adapted", "n_images"] == 25 and q.loc["adapted", "n_samples"] == 75  # 1/4 of 100, 3 repeats
    assert q.loc["adapted", "top1_image"] > q.loc["scratch", "top1_image"]  # the shared space helps
    assert np.isfinite(curve["two_way"]).all()
    # resume: every fit is a stored job
    again = reconstruct.run(cfg, out, progress=False)
    assert again.jobs_run == [] and len(again.jobs_reused) == len(run.jobs_run)
    pd.testing.assert_frame_equal(pd.read_csv(out / "adapt_curve.csv").drop(columns="fit_seconds"),
                                  curve.drop(columns="fit_seconds"))
    # another amount: only its three fits run; a changed shared subject re-runs everything that depends on it
    more = reconstruct.run(load_reconstruct_config(_config(tmp_path, reconstruct_config, many_images),
                                                   ["adapt.fractions=[0.25, 0.5, 1.0]"]), out, progress=False)
    assert sorted(u.rsplit("__", 1)[0] for u in more.jobs_run) == [
        f"adapt-{m}__fraction-0.5" for m in ("adapted", "ridge", "scratch")]
    other = reconstruct.run(load_reconstruct_config(_config(tmp_path, reconstruct_config, many_images), ["subjects=[0, 3]"]),
                            out, progress=False)
    ran = sorted(u.rsplit("__", 1)[0] for u in other.jobs_run)
    assert "shared__shared" in ran and "ridge__sim-03" in ran and "ridge__sim-00" not in ran
    assert "adapt-adapted__fraction-0.25" in ran and "adapt-scratch__fraction-0.25" not in ran


def test_multisubject_config_errors(tmp_path, reconstruct_config, many_images):
    path = _config(tmp_path, reconstruct_config, many_images)
    for overrides, match in [
        (["subjects=[0, 0]"], r"subjects\[1\] is the same dataset as subjects\[0\]"),
        (["adapt.subject=1"], r"adapt.subject is the same dataset as subjects\[1\]"),
        (["subjects=[]"], "list the subjects it is trained on"),
        (["decoders=[{kind: ridge}]"], "adapt needs a kind: mindeye decoder"),
        (["adapt.fractions=[0]"], r"must be in \(0, 1\]"),
        (["adapt.sessions=[1]"], "not both"),
        (["subjects=[{subject: {sed: 1}}]"], r"subjects\[0\]: subject.sed"),
    ]:
        with pytest.raises(ConfigError, match=match):
            load_reconstruct_config(path, overrides)
    runner = CliRunner()
    res = runner.invoke(app, ["reconstruct", "-c", str(path), "-o", str(tmp_path / "o"), "-q", "--set",
                              "adapt={subject: 2, sessions: [1]}"])
    assert res.exit_code == 2 and "no sessions to choose" in res.output, res.output
    assert len(res.output.strip().splitlines()) == 1 and not (tmp_path / "o").exists()
    res = runner.invoke(app, ["train-decoder", "-c", str(path), "-d", "shared", "-o", str(tmp_path / "t")])
    assert res.exit_code == 2 and "multi-subject" in res.output
