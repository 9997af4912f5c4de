"""Turn a folder of C-CDA XML documents into a scored set like ccda_dev: `<stem>.pdf` and
`<stem>.gold.json` (schema_version 1, format in the corpus's ccda_dev README) per document.

    .venv/bin/python bench/ccda_prepare.py XML_DIR OUT_DIR [--xsl XSL_DIR] [--sources sources.json]
    .venv/bin/python bench/accuracy.py --ccda-dir OUT_DIR [--half tuning|held-out|both|all]

Scoring a site's own C-CDA exports:
1. Put the exports in one folder as `<stem>.xml` (one full document each, with a structuredBody;
   the stem names the document in the report). Fragments and documents without coded entries
   only add noise; byte-identical copies count twice, so drop them.
2. With HL7's CDA.xsl (the corpus's renderer): fetch the CDA-core-xsl stylesheet folder (CDA.xsl
   beside cda_l10n.xml and cda_narrativeblock.xml) and pass it as `--xsl XSL_DIR`. Each document
   goes through `xsltproc` with useJavascript=false, then Debian's `chromium` headless
   print-to-PDF (US Letter), as the ccda_dev PDFs were made.
   Without CDA.xsl: leave out `--xsl`. The built-in renderer (stdlib `xml.etree`, `cda_html`)
   prints what CDA.xsl prints in a plain layout: the title, a header table (patient, birth date,
   sex, IDs, encounter, documentation-of, authors), every section and nested section with its
   narrative block converted element by element (table/thead/tbody/tr/th/td with colspan and
   rowspan, list/item, paragraph, content, br, caption, linkHtml as text, sub/sup, footnote), and
   a closing table (document ID, custodian, patient, provider organization, performers,
   encounter, authors, recipients, authenticators); then the same Chromium print-to-PDF.
   `--html` keeps the HTML beside the PDF. On the 4 tuning documents checked against their
   corpus PDFs it finds the same entries in the text (same not_in_narrative and match kind for
   all 99), and the offline extractor scores within a point of the CDA.xsl PDFs; line breaks in
   narrow table columns differ a little, so a set made with it is close to, not identical with,
   one made with CDA.xsl (the gold's `renderer` field says which was used).
   `--pdf-dir` skips rendering and takes `<stem>.pdf` from there (to check the gold against
   existing PDFs, or to score PDFs the site's own EHR printed).
3. Optionally `--sources` gives each stem provenance: a JSON object
   {stem: {source_path, source_commit, vendor, source_repo}}, copied into the gold.
4. `bench/accuracy.py --ccda-dir OUT_DIR --half both` scores the `<stem>.pdf` +
   `<stem>.gold.json` pairs (offline provider, in-process) in two halves, every second stem in
   sorted order held out as in ccda_dev (`--half all`: one set), and prints P/R/F1 per type and
   overall; `--show-misses` lists what was missed or wrong per document. Tune rules on the
   tuning half only and read the held-out half's figures, never its misses.

The gold lists the coded entries of the structured body: problem observations, medication
activities and planned medications, allergy observations, result and vital-sign observations, and
procedure activities (procedure, observation, act) with moodCode EVN. `not_in_narrative` marks an
entry none of whose names can be found in the PDF's text (pdfplumber), so scoring leaves it out of
recall; it is computed against the PDF actually rendered, whichever renderer made it.
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
        print_pdf(html, pdf)


# --- Built-in renderer (used when --xsl is not given) ------------------------------------------
# A plain stand-in for HL7's CDA.xsl: the title, a header table (patient, encounter, documentation
# of, author), every section and nested section with its narrative block converted element by
# element, and a closing table (document, custodian, patient, organization, encounter, authors,
# authenticators). Stdlib only; the narrative block is what the extractor reads, so it is
# converted faithfully (tables with colspan/rowspan, lists, paragraphs, content, captions,
# footnotes), the header and closing blocks print the fields CDA.xsl prints in a shorter layout.

V3 = "{urn:hl7-org:v3}"
MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
STYLE_CODES = {
    "bold": "font-weight:bold",
    "italics": "font-style:italic",
    "emphasis": "font-style:italic",
    "underline": "text-decoration:underline",
    "lrule": "border-left:1px solid #000",
    "rrule": "border-right:1px solid #000",
    "toprule": "border-top:1px solid #000",
    "botrule": "border-bottom:1px solid #000",
}
LIST_STYLES = {
    "arabic": "decimal",
    "littleroman": "lower-roman",
    "bigroman": "upper-roman",
    "littlealpha": "lower-alpha",
    "bigalpha": "upper-alpha",
    "disc": "disc",
    "circle": "circle",
    "square": "square",
}
# attributes of the narrative block's table elements that HTML understands as they are
CELL_ATTRIBUTES = ("colspan", "rowspan", "align", "valign", "width", "span", "abbr", "scope")
ADDRESS_USE = {
    "H": "Home",
    "HP": "Home Primary",
    "HV": "Vacation Home",
    "WP": "Workplace",
    "DIR": "Direct",
    "PUB": "Public",
    "TMP": "Temporary",
    "BAD": "Bad address",
}
NAME_USE = {
    "L": "Legal",
    "P": "Pseudonym",
    "A": "Artist",
    "I": "Indigenous",
    "R": "Religious",
    "ASGN": "Assigned",
    "C": "License",
    "SRCH": "Search",
    "PHON": "Phonetic",
}
CSS = """
@page { size: letter; }
body { color: #003366; font-family: Verdana, Tahoma, "Liberation Sans", sans-serif;
       font-size: 9pt; line-height: 1.15; }
h1 { font-size: 12pt; text-align: center; margin: 10pt 0 8pt; }
h2 { font-size: 10pt; margin: 10pt 0 4pt; }
h3 { font-size: 9.5pt; margin: 8pt 0 3pt; }
h4 { font-size: 9pt; margin: 6pt 0 2pt; }
p { margin: 3pt 0; }
table { border-collapse: collapse; width: 100%; margin: 3pt 0; }
td, th { padding: 1pt 3pt; vertical-align: top; text-align: left; }
.narrative table th, .narrative table td { border: 0.5pt solid #999; }
.narrative table th { background: #e6e6e6; }
.narrative caption, .caption { font-weight: bold; padding: 2pt 0; }
.header { border: 1pt solid #00008b; margin-bottom: 6pt; }
.header td.label, .closing td.label { background: #d3d3d3; font-weight: bold; width: 17%; }
.header td.value, .closing td.value { background: #f2f2f2; }
.closing { border: 1pt solid #00008b; margin-top: 12pt; }
.footnotes { font-size: 8pt; }
.b { font-weight: bold; }
"""


def _local(element: ET.Element) -> str:
    return element.tag.rsplit("}", 1)[-1] if isinstance(element.tag, str) else ""


def _esc(text: str | None) -> str:
    import html

    return html.escape(text or "", quote=False)


def _attr_esc(text: str) -> str:
    import html

    return html.escape(text, quote=True)


def _text(element: ET.Element | None, path: str) -> str:
    found = find(element, path) if path else element
    return (clean("".join(found.itertext())) or "") if found is not None else ""


def cda_date(value: str | None, with_time: bool = True) -> str:
    """An HL7 TS as CDA.xsl prints it: 20130718111836-0400 -> July 18, 2013, 11:18:36AM -0400."""
    match = re.match(
        r"(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?(?:\.\d+)?([+-]\d{2,4})?", value or ""
    )
    if not match:
        return value or ""
    year, month, day, hour, minute, second, zone = match.groups()
    if not month:
        return year
    name = MONTHS[int(month) - 1] if 1 <= int(month) <= 12 else month
    out = f"{name} {int(day)}, {year}" if day else f"{name} {year}"
    if with_time and hour:
        h = int(hour)
        clock = str(h - 12) if h > 12 else hour  # CDA.xsl keeps the morning's two digits
        if minute and (minute != "00" or (second and second != "00")):
            clock += f":{minute}"
        if second and second != "00":
            clock += f":{second}"
        out += f", {clock}{'AM' if h < 12 else 'PM'}"
        if zone:
            out += f" {zone}"
    return out


def cda_interval(element: ET.Element | None) -> str:
    if element is None:
        return ""
    if element.get("value"):
        return cda_date(element.get("value"))
    low, high = attr(element, "low", "value"), attr(element, "high", "value")
    if low and high:
        return f"from {cda_date(low)} to {cda_date(high)}"
    if low:
        return f"from {cda_date(low)}"
    if high:
        return f"to {cda_date(high)}"
    return ""


def cda_name(element: ET.Element | None) -> str:
    """A PN as CDA.xsl prints it: `Legal: FAMILY Given Suffix` (the family name in capitals)."""
    if element is None:
        return ""
    parts = {"prefix": [], "given": [], "family": [], "suffix": []}
    for part in element:
        kind = _local(part)
        if kind in parts:
            parts[kind].append(clean("".join(part.itertext())) or "")
    if not any(parts.values()):
        return clean("".join(element.itertext())) or ""
    words_ = [
        *parts["prefix"],
        *[f.upper() for f in parts["family"]],
        *parts["given"],
        *parts["suffix"],
    ]
    use = NAME_USE.get((element.get("use") or "").split(" ")[0])
    text = " ".join(w for w in words_ if w)
    return f"{use}: {text}" if use else text


def cda_address(element: ET.Element | None) -> list[str]:
    if element is None:
        return []
    lines = [clean("".join(x.itertext())) for x in element.findall("h:streetAddressLine", NS)]
    city, state, code = (_text(element, part) for part in ("city", "state", "postalCode"))
    place = ", ".join(x for x in (city, " ".join(x for x in (state, code) if x)) if x)
    country = _text(element, "country")
    lines = [x for x in [*lines, place, country] if x]
    if not lines:
        lines = [clean("".join(element.itertext())) or ""]
    use = ADDRESS_USE.get((element.get("use") or "").split(" ")[0])
    if use and lines:
        lines[0] = f"{use}: {lines[0]}"
    return [x for x in lines if x]


def cda_contact(element: ET.Element | None) -> str:
    """The addresses and telecoms of a role, one per line."""
    if element is None:
        return ""
    lines: list[str] = []
    for address in element.findall("h:addr", NS):
        lines += cda_address(address)
    for telecom in element.findall("h:telecom", NS):
        value = telecom.get("value")
        if value:
            use = ADDRESS_USE.get((telecom.get("use") or "").split(" ")[0])
            kind, _, number_ = value.partition(":") if ":" in value else ("tel", "", value)
            label = {"tel": "Tel", "mailto": "e-mail", "fax": "Fax", "http": "Web"}.get(kind, kind)
            lines.append(f"{label}{' ' + use if use else ''}: {number_}")
    return "<br/>".join(_esc(x) for x in lines)


def cda_ids(element: ET.Element | None) -> str:
    if element is None:
        return ""
    out = []
    for ident in element.findall("h:id", NS):
        ext, root = ident.get("extension"), ident.get("root")
        if ext and root:
            out.append(f"{ext} ({root})")
        elif ext or root:
            out.append(ext or root or "")
    return ", ".join(out)


def entity_name(element: ET.Element | None) -> str:
    """A person's (PN) or an organization's (ON) name under this role."""
    if element is None:
        return ""
    for path in (
        "assignedPerson/name",
        "associatedPerson/name",
        "informationRecipient/name",
        "assignedAuthoringDevice/softwareName",
        "assignedAuthoringDevice/manufacturerModelName",
    ):
        found = find(element, path)
        if found is not None:
            return cda_name(found) if path.endswith("/name") else _text(found, "")
    for path in (
        "representedOrganization/name",
        "representedCustodianOrganization/name",
        "receivedOrganization/name",
        "name",
    ):
        found = find(element, path)
        if found is not None:
            return clean("".join(found.itertext())) or ""
    return ""


class NarrativeHTML:
    """A section's narrative block (`<text>`) as HTML, element by element."""

    def __init__(self) -> None:
        self.footnotes: list[str] = []
        self.footnote_ids: dict[str, int] = {}

    def convert(self, text: ET.Element) -> str:
        self.footnotes, self.footnote_ids = [], {}
        body = self.children(text)
        if self.footnotes:
            notes = "".join(f"<div>[{i}] {note}</div>" for i, note in enumerate(self.footnotes, 1))
            body += f'<div class="footnotes">{notes}</div>'
        return body

    def children(self, element: ET.Element) -> str:
        out = [_esc(element.text)]
        for child in element:
            out.append(self.element(child))
            out.append(_esc(child.tail))
        return "".join(out)

    def style(self, element: ET.Element, extra: str = "") -> str:
        styles = [
            STYLE_CODES[c.lower()]
            for c in (element.get("styleCode") or "").split()
            if c.lower() in STYLE_CODES
        ]
        if extra:
            styles.append(extra)
        return f' style="{";".join(styles)}"' if styles else ""

    def cell_attributes(self, element: ET.Element) -> str:
        return "".join(
            f' {name}="{_attr_esc(element.get(name) or "")}"'
            for name in CELL_ATTRIBUTES
            if element.get(name)
        )

    def element(self, element: ET.Element) -> str:  # noqa: C901, PLR0911, PLR0912
        kind = _local(element)
        inner = self.children
        if kind == "content":
            if element.get("revised") == "delete":
                return ""
            return f"<span{self.style(element)}>{inner(element)}</span>"
        if kind == "paragraph":
            return f"<p{self.style(element)}>{inner(element)}</p>"
        if kind == "br":
            return "<br/>"
        if kind in ("sub", "sup"):
            return f"<{kind}>{inner(element)}</{kind}>"
        if kind == "linkHtml":
            return f"<span{self.style(element)}>{inner(element)}</span>"
        if kind == "caption":
            return f'<div class="caption"{self.style(element)}>{inner(element)}</div>'
        if kind == "list":
            ordered = element.get("listType") == "ordered"
            tag = "ol" if ordered else "ul"
            codes = [
                LIST_STYLES[c.lower()]
                for c in (element.get("styleCode") or "").split()
                if c.lower() in LIST_STYLES
            ]
            style = f' style="list-style-type:{codes[0]}"' if codes else ""
            caption = "".join(self.element(c) for c in element if _local(c) == "caption")
            items = "".join(
                f"<li{self.style(c)}>{inner(c)}</li>" for c in element if _local(c) == "item"
            )
            return f"{caption}<{tag}{style}>{items}</{tag}>"
        if kind == "item":  # an item outside a list
            return f"<div>{inner(element)}</div>"
        if kind == "table":
            parts = []
            for child in element:
                name = _local(child)
                if name == "caption":
                    parts.append(f"<caption>{inner(child)}</caption>")
                else:
                    parts.append(self.element(child))
            return f"<table{self.style(element)}>{''.join(parts)}</table>"
        if kind in ("thead", "tbody", "tfoot", "colgroup"):
            rows = "".join(self.element(c) for c in element)
            return f"<{kind}{self.cell_attributes(element)}>{rows}</{kind}>"
        if kind == "col":
            return f"<col{self.cell_attributes(element)}/>"
        if kind == "tr":
            cells = "".join(self.element(c) for c in element)
            return f"<tr{self.style(element)}>{cells}</tr>"
        if kind in ("th", "td"):
            return (
                f"<{kind}{self.cell_attributes(element)}{self.style(element)}>"
                f"{inner(element)}</{kind}>"
            )
        if kind == "footnote":
            self.footnotes.append(inner(element))
            number_ = len(self.footnotes)
            if element.get("ID"):
                self.footnote_ids[element.get("ID") or ""] = number_
            return f"<sup>[{number_}]</sup>"
        if kind == "footnoteRef":
            number_ = self.footnote_ids.get(element.get("IDREF") or "")
            return f"<sup>[{number_}]</sup>" if number_ else ""
        if kind == "renderMultiMedia":
            caption = find(element, "caption")
            return f"<div>{inner(caption)}</div>" if caption is not None else ""
        return f"<span>{inner(element)}</span>"  # anything else: its text


def age(birth: str | None, root: ET.Element) -> str:
    """(65yr): the patient's age when the document was made."""
    created = attr(root, "effectiveTime", "value") or ""
    if not (
        birth
        and len(birth) >= 8
        and len(created) >= 8
        and birth[:8].isdigit()
        and created[:8].isdigit()
    ):
        return ""
    return f" ({int(created[:4]) - int(birth[:4]) - (created[4:8] < birth[4:8])}yr)"


def header_rows(root: ET.Element) -> list[tuple[str, str]]:
    role = find(root, "recordTarget/patientRole")
    patient = find(role, "patient")
    rows: list[tuple[str, str]] = []
    birth = attr(patient, "birthTime", "value")
    gender = attr(patient, "administrativeGenderCode", "displayName") or {
        "M": "Male",
        "F": "Female",
        "UN": "Undifferentiated",
    }.get(attr(patient, "administrativeGenderCode", "code") or "", "")
    rows.append(
        (
            "Patient",
            f"{_esc(cda_name(find(patient, 'name')))} &nbsp; <span class=b>Date of Birth:</span> "
            f"{_esc(cda_date(birth, False))}{age(birth, root)} "
            f"<span class=b>Gender:</span> {_esc(gender)}<br/>"
            f"<span class=b>Patient-ID:</span> {_esc(cda_ids(role))}",
        )
    )
    encounter = find(root, "componentOf/encompassingEncounter")
    if encounter is not None:
        location = entity_name(
            find(encounter, "location/healthCareFacility/serviceProviderOrganization")
        )
        rows.append(
            (
                "Encounter",
                f"<span class=b>ID:</span> {_esc(cda_ids(encounter))}, "
                "<span class=b>Date/Time:</span> "
                f"{_esc(cda_interval(find(encounter, 'effectiveTime')))}"
                + (f", <span class=b>Location:</span> {_esc(location)}" if location else ""),
            )
        )
    for service in root.findall("h:documentationOf/h:serviceEvent", NS):
        what = attr(service, "code", "displayName") or (
            "Care provision"
            if service.get("classCode") == "PCPR"
            else service.get("classCode") or ""
        )
        performers = [
            entity_name(find(p, "assignedEntity")) for p in service.findall("h:performer", NS)
        ]
        rows.append(
            (
                "Documentation Of",
                f"{_esc(what)}, <span class=b>Date/Time:</span> "
                f"{_esc(cda_interval(find(service, 'effectiveTime')))}"
                + "".join(f", <span class=b>Performer:</span> {_esc(p)}" for p in performers),
            )
        )
    for author in root.findall("h:author", NS):
        assigned = find(author, "assignedAuthor")
        organization = entity_name(find(assigned, "representedOrganization"))
        rows.append(
            (
                "Author",
                f"{_esc(entity_name(assigned))}"
                + (
                    f", <span class=b>Organization:</span> {_esc(organization)}"
                    if organization
                    else ""
                )
                + ", <span class=b>Authored On:</span> "
                + _esc(cda_date(attr(author, "time", "value"))),
            )
        )
    return rows


def closing_rows(root: ET.Element) -> list[tuple[str, str, str, str]]:
    """(label, value, label, value) rows of the closing block."""
    rows: list[tuple[str, str, str, str]] = []
    rows.append(
        (
            "Document ID",
            _esc(cda_ids(root)),
            "Created On",
            _esc(cda_date(attr(root, "effectiveTime", "value"))),
        )
    )
    custodian = find(root, "custodian/assignedCustodian/representedCustodianOrganization")
    if custodian is not None:
        rows.append(
            ("Custodian", _esc(entity_name(custodian)), "Contact Details", cda_contact(custodian))
        )
    role = find(root, "recordTarget/patientRole")
    patient = find(role, "patient")
    if role is not None:
        rows.append(
            ("Patient", _esc(cda_name(find(patient, "name"))), "Contact Details", cda_contact(role))
        )
        gender = attr(patient, "administrativeGenderCode", "displayName") or attr(
            patient, "administrativeGenderCode", "code"
        )
        rows.append(
            (
                "Date of Birth",
                _esc(
                    cda_date(attr(patient, "birthTime", "value"), False)
                    + age(attr(patient, "birthTime", "value"), root)
                ),
                "Gender",
                _esc(gender),
            )
        )
        rows.append(
            (
                "Race",
                _esc(attr(patient, "raceCode", "displayName")),
                "Ethnicity",
                _esc(attr(patient, "ethnicGroupCode", "displayName")),
            )
        )
        language = attr(patient, "languageCommunication/languageCode", "code")
        if language and attr(patient, "languageCommunication/preferenceInd", "value") == "true":
            language += ", preferred: yes"
        rows.append(("Patient-IDs", _esc(cda_ids(role)), "Language Communication", _esc(language)))
        provider = find(role, "providerOrganization")
        if provider is not None:
            rows.append(
                (
                    "Provider Organization",
                    _esc(entity_name(provider)),
                    "Contact Details",
                    cda_contact(provider),
                )
            )
    for service in root.findall("h:documentationOf/h:serviceEvent", NS):
        what = attr(service, "code", "displayName") or (
            "care provision"
            if service.get("classCode") == "PCPR"
            else service.get("classCode") or ""
        )
        rows.append(
            ("Documentation Of", _esc(what), "", _esc(cda_interval(find(service, "effectiveTime"))))
        )
        for performer in service.findall("h:performer", NS):
            entity = find(performer, "assignedEntity")
            rows.append(
                ("Performer", _esc(entity_name(entity)), "Contact Details", cda_contact(entity))
            )
    encounter = find(root, "componentOf/encompassingEncounter")
    if encounter is not None:
        rows.append(
            (
                "Encounter ID",
                _esc(cda_ids(encounter)),
                "Encounter Date",
                _esc(cda_interval(find(encounter, "effectiveTime"))),
            )
        )
    for author in root.findall("h:author", NS):
        assigned = find(author, "assignedAuthor")
        rows.append(
            ("Author", _esc(entity_name(assigned)), "Contact Details", cda_contact(assigned))
        )
    for recipient in root.findall("h:informationRecipient/h:intendedRecipient", NS):
        rows.append(
            (
                "Information Recipient",
                _esc(entity_name(recipient)),
                "Contact Details",
                cda_contact(recipient),
            )
        )
    for path, label in (
        ("legalAuthenticator", "Legal Authenticator"),
        ("authenticator", "Authenticator"),
    ):
        for signer in root.findall(f"h:{path}", NS):
            entity = find(signer, "assignedEntity")
            rows.append(
                (
                    label,
                    f"{_esc(entity_name(entity))} signed at "
                    f"{_esc(cda_date(attr(signer, 'time', 'value')))}",
                    "Contact Details",
                    cda_contact(entity),
                )
            )
    return rows


def section_html(section: ET.Element, depth: int, narrative: NarrativeHTML) -> str:
    heading = find(section, "title")
    title = clean("".join(heading.itertext())) if heading is not None else None
    title = title or attr(section, "code", "displayName") or ""
    level = min(2 + depth, 4)
    out = [f"<h{level}>{_esc(title)}</h{level}>"] if title else []
    text = find(section, "text")
    if text is not None:
        out.append(f'<div class="narrative">{narrative.convert(text)}</div>')
    for component in section.findall("h:component/h:section", NS):
        out.append(section_html(component, depth + 1, narrative))
    return "".join(out)


def cda_html(root: ET.Element) -> str:
    """The document as one HTML page: title, header table, sections, closing table."""
    title = find(root, "title")
    title_text = clean("".join(title.itertext())) if title is not None else None
    title_text = title_text or attr(root, "code", "displayName") or "Clinical Document"
    created = cda_date(attr(root, "effectiveTime", "value"))
    out = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'>",
        f"<title>{_esc(title_text)}</title><style>{CSS}</style></head><body>",
        f"<h1>{_esc(title_text)}{f' ({_esc(created)})' if created else ''}</h1>",
        '<table class="header">',
        *(
            f'<tr><td class="label">{label}</td><td class="value">{value}</td></tr>'
            for label, value in header_rows(root)
        ),
        "</table>",
    ]
    narrative = NarrativeHTML()
    body = find(root, "component/structuredBody")
    if body is not None:
        for section in body.findall("h:component/h:section", NS):
            out.append(section_html(section, 0, narrative))
    else:
        out.append("<p>This document has no structured body (nonXMLBody is not shown).</p>")
    out.append('<table class="closing">')
    for label, value, label2, value2 in closing_rows(root):
        out.append(
            f'<tr><td class="label">{_esc(label)}</td><td class="value">{value}</td>'
            f'<td class="label">{_esc(label2)}</td><td class="value">{value2}</td></tr>'
        )
    out.append("</table></body></html>")
    return "\n".join(out)


def print_pdf(html: Path, pdf: Path) -> None:
    """Debian's headless Chromium prints the HTML page to a US Letter PDF."""
    subprocess.run(
        [
            "chromium",
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            f"--print-to-pdf={pdf}",
            "--no-pdf-header-footer",
            html.resolve().as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )


def render_builtin(xml: Path, pdf: Path) -> None:
    """The built-in renderer (no CDA.xsl): cda_html, then Chromium's print-to-PDF."""
    root = ET.parse(xml).getroot()
    with tempfile.TemporaryDirectory() as scratch:
        html = Path(scratch) / f"{xml.stem}.html"
        html.write_text(cda_html(root), encoding="utf-8")
        print_pdf(html, pdf)


RENDERER_XSL = (
    "HL7/CDA-core-xsl CDA.xsl (useJavascript=false) via xsltproc, then headless "
    "Chromium print-to-PDF (US Letter)"
)
RENDERER_GIVEN = "PDFs given with --pdf-dir, not rendered by bench/ccda_prepare.py"
RENDERER_BUILTIN = (
    "bench/ccda_prepare.py built-in renderer (stdlib, no CDA.xsl), then headless "
    "Chromium print-to-PDF (US Letter)"
)


def xsl_renderer(xsl: Path) -> str:
    """The stylesheet that printed the PDFs as its header comment names it ('Version: 3.0' in
    the Lantana CDA.xsl the SMART samples ship): layouts differ between CDA.xsl versions."""
    head = (xsl / "CDA.xsl").read_text(encoding="utf-8", errors="replace")[:4000]
    version = re.search(r"\bVersion:[ \t]*([\w.-]+)", head)
    stated = f"version {version[1]}" if version else "version not stated"
    return (
        f"CDA.xsl ({stated}) from {xsl.name}/ (useJavascript=false) via xsltproc, then "
        "headless Chromium print-to-PDF (US Letter)"
    )


def gold(xml: Path, pdf: Path, source: dict, renderer: str = RENDERER_XSL) -> dict:
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
        "renderer": renderer,
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
    parser.add_argument(
        "--xsl",
        type=Path,
        help="folder with CDA.xsl and cda_l10n.xml "
        "(without it, and without --pdf-dir: the built-in renderer)",
    )
    parser.add_argument("--pdf-dir", type=Path, help="take <stem>.pdf from here, do not render")
    parser.add_argument("--sources", type=Path, help="JSON {stem: {source_path, ...}}")
    parser.add_argument(
        "--html",
        action="store_true",
        help="also keep the built-in renderer's <stem>.html in OUT_DIR",
    )
    args = parser.parse_args(argv)
    if args.xsl is not None and args.pdf_dir is not None:
        parser.error("give at most one of --xsl and --pdf-dir")
    sources = json.loads(args.sources.read_text(encoding="utf-8")) if args.sources else {}
    args.out_dir.mkdir(parents=True, exist_ok=True)
    for xml in sorted(args.xml_dir.glob("*.xml")):
        if args.pdf_dir:
            pdf = args.pdf_dir / f"{xml.stem}.pdf"
            renderer = RENDERER_GIVEN
        elif args.xsl:
            pdf = args.out_dir / f"{xml.stem}.pdf"
            render(xml, pdf, args.xsl)
            renderer = xsl_renderer(args.xsl)
        else:
            pdf = args.out_dir / f"{xml.stem}.pdf"
            render_builtin(xml, pdf)
            renderer = RENDERER_BUILTIN
            if args.html:
                (args.out_dir / f"{xml.stem}.html").write_text(
                    cda_html(ET.parse(xml).getroot()), encoding="utf-8"
                )
        result = gold(xml, pdf, sources.get(xml.stem, {}), renderer)
        (args.out_dir / f"{xml.stem}.gold.json").write_text(
            json.dumps(result, indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        coverage = result["coverage"]
        print(f"{xml.stem}: {coverage['entries']} entries, {coverage['in_pdf']} in the PDF")
    return 0


if __name__ == "__main__":
    sys.exit(main())
