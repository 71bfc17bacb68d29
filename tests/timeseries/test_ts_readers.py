"""TextGrid, events-table and per-TR-text readers on small fabricated files; every error path."""

from __future__ import annotations

from pathlib import Path

import fabricate_ts as fab
import numpy as np
import pytest

from brainalign.data.timeseries.tables import LAST_WORD_DURATION, events_from_tr_text, read_events_table
from brainalign.data.timeseries.textgrid import is_silence, read_textgrid, read_tiers
from brainalign.errors import DataError

TIERS = {"phone": fab.PHONES, "word": fab.WORDS}


@pytest.mark.parametrize("fmt", ["long", "short"])
@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "utf-16-le"])
def test_textgrid_formats_and_encodings(tmp_path: Path, fmt: str, encoding: str) -> None:
    text = fab.textgrid_long(TIERS) if fmt == "long" else fab.textgrid_short(TIERS)
    ev = read_textgrid(fab.write_textgrid(tmp_path / "s.TextGrid", text, encoding))
    assert ev.words == fab.WORDS_KEPT
    np.testing.assert_allclose(ev.onsets, [0.5, 0.9, 1.3, 2.0, 2.8])
    np.testing.assert_allclose(ev.offsets, [0.9, 1.2, 1.4, 2.6, 3.4])
    assert "[word]" in ev.source


def test_textgrid_tier_choice(tmp_path: Path) -> None:
    tiers = {"phones": fab.PHONES, "Words": fab.WORDS}
    path = fab.write_textgrid(tmp_path / "s.TextGrid", fab.textgrid_long(tiers, {"notes": [(1.0, "x")]}))
    assert read_textgrid(path).words == fab.WORDS_KEPT  # "Words", any case
    assert read_textgrid(path, tier="PHONES").words == ("W", "AH1", "N")
    assert [(t.name, t.kind) for t in read_tiers(path)] == [("phones", "IntervalTier"), ("Words", "IntervalTier"),
                                                            ("notes", "TextTier")]
    assert read_tiers(path)[2].starts.tolist() == [1.0]


def test_textgrid_unicode_and_escaped_quotes(tmp_path: Path) -> None:
    words = [(0.0, 0.5, "café"), (0.5, 1.0, "naïve"), (1.0, 1.5, 'a "b"')]
    for enc in ("utf-8", "utf-16"):
        ev = read_textgrid(fab.write_textgrid(tmp_path / f"{enc}.TextGrid", fab.textgrid_short({"word": words}), enc))
        assert ev.words == ("café", "naïve", 'a "b"')


@pytest.mark.parametrize("label", ["", " ", "sp", "SIL", "{SL}", "{NS}", "{lg}", "<unk>", "[noise]", "<sil>", "#",
                                   "<s>", "</s>", "sentence_start", "{BR}"])
def test_silence_labels(label: str) -> None:
    assert is_silence(label)


@pytest.mark.parametrize("label", ["a", "I", "s", "unknown", "{word}"])
def test_words_are_not_silence(label: str) -> None:
    assert not is_silence(label)


def test_custom_skip(tmp_path: Path) -> None:
    path = fab.write_textgrid(tmp_path / "s.TextGrid", fab.textgrid_long(TIERS))
    ev = read_textgrid(path, skip={"", "sp", "upon"})
    assert ev.words == ("Once", "a", "{SL}", "time", "<unk>", 'said "hi"')


def _broken(tmp_path: Path, text: str | bytes) -> Path:
    path = tmp_path / "bad.TextGrid"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


GOOD_SHORT = fab.textgrid_short(TIERS)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("\n".join(GOOD_SHORT.splitlines()[:20]), r"bad\.TextGrid: malformed TextGrid \(file ends where .* was expected\); is it truncated"),
        (GOOD_SHORT.replace('"IntervalTier"', '"IntervalTier', 1), r"malformed TextGrid \(unterminated string on line \d+\)"),
        ("hello world\n", r"bad\.TextGrid: not a TextGrid"),
        (GOOD_SHORT.replace('"IntervalTier"', '"Spline"', 1), r"tier 1 \('phone'\) has unknown class 'Spline'"),
        (GOOD_SHORT.replace("<exists>", "7"), r"expected <exists> after xmax"),
        (GOOD_SHORT.replace("\n2\n", "\n2.5\n", 1), r"the number of tiers is 2\.5, not a count"),
        (fab.textgrid_short({"word": [(0.0, 1.0, "a"), (0.5, 0.8, "b")]}).replace('"b"', "0.3"),
         r"expected the text of interval 2 of tier 'word', found 0\.3"),
        (b"ooBinaryFile\x00\x01", r"binary TextGrid; save it from Praat as a text file"),
    ],
)
def test_malformed_textgrids(tmp_path: Path, text: str | bytes, match: str) -> None:
    with pytest.raises(DataError, match=match) as err:
        read_textgrid(_broken(tmp_path, text))
    assert "\n" not in str(err.value)


def test_textgrid_time_errors(tmp_path: Path) -> None:
    back = fab.textgrid_long({"word": [(0.0, 1.0, "a"), (2.0, 3.0, "b"), (1.5, 1.8, "c")]})
    with pytest.raises(DataError, match=r"tier 'word' is not in time order: interval 3 starts at 1\.500 s, before interval 2"):
        read_textgrid(_broken(tmp_path, back))
    inverted = fab.textgrid_long({"word": [(0.0, 1.0, "a"), (2.0, 1.9, "b")]})
    with pytest.raises(DataError, match=r"tier 'word' interval 2 ends at 1\.900 s before it starts at 2\.000 s"):
        read_textgrid(_broken(tmp_path, inverted))


def test_textgrid_tier_errors(tmp_path: Path) -> None:
    path = fab.write_textgrid(tmp_path / "s.TextGrid", fab.textgrid_long({"phone": fab.PHONES, "ortho": fab.WORDS},
                                                                        {"word": [(1.0, "x")]}))
    with pytest.raises(DataError, match=r"s\.TextGrid: no word tier \('word' / 'words'\); tiers: 'phone', 'ortho', 'word'; pass tier="):
        read_textgrid(path)
    with pytest.raises(DataError, match=r"no tier 'words'; tiers: 'phone', 'ortho', 'word'"):
        read_textgrid(path, tier="words")
    with pytest.raises(DataError, match=r"tier 'word' is a point tier \(TextTier\)"):
        read_textgrid(path, tier="word")
    two = fab.write_textgrid(tmp_path / "two.TextGrid", fab.textgrid_long({"word": fab.WORDS, "Words": fab.WORDS}))
    with pytest.raises(DataError, match=r"several word tiers; tiers: 'word', 'Words'"):
        read_textgrid(two)
    silent = fab.write_textgrid(tmp_path / "silent.TextGrid", fab.textgrid_long({"word": [(0.0, 1.0, "sp")]}))
    with pytest.raises(DataError, match=r"tier 'word' has no words \(only silence labels\)"):
        read_textgrid(silent)
    with pytest.raises(DataError, match=r"TextGrid .*nope\.TextGrid does not exist"):
        read_textgrid(tmp_path / "nope.TextGrid")


# ---- events tables ----


def test_events_table_with_offsets(tmp_path: Path) -> None:
    path = tmp_path / "ev.csv"
    path.write_text("word,onset,offset\nOnce,0.5,0.9\nupon,0.9,1.2\n\"a, b\",1.3,1.4\n")
    ev = read_events_table(path)
    assert ev.words == ("Once", "upon", "a, b")
    np.testing.assert_allclose(ev.offsets, [0.9, 1.2, 1.4])


def test_events_table_without_offsets_tsv(tmp_path: Path) -> None:
    path = tmp_path / "ev.tsv"
    path.write_text("token\tstart\nOnce\t0.5\nupon\t0.9\ntime\t2.0\n")
    ev = read_events_table(path, word="token", onset="start")
    np.testing.assert_allclose(ev.offsets, [0.9, 2.0, 2.0 + LAST_WORD_DURATION])
    ev2 = read_events_table(path, word="token", onset="start", offset=None)
    np.testing.assert_allclose(ev2.offsets, ev.offsets)


@pytest.mark.parametrize(
    ("name", "text", "match"),
    [
        ("ev.csv", "text,onset\na,1\n", r"ev\.csv: missing column\(s\) 'word'; has 'text', 'onset'; pass word="),
        ("ev.csv", "word,onset\na,1\nb,soon\n", r"ev\.csv: column 'onset' row 2 is 'soon', not a number"),
        ("ev.csv", "word,onset,offset\na,1,1.5\n,2,2.5\n", r"ev\.csv: empty 'word' in row 2"),
        ("ev.csv", "word,onset\na,2\nb,1\n", r"word times go backwards at word 1 \('b' starts at 1\.000 s"),
        ("ev.csv", "word,onset,offset\na,2,1\n", r"word 0 \('a'\) ends at 1\.000 s before it starts"),
        ("ev.csv", "word,onset\n", r"ev\.csv has no rows"),
        ("ev.json", "{}", r"cannot tell the column separator of ev\.json; name it \.csv or \.tsv"),
        ("ev.csv", 'word,onset\n"a,1\n', r"cannot read .*ev\.csv as a events table"),
    ],
)
def test_events_table_errors(tmp_path: Path, name: str, text: str, match: str) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(DataError, match=match) as err:
        read_events_table(path)
    assert "\n" not in str(err.value)


def test_events_table_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"events table .*none\.csv does not exist; check the path"):
        read_events_table(tmp_path / "none.csv")


# ---- per-TR text ----


def test_events_from_tr_text_spreads_words_over_each_tr() -> None:
    ev = events_from_tr_text(["Once upon", "", "a time there", None, "was"], tr=2.0, start=4.0)
    assert ev.words == ("Once", "upon", "a", "time", "there", "was")
    np.testing.assert_allclose(ev.onsets, [4.0, 5.0, 8.0, 8 + 2 / 3, 8 + 4 / 3, 12.0])
    np.testing.assert_allclose(ev.offsets, [5.0, 6.0, 8 + 2 / 3, 8 + 4 / 3, 10.0, 14.0])


def test_events_from_tr_text_errors() -> None:
    with pytest.raises(DataError, match=r"all 3 TRs are empty"):
        events_from_tr_text(["", " ", None], tr=2.0)
    with pytest.raises(DataError, match=r"TR must be > 0 seconds, got 0"):
        events_from_tr_text(["a"], tr=0)
