"""Planted-signal word datasets for tests and demos: word length drives some targets, others are noise."""

from __future__ import annotations

import numpy as np

from brainalign.data.dataset import NeuralDataset
from brainalign.data.stimuli import StimulusSet

WORDS = ["a", "dog", "house", "elephant", "ran", "quickly", "to", "the", "extraordinary", "mat", "sat", "blue"]


def planted_word_dataset(
    n_sentences: int = 30, words_per_sentence: int = 5, n_signal: int = 3, n_noise: int = 2, seed: int = 0,
    name: str = "planted",
) -> NeuralDataset:
    """Subject ``A``'s ``n_signal`` targets = z-scored word length + unit noise; subject ``B``'s ``n_noise`` are noise.

    Responses ``(n_sentences * words_per_sentence, n_signal + n_noise)``; groups = sentences.
    """
    rng = np.random.default_rng(seed)
    sents = [" ".join(rng.choice(WORDS, size=words_per_sentence)) for _ in range(n_sentences)]
    stim = StimulusSet.from_sentences(name, sents)
    length = np.array([len(w) for w in stim.text], dtype=float)
    sig = (length - length.mean()) / length.std()
    y = np.column_stack([sig[:, None] + rng.standard_normal((len(stim), n_signal)),
                         rng.standard_normal((len(stim), n_noise))])
    return NeuralDataset(name, stim, y, subjects=["A"] * n_signal + ["B"] * n_noise,
                         target_ids=[f"e{i}" for i in range(n_signal + n_noise)], groups=stim.context_id,
                         group_kind="sentence")
