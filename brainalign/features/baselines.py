"""Simple stimulus baselines that every model score is reported beside.

- ``word_position``: one-hot position of the unit in its context plus the linear position.
- ``word_length``: characters of the unit (letters only) and its log.
- ``word_frequency``: Zipf frequency (``wordfreq``, offline data shipped in the package).
- ``sentence_length``: number of words of the unit (for sentence-level data).
"""

from __future__ import annotations

import re

import numpy as np

from brainalign.data.stimuli import StimulusSet
from brainalign.errors import ConfigError

BASELINES = ("word_position", "word_length", "word_frequency", "sentence_length")
#: Bump when a baseline's features change.
BASELINES_VERSION = 1
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?", re.UNICODE)


def _letters(text: str) -> str:
    return "".join(_WORD.findall(text))


def word_position(stimuli: StimulusSet) -> np.ndarray:
    """``(n_stimuli, max_pos + 1)`` one-hot position within context plus a linear position column."""
    pos = stimuli.position
    onehot = np.zeros((len(pos), int(pos.max()) + 1), dtype=np.float32)
    onehot[np.arange(len(pos)), pos] = 1.0
    return np.column_stack([onehot, pos.astype(np.float32)])


def word_length(stimuli: StimulusSet) -> np.ndarray:
    """``(n_stimuli, 2)`` letter count and its log."""
    n = np.array([len(_letters(t)) for t in stimuli.text], dtype=np.float32)
    return np.column_stack([n, np.log1p(n)])


def word_frequency(stimuli: StimulusSet) -> np.ndarray:
    """``(n_stimuli, 1)`` mean Zipf frequency of the unit's words (English, wordfreq)."""
    try:
        from wordfreq import zipf_frequency
    except ImportError as exc:  # pragma: no cover - exercised only without the extra
        raise ConfigError("the word_frequency baseline needs wordfreq: pip install 'brainalign[llm]'") from exc
    out = np.empty((len(stimuli), 1), dtype=np.float32)
    for i, t in enumerate(stimuli.text):
        words = _WORD.findall(t.lower())
        out[i, 0] = np.mean([zipf_frequency(w, "en") for w in words]) if words else 0.0
    return out


def sentence_length(stimuli: StimulusSet) -> np.ndarray:
    """``(n_stimuli, 2)`` number of words of the unit and its log."""
    n = np.array([len(t.split()) for t in stimuli.text], dtype=np.float32)
    return np.column_stack([n, np.log1p(n)])


def baseline_features(name: str, stimuli: StimulusSet) -> np.ndarray:
    """Features ``(n_stimuli, n_features)`` of the named baseline."""
    fns = {
        "word_position": word_position,
        "word_length": word_length,
        "word_frequency": word_frequency,
        "sentence_length": sentence_length,
    }
    if name not in fns:
        raise ConfigError(f"unknown baseline {name!r}; choose from {', '.join(BASELINES)}")
    return fns[name](stimuli)


def baseline_fingerprint(name: str) -> str:
    """Identity of a baseline's features: the version here, plus ``wordfreq``'s for word frequency."""
    if name != "word_frequency":
        return f"{name}/v{BASELINES_VERSION}"
    import importlib.metadata

    try:
        version = importlib.metadata.version("wordfreq")
    except importlib.metadata.PackageNotFoundError:
        version = "missing"
    return f"{name}/v{BASELINES_VERSION}/wordfreq=={version}"
