"""The fixed-alpha ridge classifier of the ablation analysis and its many-subsets leave-one-run-out path."""

import numpy as np
from sklearn.linear_model import RidgeClassifier
from sklearn.utils.estimator_checks import check_estimator

from brainalign.decoders.category import evaluate_leave_one_run_out
from brainalign.decoders.ridge_classifier import RidgeClassifierDecoder, loro_ridge_subsets


def _data(seed=0):
    rng = np.random.default_rng(seed)
    y = np.repeat(np.array(["a", "b", "c"]), 40)
    runs = np.tile(np.arange(4), 30)
    X = rng.standard_normal((120, 15)) + 0.8 * (y[:, None] == np.array(["a", "b", "c"] * 5)[None, :])
    return X, y, runs


def test_matches_sklearn_ridge_classifier():
    X, y, _ = _data()
    ours = RidgeClassifierDecoder(alpha=3.0).fit(X[:90], y[:90])
    ref = RidgeClassifier(alpha=3.0).fit(X[:90], y[:90])
    assert (ours.predict(X[90:]) == ref.predict(X[90:])).all()


def test_sklearn_conventions():
    check_estimator(RidgeClassifierDecoder())


def test_subsets_equal_fitting_each_subset_alone():
    X, y, runs = _data(1)
    keep = [np.arange(15), np.arange(3, 15), np.array([0, 5, 9])]
    res = loro_ridge_subsets(X, y, runs, keep, alpha=2.0)
    for s, k in enumerate(keep):
        alone = evaluate_leave_one_run_out(RidgeClassifierDecoder(alpha=2.0), X[:, k], y, runs, zscore=None)
        assert res.accuracy()[s] == alone.accuracy
    assert res.weight_norm.shape == (15,) and np.isfinite(res.weight_norm).all()
