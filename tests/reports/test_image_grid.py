"""Reconstruction grid PNG: truth on top, one row per method, common cell size, atomic write."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from brainalign.errors import DataError
from brainalign.reports.image_grid import save_image_grid


def _images(n: int, h: int, w: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(n, h, w, 3), dtype=np.uint8)


def test_layout_without_titles_places_truth_exactly(tmp_path):
    truth = _images(3, 16, 16)
    out = save_image_grid(truth, {"a": _images(3, 16, 16, 1), "b": _images(3, 32, 32, 2)}, tmp_path / "g.png",
                          titles=False, pad=2)
    with Image.open(out) as im:
        grid = np.asarray(im.convert("RGB"))
    assert grid.shape == (2 + 3 * 18, 2 + 3 * 18, 3)  # 3 rows (truth, a, b) x 3 columns
    np.testing.assert_array_equal(grid[2:18, 2:18], truth[0])
    np.testing.assert_array_equal(grid[2:18, 20:36], truth[1])
    np.testing.assert_array_equal(grid[20:36, 2:18], _images(3, 16, 16, 1)[0])
    big = Image.fromarray(_images(3, 32, 32, 2)[0]).resize((16, 16), Image.Resampling.LANCZOS)
    np.testing.assert_array_equal(grid[38:54, 2:18], np.asarray(big))  # the 32x32 row, resized to the cell


def test_titles_max_images_and_cell_size(tmp_path):
    truth = _images(12, 20, 20)
    rows = {"ridge -> unCLIP": np.random.default_rng(3).random((12, 64, 64, 3)), "gray": _images(12, 8, 8)[..., 0]}
    plain = save_image_grid(truth, rows, tmp_path / "plain.png", max_images=5, titles=False, cell_size=40)
    titled = save_image_grid(truth, rows, tmp_path / "titled.png", max_images=5, cell_size=40)
    with Image.open(plain) as a, Image.open(titled) as b:
        assert a.size == (4 + 5 * 44, 4 + 3 * 44)
        assert b.size[0] > a.size[0] and b.size[1] > a.size[1]  # a label column and an index header
        labels = np.asarray(b.convert("L"))[:, : b.size[0] - a.size[0]]
    assert labels.min() < 128  # some text was drawn


def test_atomic_overwrite_leaves_no_temp_files(tmp_path):
    path = tmp_path / "sub" / "grid.png"
    save_image_grid(_images(2, 8, 8), {"x": _images(2, 8, 8, 1)}, path)
    first = path.read_bytes()
    save_image_grid(_images(2, 8, 8, 5), {"x": _images(2, 8, 8, 6)}, path)
    assert path.read_bytes() != first
    assert sorted(p.name for p in path.parent.iterdir()) == ["grid.png"]


def test_errors(tmp_path):
    with pytest.raises(DataError, match="row 'x' has 1 images but truth has 2"):
        save_image_grid(_images(2, 8, 8), {"x": _images(1, 8, 8)}, tmp_path / "g.png")
    with pytest.raises(DataError, match=r"truth: expected images shaped \(n, H, W, 3\)"):
        save_image_grid(np.zeros((2, 8)), {}, tmp_path / "g.png")
    with pytest.raises(DataError, match=r"\[0, 1\]"):
        save_image_grid(_images(2, 8, 8), {"x": np.full((2, 8, 8, 3), 3.0)}, tmp_path / "g.png")
    assert not (tmp_path / "g.png").exists()
