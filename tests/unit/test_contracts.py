"""The event classes are the contract (issue 8): the published schemas are generated from them, every
catalogued type has a class, and a typed event survives the wire (to_data -> schema -> from_data)."""
import json

import pytest
from jsonschema import Draft202012Validator

from hotline_common import contracts, event_schemas
from hotline_common.errors import PoisonMessage
from hotline_common.events import ALL_TYPES
from hotline_common.messages import event_class, event_schema, load_all


def test_published_schemas_and_asyncapi_match_the_event_classes():
    drifted = [str(path) for path, text in contracts.schema_files().items()
               if not path.exists() or path.read_text(encoding="utf-8") != text]
    assert not drifted, f"run `python -m hotline_common.contracts`; out of date: {drifted}"


def test_every_catalogued_type_has_a_class_and_every_class_a_catalogued_type():
    classes = load_all()
    assert set(ALL_TYPES) <= set(classes)
    for full_type, cls in classes.items():
        assert cls.full_type() == full_type and cls.SOURCE and cls.__doc__
        Draft202012Validator.check_schema(event_schema(cls))


def test_a_typed_event_round_trips_through_its_schema():
    from hotline_common.messages import ActorRef
    from services.routing.events import AssignmentState, CoUnitState, LeadUnit, TicketDispatched, UnitRef
    state = AssignmentState(status="dispatched", lead_unit=LeadUnit(id="city.environment", name="市环保局"),
                            first_responsible=True, co_units=[CoUnitState(unit_id="u2", unit_name="二", status="pending")],
                            dispatch_no=1, round=1)
    event = TicketDispatched(ticket_id="t1", number="AS20261127000001", unit_id="city.environment",
                             at="2026-11-27T02:00:00.000Z", actor=ActorRef(user_id="system", role="system"),
                             seq=1, state=state, units=["city.environment"], type="complain",
                             category="noise.neighbourhood", district="tiedong", unit_name="市环保局",
                             co_units=[UnitRef(unit_id="u2", unit_name="二")], first_responsible=True, rule_id="r1",
                             manual=False, dispatch_no=1, dispatched_at="2026-11-27T02:00:00.000Z",
                             previous_unit=None, unit_leaders=["a", "b"])
    envelope = {"specversion": "1.0", "id": "e1", "source": "/hotline/routing", "type": event.full_type(),
                "subject": event.subject, "time": "2026-11-27T02:00:00.000Z",
                "datacontenttype": "application/json", "correlationid": "c1",
                "data": json.loads(json.dumps(event.to_data()))}
    event_schemas.check(envelope)
    assert TicketDispatched.from_data(envelope["data"]) == event


@pytest.mark.parametrize("change", [
    lambda e: e["data"].pop("category"),                      # a field missing
    lambda e: e["data"].update(unexpected="x"),               # a field nobody declared
    lambda e: e["data"].update(key_ticket="yes"),             # a wrong type
    lambda e: e["data"].update(registered_at="2026-11-27"),   # not an instant
    lambda e: e.update(type="cn.gov.12345.ticket.invented"),  # an unknown type
    lambda e: e.update(source="/hotline/routing"),            # the wrong publisher
])
def test_a_malformed_event_is_poison_at_the_door(change):
    envelope = {"specversion": "1.0", "id": "e1", "source": "/hotline/intake",
                "type": "cn.gov.12345.ticket.registered", "subject": "AS20261127000001",
                "time": "2026-11-27T02:00:00.000Z", "datacontenttype": "application/json", "correlationid": "c1",
                "data": {"ticket_id": "t1", "number": "AS20261127000001", "channel": "phone", "type": "complain",
                         "category": "noise", "district": "tiedong", "key_ticket": False,
                         "registered_at": "2026-11-27T02:00:00.000Z"}}
    event_schemas.check(envelope)
    change(envelope)
    with pytest.raises(PoisonMessage):
        event_schemas.check(envelope)


def test_event_class_lookup():
    assert event_class("cn.gov.12345.ticket.registered").TYPE == "ticket.registered"
    assert event_class("cn.gov.12345.nothing.here") is None
