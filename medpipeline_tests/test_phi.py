"""PHI canary: a document whose patient name, MRN and file name are canaries goes through the inbox
sensor (cursor saved in the instance, as the daemon does) and the whole graph — with the offline
provider, and with LLM providers whose errors echo the request — and no canary appears anywhere
written outside the PHI stores (documents/, fhir/, quarantine/): Dagster's instance storage
(sensor state, event log, run tags, compute logs), Python logs, the ledger, the warehouse,
quarantine reason files. The same under the real daemon: test_daemon.py."""

import base64
import gzip
import json
import logging
import shutil
import sqlite3
import zlib
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from medpipeline.definitions import warehouse_tables
from medpipeline.defs.resources import LLMResource
from medpipeline.samples import render_text_pdf
from medpipeline_tests.fake_llm_server import ANTHROPIC, OPENAI, Reply
from medpipeline_tests.helpers import materialize_document, resources_for
from medpipeline_tests.phi_search import canary_hits
from medpipeline_tests.test_intake_sensor import two_looks

NAME, MRN = "Zzyzx Quuxington", "ZQ-99887766"
CANARIES = ("Zzyzx", "Quuxington", MRN)
PHI_STORES = ("documents", "fhir")


def canary_pdf(folder: Path) -> Path:
    text = (
        f"DISCHARGE SUMMARY\nPATIENT: {NAME}\nMRN: {MRN}\nDOB: 01/02/1960\n\n"
        "DISCHARGE DIAGNOSES:\nHypertension.\nType 2 diabetes mellitus.\n\n"
        "DISCHARGE MEDICATIONS:\nLisinopril 10 mg PO daily.\nMetformin 500 mg PO twice daily.\n"
    )
    return render_text_pdf(folder / f"{NAME} MRN {MRN}.pdf", [text])


def files_outside_phi_stores(root: Path) -> list[Path]:
    return [
        path
        for path in root.rglob("*")
        if path.is_file() and path.relative_to(root).parts[0] not in PHI_STORES
    ]


def leaks(paths: list[Path], data_root: Path) -> list[str]:
    """Canaries in file names and contents (raw, UTF-16, compressed, database values). A
    quarantined input keeps its name and content by contract (quarantine/ is a PHI store); the
    content of its `.reason.json` is checked."""
    quarantine = data_root / "quarantine"
    outside = [path for path in paths if not path.is_relative_to(quarantine)]
    reasons = [path for path in paths if path.name.endswith(".reason.json")]
    in_reasons = [hit for hit in canary_hits(reasons, CANARIES) if not hit.endswith("(file name)")]
    return canary_hits(outside, CANARIES) + in_reasons


@pytest.mark.parametrize("providers", ["offline", "failing_llms_then_offline"])
def test_no_canary_outside_the_phi_stores(providers, tmp_path, layout, llm_server, caplog, capfd):
    caplog.set_level(logging.DEBUG)
    llm = None
    if providers == "failing_llms_then_offline":
        echo = f"invalid request: patient {NAME} MRN {MRN}"
        llm_server.script(ANTHROPIC, *[Reply(status=400, error_message=echo)] * 20)
        llm_server.script(OPENAI, *[Reply(status=500, error_message=echo)] * 60)
        llm = LLMResource(
            anthropic_api_key="k",
            anthropic_base_url=llm_server.base_url,
            openai_api_key="k",
            openai_base_url=llm_server.base_url + "/v1",
            max_attempts=2,
            backoff_seconds=0.01,
        )
    instance_dir = tmp_path / "dagster_home"
    instance_dir.mkdir()
    with dg.instance_for_test(temp_dir=str(instance_dir)) as instance:
        shutil.copy(canary_pdf(tmp_path), layout.inbox)
        (layout.inbox / f"{NAME} notes.txt").write_text(f"{NAME} {MRN}")
        result = two_looks(instance, layout)
        (request,) = result.run_requests
        run = materialize_document(instance, layout, request.partition_key, llm)
        assert run.success
        assert dg.materialize(
            [warehouse_tables], instance=instance, resources=resources_for(layout)
        ).success
        tags = [run_record.dagster_run.tags for run_record in instance.get_run_records()]
        partitions = instance.get_dynamic_partitions("documents")

    bundle = (layout.artifact(request.partition_key, "fhir_bundle")).read_text()
    assert NAME.split()[1] in bundle, "the canary did reach the PHI store (the test is live)"
    if providers != "offline":
        assert any(s.status == 400 for s in llm_server.served), "the LLM errors did happen"
    written = files_outside_phi_stores(layout.root) + list(instance_dir.rglob("*.*"))
    assert any(path.suffix == ".duckdb" for path in written)
    quarantined = [p.name for p in layout.quarantine.iterdir()]
    assert any("notes.txt" in name for name in quarantined), "the non-PDF was quarantined"
    assert leaks([p for p in written if p.is_file()], layout.root) == []
    captured = capfd.readouterr()
    logged = caplog.text + captured.out + captured.err + str(tags) + str(partitions)
    assert [c for c in CANARIES if c in logged] == []


def test_an_unexpected_error_quoting_the_document_never_reaches_the_event_log(
    instance, layout, samples_dir
):
    from medpipeline.definitions import document_assets
    from medpipeline.storage import write_json
    from medpipeline_tests.helpers import store_copy

    doc_id = store_copy(layout, samples_dir / "referral_letter.pdf")
    assert materialize_document(instance, layout, doc_id).success
    # a damaged artifact whose validation error would quote the document's words
    write_json(
        layout.artifact(doc_id, "document_chunks"),
        {"doc_id": doc_id, "chunks": [{"text": f"Patient {NAME}, MRN {MRN}"}]},
    )
    result = dg.materialize(
        document_assets,
        selection="clinical_extractions",
        partition_key=doc_id,
        instance=instance,
        resources=resources_for(layout),
        raise_on_error=False,
    )
    assert not result.success
    (failure,) = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    written = str(failure) + " ".join(str(e) for e in instance.all_logs(result.run_id))
    assert "ValidationError" in written
    assert [c for c in CANARIES if c in written] == []
    (report,) = (layout.document_dir(doc_id) / "errors").iterdir()
    assert MRN in report.read_text(), "the engineer still gets the full traceback, in the PHI store"


def test_the_canary_search_sees_through_encodings_compression_and_databases(tmp_path):
    """The daemon test's zero hits mean something: each way a name could be stored is found."""
    secret = f"{NAME} {MRN}"
    (tmp_path / "utf16.log").write_bytes(secret.upper().encode("utf-16-le"))
    (tmp_path / "blob.gz").write_bytes(b"header" + gzip.compress(secret.encode()))
    with sqlite3.connect(tmp_path / "state.db") as db:
        db.execute("CREATE TABLE t (packed BLOB, text TEXT)")
        packed = zlib.compress(json.dumps({"cursor": secret}).encode())
        db.execute("INSERT INTO t VALUES (?, ?)", (packed, base64.b64encode(packed).decode()))
    with duckdb.connect(str(tmp_path / "w.duckdb")) as db:
        db.execute(f"CREATE TABLE t AS SELECT '{secret}' || range AS v FROM range(5000)")
        db.execute(f"COPY t TO '{tmp_path / 'rows.parquet'}' (COMPRESSION zstd)")
    hits = canary_hits([tmp_path], [MRN])
    where = {hit.split(": ", 1)[0].rsplit("/", 1)[-1]: hit for hit in hits}
    assert set(where) == {"utf16.log", "blob.gz", "state.db", "w.duckdb", "rows.parquet"}
    assert any("sqlite value" in hit for hit in hits) and any("compressed" in hit for hit in hits)
