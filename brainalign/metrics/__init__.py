"""Pure array metrics (no heavy imports)."""

from brainalign.metrics.correlation import pearson_r
from brainalign.metrics.image import feature_two_way, pixcorr, ssim
from brainalign.metrics.retrieval import RetrievalResult, retrieval_topk, two_way_identification

__all__ = ["RetrievalResult", "feature_two_way", "pearson_r", "pixcorr", "retrieval_topk", "ssim",
           "two_way_identification"]
