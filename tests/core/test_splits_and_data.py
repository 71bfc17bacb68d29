"""Stimulus sets, dataset validation and leakage-safe splits."""

from __future__ import annotations

import numpy as np
import pytest

from brainalign.data.dataset import NeuralDataset
from brainalign.data.splits import check_no_group_leak, make_splits
from brainalign.data.stimuli import StimulusSet
from brainalign.errors import ConfigError, DataError

SENTS = ["Alex was tired so he took a nap.", "Ann baked a cake for her mom's birthday.", "The dog ran home."]


def test_stimulus_set_words_positions_and_hash():
    s = StimulusSet.from_sentences("t", SENTS)
    assert len(s) == 8 + 8 + 4
    assert s.text[:2] == ("Alex", "was")
    assert s.position.tolist()[:9] == [0, 1, 2, 3, 4, 5, 6, 7, 0]
    assert s.context_slices()[2] == (16, 20)
    assert s.content_hash() == StimulusSet.from_sentences("t", SENTS).content_hash()
    assert s.content_hash() != StimulusSet.from_sentences("t", SENTS[::-1]).content_hash()


def test_stimulus_set_rejects_non_contiguous_contexts():
    with pytest.raises(DataError, match="contiguous"):
        StimulusSet("t", ("a", "b", "c"), np.array([0, 1, 0]))


def _dataset(y, n=20):
    s = StimulusSet.from_sentences("t", SENTS)
    return NeuralDataset("t", s, y, subjects=["s1"] * y.shape[1], target_ids=[str(i) for i in range(y.shape[1])],
                         groups=s.context_id)


def test_dataset_validation_messages():
    rng = np.random.default_rng(0)
    with pytest.raises(DataError, match="20 stimuli but 19 response rows"):
        _dataset(rng.standard_normal((19, 3)))
    y = rng.standard_normal((20, 3))
    y[4, 1] = np.nan
    with pytest.raises(DataError, match="NaN"):
        _dataset(y)
    y = rng.standard_normal((20, 3))
    y[:, 2] = 1.0
    with pytest.raises(DataError, match="constant"):
        _dataset(y)


@pytest.mark.parametrize("kind", ["grouped", "contiguous"])
def test_grouped_splits_keep_groups_whole(kind):
    groups = np.repeat(np.arange(52), 8)
    folds = make_splits(groups, 5, kind)
    check_no_group_leak(groups, folds)
    test = np.concatenate([te for _, te in folds])
    assert np.array_equal(np.sort(test), np.arange(416))


def test_contiguous_splits_are_blocks_in_order():
    groups = np.repeat(np.array([5, 3, 9, 1]), 2)  # order of appearance, not sorted labels
    folds = make_splits(groups, 2, "contiguous")
    assert folds[0][1].tolist() == [0, 1, 2, 3]
    assert folds[1][1].tolist() == [4, 5, 6, 7]


def test_shuffled_split_leaks_and_guard_fires():
    groups = np.repeat(np.arange(10), 4)
    folds = make_splits(groups, 5, "shuffled", seed=1)
    with pytest.raises(ConfigError, match="both sides"):
        check_no_group_leak(groups, folds)


def test_too_many_folds_is_a_clear_error():
    with pytest.raises(ConfigError, match="exceeds the 3 groups"):
        make_splits(np.array([0, 0, 1, 1, 2, 2]), 5)
