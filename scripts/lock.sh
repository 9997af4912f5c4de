#!/usr/bin/env bash
# Regenerate constraints.txt: the exact version of every dependency of `.[dev]`, transitive ones
# too, as pip resolves them for this interpreter (Linux, Python 3.11). Nothing is installed: pip
# resolves in --dry-run mode and reports. Current pins of packages still needed are kept, new
# dependencies come in at their newest allowed version, unneeded pins are dropped.
#   scripts/lock.sh            keep current pins (after adding a dependency to pyproject.toml)
#   scripts/lock.sh --upgrade  re-resolve everything to the newest versions pyproject.toml allows
# If pyproject.toml now requires a version a pin excludes, the pins of pyproject.toml's direct
# dependencies are released (transitive pins kept) and the resolution tried again.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-.venv/bin/python}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

resolve() {  # $1: constraints file or "" ; writes $work/report.json
  local constraint_args=()
  [ -n "$1" ] && constraint_args=(-c "$1")
  "$PYTHON" -m pip install --quiet --dry-run --ignore-installed --disable-pip-version-check \
    --report "$work/report.json" "${constraint_args[@]}" -e ".[dev]" 2>"$work/pip.log"
}

if [ "${1:-}" = "--upgrade" ] || [ ! -f constraints.txt ]; then
  resolve ""
elif ! resolve constraints.txt; then
  echo "lock: pyproject.toml conflicts with a pin; releasing the direct dependencies' pins" >&2
  "$PYTHON" scripts/lock_constraints.py release constraints.txt pyproject.toml > "$work/transitive.txt"
  resolve "$work/transitive.txt" || { cat "$work/pip.log" >&2; exit 1; }
fi
"$PYTHON" scripts/lock_constraints.py write "$work/report.json" > "$work/constraints.txt"
mv "$work/constraints.txt" constraints.txt
echo "lock: constraints.txt pins $(grep -c '==' constraints.txt) packages"
