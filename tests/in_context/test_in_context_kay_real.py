"""The shipped check config on the real Kay2008 photographs with the real packaged EfficientNet-Lite0 (slow tier):
the in-context encoder beats per-voxel ridge at N <= 50 and is within 10% of it at N = 500 on held-out subjects."""

import pytest

CONFIG = "pipelines/configs/in_context_kay.yaml"


@pytest.mark.slow
@pytest.mark.realdata
def test_in_context_kay_check_config(data_mirror, tmp_path):
    from pathlib import Path

    from brainalign import yaml_io
    from brainalign.config.in_context import InContextConfig
    from brainalign.config.loading import validate_config
    from brainalign.tasks.in_context import run

    path = Path(__file__).resolve().parents[2] / CONFIG
    cfg = validate_config(InContextConfig, yaml_io.load_file(path, "config"), str(path))
    res = run(cfg, tmp_path, progress=False)
    c = res.comparison[res.comparison["subject"] == "all"].set_index("n_support")
    print("\n" + c[["in_context", "ridge", "ceiling", "diff_ci_lo", "ratio", "ratio_ci_lo", "ratio_ci_hi"]]
          .round(3).to_string())
    for n in (10, 25, 50):
        assert c.loc[n, "diff_ci_lo"] > 0, n  # better than ridge, CI over voxels excludes 0
    assert c.loc[500, "ratio_ci_lo"] >= 0.9  # within 10% of ridge at N = 500
    assert (c["in_context"] < c["ceiling"]).all()
