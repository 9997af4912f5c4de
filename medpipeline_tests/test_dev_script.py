"""scripts/dev.sh on a first run: with its port taken it refuses at once, naming the port and
DAGSTER_PORT, before touching the inbox; on a free port (DAGSTER_PORT/DAGSTER_HOST) it serves the
UI there, generates a development patient-key secret into the instance folder (owner-only, reused
by the processes it starts) and says production needs the real MEDPIPELINE_PATIENT_KEY_SECRET."""

import socket
import subprocess
from pathlib import Path

from medpipeline.devrun import SECRET_ENV, DevRun

REPO = Path(__file__).resolve().parents[1]


def test_dev_refuses_a_port_in_use(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        finished = subprocess.run(
            ["scripts/dev.sh"],
            cwd=REPO,
            env=DevRun(REPO, tmp_path, port).environment(),
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert finished.returncode != 0
    assert f"port {port}" in finished.stderr and "DAGSTER_PORT" in finished.stderr
    assert not (tmp_path / "data" / "inbox").exists(), "nothing was started or copied"


def test_dev_serves_on_its_port_with_a_generated_dev_secret(tmp_path):
    with DevRun(REPO, tmp_path) as run:
        run.wait_until(run.ui_answers, timeout=240, what="UI")
        secret_file = run.dagster_home / "patient_key_secret"
        secret = secret_file.read_text().strip()
        assert len(secret) == 64 and int(secret, 16) >= 0
        assert secret_file.stat().st_mode & 0o777 == 0o600
        environ = Path(f"/proc/{run.process.pid}/environ").read_bytes().split(b"\0")
        assert f"{SECRET_ENV}={secret}".encode() in environ, "dagster dev runs with the dev secret"
    output = run.log.read_text()
    assert "copied 5 sample PDFs into the inbox" in output
    assert f"production: set {SECRET_ENV}" in output
    assert secret not in output, "the secret itself is never printed"
