"""Patient records: the current bundle of every document, accumulated per patient.

Records follow the documents. Each update rebuilds them from the bundles now in `documents/`, so
when a document is re-extracted its new bundle replaces its old contribution: a fact no other
document supports disappears from the patient's bundle and from the export, and a document whose
bundle is gone takes its facts with it. A bundle that fails validation (`fhir.validation`) is
never accumulated; its document contributes nothing until a valid bundle replaces it (results are
kept by bundle hash in `state.json`, so an unchanged bundle is validated once).

Patients are found with the one identity rule (`medpipeline.identity`): documents sharing an
identifier of the same issuer are one patient; a document without one joins by name and birth
date. The same fact from several documents (the same condition code, medication with its status,
allergy, result value at the same time ...) is one resource, and each source document's
Provenance targets it: nothing is counted twice. Organizations, Practitioners and the extraction
Device are shared: one id wherever they appear, one line in the export.
Contradictions are flagged, not resolved: "no known allergy" next to a recorded allergy, a
medication active in one document and stopped in another. They are tagged `contradiction` on the
resources and listed in `contradictions.json`.

Writes are serialized by a file lock (`.records.lock`): two updates never interleave.
Output (under `data/fhir/`, a PHI store): `state.json` (documents seen: bundle hash, valid),
`patients/<patient id>.json` (a collection Bundle per patient, `urn:uuid` references) and
`export/<ResourceType>.ndjson` (FHIR Bulk Data: one resource per line, `Type/id` references).
"""

import hashlib
import json
import uuid
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from filelock import FileLock
from pydantic import BaseModel, Field

from medpipeline.fhir.bundle import (
    DOCUMENT_ID_SYSTEM,
    FLAG_SYSTEM,
    NO_KNOWN_ALLERGY_CODES,
)
from medpipeline.fhir.elements import observation_value
from medpipeline.fhir.validation import validate_bundle
from medpipeline.identity import group_by_identity, patient_resource_identity
from medpipeline.storage import PRIVATE_FILE_MODE, write_atomic, write_json

JsonDict = dict[str, Any]
_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:medpipeline:patient-records")
FLAG_CONTRADICTION = "contradiction"
STATE_FILE = "state.json"
CONTRADICTIONS_FILE = "contradictions.json"
LOCK_FILE = ".records.lock"
SHARED_TYPES = ("Organization", "Practitioner", "Device")  # not any one patient's resources
ACTIVE_MEDICATION = {"active"}
STOPPED_MEDICATION = {"stopped", "cancelled"}


class PatientRecord(BaseModel):
    patient_id: str
    resources: dict[str, JsonDict] = Field(default_factory=dict)  # id -> resource
    sources: dict[str, list[str]] = Field(default_factory=dict)  # id -> doc_ids
    documents: list[str] = Field(default_factory=list)


class DocumentState(BaseModel):
    digest: str  # sha256 of the bundle last seen
    valid: bool


class RecordsState(BaseModel):
    documents: dict[str, DocumentState] = Field(default_factory=dict)
    patients: list[str] = Field(default_factory=list)  # patient ids written last time


class Contradiction(BaseModel):
    patient_id: str
    kind: str
    resource_ids: list[str]


class RecordsReport(BaseModel):
    added_documents: int = 0
    replaced_documents: int = 0  # seen before with another bundle: its contribution replaced
    unchanged_documents: int = 0
    removed_documents: int = 0  # bundle gone since the last update
    invalid_documents: int = 0  # bundles failing validation: not accumulated
    merged_duplicates: int = 0  # resources stated by more than one document


def _uuid(*parts: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, "/".join(parts)))


def _norm(value: Any) -> str:
    return " ".join(str(value).split()).lower() if value is not None else ""


def bundle_sha256(bundle: JsonDict) -> str:
    return hashlib.sha256(json.dumps(bundle, sort_keys=True).encode()).hexdigest()


def _codes(concept: JsonDict | None) -> str:
    """The concept's codes; a concept without one is named by its uncoded coding's display (a
    medication's generic name, whatever brand the document wrote), else its text."""
    if not concept:
        return ""
    codings = concept.get("coding", [])
    codes = sorted(f"{c.get('system')}|{c.get('code')}" for c in codings if c.get("code"))
    displays = [c["display"] for c in codings if c.get("display") and not c.get("code")]
    return ",".join(codes) if codes else _norm(displays[0] if displays else concept.get("text"))


def fact_key(resource: JsonDict, doc_id: str) -> str:
    """What makes two resources from different documents the same fact."""
    kind = resource["resourceType"]
    if kind == "Condition":
        return f"{kind}|{_codes(resource.get('code'))}"
    if kind in ("MedicationStatement", "MedicationRequest"):
        medication = _codes(resource.get("medicationCodeableConcept"))
        return f"{kind}|{medication}|{resource.get('status')}|{resource.get('authoredOn', '')}"
    if kind == "AllergyIntolerance":
        return f"{kind}|{_codes(resource.get('code'))}"
    if kind == "Observation":
        value = resource.get("valueQuantity", {}).get("value", observation_value(resource))
        return f"{kind}|{_codes(resource.get('code'))}|{resource.get('effectiveDateTime')}|{value}"
    if kind in ("Procedure", "ServiceRequest"):  # done, or planned
        when = resource.get("performedDateTime", resource.get("occurrenceDateTime"))
        return f"{kind}|{_codes(resource.get('code'))}|{when}"
    if kind == "Encounter":
        start = resource.get("period", {}).get("start")
        return f"{kind}|{resource.get('class', {}).get('code')}|{start or doc_id}"
    if kind == "Device":
        names = resource.get("deviceName", [{}])
        version = resource.get("version", [{}])
        return f"{kind}|{names[0].get('name')}|{version[0].get('value')}"
    if kind == "Organization":  # identified by its slug (`medpipeline.identity`)
        identifiers = [
            f"{i.get('system')}|{i.get('value')}" for i in resource.get("identifier", [])
        ]
        return f"{kind}|{min(identifiers, default=_norm(resource.get('name')))}"
    if kind == "Practitioner":  # by NPI, else by name
        npis = [i.get("value") for i in resource.get("identifier", [])]
        names = [_norm(name.get("text")) for name in resource.get("name", [])]
        return f"{kind}|{min(npis, default=None) or min(names, default='')}"
    return f"{kind}|{doc_id}"  # DocumentReference, DiagnosticReport: one per document


# --- building the records ---------------------------------------------------------------------


def build_records(bundles: dict[str, JsonDict]) -> tuple[list[PatientRecord], int]:
    """Patient records from (valid) document bundles; returns them and the merged duplicates."""
    patients = {doc_id: _patient_entry(bundle) for doc_id, bundle in bundles.items()}
    identities = {
        doc_id: patient_resource_identity(entry["resource"])
        for doc_id, entry in patients.items()
        if entry
    }
    records, merged = [], 0
    for group in group_by_identity(identities):
        keys = sorted(
            {k for d in group for k in identities[d].identifiers}
            | {identities[d].name_birth for d in group if identities[d].name_birth}
        )
        record = PatientRecord(patient_id=_uuid("patient", keys[0] if keys else f"doc|{group[0]}"))
        for doc_id in group:
            merged += _add_bundle(record, doc_id, bundles[doc_id])
        records.append(record)
    return records, merged


def _patient_entry(bundle: JsonDict) -> JsonDict | None:
    entries = (e for e in bundle.get("entry", []) if "resource" in e)
    return next((e for e in entries if e["resource"]["resourceType"] == "Patient"), None)


def _add_bundle(record: PatientRecord, doc_id: str, bundle: JsonDict) -> int:
    """Add one document's resources to its patient's record; returns how many were already there."""
    entries = [entry for entry in bundle.get("entry", []) if "resource" in entry]
    patient_entry = _patient_entry(bundle)
    record.documents.append(doc_id)
    new_urls: dict[str, str] = {patient_entry["fullUrl"]: f"urn:uuid:{record.patient_id}"}
    facts = [e for e in entries if e["resource"]["resourceType"] not in ("Patient", "Provenance")]
    for entry in facts:
        resource = entry["resource"]
        scope = "shared" if resource["resourceType"] in SHARED_TYPES else record.patient_id
        new_urls[entry["fullUrl"]] = f"urn:uuid:{_uuid(scope, fact_key(resource, doc_id))}"
    _merge_patient(record, _rewrite(patient_entry["resource"], new_urls), doc_id)
    merged = 0
    for entry in facts:
        resource_id = new_urls[entry["fullUrl"]].removeprefix("urn:uuid:")
        sources = record.sources.setdefault(resource_id, [])
        if resource_id in record.resources:
            merged += doc_id not in sources
        else:
            record.resources[resource_id] = {
                **_rewrite(entry["resource"], new_urls),
                "id": resource_id,
            }
        if doc_id not in sources:
            sources.append(doc_id)
    return merged


def _merge_patient(record: PatientRecord, patient: JsonDict, doc_id: str) -> None:
    """One Patient: identifiers united, name, gender and birth date filled in when missing."""
    current = record.resources.get(record.patient_id)
    if current is None:
        record.resources[record.patient_id] = {**patient, "id": record.patient_id}
    else:
        identifiers = current.setdefault("identifier", [])
        known = {(i.get("system"), i.get("value")) for i in identifiers}
        for identifier in patient.get("identifier", []):
            if (identifier.get("system"), identifier.get("value")) not in known:
                identifiers.append(identifier)
        for field in ("name", "birthDate", "managingOrganization"):
            if field not in current and field in patient:
                current[field] = patient[field]
        if current.get("gender") in (None, "unknown") and patient.get("gender"):
            current["gender"] = patient["gender"]
    sources = record.sources.setdefault(record.patient_id, [])
    if doc_id not in sources:
        sources.append(doc_id)


def _rewrite(node: Any, urls: dict[str, str]) -> Any:
    if isinstance(node, dict):
        return {
            key: urls.get(value, value)
            if key == "reference" and isinstance(value, str)
            else _rewrite(value, urls)
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_rewrite(item, urls) for item in node]
    return node


# --- contradictions ---------------------------------------------------------------------------


def find_contradictions(record: PatientRecord) -> list[Contradiction]:
    allergies = [r for r in record.resources.values() if r["resourceType"] == "AllergyIntolerance"]
    nka = [r["id"] for r in allergies if _is_no_known_allergy(r)]
    named = [r["id"] for r in allergies if not _is_no_known_allergy(r)]
    found = []
    if nka and named:
        ids = sorted(nka + named)
        found.append(
            Contradiction(patient_id=record.patient_id, kind="allergy-vs-nka", resource_ids=ids)
        )
    by_medication: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for resource in record.resources.values():
        if resource["resourceType"] in ("MedicationStatement", "MedicationRequest"):
            medication = _codes(resource.get("medicationCodeableConcept"))
            by_medication[medication][resource.get("status", "")].append(resource["id"])
    for by_status in by_medication.values():
        active = [i for status in ACTIVE_MEDICATION for i in by_status.get(status, [])]
        stopped = [i for status in STOPPED_MEDICATION for i in by_status.get(status, [])]
        if active and stopped:
            contradiction = Contradiction(
                patient_id=record.patient_id,
                kind="medication-status",
                resource_ids=sorted(active + stopped),
            )
            found.append(contradiction)
    return found


def _is_no_known_allergy(resource: JsonDict) -> bool:
    return any(c.get("code") in NO_KNOWN_ALLERGY_CODES for c in resource["code"].get("coding", []))


def _mark(resource: JsonDict, contradicted: bool) -> JsonDict:
    """A copy with the `contradiction` flag set or cleared in meta.tag."""
    flag = {"system": FLAG_SYSTEM, "code": FLAG_CONTRADICTION}
    meta = dict(resource.get("meta", {}))
    tags = [tag for tag in meta.get("tag", []) if tag != flag] + ([flag] if contradicted else [])
    meta.pop("tag", None)
    if tags:
        meta["tag"] = tags
    marked = {key: value for key, value in resource.items() if key != "meta"}
    return {
        "resourceType": marked.pop("resourceType"),
        **({"meta": meta} if meta else {}),
        **marked,
    }


# --- output -----------------------------------------------------------------------------------


def patient_bundle(record: PatientRecord, contradicted: set[str]) -> JsonDict:
    """A collection Bundle: the Patient, every resource, one Provenance per source document."""
    resources = {rid: _mark(r, rid in contradicted) for rid, r in record.resources.items()}
    entries = [resources[record.patient_id]] + [
        r for rid, r in sorted(resources.items()) if rid != record.patient_id
    ]
    entries += _provenances(record)
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"fullUrl": f"urn:uuid:{r['id']}", "resource": r} for r in entries],
    }


def _provenances(record: PatientRecord) -> list[JsonDict]:
    """Per document: targets every resource it stated, source = its DocumentReference."""
    by_doc: dict[str, list[str]] = defaultdict(list)
    for resource_id, doc_ids in record.sources.items():
        for doc_id in doc_ids:
            by_doc[doc_id].append(resource_id)
    provenances = []
    for doc_id in record.documents:
        document = _uuid(record.patient_id, f"DocumentReference|{doc_id}")
        devices = [
            rid
            for rid in by_doc[doc_id]
            if record.resources.get(rid, {}).get("resourceType") == "Device"
        ]
        targets = [rid for rid in by_doc[doc_id] if rid not in devices and rid != document]
        if document not in record.resources or not devices or not targets:
            continue
        recorded = record.resources[document].get("date")
        provenances.append(
            {
                "resourceType": "Provenance",
                "id": _uuid(record.patient_id, f"Provenance|{doc_id}"),
                "target": [{"reference": f"urn:uuid:{rid}"} for rid in sorted(targets)],
                "recorded": recorded,
                "agent": [
                    {
                        "type": {
                            "coding": [
                                {
                                    "system": "http://terminology.hl7.org/CodeSystem/"
                                    "provenance-participant-type",
                                    "code": "assembler",
                                    "display": "Assembler",
                                }
                            ]
                        },
                        "who": {"reference": f"urn:uuid:{devices[0]}"},
                    }
                ],
                "entity": [{"role": "source", "what": {"reference": f"urn:uuid:{document}"}}],
            }
        )
    return provenances


def ndjson_lines(bundles: Iterable[JsonDict]) -> dict[str, list[str]]:
    """Bulk Data export: per resource type, one JSON line per resource (a resource shared by
    several patients' bundles once), `Type/id` references."""
    resources = {
        (entry["resource"]["resourceType"], entry["resource"]["id"]): entry["resource"]
        for bundle in bundles
        for entry in bundle["entry"]
    }
    types = {f"urn:uuid:{rid}": f"{kind}/{rid}" for kind, rid in resources}
    lines: dict[str, list[str]] = defaultdict(list)
    for (kind, _), resource in sorted(resources.items()):
        lines[kind].append(
            json.dumps(_rewrite(resource, types), separators=(",", ":"), sort_keys=True)
        )
    return dict(lines)


class WrittenRecords(BaseModel):
    patients: int
    documents: int  # documents whose (valid) bundle is in the records
    resources: int
    contradictions: int
    ndjson_files: dict[str, int]
    report: RecordsReport


def load_state(fhir_dir: Path) -> RecordsState:
    path = fhir_dir / STATE_FILE
    if not path.exists():
        return RecordsState()
    try:
        return RecordsState.model_validate_json(path.read_text(encoding="utf-8"))
    except ValueError:  # a state file of an older layout: every bundle is validated again
        return RecordsState()


def update_records(fhir_dir: Path, bundles: Iterable[tuple[str, JsonDict]]) -> WrittenRecords:
    """Rebuild the records in `fhir_dir` from every document's current bundle (doc_id, bundle):
    the per-patient bundles, the export, the contradictions. One update at a time (file lock)."""
    fhir_dir.mkdir(parents=True, exist_ok=True)
    with FileLock(fhir_dir / LOCK_FILE, mode=PRIVATE_FILE_MODE):  # fhir/ is a PHI store
        previous = load_state(fhir_dir)
        state, valid, report = _screen(previous, bundles)
        records, report.merged_duplicates = build_records(valid)
        contradictions = [c for record in records for c in find_contradictions(record)]
        contradicted = {rid for c in contradictions for rid in c.resource_ids}
        patient_bundles = {r.patient_id: patient_bundle(r, contradicted) for r in records}
        for pid, bundle in patient_bundles.items():
            write_json(fhir_dir / "patients" / f"{pid}.json", bundle)
        for stale in set(previous.patients) - set(patient_bundles):
            (fhir_dir / "patients" / f"{stale}.json").unlink(missing_ok=True)
        lines = ndjson_lines(patient_bundles.values())
        for resource_type, type_lines in lines.items():
            data = ("\n".join(type_lines) + "\n").encode("utf-8")
            write_atomic(fhir_dir / "export" / f"{resource_type}.ndjson", data)
        for path in (fhir_dir / "export").glob("*.ndjson"):
            if path.stem not in lines:
                path.unlink()
        write_json(fhir_dir / CONTRADICTIONS_FILE, [c.model_dump() for c in contradictions])
        state.patients = sorted(patient_bundles)
        write_json(fhir_dir / STATE_FILE, state)
    return WrittenRecords(
        patients=len(records),
        documents=len(valid),
        resources=sum(len(b["entry"]) for b in patient_bundles.values()),
        contradictions=len(contradictions),
        ndjson_files={t: len(v) for t, v in sorted(lines.items())},
        report=report,
    )


def _screen(
    previous: RecordsState, bundles: Iterable[tuple[str, JsonDict]]
) -> tuple[RecordsState, dict[str, JsonDict], RecordsReport]:
    """The bundles that may be accumulated (valid ones), the new state and what changed."""
    state, valid, report = RecordsState(), {}, RecordsReport()
    for doc_id, bundle in bundles:
        digest = bundle_sha256(bundle)
        before = previous.documents.get(doc_id)
        if before is not None and before.digest == digest:
            report.unchanged_documents += 1
            is_valid = before.valid
        else:
            if before is None:
                report.added_documents += 1
            else:
                report.replaced_documents += 1
            is_valid = _patient_entry(bundle) is not None and not validate_bundle(bundle)
        state.documents[doc_id] = DocumentState(digest=digest, valid=is_valid)
        if is_valid:
            valid[doc_id] = bundle
        else:
            report.invalid_documents += 1
    report.removed_documents = len(set(previous.documents) - set(state.documents))
    return state, valid, report


__all__ = [
    "DOCUMENT_ID_SYSTEM",
    "build_records",
    "fact_key",
    "find_contradictions",
    "ndjson_lines",
    "patient_bundle",
    "update_records",
]
