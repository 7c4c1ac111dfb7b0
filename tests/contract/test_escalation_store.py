"""One suite for escalation's store: the in-memory fake (fast) and the MongoDB adapter (`-m integration`,
on the embedded server) must behave alike, so the fast tests over the fake say something true."""
from dataclasses import replace
from datetime import timedelta

import pytest

from hotline_common.actors import SYSTEM_ACTOR, Actor
from hotline_common.errors import StaleVersion
from hotline_common.testing import FixedClock, RecordingOutbox, at
from services.escalation import commands as c
from services.escalation import domain as d
from services.escalation import events as ev
from services.escalation.fakes import deadline_event
from services.sla.events import DeadlineSet

NOW = at("2026-11-27T02:00:00Z")
LATE = at("2026-11-30T03:00:00Z")
OPERATOR = Actor("op", "operator")
SUPERVISOR = Actor("sup", "supervisor")


@pytest.fixture
def outbox():
    return RecordingOutbox("escalation", FixedClock(NOW))


@pytest.fixture(params=["fake", pytest.param("mongo", marks=pytest.mark.integration)])
def store(request, outbox):
    if request.param == "fake":
        from services.escalation.fakes import MemoryEscalationStore
        store = MemoryEscalationStore(outbox)
    else:
        from hotline_common.mongo import client
        from services.escalation.store import EscalationStore
        uri, prefix = request.getfixturevalue("mongo_uri"), request.getfixturevalue("db_prefix")
        store = EscalationStore(client(uri)[prefix + "escalation"], outbox)
        store.ensure_indexes()
    return store


def watch(ticket="t1", number="AS20261127000001", **kwargs):
    made, _ = d.follow_deadline(None, deadline_event(DeadlineSet, ticket_id=ticket, number=number, **kwargs),
                                now=NOW, actor=SYSTEM_ACTOR)
    return made


def reminded(w, now=NOW, note="请尽快处理"):
    return d.manual_reminder(w, c.Remind(key=w.ticket_id, note=note), now=now, actor=OPERATOR)


def test_a_watch_is_read_back_by_id_or_number_with_its_reminders(store, outbox):
    assert store.add_watch(watch(), cause="set-1")
    assert not store.add_watch(watch(), cause="set-1")        # the same deadline.set, redelivered
    w, events = reminded(store.watch("t1"))
    assert store.save_watch(w, events, cause=None)
    back = store.watch("AS20261127000001")
    assert back == replace(w, version=2) and store.watch("t1") == back
    assert back.reminders[0].at == NOW and back.reminders[0].by.role == "operator" and not back.reminders[0].overdue
    assert store.watch("AS404") is None
    assert outbox.types() == ["cn.gov.12345.reminder.sent"]


def test_a_watch_is_saved_once_per_cause_and_never_over_a_newer_version(store, outbox):
    store.add_watch(watch(), cause="set-1")
    w = store.watch("t1")
    ahead, events = reminded(w, LATE)
    assert store.save_watch(ahead, events, cause="tick-1")
    assert not store.save_watch(replace(ahead, version=2), [], cause="tick-1")   # applied before
    with pytest.raises(StaleVersion):
        store.save_watch(reminded(w)[0], [], cause="tick-2")
    assert [e["type"] for e in outbox.published] == ["cn.gov.12345.reminder.sent"]
    assert store.watch("t1").reminders[0].overdue


def opened(case_id, ticket="t1", number="AS20261127000001", unit="city.environment", now=NOW, case_no=None):
    opening = d.Opening(case_id=case_id, ticket=d.TicketRef(ticket_id=ticket, number=number, unit_id=unit),
                        trigger=d.Trigger.IMPROPER_HANDLING, detail="答复前未依法采取措施")
    return d.open_case(opening, case_no=case_no or f"DB20261127{case_id[-4:]}", now=now, actor=OPERATOR)


def test_cases_open_once_per_cause_and_are_found_by_id_number_ticket_and_state(store, outbox):
    assert store.next_case_no("20261127") == "DB202611270001"
    assert store.next_case_no("20261127") == "DB202611270002"
    assert store.next_case_no("20261128") == "DB202611280001"
    case, events = opened("c-0001")
    assert store.add_case(case, events)
    assert not store.add_case(case, events)
    assert store.case("c-0001") == replace(case, version=1) == store.case("DB202611270001")
    assert store.case("nope") is None
    later, events2 = opened("c-0002", ticket="t2", number="AS2", unit="city.housing", now=NOW + timedelta(hours=1))
    store.add_case(later, events2)
    ordered, more = d.order_reinvestigation(store.case("c-0001"), c.OrderReinvestigation(
        case_id="c-0001", instructions="请重新调查噪音来源"), now=LATE, actor=SUPERVISOR, policy=d.ReminderPolicy())
    assert store.save_case(ordered, more, cause="order-1")
    back = store.case("c-0001")
    assert back.state == "reinvestigating" and back.orders[0].at == LATE and back.version == 2
    assert [x.case_id for x in store.cases_for("t1", "reinvestigating")] == ["c-0001"]
    assert store.cases_for("t1", "open") == []
    assert [x.case_id for x in store.list_cases(None, None, 10)] == ["c-0002", "c-0001"]
    assert [x.case_id for x in store.list_cases(None, None, 1)] == ["c-0002"]
    assert [x.case_id for x in store.list_cases("open", "city.housing", 10)] == ["c-0002"]
    assert len(outbox.of(ev.SupervisionOpened)) == 2 and len(outbox.of(ev.ReinvestigationOrdered)) == 1


def test_tasks_and_the_tickets_escalation_knows(store):
    task, events = d.require_verification(d.TicketRef(ticket_id="t9", number="AS9", unit_id=None), "key_ticket",
                                          task_id="key_ticket:e1", now=NOW)
    assert store.add_task(task, events) and not store.add_task(task, events)
    assert store.pending_task("t9") == replace(task, version=1)
    assert store.ticket("t9") == d.TicketRef(ticket_id="t9", number="AS9", unit_id=None)
    w = watch()
    store.add_watch(w, cause="set-1")
    filled, _ = d.assign_unit(store.pending_task("t9"), w, now=NOW, actor=SYSTEM_ACTOR)
    assert store.save_task(filled, [], cause="set-1")
    assert not store.save_task(replace(filled, version=2), [], cause="set-1")
    assert [t.unit_id for t in store.tasks_for("t9")] == ["city.environment"]
    assert store.ticket("AS20261127000001") == w.ticket
    store.add_case(*opened("c-0003", ticket="t3", number="AS3"))
    assert store.ticket("t3").number == "AS3"
    assert store.ticket("t404") is None


def test_records_are_listed_newest_first_per_unit(store):
    for minutes, unit in ((0, "city.environment"), (1, "city.housing"), (2, "city.environment")):
        record, events = d.record_accountability(None, c.RecordAccountability(kind="evasion", unit_id=unit, note="推诿扯皮"), record_id=f"r{minutes}",
            ticket=None, case=None, now=NOW + timedelta(minutes=minutes), actor=SUPERVISOR)
        assert store.add_record(record, events)
    assert [r.record_id for r in store.list_records(None, 10)] == ["r2", "r1", "r0"]
    assert [r.record_id for r in store.list_records("city.environment", 10)] == ["r2", "r0"]
    assert [r.record_id for r in store.list_records(None, 1)] == ["r2"]
    assert store.list_records(None, 10)[0].recorded_by.role == "supervisor"
    assert store.record("r1").unit_id == "city.housing" and store.record("r404") is None
