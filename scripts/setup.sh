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
# Exactly the versions of constraints.txt (every dependency, transitive too; regenerate it with
# scripts/lock.sh). Reinstalled whenever pyproject.toml or constraints.txt change.
wanted="$(cat pyproject.toml constraints.txt | sha256sum | cut -d' ' -f1)"
if [ "$(cat .venv/.installed 2>/dev/null)" != "$wanted" ]; then
  echo "setup: installing medpipeline and its pinned dependencies into .venv"
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[dev]"
  echo "$wanted" > .venv/.installed
fi
