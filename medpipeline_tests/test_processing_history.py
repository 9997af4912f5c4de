"""Intake and processing as data: every file intake takes and every document step leaves an
event, with no names, and the warehouse turns them into `intake_events` and `document_runs`
(outcome, reason, duration of each stage) with counts, the daily success rate and the p95
duration per stage in the cost report."""

import shutil

import dagster as dg
import duckdb
from pypdf import PdfReader, PdfWriter

from medpipeline import samples
from medpipeline.artifacts import STAGES
from medpipeline.defs.analytics.assets import cost_report, warehouse_tables
from medpipeline.documents import doc_id_from_sha256, file_digests
from medpipeline.events import events_dir
from medpipeline.intake import take_stable_files
from medpipeline.pdf import PdfLimits
from medpipeline_tests.helpers import materialize_document, resources_for


def _encrypted_copy(source, target) -> None:
    writer = PdfWriter(clone_from=PdfReader(source))
    writer.encrypt(user_password="site-password", algorithm="RC4-128")
    with target.open("wb") as handle:
        writer.write(handle)


def test_intake_and_runs_become_tables_and_report_sections(instance, layout, samples_dir):
    good = layout.inbox / "Testperson Maria discharge.pdf"
    shutil.copyfile(samples_dir / samples.DISCHARGE_FILE, good)
    _encrypted_copy(samples_dir / samples.LAB_FILE, layout.inbox / "Sampleton lab.pdf")
    (layout.inbox / "notes of Harold.txt").write_text("not a pdf")
    sizes = {path.name: path.stat().st_size for path in layout.inbox.iterdir()}
    good_id = doc_id_from_sha256(file_digests(good)[0])
    locked_id = doc_id_from_sha256(file_digests(layout.inbox / "Sampleton lab.pdf")[0])

    limits = PdfLimits()
    seen = take_stable_files(layout, {}, lambda _: False, limits).waiting
    taken = take_stable_files(layout, seen, lambda _: False, limits)
    assert sorted(p.doc_id for p in taken.accepted) == sorted([good_id, locked_id])
    shutil.copyfile(samples_dir / samples.DISCHARGE_FILE, layout.inbox / "copy.pdf")
    seen = take_stable_files(layout, {}, lambda d: d == good_id, limits).waiting
    take_stable_files(layout, seen, lambda d: d == good_id, limits)  # a duplicate

    assert materialize_document(instance, layout, good_id).success
    assert not materialize_document(instance, layout, locked_id).success  # no password: encrypted
    result = dg.materialize(
        [warehouse_tables, cost_report], instance=instance, resources=resources_for(layout)
    )
    assert result.success

    with duckdb.connect(str(layout.warehouse_db), read_only=True) as analyst:
        intake = analyst.execute(
            "SELECT outcome, reason, doc_id, size_bytes FROM intake_events ORDER BY occurred_at"
        ).fetchall()
        runs = analyst.execute(
            "SELECT doc_id, outcome, failed_stage, reason, "
            + ", ".join(f"{stage}_seconds" for stage in STAGES)
            + " FROM document_runs"
        ).fetchall()
        rate = analyst.execute(
            "SELECT runs, succeeded, success_rate FROM ("
            "SELECT day, count(*) AS runs, count(*) FILTER (WHERE outcome = 'succeeded') "
            "AS succeeded, count(*) FILTER (WHERE outcome = 'succeeded') / count(*) "
            "AS success_rate FROM document_runs GROUP BY day)"
        ).fetchall()
    first_look = sorted(intake[:3], key=lambda row: (row[0], row[1] or "", row[2] or ""))
    assert first_look == sorted(
        [
            ("accepted", None, good_id, sizes[good.name]),
            ("accepted", None, locked_id, sizes["Sampleton lab.pdf"]),
            ("quarantined", "not_a_pdf", None, sizes["notes of Harold.txt"]),
        ],
        key=lambda row: (row[0], row[1] or "", row[2] or ""),
    )
    assert intake[3] == ("quarantined", "duplicate", good_id, sizes[good.name])

    by_doc = {row[0]: row for row in runs}
    assert len(runs) == 2
    _, outcome, failed_stage, reason, *seconds = by_doc[good_id]
    assert (outcome, failed_stage, reason) == ("succeeded", None, None)
    assert all(value is not None and value > 0 for value in seconds)
    _, outcome, failed_stage, reason, *seconds = by_doc[locked_id]
    assert (outcome, failed_stage, reason) == ("failed", "raw_document", "encrypted")
    assert seconds[0] is not None and seconds[1:] == [None] * (len(STAGES) - 1)
    assert rate == [(2, 1, 0.5)]

    html = (layout.root / "reports" / "cost_report.html").read_text()
    for title in ("Intake by outcome", "Document runs per day", "Stage durations"):
        assert title in html
    assert "p95_seconds" in html and "clinical_extractions" in html

    for path in events_dir(layout).rglob("*.jsonl"):
        content = path.read_text()
        for name in ("Testperson", "Sampleton", "Harold", "Maria"):
            assert name not in content, "no names in the event history"
