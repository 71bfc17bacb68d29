"""Leakage-safe cross-validation splits (re-exported from :mod:`brainalign.splits`, the one split module).

Default: folds made of whole groups (sentence / passage / story), in scikit-learn ``GroupKFold``
order. ``contiguous`` keeps groups in presentation order and cuts them into consecutive blocks.
``shuffled`` ignores the groups and shuffles stimuli: it leaks context between train and test for
sequential data, so it must be asked for and every output is labelled with the split kind.
"""

from __future__ import annotations

from brainalign.splits import (
    Fold,
    SplitError,
    SplitKind,
    check_no_group_leak,
    contiguous_group_folds,
    group_kfold,
    group_train_test,
    kfold_blocks,
    kfold_shuffled,
    leave_one_group_out,
    make_splits,
    shuffled_group_folds,
)

__all__ = [
    "Fold",
    "SplitError",
    "SplitKind",
    "check_no_group_leak",
    "contiguous_group_folds",
    "group_kfold",
    "group_train_test",
    "kfold_blocks",
    "kfold_shuffled",
    "leave_one_group_out",
    "make_splits",
    "shuffled_group_folds",
]
