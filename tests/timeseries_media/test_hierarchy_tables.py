"""The hierarchy's statistics on planted draws: best layer and depth CI from argmax per draw, paired differences
with BH-FDR over ROIs, a round trip through hierarchy_draws.npz; text-only job keys do not move when media models
or the hierarchy are added."""

from __future__ import annotations

import numpy as np
import pytest

from brainalign.tasks.timeseries.hierarchy import compare_pairs, load_profiles, save_profiles


def _profile(peaks: list[int], level: float, n_layers: int = 5, n_boot: int = 400, seed: int = 0, noise=0.02):
    """Per ROI a tent-shaped r profile peaking at ``peaks[k]``; draws = r + shared-per-draw noise."""
    rng = np.random.default_rng(seed)
    layers = np.arange(n_layers)
    r = np.column_stack([level - 0.05 * np.abs(layers - p) for p in peaks])
    shared = rng.standard_normal((1, n_boot, len(peaks))) * noise
    draws = r[:, None, :] + shared + rng.standard_normal((n_layers, n_boot, len(peaks))) * noise / 2
    return {"layer_index": layers, "depth": layers / (n_layers - 1), "layer": np.array([f"L{i}" for i in layers]),
            "r": r, "draws": draws}


def test_paired_difference_per_roi_with_fdr(tmp_path):
    base = _profile([1, 3, 4], 0.30, seed=1)
    inst = _profile([1, 3, 2], 0.30, seed=2)
    inst["r"][:, 0] += 0.10  # ROI a: instruct better by 0.1 at every layer
    inst["draws"][:, :, 0] += 0.10
    profiles = {("m-base", False, "bin", "within"): base, ("m-inst", False, "bin", "within"): inst}
    rois = ["a", "b", "c"]
    save_profiles(tmp_path / "h.npz", profiles, rois)
    back, rois_back = load_profiles(tmp_path / "h.npz")
    assert rois_back == rois and set(back) == set(profiles)
    np.testing.assert_allclose(back[("m-inst", False, "bin", "within")]["draws"], inst["draws"], atol=1e-6)
    t = compare_pairs(back, rois_back, [("m-base", "m-inst")]).set_index("roi")
    assert t.loc["a", "diff"] == pytest.approx(0.10)
    assert t.loc["a", "ci_low"] > 0 and t.loc["a", "q_fdr"] < 0.05 and t.loc["a", "sig_fdr"]
    assert t.loc["b", "ci_low"] < 0 < t.loc["b", "ci_high"] and not t.loc["b", "sig_fdr"]
    assert (t["instruct_layer"] == ["L1", "L3", "L2"]).all() and (t["base_layer"] == ["L1", "L3", "L4"]).all()
    assert (t["q_fdr"] >= t["p_boot"] - 1e-12).all()


def test_hierarchy_rows_from_a_scored_run(tmp_path):
    """Depth = index / (n - 1) of the best layer; its CI covers the argmax of the draws."""
    import pandas as pd

    from brainalign.config.timeseries import TimeSeriesConfig
    from brainalign.tasks.timeseries.hierarchy import hierarchy_tables
    from brainalign.tasks.timeseries.plan import TimeSeriesJob

    cfg = TimeSeriesConfig.model_validate({"dataset": {"kind": "runs", "path": "x.csv"}, "models": ["m"],
                                           "targets": {"groups": {"g1": ["t0", "t1"], "g2": ["t2"]}},
                                           "hierarchy": {}, "stats": {"n_boot": 50}})
    rows, boot = [], []
    for layer in range(4):
        r = [0.1 + 0.1 * (layer == 2), 0.1 + 0.1 * (layer == 2), 0.1 + 0.1 * (layer == 0)]
        rows.append(pd.DataFrame({"protocol": "within", "layer": f"L{layer}", "layer_index": layer,
                                  "depth_frac": layer / 3, "unit": 0, "target": ["t0", "t1", "t2"], "r": r}))
        b = np.array([np.mean(r[:2]), r[2]]) + np.random.default_rng(layer).normal(0, 0.01, (50, 2))
        boot.append(b)

    class Store:
        def table(self, uid):
            return pd.concat(rows, ignore_index=True)

        def array(self, uid, name):
            return np.stack(boot)

        def meta(self, uid):
            return {"rois": ["g1", "g2"]}

    from brainalign.config.timeseries import ResampleSpec

    job = type("J", (), {"uid": "u", "spec": TimeSeriesJob("m", False, ResampleSpec(method="bin"))})()
    table, _, rois = hierarchy_tables(cfg, [job], Store())
    t = table.set_index("roi")
    assert rois == ["g1", "g2"]
    assert t.loc["g1", "best_layer"] == "L2" and t.loc["g1", "depth"] == pytest.approx(2 / 3)
    assert t.loc["g2", "best_layer_index"] == 0 and t.loc["g2", "depth"] == 0
    assert t.loc["g1", "depth_ci_low"] == pytest.approx(2 / 3) and t.loc["g1", "best_share"] == 1.0
    assert t["roi_best"].all() and (t["modality"] == "text").all()


def test_text_job_keys_unchanged_by_media_models_and_hierarchy():
    from brainalign.config.timeseries import TimeSeriesConfig
    from brainalign.tasks.timeseries.plan import TimeSeriesJob, job_key

    base = {"dataset": {"kind": "runs", "path": "x.csv"}, "models": ["gpt2"], "resample": {"method": "bin"}}
    plain = TimeSeriesConfig.model_validate(base)
    media = TimeSeriesConfig.model_validate(base | {"audio_models": ["a"], "video_models": ["v"],
                                                    "media": {"step_seconds": 0.5}, "hierarchy": None})
    spec = TimeSeriesJob("baseline:word_rate", False, plain.resample[0])
    assert job_key(plain, spec, "d") == job_key(media, spec, "d")
    assert plain.hierarchy is None and TimeSeriesConfig.model_validate(base | {"audio_models": ["a"]}).hierarchy
    with_h = TimeSeriesConfig.model_validate(base | {"hierarchy": {}})
    assert "hierarchy_rois" in job_key(with_h, spec, "d") and "hierarchy_rois" not in job_key(plain, spec, "d")
