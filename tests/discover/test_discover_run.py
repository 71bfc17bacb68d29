"""``task: discover`` on a finished simulated score run: preferences with ground-truth drive, captions with a
tiny captioner, guided synthesis with a tiny pipeline, resume, and one-line errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from tests.discover.conftest import write_yaml
from tests.discover.tiny_captioner import build_tiny_captioner, tiny_captioner_entry

SPACE = {"model": "tiny-timm-resnet", "layer": "layer2", "pooling": "grid4", "design": "ridge_pooled"}


def _cfg(score_run: Path, **over):
    from brainalign.config.discover import DiscoverConfig

    raw = {"task": "discover", "score_run": str(score_run), "device": "cpu",
           "preferences": {"images": "test", "top_k": 5, "temperature": 0.05}}
    raw.update(over)
    return DiscoverConfig.model_validate(raw)


@pytest.fixture(scope="module")
def captioner(tmp_path_factory):
    from brainalign.discovery.captioner import CAPTIONERS

    folder = build_tiny_captioner(tmp_path_factory.mktemp("cap"), embed_dim=16)
    entry = tiny_captioner_entry(folder, embed_dim=16, feature_space=SPACE)
    bad = tiny_captioner_entry(folder, embed_dim=16, feature_space={**SPACE, "layer": "layer1"},
                               name="tiny-clipcap-layer1")
    CAPTIONERS.register(entry)
    CAPTIONERS.register(bad)
    yield entry
    CAPTIONERS.unregister(entry.name)
    CAPTIONERS.unregister(bad.name)


def test_preferences_top_images_truly_drive_their_voxels(score_run, tmp_path):
    from brainalign.tasks.discover import run

    out = tmp_path / "disc"
    res = run(_cfg(score_run, encoders=[{"model": "tiny-timm-resnet", "layer": "layer2", "encoder": "ridge_flat"}]),
              out, progress=False)
    stats = res.drive_stats
    vox = stats[(stats["level"] == "voxel")].set_index("roi")
    # the voxels' nearest images have a higher true (noiseless) response than as many random images: strongly
    # where the encoder's features drive the voxels (LOC), weakly for Gabor-driven V1 (a poor encoder there)
    for roi in ("all", "LOC"):
        assert vox.loc[roi, "mean_diff"] > 0.3 and vox.loc[roi, "p_wilcoxon"] < 1e-3, roi
        assert vox.loc[roi, "rank_biserial"] > 0.5 and vox.loc[roi, "percentile_top"] > 0.65, roi
    assert vox.loc["V1", "mean_diff"] > 0
    assert vox.loc["all", "n"] == 40
    for name in ("preferences.csv", "preferences_targets.csv", "reference_images.csv", "drive.csv",
                 "drive_stats.csv", "preferences.png"):
        assert (out / name).is_file(), name
    pref = pd.read_csv(out / "preferences.csv")
    assert set(pref["level"]) == {"voxel", "roi"} and pref.groupby("target").size().eq(5).all()
    ref = pd.read_csv(out / "reference_images.csv")
    assert list(ref["roi"].unique()) == ["V1", "LOC"] or set(ref["roi"]) == {"V1", "LOC"}
    assert (ref.groupby("roi")["predicted"].min() >= ref.groupby("roi")["predicted_mean"].first()).all()
    again = run(_cfg(score_run, encoders=[{"model": "tiny-timm-resnet", "layer": "layer2",
                                           "encoder": "ridge_flat"}]), out, progress=False)
    assert not again.ran and len(again.reused) == 1
    changed = run(_cfg(score_run, encoders=[{"model": "tiny-timm-resnet", "layer": "layer2",
                                             "encoder": "ridge_flat"}],
                       preferences={"images": "test", "top_k": 3, "temperature": 0.05}), out, progress=False)
    assert len(changed.ran) == 1


def test_captions_with_a_tiny_captioner(score_run, tmp_path, captioner):
    from brainalign.errors import ConfigError
    from brainalign.tasks.discover import run

    enc = [{"model": "tiny-timm-resnet", "layer": "layer2", "encoder": "ridge_pooled"}]
    out = tmp_path / "cap"
    res = run(_cfg(score_run, encoders=enc, rois=["LOC"],
                   preferences={"images": "all", "captioner": captioner.name, "top_k": 3}), out, progress=False)
    caps = res.captions
    assert len(caps) == 20 + 1 and set(caps["level"]) == {"voxel", "roi"}  # LOC voxels + the ROI
    assert caps["caption"].map(lambda c: isinstance(c, str)).all()
    assert caps["caption"].nunique() > 1  # different directions, different prefixes
    targets = pd.read_csv(out / "preferences_targets.csv")
    assert "caption" in targets and (out / "caption_words.csv").is_file()
    # same projections, same captioner: identical captions on resume (nothing recomputed)
    again = run(_cfg(score_run, encoders=enc, rois=["LOC"],
                     preferences={"images": "all", "captioner": captioner.name, "top_k": 3}), out, progress=False)
    assert not again.ran
    pd.testing.assert_frame_equal(again.captions, caps)
    with pytest.raises(ConfigError, match=r"^captioner 'tiny-clipcap-layer1' works in another feature space than "
                                          r"the encoder: layer is 'layer1' there but 'layer2'"):
        run(_cfg(score_run, encoders=enc, preferences={"captioner": "tiny-clipcap-layer1"}), tmp_path / "bad",
            progress=False)
    assert not (tmp_path / "bad" / "preferences.csv").exists()


def test_guided_synthesis_raises_predicted_activation_monotonically(score_run, tmp_path, unclip_folder):
    """Mechanics check on a tiny random pipeline and the tiny encoder (not a claim about real images)."""
    from brainalign.decoders.generators import register_generator_entry, unregister_generator_entry
    from brainalign.tasks.discover import run
    from brainalign.testing.tiny_generators import tiny_generator_entry

    register_generator_entry(tiny_generator_entry("stable-unclip", unclip_folder, name="tiny-unclip-guided"))
    try:
        scales = [0.0, 0.1, 0.2, 0.4, 0.8]
        cfg = _cfg(score_run, encoders=[{"model": "tiny-timm-resnet", "layer": "layer2"}], rois=["LOC"],
                   preferences={"enabled": False},
                   synthesis={"enabled": True, "generator": "tiny-unclip-guided", "scales": scales,
                              "seeds": [0, 1, 2, 3], "keep": 2})
        res = run(cfg, tmp_path / "syn", progress=False)
    finally:
        unregister_generator_entry("tiny-unclip-guided")
    curve = res.guidance.sort_values("scale")
    act = curve["activation_mean"].to_numpy()
    assert list(curve["scale"]) == scales
    assert np.all(np.diff(act) > 0), act
    syn = pd.read_csv(tmp_path / "syn" / "synthesis.csv")
    assert len(syn) == 20 and syn.groupby("scale")["kept"].sum().eq(2).all()
    # same seeds: each seed's guided image beats its own unguided one
    wide = syn.pivot(index="seed", columns="scale", values="activation")
    assert (wide[0.8] > wide[0.0]).all()
    images = np.load(next((tmp_path / "syn" / "synthesis_images").glob("*.npy")))
    assert images.shape == (5, 4, 32, 32, 3) and images.dtype == np.uint8
    assert np.abs(images[0].astype(int) - images[-1]).mean() > 1
    for name in ("guidance_curve.csv", "guidance_curve.png"):
        assert (tmp_path / "syn" / name).is_file()


def test_bad_input_one_line(score_run, tmp_path, image_folder, tiny_entry):
    from brainalign.config.loading import validate_config
    from brainalign.config.vision import VisionScoreConfig
    from brainalign.errors import ConfigError, DataError
    from brainalign.tasks.discover import run
    from brainalign.tasks.vision import run as run_vision
    from tests.discover.conftest import vision_raw

    with pytest.raises(ConfigError, match=r"^ROI 'FFA' has no voxels in the score run's data \(ROIs: .*V1.*\)"):
        run(_cfg(score_run, rois=["FFA"]), tmp_path / "a", progress=False)
    with pytest.raises(ConfigError, match=r"has no ridge job tiny-timm-resnet:layer9:ridge_pooled; it has"):
        run(_cfg(score_run, encoders=[{"model": "tiny-timm-resnet", "layer": "layer9"}]), tmp_path / "a",
            progress=False)
    with pytest.raises(DataError, match=r"is not a finished brainalign score run"):
        run(_cfg(tmp_path / "nothing"), tmp_path / "a", progress=False)
    plain = tmp_path / "plain"
    raw = vision_raw(image_folder, tiny_entry, save_weights=False, encoders=[{"kind": "ridge_pooled"}],
                     ground_truth=False)
    run_vision(validate_config(VisionScoreConfig, raw, "t"), plain, progress=False)
    with pytest.raises(DataError, match=r"saved no readout weights; re-run brainalign score with save_weights"):
        run(_cfg(plain), tmp_path / "a", progress=False)
    assert not (tmp_path / "a").exists()


def test_cli_discover(score_run, tmp_path):
    from brainalign.cli import app

    if "discover" not in {c.name or c.callback.__name__ for c in app.registered_commands}:
        import brainalign.cli.discover  # noqa: F401 - registers the command (until cli/__init__ imports it)
    runner = CliRunner()
    cfg = write_yaml(tmp_path / "d.yaml", {"task": "discover", "score_run": str(score_run), "device": "cpu",
                                           "encoders": [{"model": "tiny-timm-resnet", "layer": "layer2",
                                                         "encoder": "ridge_flat"}]})
    res = runner.invoke(app, ["discover", "-c", str(cfg), "-o", str(tmp_path / "o"), "-q"])
    assert res.exit_code == 0, res.output
    assert "LOC: top images' true drive +" in res.output and "d_z=" in res.output
    bad = runner.invoke(app, ["discover", "-c", str(cfg), "-o", str(tmp_path / "o2"), "-q", "--set", "rois=[FFA]"])
    assert bad.exit_code == 2 and len(bad.output.strip().splitlines()) == 1 and "ROI 'FFA'" in bad.output
