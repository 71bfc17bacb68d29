"""Package list for setuptools: ``brainalign*`` plus the registry YAML folders that ``pyproject.toml`` maps into
the package (``[tool.setuptools.package-dir]``). Everything else is configured in ``pyproject.toml``."""

import tomllib
from pathlib import Path

from setuptools import find_packages, setup

_PYPROJECT = tomllib.loads((Path(__file__).parent / "pyproject.toml").read_text(encoding="utf-8"))
_MAPPED = sorted(_PYPROJECT["tool"]["setuptools"]["package-dir"])

setup(packages=find_packages(include=["brainalign*"]) + _MAPPED)
