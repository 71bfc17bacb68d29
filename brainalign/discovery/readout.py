"""A fitted ridge readout as a vision score run stores it (``save_weights: true``) and as discovery reads it.

A readout predicts ``(n, v)`` responses from ``(n, p)`` design features (the score run's layer after its pooling
and the encoder's design: spatial mean for ``ridge_pooled``, flattened map for ``ridge_flat``)::

    pred = ((x - x_mean) / x_scale) @ coef + intercept

Stored in the score job's folder: arrays ``readout_coef`` ``(p, v)`` float32, ``readout_intercept`` ``(v,)``,
``readout_x_mean`` / ``readout_x_scale`` ``(p,)`` (zeros / ones without standardisation) and the document
``feature_space`` (model, weights fingerprint, architecture, preprocessing, random-init seed, pooling, layer,
design, feature shape): what features the coefficients apply to.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from brainalign.errors import ConfigError, DataError

READOUT_FORMAT = "ridge-readout/1"
ARRAYS = ("readout_coef", "readout_intercept", "readout_x_mean", "readout_x_scale")
FEATURE_SPACE = "feature_space"


def readout_output(est: Any, feature_space: dict[str, Any]) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """The arrays and documents a score job stores for a fitted ``RidgeEncoder`` ``est``."""
    coef = np.asarray(est.coef_, dtype=np.float32)
    p = coef.shape[0]
    mean = np.asarray(getattr(est, "x_mean_", np.zeros(p)), dtype=np.float32)
    scale = np.asarray(getattr(est, "x_scale_", np.ones(p)), dtype=np.float32)
    arrays = {"readout_coef": coef, "readout_intercept": np.asarray(est.intercept_, dtype=np.float32),
              "readout_x_mean": mean, "readout_x_scale": scale}
    return arrays, {FEATURE_SPACE: {**feature_space, "format": READOUT_FORMAT, "n_features": int(p)}}


@dataclass
class Readout:
    """A loaded readout (see the module docstring).

    Attributes:
        coef: ``(p, v)`` float32 coefficients on standardised features.
        intercept: ``(v,)``.
        x_mean, x_scale: ``(p,)`` feature standardisation.
        feature_space: what the features are (the stored document).
        source: the job folder it was read from (messages).
    """

    coef: np.ndarray
    intercept: np.ndarray
    x_mean: np.ndarray
    x_scale: np.ndarray
    feature_space: dict[str, Any]
    source: str = ""

    @property
    def n_features(self) -> int:
        return int(self.coef.shape[0])

    @property
    def n_targets(self) -> int:
        return int(self.coef.shape[1])

    def standardise(self, X: np.ndarray) -> np.ndarray:
        """``(n, p)`` design features -> the standardised features the coefficients apply to (float64)."""
        X = self._check(X)
        return (X - self.x_mean.astype(np.float64)) / self.x_scale.astype(np.float64)

    def predict(self, X: np.ndarray) -> np.ndarray:
        """``(n, p)`` design features -> ``(n, v)`` predicted responses (float64)."""
        return self.standardise(X) @ self.coef.astype(np.float64) + self.intercept.astype(np.float64)

    def _check(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.n_features:
            raise DataError(f"features of shape {X.shape} do not fit the readout of {self.source} "
                            f"({self.n_features} features); use the feature space it was fitted on")
        return X

    @classmethod
    def from_folder(cls, folder: str | Path) -> Readout:
        """Read a score job's folder (already verified by the result store); one-line DataError when it holds
        no readout (a score run without ``save_weights: true``)."""
        import json

        folder = Path(folder)
        missing = [n for n in ARRAYS if not (folder / f"{n}.npy").is_file()]
        if missing or not (folder / f"{FEATURE_SPACE}.json").is_file():
            raise DataError(f"score job {folder.name} has no saved readout weights; re-run brainalign score with "
                            "save_weights: true (--set save_weights=true) into the same --out")
        arrays = {n: np.load(folder / f"{n}.npy") for n in ARRAYS}
        space = json.loads((folder / f"{FEATURE_SPACE}.json").read_text())
        if space.get("format") != READOUT_FORMAT:
            raise DataError(f"score job {folder.name} stores readout format {space.get('format')!r}, this "
                            f"brainalign reads {READOUT_FORMAT!r}; re-run brainalign score with save_weights: true")
        coef = arrays["readout_coef"]
        p = coef.shape[0]
        if coef.ndim != 2 or arrays["readout_x_mean"].shape != (p,) or arrays["readout_x_scale"].shape != (p,) \
                or arrays["readout_intercept"].shape != (coef.shape[1],):
            raise DataError(f"score job {folder.name}: readout arrays have inconsistent shapes; re-run brainalign "
                            "score with save_weights: true")
        return cls(coef=coef, intercept=arrays["readout_intercept"], x_mean=arrays["readout_x_mean"],
                   x_scale=arrays["readout_x_scale"], feature_space=space, source=folder.name)


SPACE_FIELDS = ("model", "kind", "model_id", "weights", "model_kwargs", "layers", "random_init", "seed",
                "preprocess", "pooling", "layer", "design")


def check_same_space(expected: dict[str, Any], got: dict[str, Any], what: str) -> None:
    """A one-line ConfigError naming the first field where two feature spaces differ (``what``: who brings
    ``got``, e.g. ``captioner 'x'``)."""
    for name in SPACE_FIELDS:
        if name in expected and name in got and expected[name] != got[name]:
            raise ConfigError(f"{what} works in another feature space than the encoder: {name} is "
                              f"{_short(got[name])} there but {_short(expected[name])} for the encoder; use an "
                              "encoder fitted on the same model, layer, pooling and design")


def _short(v: Any) -> str:
    s = repr(v)
    return s if len(s) <= 80 else s[:77] + "..."
