"""brainalign.splits reproduces the folds of scikit-learn and of the fold makers it replaced, for the same inputs."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.model_selection import GroupKFold, KFold, LeaveOneGroupOut

from brainalign import splits
from brainalign.errors import ConfigError


def _same(a, b) -> None:
    assert len(a) == len(b)
    for (t1, v1), (t2, v2) in zip(a, b, strict=True):
        np.testing.assert_array_equal(t1, t2)
        np.testing.assert_array_equal(v1, v2)


def _groups(rng: np.random.Generator, shuffle: bool, as_str: bool) -> np.ndarray:
    n_groups = int(rng.integers(5, 30))
    g = np.repeat(rng.permutation(n_groups * 3)[:n_groups], rng.integers(1, 9, n_groups))
    g = rng.permutation(g) if shuffle else g
    return g.astype(str) if as_str else g


@pytest.mark.parametrize("seed", range(12))
def test_same_folds_as_sklearn(seed: int) -> None:
    rng = np.random.default_rng(seed)
    g = _groups(rng, shuffle=bool(seed % 2), as_str=seed % 3 == 0)
    n = g.size
    for k in (2, 3, 5):
        _same(splits.group_kfold(g, k), list(GroupKFold(k).split(np.zeros(n), groups=g)))
        _same(splits.kfold_blocks(n, k), list(KFold(k).split(np.zeros(n))))
        shuffled = [(np.sort(a), np.sort(b)) for a, b in KFold(k, shuffle=True, random_state=seed).split(np.zeros(n))]
        _same(splits.kfold_shuffled(n, k, seed), shuffled)
        _same(splits.make_splits(g, k, "shuffled", seed), shuffled)
        _same(splits.make_splits(g, k, "grouped"), splits.group_kfold(g, k))
        _same(splits.cv_folds(k, n, g), splits.group_kfold(g, k))
        _same(splits.cv_folds(GroupKFold(k), n, g), splits.group_kfold(g, k))
    _same(splits.leave_one_group_out(g), list(LeaveOneGroupOut().split(np.zeros(n), groups=g)))


def test_contiguous_blocks_in_order_of_appearance() -> None:
    folds = splits.contiguous_group_folds(np.repeat(np.array([5, 3, 9, 1]), 2), 2)
    assert folds[0][1].tolist() == [0, 1, 2, 3] and folds[1][1].tolist() == [4, 5, 6, 7]


def test_image_helpers_keep_their_folds() -> None:
    """``data.visual.train_test_images`` and the readouts' validation split are ``group_train_test``."""
    from brainalign.data.visual import image_folds, train_test_images
    from brainalign.encoders._torch_training import validation_split

    for seed in range(5):
        perm = np.random.default_rng(seed).permutation(37)
        tr, te = train_test_images(37, 0.2, seed)
        np.testing.assert_array_equal(te, np.sort(perm[:7]))
        np.testing.assert_array_equal(tr, np.sort(perm[7:]))
        g = np.repeat(np.arange(20), 3)
        _same([validation_split(60, 0.15, g, seed)], [splits.group_train_test(g, 0.15, seed)])
        _same(image_folds(37, 5, seed), splits.shuffled_group_folds(np.arange(37), 5, seed))


def test_errors_are_config_and_value_errors() -> None:
    with pytest.raises(ConfigError, match="exceeds the 3 groups"):
        splits.make_splits(np.array([0, 0, 1, 1, 2, 2]), 5)
    with pytest.raises(ValueError, match="n_samples = 1"):
        splits.kfold_blocks(1, 3)
    with pytest.raises(splits.SplitError, match="both sides"):
        splits.check_no_group_leak(np.arange(4) // 2, [(np.array([0, 2]), np.array([1, 3]))])
    with pytest.raises(splits.SplitError, match="groups must have shape"):
        splits.cv_folds(3, 10, np.arange(9))


def test_data_splits_reexports() -> None:
    from brainalign.data import splits as data_splits

    assert data_splits.make_splits is splits.make_splits
    assert data_splits.check_no_group_leak is splits.check_no_group_leak


def test_splits_module_imports_only_numpy_and_errors() -> None:
    import ast
    from pathlib import Path

    tree = ast.parse(Path(splits.__file__).read_text())
    mods = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    mods |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert mods <= {"__future__", "numbers", "collections.abc", "typing", "numpy", "brainalign.errors"}, mods
