"""Manifest validation and the catalog (names, dispatch, errors)."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

import brainalign.data.manifest as manifest_mod
from brainalign.data.catalog import available, load_dataset
from brainalign.data.manifest import known_manifests, load_manifest, manifest_dir, parse_manifest
from brainalign.errors import ConfigError, DataError

EXPECTED = {
    "Fedorenko2016": ("word", "sentence", "2966b6d78e972a72068aa6907377483f427e8d9a"),
    "Pereira2018": ("sentence", "passage", "f8434b4022f5b2c862f0ff2854d5b3f5f2a7fb96"),
    "Blank2014": ("fragment", "story", "af1e868821b897cb1684e4c8dcd33977121ef552"),
    "Tuckute2024": ("sentence", "sentence", "5c8fc7f3e24cc1af5f5296459377b638b6492641"),
}


def _valid() -> dict:
    return yaml.safe_load((manifest_dir() / "Tuckute2024.yaml").read_text())


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_shipped_manifests(name: str) -> None:
    m = load_manifest(name)
    unit, group_kind, sha1 = EXPECTED[name]
    assert (m.name, m.unit, m.group_kind, m.format) == (name, unit, group_kind, "brainscore-netcdf")
    (entry,) = m.files
    assert entry.sha1 == sha1
    assert entry.urls[0].startswith("https://brainscore-storage.s3.amazonaws.com/brainscore-language/assy_")
    assert "brainscore-language.s3.amazonaws.com/" in entry.urls[1] and "?versionId=" in entry.urls[1]
    assert entry.urls[0].rsplit("/", 1)[1] == entry.name == entry.urls[1].rsplit("/", 1)[1].split("?")[0]
    assert m.citation and m.license and m.description and entry.mirror


def test_fedorenko_mirror_is_the_npy_folder() -> None:
    entry = load_manifest("Fedorenko2016").file()
    assert (entry.mirror, entry.mirror_format) == ("fedorenko2016", "fedorenko-npy")


def test_known_and_unknown_manifest_names() -> None:
    assert known_manifests() == sorted(EXPECTED)
    assert load_manifest("Pereira2018.384sentences").name == "Pereira2018"
    with pytest.raises(ConfigError, match="unknown dataset manifest 'Nope'; known: Blank2014, Fedorenko2016"):
        load_manifest("Nope")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.update(colour="red"), "colour: Extra inputs are not permitted"),
        (lambda d: d["files"][0].update(sha1="abc"), "files.0.sha1"),
        (lambda d: d["files"][0].update(urls=["ftp://x/y"]), "files.0.urls"),
        (lambda d: d["files"][0].update(urls=[]), "files.0.urls"),
        (lambda d: d["files"][0].update(mirror="/abs/path.nc"), "files.0.mirror"),
        (lambda d: d["files"][0].update(mirror="../up.nc"), "files.0.mirror"),
        (lambda d: d["files"][0].update(mirror_format="fedorenko-npy", mirror=None), "mirror_format is set"),
        (lambda d: d.update(unit="paragraph"), "unit"),
        (lambda d: d.update(format="nwb"), "format"),
        (lambda d: d.pop("citation"), "citation: Field required"),
    ],
)
def test_manifest_validation_errors(change, message: str) -> None:
    data = _valid()
    change(data)
    with pytest.raises(ConfigError, match=message) as err:
        parse_manifest(data, source="Tuckute2024.yaml")
    assert "\n" not in str(err.value)


def test_datasets_default_to_name() -> None:
    data = _valid()
    data.pop("datasets")
    assert parse_manifest(data).datasets == ["Tuckute2024"]


def test_bad_yaml_and_name_mismatch(tmp_path: Path) -> None:
    (tmp_path / "Broken.yaml").write_text("name: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_manifest("Broken", directory=tmp_path)
    (tmp_path / "Other.yaml").write_text(yaml.safe_dump(_valid()))
    with pytest.raises(ConfigError, match="differs from the file name"):
        load_manifest("Other", directory=tmp_path)


def test_available_names() -> None:
    assert sorted(available()) == sorted(
        ["Fedorenko2016", "Pereira2018.243sentences", "Pereira2018.384sentences", "Blank2014", "Tuckute2024"]
    )


def test_unknown_dataset_lists_available() -> None:
    with pytest.raises(ConfigError, match=r"unknown dataset 'Pereira2018'; available: .*Pereira2018\.243sentences"):
        load_dataset("Pereira2018")


def test_offline_without_mirror_cannot_load(monkeypatch) -> None:
    monkeypatch.setenv("BRAINALIGN_OFFLINE", "1")
    with pytest.raises(DataError, match="network is off; set BRAINALIGN_DATA_MIRROR="):
        load_dataset("Fedorenko2016")


def _fabricated_mirror(folder: Path, sentences: list[str], n_electrodes: int = 3) -> np.ndarray:
    folder.mkdir(parents=True)
    n_words = sum(len(s.split()) for s in sentences)
    data = np.random.default_rng(0).normal(size=(n_words, n_electrodes))
    np.save(folder / "FED_DATA.npy", data)
    np.save(folder / "FED_SUBJ.npy", np.array([1, 2, 2][:n_electrodes]))
    (folder / "sentences_ordered.txt").write_text("\n".join(sentences) + "\n")
    return data


def test_catalog_reads_fedorenko_mirror_format(monkeypatch, tmp_path: Path) -> None:
    sentences = ["Alex was tired so he took a nap.", "Amy caught the ball and threw it back."]
    data = _fabricated_mirror(tmp_path / "mirror" / "fedorenko2016", sentences)
    monkeypatch.setenv("BRAINALIGN_DATA_MIRROR", str(tmp_path / "mirror"))
    monkeypatch.setenv("BRAINALIGN_OFFLINE", "1")
    ds = load_dataset("Fedorenko2016")
    np.testing.assert_array_equal(ds.responses, data)
    assert ds.stimuli.contexts()[1] == ["Amy", "caught", "the", "ball", "and", "threw", "it", "back."]
    assert ds.subjects.tolist() == ["1", "2", "2"]
    assert ds.group_kind == "sentence"
    assert "Fedorenko" in ds.meta["citation"] and ds.meta["manifest"] == "Fedorenko2016"


def test_catalog_reads_netcdf_from_mirror(monkeypatch, tmp_path: Path, pereira_nc: Path) -> None:
    """With a manifest whose sha1 is the fabricated file's, the catalog loads the .nc from the mirror."""
    mirror = tmp_path / "mirror"
    (mirror / "bs").mkdir(parents=True)
    target = mirror / "bs" / pereira_nc.name
    target.write_bytes(pereira_nc.read_bytes())
    data = yaml.safe_load((manifest_dir() / "Pereira2018.yaml").read_text())
    data["files"][0].update(sha1=hashlib.sha1(target.read_bytes()).hexdigest(), mirror=f"bs/{pereira_nc.name}")
    folder = tmp_path / "manifests"
    folder.mkdir()
    (folder / "Pereira2018.yaml").write_text(yaml.safe_dump(data))
    monkeypatch.setattr(manifest_mod, "manifest_dir", lambda: folder)
    monkeypatch.setenv("BRAINALIGN_DATA_MIRROR", str(mirror))
    monkeypatch.setenv("BRAINALIGN_OFFLINE", "1")
    assert available() == ["Pereira2018.243sentences", "Pereira2018.384sentences"]
    ds = load_dataset("Pereira2018.384sentences")
    assert ds.name == "Pereira2018.384sentences"
    assert ds.responses.shape == (4, 3)
    assert ds.group_kind == "passage"
    assert ds.meta["sha1"] == data["files"][0]["sha1"]


def test_import_stays_light() -> None:
    code = (
        "import sys, brainalign, brainalign.data, brainalign.data.catalog, brainalign.data.fetch, "
        "brainalign.data.loaders, brainalign.data.loaders.brainscore_nc; "
        "heavy = [m for m in ('xarray', 'pooch', 'pandas', 'h5netcdf', 'torch') if m in sys.modules]; "
        "print(heavy); sys.exit(1 if heavy else 0)"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr
