"""``brainalign score`` on bad input: exit code 2, one ``error: ...`` line on stderr, no output folder."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

ROWS = 40


def _tsv(path: Path, header: str = "sentence\tpassage\tvox_1\tvox_2") -> Path:
    rng = np.random.default_rng(0)
    lines = [header] + [f"the cat number {i} sat {'x' * (i % 7)}\tp{i // 4}\t{rng.normal():.3f}\t{rng.normal():.3f}"
                        for i in range(ROWS)]
    path.write_text("\n".join(lines) + "\n")
    return path


def _config(tmp_path: Path, table: Path) -> Path:
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(f"""name: badinput
datasets:
  - name: mine
    path: {table}
    text_column: sentence
    response_columns: "vox_*"
    group_column: passage
    unit: sentence
models: []
baselines: [word_length]
random_init_controls: false
""")
    return cfg


def _score(cfg: Path, out: Path, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "BRAINALIGN_HOME": str(home)}
    return subprocess.run([sys.executable, "-m", "brainalign.cli", "score", "--config", str(cfg), "--out", str(out),
                           "--quiet"], capture_output=True, text=True, env=env, timeout=300)


def _assert_one_line_error(proc: subprocess.CompletedProcess[str], pattern: str, out: Path) -> None:
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2, proc.stderr
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    assert pattern in lines[0], lines[0]
    assert not out.exists(), sorted(p.name for p in out.iterdir())


def test_repeated_header(tmp_path: Path) -> None:
    table = _tsv(tmp_path / "dup.tsv", header="sentence\tpassage\tvox_1\tvox_1")
    out = tmp_path / "out"
    proc = _score(_config(tmp_path, table), out, tmp_path / "home")
    _assert_one_line_error(proc, f"{table}: column 'vox_1' appears more than once in the header", out)


def test_truncated_gzip_table(tmp_path: Path) -> None:
    data = gzip.compress(_tsv(tmp_path / "t.tsv").read_bytes() * 50)
    table = tmp_path / "cut.tsv.gz"
    table.write_bytes(data[: len(data) // 2])
    out = tmp_path / "out"
    proc = _score(_config(tmp_path, table), out, tmp_path / "home")
    _assert_one_line_error(proc, f"{table} is truncated or corrupt", out)


def test_brainalign_home_is_a_file(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.write_text("x")
    out = tmp_path / "out"
    proc = _score(_config(tmp_path, _tsv(tmp_path / "t.tsv")), out, home)
    _assert_one_line_error(proc, f"BRAINALIGN_HOME={home} is not a writable folder; point it at one", out)


def test_out_is_an_existing_file(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.write_text("mine")
    proc = _score(_config(tmp_path, _tsv(tmp_path / "t.tsv")), out, tmp_path / "home")
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1 and "is a file, not a folder" in lines[0], proc.stderr
    assert out.read_text() == "mine"
