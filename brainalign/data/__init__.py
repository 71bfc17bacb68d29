"""Datasets: manifests, fetching, loaders per format family, stimulus sets and splits."""

from brainalign.data.dataset import NeuralDataset
from brainalign.data.stimuli import StimulusSet

__all__ = ["NeuralDataset", "StimulusSet"]
