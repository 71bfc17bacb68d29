#!/usr/bin/env bash
# The main job: install, then score the default config (LLM alignment on Fedorenko2016).
# Data: reads $BRAINALIGN_DATA_MIRROR when set, else downloads the public Brain-Score assembly.
set -euo pipefail
cd "$(dirname "$0")/.."
bash pipelines/install.sh
OUT="${1:-results/default}"
.venv/bin/brainalign score --config pipelines/configs/default.yaml --out "$OUT"
