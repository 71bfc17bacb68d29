"""Caches and stores: atomic writes, activation store (zarr), result store."""
