"""Bad multi-input configs fail in one line before any decoding starts, and nothing is written to OUT."""

from __future__ import annotations

import re

import pandas as pd
import pytest
from typer.testing import CliRunner

from brainalign.cli import app
from brainalign.config import load_reconstruct_config
from brainalign.errors import ConfigError


def _fails(cfg, out, message):
    res = CliRunner().invoke(app, ["reconstruct", "-c", str(cfg), "-o", str(out), "-q"])
    assert res.exit_code == 2 and message in res.output, res.output
    # transformers' weight-loading bars (vision feature extraction) aside, the output is the error line
    lines = [x for x in re.split(r"[\r\n]+", res.output) if x.strip() and not x.startswith("Loading weights")]
    assert lines == [x for x in lines if x.startswith("error:")] and len(lines) == 1, repr(res.output)
    assert not out.exists()  # nothing partial


def test_latent_size_that_does_not_match_the_pipeline(tmp_path, multi_config):
    from multi_tiny_models import TARGETS

    targets = [dict(t, size=48) if t["name"] == "z" else t for t in TARGETS]
    _fails(multi_config(tmp_path, {"targets": targets}), tmp_path / "o",
           "size 48 gives VAE latents (4, 24, 24) but generator 'tiny-mi-sd' denoises (4, 16, 16)")


def test_captions_missing_for_some_images(tmp_path, multi_config, planted):
    _, captions = planted
    df = pd.read_csv(captions, dtype=str)
    partial = tmp_path / "captions.csv"
    df[~df.image_id.isin(["3", "17"])].to_csv(partial, index=False)
    _fails(multi_config(tmp_path, {"captions": str(partial)}), tmp_path / "o",
           "has no caption for 2 of 64 images (3, 17)")


def test_depth_model_not_cached_offline(tmp_path, multi_config):
    from multi_tiny_models import TARGETS

    from brainalign.features.decoding_targets.depth_registry import DepthEntry, register_depth_entry

    register_depth_entry(DepthEntry(name="remote-depth", kind="dpt", model_id="brainalign-tests/no-such-dpt"))
    targets = [dict(t, model="remote-depth") if t["name"] == "depth" else t for t in TARGETS]
    _fails(multi_config(tmp_path, {"targets": targets}), tmp_path / "o",
           "brainalign-tests/no-such-dpt@main is not in the Hugging Face cache")


def test_unknown_roi_and_wrong_generator_kind(tmp_path, multi_config):
    from multi_tiny_models import TARGETS

    targets = [dict(t, rois=["FFA"]) if t["name"] == "c" else t for t in TARGETS]
    _fails(multi_config(tmp_path, {"targets": targets}), tmp_path / "o1", "unknown ROI(s) FFA")
    _fails(multi_config(tmp_path, {"controlnet": "tiny-mi-sd"}), tmp_path / "o2",
           "is kind 'sd-img2img'; it needs a sd-controlnet-depth generator")


def test_config_validation(tmp_path, multi_config):
    cfg = multi_config(tmp_path)
    for override, message in [
        ("multi_input.runs=[{inputs: [z, nope]}]", "unknown inputs"),
        ("multi_input.controlnet=null", "has a depth input; set multi_input.controlnet"),
        ("multi_input.captions=null", "set multi_input.captions"),
        ("multi_input.runs=[]", "runs is empty"),
        ("multi_input.targets=[{name: d, kind: depth}]", "needs model:"),
        ("subjects=[1, 2]", "drop subjects: or multi_input:"),
    ]:
        with pytest.raises(ConfigError, match=message):
            load_reconstruct_config(cfg, [override])
