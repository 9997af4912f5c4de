"""Extraction accuracy against ground truth nobody here wrote, through the real Dagster graph.

    .venv/bin/python bench/accuracy.py [--corpus ../shared/corpus] [--provider offline ...]
        [--labs-only] [--show-misses]
    .venv/bin/python bench/accuracy.py --ccda-dev [--half tuning|held-out|both] [--show-misses]
    .venv/bin/python bench/accuracy.py --ccda-dir PATH [--half tuning|held-out|both|all]
        [--show-misses]

- Synthea (35 notes, `notes/synthea/`): each note is rendered to a PDF
  (`medpipeline.samples.render_text_pdf`) and materialized through every per-document asset on a
  throw-away instance. Scored against `ground_truth_same_encounter.json` (the Conditions and
  MedicationRequests of the note's encounter):
  - conditions: the bundle's encounter-diagnosis Conditions (problem-list history is not the
    encounter's), names compared after dropping the SNOMED semantic tag ("(finding)") and mapping
    synonyms to one term with the offline lexicon (`conditions.csv`);
  - medications: the bundle's MedicationRequests (what the note prescribes); a prediction matches
    a truth item whose RxNorm display contains its name.
  `--labs-only` skips this part (about 15 minutes).
- Labs, two sources, printed as separate rows and micro-averaged into one "labs" row:
  - "LabCorp/C-CDA": `medical/lab_report_labcorp_sample.pdf` against its C-CDA: test name, value,
    unit and reference range of each laboratory Observation, as sets of (name[, attribute]) pairs.
    The C-CDA is thin and partly disagrees with the PDF: it holds ONE observation, ANA "Borderline,
    equal to 1:80" (interpretation Abnormal), while the PDF prints two reports, ANA "Negative"
    (page 1) and ANA "Positive" ("Abnormal") with "Midbody Pattern 1:160 High" (page 2), each with
    the ranges "Negative <1:80 / Borderline 1:80 / Positive >1:80". No extractor reading the PDF
    can produce "Borderline", so the value row stays at 0 and the others at 0.667 (two ANA rows
    and the pattern row against one truth item); the rows are kept, unchanged in meaning, for
    comparison with earlier runs.
  - "FHIR examples": HL7's official FHIR R4 example lab reports
    (`fhir/r4-examples/diagnosticreport-example-ghp.json`: CBC, chemistry panel and urinalysis;
    `diagnosticreport-example-lipids.json`: lipid panel; `diagnosticreport-example.json` is a
    subset of ghp and is skipped). Each report is rendered to a lab printout PDF with
    `medpipeline.samples.render_lab_report_pdf`, columns TESTS / RESULT / FLAG / UNITS /
    REFERENCE INTERVAL as on the LabCorp printout, one row per Observation in report order (a
    panel's name alone heads its members; panels have no value and are not scored). The printed
    name is the Observation's code.text, else its first coding's display; the result is the
    valueQuantity as the JSON writes it (with its comparator, '<1') or the valueCodeableConcept's
    text/display ('Negative'); the unit is valueQuantity.unit as written ('x10*9/L'); the
    interval '135-180', '<4.5' (high only) or '>1.5' (low only); the flag is the interpretation
    code (H, L, HH, LL). Scored as lists of (name[, attribute]): names after `normalize`, values
    as numbers with their comparator (or the first word of a word result), units as UCUM codes
    (the example's valueQuantity.code, else its unit; 'pH' without a code is UCUM '[pH]'), ranges
    as (low, high). Units and ranges count only where the truth or the prediction has one.
- ccda_dev (`--ccda-dev`, offline provider, in-process): 21 vendor C-CDA documents rendered to
  PDF, scored per type and overall on the tuning and the held-out half (`bench/ccda_dev.py`
  says how; the held-out half is fixed in `bench/ccda_split.py`).
- A folder of C-CDA documents (`--ccda-dir PATH`): every `<stem>.pdf` / `<stem>.gold.json` pair
  in PATH, scored like ccda_dev, in halves by the same rule (every second stem in sorted order is
  held out) or as one set (`--half all`); `bench/ccda_prepare.py` makes such a folder from a
  site's own C-CDA XML files.
Prints precision / recall / F1 per fact type, source and provider; `--show-misses` lists the FHIR
example keys that were missed or wrong.
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
from ccda_dev import score_ccda_dev, score_ccda_dir

from medpipeline.definitions import document_assets
from medpipeline.defs.partitions import documents_partitions
from medpipeline.defs.resources import DocumentStoreResource, LLMResource, env_or_none
from medpipeline.documents import doc_id_from_sha256, file_digests
from medpipeline.extraction.offline import read_lexicon
from medpipeline.intake import store_source
from medpipeline.samples import render_lab_report_pdf, render_text_pdf
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

    def __add__(self, other: "Score") -> "Score":
        return Score(
            self.true_positives_predicted + other.true_positives_predicted,
            self.predicted + other.predicted,
            self.true_positives_truth + other.true_positives_truth,
            self.truth + other.truth,
        )

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


def generic_name(concept: dict) -> str:
    """A medication concept's generic name: its uncoded coding's display, else its text (the
    bundle writes the product as the text and the generic name as a coding's display)."""
    displays = [c["display"] for c in concept.get("coding", []) if c.get("display")]
    return displays[0] if displays else concept.get("text", "")


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
            normalize(generic_name(m["medicationCodeableConcept"]))
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


def predicted_labcorp(bundle: dict | None) -> list[dict]:
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
    return predicted


def score_labcorp(truth: list[dict], bundle: dict | None) -> dict[str, Score]:
    """The LabCorp printout against its C-CDA, as sets of (name[, attribute]) pairs."""
    predicted = predicted_labcorp(bundle)

    def keyed(labs: list[dict], attribute: str | None) -> set:
        if attribute is None:
            return {normalize(lab["name"]) for lab in labs}
        if attribute == "value":
            return {(normalize(lab["name"]), first_word(lab["value"])) for lab in labs}
        if attribute == "range":
            return {(normalize(lab["name"]), range_words(lab["range"])) for lab in labs}
        return {(normalize(lab["name"]), lab[attribute] or "") for lab in labs}

    scores = {}
    for attribute in (None, "value", "unit", "range"):
        score = Score()
        score.add(keyed(predicted, attribute), keyed(truth, attribute), lambda p, t: p == t)
        scores[attribute or "name"] = score
    return scores


# --- HL7 FHIR R4 example lab reports: labs against their Observations ---------------------------

FHIR_REPORTS = ("diagnosticreport-example-ghp.json", "diagnosticreport-example-lipids.json")
FHIR_COLUMNS = ("TESTS", "RESULT", "FLAG", "UNITS", "REFERENCE INTERVAL")
FHIR_COL_WIDTHS = (122, 16, 14, 22, 46)
FHIR_ALIGN = ("LEFT", "RIGHT", "CENTER", "LEFT", "LEFT")
INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
# A unit the example writes without a UCUM code, and its UCUM code.
UNCODED_UNITS = {"pH": "[pH]"}


def fhir_name(concept: dict) -> str:
    """The name a printout shows: the concept's text, else its first coding's display."""
    codings = concept.get("coding") or [{}]
    return concept.get("text") or codings[0].get("display") or codings[0].get("code", "")


def fhir_number(value: float | int) -> str:
    return str(value)  # as the JSON wrote it: 176, 5.9, 6.0, 1.009


def fhir_report_observations(bundle: dict) -> tuple[dict, list[tuple[dict, bool]]]:
    """The DiagnosticReport and its Observations in report order: (observation, is a panel)."""
    by_reference = {}
    for entry in bundle["entry"]:
        resource = entry["resource"]
        by_reference[f"{resource['resourceType']}/{resource.get('id')}"] = resource
        if entry.get("fullUrl"):
            by_reference[entry["fullUrl"]] = resource
    report = next(r for r in by_reference.values() if r["resourceType"] == "DiagnosticReport")
    ordered: list[tuple[dict, bool]] = []

    def visit(reference: str) -> None:
        observation = by_reference[reference]
        members = observation.get("hasMember") or []
        ordered.append((observation, bool(members)))
        for member in members:
            visit(member["reference"])

    for result in report.get("result", []):
        visit(result["reference"])
    return report, ordered


def fhir_truth_item(observation: dict) -> dict:
    """Name, value (number or word), comparator, unit (UCUM), range (low, high) and flag."""
    quantity = observation.get("valueQuantity")
    if quantity is not None:
        value: float | str = float(quantity["value"])
        written_unit = quantity.get("unit") or ""
        ucum = quantity.get("code") or UNCODED_UNITS.get(written_unit, written_unit)
    else:
        concept = observation.get("valueCodeableConcept") or {}
        value = observation.get("valueString") or fhir_name(concept)
        written_unit = ucum = ""
    reference = (observation.get("referenceRange") or [{}])[0]
    low, high = reference.get("low", {}).get("value"), reference.get("high", {}).get("value")
    flags = [
        coding["code"]
        for concept in observation.get("interpretation", [])
        for coding in concept.get("coding", [])
        if coding.get("system") == INTERPRETATION
    ]
    return {
        "name": fhir_name(observation["code"]),
        "value": value,
        "comparator": (quantity or {}).get("comparator", ""),
        "written_unit": written_unit,
        "unit": ucum,
        "range": (
            None
            if low is None and high is None
            else (None if low is None else float(low), None if high is None else float(high))
        ),
        "flag": flags[0] if flags else "",
    }


def fhir_printed_row(item: dict) -> tuple[str, str, str, str, str]:
    """The row as a lab printout writes it: TESTS RESULT FLAG UNITS REFERENCE INTERVAL."""
    value = item["value"]
    result = item["comparator"] + item["printed_value"] if isinstance(value, float) else value
    low, high = item["range"] or (None, None)
    if low is not None and high is not None:
        interval = f"{item['printed_low']}-{item['printed_high']}"
    elif high is not None:
        interval = f"<{item['printed_high']}"
    elif low is not None:
        interval = f">{item['printed_low']}"
    else:
        interval = ""
    return (item["name"], result, item["flag"], item["written_unit"], interval)


def fhir_lab_report(source: Path, out: Path) -> tuple[Path, list[dict]]:
    """Render one FHIR example report as a lab printout PDF; its ground-truth lab items."""
    bundle = json.loads(source.read_text(encoding="utf-8"))
    report, observations = fhir_report_observations(bundle)
    truth, rows = [], []
    for observation, is_panel in observations:
        if is_panel:  # a panel's name heads its members; it has no value of its own
            rows.append((fhir_name(observation["code"]), "", "", "", ""))
            continue
        item = fhir_truth_item(observation)
        quantity = observation.get("valueQuantity") or {}
        reference = (observation.get("referenceRange") or [{}])[0]
        item["printed_value"] = fhir_number(quantity.get("value", ""))
        item["printed_low"] = fhir_number(reference.get("low", {}).get("value", ""))
        item["printed_high"] = fhir_number(reference.get("high", {}).get("value", ""))
        truth.append(item)
        rows.append(fhir_printed_row(item))
    performer = ", ".join(p.get("display", "") for p in report.get("performer", []))
    header = (
        f"Report: {fhir_name(report['code'])}\n"
        f"Collected: {report.get('effectiveDateTime', '')}    Issued: {report.get('issued', '')}\n"
        f"Performing laboratory: {performer}\n"
    )
    footer = (
        "COMMENTS:\n"
        f"Rendered from the HL7 FHIR R4 example DiagnosticReport '{report['id']}' (CC0).\n"
    )
    pdf = render_lab_report_pdf(
        out,
        header=header,
        results=rows,
        footer=footer,
        columns=FHIR_COLUMNS,
        col_widths=FHIR_COL_WIDTHS,
        text_align=FHIR_ALIGN,
        orientation="landscape",
    )
    return pdf, truth


def predicted_fhir_labs(bundle: dict | None) -> list[dict]:
    """Every Observation of the bundle (a lab printout holds nothing else), as truth items."""
    predicted = []
    for observation in resources(bundle, "Observation"):
        quantity = observation.get("valueQuantity")
        value = float(quantity["value"]) if quantity else observation.get("valueString", "") or ""
        unit = (quantity.get("code") or quantity.get("unit") or "") if quantity else ""
        reference = (observation.get("referenceRange") or [{}])[0]
        low, high = reference.get("low", {}).get("value"), reference.get("high", {}).get("value")
        predicted.append(
            {
                "name": observation["code"].get("text", ""),
                "value": value,
                "comparator": (quantity or {}).get("comparator", ""),
                "unit": unit,
                "range": None if low is None and high is None else (low, high),
            }
        )
    return predicted


def value_key(lab: dict):
    """A number as (comparator, number), a word result as its first word, lower-case."""
    if isinstance(lab["value"], float):
        return (lab["comparator"], round(lab["value"], 9))
    return first_word(lab["value"])


def range_key(lab: dict) -> tuple | None:
    if not lab["range"]:
        return None
    return tuple(None if bound is None else round(float(bound), 9) for bound in lab["range"])


def score_fhir_labs(
    truth: list[dict], predicted: list[dict], misses: list[str] | None = None
) -> dict[str, Score]:
    """Lists of (name[, attribute]); a unit or range counts only where one is given. Unmatched
    truth and predicted keys are appended to `misses` when given."""
    keys = {
        "name": lambda lab: normalize(lab["name"]),
        "value": lambda lab: (normalize(lab["name"]), value_key(lab)),
        "unit": lambda lab: (normalize(lab["name"]), lab["unit"]) if lab["unit"] else None,
        "range": lambda lab: (normalize(lab["name"]), range_key(lab)) if lab["range"] else None,
    }
    scores = {}
    for attribute, key in keys.items():
        score = Score()
        predicted_keys = [k for lab in predicted if (k := key(lab)) is not None]
        truth_keys = [k for lab in truth if (k := key(lab)) is not None]
        score.add(predicted_keys, truth_keys, lambda p, t: p == t)
        scores[attribute] = score
        if misses is not None:
            misses += [f"{attribute}: missed {k!r}" for k in truth_keys if k not in predicted_keys]
            misses += [f"{attribute}: wrong {k!r}" for k in predicted_keys if k not in truth_keys]
    return scores


def score_labs(
    corpus: Path, provider: str, work: Path, misses: list[str] | None = None
) -> dict[str, Score]:
    """Labs of the LabCorp printout (against its C-CDA) and of the HL7 FHIR example reports
    rendered as printouts (against their Observations); 'labs' micro-averages all of them."""
    medical = corpus / "medical"
    labcorp = medical / "lab_report_labcorp_sample.pdf"
    fhir_truth = {}
    for name in FHIR_REPORTS:
        pdf, truth = fhir_lab_report(
            corpus / "fhir" / "r4-examples" / name, work / "pdf" / f"{Path(name).stem}.pdf"
        )
        fhir_truth[pdf] = truth
    layout = DataLayout(work / f"labs-{provider}").ensure()
    bundles = run_documents(layout, [labcorp, *fhir_truth], provider)
    scores = {
        f"LabCorp/C-CDA lab {attribute}": score
        for attribute, score in score_labcorp(
            ccda_labs(medical / "lab_report_labcorp_sample.ccda.xml"), bundles[labcorp]
        ).items()
    }
    fhir: dict[str, Score] = {}
    for pdf, truth in fhir_truth.items():
        for attribute, score in score_fhir_labs(
            truth, predicted_fhir_labs(bundles[pdf]), misses
        ).items():
            fhir[attribute] = fhir.get(attribute, Score()) + score
    scores |= {f"FHIR examples lab {attribute}": score for attribute, score in fhir.items()}
    scores["labs (all, micro)"] = sum(scores.values(), Score())
    failed = Score(truth=len(bundles), predicted=sum(b is None for b in bundles.values()))
    scores["documents_failed"] = failed
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
    parser.add_argument(
        "--labs-only", action="store_true", help="score the labs only (skips Synthea, ~15 min)"
    )
    parser.add_argument(
        "--show-misses", action="store_true", help="list the FHIR example lab keys not matched"
    )
    parser.add_argument(
        "--ccda-dev", action="store_true", help="score ccda_dev (offline, in-process) and stop"
    )
    parser.add_argument(
        "--half",
        choices=["tuning", "held-out", "both", "all"],
        default="tuning",
        help="which half to score (the held-out half only to report; 'all': --ccda-dir as one set)",
    )
    parser.add_argument(
        "--ccda-dir",
        type=Path,
        help="score every <stem>.pdf / <stem>.gold.json pair in this folder as one set and stop",
    )
    args = parser.parse_args(argv)
    if args.ccda_dir:
        print(f"command: .venv/bin/python bench/accuracy.py --ccda-dir {args.ccda_dir} "
              f"--half {args.half}")  # fmt: skip
        return score_ccda_dir(args.ccda_dir, args.half, args.show_misses)
    if args.ccda_dev:
        print(f"command: .venv/bin/python bench/accuracy.py --ccda-dev --half {args.half}")
        return score_ccda_dev(args.corpus, args.half, args.show_misses)
    if not (args.corpus / "notes" / "synthea").is_dir():
        print(f"corpus not found at {args.corpus}", file=sys.stderr)
        return 2
    print(f"{'provider':<10} {'fact type':<26} {'P':>6} {'R':>6} {'F1':>6}   (pred/truth)")
    for provider in args.provider or ["offline"]:
        with tempfile.TemporaryDirectory(prefix="medpipeline-accuracy-") as folder:
            work = Path(folder)
            misses: list[str] = []
            scores = score_labs(args.corpus, provider, work, misses)
            failed = scores.pop("documents_failed")
            if not args.labs_only:
                synthea = score_synthea(args.corpus, provider, work, args.limit)
                failed = failed + synthea.pop("documents_failed")
                scores = synthea | scores
        for fact_type, score in scores.items():
            print(
                f"{provider:<10} {fact_type:<26} {score.precision:6.3f} {score.recall:6.3f} "
                f"{score.f1:6.3f}   ({score.predicted}/{score.truth})"
            )
        print(f"{provider:<10} documents failed: {failed.predicted} of {failed.truth}")
        if args.show_misses:
            print("\n".join(f"{provider:<10} {miss}" for miss in misses))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
