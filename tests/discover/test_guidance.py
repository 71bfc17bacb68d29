"""Guided denoising on tiny random pipelines: a mechanics check (the gradient of the encoder's predicted ROI
activation raises it on the final images), not a claim about real generators."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(scope="module")
def encoder(score_run, tiny_entry):
    from brainalign.discovery.encoder_model import DifferentiableEncoder
    from brainalign.discovery.readout import Readout

    folder = next(p for p in (score_run / "jobs").iterdir() if "ridge_pooled" in p.name)
    return DifferentiableEncoder(tiny_entry, Readout.from_folder(folder))


def _activation(encoder, images, idx):
    return encoder.predict_images(images.reshape(-1, *images.shape[2:]))[:, idx].mean(1).reshape(images.shape[:2])


def test_ip_adapter_guidance_is_monotone_and_seeded(encoder, tmp_path):
    from brainalign.decoders.generators import load_generator
    from brainalign.discovery.guidance import guided_generate
    from brainalign.testing.tiny_generators import build_tiny_generator, tiny_generator_entry

    gen = load_generator(tiny_generator_entry("ip-adapter-sd15", build_tiny_generator("ip-adapter-sd15",
                                                                                      tmp_path / "sd15")))
    idx = np.arange(20, 40)

    def objective(x):
        return encoder(x)[:, idx].mean(1)

    scales = [0.0, 0.2, 0.4, 0.8]
    images = guided_generate(gen, objective, scales=scales, seeds=[0, 1, 2], steps=4)
    act = _activation(encoder, images, idx).mean(1)
    assert np.all(np.diff(act) > 0), act
    # an image depends on its seed, not on its batch
    alone = guided_generate(gen, objective, scales=[0.4], seeds=[2], steps=4)
    assert np.abs(alone[0, 0].astype(int) - images[2, 2]).max() <= 1


def test_guidance_errors(encoder, unclip_folder):
    from diffusers import EulerDiscreteScheduler

    from brainalign.decoders.generators import load_generator
    from brainalign.discovery.guidance import guided_generate
    from brainalign.errors import DecoderError, ModelError
    from brainalign.testing.tiny_generators import tiny_generator_entry

    gen = load_generator(tiny_generator_entry("stable-unclip", unclip_folder))
    with pytest.raises(DecoderError, match="multiples of 2"):
        guided_generate(gen, lambda x: x.mean((1, 2, 3)), scales=[1.0], seeds=[0], height=31)
    gen.pipeline.scheduler = EulerDiscreteScheduler.from_config(gen.pipeline.scheduler.config)
    with pytest.raises(ModelError, match="guidance needs a DDPM/DDIM-type scheduler"):
        guided_generate(gen, lambda x: x.mean((1, 2, 3)), scales=[1.0], seeds=[0])
