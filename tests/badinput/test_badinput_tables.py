"""User tables: repeated headers and truncated / corrupt files are one-line DataErrors, never a partial table."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from badinput_helpers import one_line

from brainalign.data.loaders import from_arrays, load_table
from brainalign.data.loaders.nsd import nsd_manifest
from brainalign.data.stimuli import StimulusSet
from brainalign.errors import ConfigError, DataError

HAS_ZSTD = importlib.util.find_spec("zstandard") is not None


def _frame(n: int = 3000) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    data = {"text": [f"sentence number {i} here" for i in range(n)], "passage": [f"p{i // 10}" for i in range(n)]}
    data.update({f"vox_{j}": rng.normal(size=n) for j in range(4)})
    return pd.DataFrame(data)


def _write(df: pd.DataFrame, path: Path) -> Path:
    if path.suffix == ".parquet":
        df.to_parquet(path, index=False)
    else:
        df.to_csv(path, sep="\t" if ".tsv" in path.suffixes else ",", index=False)
    return path


def _cut(path: Path) -> Path:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


DELIMITED = ["t.csv", "t.tsv", "t.csv.gz", "t.tsv.bz2", "t.csv.xz", "t.csv.zip"] + (["t.csv.zst"] if HAS_ZSTD else [])
COMPRESSED = [n for n in DELIMITED if n.count(".") == 2] + ["t.parquet"]


@pytest.mark.parametrize("name", [*DELIMITED, "t.parquet"])
def test_round_trip_of_every_supported_format(tmp_path: Path, name: str) -> None:
    ds = load_table(_write(_frame(50), tmp_path / name), "text", "vox_*", group_column="passage")
    assert ds.responses.shape == (50, 4) and ds.name == "t"
    assert ds.stimuli.text[0] == "sentence number 0 here"


@pytest.mark.parametrize("name", DELIMITED)
def test_repeated_header_in_a_delimited_table(tmp_path: Path, name: str) -> None:
    df = _frame(20).rename(columns={"vox_2": "vox_1"})
    path = _write(df, tmp_path / name)
    with pytest.raises(DataError, match=rf"^{re.escape(str(path))}: column 'vox_1' appears more than once in the header; "
                                        "rename or drop the duplicate$") as exc:
        load_table(path, "text", "vox_*")
    one_line(exc)


def test_repeated_header_in_parquet(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "t.parquet"
    pq.write_table(pa.table([pa.array(["a b", "c d"]), pa.array([1.0, 2.0]), pa.array([3.0, 5.0])],
                            names=["text", "v", "v"]), path)
    with pytest.raises(DataError, match=r"t\.parquet: column 'v' appears more than once in the header"):
        load_table(path, "text", "v")


def test_repeated_text_column_is_caught_too(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("text,text,vox\na,b,1\nc,d,2\n")
    with pytest.raises(DataError, match="column 'text' appears more than once"):
        load_table(path, "text", "vox")


def test_a_real_column_named_like_a_pandas_rename_is_fine(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("text,vox,vox.1\na,1,2\nb,3,5\n")
    assert load_table(path, "text", "vox*").target_ids.tolist() == ["vox", "vox.1"]


@pytest.mark.parametrize("name", COMPRESSED)
def test_truncated_file(tmp_path: Path, name: str) -> None:
    path = _cut(_write(_frame(), tmp_path / name))
    with pytest.raises(DataError, match=rf"^{re.escape(str(path))} is truncated or corrupt \(\w+\); re-export it$") as exc:
        load_table(path, "text", "vox_*", group_column="passage")
    one_line(exc)
    assert exc.value.__cause__ is None and exc.value.__suppress_context__


@pytest.mark.parametrize("name", ["t.csv.gz", "t.csv.bz2", "t.csv.xz", "t.parquet"])
def test_garbage_file(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(b"this is not what the extension says" * 10)
    with pytest.raises(DataError, match="is truncated or corrupt"):
        load_table(path, "text", "vox_*")


def test_corrupted_middle_of_a_gzip(tmp_path: Path) -> None:
    path = _write(_frame(), tmp_path / "t.csv.gz")
    data = bytearray(path.read_bytes())
    data[len(data) // 2 : len(data) // 2 + 64] = b"\xff" * 64
    path.write_bytes(bytes(data))
    with pytest.raises(DataError, match=r"cannot read t\.csv\.gz as a table with sep=',' \(ParserError: Expected \d+ "
                                        r"fields in line \d+, saw \d+\); check the file, or re-export it if it is "
                                        r"truncated or corrupt$") as exc:
        load_table(path, "text", "vox_*")
    one_line(exc)


def test_malformed_plain_table_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("text,vox\na,1\nb,2,3\n")
    with pytest.raises(DataError, match=r"\(ParserError: Expected 2 fields in line 3, saw 3\); check the file$"):
        load_table(path, "text", "vox")


@pytest.mark.skipif(HAS_ZSTD, reason="zstandard is installed")
def test_zst_without_zstandard_says_what_to_install(tmp_path: Path) -> None:
    path = tmp_path / "t.csv.zst"
    path.write_bytes(b"\x28\xb5\x2f\xfd")
    with pytest.raises(DataError, match=r"needs the optional package zstandard; pip install zstandard$"):
        load_table(path, "text", "vox_*")


def test_directory_named_like_a_table(tmp_path: Path) -> None:
    (tmp_path / "t.csv").mkdir()
    with pytest.raises(DataError, match="does not exist; check the path"):
        load_table(tmp_path / "t.csv", "text", "vox_*")


# ---- arrays and stimuli ----


def test_repeated_target_ids_from_arrays() -> None:
    with pytest.raises(DataError, match=r"dataset 'x': target id 'a' appears more than once; give each") as exc:
        from_arrays(["one", "two", "three"], np.eye(3), name="x", target_ids=["b", "a", "a"])
    one_line(exc)


def test_unknown_unit() -> None:
    with pytest.raises(DataError, match=r"unit 'paragraph' is not one of word, sentence, fragment"):
        StimulusSet(name="s", text=("a", "b"), context_id=np.array([0, 1]), unit="paragraph")  # type: ignore[arg-type]


# ---- YAML read by the loaders ----


def test_nsd_manifest_refuses_duplicate_keys(tmp_path: Path) -> None:
    path = tmp_path / "NSD.yaml"
    path.write_text("name: NSD\nterms: a\nterms: b\n")
    with pytest.raises(ConfigError, match=rf"^NSD manifest {re.escape(str(path))} is not valid YAML") as exc:
        nsd_manifest(path)
    one_line(exc)


def test_nsd_manifest_duplicate_key_is_named(tmp_path: Path) -> None:
    path = tmp_path / "NSD.yaml"
    path.write_text("name: NSD\nterms: a\nterms: b\n")
    with pytest.raises(ConfigError, match=r"duplicate key 'terms' \(line 3\); keep one of them"):
        nsd_manifest(path)


def test_packaged_nsd_manifest_still_reads() -> None:
    assert nsd_manifest()["name"]
