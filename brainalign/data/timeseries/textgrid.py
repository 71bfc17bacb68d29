"""Praat TextGrid files -> :class:`~brainalign.data.timeseries.events.WordEvents`.

Reads the text formats Praat writes: the long ("ooTextFile" with ``xmin = ...`` labels) and the short format
(values only), in UTF-8 (with or without BOM), UTF-16 (with BOM) or, failing both, Latin-1. Binary TextGrids are
refused. Both formats reduce to the same stream of values (strings, numbers, ``<exists>``), which is parsed once.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from brainalign.data.timeseries.events import WordEvents
from brainalign.errors import DataError

#: Labels skipped as silence / noise, compared after stripping spaces, lower-casing and removing one pair of
#: surrounding ``{}``, ``<>`` or ``[]``: ``"" sp sil sl ns lg br ls cg ig spn noise unk oov sentence_start
#: sentence_end``; so ``""``, ``"sp"``, ``"{SL}"``, ``"{NS}"``, ``"{LG}"``, ``"<unk>"``, ``"[noise]"``, ``"<sil>"``
#: are all dropped. ``"#"``, ``"<s>"`` and ``"</s>"`` (sentence markers) are dropped too.
SILENCE_LABELS = frozenset({"", "sp", "sil", "sl", "ns", "lg", "br", "ls", "cg", "ig", "spn", "noise", "unk", "oov",
                            "sentence_start", "sentence_end"})
_MARKERS = frozenset({"#", "<s>", "</s>"})
_WORD_TIERS = ("word", "words")

_TOKEN = re.compile(
    r'"(?P<str>(?:[^"]|"")*)"'          # a string; "" is an escaped quote; may span lines
    r"|(?P<flag><exists>|<absent>)"
    r"|\[[^\]\n]*\]"                     # item [1]: / intervals [3]: in the long format
    r"|![^\n]*"                          # comment to the end of the line
    r"|[A-Za-z_][A-Za-z0-9_?:]*"         # labels (xmin, intervals:, tiers?) are skipped
    r"|(?P<num>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)"
    r'|(?P<bad>")'                       # an unterminated string
    r"|\S"                               # = and other punctuation
)


@dataclass(frozen=True)
class Tier:
    """One tier: ``(n,)`` starts, ends and labels; a point tier has ``ends == starts``."""

    name: str
    kind: str
    starts: np.ndarray
    ends: np.ndarray
    labels: tuple[str, ...]


def _decode(raw: bytes) -> str:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16")
    if raw[:200].count(b"\x00") > 10:  # UTF-16 without a BOM
        return raw.decode("utf-16-be" if raw[0] == 0 else "utf-16-le")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _tokens(text: str, src: str) -> list[str | float]:
    """Strings (str), numbers (float) and flags (``"<exists>"`` as str) in file order."""
    out: list[str | float] = []
    for m in _TOKEN.finditer(text):
        if m.group("str") is not None:
            out.append(m.group("str").replace('""', '"'))
        elif m.group("num") is not None:
            out.append(float(m.group("num")))
        elif m.group("flag") is not None:
            out.append(m.group("flag"))
        elif m.group("bad") is not None:
            line = text.count("\n", 0, m.start()) + 1
            raise DataError(f"{src}: malformed TextGrid (unterminated string on line {line}); fix or re-export it from Praat")
    return out


class _Reader:
    def __init__(self, tokens: list[str | float], src: str) -> None:
        self.tokens, self.src, self.i = tokens, src, 0

    def _next(self, kind: type, what: str) -> str | float:
        if self.i >= len(self.tokens):
            raise DataError(f"{self.src}: malformed TextGrid (file ends where {what} was expected); is it truncated?")
        tok = self.tokens[self.i]
        if not isinstance(tok, kind) or (kind is str and tok in ("<exists>", "<absent>")):
            raise DataError(f"{self.src}: malformed TextGrid (expected {what}, found {tok!r}); fix or re-export it from Praat")
        self.i += 1
        return tok

    def num(self, what: str) -> float:
        return float(self._next(float, what))

    def count(self, what: str) -> int:
        v = self.num(what)
        if v < 0 or v != int(v):
            raise DataError(f"{self.src}: malformed TextGrid ({what} is {v}, not a count); fix or re-export it from Praat")
        return int(v)

    def string(self, what: str) -> str:
        return str(self._next(str, what))


def _tier(r: _Reader, k: int) -> Tier:
    kind = r.string(f"the class of tier {k}")
    name = r.string(f"the name of tier {k}")
    r.num(f"xmin of tier {name!r}")
    r.num(f"xmax of tier {name!r}")
    n = r.count(f"the size of tier {name!r}")
    if kind == "IntervalTier":
        rows = [(r.num(f"xmin of interval {j + 1} of tier {name!r}"), r.num(f"xmax of interval {j + 1} of tier {name!r}"),
                 r.string(f"the text of interval {j + 1} of tier {name!r}")) for j in range(n)]
        starts, ends = [a for a, _, _ in rows], [b for _, b, _ in rows]
    elif kind == "TextTier":
        rows = [(r.num(f"the time of point {j + 1} of tier {name!r}"), 0.0,
                 r.string(f"the mark of point {j + 1} of tier {name!r}")) for j in range(n)]
        starts = ends = [a for a, _, _ in rows]
    else:
        raise DataError(f"{r.src}: tier {k} ({name!r}) has unknown class {kind!r}; expected IntervalTier or TextTier")
    t = Tier(name, kind, np.asarray(starts, float), np.asarray(ends, float), tuple(lab for _, _, lab in rows))
    back = np.flatnonzero(np.diff(t.starts) < 0)
    if back.size:
        j = int(back[0]) + 1
        raise DataError(f"{r.src}: tier {name!r} is not in time order: interval {j + 1} starts at {t.starts[j]:.3f} s, "
                        f"before interval {j} at {t.starts[j - 1]:.3f} s; fix the TextGrid")
    bad = np.flatnonzero(t.ends < t.starts)
    if bad.size:
        j = int(bad[0])
        raise DataError(f"{r.src}: tier {name!r} interval {j + 1} ends at {t.ends[j]:.3f} s before it starts at "
                        f"{t.starts[j]:.3f} s; fix the TextGrid")
    return t


def read_tiers(path: str | Path) -> list[Tier]:
    """All tiers of a text TextGrid, in file order (one-line :class:`DataError` when malformed)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"TextGrid {path} does not exist; check the path")
    raw = path.read_bytes()
    if raw.startswith(b"ooBinaryFile"):
        raise DataError(f"{path}: binary TextGrid; save it from Praat as a text file")
    r = _Reader(_tokens(_decode(raw), str(path)), str(path))
    if r.tokens[:2] != ["ooTextFile", "TextGrid"]:
        raise DataError(f"{path}: not a TextGrid (no 'File type = \"ooTextFile\"' / 'Object class = \"TextGrid\"' header)")
    r.i = 2
    r.num("the file's xmin")
    r.num("the file's xmax")
    flag = r.tokens[r.i] if r.i < len(r.tokens) else None
    if flag not in ("<exists>", "<absent>"):
        raise DataError(f"{path}: malformed TextGrid (expected <exists> after xmax, found {flag!r}); re-export it")
    r.i += 1
    if flag == "<absent>":
        return []
    return [_tier(r, k + 1) for k in range(r.count("the number of tiers"))]


def _pick(tiers: list[Tier], tier: str | None, path: Path) -> Tier:
    names = ", ".join(repr(t.name) for t in tiers) or "(none)"
    if tier is not None:
        hits = [t for t in tiers if t.name == tier] or [t for t in tiers if t.name.lower() == tier.lower()]
        if len(hits) != 1:
            why = "no" if not hits else f"{len(hits)} tiers named like"
            raise DataError(f"{path}: {why} tier {tier!r}; tiers: {names}")
        return hits[0]
    hits = [t for t in tiers if t.name.strip().lower() in _WORD_TIERS and t.kind == "IntervalTier"]
    if len(hits) != 1:
        why = "no word tier ('word' / 'words')" if not hits else "several word tiers"
        raise DataError(f"{path}: {why}; tiers: {names}; pass tier=<name>")
    return hits[0]


def is_silence(label: str, skip: Iterable[str] = SILENCE_LABELS) -> bool:
    """True for labels that are not words (see :data:`SILENCE_LABELS`)."""
    raw = label.strip()
    if raw in _MARKERS:
        return True
    norm = raw.lower()
    if len(norm) >= 2 and (norm[0], norm[-1]) in (("{", "}"), ("<", ">"), ("[", "]")):
        norm = norm[1:-1].strip()
    return norm in set(skip)


def read_textgrid(path: str | Path, tier: str | None = None, skip: Iterable[str] = SILENCE_LABELS) -> WordEvents:
    """The words of one interval tier of a TextGrid, in its time frame (seconds).

    Args:
        path: ``.TextGrid`` file, long or short text format.
        tier: tier name (exact, else case-insensitive); default the interval tier named ``word`` / ``words``
            (any case).
        skip: normalised labels dropped as silence / noise (default :data:`SILENCE_LABELS`).

    Returns:
        ``WordEvents`` with ``(n_words,)`` words (labels stripped of surrounding spaces, case kept), onsets
        (interval xmin) and offsets (xmax).
    """
    path = Path(path)
    t = _pick(read_tiers(path), tier, path)
    if t.kind != "IntervalTier":
        raise DataError(f"{path}: tier {t.name!r} is a point tier (TextTier); words need an IntervalTier")
    skip = frozenset(skip)
    keep = [j for j, lab in enumerate(t.labels) if not is_silence(lab, skip)]
    if not keep:
        raise DataError(f"{path}: tier {t.name!r} has no words (only silence labels); pick another tier")
    return WordEvents(tuple(t.labels[j].strip() for j in keep), t.starts[keep], t.ends[keep], source=f"{path} [{t.name}]")
