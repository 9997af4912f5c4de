"""Replies that are not clean JSON are recovered layer by layer, and one bad item never costs the
rest of the chunk."""

import json

import pytest

from medpipeline.extraction.replies import ParseStrategy, UnparseableReply, parse_reply
from medpipeline.extraction.schema import FACT_LISTS
from medpipeline.extraction.splitting import merge_two

FACTS = {
    "conditions": [{"text": "Hypertension", "quote": "Hypertension.", "assertion": "present"}],
    "medications": [
        {
            "text": "Lisinopril",
            "quote": "Lisinopril 10 mg PO daily",
            "dose_value": 10,
            "dose_unit": "mg",
        }
    ],
}
CLEAN = json.dumps(FACTS)


@pytest.mark.parametrize(
    ("reply", "strategy"),
    [
        (CLEAN, ParseStrategy.DIRECT),
        (f"```json\n{CLEAN}\n```", ParseStrategy.FENCED),
        (f"Here are the facts I found:\n```\n{CLEAN}\n```\nLet me know!", ParseStrategy.FENCED),
        (f"Sure. {CLEAN} These are all the facts.", ParseStrategy.EMBEDDED),
        (CLEAN.replace("}]", "},]"), ParseStrategy.REPAIRED),  # trailing commas
        (CLEAN.replace('"', "'"), ParseStrategy.REPAIRED),  # single quotes
    ],
)
def test_each_layer_recovers_the_facts(reply: str, strategy: ParseStrategy):
    parsed = parse_reply(reply)
    assert parsed.strategy == strategy
    assert [c.text for c in parsed.extraction.conditions] == ["Hypertension"]
    assert parsed.extraction.medications[0].dose_value == 10
    assert parsed.dropped_items == 0


def test_a_reply_cut_off_by_max_tokens_keeps_its_complete_items():
    two = {"conditions": FACTS["conditions"] * 2 + [{"text": "Asthma", "quote": "Asthma"}]}
    truncated = json.dumps(two)[:-40]  # cut inside the third item
    parsed = parse_reply(truncated)
    assert parsed.strategy == ParseStrategy.REPAIRED
    assert [c.text for c in parsed.extraction.conditions][:2] == ["Hypertension", "Hypertension"]


def test_one_bad_item_is_dropped_and_counted_not_the_chunk():
    data = {
        "conditions": [
            {"text": "Hypertension", "quote": "Hypertension."},
            {"quote": "no text field"},
            {"text": "Gout", "quote": "Gout", "assertion": "definitely"},
        ],
        "observations": [{"name": "Sodium", "quote": "Sodium 138 mmol/L", "value": "138"}],
        "patient": {"name": ["not", "a", "string"], "quote": "x"},
    }
    parsed = parse_reply(data)
    assert [c.text for c in parsed.extraction.conditions] == ["Hypertension"]
    assert parsed.extraction.observations[0].value == 138
    assert parsed.extraction.patient is None
    assert parsed.dropped_items == 3


@pytest.mark.parametrize("reply", ["", "I cannot help with that.", "[1, 2, 3]"])
def test_a_reply_without_any_object_is_unparseable(reply: str):
    with pytest.raises(UnparseableReply) as raised:
        parse_reply(reply)
    assert reply not in str(raised.value) or not reply


def test_every_fact_list_of_the_schema_survives_parsing_and_chunk_splitting():
    data = {
        "encounters": [{"quote": "Admitted 03/01/2024", "encounter_class": "inpatient"}],
        "procedures": [{"text": "Colonoscopy", "quote": "Colonoscopy in 2019"}],
        **FACTS,
    }
    parsed = parse_reply(json.dumps(data))
    assert {name: len(getattr(parsed.extraction, name)) for name in FACT_LISTS} == {
        name: len(data.get(name, [])) for name in FACT_LISTS
    }
    merged = merge_two(parsed.extraction, parsed.extraction)
    assert all(len(getattr(merged, n)) == 2 * len(data.get(n, [])) for n in FACT_LISTS)
