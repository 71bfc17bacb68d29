"""`brainalign reconstruct` on measured-data layouts: the simulated subject written as `kind: betas` and as NSD
(float32, int16 x 300) retrieves like the in-memory simulation; a bad folder fails before anything is written."""

from __future__ import annotations

from dataclasses import replace

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


def test_bad_nsd_folder_fails_in_one_line(tmp_path, reconstruct_config):
    path = reconstruct_config(tmp_path, decoders=[{"kind": "ridge"}], reconstruction="retrieve", generator=None,
                              feature_metrics=[], dataset={"kind": "nsd", "root": str(tmp_path / "nope"),
                                                           "accept_terms": True})
    res = CliRunner().invoke(app, ["reconstruct", "-c", str(path), "-o", str(tmp_path / "out"), "-q"])
    assert res.exit_code == 2 and "does not exist" in res.output and len(res.output.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()
