"""Recovering an extraction from an LLM reply that may not be clean JSON.

Layers, first that works wins: the reply as JSON → JSON in a code fence → the outermost JSON
object inside prose → the reply repaired by `json_repair` (trailing commas, single quotes, a reply
cut off by max_tokens). An object with none of the schema's keys is not an extraction (a model
answering another question must not pass as "no facts"). Then validation with per-item salvage:
one bad item is dropped and counted, the rest of the chunk is kept.
"""

import json
import re
from enum import StrEnum
from typing import Any

import json_repair
from pydantic import BaseModel, ValidationError

from medpipeline.extraction.schema import FACT_MODELS, ChunkExtraction, PatientFact

_FENCE = re.compile(r"```(?:json)?\s*(.*?)(?:```|$)", re.DOTALL | re.IGNORECASE)


class ParseStrategy(StrEnum):
    DIRECT = "direct"
    FENCED = "fenced"
    EMBEDDED = "embedded"
    REPAIRED = "repaired"


class UnparseableReply(ValueError):
    """No layer found a JSON object of the schema's shape (the message never quotes the reply)."""


SCHEMA_KEYS = {*FACT_MODELS, "patient"}


class ParsedReply(BaseModel):
    extraction: ChunkExtraction
    strategy: ParseStrategy
    dropped_items: int


def parse_reply(payload: str | dict[str, Any]) -> ParsedReply:
    data, strategy = (
        (payload, ParseStrategy.DIRECT) if isinstance(payload, dict) else _load_json(payload)
    )
    if not SCHEMA_KEYS & data.keys():
        raise UnparseableReply("the reply's JSON object has none of the extraction's keys")
    extraction, dropped = salvage(data)
    return ParsedReply(extraction=extraction, strategy=strategy, dropped_items=dropped)


def _load_json(text: str) -> tuple[dict[str, Any], ParseStrategy]:
    attempts = [(text, ParseStrategy.DIRECT)]
    attempts += [(m.group(1), ParseStrategy.FENCED) for m in _FENCE.finditer(text)]
    start, end = text.find("{"), text.rfind("}")
    if 0 <= start < end:
        attempts.append((text[start : end + 1], ParseStrategy.EMBEDDED))
    for candidate, strategy in attempts:
        try:
            data = json.loads(candidate)
        except json.JSONDecodeError:
            continue
        if isinstance(data, dict):
            return data, strategy
    fragment = text[start:] if start >= 0 else text
    repaired = json_repair.loads(fragment) if fragment.strip() else None
    if isinstance(repaired, dict) and repaired:
        return repaired, ParseStrategy.REPAIRED
    raise UnparseableReply("no JSON object could be recovered from the reply")


def salvage(data: dict[str, Any]) -> tuple[ChunkExtraction, int]:
    """Validate item by item; returns the extraction and how many items were dropped."""
    dropped = 0
    fields: dict[str, Any] = {}
    for key, model in FACT_MODELS.items():
        items = data.get(key) or []
        if not isinstance(items, list):
            dropped += 1
            continue
        kept = []
        for item in items:
            try:
                kept.append(model.model_validate(item))
            except ValidationError:
                dropped += 1
        fields[key] = kept
    if data.get("patient") is not None:
        try:
            fields["patient"] = PatientFact.model_validate(data["patient"])
        except ValidationError:
            dropped += 1
    return ChunkExtraction(**fields), dropped
