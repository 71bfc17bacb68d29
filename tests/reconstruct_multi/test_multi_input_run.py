"""`brainalign reconstruct` with multi_input on tiny random SD / ControlNet / DPT models and a simulated subject:
decoded z tracks the true latents of held-out images, the ablation table and grid are written, and a changed input
set recomputes only what changed."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest

from brainalign.config import load_reconstruct_config

RUNS = ("z", "c", "z+c", "z+c+depth")


def _labels(uids):
    """Job labels of uids (``+`` of run names is ``-`` in folder names)."""
    return sorted(u.rsplit("__", 1)[0] for u in uids)


@pytest.fixture(scope="module")
def first(tmp_path_factory, multi_config):
    """``(config, out folder, run)`` of one full multi-input run (shared by the tests of this module)."""
    from brainalign.tasks import reconstruct

    tmp = tmp_path_factory.mktemp("multi_run")
    cfg = load_reconstruct_config(multi_config(tmp))
    return cfg, tmp / "run", reconstruct.run(cfg, tmp / "run", progress=False)


def test_decoded_inputs_track_the_true_targets(first):
    _, out, run = first
    assert _labels(run.jobs_run) == sorted(
        ["ridge", "ridge__scores", "input-z", "input-c", "input-depth",
         *(f"{r.replace('+', '-')}__{k}" for r in RUNS for k in ("generated", "scores"))])
    inputs = pd.read_csv(out / "inputs.csv").set_index("target")
    z = inputs.loc["z"]
    print("decoded z on held-out images:", z[["r_dims", "r_images", "r_images_mismatched", "two_way"]].to_dict())
    assert z["n_voxels"] == 120 and z["dim"] == 4 * 16 * 16 and z["n_test"] == 16
    assert z["r_dims"] > 0.3, z  # chance 0: the planted disk position is in V1/V2 and in the latents
    assert z["r_images"] > z["r_images_mismatched"] + 0.2 and z["two_way"] > 0.8, z
    assert inputs.loc["c", "n_voxels"] == 40 and inputs.loc["depth", "dim"] == 256
    assert inputs.loc["z", "reencode_r[last repeat]"] > 0.1
    assert np.isfinite(inputs["reencode_r[true target]"]).all()
    assert np.load(out / "decoded" / "input-z.npy").shape == (16, 4, 16, 16)


def test_ablation_table_and_grid(first):
    _, out, run = first
    ab = pd.read_csv(out / "ablation.csv").set_index("run")
    assert list(ab.index) == [*RUNS, "true images"]
    for col in ("pixcorr", "ssim", "two_way[tiny layer1]", "retrieval_top1[tiny layer1]", "two_way[CLIP tiny]",
                "reencode_r[tiny layer1]"):
        assert np.isfinite(ab.loc[list(RUNS), col]).all(), col
    assert (ab.loc[list(RUNS), "n_images"] == 6).all() and ab.loc["z+c", "inputs"] == "z+c"
    recon = {r: np.load(out / "reconstructions" / f"{r}.npy") for r in RUNS}
    assert all(v.shape == (6, 32, 32, 3) and v.dtype == np.uint8 for v in recon.values())
    assert np.abs(recon["z+c"].astype(int) - recon["z+c+depth"]).mean() > 0.5  # depth changes the image
    assert np.abs(recon["z"].astype(int) - recon["z+c"]).mean() > 0.5  # so does c (img2img vs. VAE decode)
    assert (out / "ablation_grid.png").stat().st_size > 1000
    pd.testing.assert_frame_equal(run.ablation.set_index("run"), ab, check_dtype=False)


def test_resume_and_changed_input_set_recompute_only_what_changed(first, tmp_path, multi_config):
    from multi_tiny_models import TARGETS

    from brainalign.tasks import reconstruct

    cfg, src, run = first
    out = tmp_path / "run"
    shutil.copytree(src, out)
    again = reconstruct.run(cfg, out, progress=False)
    assert again.jobs_run == []
    pd.testing.assert_frame_equal(again.ablation, run.ablation)
    # the depth decoder reads other voxels and a run is added: only depth, its runs and the new run compute
    targets = [dict(t, rois=["V1", "V2"]) if t["name"] == "depth" else t for t in TARGETS]
    runs = [{"inputs": list(r.split("+"))} for r in RUNS] + [{"inputs": ["c", "depth"]}]
    changed = load_reconstruct_config(multi_config(tmp_path, {"targets": targets, "runs": runs}))
    third = reconstruct.run(changed, out, progress=False)
    assert _labels(third.jobs_run) == ["c-depth__generated", "c-depth__scores", "input-depth",
                                       "z-c-depth__generated", "z-c-depth__scores"]
    assert list(third.ablation["run"]) == [*RUNS, "c+depth", "true images"]
    unchanged = run.ablation.set_index("run").loc[["z", "c", "z+c"]]
    pd.testing.assert_frame_equal(third.ablation.set_index("run").loc[["z", "c", "z+c"]], unchanged)


def test_default_reconstruct_keys_unchanged_by_multi_input(tmp_path, multi_config):
    """The decoder jobs of a run are the same with and without a multi_input section."""
    from brainalign.tasks.reconstruct.data import prepare
    from brainalign.tasks.reconstruct.plan import plan

    with_mi = load_reconstruct_config(multi_config(tmp_path))
    without = with_mi.model_copy(update={"multi_input": None})
    ctx = prepare(without, progress=False)
    base = plan(without, ctx)
    assert [j.label for j in base] == ["ridge"] and ctx.multi is None
    ctx_mi = prepare(with_mi, progress=False)
    jobs = plan(with_mi, ctx_mi)
    assert jobs[0].uid == base[0].uid and [j.label for j in jobs[1:]] == ["input-z", "input-c", "input-depth"]
