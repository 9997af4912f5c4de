#!/usr/bin/env bash
# Set up, then run the whole test suite on two processes (pytest-xdist; a test file stays on one
# process, so a module's daemon session is shared as written). Extra arguments go to pytest:
# `-n 0` runs it in this one process.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/python -m pytest -n 2 --dist loadfile "$@"
