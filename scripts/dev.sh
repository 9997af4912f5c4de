#!/usr/bin/env bash
# Set up, then start the Dagster UI (http://127.0.0.1:3000) on an embedded SQLite instance with the
# inbox sensor running, and drop the sample documents into the inbox so they flow through the graph.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

export DAGSTER_HOME="${DAGSTER_HOME:-$PWD/.dagster}"
export MEDPIPELINE_DATA_DIR="${MEDPIPELINE_DATA_DIR:-$PWD/data}"
mkdir -p "$DAGSTER_HOME" "$MEDPIPELINE_DATA_DIR/inbox"
[ -f "$DAGSTER_HOME/dagster.yaml" ] || cp deploy/local/dagster.yaml "$DAGSTER_HOME/dagster.yaml"

# First start only: the samples go into the inbox (later starts would only quarantine duplicates).
if [ -z "$(ls -A "$MEDPIPELINE_DATA_DIR/documents" 2>/dev/null)" ]; then
  cp data/samples/*.pdf "$MEDPIPELINE_DATA_DIR/inbox/"
  echo "dev: copied $(ls data/samples/*.pdf | wc -l) sample PDFs into the inbox"
fi

exec .venv/bin/dagster dev -w workspace.yaml -h "${DAGSTER_HOST:-127.0.0.1}" -p "${DAGSTER_PORT:-3000}"
