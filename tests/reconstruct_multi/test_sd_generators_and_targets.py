"""The sd-img2img / sd-controlnet-depth generator kinds and the cached decoding targets on tiny random models."""

from __future__ import annotations

import numpy as np
import pytest

from brainalign.errors import ConfigError, DecoderError, ModelError


@pytest.fixture(scope="module")
def gens(tiny):
    from brainalign.decoders.sd_controlnet_depth import load_sd_controlnet_depth
    from brainalign.decoders.sd_img2img import load_sd_img2img

    return load_sd_img2img("tiny-mi-sd"), load_sd_controlnet_depth("tiny-mi-cn")


def test_sd_kinds_generate_from_each_input_set(gens):
    sd, cn = gens
    assert sd.latent_shape() == (4, 16, 16) and sd.text_shape == (16, 32)
    rng = np.random.default_rng(0)
    z = rng.normal(size=(3, 4, 16, 16)).astype(np.float32)
    c = sd.encode_text(["a disk", "a square", "a cat"])
    depth = rng.random((3, 8, 8)).astype(np.float32)
    z_only = sd.generate(latents=z)
    np.testing.assert_array_equal(z_only, sd.decode_latents(z))  # z alone: the VAE decoder, no diffusion
    zc = sd.generate(latents=z, text_embeds=c, seeds=1, strength=0.6, batch_size=3)
    one = sd.generate(latents=z, text_embeds=c, seeds=[1, 2, 3], strength=0.6, batch_size=1)
    assert np.abs(zc.astype(int) - one).max() <= 1  # an image does not depend on its batch
    assert np.array_equal(sd.generate(prompts=["a disk", "a square", "a cat"], seeds=1), sd.generate(text_embeds=c,
                                                                                                    seeds=1))
    zcd = cn.generate(latents=z, text_embeds=c, depth=depth, seeds=1, strength=0.6)
    other = cn.generate(latents=z, text_embeds=c, depth=depth[::-1].copy(), seeds=1, strength=0.6)
    assert zcd.shape == (3, 32, 32, 3) and zcd.dtype == np.uint8
    assert np.abs(zcd.astype(int) - other).mean() > 0.5 and np.abs(zcd.astype(int) - zc).mean() > 0.5
    assert cn.generate(text_embeds=c, depth=depth, seeds=1).shape == (3, 32, 32, 3)


def test_sd_kind_errors(gens, tiny):
    from brainalign.decoders.generator_registry import GeneratorEntry
    from brainalign.decoders.sd_img2img import load_sd_img2img

    sd, cn = gens
    z = np.zeros((2, 4, 16, 16), np.float32)
    with pytest.raises(DecoderError, match="takes no depth; use a generator of kind sd-controlnet-depth"):
        sd.generate(latents=z, depth=np.zeros((2, 8, 8)))
    with pytest.raises(DecoderError, match="latents have 3 channels but generator 'tiny-mi-sd'"):
        sd.generate(latents=np.zeros((2, 3, 16, 16)), text_embeds=sd.encode_text(["a", "b"]))
    with pytest.raises(DecoderError, match=r"text_embeds have shape \(8, 32\) per image"):
        sd.generate(text_embeds=np.zeros((2, 8, 32)))
    with pytest.raises(DecoderError, match="disagree on the number of images"):
        sd.generate(latents=z, prompts=["one"])
    with pytest.raises(DecoderError, match="needs a depth map per image"):
        cn.generate(latents=z, text_embeds=sd.encode_text(["a", "b"]))
    with pytest.raises(ValueError, match="needs 'controlnet_id'"):
        GeneratorEntry(name="x", kind="sd-controlnet-depth", model_id="a/b")
    with pytest.raises(ConfigError, match="this loader takes kind 'sd-img2img'"):
        load_sd_img2img("tiny-mi-cn")
    with pytest.raises(ModelError, match="not in the Hugging Face cache"):
        load_sd_img2img(GeneratorEntry(name="remote", kind="sd-img2img", model_id="brainalign-tests/no-such-sd"))


def test_decoding_targets_are_cached_by_content(tiny, planted, tmp_path):
    from brainalign.cache.activations import ActivationStore
    from brainalign.data.images import ImageStimulusSet
    from brainalign.features.decoding_targets.depth_maps import extract_depth_maps
    from brainalign.features.decoding_targets.text_embeddings import extract_text_embeddings
    from brainalign.features.decoding_targets.vae_latents import extract_vae_latents

    folder, _ = planted
    images = ImageStimulusSet.from_folder(folder, "*.png").subset(range(6))
    store = ActivationStore(tmp_path / "acts")
    sd = str(tiny["folders"]["sd"])
    key, z = extract_vae_latents(sd, images, size=32, revision="local", device="cpu", store=store, progress=False)
    assert z.shape == (6, 4, 16, 16) and z.std() > 0
    key2, z2 = extract_vae_latents(sd, images, size=32, revision="local", device="cpu", batch_size=2, store=store,
                                   progress=False)
    assert key2 == key and np.array_equal(z, z2)  # batch size is not identity
    other, _ = extract_vae_latents(sd, images.subset([1, 0, 2, 3, 4, 5]), size=32, revision="local", device="cpu",
                                   store=store, progress=False)
    assert other != key
    caps = [["a disk"], ["a disk", "a round shape"]] + [["x"]] * 4
    _, c = extract_text_embeddings(sd, caps, revision="local", device="cpu", store=store, progress=False)
    _, c1 = extract_text_embeddings(sd, [["a disk"], ["a round shape"]], revision="local", device="cpu",
                                    store=store, progress=False)
    assert c.shape == (6, 16, 32)
    np.testing.assert_allclose(c[1], (c[0] + c1[1]) / 2, atol=1e-5)  # the mean over an image's captions
    _, d = extract_depth_maps("tiny-mi-dpt", images, size=16, device="cpu", store=store, progress=False)
    assert d.shape == (6, 16, 16) and d.min() == 0 and np.allclose(d.max(axis=(1, 2)), 1)
