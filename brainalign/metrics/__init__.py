"""Pure array metrics (no heavy imports)."""

from brainalign.metrics.correlation import pearson_r

__all__ = ["pearson_r"]
