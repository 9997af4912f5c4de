"""scripts/dev.sh on a first run: with its port taken it refuses at once, naming the port and
DAGSTER_PORT, before touching the inbox; on a free port (DAGSTER_PORT/DAGSTER_HOST) it serves the
UI there, generates a development patient-key secret into the instance folder (owner-only, reused
by the processes it starts) and says production needs the real MEDPIPELINE_PATIENT_KEY_SECRET."""

import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SECRET_ENV = "MEDPIPELINE_PATIENT_KEY_SECRET"


def dev_env(tmp_path: Path, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != SECRET_ENV}
    return env | {
        "DAGSTER_HOME": str(tmp_path / "dagster_home"),
        "MEDPIPELINE_DATA_DIR": str(tmp_path / "data"),
        "DAGSTER_PORT": str(port),
        "DAGSTER_HOST": "127.0.0.1",
    }


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_dev_refuses_a_port_in_use(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        finished = subprocess.run(
            ["scripts/dev.sh"],
            cwd=REPO,
            env=dev_env(tmp_path, port),
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert finished.returncode != 0
    assert f"port {port}" in finished.stderr and "DAGSTER_PORT" in finished.stderr
    assert not (tmp_path / "data" / "inbox").exists(), "nothing was started or copied"


@pytest.fixture
def dev_server(tmp_path):
    """dev.sh started for real in its own process group; stopped (the whole group) afterwards."""
    port = free_port()
    log = tmp_path / "dev.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            ["scripts/dev.sh"],
            cwd=REPO,
            env=dev_env(tmp_path, port),
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    yield process, port, log
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)


def test_dev_serves_on_its_port_with_a_generated_dev_secret(tmp_path, dev_server):
    process, port, log = dev_server
    deadline = time.monotonic() + 240
    answered = False
    while not answered and time.monotonic() < deadline and process.poll() is None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=5) as r:
                answered = r.status == 200
        except OSError:
            time.sleep(1)
    assert answered, log.read_text()[-2000:]

    secret_file = tmp_path / "dagster_home" / "patient_key_secret"
    secret = secret_file.read_text().strip()
    assert len(secret) == 64 and int(secret, 16) >= 0
    assert secret_file.stat().st_mode & 0o777 == 0o600
    environ = Path(f"/proc/{process.pid}/environ").read_bytes().split(b"\0")
    assert f"{SECRET_ENV}={secret}".encode() in environ, "dagster dev runs with the dev secret"
    output = log.read_text()
    assert "copied 5 sample PDFs into the inbox" in output
    assert f"production: set {SECRET_ENV}" in output
    assert secret not in output, "the secret itself is never printed"
