"""Intake's pure rules: numbers, registration (R1), who sees what, the callback (R11), key tickets
(R10), and the view's projection of another service's event."""
from dataclasses import replace
from datetime import date

import pytest

from hotline_common.actors import Actor
from hotline_common.errors import Conflict, Forbidden, NotFound, ValidationFailed
from services.intake import domain, view
from services.intake.commands import (
    CitizenDetails,
    ListTickets,
    MarkKey,
    RecordCallback,
    Register,
    TicketFilters,
)
from services.intake.events import (
    CallbackRecorded,
    TicketChallenged,
    TicketClosed,
    TicketMarkedKey,
    TicketRegistered,
    TicketReopened,
)
from services.routing import events as rt
from tests.unit.test_intake_support import CATALOG, NOW, OPERATOR, routing

REGISTER = Register(channel="phone", type="complain", category="noise.neighbourhood", district="tiedong",
                    address="胜利路1号", citizen=CitizenDetails(name="张三", phone="13812341234"),
                    content="夜间施工噪音扰民")
ENV = Actor("u1", "unit_handler", "city.environment")
POLICY = domain.CallbackPolicy(max_unreached_attempts=3)


def new_ticket(cmd=REGISTER, **kwargs):
    return domain.register(None, cmd, now=NOW, actor=OPERATOR, catalog=CATALOG,
                           allocate=lambda: ("t1", "AS20261127000001"), **kwargs)


def replied_ticket():
    ticket, _ = new_ticket()
    return replace(ticket, status=domain.Status.REPLIED, units=("city.environment",),
                   lead_unit=domain.UnitRef(id="city.environment", name="市环保局"), dispatch_no=1, version=3)


def test_ticket_number_is_prefix_day_and_sequence():
    assert domain.ticket_number("AS", date(2026, 11, 27), 123) == "AS20261127000123"


def test_phone_masking():
    assert domain.mask_phone("13812341234") == "138****1234"
    assert domain.mask_phone("0412-1234567") == "0412-***4567"
    assert domain.mask_phone("1234") == "****" and domain.mask_phone(None) is None


def test_registration_event_carries_no_personal_data():
    ticket, (event,) = new_ticket()
    assert isinstance(event, TicketRegistered) and event.registered_at == "2026-11-27T02:00:00.000Z"
    flat = repr(event.to_data())
    for secret in ("13812341234", "张三", "胜利路", "噪音扰民"):
        assert secret not in flat
    assert ticket.status == domain.Status.REGISTERED and ticket.idempotency is None
    assert ticket.timeline[0].label == "工单登记"


def test_registration_checks_the_catalog_and_the_role():
    with pytest.raises(ValidationFailed) as err:
        new_ticket(replace(REGISTER, category="noise.nowhere"))
    assert list(err.value.errors) == ["category"]
    with pytest.raises(Forbidden):
        domain.register(None, REGISTER, now=NOW, actor=ENV, catalog=CATALOG, allocate=lambda: ("t", "n"))


def test_a_repeat_under_its_idempotency_key_gets_the_same_ticket_and_nothing_else():
    keyed = replace(REGISTER, idempotency_key="k1")
    ticket, _ = new_ticket(keyed)
    assert ticket.idempotency == domain.Idempotency(key="k1", hash=domain.request_hash(keyed))

    def never():
        raise AssertionError("a replay allocates no number")
    again, events = domain.register(ticket, keyed, now=NOW, actor=OPERATOR, catalog=CATALOG, allocate=never)
    assert again is ticket and events == []
    with pytest.raises(ValidationFailed):
        domain.register(ticket, replace(keyed, content="另一件事情另一件事情"), now=NOW, actor=OPERATOR,
                        catalog=CATALOG, allocate=never)


def test_projection_of_a_dispatch_event_sets_status_unit_and_visibility():
    change = view.on_ticket_dispatched(routing(rt.TicketDispatched, "t1"))
    assert change.changes["status"] == domain.Status.DISPATCHED
    assert change.changes["units"] == ("city.environment",)
    assert change.changes["lead_unit"] == domain.UnitRef(id="city.environment", name="市环保局")
    assert change.source == "routing" and change.seq == 1
    assert "第一责任主体" in change.label


def test_units_see_only_their_tickets_and_phones_are_masked():
    ticket, _ = new_ticket()
    ticket = replace(ticket, units=("city.environment",))
    other = Actor("u2", "unit_handler", "city.housing")
    assert domain.visible_to(ticket, ENV) and not domain.visible_to(ticket, other)
    assert domain.visible_to(ticket, Actor("s", "supervisor"))
    assert not domain.visible_to(ticket, Actor("x", "subscriber"))
    assert domain.present(ticket, ENV)["citizen"]["phone"] == "138****1234"
    assert domain.present(ticket, OPERATOR)["citizen"]["phone"] == "13812341234"


def test_facts_nobody_stated_are_left_out_of_the_view():
    ticket, _ = new_ticket()
    shown = domain.present(ticket, OPERATOR)
    for absent in ("reply", "round", "dispatch_no", "first_responsible", "due_soon", "extension", "callbacks",
                   "closed", "challenged", "satisfaction", "key_reason", "handling_status"):
        assert absent not in shown
    assert shown["deadline"] is None and shown["lead_unit"] is None and shown["reminders_sent"] == 0


def test_listing_scope():
    filters = ListTickets().filters
    assert domain.listing_filters(filters, ENV) == TicketFilters(unit="city.environment")
    assert domain.listing_filters(filters, OPERATOR) is filters
    with pytest.raises(Forbidden):
        domain.listing_filters(filters, Actor("x", "subscriber"))


# -- callbacks (R11), moved here from the escalation rules' tests ---------------------------------------

CALLBACK = RecordCallback(key="t1", reached=True, satisfaction="satisfied", solved=True, unit_contacted=True)


def callback(ticket, cmd=CALLBACK, actor=OPERATOR, policy=POLICY):
    return domain.record_callback(ticket, cmd, now=NOW, actor=actor, policy=policy)


@pytest.mark.parametrize("satisfaction, kinds, closed", [
    ("satisfied", [CallbackRecorded, TicketClosed], True),
    ("basically_satisfied", [CallbackRecorded, TicketClosed], True),
    ("unsatisfied", [CallbackRecorded, TicketReopened], False),
])
def test_callback_outcomes(satisfaction, kinds, closed):
    after, events = callback(replied_ticket(), replace(CALLBACK, satisfaction=satisfaction))
    assert [type(e) for e in events] == kinds and after.closed is closed
    assert after.version == 3 and after.satisfaction == satisfaction


def test_a_reasonable_challenge_goes_to_supervision_and_keeps_the_ticket_open():
    after, events = callback(replied_ticket(), replace(CALLBACK, challenge=True,
                                                       challenge_reason="噪音依旧，答复与事实不符"))
    assert [type(e) for e in events] == [CallbackRecorded, TicketChallenged] and not after.closed
    assert after.challenged and events[1].reason == "噪音依旧，答复与事实不符"


def test_unreached_citizens_are_called_again_then_the_ticket_closes_as_unreached():
    ticket = replied_ticket()
    for attempt in (1, 2, 3):
        ticket, events = callback(ticket, replace(CALLBACK, reached=False))
        assert ticket.callbacks[-1].attempt == attempt
    assert ticket.closed and ticket.close_reason == "unreached" and isinstance(events[-1], TicketClosed)
    with pytest.raises(Conflict):
        callback(ticket)


def test_units_record_their_own_callbacks_without_closing_and_only_after_the_reply():
    ticket = replied_ticket()
    after, events = callback(ticket, actor=ENV)
    assert after.callbacks[0].by_unit and events[0].by == "unit"
    assert replace(after, callbacks=(), timeline=()) == replace(ticket, callbacks=(), timeline=())
    with pytest.raises(NotFound):
        callback(ticket, actor=Actor("u2", "unit_handler", "city.housing"))
    with pytest.raises(Conflict):
        callback(replace(ticket, status="accepted"))
    with pytest.raises(ValidationFailed):
        callback(ticket, replace(CALLBACK, satisfaction=None))


# -- key tickets (R10) -----------------------------------------------------------------------------------

def test_mark_key():
    ticket = replied_ticket()
    after, (event,) = domain.mark_key(ticket, MarkKey(key="t1", reason=" 多次反映 "), now=NOW, actor=OPERATOR)
    assert after.key_ticket and after.key_reason == "多次反映" and isinstance(event, TicketMarkedKey)
    assert event.unit_id == "city.environment" and after.timeline[-1].label == "标记为重点问题件"
    with pytest.raises(Conflict):
        domain.mark_key(after, MarkKey(key="t1", reason="多次反映"), now=NOW, actor=OPERATOR)
    with pytest.raises(ValidationFailed):
        domain.mark_key(ticket, MarkKey(key="t1", reason="重"), now=NOW, actor=OPERATOR)
    with pytest.raises(Forbidden):
        domain.mark_key(ticket, MarkKey(key="t1", reason="多次反映"), now=NOW, actor=ENV)
    with pytest.raises(Conflict):
        domain.mark_key(replace(ticket, closed=True), MarkKey(key="t1", reason="多次反映"), now=NOW, actor=OPERATOR)


def test_own_labels_are_for_own_events_only():
    with pytest.raises(TypeError):
        domain.own_label(routing(rt.AssignmentAccepted, "t1"))
