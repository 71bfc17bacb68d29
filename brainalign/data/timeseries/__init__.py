"""Naturalistic time series: timed words, runs on the TR grid, resampling, delays."""

from brainalign.data.timeseries.events import WordEvents
from brainalign.data.timeseries.runs import TimeSeriesDataset, TimeSeriesRun

__all__ = ["TimeSeriesDataset", "TimeSeriesRun", "WordEvents"]
