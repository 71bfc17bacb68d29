"""Input checks shared by the decoders: the error they raise and label / feature validation."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import column_or_1d

from brainalign.errors import DecoderError


class DecoderInputError(DecoderError, ValueError):
    """Inputs of the wrong shape or content (a ``DecoderError`` that is also the ``ValueError`` scikit-learn expects)."""


def as_labels(labels: Any, n: int) -> np.ndarray:
    """``(n,)`` class names as str."""
    y = np.asarray(labels).astype(str)
    if y.shape != (n,):
        raise DecoderInputError(f"labels must have shape ({n},) to match X, got {y.shape}")
    return y


def fit_labels(labels: Any, n: int, as_str: bool) -> np.ndarray:
    """Training labels ``(n,)``: discrete (scikit-learn's target check), as str when classes are named."""
    if labels is None:
        raise DecoderInputError("this decoder requires y to be passed, but the target y is None")
    y = column_or_1d(labels, warn=True)
    check_classification_targets(y)
    if y.shape != (n,):
        raise DecoderInputError(f"labels must have shape ({n},) to match X, got {y.shape}")
    return y.astype(str) if as_str else y


def as_2d(est: Any, X: Any, reset: bool) -> np.ndarray:
    """``X`` validated by scikit-learn (2-D, finite, float64; sets or checks ``n_features_in_``)."""
    from brainalign.encoders._checks import validate_X

    X = X if hasattr(X, "shape") else np.asarray(X)
    return validate_X(est, X, reset=reset)


def binary_scores(scores: np.ndarray) -> np.ndarray:
    """scikit-learn's binary convention: ``(n,)`` margin of the second class when there are two classes."""
    return scores[:, 1] - scores[:, 0] if scores.shape[1] == 2 else scores
