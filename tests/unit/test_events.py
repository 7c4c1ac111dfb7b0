"""The CloudEvents envelope and what counts as poison (DESIGN §3, §4)."""
from datetime import UTC, datetime

import pytest

from hotline_common.errors import PoisonMessage
from hotline_common.events import DomainEvent, T, envelope, parse_envelope

NOW = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)


def test_envelope_is_cloudevents_1_0():
    env = envelope(DomainEvent(T.TICKET_REGISTERED, "AS1", {"ticket_id": "t1"}), source_service="intake",
                   time=NOW, correlation_id="c1")
    assert env["specversion"] == "1.0" and env["source"] == "/hotline/intake"
    assert env["type"] == "cn.gov.12345.ticket.registered" and env["subject"] == "AS1"
    assert env["time"] == "2026-11-27T02:00:00.000Z" and env["correlationid"] == "c1"
    assert parse_envelope(env) is env


@pytest.mark.parametrize("body", [
    "not an object",
    {"specversion": "1.0", "id": "x"},
    {"specversion": "0.3", "id": "x", "source": "s", "type": "t", "time": "2026-01-01T00:00:00Z", "data": {}},
    {"specversion": "1.0", "id": "x", "source": "s", "type": "t", "time": "yesterday", "data": {}},
    {"specversion": "1.0", "id": "x", "source": "s", "type": "t", "time": "2026-01-01T00:00:00Z", "data": []},
])
def test_malformed_bodies_are_poison(body):
    with pytest.raises(PoisonMessage):
        parse_envelope(body)


def test_every_event_type_has_a_valid_json_schema():
    import json
    from pathlib import Path

    from jsonschema import Draft202012Validator

    from hotline_common.events import ALL_TYPES, short_type
    folder = Path(__file__).resolve().parents[2] / "docs" / "events"
    for event_type in ALL_TYPES:
        schema = json.loads((folder / f"{short_type(event_type)}.schema.json").read_text())
        Draft202012Validator.check_schema(schema)
        assert schema["properties"]["type"]["const"] == event_type
