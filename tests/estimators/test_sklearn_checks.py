"""scikit-learn's estimator checks on every estimator that takes plain 2-D ``X``.

Not here (they cannot take the checks' 2-D inputs; their conventions are tested in test_conventions.py):
``PerTargetRidge`` (``X`` is ``(n, targets, features)``), ``FactorizedReadout`` / ``AttentionReadout`` (feature
maps ``(n, h, w, c)`` or tokens ``(n, t, c)``).
"""

from __future__ import annotations

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from brainalign.decoders.category import NearestCentroidDecoder, RidgeCategoryDecoder
from brainalign.decoders.ridge_decoder import RidgeDecoder
from brainalign.encoders import BandedRidgeEncoder, RidgeEncoder
from brainalign.encoders.himalaya_ridge import HimalayaRidgeEncoder

pytest.importorskip("himalaya")

#: Checks that cannot pass by design, with the reason.
EXPECTED_FAILURES = {
    "NearestCentroidDecoder/correlation": {
        "check_classifiers_train": "correlation between 2-feature samples and centroids is +-1 (the check's blobs "
        "have 2 features), so accuracy is at chance by construction; metric='euclidean' passes",
    },
}

ESTIMATORS = [
    RidgeEncoder(cv=3, device="cpu"),
    HimalayaRidgeEncoder(cv=3),
    BandedRidgeEncoder(cv=3, n_iter=3),
    RidgeDecoder(cv=3, device="cpu"),
    RidgeCategoryDecoder(cv=3, device="cpu"),
    NearestCentroidDecoder(metric="euclidean"),
    NearestCentroidDecoder(metric="correlation"),
]


def _expected(est: object) -> dict[str, str]:
    key = type(est).__name__ + ("/correlation" if getattr(est, "metric", None) == "correlation" else "")
    return EXPECTED_FAILURES.get(key, {})


@pytest.mark.filterwarnings("ignore::UserWarning")
@parametrize_with_checks(ESTIMATORS, expected_failed_checks=_expected)
def test_sklearn_compatible(estimator, check) -> None:
    check(estimator)
