"""ImageStimulusSet: ordering, hashing, grayscale, and one-line errors."""

import numpy as np
import pytest
from PIL import Image

from brainalign.data.images import ImageStimulusSet
from brainalign.errors import DataError


def _write(folder, names, mode="RGB", size=(20, 16)):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(len(names))
    for n in names:
        shape = (size[1], size[0]) if mode == "L" else (size[1], size[0], 3)
        Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8), mode=None).save(folder / n)
    return folder


def test_folder_sorted_numerically_and_named(tmp_path):
    folder = _write(tmp_path / "imgs", ["10.png", "2.png", "0.png", "1.png"])
    (folder / "notes.txt").write_text("not an image")
    images = ImageStimulusSet.from_folder(folder)
    assert images.names == ("0", "1", "2", "10") and len(images) == 4
    assert images.load(3).mode == "RGB" and images.load(3).size == (20, 16)


def test_hash_tracks_pixels_not_paths(tmp_path):
    a = ImageStimulusSet.from_folder(_write(tmp_path / "a", ["0.png", "1.png"]))
    b = ImageStimulusSet.from_folder(_write(tmp_path / "b", ["0.png", "1.png"]))  # same rng -> same pixels
    assert a.content_hash() == b.content_hash()
    assert a.content_hash() != a.subset([1, 0]).content_hash()
    arr = ImageStimulusSet.from_arrays("x", [a.load_array(0), a.load_array(1)])
    assert arr.content_hash() == a.content_hash()


def test_grayscale_becomes_rgb(tmp_path):
    folder = _write(tmp_path / "g", ["0.png"], mode="L")
    img = ImageStimulusSet.from_folder(folder).load(0)
    a = np.asarray(img)
    assert img.mode == "RGB" and a.shape == (16, 20, 3)
    assert (a[..., 0] == a[..., 1]).all() and (a[..., 1] == a[..., 2]).all()
    grey = ImageStimulusSet.from_arrays("g", [np.zeros((5, 6), dtype=np.uint8), np.ones((5, 6, 1)) * 0.5])
    assert grey.load_array(1).shape == (5, 6, 3) and grey.load_array(1)[0, 0, 0] == 128


def test_errors_are_one_line(tmp_path):
    with pytest.raises(DataError, match="missing"):
        ImageStimulusSet.from_files("m", [tmp_path / "nope.jpg"])
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "readme.txt").write_text("x")
    with pytest.raises(DataError, match="no images"):
        ImageStimulusSet.from_folder(tmp_path / "empty")
    with pytest.raises(DataError, match="does not exist"):
        ImageStimulusSet.from_folder(tmp_path / "absent")
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "0.jpg").write_bytes(b"not a jpeg at all")
    bad = ImageStimulusSet.from_folder(tmp_path / "bad")
    with pytest.raises(DataError, match="cannot read image") as err:
        bad.load(0)
    assert "\n" not in str(err.value)
    with pytest.raises(DataError, match="strict_size"):
        ImageStimulusSet.from_arrays("s", [np.zeros((8, 8, 3), np.uint8), np.zeros((8, 9, 3), np.uint8)],
                                     strict_size=(8, 8))
    with pytest.raises(DataError, match="in \\[0, 1\\]"):
        ImageStimulusSet.from_arrays("f", [np.full((4, 4), 3.0)])
    with pytest.raises(DataError, match="shape"):
        ImageStimulusSet.from_arrays("c", [np.zeros((4, 4, 2), np.uint8)])


def test_file_strict_size_and_kay_without_mirror(tmp_path, monkeypatch):
    folder = _write(tmp_path / "s", ["0.png"])
    with pytest.raises(DataError, match="strict_size"):
        ImageStimulusSet.from_folder(folder, strict_size=(8, 8)).load(0)
    monkeypatch.delenv("BRAINALIGN_DATA_MIRROR", raising=False)
    with pytest.raises(DataError, match="BRAINALIGN_DATA_MIRROR"):
        ImageStimulusSet.kay2008()
    with pytest.raises(DataError, match="kay2008_stimuli"):
        ImageStimulusSet.kay2008(tmp_path)


def test_preprocess_shapes():
    from brainalign.features.image_preprocess import ImagePreprocess

    img = Image.fromarray(np.full((40, 60, 3), 255, np.uint8))
    x = ImagePreprocess(resize=32, crop=24).image(img)
    assert x.shape == (3, 24, 24) and x.dtype == np.float32
    np.testing.assert_allclose(x[:, 0, 0], (1 - np.array([0.485, 0.456, 0.406])) / np.array([0.229, 0.224, 0.225]),
                               rtol=1e-5)
    assert ImagePreprocess(resize=17, resize_mode="squash").image(img).shape == (3, 17, 17)
