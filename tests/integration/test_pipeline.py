"""One ticket through intake -> routing -> sla, on real RabbitMQ and MongoDB (R1, R3, R6, R7, D1, D5)."""
from datetime import datetime, timedelta, timezone

import pytest

from hotline_common.dispatch import request
from hotline_common.errors import NotFound, ValidationFailed
from hotline_common.events import T
from tests.conftest import wait_for
from tests.support import validate_event

from .conftest import OPERATOR, noise_complaint

BEIJING = timezone(timedelta(hours=8))


def dispatched_view(rpc, number):
    view = rpc.intake.get_ticket(request(params={"key": number}), OPERATOR)
    return view if view["status"] == "dispatched" and view["deadline"] else None


def test_noise_complaint_dispatched_on_sep_30_gets_a_deadline_after_golden_week(stack, rpc, tap, set_clock):
    set_clock(datetime(2026, 9, 30, 15, 0, tzinfo=BEIJING))
    stack("intake", "routing", "sla", "escalation", "bulletin")

    created = rpc.intake.register(request(body=noise_complaint()), OPERATOR)
    assert created["number"].startswith("AS20260930")
    view = wait_for(lambda: dispatched_view(rpc, created["number"]), 10, message="dispatch and deadline")

    assert view["lead_unit"] == {"id": "city.environment", "name": "市环保局"}  # R6: noise
    assert view["first_responsible"] is True
    assert view["deadline"]["working_days"] == 20                              # R7: complaint
    assert view["deadline"]["due_date"] == "2026-11-03"                         # skips Oct 1-7, counts Oct 10
    assert view["deadline"]["provisional"] is False
    assert [e["type"] for e in view["timeline"]] == ["ticket.registered", "ticket.dispatched", "deadline.set"]

    # external subscribers see the same story on hotline.events, as CloudEvents (D5)
    wait_for(lambda: tap.of_type(T.DEADLINE_SET, created["number"]), 5, message="deadline.set on the tap")
    story = [e for e in tap.events if e["subject"] == created["number"]]
    assert {e["type"] for e in story} == {T.TICKET_REGISTERED, T.TICKET_DISPATCHED, T.DEADLINE_SET}
    assert tap.content_types == {"application/cloudevents+json"}
    assert len({e["correlationid"] for e in story}) == 1  # one correlation id across the hops
    for event in story:
        validate_event(event)
        assert "13800001234" not in str(event) and "张女士" not in str(event)


def test_unmatched_category_waits_for_manual_dispatch(stack, rpc, tap):
    stack("intake", "routing", "sla")
    created = rpc.intake.register(request(body=noise_complaint(category="other", type="help")), OPERATOR)
    view = wait_for(lambda: (v := rpc.intake.get_ticket(request(params={"key": created["id"]}), OPERATOR))["status"]
                    == "awaiting_dispatch"
                    and v, 10, message="awaiting dispatch")
    assert view["lead_unit"] is None and view["deadline"] is None
    validate_event(wait_for(lambda: tap.of_type(T.TICKET_AWAITING_DISPATCH), 5)[0])


def test_bad_registration_names_the_fields_and_stores_nothing(stack, rpc):
    stack("intake")
    with pytest.raises(ValidationFailed) as err:
        rpc.intake.register(request(body=noise_complaint(type="rant", citizen={"phone": "12"}, extra="x")), OPERATOR)
    assert set(err.value.errors) == {"type", "citizen", "extra"}
    assert "phone" in err.value.errors["citizen"]
    assert rpc.intake.list_tickets(request(), OPERATOR)["items"] == []


def test_only_the_hotline_office_registers(stack, rpc):
    stack("intake")
    from hotline_common.errors import Forbidden
    with pytest.raises(Forbidden):
        rpc.intake.register(request(body=noise_complaint()), {"user_id": "u", "role": "unit_handler", "unit_id": "city.housing"})


def test_idempotency_key_returns_the_same_ticket(stack, rpc):
    stack("intake")
    first = rpc.intake.register(request(body=noise_complaint(), idempotency_key="key-1"), OPERATOR)
    again = rpc.intake.register(request(body=noise_complaint(), idempotency_key="key-1"), OPERATOR)
    assert first["created"] and not again["created"] and again["number"] == first["number"]
    with pytest.raises(ValidationFailed):
        rpc.intake.register(request(body=noise_complaint(content="完全不同的诉求内容"), idempotency_key="key-1"),
                            OPERATOR)
    assert len(rpc.intake.list_tickets(request(), OPERATOR)["items"]) == 1


def test_units_see_only_their_own_tickets(stack, rpc):
    stack("intake", "routing", "sla")
    created = rpc.intake.register(request(body=noise_complaint()), OPERATOR)
    wait_for(lambda: dispatched_view(rpc, created["number"]), 10)
    own = {"user_id": "u1", "role": "unit_handler", "unit_id": "city.environment"}
    other = {"user_id": "u2", "role": "unit_handler", "unit_id": "city.housing"}
    assert rpc.intake.get_ticket(request(params={"key": created["number"]}), own)["citizen"]["phone"] == "138****1234"
    with pytest.raises(NotFound):
        rpc.intake.get_ticket(request(params={"key": created["number"]}), other)
    assert [t["number"] for t in rpc.intake.list_tickets(request(), own)["items"]] == [created["number"]]
    assert rpc.intake.list_tickets(request(), other)["items"] == []


def test_list_filters_and_cursor_pagination(stack, rpc):
    stack("intake")
    numbers = [rpc.intake.register(request(body=noise_complaint(district=d)), OPERATOR)["number"]
               for d in ("tiedong", "tiexi", "tiedong", "tiedong", "lishan")]
    page1 = rpc.intake.list_tickets(request(query={"district": "tiedong", "limit": "2"}), OPERATOR)
    page2 = rpc.intake.list_tickets(request(query={"district": "tiedong", "limit": "2",
                                                   "cursor": page1["next_cursor"]}), OPERATOR)
    got = [t["number"] for t in page1["items"] + page2["items"]]
    assert got == [numbers[3], numbers[2], numbers[0]]  # newest first, only tiedong
    assert page2["next_cursor"] is None
    assert len(rpc.intake.list_tickets(request(query={"category": "noise"}), OPERATOR)["items"]) == 5
    with pytest.raises(ValidationFailed):
        rpc.intake.list_tickets(request(query={"cursor": "garbage!"}), OPERATOR)


def test_ticket_numbers_stay_unique_with_several_intake_replicas(runner_factory, nameko_config, rpc):
    """R1: two intake processes hand out numbers at once; none repeats (blocks of one atomic $inc)."""
    from services.intake.service import IntakeService
    from tools.topology import declare_all
    declare_all(nameko_config["AMQP_URI"])
    for _ in range(2):
        runner_factory(nameko_config, IntakeService).start()
    import eventlet
    pool = eventlet.GreenPool(10)
    numbers = list(pool.imap(lambda i: rpc_register(nameko_config), range(60)))
    assert len(set(numbers)) == 60
    assert all(n.startswith("AS") and len(n) == 16 for n in numbers)


def rpc_register(config):
    from nameko.standalone.rpc import ClusterRpcProxy
    with ClusterRpcProxy(config, timeout=15) as proxy:
        return proxy.intake.register(request(body=noise_complaint()), OPERATOR)["number"]
