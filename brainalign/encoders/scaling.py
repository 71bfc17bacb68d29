"""Feature z-scoring with training statistics, shared by every encoder (``standardize=True``)."""

from __future__ import annotations

import numpy as np

from brainalign.metrics.correlation import pearson_r


class StandardizeMixin:
    """Adds ``_fit_scaling`` / ``_scale`` (z-score with stored training mean and SD) and Pearson-r ``score``."""

    standardize: bool

    def _fit_scaling(self, X: np.ndarray) -> np.ndarray:
        """Store the training mean and SD of ``X`` (n_samples, n_features) and return the scaled copy."""
        X = np.asarray(X, dtype=np.float64)
        if not self.standardize:
            return X
        self.x_mean_ = X.mean(0)
        sd = X.std(0)
        self.x_scale_ = np.where(sd > 0, sd, 1.0)
        return (X - self.x_mean_) / self.x_scale_

    def _scale(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        return (X - self.x_mean_) / self.x_scale_ if self.standardize else X

    def score(self, X: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Pearson r per target ``(n_targets,)`` of ``y`` (n_samples, n_targets) and the predictions of ``X``."""
        return pearson_r(np.asarray(y), self.predict(X))  # type: ignore[attr-defined]
