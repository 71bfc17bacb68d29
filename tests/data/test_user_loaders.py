"""Users' own data: tables (CSV/TSV) and Python arrays, including bad-input errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from brainalign.data.loaders import from_arrays, load_table
from brainalign.errors import DataError

CSV = """text,story,sent,vox_1,vox_2,other
Once upon a time,s1,a,0.1,1.0,x
there was a king.,s1,a,0.4,2.0,x
He was old.,s1,b,0.2,0.5,x
A frog sang.,s2,c,0.9,0.1,x
"""


@pytest.fixture
def table(tmp_path: Path) -> Path:
    path = tmp_path / "mine.csv"
    path.write_text(CSV)
    return path


def test_csv_with_pattern_and_context(table: Path) -> None:
    ds = load_table(table, "text", "vox_*", context_column="story")
    assert ds.name == "mine"
    assert ds.responses.shape == (4, 2)
    assert ds.target_ids.tolist() == ["vox_1", "vox_2"]
    assert ds.subjects.tolist() == ["S1", "S1"]
    assert ds.stimuli.contexts() == [["Once upon a time", "there was a king.", "He was old."], ["A frog sang."]]
    assert ds.groups.tolist() == ["s1", "s1", "s1", "s2"]  # no group column: group = context
    assert ds.group_kind == "story"
    assert ds.stimuli.unit == "sentence"


def test_groups_default_to_rows_and_explicit_group_column(table: Path) -> None:
    ds = load_table(table, "text", ["vox_2"])
    assert ds.groups.tolist() == [0, 1, 2, 3]
    assert ds.stimuli.contexts() == [[t] for t in ds.stimuli.text]
    ds = load_table(table, "text", ["vox_1", "vox_2"], group_column="sent", context_column="story", name="x")
    assert ds.groups.tolist() == ["a", "a", "b", "c"] and ds.name == "x" and ds.group_kind == "sent"


def test_tsv_inferred_and_subject_map(tmp_path: Path) -> None:
    path = tmp_path / "words.tsv"
    path.write_text("w\tsA_1\tsA_2\tsB_1\nThe\t1\t2\t3\ncat\t2\t1\t5\nsat\t0\t0\t1\n")
    ds = load_table(path, "w", "s*", subject_column_map={"sA_*": "A", "sB_1": "B"}, unit="word")
    assert ds.subjects.tolist() == ["A", "A", "B"]
    assert ds.stimuli.unit == "word"
    with pytest.raises(DataError, match="'sB_1' has no subject"):
        load_table(path, "w", "s*", subject_column_map={"sA_*": "A"})


def test_table_errors(tmp_path: Path, table: Path) -> None:
    with pytest.raises(DataError, match="does not exist"):
        load_table(tmp_path / "nope.csv", "text", "vox_*")
    with pytest.raises(DataError, match=r"missing column\(s\) txt; available: text, story, sent, vox_1, vox_2, other"):
        load_table(table, "txt", "vox_*")
    with pytest.raises(DataError, match=r"missing column\(s\) vox_9, bold_\* \(pattern\); available: text"):
        load_table(table, "text", ["vox_1", "vox_9", "bold_*"])
    with pytest.raises(DataError, match="'other' is not numeric \\(row 1: 'x'\\)"):
        load_table(table, "text", ["vox_1", "other"])
    with pytest.raises(DataError, match="cannot infer the column separator"):
        (tmp_path / "t.dat").write_text(CSV)
        load_table(tmp_path / "t.dat", "text", "vox_*")
    assert load_table(tmp_path / "t.dat", "text", "vox_*", sep=",").n_stimuli == 4
    empty = tmp_path / "empty_text.csv"
    empty.write_text("text,v\nfine,1\n,2\n  ,3\n")
    with pytest.raises(DataError, match="empty 'text' in row 2"):
        load_table(empty, "text", "v")
    assert "\n" not in str(_err(load_table, table, "txt", "vox_*"))


def test_table_non_contiguous_context(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("text,ctx,v\na,1,1\nb,2,2\nc,1,3\n")
    with pytest.raises(DataError, match="not contiguous"):
        load_table(path, "text", "v", context_column="ctx")


def _err(fn, *args) -> Exception:
    try:
        fn(*args)
    except Exception as exc:
        return exc
    raise AssertionError("no error")


def test_from_arrays_defaults() -> None:
    y = np.arange(12, dtype=float).reshape(4, 3) ** 2
    ds = from_arrays(["a b.", "c d.", "e f.", "g h."], y)
    assert ds.name == "custom" and ds.stimuli.unit == "sentence"
    assert ds.groups.tolist() == [0, 1, 2, 3]
    assert ds.subjects.tolist() == ["S1"] * 3
    assert ds.target_ids.tolist() == ["0", "1", "2"]


def test_from_arrays_contexts_groups_subjects() -> None:
    y = np.random.default_rng(0).normal(size=(5, 2))
    words = ["The", "cat", "sat.", "Dogs", "bark."]
    ds = from_arrays(words, y, contexts=[7, 7, 7, 3, 3], subjects=["p1", "p2"], unit="word", name="w")
    assert ds.stimuli.contexts() == [["The", "cat", "sat."], ["Dogs", "bark."]]
    assert ds.groups.tolist() == [7, 7, 7, 3, 3]
    assert ds.subjects.tolist() == ["p1", "p2"]
    ds = from_arrays(words, y[:, 0], groups=["g"] * 3 + ["h"] * 2)
    assert ds.responses.shape == (5, 1) and ds.groups.tolist()[-1] == "h"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"texts": ["a", ""], "responses": [[1.0], [2.0]]}, "text 1 is empty"),
        ({"texts": ["a", None], "responses": [[1.0], [2.0]]}, "text 1 is empty or not a string"),
        ({"texts": ["a", "b"], "responses": [["x"], ["y"]]}, "responses must be numeric"),
        ({"texts": ["a", "b"], "responses": [[1.0], [2.0], [3.0]]}, "do not match 2 texts"),
        ({"texts": ["a", "b"], "responses": [[1.0], [2.0]], "contexts": [1]}, "1 contexts for 2 texts"),
        ({"texts": ["a", "b"], "responses": [[1.0], [2.0]], "groups": [1, 2, 3]}, "3 groups for 2 texts"),
        ({"texts": ["a", "b"], "responses": [[1.0], [2.0]], "subjects": ["s", "t"]}, "2 subjects for 1 response"),
        ({"texts": ["a", "b"], "responses": [[1.0], [np.nan]]}, "NaN"),
        ({"texts": ["a", "b"], "responses": [[1.0], [1.0]]}, "constant"),
    ],
)
def test_from_arrays_errors(kwargs: dict, message: str) -> None:
    with pytest.raises(DataError, match=message):
        from_arrays(**kwargs)
