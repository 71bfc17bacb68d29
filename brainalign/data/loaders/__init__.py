"""Loaders, one module per file format family; each returns :class:`~brainalign.data.NeuralDataset` objects.

- ``brainscore_nc``: Brain-Score language assemblies (netCDF written by brainio).
- ``fedorenko_mirror``: the ``.npy`` + text copy of Fedorenko2016 in the data mirror.
- ``tabular``: users' own CSV/TSV tables.
- ``arrays``: users' own Python arrays.

Heavy libraries (xarray, pandas) are imported inside the functions that need them.
"""

from brainalign.data.loaders.arrays import from_arrays
from brainalign.data.loaders.tabular import load_table

__all__ = ["from_arrays", "load_table"]
