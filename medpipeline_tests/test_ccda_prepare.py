"""Contract: `bench/ccda_prepare.py` makes a scored set in ccda_dev's format from C-CDA XML, so a
site can measure the offline provider on its own exports. Its gold must equal the corpus gold
(written by others) for the same document, and its built-in renderer must put the same entries
in the PDF's text as HL7's CDA.xsl did. Only ccda_dev tuning-half documents are used."""

import json
import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

import ccda_prepare  # noqa: E402 (the bench folder is not a package)
from ccda_split import HELD_OUT  # noqa: E402

TUNING_DOCUMENTS = ("kareo_joey_miller_summary_of_care", "allscripts_enterprise_adam_everyman_toc")
TYPES = ("conditions", "medications", "allergies", "observations", "procedures")
COMPARED = ("names", "code", "code_system", "negated", "not_in_narrative", "translations")


def compared(gold: dict) -> dict[str, list[tuple]]:
    return {
        kind: [tuple(json.dumps(entry.get(key), sort_keys=True) for key in COMPARED)
               for entry in gold[kind]]
        for kind in TYPES
    }  # fmt: skip


@pytest.mark.parametrize("stem", TUNING_DOCUMENTS)
def test_gold_equals_the_corpus_gold(corpus, stem):
    assert stem not in HELD_OUT
    folder = corpus / "ccda_dev"
    made = ccda_prepare.gold(folder / f"{stem}.xml", folder / f"{stem}.pdf", {})
    written = json.loads((folder / f"{stem}.gold.json").read_text(encoding="utf-8"))
    assert compared(made) == compared(written)
    assert sum(len(made[kind]) for kind in TYPES) > 0


def test_builtin_renderer_shows_what_cda_xsl_shows(corpus, tmp_path: Path):
    if shutil.which("chromium") is None:
        pytest.skip("chromium is not installed (scripts/setup.sh installs it)")
    stem = TUNING_DOCUMENTS[0]
    folder = corpus / "ccda_dev"
    pdf = tmp_path / f"{stem}.pdf"
    ccda_prepare.render_builtin(folder / f"{stem}.xml", pdf)
    made = ccda_prepare.gold(folder / f"{stem}.xml", pdf, {}, ccda_prepare.RENDERER_BUILTIN)
    written = json.loads((folder / f"{stem}.gold.json").read_text(encoding="utf-8"))

    def findable(gold: dict) -> dict[str, list[bool]]:
        return {kind: [not entry["not_in_narrative"] for entry in gold[kind]] for kind in TYPES}

    assert findable(made) == findable(written)
    assert any(any(flags) for flags in findable(made).values())
    assert made["renderer"] != written["renderer"]


@pytest.mark.parametrize(
    ("header", "named"),
    [("<!--\n  Title: CDA XSL StyleSheet\n  Version: 3.0\n-->", "version 3.0"), ("", "not stated")],
)
def test_the_gold_names_the_stylesheet_that_printed_the_pdf(tmp_path: Path, header, named):
    """`--xsl` PDFs are labelled with the stylesheet given, not with HL7's CDA-core-xsl."""
    xsl = tmp_path / "sample_ccdas"
    xsl.mkdir()
    (xsl / "CDA.xsl").write_text(f'<?xml version="1.0"?>\n{header}\n<xsl:stylesheet/>\n')
    label = ccda_prepare.xsl_renderer(xsl)
    assert named in label and "sample_ccdas/" in label and "CDA-core-xsl" not in label


def test_the_score_counts_planned_procedures_apart_from_done_ones():
    """A planned procedure (ServiceRequest) never scores as a Procedure; among the missed gold
    procedures the report counts those the bundle holds as planned."""
    import ccda_dev  # noqa: PLC0415 (imports the offline pipeline: only this test needs it)

    bundle = {
        "entry": [
            {"resource": {"resourceType": "Procedure", "status": "completed",
                          "code": {"text": "Appendectomy"}}},
            {"resource": {"resourceType": "ServiceRequest", "status": "active", "intent": "plan",
                          "code": {"text": "Colonoscopy"}}},
        ]
    }  # fmt: skip
    found = ccda_dev.predictions(bundle)
    truth = [
        ccda_dev.GoldEntry(["Appendectomy"], set(), findable=True, negative=False),
        ccda_dev.GoldEntry(["Diagnostic colonoscopy"], set(), findable=True, negative=False),
        ccda_dev.GoldEntry(["Knee arthroscopy"], set(), findable=True, negative=False),
    ]
    score = ccda_dev.score_type(found["procedures"], truth)
    counts = (score.predicted_correct, score.predicted, score.truth_found, score.truth)
    assert counts == (1, 1, 1, 3)
    assert ccda_dev.missed_as_planned(found, truth) == 1
