"""Extraction accuracy against ground truth nobody here wrote, through the real Dagster graph.

    .venv/bin/python bench/accuracy.py [--corpus ../shared/corpus] [--provider offline ...]

- Synthea (35 notes, `notes/synthea/`): each note is rendered to a PDF
  (`medpipeline.samples.render_text_pdf`) and materialized through every per-document asset on a
  throw-away instance. Scored against `ground_truth_same_encounter.json` (the Conditions and
  MedicationRequests of the note's encounter):
  - conditions: the bundle's encounter-diagnosis Conditions (problem-list history is not the
    encounter's), names compared after dropping the SNOMED semantic tag ("(finding)") and mapping
    synonyms to one term with the offline lexicon (`conditions.csv`);
  - medications: the bundle's MedicationRequests (what the note prescribes); a prediction matches
    a truth item whose RxNorm display contains its name.
- LabCorp (`medical/lab_report_labcorp_sample.pdf`) against its C-CDA: test name, value, unit and
  reference range of each laboratory Observation, as sets of (name[, attribute]) pairs.
Prints precision / recall / F1 per fact type and provider.
"""

import argparse
import json
import os
import re
import sys
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import dagster as dg

from medpipeline.definitions import document_assets
from medpipeline.defs.partitions import documents_partitions
from medpipeline.defs.resources import DocumentStoreResource, LLMResource, env_or_none
from medpipeline.documents import doc_id_from_sha256, file_digests
from medpipeline.extraction.offline import read_lexicon
from medpipeline.intake import store_source
from medpipeline.samples import render_text_pdf
from medpipeline.storage import DataLayout, read_json

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CORPUS = ROOT.parent / "shared" / "corpus"
SEMANTIC_TAG = re.compile(r"\s*\((?:finding|disorder|situation|procedure)\)\s*$")
HL7 = {"h": "urn:hl7-org:v3"}


@dataclass
class Score:
    true_positives_predicted: int = 0  # predictions that match some truth item
    predicted: int = 0
    true_positives_truth: int = 0  # truth items that some prediction matches
    truth: int = 0

    def add(self, predicted: set, truth: set, matches) -> None:
        self.predicted += len(predicted)
        self.truth += len(truth)
        self.true_positives_predicted += sum(any(matches(p, t) for t in truth) for p in predicted)
        self.true_positives_truth += sum(any(matches(p, t) for p in predicted) for t in truth)

    @property
    def precision(self) -> float:
        return self.true_positives_predicted / self.predicted if self.predicted else 1.0

    @property
    def recall(self) -> float:
        return self.true_positives_truth / self.truth if self.truth else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


# --- running documents --------------------------------------------------------------------------


def llm_for(provider: str) -> LLMResource:
    return LLMResource(
        fallback_order=[provider],
        anthropic_api_key=env_or_none("ANTHROPIC_API_KEY"),
        anthropic_base_url=env_or_none("ANTHROPIC_BASE_URL"),
        openai_api_key=env_or_none("OPENAI_API_KEY"),
        openai_base_url=env_or_none("OPENAI_BASE_URL"),
    )


def run_documents(layout: DataLayout, pdfs: list[Path], provider: str) -> dict[Path, dict | None]:
    """Every PDF through every per-document asset; its FHIR bundle (None if the run failed)."""
    bundles: dict[Path, dict | None] = {}
    with dg.instance_for_test() as instance:
        for pdf in pdfs:
            sha256, _ = file_digests(pdf)
            doc_id = doc_id_from_sha256(sha256)
            copy = layout.root / "incoming" / f"{doc_id}.pdf"
            copy.parent.mkdir(parents=True, exist_ok=True)
            copy.write_bytes(pdf.read_bytes())
            store_source(layout, copy, doc_id, sha256)
            instance.add_dynamic_partitions(documents_partitions.name, [doc_id])
            result = dg.materialize(
                document_assets,
                partition_key=doc_id,
                instance=instance,
                resources={
                    "document_store": DocumentStoreResource(data_dir=str(layout.root)),
                    "llm": llm_for(provider),
                },
                raise_on_error=False,
            )
            path = layout.artifact(doc_id, "fhir_bundle")
            bundles[pdf] = read_json(path) if result.success and path.exists() else None
    return bundles


def resources(bundle: dict | None, resource_type: str) -> list[dict]:
    if bundle is None:
        return []
    return [
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == resource_type
    ]


# --- Synthea: conditions and medications --------------------------------------------------------


def normalize(name: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9+ -]", " ", SEMANTIC_TAG.sub("", name).lower()).split())


def condition_terms() -> dict[str, str]:
    """Every lexicon name and synonym -> its term, so synonyms compare equal."""
    terms = {}
    for row in read_lexicon("conditions.csv"):
        for name in [row["term"], *row["synonyms"].split("|")]:
            if name:
                terms[normalize(name)] = normalize(row["term"])
    return terms


def score_synthea(
    corpus: Path, provider: str, work: Path, limit: int | None = None
) -> dict[str, Score]:
    notes = corpus / "notes" / "synthea"
    truth = json.loads((notes / "ground_truth_same_encounter.json").read_text(encoding="utf-8"))
    truth = truth[:limit] if limit else truth
    pdfs = {}
    for entry in truth:
        text = (notes / entry["note_file"]).read_text(encoding="utf-8")
        pdf = work / "pdf" / f"{Path(entry['note_file']).stem}.pdf"
        pdfs[entry["note_file"]] = render_text_pdf(pdf, [text])
    layout = DataLayout(work / f"data-{provider}").ensure()
    bundles = run_documents(layout, list(pdfs.values()), provider)
    terms = condition_terms()
    scores = {"conditions": Score(), "medications": Score(), "documents_failed": Score()}
    for entry in truth:
        bundle = bundles[pdfs[entry["note_file"]]]
        scores["documents_failed"].truth += 1
        scores["documents_failed"].predicted += bundle is None
        same = entry["same_encounter_resources"] or {}
        true_conditions = {
            terms.get(normalize(c["code"]["display"]), normalize(c["code"]["display"]))
            for c in same.get("conditions") or []
        }
        predicted_conditions = {
            terms.get(normalize(c["code"]["text"]), normalize(c["code"]["text"]))
            for c in resources(bundle, "Condition")
            if any(
                coding["code"] == "encounter-diagnosis"
                for category in c.get("category", [])
                for coding in category["coding"]
            )
        }
        scores["conditions"].add(predicted_conditions, true_conditions, lambda p, t: p == t)
        true_medications = {
            normalize(m["code"]["display"]) for m in same.get("medication_requests") or []
        }
        predicted_medications = {
            normalize(m["medicationCodeableConcept"]["text"])
            for m in resources(bundle, "MedicationRequest")
        }
        scores["medications"].add(predicted_medications, true_medications, lambda p, t: p in t)
    return scores


# --- LabCorp: labs against the C-CDA ------------------------------------------------------------


def ccda_labs(ccda: Path) -> list[dict]:
    """Result observations of the C-CDA: the narrative row's test name, value, unit and range."""
    root = ET.parse(ccda).getroot() if _parses(ccda) else _parse_lenient(ccda)
    rows = {}
    for row in root.iter("{urn:hl7-org:v3}tr"):
        cells = [" ".join("".join(td.itertext()).split()) for td in row.findall("h:td", HL7)]
        if row.get("ID") and cells:
            rows[row.get("ID")] = cells
    labs = []
    for observation in root.iter("{urn:hl7-org:v3}observation"):
        value = observation.find("h:value", HL7)
        reference = observation.find("h:text/h:reference", HL7)
        if value is None or reference is None:
            continue
        cells = rows.get(reference.get("value", "").lstrip("#"), [])
        ranges = [
            " ".join("".join(text.itertext()).split())
            for text in observation.findall("h:referenceRange/h:observationRange/h:text", HL7)
        ]
        labs.append(
            {
                "name": cells[0] if cells else "",
                "value": value.get("value") or " ".join("".join(value.itertext()).split()),
                "unit": value.get("unit"),
                "range": ranges,
            }
        )
    return labs


def _parses(path: Path) -> bool:
    try:
        ET.parse(path)
    except ET.ParseError:
        return False
    return True


def _parse_lenient(path: Path) -> ET.Element:
    """The sample is a bare C-CDA <section> fragment without namespace declarations: add them."""
    text = path.read_text(encoding="utf-8")
    namespaces = 'xmlns="urn:hl7-org:v3" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
    text = re.sub(r"<(section|ClinicalDocument)\b", rf"<\1 {namespaces}", text, count=1)
    return ET.fromstring(text)


def range_words(ranges: Iterable[str]) -> frozenset[str]:
    """A reference range as its words and titers: 'Negative, less than 1:80' ~ 'Negative <1:80'."""
    words = set()
    for written in ranges:
        words |= set(re.findall(r"[a-z]+|\d+:\d+|\d+(?:\.\d+)?", written.lower()))
    return frozenset(words - {"less", "than", "greater", "equal", "to"})


def first_word(value: str | None) -> str:
    return (value or "").lower().replace(",", " ").split(" ")[0]


def score_labs(corpus: Path, provider: str, work: Path) -> dict[str, Score]:
    medical = corpus / "medical"
    truth = ccda_labs(medical / "lab_report_labcorp_sample.ccda.xml")
    layout = DataLayout(work / f"labs-{provider}").ensure()
    pdf = medical / "lab_report_labcorp_sample.pdf"
    bundle = run_documents(layout, [pdf], provider)[pdf]
    predicted = []
    for observation in resources(bundle, "Observation"):
        categories = [c["code"] for cat in observation.get("category", []) for c in cat["coding"]]
        if "laboratory" not in categories:
            continue
        quantity = observation.get("valueQuantity", {})
        ranges = observation.get("referenceRange", [])
        predicted.append(
            {
                "name": observation["code"].get("text", ""),
                "value": str(quantity.get("value", observation.get("valueString", ""))),
                "unit": quantity.get("unit"),
                "range": [r.get("text", "") for r in ranges],
            }
        )

    def keyed(labs: list[dict], attribute: str | None) -> set:
        if attribute is None:
            return {normalize(lab["name"]) for lab in labs}
        if attribute == "value":
            return {(normalize(lab["name"]), first_word(lab["value"])) for lab in labs}
        if attribute == "range":
            return {(normalize(lab["name"]), range_words(lab["range"])) for lab in labs}
        return {(normalize(lab["name"]), lab[attribute] or "") for lab in labs}

    scores = {}
    for label, attribute in (
        ("lab name", None),
        ("lab value", "value"),
        ("lab unit", "unit"),
        ("lab range", "range"),
    ):
        score = Score()
        score.add(keyed(predicted, attribute), keyed(truth, attribute), lambda p, t: p == t)
        scores[label] = score
    return scores


# --- main ---------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=Path(os.environ.get(
        "MEDPIPELINE_CORPUS", DEFAULT_CORPUS)))  # fmt: skip
    parser.add_argument(
        "--provider",
        action="append",
        choices=["offline", "anthropic", "openai"],
        help="provider(s) to score, each alone (default: offline)",
    )
    parser.add_argument("--limit", type=int, help="score only the first N Synthea notes")
    args = parser.parse_args(argv)
    if not (args.corpus / "notes" / "synthea").is_dir():
        print(f"corpus not found at {args.corpus}", file=sys.stderr)
        return 2
    print(f"{'provider':<10} {'fact type':<12} {'P':>6} {'R':>6} {'F1':>6}   (pred/truth)")
    for provider in args.provider or ["offline"]:
        with tempfile.TemporaryDirectory(prefix="medpipeline-accuracy-") as folder:
            work = Path(folder)
            scores = score_labs(args.corpus, provider, work)
            scores = score_synthea(args.corpus, provider, work, args.limit) | scores
        failed = scores.pop("documents_failed")
        for fact_type, score in scores.items():
            print(
                f"{provider:<10} {fact_type:<12} {score.precision:6.3f} {score.recall:6.3f} "
                f"{score.f1:6.3f}   ({score.predicted}/{score.truth})"
            )
        print(f"{provider:<10} documents failed: {failed.predicted} of {failed.truth}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
