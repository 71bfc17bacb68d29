#!/usr/bin/env bash
# The test command: install, lint, import-boundary check, then the whole test suite (slow tier included).
set -euo pipefail
cd "$(dirname "$0")/.."
bash pipelines/install.sh
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_DATASETS_OFFLINE=1
.venv/bin/ruff check brainalign tests benchmarks
.venv/bin/lint-imports
.venv/bin/python -m pytest "$@"
