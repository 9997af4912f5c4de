"""FHIR R4 validation of plain JSON dicts, with issue messages that never carry resource values.

Two validators look at every resource, because each catches what the other misses:
- `fhir.resources` (R4B pydantic models): datatypes, cardinality, primitive formats, unknown fields;
  it does not check code values against their required value sets.
- HL7's R4 JSON Schema (`fhir.r4.schema.json`, Draft 6): required codes (enums), unknown fields,
  required fields; it does not check integers are whole numbers.
Invariants neither checks are checked here: in a Bundle, unique fullUrls (bdl-7), every
`urn:uuid:` reference resolves, transaction and batch entries carry a request (bdl-3); in every
resource, obs-6 (no dataAbsentReason beside a value), obs-7 (no component code equal to the
Observation's code when it has a value), dom-2/3/4/5 (contained resources: not nested, referenced,
no versionId/lastUpdated/security) and txt-2 (narrative has non-whitespace content).

Messages name the JSON path and the validator keyword or error type only: values can be PHI.
"""

import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from importlib.resources import files
from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from jsonschema import Draft6Validator
from jsonschema.exceptions import ValidationError as SchemaError
from pydantic import BaseModel
from pydantic import ValidationError as ModelError
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT6

SCHEMA_URI = "http://hl7.org/fhir/json-schema/4.0"
_SCHEMA_FILE = "fhir.r4.schema.json"
_URN_UUID = "urn:uuid:"
_SAFE_FULL_URL = re.compile(r"urn:uuid:[0-9a-fA-F-]{36}")
_SAFE_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
_UNSAFE_KEY = "<key>"
_UNKNOWN_TYPE = "<unknown>"

_SCHEMA_KEYWORD_MESSAGES = {
    "enum": "value not in allowed codes",
    "const": "value differs from the required constant",
    "type": "value has the wrong JSON type",
    "pattern": "value does not match the datatype's pattern",
    "oneOf": "value matches none of the allowed types",
    "anyOf": "value matches none of the allowed types",
    "minItems": "array has too few items",
    "maxItems": "array has too many items",
    "minLength": "string is too short",
    "maxLength": "string is too long",
}
_MODEL_ERROR_MESSAGES = {
    "missing": "required field missing",
    "model_field_validation.missing": "required field missing",
    "extra_forbidden": "unknown field",
    "value_error": "value does not match its FHIR datatype",
    "string_type": "expected a string",
    "list_type": "expected an array",
    "dict_type": "expected an object",
    "model_type": "expected an object",
    "bool_type": "expected a boolean",
    "bool_parsing": "expected a boolean",
    "int_type": "expected an integer",
    "int_parsing": "expected an integer",
    "int_from_float": "expected an integer",
    "float_type": "expected a number",
    "float_parsing": "expected a number",
    "decimal_type": "expected a number",
    "decimal_parsing": "expected a number",
    "less_than_equal": "number out of range",
    "greater_than_equal": "number out of range",
}


class IssueSource(StrEnum):
    FHIR_RESOURCES = "fhir.resources"
    JSON_SCHEMA = "json-schema"
    INVARIANT = "invariant"


class ValidationIssue(BaseModel):
    """One problem found; `path` is FHIRPath-like, e.g. `Condition.clinicalStatus.coding[0]`."""

    resource_type: str
    entry_index: int | None = None
    full_url: str | None = None
    source: IssueSource
    path: str
    message: str


@dataclass(frozen=True)
class _Location:
    """Where issues of one resource are reported: its type and, inside a bundle, its entry."""

    resource_type: str
    entry_index: int | None = None
    full_url: str | None = None

    def issue(self, source: IssueSource, segments: Sequence[Any], message: str) -> ValidationIssue:
        path = _fhir_path(self.resource_type, segments)
        return ValidationIssue(
            resource_type=self.resource_type,
            entry_index=self.entry_index,
            full_url=self.full_url,
            source=source,
            path=path,
            message=f"{message} at {path}",
        )


def validate_resource(resource: dict[str, Any]) -> list[ValidationIssue]:
    """Validate one resource (not inside a bundle) with fhir.resources and the JSON Schema."""
    location = _Location(_resource_type_of(resource))
    if location.resource_type == _UNKNOWN_TYPE:
        return [_unknown_type_issue(location)]
    model_issues = _model_issues(resource, location, entry_locations={})
    return model_issues + _schema_issues(resource, location) + _invariant_issues(resource, location)


def validate_bundle(bundle: dict[str, Any]) -> list[ValidationIssue]:
    """Validate a Bundle: the model, the JSON Schema of its shell and of each entry, invariants."""
    location = _Location("Bundle")
    if _resource_type_of(bundle) != "Bundle":
        return [location.issue(IssueSource.INVARIANT, ["resourceType"], "not a Bundle")]
    entries = _entries(bundle)
    entry_locations = {index: _entry_location(index, entry) for index, entry in entries}
    issues = _model_issues(bundle, location, entry_locations)
    issues += _schema_issues(_bundle_shell(bundle), location)
    for index, entry in entries:
        issues += _entry_resource_issues(entry, entry_locations[index])
    issues += _duplicate_full_url_issues(entries, entry_locations)
    issues += _dangling_reference_issues(entries, entry_locations)
    issues += _request_issues(bundle, entries, entry_locations)
    return issues


def _entries(bundle: dict[str, Any]) -> list[tuple[int, dict[str, Any]]]:
    """The bundle's entries that are objects, with their index (the model reports the others)."""
    entry = bundle.get("entry", [])
    if not isinstance(entry, list):
        return []
    return [(index, item) for index, item in enumerate(entry) if isinstance(item, dict)]


def _entry_location(index: int, entry: dict[str, Any]) -> _Location:
    full_url = entry.get("fullUrl")
    is_safe = isinstance(full_url, str) and _SAFE_FULL_URL.fullmatch(full_url) is not None
    safe_full_url = full_url if is_safe else None
    return _Location(_resource_type_of(entry.get("resource")), index, safe_full_url)


def _entry_resource_issues(entry: dict[str, Any], location: _Location) -> list[ValidationIssue]:
    if "resource" not in entry:
        return []
    if location.resource_type == _UNKNOWN_TYPE:
        return [_unknown_type_issue(location)]
    resource = entry["resource"]
    return _schema_issues(resource, location) + _invariant_issues(resource, location)


def _bundle_shell(bundle: dict[str, Any]) -> dict[str, Any]:
    """The bundle without its entries' resources, which are validated one by one against their
    own definition (the schema's generic `ResourceList` is slow and its errors say nothing)."""
    entries = bundle.get("entry")
    if not isinstance(entries, list):
        return bundle
    shell_entries = [
        {key: value for key, value in entry.items() if key != "resource"}
        if isinstance(entry, dict)
        else entry
        for entry in entries
    ]
    return {**bundle, "entry": shell_entries}


# --- fhir.resources -------------------------------------------------------------------------


def _model_issues(
    resource: dict[str, Any], location: _Location, entry_locations: dict[int, _Location]
) -> list[ValidationIssue]:
    model_class = get_fhir_model_class(location.resource_type)
    try:
        model_class.model_validate(resource)
    except ModelError as error:
        return [
            _model_error_issue(detail["loc"], detail["type"], location, entry_locations)
            for detail in error.errors(include_input=False, include_url=False)
        ]
    except (KeyError, TypeError, ValueError) as error:
        # fhir.resources raises a bare KeyError (quoting the value) for an unknown resourceType.
        message = f"fhir.resources failed with {type(error).__name__}"
        return [location.issue(IssueSource.FHIR_RESOURCES, [], message)]
    return []


def _model_error_issue(
    loc: tuple[str | int, ...],
    error_type: str,
    location: _Location,
    entry_locations: dict[int, _Location],
) -> ValidationIssue:
    description = _MODEL_ERROR_MESSAGES.get(error_type, "invalid value")
    message = f"{description} (error type '{error_type}')"
    match loc:
        case ("entry", int(index), "resource", *rest) if index in entry_locations:
            return entry_locations[index].issue(IssueSource.FHIR_RESOURCES, rest, message)
    return location.issue(IssueSource.FHIR_RESOURCES, loc, message)


# --- JSON Schema ----------------------------------------------------------------------------


@cache
def _schema() -> dict[str, Any]:
    text = files("medpipeline.fhir").joinpath(_SCHEMA_FILE).read_text(encoding="utf-8")
    return json.loads(text)


@cache
def _schema_registry() -> Registry:
    resource = Resource.from_contents(_schema(), default_specification=DRAFT6)
    return Registry().with_resource(SCHEMA_URI, resource)


@cache
def _known_resource_types() -> frozenset[str]:
    return frozenset(_schema()["discriminator"]["mapping"])


@cache
def _schema_validator(resource_type: str) -> Draft6Validator:
    """A validator for one resource type, resolving `#/definitions/...` in the whole schema."""
    root = {"$ref": f"{SCHEMA_URI}#/definitions/{resource_type}"}
    return Draft6Validator(root, registry=_schema_registry())


def _schema_issues(resource: dict[str, Any], location: _Location) -> list[ValidationIssue]:
    validator = _schema_validator(location.resource_type)
    return [
        location.issue(IssueSource.JSON_SCHEMA, error.absolute_path, _schema_error_message(error))
        for error in validator.iter_errors(resource)
    ]


def _schema_error_message(error: SchemaError) -> str:
    """Describe a schema error from its keyword and the schema alone, never from the instance."""
    keyword = str(error.validator)
    if keyword == "required":
        missing = [name for name in error.validator_value if name not in error.instance]
        description = f"required field missing: {', '.join(missing)}"
    elif keyword == "additionalProperties":
        known = set(error.schema.get("properties", {}))
        unknown = sorted(_safe_key(name) for name in error.instance if name not in known)
        description = f"unknown field: {', '.join(unknown)}"
    else:
        description = _SCHEMA_KEYWORD_MESSAGES.get(keyword, "value breaks a schema rule")
    return f"{description} (keyword '{keyword}')"


# --- bundle invariants ----------------------------------------------------------------------


def _duplicate_full_url_issues(
    entries: list[tuple[int, dict[str, Any]]], entry_locations: dict[int, _Location]
) -> list[ValidationIssue]:
    first_index_of: dict[str, int] = {}
    issues = []
    for index, entry in entries:
        full_url = entry.get("fullUrl")
        if not isinstance(full_url, str):
            continue
        if full_url in first_index_of:
            message = f"fullUrl duplicates the one of entry[{first_index_of[full_url]}]"
            issues.append(entry_locations[index].issue(IssueSource.INVARIANT, [], message))
        else:
            first_index_of[full_url] = index
    return issues


def _dangling_reference_issues(
    entries: list[tuple[int, dict[str, Any]]], entry_locations: dict[int, _Location]
) -> list[ValidationIssue]:
    full_urls = {entry.get("fullUrl") for _, entry in entries}
    message = "urn:uuid reference resolves to no entry's fullUrl"
    return [
        entry_locations[index].issue(IssueSource.INVARIANT, segments, message)
        for index, entry in entries
        for segments, reference in _references(entry.get("resource"), [])
        if reference.startswith(_URN_UUID) and reference not in full_urls
    ]


def _references(node: Any, segments: list[Any]) -> Iterator[tuple[list[Any], str]]:
    """Every string `reference` element anywhere in a resource, with its path segments."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "reference" and isinstance(value, str):
                yield [*segments, key], value
            else:
                yield from _references(value, [*segments, key])
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from _references(item, [*segments, index])


def _request_issues(
    bundle: dict[str, Any],
    entries: list[tuple[int, dict[str, Any]]],
    entry_locations: dict[int, _Location],
) -> list[ValidationIssue]:
    """bdl-3: every entry of a transaction or batch has a request."""
    if bundle.get("type") not in ("transaction", "batch"):
        return []
    message = "entry of a transaction or batch has no request (bdl-3)"
    return [
        entry_locations[index].issue(IssueSource.INVARIANT, [], message)
        for index, entry in entries
        if not isinstance(entry.get("request"), dict)
    ]


# --- resource invariants ----------------------------------------------------------------------

_VALUE_PREFIX = "value"


def _invariant_issues(resource: Any, location: _Location) -> list[ValidationIssue]:
    """FHIR invariants of one resource (and its contained resources) that neither validator runs."""
    if not isinstance(resource, dict):
        return []
    issues = _narrative_issues(resource, location, [])
    if resource.get("resourceType") == "Observation":
        issues += _observation_issues(resource, location)
    issues += _contained_issues(resource, location)
    return issues


def _has_value(node: dict[str, Any]) -> bool:
    return any(
        key.startswith(_VALUE_PREFIX) and key[len(_VALUE_PREFIX) :][:1].isupper() for key in node
    )


def _codings(concept: Any) -> set[tuple[Any, Any]]:
    if not isinstance(concept, dict) or not isinstance(concept.get("coding"), list):
        return set()
    return {
        (coding.get("system"), coding.get("code"))
        for coding in concept["coding"]
        if isinstance(coding, dict)
    }


def _observation_issues(resource: dict[str, Any], location: _Location) -> list[ValidationIssue]:
    issues = []
    if "dataAbsentReason" in resource and _has_value(resource):
        message = "dataAbsentReason present beside a value (obs-6)"
        issues.append(location.issue(IssueSource.INVARIANT, ["dataAbsentReason"], message))
    components = resource.get("component")
    if _has_value(resource) and isinstance(components, list):
        own = _codings(resource.get("code"))
        for index, component in enumerate(components):
            if isinstance(component, dict) and own & _codings(component.get("code")):
                message = "component code equals the Observation code beside a value (obs-7)"
                segments = ["component", index, "code"]
                issues.append(location.issue(IssueSource.INVARIANT, segments, message))
    return issues


def _narrative_issues(
    resource: dict[str, Any], location: _Location, segments: list[Any]
) -> list[ValidationIssue]:
    """txt-2: a narrative div has some non-whitespace content (text or an image)."""
    text = resource.get("text")
    if not isinstance(text, dict) or not isinstance(text.get("div"), str):
        return []
    div = text["div"]
    content = re.sub(r"<[^>]*>", "", div)
    if content.strip() or "<img" in div:
        return []
    message = "narrative div has no content (txt-2)"
    return [location.issue(IssueSource.INVARIANT, [*segments, "text", "div"], message)]


def _contained_issues(resource: dict[str, Any], location: _Location) -> list[ValidationIssue]:
    """dom-2 (no nesting), dom-3 (each is referenced, or refers to its container), dom-4/dom-5."""
    contained = resource.get("contained")
    if not isinstance(contained, list):
        return []
    outside = {
        ref for _, ref in _references({k: v for k, v in resource.items() if k != "contained"}, [])
    }
    inside = [{ref for _, ref in _references(item, [])} for item in contained]
    issues = []
    for index, item in enumerate(contained):
        if not isinstance(item, dict):
            continue
        segments = ["contained", index]
        if "contained" in item:
            message = "contained resource contains resources (dom-2)"
            issues.append(location.issue(IssueSource.INVARIANT, [*segments, "contained"], message))
        meta = item.get("meta") if isinstance(item.get("meta"), dict) else {}
        if "versionId" in meta or "lastUpdated" in meta:
            message = "contained resource has meta.versionId or meta.lastUpdated (dom-4)"
            issues.append(location.issue(IssueSource.INVARIANT, [*segments, "meta"], message))
        if "security" in meta:
            message = "contained resource has a security label (dom-5)"
            issues.append(location.issue(IssueSource.INVARIANT, [*segments, "meta"], message))
        local = f"#{item.get('id')}"
        others = set().union(*(refs for other, refs in enumerate(inside) if other != index))
        referenced = local in outside or local in others
        if not referenced and "#" not in inside[index]:
            message = "contained resource is not referenced from its container (dom-3)"
            issues.append(location.issue(IssueSource.INVARIANT, segments, message))
        issues += _narrative_issues(item, location, segments)
    return issues


# --- PHI-safe naming --------------------------------------------------------------------------


def _resource_type_of(resource: Any) -> str:
    """The resourceType if it is a known R4 type, else a placeholder (a bad one may be PHI)."""
    resource_type = resource.get("resourceType") if isinstance(resource, dict) else None
    return resource_type if resource_type in _known_resource_types() else _UNKNOWN_TYPE


def _unknown_type_issue(location: _Location) -> ValidationIssue:
    return location.issue(IssueSource.INVARIANT, ["resourceType"], "unknown resourceType")


def _fhir_path(resource_type: str, segments: Sequence[Any]) -> str:
    path = resource_type
    for segment in segments:
        path += f"[{segment}]" if isinstance(segment, int) else f".{_safe_key(segment)}"
    return path


def _safe_key(key: Any) -> str:
    """Keys are structure, not values, but a key that does not look like a FHIR name is hidden."""
    return key if isinstance(key, str) and _SAFE_KEY.fullmatch(key) else _UNSAFE_KEY
