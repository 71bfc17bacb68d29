"""The built wheel works outside the checkout: registries and manifests ship as package data.

Builds the wheel from a copy of the sources, installs it with ``pip --target``, and runs the CLI from another
folder with only that copy importable (the venv's editable-install finder is removed in the child, so a module
missing from the wheel fails instead of being read from the checkout).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
SOURCES = ["pyproject.toml", "setup.py", "README.md", "brainalign", "pipelines/models", "data_manifests"]

# sitecustomize of the child: drop the editable finder, and check at exit that every brainalign module came from
# the installed copy
GUARD = '''
import atexit, os, sys
sys.meta_path[:] = [f for f in sys.meta_path if "__editable__" not in getattr(f, "__module__", "")]
SITE = os.path.realpath(os.environ["BRAINALIGN_TEST_SITE"])

def _check():
    for name, mod in list(sys.modules.items()):
        path = getattr(mod, "__file__", None)
        if name.startswith("brainalign") and path and not os.path.realpath(path).startswith(SITE + os.sep):
            sys.stderr.write(f"MODULE OUTSIDE THE WHEEL: {name} from {path}\\n")
            os._exit(3)

atexit.register(_check)
'''


def _run(args: list[str], cwd: Path, env: dict[str, str], timeout: int = 300) -> subprocess.CompletedProcess:
    res = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert res.returncode == 0, f"{' '.join(args)} -> {res.returncode}\n{res.stdout}\n{res.stderr}"
    return res


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """``{"site", "work", "env"}``: the wheel installed in ``site``; ``work`` an empty folder to run in."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    for rel in SOURCES:
        target = src / rel
        if (REPO / rel).is_dir():
            shutil.copytree(REPO / rel, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / rel, target)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BRAINALIGN_", "PYTHON"))}
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp / "dist"),
          str(src)], cwd=src, env=env)
    (wheel,) = (tmp / "dist").glob("brainalign-*.whl")
    site = tmp / "site"
    _run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(site), str(wheel)],
         cwd=tmp, env=env)
    guard = tmp / "guard"
    guard.mkdir()
    (guard / "sitecustomize.py").write_text(GUARD)
    work = tmp / "work"
    work.mkdir()
    env.update(PYTHONPATH=os.pathsep.join([str(site), str(guard)]), BRAINALIGN_TEST_SITE=str(site),
               BRAINALIGN_HOME=str(tmp / "home"), HF_HUB_OFFLINE="1", BRAINALIGN_OFFLINE="1")
    return {"site": site, "work": work, "env": env}


def _cli(installed: dict, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return _run([sys.executable, "-m", "brainalign.cli", *args], installed["work"], env or installed["env"])


def test_wheel_holds_the_registry_data(installed: dict) -> None:
    root = installed["site"] / "brainalign" / "_registry"
    assert {p.name for p in (root / "models").glob("*.yaml")} == {p.name for p in (REPO / "pipelines/models").glob("*.yaml")}
    assert (root / "vision" / "vision.yaml").is_file() and (root / "generators" / "generators.yaml").is_file()
    assert (root / "manifests" / "Pereira2018.yaml").is_file()
    assert (root / "manifests" / "restricted" / "NSD.yaml").is_file()
    code = "from brainalign.data.manifest import restricted_manifest_path as p; print(p('NSD'))"
    out = _run([sys.executable, "-c", code], installed["work"], installed["env"]).stdout.strip()
    assert Path(out) == root / "manifests" / "restricted" / "NSD.yaml"


def test_installed_package_is_imported_and_finds_its_registries(installed: dict) -> None:
    code = (
        "import brainalign, brainalign.registry as r; "
        "from brainalign.features.vision_sources import load_vision_entries; "
        "from brainalign.decoders.generator_registry import load_generator_entries; "
        "print(brainalign.__file__); print(*[r.packaged_folder(k) for k in r.SOURCE_FOLDERS], sep='\\n'); "
        "print(len(load_vision_entries()), len(load_generator_entries()))"
    )
    lines = _run([sys.executable, "-c", code], installed["work"], installed["env"]).stdout.split("\n")
    site = installed["site"].resolve()
    assert Path(lines[0]).resolve().is_relative_to(site), lines[0]
    assert not Path(lines[0]).resolve().is_relative_to(REPO)
    from brainalign.registry import SOURCE_FOLDERS

    n = len(SOURCE_FOLDERS)
    with_yaml = [i for i, sub in enumerate(SOURCE_FOLDERS.values()) if any((REPO / sub).glob("*.yaml"))]
    folders = lines[1:1 + n]
    assert all(Path(folders[i]).resolve().is_relative_to(site / "brainalign" / "_registry") for i in with_yaml), lines
    n_vision, n_generators = map(int, lines[1 + n].split())
    assert n_vision > 0 and n_generators > 0


def test_cli_models_and_datasets(installed: dict) -> None:
    models = _cli(installed, "models").stdout
    names = {line.split()[0] for line in models.splitlines() if line.strip()}
    assert {"gpt2", "smollm2-135m-instruct-gguf", "all-minilm-l6-v2"} <= names
    datasets = _cli(installed, "datasets").stdout.split()
    assert {"Fedorenko2016", "Pereira2018.243sentences", "Blank2014", "Tuckute2024"} <= set(datasets)


def test_user_registry_folder_with_the_installed_package(installed: dict, tmp_path: Path) -> None:
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "mine.yaml").write_text(
        "- {name: my-model, kind: hf, hf_id: me/model, arch: causal, n_params: 1, family: mine,"
        " max_context_tokens: 64}\n")
    env = {**installed["env"], "BRAINALIGN_REGISTRY_PATH": str(tmp_path)}
    names = {line.split()[0] for line in _cli(installed, "models", env=env).stdout.splitlines() if line.strip()}
    assert {"my-model", "gpt2"} <= names


def test_score_run_on_a_user_table(installed: dict, tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    words = ["a", "dog", "house", "elephant", "ran", "quickly", "to", "the", "mat"]
    rows = ["text\tpassage\tvox_1\tvox_2\tvox_3"]
    for i in range(40):
        text = " ".join(rng.choice(words, size=5))
        length = sum(len(w) for w in text.split())
        vox = [length + rng.standard_normal() for _ in range(3)]
        rows.append(f"{text}\tp{i // 4}\t" + "\t".join(f"{v:.4f}" for v in vox))
    table = tmp_path / "study.tsv"
    table.write_text("\n".join(rows) + "\n")
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(
        f"datasets:\n  - name: study\n    path: {table}\n    text_column: text\n    response_columns: 'vox_*'\n"
        "    group_column: passage\n    unit: sentence\n"
        "models: []\nbaselines: [word_length]\nrandom_init_controls: false\n"
        "encoder: {alphas: [1, 10, 100], inner_folds: 3}\ncv: {n_folds: 3}\n"
    )
    out = tmp_path / "out"
    _cli(installed, "score", "--config", str(cfg), "--out", str(out), "--quiet")
    assert (out / "scores.csv").is_file()
    header, *body = (out / "scores.csv").read_text().splitlines()
    assert "r" in header.split(",") and body
    assert any("baseline:word_length" in line for line in body)
