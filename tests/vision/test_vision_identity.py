"""Vision jobs are keyed by content: each input that matters re-runs exactly the jobs it affects, an unchanged
re-run none; a damaged job file is detected and recomputed; the Ray executor gives the in-process numbers."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from brainalign.config import load_vision_config
from brainalign.testing.fixtures import write_smooth_images

MODEL = "tiny-local"
# trained and random-init sources x (ridge_pooled on 2 layers + factorized on layer2), pixels, ground truth
RIDGE = {f"{MODEL}{r}__{layer}__ridge_pooled" for r in ("", "-random") for layer in ("layer1", "layer2")}
FACTORIZED = {f"{MODEL}__layer2__factorized", f"{MODEL}-random__layer2__factorized"}
RANDOM = {f"{MODEL}-random__layer1__ridge_pooled", f"{MODEL}-random__layer2__ridge_pooled",
          f"{MODEL}-random__layer2__factorized"}
MODEL_JOBS = RIDGE | FACTORIZED
ALL = MODEL_JOBS | {"pixels__16x16__ridge_pooled", "ground_truth"}


@pytest.fixture(scope="module")
def image_folder(tmp_path_factory) -> Path:
    """40 smooth random 32x32 RGB PNGs."""
    return write_smooth_images(tmp_path_factory.mktemp("images"), 40, 32)


@pytest.fixture
def local_model(tmp_path):
    """A tiny timm model saved in a local folder, registered as ``tiny-local``; yields its folder."""
    from brainalign.features.vision_sources import register_vision_entry, unregister_vision_entry
    from brainalign.testing.tiny_vision import build_tiny_vision, tiny_vision_entry

    folder = build_tiny_vision("timm-resnet", tmp_path / "weights", seed=1)
    register_vision_entry(tiny_vision_entry("timm-resnet", folder, name=MODEL))
    yield folder
    unregister_vision_entry(MODEL)


def _raw(folder: Path) -> dict:
    return {
        "task": "vision", "name": "identity",
        "dataset": {"images": str(folder), "n_images": 40, "subject": {"rois": {"V1": 12}, "n_repeats": 2,
                                                                       "snr": 2.0, "seed": 1}},
        "models": [{"name": MODEL, "layers": ["layer1", "layer2"]}],
        "features": {"pooling": "grid4", "device": "cpu"}, "random_init_controls": True, "baselines": ["pixels"],
        "encoders": [{"kind": "ridge_pooled"}, {"kind": "factorized", "layers": ["layer2"],
                                                "params": {"max_epochs": 3}}],
        "encoder": {"alphas": [1.0, 100.0, 10000.0], "inner_folds": 3, "device": "cpu"},
        "cv": {"kind": "holdout", "test_fraction": 0.2, "seed": 0}, "maps": False,
    }


def _run(tmp_path: Path, folder: Path, overrides: list[str] = ()):
    from brainalign.tasks.vision import run

    path = tmp_path / "vision.yaml"
    path.write_text(yaml.safe_dump(_raw(folder)))
    return run(load_vision_config(path, list(overrides)), tmp_path / "out", progress=False)


def _labels(uids: list[str]) -> set[str]:
    return {u.rsplit("__", 1)[0] for u in uids}


def test_each_input_reruns_exactly_the_jobs_it_affects(tmp_path, image_folder, local_model):
    base = _run(tmp_path, image_folder)
    assert _labels(base.ran) == ALL and not base.reused
    base_uids = set(base.ran)
    assert _labels(_run(tmp_path, image_folder).ran) == set()  # unchanged: nothing recomputed
    cases = [
        (["encoder.alphas=[100000, 1000000]"], RIDGE | {"pixels__16x16__ridge_pooled", "ground_truth"}),
        (["dataset.subject.snr=5"], ALL),
        (["cv.test_fraction=0.5"], ALL),
        (["cv.seed=3"], ALL),
        (["dataset.n_images=30"], ALL),
        (["seed=7"], RANDOM | {f"{MODEL}__layer2__factorized"}),  # random init and readout seeds only
        (["encoders=[{kind: ridge_pooled}, {kind: factorized, layers: [layer2], params: {max_epochs: 4}}]"],
         FACTORIZED),
        (["encoder.device=cpu", "features.batch_size=3"], set()),  # runtime settings are in no key
    ]
    for overrides, expected in cases:
        again = _run(tmp_path, image_folder, overrides)
        assert _labels(again.ran) == expected, overrides
        assert _labels(again.ran) | _labels(again.reused) == ALL
        assert not set(again.ran) & base_uids  # a recomputed job has a new key, never a base one
    # the weights file re-saved with other weights (same path): that model's jobs, and only those
    from brainalign.testing.tiny_vision import build_tiny_vision

    build_tiny_vision("timm-resnet", local_model, seed=2)
    changed = _run(tmp_path, image_folder)
    assert _labels(changed.ran) == MODEL_JOBS and _labels(changed.reused) == ALL - MODEL_JOBS
    build_tiny_vision("timm-resnet", local_model, seed=1)  # the same bytes again: the first results are reused
    assert _labels(_run(tmp_path, image_folder).ran) == set()
    scores = pd.read_csv(tmp_path / "out" / "scores.csv")
    pd.testing.assert_series_equal(scores["r"], base.scores["r"])


def test_damaged_job_file_is_detected_and_recomputed(tmp_path, image_folder, local_model, caplog):
    base = _run(tmp_path, image_folder)
    jobs = tmp_path / "out" / "jobs"
    by_label = {u.rsplit("__", 1)[0]: u for u in base.ran}
    targets = {by_label[f"{MODEL}__layer1__ridge_pooled"]: "scores.parquet", by_label["ground_truth"]: "r.npy"}
    for uid, name in targets.items():
        path = jobs / uid / name
        data = bytearray(path.read_bytes())
        data[len(data) // 2] ^= 0xFF
        path.write_bytes(bytes(data))
    with caplog.at_level(logging.WARNING, logger="brainalign"):
        again = _run(tmp_path, image_folder)
    damaged = [r.getMessage() for r in caplog.records if "is damaged" in r.getMessage()]
    assert len(damaged) == 2 and all(any(uid in m for m in damaged) for uid in targets)
    assert "checksum mismatch" in damaged[0]
    assert set(again.ran) == set(targets)
    pd.testing.assert_frame_equal(again.scores, base.scores)


@pytest.fixture
def ray_local():
    ray = pytest.importorskip("ray", reason="ray is not installed; pip install 'brainalign[ray]'")
    started = not ray.is_initialized()
    if started:
        ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False,
                 _node_ip_address="127.0.0.1")
    yield ray
    if started:
        ray.shutdown()


def test_cli_ray_executor_matches_inprocess(tmp_path, image_folder, local_model, ray_local):
    from typer.testing import CliRunner

    from brainalign.cli import app

    cfg = tmp_path / "vision.yaml"
    cfg.write_text(yaml.safe_dump(_raw(image_folder)))
    runner = CliRunner()
    outs = {}
    for executor in ("ray", "inprocess"):
        outs[executor] = tmp_path / executor
        res = runner.invoke(app, ["score", "--config", str(cfg), "--out", str(outs[executor]), "-q",
                                  "--executor", executor])
        assert res.exit_code == 0, res.output
        assert f"{len(ALL)} jobs run, 0 reused" in res.output
    a, b = (pd.read_csv(outs[e] / "scores.csv") for e in ("ray", "inprocess"))
    pd.testing.assert_frame_equal(a.drop(columns=["r", "r_ceiled"]), b.drop(columns=["r", "r_ceiled"]))
    dr = float(np.nanmax(np.abs(a["r"] - b["r"])))
    print(f"\nray vs in-process: max |dr| = {dr:.2e}")
    assert dr < 1e-6
    res = runner.invoke(app, ["score", "--config", str(cfg), "--out", str(outs["ray"]), "-q", "--executor", "ray"])
    assert res.exit_code == 0 and f"0 jobs run, {len(ALL)} reused" in res.output
