"""Duplicate-stimulus leakage: same sentence up to case/punctuation on both sides of a fold."""

from __future__ import annotations

import numpy as np
import pytest

from brainalign.errors import ConfigError
from brainalign.metrics.leakage import check_split_leakage, find_duplicates, normalise_text

TEXTS = ["The cat sat on the mat.", "A dog barked.", "Birds sing at dawn", "the cat  sat on the mat", "Rain fell."]


def test_normalise_text():
    assert normalise_text("  The CAT, sat -- on\tthe mat!! ") == "the cat sat on the mat"
    assert normalise_text("Don’t stop_now") == "dont stopnow"
    assert normalise_text("...") == ""


def test_find_duplicates():
    assert find_duplicates(TEXTS) == [[0, 3]]
    assert find_duplicates(["x.", "y", "X", "x!", "?", "!"]) == [[0, 2, 3]]  # empty texts ignored


def test_duplicate_across_fold_raises_and_names_it():
    folds = [(np.array([0, 1, 2]), np.array([3, 4])), (np.array([3, 4]), np.array([0, 1, 2]))]
    with pytest.raises(ConfigError) as err:
        check_split_leakage(TEXTS, folds)
    msg = str(err.value)
    assert "fold 0" in msg and "'the cat  sat on the mat'" in msg and "'The cat sat on the mat.'" in msg
    assert "set cv.allow_duplicate_stimuli=true to run anyway" in msg


def test_allow_reports_crossings():
    folds = [(np.array([0, 1, 2]), np.array([3, 4])), (np.array([3, 4]), np.array([0, 1, 2]))]
    report = check_split_leakage(TEXTS, folds, allow=True)
    assert report.allowed and not report.clean
    assert report.duplicates == [[0, 3]]
    assert report.crossing == [(0, 0, 3), (1, 3, 0)]


def test_duplicates_on_one_side_pass():
    folds = [(np.array([1, 2]), np.array([0, 3, 4])), (np.array([0, 3, 4]), np.array([1, 2]))]
    report = check_split_leakage(TEXTS, folds)
    assert report.clean and report.duplicates == [[0, 3]]
