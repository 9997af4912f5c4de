"""The evidence viewer: one self-contained HTML page per document showing why its bundle says what
it says.

The document text is shown page by page with every grounded fact highlighted at its offsets
(colour by fact type, a badge for a non-present assertion, a marker for review flags); beside it,
the FHIR resource each fact became (type, id, codes, status) and the facts left out of the bundle
with the reason. Each highlight is a `<mark>` with `data-fact-id`, `data-offset` and `data-length`
(offsets into `document_text`), and its text content is exactly that slice of the text.

Facts may share or nest spans (the offline provider quotes a whole sentence for each finding in
it), which nested `<mark>`s show. Two spans that cross cannot both be one element of the same
tree, so highlights are placed in layers: each layer holds spans that nest or are disjoint, and the
layers after the first are the same text drawn transparently over the first (same font and
wrapping, so the characters line up). Page starts are empty elements whose label is CSS generated
content, so no element's text includes anything that is not the document's.

The page shows PHI (the document's text) and is written only into `documents/<doc_id>/`. Every
piece of text is HTML-escaped; there is no external resource, so it works from the file system.
"""

import html
from dataclasses import dataclass
from typing import Any

from medpipeline.extraction.schema import (
    PATIENT_LIST,
    Assertion,
    DocumentExtraction,
    Evidence,
    Fact,
    fact_id,
    iter_facts,
)
from medpipeline.fhir.bundle import MappedFact
from medpipeline.fhir.elements import observation_value
from medpipeline.review import DocumentReview, ReviewReason

EVIDENCE_FILE = "evidence.html"
NOT_THE_PATIENTS = {
    Assertion.NEGATED: "negated in the text",
    Assertion.FAMILY: "a family member's, not the patient's",
    Assertion.HYPOTHETICAL: "hypothetical (an instruction or a possibility, not a finding)",
}
KIND_COLOURS = {
    "patient": "rgba(0, 150, 136, .28)",
    "encounters": "rgba(120, 120, 120, .28)",
    "conditions": "rgba(229, 57, 53, .26)",
    "medications": "rgba(30, 136, 229, .26)",
    "allergies": "rgba(251, 140, 0, .32)",
    "observations": "rgba(67, 160, 71, .28)",
    "procedures": "rgba(142, 36, 170, .24)",
    "immunizations": "rgba(0, 172, 193, .26)",
}
# Where a resource keeps its main code, by resource type.
_CODE_FIELDS = ("code", "medicationCodeableConcept", "vaccineCode", "type")
_SYSTEM_NAMES = {
    "http://hl7.org/fhir/sid/icd-10-cm": "ICD-10-CM",
    "http://loinc.org": "LOINC",
    "http://snomed.info/sct": "SNOMED",
    "http://www.nlm.nih.gov/research/umls/rxnorm": "RxNorm",
    "http://unitsofmeasure.org": "UCUM",
}
# What a provider proposed that terminology checks may drop, by fact type.
_PROPOSED_CODES = {
    "conditions": ("icd10_code",),
    "observations": ("loinc_code", "unit"),
    "medications": ("dose_unit",),
}


@dataclass(frozen=True)
class Highlight:
    fact_id: str
    kind: str
    offset: int
    length: int
    assertion: str | None
    flags: tuple[str, ...]

    @property
    def end(self) -> int:
        return self.offset + self.length

    def crosses(self, other: "Highlight") -> bool:
        """Overlapping without one containing the other."""
        return (
            self.offset < other.offset < self.end < other.end
            or other.offset < self.offset < other.end < self.end
        )


@dataclass(frozen=True)
class ResourceSummary:
    resource_type: str
    resource_id: str
    codes: tuple[str, ...]
    status: str
    value: str | None


def fact_label(kind: str, fact: Fact) -> str:
    """What a clinician would call the fact: the finding's name, the result with its value."""
    data = fact.model_dump()
    if kind == "patient":
        return data.get("name") or "patient"
    if kind == "allergies":
        return "no known allergies" if data.get("no_known_allergies") else data["substance"] or "?"
    if kind == "observations":
        value = data.get("value_text") or (
            data.get("value") if data.get("value") is not None else ""
        )
        return " ".join(str(part) for part in (data["name"], value, data.get("unit") or "") if part)
    if kind == "encounters":
        return data.get("type_text") or f"{data.get('encounter_class')} encounter"
    return data.get("text") or kind


def summarize_resource(full_url: str, resource: dict[str, Any]) -> ResourceSummary:
    codes = []
    for field in _CODE_FIELDS:
        concepts = resource.get(field)
        for concept in concepts if isinstance(concepts, list) else [concepts]:
            if not isinstance(concept, dict):
                continue
            for coding in concept.get("coding", []):
                system = _SYSTEM_NAMES.get(coding.get("system", ""), coding.get("system", ""))
                display = f" {coding['display']}" if coding.get("display") else ""
                codes.append(f"{system} {coding.get('code', '')}{display}")
            if concept.get("text") and not concept.get("coding"):
                codes.append(f"text only: {concept['text']}")
    status = [resource["status"]] if isinstance(resource.get("status"), str) else []
    for field in ("clinicalStatus", "verificationStatus"):
        for coding in (resource.get(field) or {}).get("coding", []):
            status.append(f"{field.removesuffix('Status')}: {coding.get('code')}")
    value = observation_value(resource)
    return ResourceSummary(
        resource_type=resource["resourceType"],
        resource_id=full_url.removeprefix("urn:uuid:"),
        codes=tuple(codes),
        status=", ".join(status) or "—",
        value=value,
    )


def assign_layers(highlights: list[Highlight]) -> list[list[Highlight]]:
    """Greedy layering: a span goes into the first layer where it crosses no span."""
    layers: list[list[Highlight]] = []
    for highlight in sorted(highlights, key=lambda h: (h.offset, -h.length, h.fact_id)):
        for layer in layers:
            if not any(highlight.crosses(placed) for placed in layer):
                layer.append(highlight)
                break
        else:
            layers.append([highlight])
    return layers or [[]]


def _mark_open(highlight: Highlight) -> str:
    attributes = {
        "class": f"fact k-{highlight.kind}",
        "data-fact-id": highlight.fact_id,
        "data-kind": highlight.kind,
        "data-offset": str(highlight.offset),
        "data-length": str(highlight.length),
        "tabindex": "0",
    }
    if highlight.assertion:
        attributes["data-assertion"] = highlight.assertion
    if highlight.flags:
        attributes["data-flags"] = " ".join(highlight.flags)
    rendered = " ".join(f'{name}="{html.escape(value)}"' for name, value in attributes.items())
    return f"<mark {rendered}>"


def render_layer(text: str, page_offsets: list[int], layer: list[Highlight]) -> str:
    """The whole text with this layer's (nested or disjoint) highlights and the page starts."""
    out: list[str] = []
    pages = iter(enumerate(page_offsets, start=1))
    next_page = next(pages, None)
    position = 0

    def emit(until: int) -> None:
        nonlocal position, next_page
        while next_page is not None and next_page[1] <= until:
            number, start = next_page
            out.append(html.escape(text[position:start]))
            out.append(f'<span class="page-start" data-page="{number}"></span>')
            position = max(position, start)
            next_page = next(pages, None)
        out.append(html.escape(text[position:until]))
        position = until

    open_marks: list[Highlight] = []
    for highlight in sorted(layer, key=lambda h: (h.offset, -h.length, h.fact_id)):
        while open_marks and open_marks[-1].end <= highlight.offset:
            emit(open_marks.pop().end)
            out.append("</mark>")
        emit(highlight.offset)
        out.append(_mark_open(highlight))
        open_marks.append(highlight)
    while open_marks:
        emit(open_marks.pop().end)
        out.append("</mark>")
    emit(len(text))
    return "".join(out)


def _cell(value: object) -> str:
    return f"<td>{html.escape(str(value))}</td>"


def _resource_card(
    fid: str,
    label: str,
    kind: str,
    summary: ResourceSummary | None,
    left_out: str | None,
    flags: list[str],
) -> str:
    """What the panel shows when the fact is clicked: its resource, or why there is none."""
    head = f"<h3>{html.escape(label)} <small>({html.escape(kind)})</small></h3>"
    if summary is None:
        body = f'<p class="left-out">Not in the bundle: {html.escape(left_out or "")}</p>'
    else:
        codes = "".join(f"<li>{html.escape(code)}</li>" for code in summary.codes) or "<li>—</li>"
        value = f"<dt>value</dt><dd>{html.escape(summary.value)}</dd>" if summary.value else ""
        review = f"<dt>review</dt><dd>{html.escape(', '.join(flags))}</dd>" if flags else ""
        body = (
            f'<dl><dt>resource</dt><dd class="resource-type">'
            f"{html.escape(summary.resource_type)}</dd>"
            f'<dt>id</dt><dd class="resource-id">{html.escape(summary.resource_id)}</dd>'
            f"<dt>codes</dt><dd><ul>{codes}</ul></dd>"
            f'<dt>status</dt><dd class="resource-status">{html.escape(summary.status)}</dd>'
            f"{value}{review}</dl>"
        )
    return f'<div class="card" data-card-for="{html.escape(fid)}" hidden>{head}{body}</div>'


def _review_flags(review: DocumentReview) -> dict[str, list[str]]:
    """Review reasons (with their code detail) per fact id, from the document's review queue."""
    flags: dict[str, list[str]] = {}
    for item in review.items:
        if item.fact_list is None or item.fact_index is None or item.set_aside:
            continue
        flag = f"{item.reason.value}:{item.detail}" if item.detail else item.reason.value
        flags.setdefault(fact_id(item.fact_list, item.fact_index), []).append(flag)
    return flags


def _resource_urls(bundle: dict[str, Any], mapped_facts: list[MappedFact]) -> dict[str, str]:
    """fullUrl of the resource carrying each fact (the patient: the bundle's Patient)."""
    urls = {fact_id(m.fact_list, m.fact_index): m.full_url for m in mapped_facts if m.full_url}
    for entry in bundle.get("entry", []):
        if entry["resource"]["resourceType"] == "Patient":
            urls[fact_id(PATIENT_LIST, 0)] = entry["fullUrl"]
    return urls


def _where(evidence: Evidence | None) -> str:
    """The page of a fact; a fact read from a page image has no span in the text to highlight."""
    if evidence is None:
        return "ungrounded"
    return f"{evidence.page} (page image)" if evidence.offset is None else str(evidence.page)


def render_evidence(
    *,
    doc_id: str,
    text: str,
    page_offsets: list[int],
    extraction: DocumentExtraction,
    bundle: dict[str, Any],
    mapped_facts: list[MappedFact],
    review: DocumentReview,
    document_type: str | None = None,
) -> str:
    """The evidence page of one document (a complete HTML document)."""
    resources = {entry["fullUrl"]: entry["resource"] for entry in bundle.get("entry", [])}
    resource_urls = _resource_urls(bundle, mapped_facts)
    review_flags = _review_flags(review)
    highlights, rows, cards, left_out_rows = [], [], [], []
    for kind, index, fact in iter_facts(extraction):
        fid, label = fact_id(kind, index), fact_label(kind, fact)
        url = resource_urls.get(fid)
        summary = summarize_resource(url, resources[url]) if url in resources else None
        assertion = getattr(fact, "assertion", None)
        flags = review_flags.get(fid, [])
        evidence = fact.evidence
        left_out = None
        if summary is None:
            left_out = NOT_THE_PATIENTS.get(assertion, "not mapped to a resource")
            left_out_rows.append((fid, label, kind, left_out))
        if evidence is not None and evidence.offset is not None:  # not read from a page image
            highlights.append(
                Highlight(
                    fact_id=fid,
                    kind=kind,
                    offset=evidence.offset,
                    length=evidence.length,
                    assertion=assertion.value
                    if assertion and assertion != Assertion.PRESENT
                    else None,
                    flags=tuple(flags),
                )
            )
        if any(flag.startswith(ReviewReason.CODE_DROPPED.value) for flag in flags):
            proposed = ", ".join(
                f"{name} '{getattr(fact, name)}'"
                for name in _PROPOSED_CODES.get(kind, ())
                if getattr(fact, name, None)
            )
            reason = f"a proposed code is not in its code system, kept as text: {proposed}"
            left_out_rows.append((fid, label, kind, reason))
        rows.append(
            '<tr data-for="{}">{}{}{}{}{}{}{}</tr>'.format(
                html.escape(fid),
                _cell(label),
                _cell(kind),
                _cell(assertion.value if assertion else ""),
                _cell(_where(evidence)),
                _cell(summary.resource_type if summary else "left out"),
                _cell(summary.status if summary else left_out),
                _cell(", ".join(flags)),
            )
        )
        cards.append(_resource_card(fid, label, kind, summary, left_out, flags))
    for kind, _, fact in iter_facts(extraction.ungrounded):
        reason = "quote not found in the text (ungrounded)"
        left_out_rows.append(("", fact_label(kind, fact), kind, reason))

    layers = assign_layers(highlights)
    text_layers = "".join(
        (f'<pre class="layer overlay" data-layer="{number}" aria-hidden="true">' if number
         else '<pre class="layer" data-layer="0">')
        + f"{render_layer(text, page_offsets, layer)}</pre>"
        for number, layer in enumerate(layers)
    )  # fmt: skip
    left_out_html = "".join(
        f'<tr data-for="{html.escape(fid)}">{_cell(label)}{_cell(kind)}{_cell(reason)}</tr>'
        for fid, label, kind, reason in left_out_rows
    )
    legend = "".join(
        f'<span class="key k-{kind}">{html.escape(kind)}</span>' for kind in KIND_COLOURS
    )
    colours = "\n".join(
        f"mark.k-{k}, .key.k-{k} {{ background: {c}; }}" for k, c in KIND_COLOURS.items()
    )
    summary_line = (
        f"{len(highlights)} grounded facts, {len(resource_urls)} in resources, "
        f"{len(left_out_rows)} left out; {len(page_offsets)} pages"
        + (f"; {document_type}" if document_type else "")
        + f"; providers: {', '.join(extraction.providers) or 'none'}"
    )
    return _PAGE.format(
        doc_id=html.escape(doc_id),
        colours=colours,
        summary=html.escape(summary_line),
        legend=legend,
        layers=text_layers,
        cards="".join(cards),
        rows="".join(rows) or '<tr><td colspan="7">no facts</td></tr>',
        left_out=left_out_html or '<tr><td colspan="3">nothing left out</td></tr>',
    )


_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy"
  content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
<title>Evidence: document {doc_id}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 0; color: #222; }}
header {{ padding: .6em 1.2em; background: #f1f4f9; border-bottom: 1px solid #d5dbe5; }}
header h1 {{ font-size: 1.2em; margin: 0 0 .2em; }}
.key {{ display: inline-block; padding: 0 .5em; margin-right: .4em; border-radius: 3px; }}
main {{ display: flex; gap: 1em; padding: 1em; align-items: flex-start; }}
#text {{ flex: 1 1 55%; position: relative; min-width: 0; }}
pre.layer {{ font: 13px/1.9 ui-monospace, "DejaVu Sans Mono", monospace; white-space: pre-wrap;
  overflow-wrap: anywhere; margin: 0; padding: 0; display: flow-root; }}
pre.overlay {{ position: absolute; inset: 0; color: transparent; pointer-events: none; }}
pre.overlay mark {{ pointer-events: auto; color: transparent; }}
.page-start::before {{ content: "Page " attr(data-page); display: block; margin: .8em 0 .3em;
  color: #667; border-top: 1px solid #c8ced8; font: 600 11px system-ui, sans-serif; }}
mark {{ color: inherit; padding: 0; position: relative; cursor: pointer; border-radius: 2px; }}
{colours}
mark[data-assertion="negated"], mark[data-assertion="family"],
mark[data-assertion="hypothetical"] {{ text-decoration: line-through rgba(0, 0, 0, .35); }}
mark[data-assertion]::after {{ content: attr(data-assertion); position: absolute; left: 0;
  top: -1.1em; font: 600 9px/1.2 system-ui, sans-serif; color: #fff; background: #555;
  padding: 0 .3em; border-radius: 3px; white-space: nowrap; pointer-events: none; }}
mark[data-flags] {{ outline: 1px dashed #c62828; }}
mark.selected {{ outline: 2px solid #1a237e; }}
aside {{ flex: 1 1 45%; min-width: 0; position: sticky; top: 0; max-height: 100vh;
  overflow: auto; font-size: 13px; }}
#selected {{ border: 1px solid #c8ced8; border-radius: 6px; padding: .4em .8em;
  margin-bottom: 1em; background: #fafbfd; }}
.card h3 {{ margin: .3em 0; font-size: 1em; }} dl {{ display: grid;
  grid-template-columns: max-content 1fr; gap: .1em .8em; margin: 0; }}
dt {{ color: #667; }} dd {{ margin: 0; overflow-wrap: anywhere; }} ul {{ margin: 0;
  padding-left: 1em; }}
table {{ border-collapse: collapse; width: 100%; }} td, th {{ padding: .15em .4em;
  border-bottom: 1px solid #e3e6ec; text-align: left; vertical-align: top; }}
tr[data-for] {{ cursor: pointer; }} tr.selected {{ background: #e8eaf6; }}
</style></head><body>
<header><h1>Evidence for document {doc_id}</h1>
<div>{summary}</div><div>{legend} <span class="key" style="outline: 1px dashed #c62828">
review flag</span> Click a highlight or a row to see the FHIR resource it became.</div></header>
<main>
<section id="text" aria-label="document text">{layers}</section>
<aside>
<section id="selected" aria-live="polite"><p>Click a highlight.</p>{cards}</section>
<h2>Facts and their resources</h2>
<table id="facts"><tr><th>fact</th><th>type</th><th>assertion</th><th>page</th>
<th>resource</th><th>status</th><th>review</th></tr>{rows}</table>
<h2>Left out of the bundle</h2>
<table id="left-out"><tr><th>fact</th><th>type</th><th>reason</th></tr>{left_out}</table>
</aside></main>
<script>
(function () {{
  function select(factIds) {{
    document.querySelectorAll(".selected").forEach(function (el) {{
      el.classList.remove("selected"); }});
    document.querySelectorAll("#selected .card").forEach(function (card) {{
      card.hidden = factIds.indexOf(card.dataset.cardFor) < 0; }});
    document.querySelector("#selected p").hidden = factIds.length > 0;
    factIds.forEach(function (id) {{
      document.querySelectorAll('[data-fact-id="' + id + '"], tr[data-for="' + id + '"]')
        .forEach(function (el) {{ el.classList.add("selected"); }});
    }});
  }}
  document.getElementById("text").addEventListener("click", function (event) {{
    var ids = [], el = event.target.closest("mark[data-fact-id]");
    while (el) {{
      ids.push(el.dataset.factId);
      el = el.parentElement.closest("mark[data-fact-id]");
    }}
    if (ids.length) select(ids);
  }});
  document.querySelectorAll("tr[data-for]").forEach(function (row) {{
    row.addEventListener("click", function () {{
      if (!row.dataset.for) return;
      select([row.dataset.for]);
      var mark = document.querySelector('mark[data-fact-id="' + row.dataset.for + '"]');
      if (mark) mark.scrollIntoView({{block: "center"}});
    }});
  }});
}})();
</script>
</body></html>
"""
