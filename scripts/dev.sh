#!/usr/bin/env bash
# Set up, then start the Dagster UI (http://$DAGSTER_HOST:$DAGSTER_PORT, default 127.0.0.1:3000)
# on an embedded SQLite instance with the inbox sensor running, and drop the sample documents into
# the inbox so they flow through the graph.
set -euo pipefail
cd "$(dirname "$0")/.."

HOST="${DAGSTER_HOST:-127.0.0.1}"
PORT="${DAGSTER_PORT:-3000}"
# Refuse at once when the port is taken: dagster dev would otherwise run its daemon headless (the
# sensor taking files) while the browser shows whatever else listens there.
if ! "${PYTHON:-python3}" - "$HOST" "$PORT" <<'PY'
import socket
import sys

host, port = sys.argv[1], int(sys.argv[2])
family = socket.AF_INET6 if ":" in host else socket.AF_INET
with socket.socket(family, socket.SOCK_STREAM) as probe:
    probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the webserver binds
    try:
        probe.bind((host, port))
    except OSError:
        sys.exit(1)
PY
then
  echo "dev: port $PORT on $HOST is already in use; stop what listens there or pick another" \
    "port with DAGSTER_PORT (e.g. DAGSTER_PORT=3001 scripts/dev.sh)" >&2
  exit 1
fi

scripts/setup.sh

export DAGSTER_HOME="${DAGSTER_HOME:-$PWD/.dagster}"
export MEDPIPELINE_DATA_DIR="${MEDPIPELINE_DATA_DIR:-$PWD/data}"
mkdir -p "$DAGSTER_HOME" "$MEDPIPELINE_DATA_DIR/inbox"
[ -f "$DAGSTER_HOME/dagster.yaml" ] || cp deploy/local/dagster.yaml "$DAGSTER_HOME/dagster.yaml"

# Development patient keys: a secret generated once into the (git-ignored) instance folder, so dev
# patients are told apart. Production sets MEDPIPELINE_PATIENT_KEY_SECRET to the site's secret.
if [ -z "${MEDPIPELINE_PATIENT_KEY_SECRET:-}" ]; then
  secret_file="$DAGSTER_HOME/patient_key_secret"
  if [ ! -s "$secret_file" ]; then
    (umask 077 && .venv/bin/python -c "import secrets; print(secrets.token_hex(32))" >"$secret_file")
    echo "dev: generated a development patient-key secret in $secret_file"
  fi
  MEDPIPELINE_PATIENT_KEY_SECRET="$(cat "$secret_file")"
  export MEDPIPELINE_PATIENT_KEY_SECRET
  echo "dev: patient keys use the development secret in $secret_file" \
    "(production: set MEDPIPELINE_PATIENT_KEY_SECRET to the site's own secret)"
fi

# First start only: the samples go into the inbox (later starts would only quarantine duplicates).
if [ -z "$(ls -A "$MEDPIPELINE_DATA_DIR/documents" 2>/dev/null)" ]; then
  cp data/samples/*.pdf "$MEDPIPELINE_DATA_DIR/inbox/"
  echo "dev: copied $(ls data/samples/*.pdf | wc -l) sample PDFs into the inbox"
fi

exec .venv/bin/dagster dev -w workspace.yaml -h "$HOST" -p "$PORT"
