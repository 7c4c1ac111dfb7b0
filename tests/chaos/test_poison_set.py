"""The chaos run's poison (tools/chaos.py) must be poison: each malformed message is refused at the
door (libs/hotline_common/events.parse_envelope + event_schemas.check), and the well-formed event it
is made from is accepted, so a dead-letter count in `make chaos` means what it says."""
import json

import pytest

from hotline_common import event_schemas
from hotline_common.errors import PoisonMessage
from hotline_common.events import parse_envelope
from tools.chaos import poison_messages


def at_the_door(body) -> None:
    event = parse_envelope(body)
    event_schemas.check(event)


def test_the_well_formed_event_passes_the_door():
    good, _, _ = poison_messages("chaos-poison-test")
    at_the_door({**good, "id": "chaos-poison-test-good"})


@pytest.mark.parametrize("index", range(6))
def test_each_malformed_event_is_poison(index):
    _, _, broken = poison_messages("chaos-poison-test")
    with pytest.raises(PoisonMessage):
        at_the_door(broken[index])


@pytest.mark.parametrize("index", range(3))
def test_each_raw_body_is_refused(index):
    _, raw, _ = poison_messages("chaos-poison-test")
    _, body, _ = raw[index]
    try:
        value = json.loads(body)
    except ValueError:
        return  # undecodable: the consumer rejects it and the broker dead-letters it
    with pytest.raises(PoisonMessage):
        at_the_door(value)
