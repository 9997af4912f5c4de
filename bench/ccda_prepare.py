"""Turn a folder of C-CDA XML documents into a scored set like ccda_dev: `<stem>.pdf` and
`<stem>.gold.json` (schema_version 1, format in the corpus's ccda_dev README) per document.

    .venv/bin/python bench/ccda_prepare.py XML_DIR OUT_DIR --xsl XSL_DIR [--sources sources.json]
    .venv/bin/python bench/accuracy.py --ccda-dir OUT_DIR

Rendering is the corpus's: HL7's CDA.xsl (from XSL_DIR, beside its cda_l10n.xml) through
`xsltproc` with useJavascript=false, then Debian's `chromium` headless print-to-PDF. `--pdf-dir`
skips rendering and takes `<stem>.pdf` from there (to check the gold against existing PDFs).
The gold lists the coded entries of the structured body: problem observations, medication
activities and planned medications, allergy observations, result and vital-sign observations, and
procedure activities (procedure, observation, act) with moodCode EVN. `not_in_narrative` marks an
entry none of whose names can be found in the PDF's text (pdfplumber), so scoring leaves it out of
recall. `--sources` is a JSON object {stem: {source_path, source_commit, vendor, source_repo}}.
"""

import argparse
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from xml.etree import ElementTree as ET

import pdfplumber

NS = {"h": "urn:hl7-org:v3", "xsi": "http://www.w3.org/2001/XMLSchema-instance"}
XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"
T = "2.16.840.1.113883.10.20.22.4."
PROBLEM, MEDICATION, PLANNED_MEDICATION, ALLERGY = T + "4", T + "16", T + "42", T + "7"
RESULT, VITAL = T + "2", T + "27"
PROCEDURES = {T + "14": "procedure", T + "13": "observation", T + "12": "act"}
PROBLEM_STATUS, ALLERGY_STATUS, REACTION, SEVERITY = T + "6", T + "28", T + "9", T + "8"
NO_KNOWN_ALLERGY_CODES = {"716186003", "409137002", "428607008", "428197003", "160244002"}
CODE_SYSTEMS = {
    "2.16.840.1.113883.6.96": "SNOMED",
    "2.16.840.1.113883.6.1": "LOINC",
    "2.16.840.1.113883.6.88": "RxNorm",
    "2.16.840.1.113883.6.103": "ICD-9-CM",
    "2.16.840.1.113883.6.104": "ICD-9-CM procedures",
    "2.16.840.1.113883.6.90": "ICD-10-CM",
    "2.16.840.1.113883.6.4": "ICD-10-PCS",
    "2.16.840.1.113883.6.12": "CPT",
    "2.16.840.1.113883.6.285": "HCPCS",
    "2.16.840.1.113883.6.13": "CDT",
    "2.16.840.1.113883.6.69": "NDC",
    "2.16.840.1.113883.6.59": "CVX",
    "2.16.840.1.113883.12.292": "CVX",
    "2.16.840.1.113883.4.9": "UNII",
    "2.16.840.1.113883.3.26.1.5": "NDF-RT",
    "2.16.840.1.113883.6.64": "FDBDRUG",
    "2.16.840.1.113883.4.65": "FDB Hierarchical Ingredient Code Sequence Number (HIC_SEQN)",
    "2.16.840.1.113883.6.65": "MDDX Medispan Diagnostic Codes",
    "2.16.840.1.113883.6.68": "Medispan GPI",
    "2.16.840.1.113883.6.253": "Medispan Drug Descriptor ID",
    "2.16.840.1.113883.3.247.1.1": "IMO ProblemIT",
    "1.3.6.1.4.1.22812.18.9.2": "Freetext Item",
}
# Words narratives use for common vital-sign LOINC codes, added to the entry's names.
VITAL_SYNONYMS = {
    "8480-6": ("Systolic blood pressure", "Blood pressure", "BP"),
    "8462-4": ("Diastolic blood pressure", "Blood pressure", "BP"),
    "8302-2": ("Height", "Body height", "Ht"),
    "8306-3": ("Height", "Body height", "Ht"),
    "3141-9": ("Weight", "Body weight", "Wt"),
    "29463-7": ("Weight", "Body weight", "Wt"),
    "39156-5": ("Body mass index", "BMI"),
    "41909-3": ("Body mass index", "BMI"),
    "9279-1": ("Respiratory rate", "Respirations"),
    "8867-4": ("Heart rate", "Pulse"),
    "8310-5": ("Body temperature", "Temperature", "Temp"),
    "8287-5": ("Head circumference",),
    "9843-4": ("Head circumference",),
    "2710-2": ("Oxygen saturation", "O2 saturation", "SpO2"),
    "59408-5": ("Oxygen saturation", "O2 saturation", "SpO2"),
}
SEMANTIC_TAG = re.compile(
    r"\s*\((?:finding|disorder|situation|procedure|substance|product|observable entity"
    r"|regime/therapy|morphologic abnormality|body structure|qualifier value|event"
    r"|physical object|medicinal product|clinical drug|environment)\)\s*$",
    re.IGNORECASE,
)
DATE = re.compile(r"\b\d{1,4}[/-]\d{1,2}[/-]\d{1,4}\b")
WORD = re.compile(r"[a-z0-9]+")
WORD_CASED = re.compile(r"[A-Za-z0-9]+")
WRAP_LINES = 4  # a name's words within this many lines count as the name wrapped in a cell
TYPES = ("condition", "medication", "allergy", "observation", "procedure")
PLURAL = {"condition": "conditions", "medication": "medications", "allergy": "allergies",
          "observation": "observations", "procedure": "procedures"}  # fmt: skip


def q(path: str) -> str:
    """ "a/b" -> "h:a/h:b" in the HL7 namespace."""
    return "/".join(f"h:{part}" if part and part[0].isalpha() else part for part in path.split("/"))


def find(element: ET.Element | None, path: str) -> ET.Element | None:
    return None if element is None else element.find(q(path), NS)


def attr(element: ET.Element | None, path: str, name: str) -> str | None:
    found = element if not path else find(element, path)
    return None if found is None else found.get(name)


def templates(element: ET.Element) -> list[str]:
    return [t.get("root", "") for t in element.findall("h:templateId", NS)]


def clean(text: str | None) -> str | None:
    text = " ".join((text or "").split())
    return text or None


def date(value: str | None) -> str | None:
    """HL7 TS to ISO: 20130711002500-0500 -> 2013-07-11T00:25:00 (the zone dropped)."""
    digits = re.match(r"\d+", value or "")
    if not digits:
        return None
    d = digits.group()
    out = "-".join(part for part in (d[:4], d[4:6], d[6:8]) if part)
    if len(d) > 8:
        out += "T" + ":".join(d[i : i + 2] for i in range(8, min(len(d), 14), 2))
    return out


class Narrative:
    """The section narratives' ID'd elements, for originalText `<reference value="#id">`."""

    def __init__(self, root: ET.Element) -> None:
        self.by_id: dict[str, str] = {}
        for text in root.iter("{urn:hl7-org:v3}text"):
            for element in text.iter():
                ident = element.get("ID")
                if ident:
                    self.by_id[ident] = clean("".join(element.itertext())) or ""

    def resolve(self, element: ET.Element | None) -> str | None:
        """An originalText's or a `<text>`'s words: the referenced narrative element's text when it
        has a reference (None when no element has that ID), else its own."""
        if element is None:
            return None
        reference = attr(element, "reference", "value")
        if reference:
            return self.by_id.get(reference.removeprefix("#"))
        return clean("".join(element.itertext()))

    def original_text(self, code: ET.Element | None) -> str | None:
        return self.resolve(find(code, "originalText"))


def coding(code: ET.Element | None) -> dict:
    oid = attr(code, "", "codeSystem")
    value = attr(code, "", "code")
    return {
        "code": value or None,
        "code_system": CODE_SYSTEMS.get(oid, attr(code, "", "codeSystemName")) if oid else None,
        "code_system_oid": oid,
        "display": clean(attr(code, "", "displayName")),
    }


def concept(code: ET.Element | None, narrative: Narrative) -> dict:
    main = coding(code)
    found = code.findall("h:translation", NS) if code is not None else []
    translations = [coding(t) for t in found]
    if main["code"] is None and translations and translations[0]["code"]:
        # a nullFlavor code whose concept is in a translation (Greenway, NextGen, Allscripts)
        main = {**translations[0], "display": None}
    return {
        **main,
        "original_text": narrative.original_text(code),
        "translations": [
            {
                "code": t["code"],
                "code_system_oid": t["code_system_oid"],
                "code_system": t["code_system"],
                "display": t["display"],
            }  # fmt: skip
            for t in translations
        ],
    }


def names_of(
    entry: dict, original: str | None, text: str | None, synonyms: tuple[str, ...]
) -> list[str]:
    """displayName, originalText and translation displays, else the statement's own text (only
    for observations). An originalText holding a date is a narrative row ("Coumadin - 5mg ...
    starting 11/1/2012"), not a name."""
    original = original or ""
    candidates = [
        SEMANTIC_TAG.sub("", entry["display"] or ""),
        "" if DATE.search(original) else original,
    ]
    candidates += [SEMANTIC_TAG.sub("", t["display"] or "") for t in entry["translations"]]
    if not any(clean(c) for c in candidates):
        candidates.append(text or "")
    names: list[str] = []
    for name in [*candidates, *synonyms]:
        name = clean(name) or ""
        if name and name.lower() not in {n.lower() for n in names}:
            names.append(name)
    return names


def display(element: ET.Element | None, narrative: Narrative) -> str | None:
    """A coded value's displayName, else its originalText."""
    if element is None:
        return None
    return clean(element.get("displayName")) or narrative.original_text(element) or None


def related(element: ET.Element, template: str) -> list[ET.Element]:
    return [
        child
        for relationship in element.findall("h:entryRelationship", NS)
        for child in relationship
        if template in templates(child)
    ]


def quantity(element: ET.Element | None) -> str | None:
    if element is None or element.get("value") is None:
        return None
    unit = element.get("unit")
    return f"{element.get('value')} {unit}" if unit and unit != "1" else element.get("value")


def number(value: str) -> int | float | str:
    try:
        return int(value)
    except ValueError:
        try:
            return float(value)
        except ValueError:
            return value


def frequency(element: ET.Element) -> str | None:
    for effective in element.findall("h:effectiveTime", NS):
        if (effective.get(XSI_TYPE) or "").endswith("PIVL_TS"):
            period = find(effective, "period")
            if period is not None and period.get("value"):
                return f"every {period.get('value')} {period.get('unit') or ''}".strip()
        if (effective.get(XSI_TYPE) or "").endswith("EIVL_TS") and attr(effective, "event", "code"):
            return f"event {attr(effective, 'event', 'code')}"
    return None


def interval(element: ET.Element) -> tuple[str | None, str | None]:
    effective = find(element, "effectiveTime")
    if effective is None:
        return None, None
    if effective.get("value"):
        return date(effective.get("value")), None
    return date(attr(effective, "low", "value")), date(attr(effective, "high", "value"))


def condition(element: ET.Element, narrative: Narrative, concern: ET.Element | None) -> dict:
    value = find(element, "value")
    status = related(element, PROBLEM_STATUS)
    onset, abatement = interval(element)
    return {
        **concept(value, narrative),
        "status": display(find(status[0], "value"), narrative) if status else None,
        "concern_status": attr(concern, "statusCode", "code")
        if concern is not None and concern.tag.endswith("act")
        else None,
        "problem_type": clean(attr(element, "code", "displayName")),
        "onset": onset,
        "abatement": abatement,
    }


def medication(element: ET.Element, narrative: Narrative, kind: str) -> dict:
    material = find(element, "consumable/manufacturedProduct/manufacturedMaterial")
    start, stop = None, None
    for effective in element.findall("h:effectiveTime", NS):
        if not (effective.get(XSI_TYPE) or "").endswith("PIVL_TS"):
            start = date(effective.get("value") or attr(effective, "low", "value"))
            stop = date(attr(effective, "high", "value"))
            break
    return {
        **concept(find(material, "code"), narrative),
        "kind": kind,
        "mood": element.get("moodCode"),
        "status": attr(element, "statusCode", "code"),
        "dose": quantity(find(element, "doseQuantity")),
        "route": display(find(element, "routeCode"), narrative),
        "frequency": frequency(element),
        "start": start,
        "stop": stop,
    }


def allergy(element: ET.Element, narrative: Narrative) -> dict:
    substance = find(element, "participant/participantRole/playingEntity/code")
    reactions = related(element, REACTION)
    severity = related(element, SEVERITY)
    status = related(element, ALLERGY_STATUS)
    entry = concept(substance, narrative)
    value_code = attr(element, "value", "code")
    return {
        **entry,
        "no_known": element.get("negationInd") == "true"
        or value_code in NO_KNOWN_ALLERGY_CODES
        or entry["code"] in NO_KNOWN_ALLERGY_CODES,
        "allergy_type": display(find(element, "value"), narrative),
        "reactions": [r for r in (display(find(x, "value"), narrative) for x in reactions) if r],
        "severity": display(find(severity[0], "value"), narrative) if severity else None,
        "reaction_severity": [
            s
            for r in reactions
            for x in related(r, SEVERITY)
            if (s := display(find(x, "value"), narrative))
        ],
        "status": display(find(status[0], "value"), narrative) if status else None,
    }


def observation(element: ET.Element, narrative: Narrative, kind: str, panel: str | None) -> dict:
    entry = concept(find(element, "code"), narrative)
    value = find(element, "value")
    value_type = (value.get(XSI_TYPE) or "").split(":")[-1] if value is not None else None
    amount: int | float | str | None = None
    unit = None
    if value is not None and value_type in ("PQ", "INT", "REAL") and value.get("value"):
        amount, unit = number(value.get("value", "")), value.get("unit")
    elif value is not None and value_type in ("CD", "CE", "CO", "CV"):
        amount = display(value, narrative) or value.get("code")
    elif value is not None:
        amount = clean("".join(value.itertext()))
    range_text = find(element, "referenceRange/observationRange/text")
    reference_range = clean("".join(range_text.itertext())) if range_text is not None else None
    return {
        **entry,
        "kind": kind,
        "value": amount,
        "unit": unit,
        "value_type": value_type or None,
        "reference_range": reference_range,
        "interpretation": display(find(element, "interpretationCode"), narrative)
        or attr(element, "interpretationCode", "code"),
        "panel": panel,
        "effective": interval(element)[0],
    }


def procedure(element: ET.Element, narrative: Narrative, kind: str) -> dict:
    return {
        **concept(find(element, "code"), narrative),
        "kind": kind,
        "status": attr(element, "statusCode", "code"),
    }


def organizer_name(
    element: ET.Element, parents: dict[ET.Element, ET.Element], narrative: Narrative
) -> str | None:
    parent = parents.get(element)
    while parent is not None:
        if parent.tag.endswith("organizer"):
            code = find(parent, "code")
            return display(code, narrative)
        if parent.tag.endswith("section"):
            return None
        parent = parents.get(parent)
    return None


def entries(root: ET.Element, narrative: Narrative) -> tuple[dict[str, list[dict]], dict[str, int]]:
    """The coded entries by type, in document order, and per type the nullFlavor ones skipped."""
    parents = {child: parent for parent in root.iter() for child in parent}
    found: dict[str, list[dict]] = {kind: [] for kind in TYPES}
    skipped = dict.fromkeys(TYPES, 0)
    body = find(root, "component/structuredBody")
    if body is None:
        return found, skipped
    for section in body.iter("{urn:hl7-org:v3}section"):
        heading = find(section, "title")
        title = clean("".join(heading.itertext())) if heading is not None else None
        for element in own_entries(section):
            roots = templates(element)
            item: dict | None = None
            if PROBLEM in roots:
                concern = parents.get(parents.get(element))  # the concern act, if any
                category, item = "condition", condition(element, narrative, concern)
            elif MEDICATION in roots:
                category, item = "medication", medication(element, narrative, "medication-activity")
            elif PLANNED_MEDICATION in roots:
                category, item = "medication", medication(element, narrative, "planned-medication")
            elif ALLERGY in roots:
                category, item = "allergy", allergy(element, narrative)
            elif VITAL in roots or RESULT in roots:
                kind = "vital-sign" if VITAL in roots else "result"
                panel = organizer_name(element, parents, narrative) if kind == "result" else None
                category, item = "observation", observation(element, narrative, kind, panel)
            else:
                kinds = [PROCEDURES[r] for r in roots if r in PROCEDURES]
                if kinds and element.get("moodCode") == "EVN":
                    category, item = "procedure", procedure(element, narrative, kinds[0])
            if item is None:
                continue
            vital = item.get("kind") == "vital-sign"
            synonyms = VITAL_SYNONYMS.get(item["code"] or "", ()) if vital else ()
            original = item["original_text"]
            value_text = narrative.original_text(find(element, "value"))
            if category == "allergy" and item["display"] and original == value_text:
                original = None  # the allergy's own words ("Allergy to Penicillin drugs")
            text = (
                narrative.resolve(find(element, "text"))
                if element.tag.endswith("observation")
                else None
            )
            names = names_of(item, original, text, synonyms)
            if item["code"] is None and not names:
                skipped[category] += 1
                continue
            entry = {
                "category": category,
                "section": title,
                "template": roots,
                **item,
                "negated": element.get("negationInd") == "true",
                "names": names,
            }
            if synonyms:
                entry["synonyms"] = list(synonyms)
            found[category].append(entry)
    return found, skipped


def own_entries(section: ET.Element) -> list[ET.Element]:
    """The clinical statements under this section's entries (not those of nested sections)."""
    out: list[ET.Element] = []
    stack = [child for entry in section.findall("h:entry", NS) for child in entry]
    while stack:
        element = stack.pop(0)
        out.append(element)
        stack[:0] = [
            grand
            for child in element
            if child.tag.split("}")[-1] in ("entryRelationship", "component")
            for grand in child
        ]
    return out


def words(text: str) -> list[str]:
    return WORD.findall(text.lower())


def find_in_text(names: list[str], lines: list[str]) -> tuple[str, str, str | None] | None:
    """(name, how, span) for the first name found in the PDF's lines: `exact` (the normalised
    name within the normalised text), `wrapped` (its words within WRAP_LINES lines), `partial`
    (4 or more words, all but one on one line; span is the words the line shows)."""
    tokens = [words(line) for line in lines]
    text = " " + " ".join(w for line in tokens for w in line) + " "
    for name in names:
        wanted = " ".join(words(name))
        if wanted and f" {wanted} " in text:
            return name, "exact", None
    for name in names:
        wanted_words = set(words(name))
        for start in range(len(tokens)):
            window = {w for line in tokens[start : start + WRAP_LINES] for w in line}
            if wanted_words and wanted_words <= window:
                return name, "wrapped", None
    for name in names:
        wanted_words = set(words(name))
        if len(wanted_words) < 4:
            continue
        for raw, line in zip(lines, tokens, strict=True):
            if len(wanted_words - set(line)) <= 1:
                shown = (w for w in WORD_CASED.findall(raw) if w.lower() in wanted_words)
                return name, "partial", " ".join(dict.fromkeys(shown))
    return None


def pdf_lines(pdf: Path) -> tuple[list[str], int]:
    with pdfplumber.open(pdf) as document:
        pages = [page.extract_text() or "" for page in document.pages]
    return [line for page in pages for line in page.splitlines()], len(pages)


def person_name(element: ET.Element | None) -> dict:
    name = find(element, "name")
    given = (
        [clean("".join(g.itertext())) for g in name.findall("h:given", NS)]
        if name is not None
        else []
    )
    family = (
        clean("".join(find(name, "family").itertext()))
        if find(name, "family") is not None
        else None
    )
    given = [g for g in given if g]
    suffixes = (
        [clean("".join(x.itertext())) for x in name.findall("h:suffix", NS)]
        if name is not None
        else []
    )
    full = clean(" ".join([*given, family or ""]))
    return {
        "name": ", ".join(x for x in [full, *suffixes] if x) or None,
        "given": given,
        "family": family,
    }


def header(root: ET.Element) -> tuple[dict, dict]:
    """The document and patient fields of the gold."""
    author = find(root, "author/assignedAuthor/assignedPerson")
    organization = find(root, "custodian/assignedCustodian/representedCustodianOrganization/name")
    document = {
        "title": clean("".join(find(root, "title").itertext()))
        if find(root, "title") is not None
        else None,
        "type_code": attr(root, "code", "code"),
        "type_display": attr(root, "code", "displayName"),
        "date": date(attr(root, "effectiveTime", "value")),
        "author": person_name(author)["name"] if author is not None else None,
        "organization": clean("".join(organization.itertext()))
        if organization is not None
        else None,
        "templates": sorted(templates(root)),
    }
    role = find(root, "recordTarget/patientRole")
    patient_element = find(role, "patient")
    address = find(role, "addr")
    sex = attr(patient_element, "administrativeGenderCode", "code")
    patient = {
        **person_name(patient_element),
        "other_names": [],
        "birth_date": (date(attr(patient_element, "birthTime", "value")) or "")[:10] or None,
        "sex": {"M": "male", "F": "female"}.get(sex or ""),
        "sex_display": attr(patient_element, "administrativeGenderCode", "displayName")
        or {"M": "Male", "F": "Female"}.get(sex or ""),
        "identifiers": [
            {"root": i.get("root"), "extension": i.get("extension")}
            for i in (role.findall("h:id", NS) if role is not None else [])
        ],
        "address": clean(
            ", ".join(
                t
                for t in (
                    clean("".join(x.itertext())) for x in address if not x.tag.endswith("country")
                )
                if t
            )
        )
        if address is not None
        else None,
        "telecom": [
            t.get("value")
            for t in (role.findall("h:telecom", NS) if role is not None else [])
            if t.get("value")
        ],
        "race": attr(patient_element, "raceCode", "displayName"),
        "ethnicity": attr(patient_element, "ethnicGroupCode", "displayName"),
    }
    return document, patient


def render(xml: Path, pdf: Path, xsl: Path) -> None:
    """CDA.xsl through xsltproc, then Chromium's print-to-PDF, as the corpus was made."""
    with tempfile.TemporaryDirectory() as scratch:
        html = Path(scratch) / f"{xml.stem}.html"
        with html.open("wb") as out:
            subprocess.run(
                [
                    "xsltproc",
                    "--stringparam",
                    "useJavascript",
                    "false",
                    str(xsl / "CDA.xsl"),
                    str(xml),
                ],
                stdout=out,
                check=True,
            )
        subprocess.run(
            [
                "chromium",
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                f"--print-to-pdf={pdf}",
                "--no-pdf-header-footer",
                html.resolve().as_uri(),
            ],  # fmt: skip
            check=True,
            capture_output=True,
            timeout=300,
        )


def gold(xml: Path, pdf: Path, source: dict) -> dict:
    root = ET.parse(xml).getroot()
    found, skipped = entries(root, Narrative(root))
    lines, pages = pdf_lines(pdf)
    document, patient = header(root)
    serial = 0
    by_match: dict[str, int] = {}
    by_category: dict[str, dict[str, int]] = {}
    for category in TYPES:
        counts = by_category.setdefault(PLURAL[category], {"entries": 0, "in_pdf": 0})
        for entry in found[category]:
            serial += 1
            entry["id"] = f"{category}-{serial}"  # numbered across types, as the corpus gold
            match = find_in_text(entry["names"], lines)
            entry["not_in_narrative"] = match is None
            counts["entries"] += 1
            if match:
                entry["narrative_name"], entry["narrative_match"], span = match
                if span:
                    entry["narrative_span"] = span
                by_match[entry["narrative_match"]] = by_match.get(entry["narrative_match"], 0) + 1
                counts["in_pdf"] += 1
    total = sum(c["entries"] for c in by_category.values())
    in_pdf = sum(c["in_pdf"] for c in by_category.values())
    name_words = set(words(patient["name"] or ""))
    return {
        "source": xml.name,
        **source,
        "pdf": pdf.name,
        "pdf_pages": pages,
        "renderer": "HL7/CDA-core-xsl CDA.xsl (useJavascript=false) via xsltproc, then headless "
        "Chromium print-to-PDF (US Letter)",
        "document": document,
        "patient": patient,
        "structured_body": find(root, "component/structuredBody") is not None,
        **{PLURAL[c]: found[c] for c in TYPES},
        "skipped_null_entries": skipped,
        "coverage": {
            "entries": total,
            "in_pdf": in_pdf,
            "fraction": round(in_pdf / total, 3) if total else 0.0,
            "by_category": by_category,
            "by_match": by_match,
            "patient_name_in_pdf": bool(name_words)
            and any(name_words <= set(words(line)) for line in lines),
        },
        "schema_version": 1,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("xml_dir", type=Path)
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--xsl", type=Path, help="folder with CDA.xsl and cda_l10n.xml")
    parser.add_argument("--pdf-dir", type=Path, help="take <stem>.pdf from here, do not render")
    parser.add_argument("--sources", type=Path, help="JSON {stem: {source_path, ...}}")
    args = parser.parse_args(argv)
    if (args.xsl is None) == (args.pdf_dir is None):
        parser.error("give exactly one of --xsl and --pdf-dir")
    sources = json.loads(args.sources.read_text(encoding="utf-8")) if args.sources else {}
    args.out_dir.mkdir(parents=True, exist_ok=True)
    for xml in sorted(args.xml_dir.glob("*.xml")):
        if args.pdf_dir:
            pdf = args.pdf_dir / f"{xml.stem}.pdf"
        else:
            pdf = args.out_dir / f"{xml.stem}.pdf"
            render(xml, pdf, args.xsl)
        result = gold(xml, pdf, sources.get(xml.stem, {}))
        (args.out_dir / f"{xml.stem}.gold.json").write_text(
            json.dumps(result, indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        coverage = result["coverage"]
        print(f"{xml.stem}: {coverage['entries']} entries, {coverage['in_pdf']} in the PDF")
    return 0


if __name__ == "__main__":
    sys.exit(main())
