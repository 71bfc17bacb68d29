"""Registry[Entry]: packaged folders, user folders (env var, add_folder), registrations, one-line errors."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from pydantic import BaseModel, ConfigDict

import brainalign.registry as reg
from brainalign.data.manifest import known_manifests, load_manifest, manifest_dir
from brainalign.errors import ConfigError
from brainalign.features.specs import MODELS, get_model_entry, load_model_entries
from brainalign.registry import ENV_VAR, SOURCE_FOLDERS, Registry

REPO = Path(__file__).resolve().parents[2]


class Thing(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    size: int = 1


def _write(folder: Path, file: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / file
    path.write_text(text)
    return path


@pytest.fixture(autouse=True)
def _no_user_roots(monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)
    monkeypatch.setattr(reg, "_ROOTS", [])


@pytest.fixture
def packaged(tmp_path: Path) -> Path:
    folder = tmp_path / "packaged"
    _write(folder, "a.yaml", "- {name: alpha, size: 2}\n- {name: beta}\n")
    _write(folder, "b.yaml", "- {name: gamma}\n")
    return folder


def _things(packaged: Path, **kw) -> Registry[Thing]:
    return Registry(Thing, "thing", "models", packaged=[packaged], **kw)


def _one_line_error(match: str, fn, *args) -> str:
    with pytest.raises(ConfigError, match=match) as err:
        fn(*args)
    assert "\n" not in str(err.value)
    return str(err.value)


def test_get_list_names_folders(packaged: Path) -> None:
    things = _things(packaged)
    assert things.names() == ["alpha", "beta", "gamma"]
    assert [t.name for t in things.list()] == ["alpha", "beta", "gamma"]
    assert things.get("alpha").size == 2 and "beta" in things
    assert things.folders() == [packaged]
    _one_line_error(r"unknown thing 'delta'; known: alpha, beta, gamma$", things.get, "delta")


def test_register_unregister(packaged: Path) -> None:
    things = _things(packaged)
    things.register(Thing(name="delta", size=4))
    things.register(Thing(name="alpha", size=9))  # registrations take precedence
    assert things.get("delta").size == 4 and things.get("alpha").size == 9
    things.unregister("delta")
    things.unregister("alpha")
    things.unregister("never-registered")
    assert things.names() == ["alpha", "beta", "gamma"] and things.get("alpha").size == 2
    _one_line_error("register a Thing, got dict", things.register, {"name": "x"})


def test_user_roots_from_env_var(packaged: Path, tmp_path: Path, monkeypatch) -> None:
    root1, root2 = tmp_path / "u1", tmp_path / "u2"
    _write(root1 / "models", "mine.yaml", "- {name: delta}\n")
    _write(root2 / "models", "more.yaml", "- {name: epsilon}\n")
    (root2 / "vision").mkdir()
    monkeypatch.setenv(ENV_VAR, os.pathsep.join([str(root1), "", str(root2)]))
    things = _things(packaged)
    assert things.names() == ["alpha", "beta", "delta", "epsilon", "gamma"]
    assert things.folders() == [packaged, root1 / "models", root2 / "models"]
    assert reg.user_folders("vision") == [root2 / "vision"]
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "missing"))
    _one_line_error(f"{ENV_VAR} entry .*missing' is not a folder", things.names)


def test_add_folder_and_root(packaged: Path, tmp_path: Path) -> None:
    things = _things(packaged)
    extra = tmp_path / "extra"
    _write(extra, "x.yaml", "- {name: zeta}\n")
    things.add_folder(extra)
    assert "zeta" in things.names() and things.folders()[-1] == extra
    things.remove_folder(extra)
    assert "zeta" not in things.names()
    _one_line_error("thing registry folder .* is not a folder", things.add_folder, tmp_path / "nope")
    root = tmp_path / "root"
    _write(root / "models", "y.yaml", "- {name: eta}\n")
    reg.add_registry_root(root)
    assert "eta" in things.names()
    reg.remove_registry_root(root)
    assert "eta" not in things.names()
    _one_line_error("registry folder .* is not a folder", reg.add_registry_root, tmp_path / "nope")


def test_user_entry_clashing_with_packaged_one(packaged: Path, tmp_path: Path) -> None:
    things = _things(packaged)
    user = _write(tmp_path / "user", "clash.yaml", "- {name: beta}\n")
    things.add_folder(user.parent)
    msg = _one_line_error(r"thing 'beta' in .*clash\.yaml is already defined in .*a\.yaml; rename one entry",
                          things.names)
    assert str(user) in msg


def test_duplicate_names_in_packaged_files(packaged: Path) -> None:
    _write(packaged, "c.yaml", "- {name: gamma}\n")
    _one_line_error(r"thing 'gamma' in .*c\.yaml is already defined in .*b\.yaml", _things(packaged).names)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("- {name: ok}\n- {name: bad, size: big}\n", r"bad\.yaml entry 1 \('bad'\): size: Input should be"),
        ("- {name: bad, colour: red}\n", r"bad\.yaml entry 0 \('bad'\): colour: Extra inputs"),
        ("name: bad\n", r"bad\.yaml: expected a list of thing entries, got dict"),
        ("- name: a\n  name: b\n", r"thing registry file .*bad\.yaml is not valid YAML"),  # duplicate key
        ("- [unclosed\n", r"thing registry file .*bad\.yaml is not valid YAML"),
    ],
)
def test_invalid_files_name_file_and_entry(packaged: Path, text: str, match: str) -> None:
    _write(packaged, "bad.yaml", text)
    _one_line_error(match, _things(packaged).names)


def test_missing_packaged_files(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    _one_line_error(r"no thing registry files \(\*\.yaml\) in .*empty; reinstall brainalign",
                    _things(tmp_path / "empty").names)
    assert _things(tmp_path / "empty", require_files=False).names() == []


def test_edited_file_is_read_again(packaged: Path) -> None:
    things = _things(packaged)
    assert things.get("gamma").size == 1
    path = packaged / "b.yaml"
    path.write_text("- {name: gamma, size: 30}\n")
    os.utime(path, ns=(path.stat().st_mtime_ns + 10**9,) * 2)
    assert things.get("gamma").size == 30


def test_check_hook_sees_user_entries(packaged: Path, tmp_path: Path) -> None:
    def no_zeta(entries: dict[str, Thing]) -> None:
        if "zeta" in entries:
            raise ConfigError("zeta is not allowed")

    things = _things(packaged, check=no_zeta)
    assert things.names()
    things.add_folder(_write(tmp_path / "u", "z.yaml", "- {name: zeta}\n").parent)
    _one_line_error("zeta is not allowed", things.names)


# ------------------------------------------------------------------ the real registries


def test_user_model_and_manifest_beside_the_packaged_ones(tmp_path: Path, monkeypatch) -> None:
    root = tmp_path / "myreg"
    _write(root / "models", "mine.yaml", (
        "- {name: my-gpt2-instruct, kind: hf, hf_id: me/gpt2-instruct, arch: causal, n_params: 1, family: gpt2,"
        " instruct: true, base: gpt2, max_context_tokens: 1024}\n"))
    shipped = (manifest_dir() / "Tuckute2024.yaml").read_text()
    _write(root / "manifests", "MyStudy.yaml", shipped.replace("name: Tuckute2024", "name: MyStudy", 1))
    monkeypatch.setenv(ENV_VAR, str(root))
    assert get_model_entry("my-gpt2-instruct").base == "gpt2"
    assert "gpt2" in load_model_entries() and root / "models" in MODELS.folders()
    assert "MyStudy" in known_manifests() and "Tuckute2024" in known_manifests()
    assert load_manifest("MyStudy").name == "MyStudy"
    _write(root / "manifests", "Tuckute2024.yaml", shipped)
    _one_line_error(r"dataset manifest 'Tuckute2024' in .*myreg.* is already defined in", known_manifests)
    (root / "manifests" / "Tuckute2024.yaml").unlink()
    _write(root / "models", "clash.yaml", (
        "- {name: gpt2, kind: hf, hf_id: me/gpt2, arch: causal, n_params: 1, family: gpt2,"
        " max_context_tokens: 1024}\n"))
    _one_line_error(r"model 'gpt2' in .*clash\.yaml is already defined in .*gpt2\.yaml", get_model_entry, "gpt2")


def test_user_model_with_unknown_base(tmp_path: Path, monkeypatch) -> None:
    _write(tmp_path / "models", "mine.yaml", (
        "- {name: orphan, kind: hf, hf_id: me/x, arch: causal, n_params: 1, family: x, instruct: true,"
        " base: nobody, max_context_tokens: 8}\n"))
    monkeypatch.setenv(ENV_VAR, str(tmp_path))
    _one_line_error("model 'orphan': base 'nobody' is not a registry entry", load_model_entries)


def test_packaged_folders_are_the_source_folders() -> None:
    for kind, rel in SOURCE_FOLDERS.items():
        assert reg.packaged_folder(kind) == REPO / rel, kind
    _one_line_error("unknown registry kind 'nope'", reg.packaged_folder, "nope")


def test_pyproject_maps_every_source_folder() -> None:
    tool = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    mapped = tool["package-dir"]
    for kind, rel in SOURCE_FOLDERS.items():
        assert mapped[f"brainalign._registry.{kind}"] == rel
    for package, rel in mapped.items():
        assert (REPO / rel).is_dir() and list((REPO / rel).glob("*.yaml")), rel
        assert tool["package-data"][package] == ["*.yaml"]


def test_registry_import_is_light() -> None:
    code = ("import sys, brainalign.registry; "
            "print(sorted(m for m in sys.modules if m.startswith('brainalign') or m in ('torch', 'numpy', 'pandas')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == str(["brainalign", "brainalign._version", "brainalign.errors", "brainalign.registry",
                               "brainalign.yaml_io"])


def test_restricted_manifest_is_packaged_but_not_in_the_catalog() -> None:
    from brainalign.data.manifest import restricted_manifest_path

    assert restricted_manifest_path("NSD") == REPO / "data_manifests" / "restricted" / "NSD.yaml"
    assert restricted_manifest_path("NSD").is_file() and "NSD" not in known_manifests()
