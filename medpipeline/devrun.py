"""A real `scripts/dev.sh` run on a fresh instance and data folder, for the first-run bench, the
docs' screenshots and tests: started in its own process group on a free port, stopped as a group.
"""

import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

from medpipeline.samples import SAMPLE_FILES

SECRET_ENV = "MEDPIPELINE_PATIENT_KEY_SECRET"


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


class DevRun:
    """`scripts/dev.sh` of `repo` with DAGSTER_HOME and the data folder under `workdir`."""

    def __init__(self, repo: Path, workdir: Path, port: int | None = None):
        self.repo = repo
        self.workdir = workdir
        self.port = port or free_port()
        self.dagster_home = workdir / "dagster_home"
        self.data_dir = workdir / "data"
        self.log = workdir / "dev.log"
        self.process: subprocess.Popen | None = None
        self.started_at = 0.0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k != SECRET_ENV}
        return env | {
            "DAGSTER_HOME": str(self.dagster_home),
            "MEDPIPELINE_DATA_DIR": str(self.data_dir),
            "DAGSTER_PORT": str(self.port),
            "DAGSTER_HOST": "127.0.0.1",
        }

    def __enter__(self) -> "DevRun":
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.started_at = time.monotonic()
        with self.log.open("w") as output:
            self.process = subprocess.Popen(
                ["scripts/dev.sh"],
                cwd=self.repo,
                env=self.environment(),
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    def __exit__(self, *_exc) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)

    def elapsed(self) -> float:
        return time.monotonic() - self.started_at

    def wait_until(self, done: Callable[[], bool], timeout: float, what: str) -> float:
        """Seconds since the start when `done()` first held; fails with the log's tail."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if done():
                return self.elapsed()
            if self.process is not None and self.process.poll() is not None:
                break
            time.sleep(1)
        tail = self.log.read_text()[-3000:] if self.log.exists() else ""
        raise TimeoutError(f"dev run: no {what} after {self.elapsed():.0f} s\n{tail}")

    def ui_answers(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/server_info", timeout=5) as response:
                return response.status == 200
        except OSError:
            return False

    def bundles(self) -> list[Path]:
        return sorted(self.data_dir.glob("documents/*/fhir_bundle.json"))

    def all_samples_bundled(self) -> bool:
        return len(self.bundles()) >= len(SAMPLE_FILES)

    def reports_ready(self) -> bool:
        """Warehouse and forecast rebuilt after the last bundle, the cost report after both."""
        reports = self.data_dir / "reports"
        warehouse = self.data_dir / "warehouse" / "medpipeline.duckdb"
        forecast, report = reports / "cost_forecast.parquet", reports / "cost_report.html"
        if not self.all_samples_bundled() or not all(
            path.exists() for path in (warehouse, forecast, report)
        ):
            return False
        last_bundle = max(path.stat().st_mtime for path in self.bundles())
        built = min(warehouse.stat().st_mtime, forecast.stat().st_mtime)
        return built >= last_bundle and report.stat().st_mtime >= built
