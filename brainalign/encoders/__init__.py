"""Encoders: feature -> response models with a scikit-learn API."""

from brainalign.encoders.ridge import RidgeEncoder

__all__ = ["RidgeEncoder"]
