"""Generator registry and tiny random diffusers pipelines: decoded embeddings -> images -> PNG grid."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("diffusers")
torch = pytest.importorskip("torch")

from brainalign.decoders.generators import (  # noqa: E402
    GeneratorEntry,
    get_generator_entry,
    load_generator,
    load_generator_entries,
    register_generator_entry,
    unregister_generator_entry,
)
from brainalign.errors import ConfigError, DecoderError, ModelError  # noqa: E402
from brainalign.testing.fixtures import offline_one_thread  # noqa: E402
from brainalign.testing.tiny_generators import (  # noqa: E402
    EMBED_DIM,
    IMAGE_SIZE,
    build_tiny_generator,
    tiny_generator_entry,
)

N = 4


@pytest.fixture(scope="module", autouse=True)
def _offline_one_thread():
    """HF offline; one torch thread (tiny models on 2 shared cores are far slower with two)."""
    with offline_one_thread():
        yield


@pytest.fixture(scope="module")
def folders(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("tiny_generators")
    return {kind: build_tiny_generator(kind, root / kind)
            for kind in ("stable-unclip", "kandinsky22", "ip-adapter-sd15", "ip-adapter-sdxl")}


@pytest.fixture(scope="module")
def unclip(folders):
    return load_generator(tiny_generator_entry("stable-unclip", folders["stable-unclip"]))


@pytest.fixture(scope="module")
def embeds() -> np.ndarray:
    """Stand-in for decoded embeddings: (N, EMBED_DIM) float32."""
    return np.random.default_rng(0).normal(size=(N, EMBED_DIM)).astype(np.float32)


@pytest.fixture(scope="module")
def init_images() -> np.ndarray:
    """Low-level init images of another size than the output (resized by the generator)."""
    return np.random.default_rng(1).integers(0, 256, size=(N, 40, 48, 3), dtype=np.uint8)


def _differ(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(int) - b.astype(int)).mean())


def _same_up_to_rounding(a: np.ndarray, b: np.ndarray) -> None:
    """Equal but for float noise from other batch shapes (a pixel level here and there)."""
    assert a.shape == b.shape
    assert np.abs(a.astype(int) - b.astype(int)).max() <= 1 and _differ(a, b) < 0.01


# ------------------------------------------------------------------------------------------- registry


def test_registry_yaml_has_the_generators():
    entries = load_generator_entries()
    dims = {name: e.embed_dim for name, e in entries.items()}
    assert dims["stable-unclip-h"] == 1024 and dims["stable-unclip-l"] == 768
    assert dims["kandinsky-2.2"] == 1280
    assert dims["ip-adapter-sd15"] == 1024 and dims["ip-adapter-sdxl"] == 1280
    assert entries["stable-unclip-h"].model_id == "stabilityai/stable-diffusion-2-1-unclip"
    assert entries["kandinsky-2.2"].model_id == "kandinsky-community/kandinsky-2-2-decoder"
    assert entries["ip-adapter-sd15"].adapter_id == "h94/IP-Adapter"
    assert {e.kind for e in entries.values()} == {"stable-unclip", "kandinsky22", "ip-adapter-sd15", "ip-adapter-sdxl",
                                                  "sd-img2img", "sd-controlnet-depth"}


def test_multi_input_kinds_are_not_embedding_generators():
    entry = next(e for e in load_generator_entries().values() if e.kind == "sd-img2img")
    with pytest.raises(ConfigError, match="multi_input section"):
        load_generator(entry)


def test_unknown_name_lists_known_ones():
    with pytest.raises(ConfigError, match=r"unknown generator 'nope'; known: .*kandinsky-2\.2.*stable-unclip-h"):
        load_generator("nope")


def test_entry_validation():
    with pytest.raises(ValueError, match="adapter_id"):
        GeneratorEntry(name="x", kind="ip-adapter-sd15", model_id="a/b")
    with pytest.raises(ValueError, match="no text prompt"):
        GeneratorEntry(name="x", kind="kandinsky22", model_id="a/b", prompt="a cat")


def test_registered_entry_resolves_by_name(folders):
    entry = tiny_generator_entry("stable-unclip", folders["stable-unclip"], name="tiny-unclip-registered")
    register_generator_entry(entry)
    try:
        assert get_generator_entry("tiny-unclip-registered") == entry
        assert load_generator("tiny-unclip-registered").embed_dim == EMBED_DIM
    finally:
        unregister_generator_entry("tiny-unclip-registered")
    with pytest.raises(ConfigError):
        get_generator_entry("tiny-unclip-registered")


def test_missing_folder_and_not_a_pipeline(tmp_path):
    with pytest.raises(ModelError, match="does not exist"):
        load_generator(tiny_generator_entry("stable-unclip", tmp_path / "missing"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelError, match="no model_index.json"):
        load_generator(tiny_generator_entry("stable-unclip", tmp_path / "empty"))


def test_offline_hub_id_not_cached_says_how_to_fix():
    entry = GeneratorEntry(name="remote", kind="stable-unclip", model_id="brainalign-tests/no-such-unclip")
    with pytest.raises(ModelError, match=r"not in the Hugging Face cache and HF_HUB_OFFLINE.*hf download"):
        load_generator(entry)


def test_wrong_kind_for_folder_and_wrong_embed_dim(folders):
    with pytest.raises(ModelError, match="cannot load .* as kind 'stable-unclip'"):
        load_generator(tiny_generator_entry("stable-unclip", folders["kandinsky22"]))
    with pytest.raises(ConfigError, match="embed_dim=1024 in its entry but .* takes 16-d"):
        load_generator(tiny_generator_entry("stable-unclip", folders["stable-unclip"], embed_dim=1024))
    # embed_dim=None: read from the model
    assert load_generator(tiny_generator_entry("kandinsky22", folders["kandinsky22"], embed_dim=None)).embed_dim == 16


# ------------------------------------------------------------------------------------- stable unCLIP


def test_unclip_end_to_end_to_grid(unclip, embeds, tmp_path):
    from PIL import Image

    from brainalign.reports.image_grid import save_image_grid

    images = unclip.generate(embeds, seeds=7, batch_size=3, progress=False)
    assert images.shape == (N, IMAGE_SIZE, IMAGE_SIZE, 3) and images.dtype == np.uint8
    assert images.std() > 0
    again = unclip.generate(embeds, seeds=7, batch_size=3, progress=False)
    np.testing.assert_array_equal(images, again)
    one_by_one = unclip.generate(embeds, seeds=[7, 8, 9, 10], batch_size=1, progress=False)
    _same_up_to_rounding(images, one_by_one)  # an image does not depend on its batch
    other_seed = unclip.generate(embeds, seeds=100, batch_size=3, progress=False)
    assert _differ(images, other_seed) > 1
    other_embeds = unclip.generate(embeds[::-1].copy(), seeds=7, batch_size=3, progress=False)
    assert _differ(images, other_embeds) > 1

    truth = np.random.default_rng(2).integers(0, 256, size=(N, 64, 64, 3), dtype=np.uint8)
    path = save_image_grid(truth, {"unclip": images, "unclip seed 100": other_seed}, tmp_path / "grid.png")
    assert path.is_file()
    with Image.open(path) as grid:
        assert grid.format == "PNG" and grid.size[1] >= 3 * 64


def test_unclip_matches_the_pipeline_call(unclip, folders, embeds):
    """Without init images the loop run here is StableUnCLIPImg2ImgPipeline.__call__."""
    from diffusers import StableUnCLIPImg2ImgPipeline

    ours = unclip.generate(embeds, seeds=3, steps=3, guidance=4.0, batch_size=N, progress=False)
    gens = [torch.Generator("cpu").manual_seed(3 + i) for i in range(N)]
    pipe = StableUnCLIPImg2ImgPipeline.from_pretrained(folders["stable-unclip"])  # with its image encoder
    pipe.set_progress_bar_config(disable=True)
    ref = pipe(image_embeds=torch.from_numpy(embeds), prompt=[""] * N, generator=gens,
                          num_inference_steps=3, guidance_scale=4.0, height=IMAGE_SIZE, width=IMAGE_SIZE,
                          output_type="np").images
    ref = (np.clip(ref, 0, 1) * 255).round().astype(np.uint8)
    assert np.abs(ours.astype(int) - ref.astype(int)).max() <= 1


def test_unclip_init_images(unclip, embeds, init_images):
    plain = unclip.generate(embeds, seeds=0, progress=False)
    a = unclip.generate(embeds, seeds=0, init_images=init_images, strength=0.5, batch_size=3, progress=False)
    b = unclip.generate(embeds, seeds=0, init_images=init_images, strength=0.5, batch_size=1, progress=False)
    assert a.shape == (N, IMAGE_SIZE, IMAGE_SIZE, 3) and a.dtype == np.uint8
    _same_up_to_rounding(a, b)
    assert _differ(a, plain) > 1
    other_init = unclip.generate(embeds, seeds=0, init_images=init_images[::-1].copy(), strength=0.5,
                                 progress=False)
    assert _differ(a, other_init) > 1
    negative = unclip.generate(embeds, seeds=0, negative_embeds=embeds.mean(0), progress=False)
    assert _differ(negative, plain) > 0.5


def test_unclip_input_errors(unclip, embeds, init_images):
    with pytest.raises(DecoderError, match=r"decoded embeddings have d=8 but generator 'tiny-stable-unclip' "
                                           r"expects 16; decode into that generator's CLIP space"):
        unclip.generate(embeds[:, :8], progress=False)
    with pytest.raises(DecoderError, match=r"2-D array .*\(use embeds\[None\] for one image\)"):
        unclip.generate(embeds[0], progress=False)
    with pytest.raises(DecoderError, match="NaN"):
        unclip.generate(np.full((1, EMBED_DIM), np.nan), progress=False)
    with pytest.raises(DecoderError, match="3 seeds for 4 embeddings"):
        unclip.generate(embeds, seeds=[1, 2, 3], progress=False)
    with pytest.raises(DecoderError, match="uint8"):
        unclip.generate(embeds, init_images=init_images.astype(np.float32), progress=False)
    with pytest.raises(DecoderError, match="3 images but embeds has 4"):
        unclip.generate(embeds, init_images=init_images[:3], progress=False)
    with pytest.raises(DecoderError, match="no denoising step"):
        unclip.generate(embeds, init_images=init_images, steps=2, strength=0.4, progress=False)
    with pytest.raises(DecoderError, match="multiples of 2"):  # the tiny VAE downsamples by 2
        unclip.generate(embeds, height=31, progress=False)


# -------------------------------------------------------------------------------- Kandinsky, IP-Adapter


def test_kandinsky(folders, embeds, init_images):
    gen = load_generator(tiny_generator_entry("kandinsky22", folders["kandinsky22"]))
    a = gen.generate(embeds, seeds=5, batch_size=3, progress=False)
    assert a.shape == (N, IMAGE_SIZE, IMAGE_SIZE, 3) and a.dtype == np.uint8
    np.testing.assert_array_equal(a, gen.generate(embeds, seeds=5, batch_size=3, progress=False))
    assert _differ(a, gen.generate(embeds, seeds=6, batch_size=3, progress=False)) > 1
    assert _differ(a, gen.generate(embeds, seeds=5, negative_embeds=embeds[::-1].copy(), progress=False)) > 0.5
    init = gen.generate(embeds, seeds=5, init_images=init_images, strength=0.5, progress=False)
    assert init.shape == a.shape and _differ(init, a) > 1
    with pytest.raises(DecoderError, match="takes no text prompt"):
        gen.generate(embeds, prompt="a cat", progress=False)


@pytest.mark.parametrize("kind", ["ip-adapter-sd15", "ip-adapter-sdxl"])
def test_ip_adapter(kind, folders, embeds, init_images):
    gen = load_generator(tiny_generator_entry(kind, folders[kind]))
    a = gen.generate(embeds, seeds=0, batch_size=N, progress=False)
    assert a.shape == (N, IMAGE_SIZE, IMAGE_SIZE, 3) and a.dtype == np.uint8
    # one embedding per image within a batch (diffusers would repeat one IP image for every prompt)
    _same_up_to_rounding(a, gen.generate(embeds, seeds=0, batch_size=1, progress=False))
    assert _differ(a, gen.generate(embeds * 0, seeds=0, batch_size=N, progress=False)) > 0.5
    init = gen.generate(embeds, seeds=0, init_images=init_images, strength=0.75, batch_size=N, progress=False)
    assert init.shape == a.shape and _differ(init, a) > 1
    _same_up_to_rounding(
        init, gen.generate(embeds, seeds=0, init_images=init_images, strength=0.75, batch_size=1, progress=False))
    assert not hasattr(gen.pipeline, "__dict__") or "prepare_ip_adapter_image_embeds" not in vars(gen.pipeline)


def test_importing_generators_does_not_import_torch():
    code = ("import sys, brainalign, brainalign.decoders.generators, brainalign.reports.image_grid; "
            "sys.exit('torch' in sys.modules or 'diffusers' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
