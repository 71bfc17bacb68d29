"""`brainalign reconstruct` on measured-data layouts: the simulated subject written as `kind: betas` and as NSD
(float32, int16 x 300) retrieves like the in-memory simulation; fabricated MindEye2, Algonauts 2023 and BOLD5000
folders run end to end and resume; a bad folder fails before anything is written."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from brainalign.cli import app
from brainalign.config import load_reconstruct_config

CHUNKS = (80, 16, 16, 16)
MLP = {"kind": "mindeye", "name": "mlp",
       "params": {"epochs": 3, "hidden": 32, "n_blocks": 1, "proj_hidden": 0, "batch_size": 16}}


@pytest.fixture(autouse=True)
def _one_thread(isolated_home):
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _run(path, out, dataset=None):
    if dataset is not None:
        raw = yaml.safe_load(path.read_text())
        raw["dataset"] = dataset
        path = path.with_name(f"{out.name}.yaml")
        path.write_text(yaml.safe_dump(raw))
    res = CliRunner().invoke(app, ["reconstruct", "-c", str(path), "-o", str(out), "-q"])
    assert res.exit_code == 0, res.output
    return pd.read_csv(out / "retrieval.csv"), pd.read_csv(out / "metrics.csv")


def _simulation(path, predefined_test: bool):
    """The run's simulated subject (and images) as ImageResponseData."""
    from brainalign.data.image_responses import ImageResponseData
    from brainalign.tasks.reconstruct.data import prepare, target_and_driver
    from brainalign.tasks.vision.data import load_images, simulated_data

    cfg = load_reconstruct_config(path)
    images = load_images(cfg.dataset.images, cfg.dataset.n_images)
    ds = simulated_data(cfg.dataset, images, target_and_driver(cfg, images, True, False)[1]).dataset
    if predefined_test:
        ds = replace(ds, test_images=np.isin(np.arange(ds.n_images), prepare(cfg, progress=False).te))
    return ImageResponseData(images, ds)


def test_simulated_subject_through_betas_and_nsd_layouts(tmp_path, reconstruct_config):
    from brainalign.data.loaders.betas_writer import write_simulated_betas
    from brainalign.data.loaders.nsd_writer import write_simulated_nsd

    path = reconstruct_config(tmp_path, decoders=[{"kind": "ridge"}, MLP], reconstruction="retrieve",
                              feature_metrics=[], generator=None,
                              dataset={**yaml.safe_load(reconstruct_config(tmp_path).read_text())["dataset"],
                                       "subject": {"rois": {"V1": 30, "LOC": 60}, "snr": 3.0, "seed": 2,
                                                   "n_repeats": 2}})
    ret, met = _run(path, tmp_path / "sim")
    # NIfTI: a volume grid, so the decoders see the voxels in grid order as they do the simulation's
    fields = write_simulated_betas(_simulation(path, False), tmp_path / "betas", fmt="nifti")
    fields.pop("voxel_order")
    data = _simulation(path, True)
    runs = {"betas NIfTI": _run(path, tmp_path / "b", {"kind": "betas", **fields})}
    for int16 in (False, True):
        root = tmp_path / f"nsd{int(int16)}"
        info = write_simulated_nsd(data, root, int16=int16, trials_per_session=80, chunks=CHUNKS)
        runs[f"NSD {'int16 x 300' if int16 else 'float32'}"] = _run(
            path, tmp_path / f"n{int(int16)}", {"kind": "nsd", "root": str(root), "accept_terms": True,
                                                "zscore_sessions": False,
                                                "trials_per_session": info["trials_per_session"]})
    diffs = {}
    for name, (r, m) in runs.items():
        pd.testing.assert_frame_equal(r[["decoder", "direction"]], ret[["decoder", "direction"]])
        keep = ~m["metric"].isin(["fit_seconds"])
        diffs[name] = (float(np.abs(r["top1"] - ret["top1"]).max()),
                       float(np.abs(m.loc[keep, "value"].to_numpy() - met.loc[keep, "value"].to_numpy()).max()))
    print("\nmax |file - memory| (retrieval top-1, other metrics): "
          + ", ".join(f"{k} {a:.2e} / {b:.2e}" for k, (a, b) in diffs.items()))
    for name in ("betas NIfTI", "NSD float32"):
        assert diffs[name][0] <= 1e-6 and diffs[name][1] <= 1e-6, name
    assert diffs["NSD int16 x 300"][0] <= 0.1  # quantised betas may flip a few of the 40 test images


@pytest.mark.parametrize("kind", ["mindeye2", "algonauts2023", "bold5000"])
def test_fabricated_release_folders_reconstruct_end_to_end_and_resume(tmp_path, reconstruct_config, kind):
    sys.path.insert(0, str(Path(__file__).parents[1] / "imagedata"))
    try:
        import fabricate_image_fmri as fab
    finally:
        sys.path.pop(0)
    root = tmp_path / kind
    root.mkdir()
    n = 64  # MindEye2 / BOLD5000: 16 predefined test images; Algonauts: cv.test_fraction 0.5 -> 32
    if kind == "mindeye2":
        fab.mindeye2(root, n_voxels=20, n_images=n, size=16)
        dataset = {"kind": kind, "root": str(root), "accept_terms": True}
    elif kind == "algonauts2023":
        fab.algonauts(root, n_images=n, size=16)
        dataset = {"kind": kind, "root": str(root), "accept_terms": True}
    else:
        fab.bold5000(root, n_images=n, size=16)
        dataset = {"kind": kind, "root": str(root)}
    path = reconstruct_config(tmp_path, decoders=[{"kind": "ridge"}], reconstruction="retrieve", generator=None,
                              feature_metrics=[], dataset=dataset, retrieval={"n_candidates": 8, "n_draws": 3})
    out = tmp_path / "out"
    res = CliRunner().invoke(app, ["reconstruct", "-c", str(path), "-o", str(out), "-q"])
    assert res.exit_code == 0, res.output
    ret, met = pd.read_csv(out / "retrieval.csv"), pd.read_csv(out / "metrics.csv")
    assert set(ret["decoder"]) == {"ridge"} and (ret["n_candidates"] == 8).all() and ret["top1"].between(0, 1).all()
    assert len(met) and (out / "per_image.csv").is_file()
    n_test = n // 2 if kind == "algonauts2023" else 16
    assert len(pd.read_csv(out / "per_image.csv")["image_id"].unique()) == n_test
    assert "retrieval top-1" in res.output and "0 reused" in res.output, res.output
    again = CliRunner().invoke(app, ["reconstruct", "-c", str(path), "-o", str(out), "-q"])
    assert again.exit_code == 0 and "(0 jobs run, " in again.output, again.output
    pd.testing.assert_frame_equal(pd.read_csv(out / "retrieval.csv"), ret)


def test_bad_nsd_folder_fails_in_one_line(tmp_path, reconstruct_config):
    path = reconstruct_config(tmp_path, decoders=[{"kind": "ridge"}], reconstruction="retrieve", generator=None,
                              feature_metrics=[], dataset={"kind": "nsd", "root": str(tmp_path / "nope"),
                                                           "accept_terms": True})
    res = CliRunner().invoke(app, ["reconstruct", "-c", str(path), "-o", str(tmp_path / "out"), "-q"])
    assert res.exit_code == 2 and "does not exist" in res.output and len(res.output.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_decode_category_ablation_prints_one_line_per_network(tmp_path, monkeypatch):
    from brainalign.testing.haxby_fake import write_fake_haxby_runs

    write_fake_haxby_runs(tmp_path / "mirror")
    monkeypatch.setenv("BRAINALIGN_DATA_MIRROR", str(tmp_path / "mirror"))
    monkeypatch.chdir(Path(__file__).resolve().parents[2])
    fast = ["--set", "ablate.n_random=20", "--set", "ablate.random_batch=10", "--set", "ablate.n_boot=200",
            "--set", "ablate.networks=[vt, hoc, white]", "--set", "decoders=[ridge_classifier]",
            "--set", "label_shift_s=5"]
    out = tmp_path / "out"
    res = CliRunner().invoke(app, ["reconstruct", "-c", "pipelines/configs/haxby_wholebrain_ablation.yaml",
                                   "-o", str(out), "-q", *fast])
    assert res.exit_code == 0, res.output
    tab = pd.read_csv(out / "ablation.csv")
    lines = [ln for ln in res.output.splitlines() if ln.startswith("ablate ")]
    assert len(lines) == len(tab) == 3, res.output
    for line, r in zip(lines, tab.itertuples(), strict=True):
        assert line.split()[1] == r.network and f"({r.n_voxels} voxels)" in line, line
        assert f"drop {r.drop:+.3f} [{r.ci_low:+.3f}, {r.ci_high:+.3f}], p={r.p:.3f}" in line, line
        assert f"random band {r.random_drop_mean:+.3f} [{r.random_drop_low:+.3f}, {r.random_drop_high:+.3f}]" in line
