"""Fold makers shared by data, encoders and decoders (numpy only; imports nothing of ours but errors).

Every fold is ``(train_idx, test_idx)`` of sorted int64 indices. The makers reproduce scikit-learn's orders where
they stand in for it (``KFold``, ``KFold(shuffle=True)``, ``GroupKFold``), so a run gives the same folds as before:

- :func:`kfold_blocks`: contiguous blocks of samples (``KFold(shuffle=False)``);
- :func:`kfold_shuffled`: shuffled samples (``KFold(shuffle=True, random_state=seed)``);
- :func:`group_kfold`: whole groups, balanced by size (``GroupKFold`` order);
- :func:`contiguous_group_folds`: whole groups, consecutive blocks in order of first appearance;
- :func:`shuffled_group_folds`: whole groups dealt round-robin over a seeded permutation;
- :func:`leave_one_group_out`: one fold per group, in sorted group order;
- :func:`group_train_test`: one seeded train/test split of whole groups;
- :func:`make_splits`: the outer-CV kinds of the config (``grouped``, ``contiguous``, ``shuffled``);
- :func:`cv_folds`: an estimator's ``cv`` (int, splitter with ``split``, or iterable of pairs) as a list of folds.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable
from typing import Any, Literal

import numpy as np

from brainalign.errors import ConfigError

SplitKind = Literal["grouped", "contiguous", "shuffled"]
Fold = tuple[np.ndarray, np.ndarray]


class SplitError(ConfigError, ValueError):
    """Folds cannot be made as asked (a ``ConfigError`` that is also a ``ValueError``)."""


def _codes(groups: Any) -> tuple[np.ndarray, np.ndarray]:
    """``(first index of each sorted unique group, code of each sample)``."""
    groups = np.asarray(groups)
    if groups.ndim != 1:
        raise SplitError(f"groups must be 1-D (n_samples,), got shape {groups.shape}")
    _, first, codes = np.unique(groups, return_index=True, return_inverse=True)
    return first, codes.reshape(-1)


def _folds_of(fold_of: np.ndarray, n_folds: int) -> list[Fold]:
    """Folds from the fold number of each sample ``(n,)``."""
    return [(np.flatnonzero(fold_of != f), np.flatnonzero(fold_of == f)) for f in range(n_folds)]


def _need_folds(n_folds: int, n_units: int, what: str) -> None:
    if int(n_folds) < 2:
        raise SplitError(f"cv needs at least 2 folds, got {n_folds}")
    if n_folds > n_units:
        count = f"n_samples = {n_units}" if what == "samples" else f"{n_units} {what}"
        raise SplitError(f"{n_folds} folds need at least {n_folds} {what}, got {count}; use fewer folds")


def kfold_blocks(n: int, n_folds: int) -> list[Fold]:
    """Contiguous blocks of ``n`` samples, the first ``n % n_folds`` one longer (as ``KFold(shuffle=False)``)."""
    _need_folds(n_folds, n, "samples")
    fold_of = np.empty(n, dtype=np.int64)
    for f, block in enumerate(np.array_split(np.arange(n), n_folds)):
        fold_of[block] = f
    return _folds_of(fold_of, n_folds)


def kfold_shuffled(n: int, n_folds: int, seed: int = 0) -> list[Fold]:
    """Blocks of a seeded shuffle of ``n`` samples (as ``KFold(shuffle=True, random_state=seed)``)."""
    _need_folds(n_folds, n, "samples")
    order = np.arange(n)
    np.random.RandomState(seed).shuffle(order)
    fold_of = np.empty(n, dtype=np.int64)
    for f, block in enumerate(np.array_split(order, n_folds)):
        fold_of[block] = f
    return _folds_of(fold_of, n_folds)


def group_kfold(groups: Any, n_folds: int) -> list[Fold]:
    """Whole groups per fold, largest groups first into the lightest fold (as scikit-learn's ``GroupKFold``)."""
    first, codes = _codes(groups)
    _need_folds(n_folds, first.size, "groups")
    sizes = np.bincount(codes, minlength=first.size)
    order = np.argsort(sizes, kind="stable")[::-1]
    load = np.zeros(n_folds)
    fold_of_group = np.zeros(first.size, dtype=np.int64)
    for g in order:
        lightest = int(np.argmin(load))
        load[lightest] += sizes[g]
        fold_of_group[g] = lightest
    return _folds_of(fold_of_group[codes], n_folds)


def contiguous_group_folds(groups: Any, n_folds: int) -> list[Fold]:
    """Whole groups, cut into consecutive blocks of groups in order of first appearance."""
    first, codes = _codes(groups)
    _need_folds(n_folds, first.size, "groups")
    rank = np.empty(first.size, dtype=np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(first.size)
    fold_of_rank = np.empty(first.size, dtype=np.int64)
    for f, block in enumerate(np.array_split(np.arange(first.size), n_folds)):
        fold_of_rank[block] = f
    return _folds_of(fold_of_rank[rank[codes]], n_folds)


def shuffled_group_folds(groups: Any, n_folds: int, seed: int = 0) -> list[Fold]:
    """Whole groups dealt round-robin to folds in the order of a seeded permutation of the sorted groups."""
    first, codes = _codes(groups)
    _need_folds(n_folds, first.size, "groups")
    perm = np.random.default_rng(seed).permutation(first.size)
    fold_of_group = np.empty(first.size, dtype=np.int64)
    fold_of_group[perm] = np.arange(first.size) % n_folds
    return _folds_of(fold_of_group[codes], n_folds)


def leave_one_group_out(groups: Any) -> list[Fold]:
    """One fold per group (sorted group order): that group is the test set."""
    first, codes = _codes(groups)
    if first.size < 2:
        raise SplitError(f"leave-one-group-out needs at least 2 groups, got {first.size}")
    return _folds_of(codes, first.size)


def group_train_test(groups: Any, test_fraction: float = 0.2, seed: int = 0) -> Fold:
    """One seeded split of whole groups: ``round(test_fraction * n_groups)`` groups (at least 1, at most all but
    one) are the test set."""
    if not 0 < test_fraction < 1:
        raise SplitError(f"test_fraction must be in (0, 1), got {test_fraction}")
    first, codes = _codes(groups)
    if first.size < 2:
        raise SplitError(f"a train/test split needs at least 2 groups, got {first.size}")
    perm = np.random.default_rng(seed).permutation(first.size)
    n_test = min(max(1, round(test_fraction * first.size)), first.size - 1)
    is_test = np.zeros(first.size, dtype=bool)
    is_test[perm[:n_test]] = True
    return np.flatnonzero(~is_test[codes]), np.flatnonzero(is_test[codes])


def make_splits(groups: Any, n_folds: int = 5, kind: SplitKind = "grouped", seed: int = 0) -> list[Fold]:
    """Outer-CV folds over ``len(groups)`` stimuli.

    Args:
        groups: ``(n_stimuli,)`` group label of each stimulus.
        n_folds: number of folds (at most the number of groups for grouped kinds).
        kind: ``"grouped"`` (:func:`group_kfold`), ``"contiguous"`` (:func:`contiguous_group_folds`) or
            ``"shuffled"`` (:func:`kfold_shuffled` over stimuli; leaks context for sequential data).
        seed: random seed, used by ``"shuffled"`` only.
    """
    groups = np.asarray(groups)
    n = groups.shape[0]
    if n_folds < 2:
        raise SplitError(f"cv needs at least 2 folds, got n_folds={n_folds}")
    if kind == "shuffled":
        if n_folds > n:
            raise SplitError(f"n_folds={n_folds} exceeds the {n} stimuli; lower cv.n_folds")
        return kfold_shuffled(n, n_folds, seed)
    if kind not in ("grouped", "contiguous"):
        raise SplitError(f"unknown split kind {kind!r}; use 'grouped', 'contiguous' or 'shuffled'")
    n_groups = np.unique(groups).size
    if n_folds > n_groups:
        raise SplitError(f"n_folds={n_folds} exceeds the {n_groups} groups; lower cv.n_folds or use finer groups")
    return group_kfold(groups, n_folds) if kind == "grouped" else contiguous_group_folds(groups, n_folds)


def check_no_group_leak(groups: Any, folds: Iterable[Fold]) -> None:
    """Raise :class:`SplitError` if any group appears on both sides of a fold."""
    groups = np.asarray(groups)
    for i, (tr, te) in enumerate(folds):
        both = np.intersect1d(groups[tr], groups[te])
        if both.size:
            raise SplitError(f"fold {i} has group {both[0]!r} on both sides; use a grouped split")


def _as_index(idx: Any, n: int, i: int) -> np.ndarray:
    a = np.asarray(idx)
    if a.dtype == bool:
        if a.shape != (n,):
            raise SplitError(f"cv fold {i}: a boolean mask must have shape ({n},), got {a.shape}")
        return np.flatnonzero(a)
    if a.ndim != 1 or a.size == 0 or not np.issubdtype(a.dtype, np.integer):
        raise SplitError(f"cv fold {i}: indices must be a non-empty 1-D integer array, got {a.dtype} {a.shape}")
    if a.min() < -n or a.max() >= n:
        raise SplitError(f"cv fold {i}: indices must lie in [0, {n}), got {a.min()}..{a.max()}")
    return a.astype(np.int64) % n


def cv_folds(cv: Any, n: int, groups: Any = None, y: Any = None) -> list[Fold]:
    """An estimator's ``cv`` as a list of folds over ``n`` samples.

    Args:
        cv: an int (``group_kfold`` of ``groups`` when given, else ``kfold_blocks``), an object with
            ``split(X, y, groups)`` (scikit-learn splitter; receives ``groups`` and ``y``), or an iterable of
            ``(train_idx, val_idx)`` pairs (index arrays or boolean masks).
        n: number of samples.
        groups: ``(n,)`` group labels or ``None``.
        y: targets handed to a splitter (e.g. class labels for ``StratifiedKFold``), else ``None``.
    """
    if groups is not None:
        groups = np.asarray(groups)
        if groups.shape != (n,):
            raise SplitError(f"groups must have shape ({n},) to match X, got {groups.shape}")
    if isinstance(cv, numbers.Integral) and not isinstance(cv, bool):
        return _int_folds(int(cv), n, groups)
    if isinstance(cv, str | bytes) or not (hasattr(cv, "split") or isinstance(cv, Iterable)):
        raise SplitError(f"cv must be an int, a splitter with split(X, y, groups) or (train, test) pairs; got {cv!r}")
    pairs = cv.split(np.zeros((n, 1)), y, groups) if hasattr(cv, "split") else cv
    folds = []
    for i, pair in enumerate(pairs):
        if len(pair) != 2:
            raise SplitError(f"cv fold {i} must be a (train_idx, test_idx) pair, got {len(pair)} items")
        folds.append((_as_index(pair[0], n, i), _as_index(pair[1], n, i)))
    if not folds:
        raise SplitError("cv gave no folds (an exhausted generator? pass a list or a splitter)")
    return folds


def _int_folds(k: int, n: int, groups: np.ndarray | None) -> list[Fold]:
    if groups is None:
        return kfold_blocks(n, k)
    n_groups = np.unique(groups).size
    if n_groups < k:
        raise SplitError(f"inner CV needs {k} groups, the training set has {n_groups}; lower encoder.inner_folds")
    return group_kfold(groups, k)
