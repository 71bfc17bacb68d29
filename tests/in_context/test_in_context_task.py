"""``task: in_context`` end to end on a tiny model: tables, figure, saved model, resume, pretrained, errors."""

import json

import numpy as np
import pytest
from pydantic import ValidationError

from brainalign.config.in_context import InContextConfig
from brainalign.config.loading import validate_config
from brainalign.errors import ConfigError, ModelError
from brainalign.tasks.in_context import run


def test_tiny_run_tables_resume_and_pretrained(tmp_path, tiny_raw):
    cfg = InContextConfig.model_validate(tiny_raw)
    out = tmp_path / "out"
    res = run(cfg, out, progress=False)
    n_grid = 2 * 3 * 2  # subjects x sizes x draws
    assert res.n_computed == 1 + 2 * n_grid  # training + ridge + in-context jobs
    for name in ("scores.csv", "curve.csv", "comparison.csv", "training.csv", "test_time_scaling.png",
                 "data_report.json", "model/config.json", "model/model.safetensors"):
        assert (out / name).is_file(), name
    curve = res.curve
    assert set(curve["method"]) == {"in_context", "ridge", "ceiling"}
    assert set(curve["subject"]) == {"sim-04", "sim-05", "all"}
    assert sorted(curve["n_support"].unique()) == [6, 12, 48]
    assert (curve["ci_lo"] <= curve["r_mean"] + 1e-12).all() and (curve["r_mean"] <= curve["ci_hi"] + 1e-12).all()
    pooled = res.comparison[res.comparison["subject"] == "all"]
    assert (pooled["n_voxels"] == 2 * 20).all()
    assert len(res.scores) == 2 * n_grid * 20
    assert np.isfinite(res.scores["r"]).all()
    assert len(res.training) == 4 and np.isfinite(res.training["loss"]).all()
    # ridge improves with N on a planted signal (snr 1, 8 features)
    ridge = curve[(curve["subject"] == "all") & (curve["method"] == "ridge")].set_index("n_support")["r_mean"]
    assert ridge[48] > ridge[6]
    # resume: nothing recomputed, same tables
    again = run(cfg, out, progress=False)
    assert again.n_computed == 0
    assert np.allclose(again.curve["r_mean"], curve["r_mean"])
    # a new support size runs only its own jobs
    more = InContextConfig.model_validate({**tiny_raw, "evaluation": {"support_sizes": [6, 12, 24, 48], "n_draws": 2}})
    assert run(more, out, progress=False).n_computed == 2 * 2 * 2
    # the saved model evaluates as pretrained: no training, identical in-context scores
    pre = InContextConfig.model_validate({**tiny_raw, "pretrained": str(out / "model")})
    res2 = run(pre, tmp_path / "out2", progress=False)
    assert not any("meta_train" in u for u in res2.ran)
    a = res.scores.sort_values(["method", "subject", "n_support", "draw", "voxel"])["r"].to_numpy()
    b = res2.scores.sort_values(["method", "subject", "n_support", "draw", "voxel"])["r"].to_numpy()
    assert np.allclose(a, b)
    from brainalign.tasks.in_context.report_text import curve_text

    text = curve_text(res).splitlines()
    assert len(text) == 4 and text[0].startswith("N=   6: in-context r=")
    report = json.loads((out / "data_report.json").read_text())
    assert report["n_query"] == 30 and "honesty" in report


@pytest.mark.parametrize(("change", "match"), [
    ({"simulation": {"rois": {"LOC": 12, "PPA": 0}}}, "simulation.rois: ROI 'PPA' has 0 voxels \\(an empty ROI\\)"),
    ({"simulation": {"rois": {}}}, "rois is empty"),
    ({"features": {"model": "m", "layer": "l", "pooling": "grid4"}}, "use pooling mean"),
    ({"evaluation": {"support_sizes": [4, 12]}}, "support size 4 is too small for encoder.inner_folds 3"),
    ({"dataset": {"images": "x", "n_images": 120, "n_query": 100}}, "20 support images .* fewer than the 64 needed"),
    ({"model": {"d_model": 18, "n_heads": 4}}, "d_model 18 is not divisible by n_heads 4"),
    ({"training": {"support_min": 50, "support_max": 20}}, "support_min 50 > support_max 20"),
    ({"nope": 1}, "nope: Extra inputs are not permitted"),
])
def test_config_errors_are_one_line(tiny_raw, change, match):
    raw = {**tiny_raw, **change}
    with pytest.raises(ValidationError):
        InContextConfig.model_validate(raw)
    with pytest.raises(ConfigError, match=match) as err:
        validate_config(InContextConfig, raw, "tiny.yaml")
    assert "\n" not in str(err.value)


@pytest.mark.parametrize(("change", "error", "match"), [
    ({"features": {"model": "no-such-model", "layer": "layer2", "n_components": 8}}, ConfigError, "no-such-model"),
    ({"features": {"model": None, "layer": "nope", "n_components": 8, "device": "cpu"}}, ConfigError,
     "has no layer 'nope'; its layers are"),
    ({"features": {"model": None, "layer": "layer2", "n_components": 999, "device": "cpu"}}, ConfigError,
     "n_components 999 exceeds"),
    ({"pretrained": "/no/such/folder"}, ModelError, "is not a saved in-context encoder"),
])
def test_bad_input_fails_before_out_is_written(tmp_path, tiny_raw, tiny_registered, change, error, match):
    raw = {**tiny_raw, **change}
    if raw["features"].get("model", "") is None:
        raw["features"]["model"] = tiny_registered.name
    cfg = InContextConfig.model_validate(raw)
    with pytest.raises(error, match=match) as err:
        run(cfg, tmp_path / "out", progress=False)
    assert "\n" not in str(err.value)
    assert not (tmp_path / "out").exists()


def test_pretrained_from_another_feature_space_is_refused(tmp_path, tiny_raw, tiny_registered):
    from brainalign.encoders.in_context import InContextModel, build_net

    net = build_net({"d": 8, "d_model": 16, "n_layers": 1, "n_heads": 2, "ff_mult": 2, "n_inducing": 4})
    space = {"model": tiny_registered.name, "layer": "layer1", "pooling": "mean"}
    InContextModel(arch={"d": 8, "d_model": 16, "n_layers": 1, "n_heads": 2, "ff_mult": 2, "n_inducing": 4},
                   state={k: v.detach().numpy() for k, v in net.state_dict().items()}, mean=np.zeros(16),
                   projection=np.zeros((16, 8)), feature_space=space).save(tmp_path / "other")
    cfg = InContextConfig.model_validate({**tiny_raw, "pretrained": str(tmp_path / "other")})
    with pytest.raises(ModelError, match="trained on another feature space \\(differs in .*layer") as err:
        run(cfg, tmp_path / "out", progress=False)
    assert "\n" not in str(err.value)
    assert not (tmp_path / "out").exists()


def test_check_config_validates():
    from pathlib import Path

    from brainalign import yaml_io

    path = Path(__file__).parents[2] / "pipelines" / "configs" / "in_context_kay.yaml"
    cfg = validate_config(InContextConfig, yaml_io.load_file(path, "config"), str(path))
    assert cfg.evaluation.support_sizes == [10, 25, 50, 100, 200, 500]
    assert cfg.features.model == "efficientnet-lite0" and cfg.dataset.images == "kay2008"


def test_module_entry_point_usage_and_one_line_errors(tmp_path, tiny_raw, capsys):
    import yaml

    from brainalign.tasks.in_context.__main__ import main

    assert main([]) == 2
    raw = {**tiny_raw, "simulation": {"rois": {"LOC": 0}}}
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(raw))
    assert main([str(path), str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: invalid config") and "an empty ROI" in err[-1]
    assert main([str(path), str(tmp_path / "out"), "simulation.rois={LOC: 3}", "features.n_components=999"]) == 1
    assert "n_components 999 exceeds" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
