#!/usr/bin/env bash
# Shared set-up for scripts/dev.sh and scripts/test.sh: system packages, the virtualenv, the package.
# Idempotent and quick when nothing changed.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null || PYTHON=python3

# Tesseract OCR reads pages that have no text layer (scans, faxes).
if ! command -v tesseract >/dev/null; then
  if [ "$(id -u)" = 0 ]; then
    echo "setup: installing tesseract-ocr"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tesseract-ocr >/dev/null
  elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tesseract-ocr >/dev/null
  else
    echo "setup: WARNING tesseract-ocr is not installed; image-only pages will be flagged, not read" >&2
  fi
fi

# Chromium (Debian's package) is the real browser of the evidence-viewer test and the screenshots.
if ! command -v chromium >/dev/null; then
  if [ "$(id -u)" = 0 ]; then
    echo "setup: installing chromium"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "setup: WARNING chromium is not installed; the evidence-viewer browser test will skip" >&2
  fi
fi

if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv with $PYTHON"
  "$PYTHON" -m venv .venv
fi
if [ ! -f .venv/.installed ] || [ pyproject.toml -nt .venv/.installed ]; then
  echo "setup: installing medpipeline and its dependencies into .venv"
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e ".[dev]"
  touch .venv/.installed
fi
