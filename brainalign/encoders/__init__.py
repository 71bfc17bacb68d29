"""Encoders: feature -> response models with a scikit-learn API (``fit(X, Y, groups)``, ``predict``, ``score``).

Torch and himalaya are imported inside the estimators, so importing this package stays light.
"""

from brainalign.encoders.banded import BandedRidgeEncoder
from brainalign.encoders.readout_attention import AttentionReadout
from brainalign.encoders.readout_factorized import FactorizedReadout
from brainalign.encoders.ridge import RidgeEncoder

__all__ = ["AttentionReadout", "BandedRidgeEncoder", "FactorizedReadout", "RidgeEncoder"]
