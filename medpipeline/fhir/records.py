"""Patient records: every document's bundle accumulated per patient, append-only, deduplicated.

A patient is known by an identifier with a system (other than the per-document placeholder), else
by name and birth date, else only by the document. The same fact from several documents (the same
condition code, medication, allergy, result value at the same time ...) is one resource, and each
source document's Provenance targets it: nothing is lost, nothing is counted twice. Resources are
never removed: a document seen again adds what is new. Contradictions are flagged, not resolved:
"no known allergy" next to a recorded allergy, a medication active in one document and stopped in
another. They are tagged `contradiction` on the resources and listed in `contradictions.json`.

Output (under `data/fhir/`, a PHI store): `state.json` (the accumulated records),
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

from pydantic import BaseModel, Field

from medpipeline.fhir.bundle import (
    DOCUMENT_ID_SYSTEM,
    DOCUMENT_PATIENT_SYSTEM,
    FLAG_SYSTEM,
    NO_KNOWN_ALLERGY,
)
from medpipeline.storage import write_atomic, write_json

JsonDict = dict[str, Any]
_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:medpipeline:patient-records")
FLAG_CONTRADICTION = "contradiction"
STATE_FILE = "state.json"
CONTRADICTIONS_FILE = "contradictions.json"


class PatientRecord(BaseModel):
    patient_id: str
    resources: dict[str, JsonDict] = Field(default_factory=dict)  # id -> resource
    sources: dict[str, list[str]] = Field(default_factory=dict)  # id -> doc_ids
    documents: list[str] = Field(default_factory=list)


class RecordsState(BaseModel):
    documents: dict[str, str] = Field(default_factory=dict)  # doc_id -> bundle sha256
    patients: dict[str, PatientRecord] = Field(default_factory=dict)
    patient_of_key: dict[str, str] = Field(default_factory=dict)  # identity key -> patient id


class Contradiction(BaseModel):
    patient_id: str
    kind: str
    resource_ids: list[str]


class AccumulateReport(BaseModel):
    new_documents: int = 0
    unchanged_documents: int = 0
    new_resources: int = 0
    merged_duplicates: int = 0


def _uuid(*parts: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, "/".join(parts)))


def _norm(value: Any) -> str:
    return " ".join(str(value).split()).lower() if value is not None else ""


def bundle_sha256(bundle: JsonDict) -> str:
    return hashlib.sha256(json.dumps(bundle, sort_keys=True).encode()).hexdigest()


# --- identity ---------------------------------------------------------------------------------


def patient_keys(patient: JsonDict, doc_id: str) -> list[str]:
    """Identity keys of a Patient, strongest first: identifiers, then name + birth date."""
    keys = [
        f"id|{identifier['system']}|{_norm(identifier['value'])}"
        for identifier in patient.get("identifier", [])
        if identifier.get("system")
        and identifier.get("value")
        and identifier["system"] != DOCUMENT_PATIENT_SYSTEM
    ]
    names = [_norm(name.get("text")) for name in patient.get("name", []) if name.get("text")]
    if names and patient.get("birthDate"):
        keys.append(f"name|{names[0]}|{patient['birthDate']}")
    return keys or [f"doc|{doc_id}"]


def _codes(concept: JsonDict | None) -> str:
    if not concept:
        return ""
    codings = sorted(f"{c.get('system')}|{c.get('code')}" for c in concept.get("coding", []))
    return ",".join(codings) if codings else _norm(concept.get("text"))


def fact_key(resource: JsonDict, doc_id: str) -> str:
    """What makes two resources from different documents the same fact."""
    kind = resource["resourceType"]
    if kind == "Condition":
        return f"{kind}|{_codes(resource.get('code'))}"
    if kind in ("MedicationStatement", "MedicationRequest"):
        name = _norm(resource.get("medicationCodeableConcept", {}).get("text"))
        return f"{kind}|{name}|{resource.get('authoredOn', '')}"
    if kind == "AllergyIntolerance":
        return f"{kind}|{_codes(resource.get('code'))}"
    if kind == "Observation":
        value = resource.get("valueQuantity", {}).get("value", resource.get("valueString"))
        return f"{kind}|{_codes(resource.get('code'))}|{resource.get('effectiveDateTime')}|{value}"
    if kind == "Procedure":
        return f"{kind}|{_codes(resource.get('code'))}|{resource.get('performedDateTime')}"
    if kind == "Encounter":
        start = resource.get("period", {}).get("start")
        return f"{kind}|{resource.get('class', {}).get('code')}|{start or doc_id}"
    if kind == "Device":
        names = resource.get("deviceName", [{}])
        version = resource.get("version", [{}])
        return f"{kind}|{names[0].get('name')}|{version[0].get('value')}"
    return f"{kind}|{doc_id}"  # DocumentReference, DiagnosticReport: one per document


# --- accumulation -----------------------------------------------------------------------------


def accumulate(
    state: RecordsState, bundles: Iterable[tuple[str, JsonDict]]
) -> tuple[RecordsState, AccumulateReport]:
    """Add each (doc_id, transaction bundle) not yet seen as it is; returns state and counts."""
    report = AccumulateReport()
    for doc_id, bundle in bundles:
        digest = bundle_sha256(bundle)
        if state.documents.get(doc_id) == digest:
            report.unchanged_documents += 1
            continue
        _add_bundle(state, doc_id, bundle, report)
        state.documents[doc_id] = digest
        report.new_documents += 1
    return state, report


def _add_bundle(state: RecordsState, doc_id: str, bundle: JsonDict, report: AccumulateReport):
    entries = [entry for entry in bundle.get("entry", []) if "resource" in entry]
    patients = [e for e in entries if e["resource"]["resourceType"] == "Patient"]
    if not patients:
        return
    patient_entry = patients[0]
    record = _record_for(state, patient_entry["resource"], doc_id)
    if doc_id not in record.documents:
        record.documents.append(doc_id)
    new_urls: dict[str, str] = {patient_entry["fullUrl"]: f"urn:uuid:{record.patient_id}"}
    _merge_patient(record, patient_entry["resource"], doc_id)
    for entry in entries:
        resource = entry["resource"]
        if resource["resourceType"] in ("Patient", "Provenance"):
            continue
        resource_id = _uuid(record.patient_id, fact_key(resource, doc_id))
        new_urls[entry["fullUrl"]] = f"urn:uuid:{resource_id}"
    for entry in entries:
        resource = entry["resource"]
        if resource["resourceType"] in ("Patient", "Provenance"):
            continue
        resource_id = new_urls[entry["fullUrl"]].removeprefix("urn:uuid:")
        sources = record.sources.setdefault(resource_id, [])
        if resource_id in record.resources:
            if doc_id not in sources:
                report.merged_duplicates += 1
        else:
            record.resources[resource_id] = {**_rewrite(resource, new_urls), "id": resource_id}
            report.new_resources += 1
        if doc_id not in sources:
            sources.append(doc_id)


def _record_for(state: RecordsState, patient: JsonDict, doc_id: str) -> PatientRecord:
    keys = patient_keys(patient, doc_id)
    known = next((state.patient_of_key[key] for key in keys if key in state.patient_of_key), None)
    patient_id = known or _uuid("patient", keys[0])
    for key in keys:
        state.patient_of_key.setdefault(key, patient_id)
    return state.patients.setdefault(patient_id, PatientRecord(patient_id=patient_id))


def _merge_patient(record: PatientRecord, patient: JsonDict, doc_id: str) -> None:
    """One Patient: identifiers united, name, gender and birth date filled in when missing."""
    current = record.resources.get(record.patient_id)
    if current is None:
        record.resources[record.patient_id] = {**patient, "id": record.patient_id}
    else:
        identifiers = current.setdefault("identifier", [])
        for identifier in patient.get("identifier", []):
            if identifier not in identifiers and identifier["system"] != DOCUMENT_PATIENT_SYSTEM:
                identifiers.append(identifier)
        for field in ("name", "birthDate"):
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
    statuses: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for resource in record.resources.values():
        if resource["resourceType"] == "MedicationStatement":
            name = _norm(resource.get("medicationCodeableConcept", {}).get("text"))
            statuses[name][resource.get("status", "")].append(resource["id"])
    for by_status in statuses.values():
        if "active" in by_status and {"stopped", "completed"} & set(by_status):
            ids = [i for status in ("active", "stopped", "completed") for i in by_status[status]]
            contradiction = Contradiction(
                patient_id=record.patient_id, kind="medication-status", resource_ids=sorted(ids)
            )
            found.append(contradiction)
    return found


def _is_no_known_allergy(resource: JsonDict) -> bool:
    return any(c.get("code") == NO_KNOWN_ALLERGY[0] for c in resource["code"].get("coding", []))


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
    """Bulk Data export: per resource type, one JSON line per resource, `Type/id` references."""
    resources = [entry["resource"] for bundle in bundles for entry in bundle["entry"]]
    types = {f"urn:uuid:{r['id']}": f"{r['resourceType']}/{r['id']}" for r in resources}
    lines: dict[str, list[str]] = defaultdict(list)
    for resource in resources:
        lines[resource["resourceType"]].append(
            json.dumps(_rewrite(resource, types), separators=(",", ":"), sort_keys=True)
        )
    return dict(lines)


class WrittenRecords(BaseModel):
    patients: int
    documents: int
    resources: int
    contradictions: int
    ndjson_files: dict[str, int]
    report: AccumulateReport


def load_state(fhir_dir: Path) -> RecordsState:
    path = fhir_dir / STATE_FILE
    if not path.exists():
        return RecordsState()
    return RecordsState.model_validate_json(path.read_text(encoding="utf-8"))


def update_records(fhir_dir: Path, bundles: Iterable[tuple[str, JsonDict]]) -> WrittenRecords:
    """Accumulate bundles into `fhir_dir` and rewrite the per-patient bundles and the export."""
    state, report = accumulate(load_state(fhir_dir), bundles)
    contradictions = [c for record in state.patients.values() for c in find_contradictions(record)]
    contradicted = {rid for c in contradictions for rid in c.resource_ids}
    patient_bundles = {
        pid: patient_bundle(record, contradicted) for pid, record in state.patients.items()
    }
    for pid, bundle in patient_bundles.items():
        write_json(fhir_dir / "patients" / f"{pid}.json", bundle)
    lines = ndjson_lines(patient_bundles.values())
    for resource_type, type_lines in lines.items():
        data = ("\n".join(type_lines) + "\n").encode("utf-8")
        write_atomic(fhir_dir / "export" / f"{resource_type}.ndjson", data)
    write_json(fhir_dir / CONTRADICTIONS_FILE, [c.model_dump() for c in contradictions])
    write_json(fhir_dir / STATE_FILE, state)
    return WrittenRecords(
        patients=len(state.patients),
        documents=len(state.documents),
        resources=sum(len(b["entry"]) for b in patient_bundles.values()),
        contradictions=len(contradictions),
        ndjson_files={t: len(v) for t, v in sorted(lines.items())},
        report=report,
    )


__all__ = [
    "DOCUMENT_ID_SYSTEM",
    "accumulate",
    "fact_key",
    "find_contradictions",
    "ndjson_lines",
    "patient_bundle",
    "patient_keys",
    "update_records",
]
