"""Resolve dataset specs from a config into loaded :class:`NeuralDataset` objects."""

from __future__ import annotations

from brainalign.config import DatasetSpec
from brainalign.data.dataset import NeuralDataset


def load_from_spec(spec: DatasetSpec) -> NeuralDataset:
    """A catalog dataset by name, or a user table when ``spec.path`` is set."""
    if spec.path is not None:
        from brainalign.data.loaders.tabular import load_table

        return load_table(
            spec.path,
            text_column=spec.text_column,
            response_columns=spec.response_columns,
            group_column=spec.group_column,
            context_column=spec.context_column,
            subject_column_map=spec.subject_column_map,
            unit=spec.unit,
            name=spec.name,
        )
    from brainalign.data.catalog import load_dataset

    return load_dataset(spec.name)
