"""Opt-in readout saving of vision score runs and the differentiable encoder that reads it back."""

from __future__ import annotations

import numpy as np
import pytest

from tests.discover.conftest import vision_raw


def _cfg(raw):
    from brainalign.config.loading import validate_config
    from brainalign.config.vision import VisionScoreConfig

    return validate_config(VisionScoreConfig, raw, "test")


def test_weights_off_leaves_keys_alone_and_on_adds_one_field(image_folder, tiny_entry):
    from brainalign.tasks.vision.plan import plan
    from brainalign.tasks.vision.prepare import prepare

    raw = vision_raw(image_folder, tiny_entry)
    raw.pop("save_weights")
    off = _cfg(raw)
    context = prepare(off, progress=False)
    default = plan(off, context)
    explicit = plan(_cfg({**raw, "save_weights": False}), context)
    on = plan(_cfg({**raw, "save_weights": True}), context)
    assert [j.uid for j in default] == [j.uid for j in explicit]
    assert all("weights" not in j.key for j in default)
    for a, b in zip(default, on, strict=True):
        if a.spec.kind == "encode":
            assert b.key == {**a.key, "weights": "ridge-readout/1"} and a.uid != b.uid
        else:
            assert a.uid == b.uid  # the ground truth saves no readout


def test_saved_readout_reproduces_the_score_job(score_run, tiny_entry):
    from brainalign.config.loading import validate_config
    from brainalign.discovery.encoder_model import DifferentiableEncoder
    from brainalign.discovery.readout import Readout
    from brainalign.engine import ResultStore
    from brainalign.tasks.discover.prepare import read_score_config
    from brainalign.tasks.vision.job import design
    from brainalign.tasks.vision.plan import plan
    from brainalign.tasks.vision.prepare import prepare

    assert validate_config is not None
    vcfg = read_score_config(score_run)
    context = prepare(vcfg, progress=False)
    store = ResultStore(score_run / "jobs")
    jobs = [j for j in plan(vcfg, context) if j.spec.kind == "encode"]
    assert {j.spec.encoder for j in jobs} == {"ridge_pooled", "ridge_flat"}
    for job in jobs:
        ro = Readout.from_folder(store.path(job.uid))
        assert ro.feature_space["layer"] == "layer2" and ro.feature_space["design"] == job.spec.encoder
        X = design(context.sources[job.spec.source].load("layer2"), job.spec.encoder)
        pred = ro.predict(X[context.test])
        np.testing.assert_allclose(pred, store.array(job.uid, "pred"), rtol=1e-3, atol=1e-3)
        # the torch encoder on the images (PIL preprocessing) gives the cached-feature prediction
        enc = DifferentiableEncoder(tiny_entry, ro)
        from brainalign.tasks.discover.prepare import _run_images

        images = _run_images(vcfg)
        arr = np.stack([images.load_array(i) for i in range(6)])
        np.testing.assert_allclose(enc.predict_images(arr), ro.predict(X[:6]), rtol=1e-3, atol=1e-3)


def test_differentiable_path_matches_and_has_gradients(score_run, tiny_entry):
    import torch

    from brainalign.discovery.encoder_model import DifferentiableEncoder
    from brainalign.discovery.readout import Readout

    folder = next(p for p in (score_run / "jobs").iterdir() if "ridge_flat" in p.name)
    enc = DifferentiableEncoder(tiny_entry, Readout.from_folder(folder))
    rng = np.random.default_rng(0)
    imgs = rng.integers(0, 256, (3, 32, 32, 3), dtype=np.uint8)  # the model's input size: no resampling
    x = torch.from_numpy(imgs).permute(0, 3, 1, 2).float().div(255).requires_grad_(True)
    pred = enc(x)
    np.testing.assert_allclose(pred.detach().numpy(), enc.predict_images(imgs), rtol=1e-4, atol=1e-4)
    pred[:, :5].mean().backward()
    assert x.grad is not None and float(x.grad.abs().sum()) > 0


def test_changed_model_is_another_feature_space(score_run, tiny_entry):
    from brainalign.discovery.encoder_model import DifferentiableEncoder
    from brainalign.discovery.readout import Readout
    from brainalign.errors import ConfigError
    from brainalign.features.image_preprocess import ImagePreprocess

    folder = next(p for p in (score_run / "jobs").iterdir() if "ridge_pooled" in p.name)
    other = tiny_entry.model_copy(update={"preprocess": ImagePreprocess(resize=40, crop=32)})
    with pytest.raises(ConfigError, match=r"another feature space than the encoder: preprocess"):
        DifferentiableEncoder(other, Readout.from_folder(folder))


def test_captioner_registry_yaml_loads():
    from brainalign.discovery.captioner import CAPTIONERS

    entry = CAPTIONERS.get("clipcap-cc3m-vitb32")
    assert entry.embed_dim == 512 and entry.lm_id == "openai-community/gpt2" and entry.prefix_length == 10
