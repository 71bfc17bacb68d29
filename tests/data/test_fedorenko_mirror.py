"""Fedorenko2016 in the mirror's npy format: fabricated folders, and the real mirror when available."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from brainalign.data.catalog import load_dataset
from brainalign.data.loaders.fedorenko_mirror import load_fedorenko_mirror
from brainalign.errors import DataError


def _write(folder: Path, sentences: list[str], n_rows: int | None = None, n_subj: int = 2) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    n_words = sum(len(s.split()) for s in sentences)
    np.save(folder / "FED_DATA.npy", np.random.default_rng(0).normal(size=(n_rows or n_words, 2)))
    np.save(folder / "FED_SUBJ.npy", np.arange(1, n_subj + 1))
    (folder / "sentences_ordered.txt").write_text("\n".join(sentences) + "\n")


def test_words_keep_case_and_punctuation(tmp_path: Path) -> None:
    _write(tmp_path, ["Hello, world!", "It's  me."])
    ds = load_fedorenko_mirror(tmp_path)
    assert ds.stimuli.contexts() == [["Hello,", "world!"], ["It's", "me."]]
    assert ds.groups.tolist() == [0, 0, 1, 1]
    assert ds.subjects.tolist() == ["1", "2"]
    assert ds.meta["format"] == "fedorenko-npy"


def test_word_count_mismatch(tmp_path: Path) -> None:
    _write(tmp_path, ["one two three", "four"], n_rows=5)
    with pytest.raises(DataError, match="4 words in 2 sentences but FED_DATA.npy has 5 rows"):
        load_fedorenko_mirror(tmp_path)


def test_subject_count_mismatch_and_missing_files(tmp_path: Path) -> None:
    _write(tmp_path, ["a b"], n_subj=3)
    with pytest.raises(DataError, match="FED_SUBJ.npy has 3 entries but FED_DATA.npy has 2 electrodes"):
        load_fedorenko_mirror(tmp_path)
    (tmp_path / "FED_SUBJ.npy").unlink()
    with pytest.raises(DataError, match="lacks FED_SUBJ.npy"):
        load_fedorenko_mirror(tmp_path)


@pytest.mark.realdata
def test_real_fedorenko2016_from_mirror(real_mirror: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The real mirror copy (BRAINALIGN_DATA_MIRROR pointing at a folder laid out like shared/data)."""
    monkeypatch.setenv("BRAINALIGN_DATA_MIRROR", str(real_mirror))
    monkeypatch.setenv("BRAINALIGN_OFFLINE", "1")
    ds = load_dataset("Fedorenko2016")
    assert ds.responses.shape == (416, 97)
    assert ds.subject_ids() == ["1", "2", "3", "4", "5"]
    assert [int((ds.subjects == s).sum()) for s in ds.subject_ids()] == [47, 8, 9, 15, 18]
    assert len(np.unique(ds.groups)) == 52
    assert ds.stimuli.contexts()[0] == ["Alex", "was", "tired", "so", "he", "took", "a", "nap."]
    assert len(ds.stimuli.contexts()[0]) == 8
    assert all(len(c) == 8 for c in ds.stimuli.contexts())
    assert ds.group_kind == "sentence" and ds.stimuli.unit == "word"
