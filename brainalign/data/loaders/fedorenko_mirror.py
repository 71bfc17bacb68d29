"""Fedorenko2016 as kept in the data mirror: ``FED_DATA.npy``, ``FED_SUBJ.npy``, ``sentences_ordered.txt``.

- ``FED_DATA.npy``: float64 ``(416, 97)``, one row per word, rows in sentence order (sentence ``i`` is rows
  ``8i .. 8i+7``), one column per electrode.
- ``FED_SUBJ.npy``: int ``(97,)`` subject of each electrode.
- ``sentences_ordered.txt``: the 52 sentences, one per line; words are the whitespace tokens.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from brainalign.data.dataset import NeuralDataset
from brainalign.data.stimuli import StimulusSet
from brainalign.errors import DataError

FILES = ("FED_DATA.npy", "FED_SUBJ.npy", "sentences_ordered.txt")


def load_fedorenko_mirror(folder: str | Path, name: str = "Fedorenko2016", meta: dict[str, Any] | None = None) -> NeuralDataset:
    """Read the mirror folder into a word-level dataset (context = group = sentence).

    Returns a dataset with ``responses`` ``(n_words, n_electrodes)``, subjects as strings (``"1"``..``"5"``),
    target ids ``"0"``..``"96"`` and words kept with their case and punctuation.
    """
    folder = Path(folder)
    missing = [f for f in FILES if not (folder / f).is_file()]
    if missing:
        raise DataError(f"{folder} lacks {', '.join(missing)}; the Fedorenko2016 mirror folder needs {', '.join(FILES)}")
    try:
        data = np.load(folder / "FED_DATA.npy", allow_pickle=False)
        subj = np.load(folder / "FED_SUBJ.npy", allow_pickle=False)
    except ValueError as exc:
        raise DataError(f"cannot read the .npy files in {folder} ({exc}); replace them") from None
    lines = (folder / "sentences_ordered.txt").read_text(encoding="utf-8").splitlines()
    sentences = [line.split() for line in lines if line.strip()]
    if data.ndim != 2:
        raise DataError(f"{folder / 'FED_DATA.npy'} has shape {data.shape}; expected (n_words, n_electrodes)")
    subj = np.asarray(subj).reshape(-1)
    if subj.shape[0] != data.shape[1]:
        raise DataError(
            f"{folder}: FED_SUBJ.npy has {subj.shape[0]} entries but FED_DATA.npy has {data.shape[1]} electrodes; "
            "the two files must come from the same release"
        )
    n_words = sum(len(s) for s in sentences)
    if n_words != data.shape[0]:
        raise DataError(
            f"{folder}: sentences_ordered.txt has {n_words} words in {len(sentences)} sentences but FED_DATA.npy "
            f"has {data.shape[0]} rows; the text and the responses must match word for word"
        )
    stimuli = StimulusSet.from_contexts(name, sentences, unit="word")
    groups = stimuli.context_id.copy()
    info = {
        "source": {f: str(folder / f) for f in FILES},
        "format": "fedorenko-npy",
        "sentences": [" ".join(s) for s in sentences],
    }
    return NeuralDataset(
        name=name,
        stimuli=stimuli,
        responses=data,
        subjects=subj.astype(str),
        target_ids=np.arange(data.shape[1]).astype(str),
        groups=groups,
        group_kind="sentence",
        meta={**(meta or {}), **info},
    )
