"""Leakage-safe cross-validation splits.

Default: folds made of whole groups (sentence / passage / story), in scikit-learn ``GroupKFold``
order. ``contiguous`` keeps groups in presentation order and cuts them into consecutive blocks.
``shuffled`` ignores the groups and shuffles stimuli: it leaks context between train and test for
sequential data, so it must be asked for and every output is labelled with the split kind.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from brainalign.errors import ConfigError

SplitKind = Literal["grouped", "contiguous", "shuffled"]
Fold = tuple[np.ndarray, np.ndarray]


def make_splits(groups: np.ndarray, n_folds: int = 5, kind: SplitKind = "grouped", seed: int = 0) -> list[Fold]:
    """Train/test index pairs over ``len(groups)`` stimuli.

    Args:
        groups: ``(n_stimuli,)`` group label of each stimulus.
        n_folds: number of folds (at most the number of groups for grouped kinds).
        kind: ``"grouped"`` (GroupKFold order), ``"contiguous"`` (consecutive blocks of groups in order of
            first appearance) or ``"shuffled"`` (KFold over stimuli with shuffling; leaks for sequential data).
        seed: random seed, used by ``"shuffled"`` only.

    Returns:
        ``[(train_idx, test_idx), ...]`` of sorted int arrays.
    """
    groups = np.asarray(groups)
    n = groups.shape[0]
    if n_folds < 2:
        raise ConfigError(f"cv needs at least 2 folds, got n_folds={n_folds}")
    if kind == "shuffled":
        if n_folds > n:
            raise ConfigError(f"n_folds={n_folds} exceeds the {n} stimuli; lower cv.n_folds")
        from sklearn.model_selection import KFold

        return [(np.sort(a), np.sort(b)) for a, b in KFold(n_folds, shuffle=True, random_state=seed).split(np.zeros(n))]
    _, first, codes = np.unique(groups, return_index=True, return_inverse=True)
    n_groups = first.size
    if n_folds > n_groups:
        raise ConfigError(f"n_folds={n_folds} exceeds the {n_groups} groups; lower cv.n_folds or use finer groups")
    if kind == "grouped":
        from sklearn.model_selection import GroupKFold

        return [(np.sort(a), np.sort(b)) for a, b in GroupKFold(n_folds).split(np.zeros(n), groups=codes)]
    if kind == "contiguous":
        order = np.argsort(first, kind="stable")  # group codes in order of appearance
        rank = np.empty(n_groups, dtype=np.int64)
        rank[order] = np.arange(n_groups)
        block = np.array_split(np.arange(n_groups), n_folds)
        fold_of_rank = np.empty(n_groups, dtype=np.int64)
        for f, b in enumerate(block):
            fold_of_rank[b] = f
        fold = fold_of_rank[rank[codes]]
        return [(np.flatnonzero(fold != f), np.flatnonzero(fold == f)) for f in range(n_folds)]
    raise ConfigError(f"unknown split kind {kind!r}; use 'grouped', 'contiguous' or 'shuffled'")


def check_no_group_leak(groups: np.ndarray, folds: list[Fold]) -> None:
    """Raise if any group appears on both sides of a fold."""
    groups = np.asarray(groups)
    for i, (tr, te) in enumerate(folds):
        both = np.intersect1d(groups[tr], groups[te])
        if both.size:
            raise ConfigError(f"fold {i} has group {both[0]!r} on both sides; use a grouped split")
