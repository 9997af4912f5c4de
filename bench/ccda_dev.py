"""Scoring on ccda_dev: 21 real vendor C-CDA documents rendered to PDF, their coded entries as gold.

    .venv/bin/python bench/accuracy.py --ccda-dev [--half tuning|held-out|both] [--show-misses]
    .venv/bin/python bench/accuracy.py --ccda-dir PATH [--show-misses]

`--ccda-dir` scores any folder of `<stem>.pdf` + `<stem>.gold.json` pairs the same way, as one
set: a site turns its own C-CDA documents into such a folder with `bench/ccda_prepare.py` (CDA.xsl
through xsltproc, Chromium print-to-PDF, the gold from the XML) and measures the extractor on
documents nobody tuned against.

Each PDF goes through the domain pipeline in this process (no Dagster instance, for speed): text
(`extract_pages`, no OCR) -> chunks (`chunk_document`, default config) -> the offline provider per
chunk -> grounding and merge (`merge_extractions`) -> the FHIR bundle (`build_bundle`). The bundle
is scored against `<stem>.gold.json` (format in the corpus README), per type:
- conditions: Condition; medications: MedicationStatement and MedicationRequest; allergies:
  AllergyIntolerance (a "no known allergy" resource is not an allergy); results and vitals:
  Observation by category (laboratory / vital-signs); procedures: Procedure.
- Gold entries marked `negated` or `no_known` are not facts to find and are left out of the truth;
  a prediction matching one counts as a false positive. So are the placeholders some vendors code
  without negationInd, every name of which says there is nothing to record ('No procedure data is
  applicable', 'No Information About Procedures', 'Medication Administration not documented'):
  the same kind of entry as the negated 'Medication excluded/not available' (PLACEHOLDER).
  Entries marked `not_in_narrative` cannot be found in the PDF text: they are left out of recall,
  and a prediction matching one is not counted against precision.
- A prediction matches a gold entry when both carry a code in the same system (LOINC on
  observations; the gold's translations count) and the codes are equal - codes decide then, names
  do not (C-CDA's weight code 3141-9 counts as the FHIR profile's 29463-7, SAME_MEASUREMENT;
  a gold code not written as LOINC writes codes, such as Vitera's 'UNKNOWN', is no code).
  Otherwise names decide: after normalisation (lower case, SNOMED semantic tags and punctuation
  dropped) the prediction's name equals one of the entry's `names`, or the content
  words of one are all among the words of the other ("Proventil HFA" and "Proventil HFA
  Inhalation HFA Aerosol Inhaler 90 mcg/actuation"; "aspirin" and "Aspirin 81 MG Oral Tablet").
- Header words: a fact named only with words of section titles or column headers (the document's
  section titles from the gold, plus HEADER_WORDS) is counted; the target is 0.
- A medication is named by its concept's text (the product as the document writes it) and its
  coding's display (the generic name). Every MedicationStatement and MedicationRequest counts,
  whatever its status or intent: the gold's medications are every medication-activity entry
  whatever its mood and status (INT and EVN, active and completed) and the planned-medication
  entries, so a planned or draft request is not left out.
- A Procedure counts when it was done: a `not-done` Procedure (an aborted or refused one) says a
  procedure did not happen, and the gold holds only procedures that did (moodCode EVN). A
  procedure the text only plans (scheduled, ordered, pending, intended) is a ServiceRequest in
  the bundle and is not scored; the report counts the missed gold procedures it accounts for
  (vendors code some planned procedures with moodCode EVN).
- Speed: wall-clock seconds of the offline provider per page (extraction only; text and FHIR
  mapping not counted; wall-clock and this process's CPU time, since other work on the machine
  stretches the first), after the one-time load of the medspaCy pipeline, the drug dictionary and
  the ICD-10-CM index (printed separately).
"""

import json
import os
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from ccda_split import HELD_OUT, held_out_by_rule

from medpipeline.chunking import ChunkingConfig, chunk_document, join_pages
from medpipeline.costs import OFFLINE_PROVIDER
from medpipeline.documents import SourceDocument, doc_id_from_sha256, file_digests
from medpipeline.extraction.assertions import recheck_assertions
from medpipeline.extraction.clients import OfflineProvider
from medpipeline.extraction.grounding import merge_extractions
from medpipeline.extraction.offline.vocabularies import drug_dictionary, icd10_index
from medpipeline.extraction.prompts import PROMPT_VERSION, detect_document_type
from medpipeline.extraction.providers import ExtractionRequest
from medpipeline.extraction.schema import ChunkOutcome, ChunkReport
from medpipeline.fhir.bundle import build_bundle
from medpipeline.pdf import PdfLimits, extract_pages

TYPES = ("conditions", "medications", "allergies", "results", "vitals", "procedures")
LOINC = "http://loinc.org"
NO_KNOWN_ALLERGY_CODES = {"716186003", "409137002"}  # no known allergy, no known drug allergy
# C-CDA's vital-sign codes that name the same measurement as the FHIR vital-signs profile's code
# the bundle carries (body weight 29463-7 / C-CDA 3141-9 "Body weight Measured"; head
# circumference 9843-4 / 8287-5 "by tape measure"): compared as that profile code.
SAME_MEASUREMENT = {"3141-9": "29463-7", "8287-5": "9843-4"}
# A LOINC code as LOINC writes one; a gold "code" that is not one ('UNKNOWN') is no code, and
# names decide.
LOINC_CODE = re.compile(r"\d{1,7}-\d")
# A gold entry's name that records the absence of information, not a fact.
PLACEHOLDER = re.compile(
    r"^no\b|\bnot (?:documented|available|applicable|recorded)\b|\bexcluded\b"
    r"|\bno (?:information|data)\b",
    re.IGNORECASE,
)
SEMANTIC_TAG = re.compile(r"\((?:finding|disorder|situation|procedure|substance|product)\)")
STOP_WORDS = {"of", "the", "and", "or", "in", "on", "with", "to", "for", "a", "an", "by", "per"}
# Words of column headers and section titles that vendors print; a fact named only with such
# words is a heading read as a fact.
HEADER_WORDS = {
    "name", "names", "description", "status", "date", "dates", "onset", "reaction", "reactions",
    "severity", "substance", "allergen", "allergy", "allergies", "adverse", "alert", "alerts",
    "medication", "medications", "drug", "drugs", "problem", "problems", "active", "result",
    "results", "value", "values", "unit", "units", "range", "reference", "interval", "flag",
    "test", "tests", "vital", "vitals", "signs", "sign", "procedure", "procedures", "history",
    "encounter", "encounters", "immunization", "immunizations", "plan", "care", "social",
    "family", "notes", "comments", "instructions", "sig", "dose", "route", "frequency", "start",
    "stop", "end", "type", "code", "list", "summary", "observation", "observations", "resolved",
    "inactive", "diagnosis", "diagnoses", "condition", "conditions", "time", "provider",
    "findings", "author", "source", "mg", "reason", "information", "section", "details",
}  # fmt: skip


def normalize(name: str) -> str:
    name = SEMANTIC_TAG.sub(" ", name.lower())
    return " ".join(re.sub(r"[^a-z0-9./%]+", " ", name).split())


def content_words(name: str) -> frozenset[str]:
    return frozenset(normalize(name).split()) - STOP_WORDS


def names_match(predicted: str, truth: str) -> bool:
    if normalize(predicted) == normalize(truth):
        return True
    mine, theirs = content_words(predicted), content_words(truth)
    return bool(mine and theirs) and (mine <= theirs or theirs <= mine)


@dataclass
class Predicted:
    names: list[str]
    loinc: set[str]


@dataclass
class GoldEntry:
    names: list[str]
    loinc: set[str]
    findable: bool
    negative: bool


@dataclass
class TypeScore:
    predicted: int = 0
    predicted_correct: int = 0
    truth: int = 0
    truth_found: int = 0
    misses: list[str] = field(default_factory=list)

    def add(self, other: "TypeScore") -> None:
        self.predicted += other.predicted
        self.predicted_correct += other.predicted_correct
        self.truth += other.truth
        self.truth_found += other.truth_found

    @property
    def precision(self) -> float:
        return self.predicted_correct / self.predicted if self.predicted else 0.0

    @property
    def recall(self) -> float:
        return self.truth_found / self.truth if self.truth else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def matches(prediction: Predicted, entry: GoldEntry) -> bool:
    if prediction.loinc and entry.loinc:
        return bool(prediction.loinc & entry.loinc)
    return any(names_match(p, t) for p in prediction.names for t in entry.names if p and t)


def concept_names(concept: dict | None) -> list[str]:
    if not concept:
        return []
    names = [concept.get("text", "")]
    return names + [coding.get("display", "") for coding in concept.get("coding", [])]


def loinc_codes(resource: dict) -> set[str]:
    concepts = [resource.get("code") or {}]
    concepts += [component["code"] for component in resource.get("component", [])]
    return {
        coding["code"]
        for concept in concepts
        for coding in concept.get("coding", [])
        if coding.get("system") == LOINC
    }


def observation_type(resource: dict) -> str:
    codes = {c.get("code") for cat in resource.get("category", []) for c in cat.get("coding", [])}
    return "vitals" if "vital-signs" in codes else "results"


def predictions(bundle: dict) -> dict[str, list[Predicted]]:
    """The bundle's facts by type."""
    found: dict[str, list[Predicted]] = {kind: [] for kind in (*TYPES, "planned")}
    for entry in bundle["entry"]:
        resource = entry["resource"]
        kind = resource["resourceType"]
        if kind == "Condition":
            found["conditions"].append(Predicted(concept_names(resource.get("code")), set()))
        elif kind in ("MedicationStatement", "MedicationRequest"):
            concept = resource.get("medicationCodeableConcept")
            found["medications"].append(Predicted(concept_names(concept), set()))
        elif kind == "AllergyIntolerance":
            codes = {c.get("code") for c in resource.get("code", {}).get("coding", [])}
            if not codes & NO_KNOWN_ALLERGY_CODES:
                found["allergies"].append(Predicted(concept_names(resource.get("code")), set()))
        elif kind == "Observation":
            found[observation_type(resource)].append(
                Predicted(concept_names(resource.get("code")), loinc_codes(resource))
            )
        elif kind == "Procedure" and resource.get("status") != "not-done":
            found["procedures"].append(Predicted(concept_names(resource.get("code")), set()))
        elif kind == "ServiceRequest":  # planned: not scored, only counted among the misses
            found["planned"].append(Predicted(concept_names(resource.get("code")), set()))
    return found


def missed_as_planned(found: dict[str, list[Predicted]], truth: list[GoldEntry]) -> int:
    """Gold procedures no Procedure matches that the bundle holds as planned (a ServiceRequest:
    the text says scheduled, ordered, pending or intended, where the vendor coded a procedure
    done)."""
    return sum(
        1
        for entry in truth
        if entry.findable
        and not entry.negative
        and not any(matches(p, entry) for p in found["procedures"])
        and any(matches(p, entry) for p in found["planned"])
    )


def is_placeholder(item: dict) -> bool:
    """An entry whose names all say there is no such fact to record (its code is a nullFlavor)."""
    names = [name for name in item.get("names", []) if name]
    return item.get("code") is None and bool(names) and all(PLACEHOLDER.search(n) for n in names)


def gold_entries(gold: dict) -> dict[str, list[GoldEntry]]:
    entries: dict[str, list[GoldEntry]] = {kind: [] for kind in TYPES}
    for source in ("conditions", "medications", "allergies", "observations", "procedures"):
        for item in gold[source]:
            kind = source
            if source == "observations":
                kind = "vitals" if item.get("kind") == "vital-sign" else "results"
            codes = [(item.get("code"), item.get("code_system"))]
            codes += [(t.get("code"), t.get("code_system")) for t in item.get("translations", [])]
            entries[kind].append(
                GoldEntry(
                    names=[name for name in item.get("names", []) if name],
                    loinc={
                        SAME_MEASUREMENT.get(code, code)
                        for code, system in codes
                        if code and system == "LOINC" and LOINC_CODE.fullmatch(code)
                    },
                    findable=not item.get("not_in_narrative"),
                    negative=bool(
                        item.get("negated") or item.get("no_known") or is_placeholder(item)
                    ),
                )
            )
    return entries


def score_type(found: list[Predicted], truth: list[GoldEntry]) -> TypeScore:
    score = TypeScore()
    positive = [entry for entry in truth if not entry.negative]
    for prediction in found:
        matched = [entry for entry in truth if matches(prediction, entry)]
        if matched and all(not entry.findable for entry in matched if not entry.negative):
            if any(not entry.negative for entry in matched):
                continue  # matches only unfindable entries: neither right nor wrong
        score.predicted += 1
        if any(not entry.negative for entry in matched):
            score.predicted_correct += 1
        else:
            score.misses.append(f"false positive: {(prediction.names or [''])[0]}")
    for entry in positive:
        if not entry.findable:
            continue
        score.truth += 1
        if any(matches(prediction, entry) for prediction in found):
            score.truth_found += 1
        else:
            score.misses.append(f"missed: {entry.names[0] if entry.names else '?'}")
    return score


def header_word_facts(found: dict[str, list[Predicted]], gold: dict) -> list[str]:
    sources = ("conditions", "medications", "allergies", "observations", "procedures")
    titles = {normalize(e["section"]) for kind in sources for e in gold[kind] if e.get("section")}
    headers = []
    for kind in TYPES:
        for prediction in found[kind]:
            name = (prediction.names or [""])[0]
            words = set(normalize(name).split())
            if normalize(name) in titles or (words and words <= HEADER_WORDS):
                headers.append(f"{kind}: {name}")
    return headers


@dataclass
class DocumentResult:
    scores: dict[str, TypeScore]
    headers: list[str]
    planned_procedures: int  # missed procedures written as planned (ServiceRequest)
    pages: int
    extraction_seconds: float
    extraction_cpu_seconds: float


def run_document(pdf: Path, gold: dict) -> DocumentResult:
    pages = extract_pages(pdf, PdfLimits(timeout_seconds=600), ocr=False)  # a busy machine
    text, offsets = join_pages(pages)
    sha256, sha1 = file_digests(pdf)
    doc_id = doc_id_from_sha256(sha256)
    chunks = chunk_document(doc_id, text, offsets, ChunkingConfig())
    document_type = detect_document_type(text)
    client = OfflineProvider()
    started, cpu_started = time.perf_counter(), time.process_time()
    replies = [
        client.extract(
            ExtractionRequest(text=chunk.text, document_type=document_type, context=chunk.context)
        )
        for chunk in chunks
    ]
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    reports = [
        ChunkReport(chunk_id=chunk.chunk_id, outcome=ChunkOutcome.OK, provider=OFFLINE_PROVIDER)
        for chunk in chunks
    ]
    extraction = merge_extractions(
        doc_id,
        PROMPT_VERSION,
        offsets,
        (
            (chunk, report, reply.extraction)
            for chunk, report, reply in zip(chunks, reports, replies, strict=True)
        ),
    )
    document = SourceDocument(
        doc_id=doc_id,
        sha256=sha256,
        sha1=sha1,
        size_bytes=pdf.stat().st_size,
        pages=len(pages),
        stored_at=datetime.now(UTC),
    )
    extraction = recheck_assertions(extraction, text)  # as the extraction asset does
    bundle = build_bundle(document, extraction, created_at=datetime.now(UTC)).bundle
    found = predictions(bundle)
    truth = gold_entries(gold)
    return DocumentResult(
        scores={kind: score_type(found[kind], truth[kind]) for kind in TYPES},
        headers=header_word_facts(found, gold),
        planned_procedures=missed_as_planned(found, truth["procedures"]),
        pages=len(pages),
        extraction_seconds=seconds,
        extraction_cpu_seconds=cpu_seconds,
    )


def scored_stems(folder: Path) -> list[str]:
    """The stems with both a `<stem>.pdf` and a `<stem>.gold.json` in `folder`, sorted."""
    return sorted(
        path.name.removesuffix(".gold.json")
        for path in folder.glob("*.gold.json")
        if path.with_name(path.name.removesuffix(".gold.json") + ".pdf").is_file()
    )


def stems(every: list[str], held_out: set[str], half: str) -> list[str]:
    if half == "held-out":
        return [stem for stem in every if stem in held_out]
    return [stem for stem in every if stem not in held_out]


def score_set(folder: Path, chosen: list[str], label: str, show_misses: bool) -> None:
    """Score the `<stem>.pdf` / `<stem>.gold.json` pairs of `chosen` in `folder` as one set."""
    totals = {kind: TypeScore() for kind in TYPES}
    headers: list[str] = []
    pages, seconds, cpu_seconds, planned = 0, 0.0, 0.0, 0
    for stem in chosen:
        gold = json.loads((folder / f"{stem}.gold.json").read_text(encoding="utf-8"))
        result = run_document(folder / f"{stem}.pdf", gold)
        for kind, score in result.scores.items():
            totals[kind].add(score)
            if show_misses:
                print("\n".join(f"  {stem} {kind} {miss}" for miss in score.misses))
        headers += [f"{stem} {header}" for header in result.headers]
        pages += result.pages
        planned += result.planned_procedures
        seconds += result.extraction_seconds
        cpu_seconds += result.extraction_cpu_seconds
    overall = TypeScore()
    print(f"\n{label} ({len(chosen)} documents, {pages} pages)")
    print(f"{'type':<12} {'P':>6} {'R':>6} {'F1':>6}   (correct/pred, found/truth)")
    for kind in TYPES:
        overall.add(totals[kind])
        print_row(kind, totals[kind])
    print_row("overall", overall)
    print(f"header words among facts: {len(headers)}")
    missed = totals["procedures"].truth - totals["procedures"].truth_found
    print(f"missed procedures the text plans (ServiceRequest, not scored): {planned} of {missed}")
    if show_misses:
        print("\n".join(f"  header word: {header}" for header in headers))
    print(
        f"offline extraction: {seconds / max(pages, 1):.3f} s per page wall-clock, "
        f"{cpu_seconds / max(pages, 1):.3f} s CPU (load average {os.getloadavg()[0]:.1f})"
    )


def print_row(kind: str, score: TypeScore) -> None:
    print(
        f"{kind:<12} {score.precision:6.3f} {score.recall:6.3f} {score.f1:6.3f}   "
        f"({score.predicted_correct}/{score.predicted}, {score.truth_found}/{score.truth})"
    )


def load_offline() -> None:
    started = time.perf_counter()
    OfflineProvider().extract(ExtractionRequest(text="warm-up"))  # medspaCy pipeline
    drug_dictionary(), icd10_index()
    print(f"offline vocabularies and pipeline loaded in {time.perf_counter() - started:.1f} s "
          "(once per process, not in the per-page figure)")  # fmt: skip


def score_ccda_dev(corpus: Path, half: str, show_misses: bool) -> int:
    folder = corpus / "ccda_dev"
    if not folder.is_dir():
        print(f"ccda_dev not found at {folder}")
        return 2
    load_offline()
    score_halves(folder, set(HELD_OUT), half, "ccda_dev", show_misses)
    return 0


def score_halves(
    folder: Path, held_out: set[str], half: str, label: str, show_misses: bool
) -> None:
    every = scored_stems(folder)
    if half == "all":
        score_set(folder, every, f"{label}, all", show_misses)
        return
    for name in ("tuning", "held-out") if half == "both" else (half,):
        score_set(folder, stems(every, held_out, name), f"{label} {name} half", show_misses)


def score_ccda_dir(folder: Path, half: str, show_misses: bool) -> int:
    """The `<stem>.pdf` / `<stem>.gold.json` pairs in `folder` (made by `bench/ccda_prepare.py`
    from a site's own C-CDA documents), split into halves by `held_out_by_rule`, or all as one
    set (`half` "all")."""
    every = scored_stems(folder)
    if not every:
        print(f"no <stem>.pdf with <stem>.gold.json in {folder}")
        return 2
    load_offline()
    score_halves(folder, held_out_by_rule(every), half, f"C-CDA set {folder}", show_misses)
    return 0
