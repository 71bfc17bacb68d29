"""`brainalign reconstruct` end to end on tiny models: decoders, retrieval, a tiny unCLIP generator, grid, resume."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from brainalign.cli import app
from brainalign.config_reconstruct import load_reconstruct_config
from brainalign.errors import ConfigError

N_IMAGES = 80


@pytest.fixture(autouse=True)
def _one_thread(isolated_home):
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="module")
def image_folder(tmp_path_factory) -> Path:
    from PIL import Image
    from scipy.ndimage import gaussian_filter

    folder = tmp_path_factory.mktemp("images")
    rng = np.random.default_rng(0)
    for i in range(N_IMAGES):
        x = gaussian_filter(rng.normal(size=(48, 48, 3)), (2, 2, 0))
        Image.fromarray((255 * (x - x.min()) / (x.max() - x.min())).astype(np.uint8)).save(folder / f"{i}.png")
    return folder


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory):
    """A tiny timm ResNet (driver, target and metric features) and a tiny unCLIP taking its layer2 channels."""
    from brainalign.features.vision_sources import load_vision_backbone, register_vision_entry
    from brainalign.testing.tiny_generators import build_tiny_generator, tiny_generator_entry
    from brainalign.testing.tiny_vision import build_tiny_vision, tiny_vision_entry

    root = tmp_path_factory.mktemp("tiny")
    vis = tiny_vision_entry("timm-resnet", build_tiny_vision("timm-resnet", root / "resnet"), name="tiny-rec-resnet")
    register_vision_entry(vis)
    import torch

    bb = load_vision_backbone(vis)
    outs = bb.run(torch.zeros(1, 3, 32, 32))
    dim = int(outs[bb.layer_names.index("layer2")].shape[1])
    gen = tiny_generator_entry("stable-unclip", build_tiny_generator("stable-unclip", root / "unclip", embed_dim=dim),
                               name="tiny-rec-unclip", embed_dim=dim)
    from brainalign.decoders.generators import register_generator_entry

    register_generator_entry(gen)
    return vis, gen, dim


def _config(tmp_path: Path, folder: Path, vis, gen, **over) -> Path:
    raw = {
        "task": "reconstruct",
        "dataset": {"images": str(folder), "n_images": N_IMAGES,
                    "subject": {"rois": {"V1": 30, "LOC": 60}, "snr": 3.0, "seed": 2},
                    "driver": {"model": vis.name, "layer": "layer2"}},
        "target": {"model": vis.name, "layer": "layer2", "pooling": "mean"},
        "decoders": [{"kind": "ridge"},
                     {"kind": "mindeye", "name": "mlp", "params": {"epochs": 3, "hidden": 32, "n_blocks": 1,
                                                                   "proj_hidden": 0, "batch_size": 16}}],
        "test_fraction": 0.5, "retrieval": {"n_candidates": 20, "n_draws": 5},
        "reconstruction": "both",
        "generator": {"name": gen.name, "steps": 2, "max_images": 3, "device": "cpu"},
        "feature_metrics": [{"model": vis.name, "layer": "layer1", "name": "tiny layer1"}],
        "grid_images": 3, "device": "cpu",
    }
    raw.update(over)
    path = tmp_path / "rec.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def test_reconstruct_end_to_end_and_resume(tmp_path, image_folder, tiny_models):
    from brainalign.runner.reconstruct import run_reconstruct

    vis, gen, dim = tiny_models
    cfg = load_reconstruct_config(_config(tmp_path, image_folder, vis, gen))
    out = tmp_path / "run"
    run = run_reconstruct(cfg, out, progress=False)
    ret = pd.read_csv(out / "retrieval.csv")
    for col in ("decoder", "direction", "top1", "ci_low", "ci_high", "n_candidates"):
        assert col in ret
    assert set(ret["decoder"]) == {"ridge", "mlp"} and set(ret["direction"]) == {"image", "brain"}
    assert (ret["n_candidates"] == 20).all() and (ret["ci_low"] <= ret["top1"]).all()
    ridge = ret[(ret.decoder == "ridge") & (ret.direction == "image")].iloc[0]
    assert ridge["top1"] > 3 * ridge["chance"], ridge  # high-SNR subject: far above chance
    m = pd.read_csv(out / "metrics.csv")
    assert {"decoder", "metric", "value", "average_repeats", "n_test"} <= set(m.columns)
    metrics = set(zip(m.decoder, m.metric, strict=True))
    for dec in ("ridge", "mlp"):
        for kind in ("retrieved", "generated"):
            assert (f"{dec} ({kind})", "pixcorr") in metrics and (f"{dec} ({kind})", "ssim") in metrics
            assert (f"{dec} ({kind})", "two_way[tiny layer1]") in metrics
    assert ("true embedding", "reencode_r[last repeat]") in metrics and ("ridge", "reencode_r[last repeat]") in metrics
    gen_imgs = np.load(out / "reconstructions" / "ridge_generated.npy")
    assert gen_imgs.shape[0] == 3 and gen_imgs.dtype == np.uint8 and gen_imgs.shape[-1] == 3
    assert (out / "reconstructions.png").stat().st_size > 1000
    assert (out / "decoders" / "mlp" / "model.safetensors").is_file()
    per = pd.read_csv(out / "per_image.csv")
    assert len(per) == 2 * 40 and "retrieved_id" in per
    # resume: decoders are not refitted (no fit_seconds rows), numbers identical
    again = run_reconstruct(cfg, out, progress=False)
    assert "fit_seconds" not in set(again.metrics["metric"])
    pd.testing.assert_frame_equal(again.retrieval, run.retrieval)
    from brainalign.reports.html import write_report

    html = write_report(out).read_text()
    assert "Retrieval" in html and "Metrics" in html and "data:image/png;base64" in html
    # a changed protocol is never answered from the old outputs: both decoders are refitted
    changed = load_reconstruct_config(_config(tmp_path, image_folder, vis, gen), ["train_on=means",
                                                                                   "reconstruction=retrieve"])
    third = run_reconstruct(changed, out, progress=False)
    assert set(third.metrics.loc[third.metrics.metric == "fit_seconds", "decoder"]) == {"ridge", "mlp"}
    assert (third.metrics["train_on"] == "means").all()


def test_reconstruct_errors(tmp_path, image_folder, tiny_models):
    vis, gen, dim = tiny_models
    runner = CliRunner()
    cfg = _config(tmp_path, image_folder, vis, gen)
    res = runner.invoke(app, ["reconstruct", "-c", str(cfg), "-o", str(tmp_path / "o1"), "-q",
                              "--set", "retrieval.n_candidates=300"])
    assert res.exit_code == 2 and "cannot fill 300-way retrieval" in res.output
    # the generator takes `dim`-d embeddings; decoding into layer1 (fewer channels) must fail clearly
    res = runner.invoke(app, ["reconstruct", "-c", str(cfg), "-o", str(tmp_path / "o2"), "-q",
                              "--set", "target.layer=layer1", "--set", "decoders=[{kind: ridge}]"])
    assert res.exit_code == 2 and f"expects {dim}" in res.output, res.output
    with pytest.raises(ConfigError, match="needs a generator"):
        load_reconstruct_config(cfg, ["generator=null"])
    with pytest.raises(ConfigError, match="unique"):
        load_reconstruct_config(cfg, ["decoders=[{kind: ridge}, {kind: ridge}]"])
    with pytest.raises(ConfigError, match="task must be"):
        load_reconstruct_config(None, ["name=x"])


def test_train_decoder_then_reconstruct_from_checkpoint(tmp_path, image_folder, tiny_models):
    vis, gen, dim = tiny_models
    runner = CliRunner()
    cfg = _config(tmp_path, image_folder, vis, gen, reconstruction="retrieve", feature_metrics=[])
    ck = tmp_path / "mlp_run"
    res = runner.invoke(app, ["train-decoder", "-c", str(cfg), "-d", "mlp", "-o", str(ck)])
    assert res.exit_code == 0, res.output
    assert (ck / "model.safetensors").is_file() and (ck / "config.json").is_file()
    res = runner.invoke(app, ["train-decoder", "-c", str(cfg), "-d", "ridge", "-o", str(tmp_path / "r")])
    assert res.exit_code == 2 and "trains mindeye decoders" in res.output
    res = runner.invoke(app, ["reconstruct", "-c", str(cfg), "-o", str(tmp_path / "rec"), "-q",
                              "--set", f"decoders=[{{kind: mindeye, name: mlp, checkpoint: {ck}}}]"])
    assert res.exit_code == 0, res.output
    assert not (tmp_path / "rec" / "decoders").exists()  # loaded, not trained
    ret = pd.read_csv(tmp_path / "rec" / "retrieval.csv")
    assert set(ret["decoder"]) == {"mlp"}
    missing = tmp_path / "nope"
    res = runner.invoke(app, ["reconstruct", "-c", str(cfg), "-o", str(tmp_path / "rec2"), "-q",
                              "--set", f"decoders=[{{kind: mindeye, checkpoint: {missing}}}]"])
    assert res.exit_code == 2 and "no MindEye run folder" in res.output, res.output
    with pytest.raises(ConfigError, match="use it with kind: mindeye"):
        load_reconstruct_config(cfg, [f"decoders=[{{kind: ridge, checkpoint: {ck}}}]"])
