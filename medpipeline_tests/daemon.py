"""A real Dagster daemon for tests: `dagster-daemon run` on this repository's workspace, against a
temporary instance (deploy/local/dagster.yaml, SQLite) and a temporary data folder, as its own
process group so a test can SIGKILL all of it (daemon, code server, run workers) at once."""

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import dagster as dg
import duckdb

from medpipeline.documents import doc_id_from_sha256, file_digests
from medpipeline.samples import render_text_pdf
from medpipeline.storage import DataLayout
from medpipeline_tests.fake_llm_server import FakeLLMServer

REPO = Path(__file__).resolve().parents[1]
DAEMON = REPO / ".venv" / "bin" / "dagster-daemon"
IN_PROGRESS = {
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
}
T = TypeVar("T")


def wait_for(what: str, probe: Callable[[], T], timeout: float, every: float = 1.0) -> T:
    """Poll `probe` until it returns something truthy; fail with `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := probe():
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


class DaemonSession:
    def __init__(self, root: Path, env: dict[str, str]) -> None:
        self.home = root / "dagster_home"
        self.layout = DataLayout(root / "data").ensure()
        self.log_path = root / "daemon.log"  # what an operator's console would show
        self.home.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(REPO / "deploy" / "local" / "dagster.yaml", self.home / "dagster.yaml")
        self.env = {
            "PATH": os.environ["PATH"],
            "HOME": os.environ.get("HOME", str(root)),
            "DAGSTER_HOME": str(self.home),
            "MEDPIPELINE_DATA_DIR": str(self.layout.root),
            "OMP_THREAD_LIMIT": "1",
            **env,
        }
        self.process: subprocess.Popen | None = None
        with self.instance():  # create the SQLite databases before two processes race to
            pass

    def start(self) -> "DaemonSession":
        self.started_at = time.monotonic()
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [str(DAEMON), "run", "-w", str(REPO / "workspace.yaml")],
                cwd=REPO,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: the children die with it
            )
        return self

    def kill(self) -> None:
        """SIGKILL the whole process group, as a power cut or an OOM kill of the host would."""
        self._signal_group(signal.SIGKILL, wait=30)

    def stop(self) -> None:
        """Stop as an operator does (SIGTERM, then SIGKILL for stragglers)."""
        self._signal_group(signal.SIGTERM, wait=60)
        self._signal_group(signal.SIGKILL, wait=10)

    def _signal_group(self, sig: signal.Signals, wait: float) -> None:
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, sig)
        except ProcessLookupError:
            pass
        try:
            self.process.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            return
        deadline = time.monotonic() + wait  # the group outlives its leader briefly
        while time.monotonic() < deadline:
            try:
                os.killpg(self.process.pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.2)
        if sig == signal.SIGKILL:
            self.process = None

    def instance(self) -> dg.DagsterInstance:
        """A second handle on the daemon's instance (SQLite allows concurrent readers)."""
        return dg.DagsterInstance.from_config(str(self.home))

    def runs(self) -> list[dg.DagsterRun]:
        with self.instance() as instance:
            return [record.dagster_run for record in instance.get_run_records()]

    def run_records(self) -> list:
        with self.instance() as instance:
            return list(instance.get_run_records())

    def quiet(self) -> bool:
        """No run queued or in progress."""
        return not any(run.status in IN_PROGRESS for run in self.runs())

    def settle(self, quiet_seconds: float, timeout: float) -> None:
        """Wait until no run has been queued or in progress for `quiet_seconds` in a row."""
        deadline = time.monotonic() + timeout
        quiet_since = None
        while time.monotonic() < deadline:
            if not self.quiet():
                quiet_since = None
            elif quiet_since is None:
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since >= quiet_seconds:
                return
            time.sleep(1)
        raise AssertionError(f"no {quiet_seconds:.0f} s without runs within {timeout:.0f} s")

    def bundled(self, doc_ids: list[str]) -> bool:
        return all(self.layout.artifact(doc_id, "fhir_bundle").exists() for doc_id in doc_ids)

    def llm_calls(self, doc_id: str) -> list[dict]:
        """The warehouse's `llm_calls` rows of one document (empty until it is built)."""
        rows = self.warehouse_rows(
            "SELECT chunk_id, outcome, cost_usd FROM llm_calls WHERE doc_id = "
            f"'{doc_id}' ORDER BY chunk_id"
        )
        return [
            dict(zip(("chunk_id", "outcome", "cost_usd"), row, strict=True)) for row in rows or []
        ]

    def warehouse_rows(self, sql: str) -> list[tuple] | None:
        """A query on the warehouse as an analyst runs it; None while it is not there yet."""
        if not self.layout.warehouse_db.exists():
            return None
        try:
            with duckdb.connect(str(self.layout.warehouse_db), read_only=True) as analyst:
                return analyst.execute(sql).fetchall()
        except duckdb.Error:
            return None  # being swapped in, or the table is not built yet


# --- the intake daemon's documents -----------------------------------------------------------

BUNDLE_WAIT = 900  # seconds; a loaded 2-core machine runs ~2 documents a minute


def intake_daemon(root: Path, llm: FakeLLMServer) -> DaemonSession:
    """A started daemon whose LLM calls go to the fake server as OpenAI, with a PDF passwords
    file (`passwords`, empty) and a site's patient-key secret."""
    passwords = root / "pdf_passwords.json"
    passwords.write_text("{}")
    daemon = DaemonSession(
        root,
        {
            "OPENAI_API_KEY": "test-key",
            "OPENAI_BASE_URL": llm.base_url + "/v1",
            "MEDPIPELINE_OPENAI_PROVIDER": "openai",  # the fake server stands in for OpenAI
            "MEDPIPELINE_PDF_PASSWORDS": str(passwords),
            "MEDPIPELINE_PATIENT_KEY_SECRET": "test-site-secret",
        },
    )
    daemon.passwords = passwords
    return daemon.start()


def clinical_note(marker: str, patient: str = "Jane Roe", mrn: str = "MRN-000000") -> str:
    return (
        f"DISCHARGE SUMMARY {marker}\nPATIENT: {patient}\nMRN: {mrn}\nDOB: 01/02/1960\n\n"
        "DISCHARGE DIAGNOSES:\nHypertension.\nType 2 diabetes mellitus.\n\n"
        "DISCHARGE MEDICATIONS:\nLisinopril 10 mg PO daily.\nMetformin 500 mg PO twice daily.\n"
    )


def make_pdf(folder: Path, name: str, marker: str) -> tuple[Path, str]:
    path = render_text_pdf(folder / name, [clinical_note(marker)])
    return path, doc_id_of(path)


def doc_id_of(path: Path) -> str:
    return doc_id_from_sha256(file_digests(path)[0])


def drop(session: DaemonSession, pdf: Path, lane: str = "") -> None:
    """Copy into the inbox as a site does: write under a temporary name, then rename."""
    folder = session.layout.inbox / lane
    folder.mkdir(exist_ok=True)
    partial = folder / f"{pdf.name}.part"
    shutil.copyfile(pdf, partial)
    partial.rename(folder / pdf.name)
