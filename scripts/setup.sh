#!/usr/bin/env bash
# Shared set-up for scripts/dev.sh and scripts/test.sh: system packages, the virtualenv, the package.
# Idempotent and quick when nothing changed.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null || PYTHON=python3

# System packages, installed together (one package index update):
# - tesseract-ocr reads pages that have no text layer (scans, faxes);
# - chromium (Debian's package) is the real browser of the evidence-viewer test and the screenshots.
# They install in the background while pip installs the Python packages.
missing=()
command -v tesseract >/dev/null || missing+=(tesseract-ocr)
command -v chromium >/dev/null || missing+=(chromium)
install_system_packages() {
  local sudo_prefix=()
  [ "$(id -u)" = 0 ] || sudo_prefix=(sudo)
  echo "setup: installing ${missing[*]}"
  "${sudo_prefix[@]}" apt-get update -qq
  "${sudo_prefix[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}
system_packages=""
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" = 0 ] || { command -v sudo >/dev/null && sudo -n true 2>/dev/null; }; then
    install_system_packages &
    system_packages=$!
  else
    echo "setup: WARNING ${missing[*]} not installed (no root): image-only pages will be flagged," \
      "not read, and the evidence-viewer browser test will skip" >&2
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

# The system packages have to be in place before a test or the UI uses them.
if [ -n "$system_packages" ]; then
  wait "$system_packages" || { echo "setup: installing ${missing[*]} failed" >&2; exit 1; }
fi
