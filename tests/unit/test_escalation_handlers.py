"""Escalation's use cases and reactions through its one handler table (`HANDLERS`), over the in-memory
store and outbox: reminders and escalation (R13), cases (R14, R15), verification (R10), accountability
(R17), and the fixes of issue 10 (key tickets at registration, manual reminders before the deadline,
order and wording after clock jumps, accountability records naming tickets)."""
import uuid
from datetime import timedelta

import pytest

from hotline_common.actors import Actor
from hotline_common.clock import CausalClock, FixedClock, set_causal_floor
from hotline_common.dispatch import Outcome, request
from hotline_common.errors import Conflict, Forbidden, NotFound, NotYet, StaleVersion, TransientError, ValidationFailed
from hotline_common.events import envelope
from hotline_common.messages import ActorRef
from hotline_common.testing import RecordingOutbox, at
from hotline_common.timeutil import parse_iso
from services.escalation import events as ev
from services.escalation.domain import ReminderPolicy
from services.escalation.fakes import MemoryEscalationStore, deadline_event, routing_event
from services.escalation.handlers import HANDLERS, Escalation
from services.escalation.service import policy_from
from services.intake.events import TicketChallenged, TicketMarkedKey, TicketRegistered, TicketReopened
from services.routing.events import AssignmentRefused, CounitDeclined, TicketReplied
from services.sla.events import (
    DeadlineChanged,
    DeadlineExtended,
    DeadlineMet,
    DeadlineMissed,
    DeadlineOverdue,
    DeadlineSet,
    DeadlineStillOverdue,
)

NOW = at("2026-11-27T02:00:00Z")            # before the deadline
DUE = "2026-11-27T16:00:00.000Z"
OVERDUE = at("2026-11-30T03:00:00Z")        # after it
ENV = "city.environment"
NUMBER = "AS20261127000001"
OPERATOR = Actor("op", "operator")
SUPERVISOR = Actor("sup", "supervisor")
ADMIN = Actor("root", "admin")
HANDLER = Actor("env.handler", "unit_handler", ENV)
HOUSING = Actor("housing.handler", "unit_handler", "city.housing")
VERIFICATION = {"inspector": "执法大队王某", "inspected_at": "2026-11-27T09:00:00+08:00", "findings": "现场噪音超标",
                "responsibility": "商户违规经营，责任在商户"}


class Harness:
    def __init__(self, policy=ReminderPolicy()):
        self.clock = CausalClock(FixedClock(NOW))   # the outbox and the use cases read the same clock
        self.outbox = RecordingOutbox("escalation", self.clock)
        self.store = MemoryEscalationStore(self.outbox)
        self.app = Escalation(store=self.store, clock=self.clock, policy=policy)

    def deliver(self, event, event_id=None, time=None):
        """One event through the table, as a worker handles it: its clock's floor is the event's time
        (hotline_common.providers.Context) while it runs."""
        time = time or self.clock.now()
        env = envelope(event, source_service=event.SOURCE, time=time, event_id=event_id or str(uuid.uuid4()))
        set_causal_floor(time)
        try:
            return HANDLERS.react(self.app, env)
        finally:
            set_causal_floor(None)

    def run(self, name, actor=OPERATOR, **req):
        return HANDLERS.execute(self.app, name, request(**req), actor)

    def at(self, when):
        self.clock.inner.set(when)

    def data(self, event_cls):
        return [e["data"] for e in self.outbox.of(event_cls)]

    def watched(self, **kwargs):
        assert self.deliver(deadline_event(DeadlineSet, due_at=DUE, **kwargs)) == Outcome.APPLIED


@pytest.fixture
def h():
    harness = Harness()
    yield harness
    set_causal_floor(None)   # the worker's floor is per thread: leave none behind for other tests


def tick(k, **kwargs):
    if k == 0:
        return deadline_event(DeadlineOverdue, due_at=DUE, **kwargs)
    return deadline_event(DeadlineStillOverdue, due_at=DUE, working_days_overdue=k, **kwargs)


def test_the_table_names_every_rpc_and_every_event_escalation_follows():
    assert sorted(HANDLERS.commands) == sorted([
        "remind", "report", "list_cases", "get_case", "order_reinvestigation", "close_case", "file_verification",
        "verifications", "record_accountability", "list_accountability"])
    assert {cls.__name__ for cls in HANDLERS.events} == {
        "DeadlineSet", "DeadlineExtended", "DeadlineChanged", "DeadlineOverdue", "DeadlineStillOverdue",
        "DeadlineMet", "DeadlineMissed", "TicketChallenged", "TicketReopened", "TicketMarkedKey",
        "TicketRegistered", "CounitDeclined", "AssignmentRefused", "TicketReplied"}


def test_configuration_fills_the_policy_and_defaults_stay_in_one_place():
    assert policy_from({}) == ReminderPolicy()
    assert policy_from({"reminders": {"first_at_overdue": False, "second_after_working_days": 3},
                        "reinvestigation_working_days": 5}) == ReminderPolicy(
        first_at_overdue=False, second_after_working_days=3, reinvestigation_working_days=5)


# -- following deadlines ----------------------------------------------------------------------------------

def test_a_deadline_is_watched_once_and_moves_with_the_calendar(h):
    event_id = str(uuid.uuid4())
    assert h.deliver(deadline_event(DeadlineSet, due_at=DUE), event_id) == Outcome.APPLIED
    assert h.deliver(deadline_event(DeadlineSet, due_at=DUE), event_id) == Outcome.DUPLICATE
    changed = deadline_event(DeadlineChanged, due_at="2026-11-30T16:00:00.000Z", seq=2,
                             previous_due_date="2026-11-27", reason="calendar")
    assert h.deliver(changed) == Outcome.APPLIED
    assert h.store.watch(NUMBER).due_at == parse_iso("2026-11-30T16:00:00Z")
    assert h.deliver(deadline_event(DeadlineSet, due_at=DUE, seq=1)) == Outcome.NO_CHANGE   # late, older
    assert h.store.watch("t1").due_at.day == 30


def test_an_extension_or_a_new_dispatch_starts_the_reminders_afresh(h):
    h.watched()
    h.at(OVERDUE)
    h.deliver(tick(0))
    assert len(h.store.watch("t1").reminders) == 1
    assert h.deliver(deadline_event(DeadlineExtended, due_at="2026-12-04T16:00:00.000Z", seq=3, extension_id="x1",
                                    extended_working_days=3, previous_due_date="2026-11-27")) == Outcome.APPLIED
    assert h.store.watch("t1").reminders == ()
    h.deliver(tick(0))
    assert h.deliver(deadline_event(DeadlineSet, dispatch_no=2, unit_id="city.housing", seq=4)) == Outcome.APPLIED
    watch = h.store.watch("t1")
    assert watch.reminders == () and watch.unit_id == "city.housing" and watch.event_seq == 2


def test_a_tick_before_its_deadline_is_retried_and_one_about_an_older_clock_changes_nothing(h):
    with pytest.raises(NotYet):
        h.deliver(tick(0))
    h.watched(dispatch_no=2)
    with pytest.raises(NotYet):
        h.deliver(deadline_event(DeadlineMet, dispatch_no=3, replied_at="2026-11-27T03:00:00.000Z"))
    assert h.deliver(tick(1)) == Outcome.NO_CHANGE       # dispatch 1's clock
    assert h.outbox.published == []


def test_a_reaction_that_keeps_losing_the_race_is_retried_later_not_dropped(h, monkeypatch):
    h.watched()
    h.at(OVERDUE)

    def always_stale(*args, **kwargs):
        raise StaleVersion("watches t1 changed")
    monkeypatch.setattr(h.store, "save_watch", always_stale)
    with pytest.raises(TransientError):                      # the subscriber retries it; "no change" would lose it
        h.deliver(tick(0))


# -- reminders and escalation (R13) ------------------------------------------------------------------------

def test_reminders_at_the_deadline_and_two_days_later_then_the_supervision_centre_once(h):
    h.watched()
    h.at(OVERDUE)
    assert h.deliver(tick(0)) == Outcome.APPLIED
    assert h.deliver(tick(1)) == Outcome.APPLIED         # remembers how late: no reminder yet
    assert h.deliver(tick(2)) == Outcome.APPLIED
    third = str(uuid.uuid4())
    assert h.deliver(tick(3), third) == Outcome.APPLIED
    assert h.deliver(tick(3), third) == Outcome.NO_CHANGE    # redelivered: nothing more to do
    assert h.deliver(tick(4)) == Outcome.APPLIED           # how late it is, nothing more
    assert [e["type"].rsplit(".", 2)[-2] + "." + e["type"].rsplit(".", 1)[-1] for e in h.outbox.published] == [
        "reminder.sent", "reminder.sent", "supervision.opened", "accountability.recorded"]
    first, second = h.data(ev.ReminderSent)
    assert first["n"] == 1 and "已超过办理时限" in first["message"] and first["kind"] == "auto"
    assert second["n"] == 2 and "已超期2个工作日" in second["message"] and second["working_days_overdue"] == 2
    (opened,) = h.data(ev.SupervisionOpened)
    assert opened["trigger"] == "overdue_ignored" and opened["case_no"] == "DB202611300001"
    assert opened["detail"] == "超过办结时限3个工作日，经2次催办仍未答复" and opened["unit_id"] == ENV
    (record,) = h.data(ev.AccountabilityRecorded)
    assert record["kind"] == "ignored_reminders" and record["automatic"] and record["case_id"] == opened["case_id"]
    assert (record["ticket_id"], record["number"]) == ("t1", NUMBER)


def test_after_a_clock_jump_reminders_case_and_record_come_in_order_each_later_than_the_one_before(h):
    """Issue 10 (c): the ticks of a jump arrive together, stamped alike, in any order, while the worker's
    clock lags: two reminders both said 已超期N个工作日, and the case came before the second reminder."""
    h.watched()
    late = at("2026-12-20T03:00:00Z")                  # the jump: every tick carries this time
    for k in [7, 2, 9, 0, 5, 1, 3, 8, 4, 6]:
        h.deliver(tick(k), time=late)
    kinds = [e["type"].split(".")[-2] for e in h.outbox.published]
    assert kinds == ["reminder", "reminder", "supervision", "accountability"]
    first, second = h.data(ev.ReminderSent)
    assert "已超过办理时限" in first["message"] and "（第1次催办）" in first["message"]
    assert "已超期2个工作日" in second["message"] and "（第2次催办）" in second["message"]
    times = [parse_iso(e["time"]) for e in h.outbox.published]
    assert times == sorted(times) and len(set(times)) == 4, times
    stamped = [parse_iso(d["at"]) for d in h.data(ev.ReminderSent)] + [parse_iso(h.data(ev.AccountabilityRecorded)[0]["at"])]
    assert stamped == sorted(stamped) and len(set(stamped)) == 3
    case = h.store.list_cases(None, None, 10)[0]
    assert h.store.watch("t1").reminders[-1].at < case.opened_at < parse_iso(h.data(ev.AccountabilityRecorded)[0]["at"])


def test_a_manual_reminder_before_the_deadline_is_not_one_of_the_two_after_it(h):
    """Issue 10 (b): 超过办结时限经2次催办 counts the reminders after the time limit only."""
    h.watched()
    answer = h.run("remind", params={"key": NUMBER}, body={"note": "请尽快处理"})
    assert [r["kind"] for r in answer["reminders"]] == ["manual"] and answer["reminders"][0]["overdue"] is False
    h.at(OVERDUE)
    for k in (0, 1, 2, 3):
        h.deliver(tick(k))
    reminders = h.data(ev.ReminderSent)
    assert [(r["n"], r["kind"]) for r in reminders] == [(1, "manual"), (2, "auto"), (3, "auto")]
    assert "已超过办理时限" in reminders[1]["message"] and "已超期2个工作日" in reminders[2]["message"]
    (opened,) = h.data(ev.SupervisionOpened)
    assert opened["detail"].endswith("经2次催办仍未答复")


def test_a_manual_reminder_after_the_deadline_counts_and_no_body_is_needed(h):
    h.watched()
    h.at(OVERDUE)
    h.deliver(tick(0))
    h.deliver(tick(1))
    answer = h.run("remind", params={"key": "t1"})           # no body: the note is optional
    assert [r["overdue"] for r in answer["reminders"]] == [True, True]
    h.deliver(tick(2))                                        # both reminders went out: none more
    h.deliver(tick(3))
    assert len(h.data(ev.ReminderSent)) == 2 and len(h.data(ev.SupervisionOpened)) == 1
    times = [parse_iso(e["time"]) for e in h.outbox.published]
    assert len(set(times)) == len(times)                      # each change after the one before


def test_manual_reminders_need_a_deadline_an_operator_and_a_ticket_still_handled(h):
    with pytest.raises(NotFound):
        h.run("remind", params={"key": "t1"}, body={"note": ""})
    h.watched()
    with pytest.raises(Forbidden):
        h.run("remind", HANDLER, params={"key": "t1"}, body={"note": "x"})
    with pytest.raises(ValidationFailed):
        h.run("remind", params={"key": "t1"}, body={"note": "x", "urgent": True})
    assert h.deliver(deadline_event(DeadlineMissed, due_at=DUE, replied_at="2026-11-28T03:00:00.000Z")) \
        == Outcome.APPLIED
    assert h.deliver(deadline_event(DeadlineMet, due_at=DUE, replied_at="2026-11-27T03:00:00.000Z")) \
        == Outcome.NO_CHANGE
    with pytest.raises(Conflict):
        h.run("remind", params={"key": "t1"}, body={"note": "x"})
    h.at(OVERDUE)
    assert h.deliver(tick(3)) == Outcome.NO_CHANGE            # replied: no reminders
    assert h.outbox.published == []


# -- on-site verification (R10) ----------------------------------------------------------------------------

def registered(key_ticket=True):
    return TicketRegistered(ticket_id="t1", number=NUMBER, channel="phone", type="complain", category="noise",
                            district="tiedong", key_ticket=key_ticket, registered_at="2026-11-27T01:00:00.000Z")


def test_a_ticket_registered_as_key_gets_its_verification_and_the_unit_of_its_deadline(h):
    """Issue 10 (a): escalation reacted to ticket.marked_key only, so a ticket registered with
    key_ticket: true was never verified (R10)."""
    assert h.deliver(registered(key_ticket=False)) == Outcome.NO_CHANGE
    assert h.deliver(registered()) == Outcome.APPLIED
    (required,) = h.data(ev.VerificationRequired)
    assert required["reason"] == "key_ticket" and required["unit_id"] is None
    with pytest.raises(NotFound):                             # no unit yet: not this unit's ticket
        h.run("verifications", HANDLER, params={"key": "t1"})
    with pytest.raises(NotFound):
        h.run("file_verification", HANDLER, params={"key": "t1"}, body=VERIFICATION)
    h.watched()                                               # dispatched: the unit's deadline
    (task,) = h.run("verifications", HANDLER, params={"key": NUMBER})["items"]
    assert task["unit_id"] == ENV and task["state"] == "pending" and task["reason"] == "key_ticket"
    filed = h.run("file_verification", HANDLER, params={"key": NUMBER}, body=VERIFICATION)
    assert filed["state"] == "filed" and filed["record"]["inspector"] == "执法大队王某" and filed["version"] == 3
    (done,) = h.data(ev.VerificationFiled)
    assert done["reason"] == "key_ticket" and done["unit_id"] == ENV


def test_a_key_ticket_registered_after_its_deadline_arrived_gets_the_unit_at_once(h):
    h.watched()
    h.deliver(registered())
    (required,) = h.data(ev.VerificationRequired)
    assert required["unit_id"] == ENV


def test_a_deadline_that_arrives_while_a_key_ticket_task_is_made_still_names_the_unit(h, monkeypatch):
    h.watched()
    reads = []
    real = h.store.watch

    def late_watch(key):                 # the first read misses the deadline arriving concurrently
        reads.append(key)
        return None if len(reads) == 1 else real(key)
    monkeypatch.setattr(h.store, "watch", late_watch)
    h.deliver(registered())
    (required,) = h.data(ev.VerificationRequired)
    assert required["unit_id"] is None
    assert [t["unit_id"] for t in h.run("verifications", HANDLER, params={"key": "t1"})["items"]] == [ENV]


def test_a_deadline_redelivered_after_its_watch_was_written_still_gives_the_waiting_task_its_unit(h, monkeypatch):
    """The first deadline.set wrote the watch and stopped before the key ticket's task got its unit: the
    redelivery (its watch already there, nothing to apply) finishes it. Later deadline events of a
    watched ticket do not read the tasks again (issue 13: one read a ticket)."""
    h.deliver(registered())
    reads = []
    real = h.store.tasks_for

    def stops_once(ticket_id):
        reads.append(ticket_id)
        if len(reads) == 1:
            raise RuntimeError("stopped")
        return real(ticket_id)
    monkeypatch.setattr(h.store, "tasks_for", stops_once)
    event_id = str(uuid.uuid4())
    with pytest.raises(RuntimeError):
        h.deliver(deadline_event(DeadlineSet, due_at=DUE), event_id=event_id)
    assert h.deliver(deadline_event(DeadlineSet, due_at=DUE), event_id=event_id) == Outcome.DUPLICATE
    assert [t["unit_id"] for t in h.run("verifications", HANDLER, params={"key": "t1"})["items"]] == [ENV]
    before = len(reads)
    assert h.deliver(deadline_event(DeadlineChanged, due_at="2026-12-01T09:00:00.000Z", seq=2,
                                    previous_due_date="2026-11-27", reason="calendar")) == Outcome.APPLIED
    assert len(reads) == before


def test_unsatisfied_and_marked_key_tickets_are_verified_by_their_unit(h):
    actor = ActorRef(user_id="op", role="operator")
    reopened = TicketReopened(ticket_id="t1", number=NUMBER, unit_id=ENV, round=2, at="2026-11-27T02:00:00.000Z",
                              actor=actor, reason="unsatisfied")
    event_id = str(uuid.uuid4())
    assert h.deliver(reopened, event_id) == Outcome.APPLIED
    assert h.deliver(reopened, event_id) == Outcome.DUPLICATE
    with pytest.raises(NotFound):   # another unit's ticket is not found, as on every sub-resource (issue 10)
        h.run("verifications", HOUSING, params={"key": "t1"})
    with pytest.raises(NotFound):
        h.run("file_verification", HOUSING, params={"key": "t1"}, body=VERIFICATION)
    with pytest.raises(ValidationFailed):
        h.run("file_verification", HANDLER, params={"key": "t1"}, body={**VERIFICATION, "findings": "无"})
    h.run("file_verification", HANDLER, params={"key": "t1"}, body=VERIFICATION)
    with pytest.raises(Conflict):
        h.run("file_verification", HANDLER, params={"key": "t1"}, body=VERIFICATION)
    marked = TicketMarkedKey(ticket_id="t1", number=NUMBER, unit_id=ENV, reason="群体性投诉",
                             at="2026-11-27T02:00:00.000Z", actor=actor)
    assert h.deliver(marked) == Outcome.APPLIED
    items = h.run("verifications", SUPERVISOR, params={"key": "t1"})["items"]
    assert [(t["reason"], t["state"]) for t in items] == [("unsatisfied", "filed"), ("key_ticket", "pending")]


# -- supervision cases (R14, R15) -----------------------------------------------------------------------

def replied(pending=(), reply_no=f"{NUMBER}-01"):
    return routing_event(TicketReplied, reply_no=reply_no, result="solved", contacted_citizen=True, contributions=[],
                         co_units_pending=list(pending), replied_at="2026-11-28T02:00:00.000Z")


def test_events_that_send_a_ticket_to_the_supervision_centre_open_one_case_each(h):
    challenged = TicketChallenged(ticket_id="t1", number=NUMBER, unit_id=ENV, round=1, at="2026-11-27T02:00:00.000Z",
                                  actor=ActorRef(user_id="op", role="operator"), reason="答复与事实不符")
    event_id = str(uuid.uuid4())
    h.deliver(challenged, event_id)
    h.deliver(challenged, event_id)                          # redelivered: no second case, no number used
    h.deliver(routing_event(CounitDeclined, co_unit="city.housing", co_unit_name="市住建局", reason="非本单位职责",
                            first_responsible=False))
    h.deliver(routing_event(AssignmentRefused, refusing_unit=ENV, category="noise", reason="不归我管"))
    h.deliver(replied(pending=["city.water"]))
    cases = h.run("list_cases", SUPERVISOR, query={})["items"]
    assert sorted((c["trigger"], c["unit_id"]) for c in cases) == [
        ("citizen_challenge", ENV), ("co_unit_declined", "city.housing"), ("co_unit_not_cooperating", "city.water"),
        ("first_responsible_refused", ENV)]
    assert sorted(c["case_no"] for c in cases) == [f"DB2026112700{n:02d}" for n in (1, 2, 3, 4)]
    assert {"id", "case_no", "trigger_label", "age_hours", "age_days", "state", "opened_at", "detail"} <= set(cases[0])
    assert "event_seq" not in cases[0] and "closed_by" not in cases[0]
    assert [c["trigger"] for c in h.run("list_cases", OPERATOR, query={"unit": "city.housing"})["items"]] == [
        "co_unit_declined"]
    with pytest.raises(Forbidden):
        h.run("list_cases", HANDLER, query={})
    with pytest.raises(ValidationFailed):
        h.run("list_cases", SUPERVISOR, query={"limit": 0})


def test_a_report_is_supervised_reinvestigated_followed_and_concluded(h):
    h.watched()
    with pytest.raises(NotFound):
        h.run("report", params={"key": "t2"}, body={"trigger": "improper_handling", "detail": "答复前未依法采取措施"})
    with pytest.raises(ValidationFailed):
        h.run("report", params={"key": "t1"}, body={"trigger": "overdue_ignored", "detail": "xxxxxxx"})
    with pytest.raises(Forbidden):
        h.run("report", SUPERVISOR, params={"key": "t1"}, body={"trigger": "improper_handling", "detail": "答复前未依法采取措施"})
    case = h.run("report", params={"key": NUMBER}, body={"trigger": "improper_handling", "detail": "答复前未依法采取措施"})
    assert case["trigger"] == "improper_handling" and case["unit_id"] == ENV and case["version"] == 1
    assert h.run("get_case", SUPERVISOR, params={"case_id": case["case_no"]})["id"] == case["id"]
    with pytest.raises(NotFound):
        h.run("get_case", SUPERVISOR, params={"case_id": "nope"})
    with pytest.raises(Forbidden):
        h.run("get_case", HANDLER, params={"case_id": case["id"]})
    with pytest.raises(ValidationFailed):                     # a query takes no body
        h.run("get_case", SUPERVISOR, params={"case_id": case["id"]}, body={"x": 1})

    with pytest.raises(Forbidden):
        h.run("order_reinvestigation", OPERATOR, params={"case_id": case["id"]}, body={"instructions": "请夜间突击检查"})
    ordered = h.run("order_reinvestigation", SUPERVISOR, params={"case_id": case["id"]},
                    body={"instructions": "请于夜间突击复查，监测噪音并依法处罚"})
    assert ordered["state"] == "reinvestigating" and ordered["orders"][0]["working_days"] == 10
    assert ordered["version"] == 2
    (order,) = h.data(ev.ReinvestigationOrdered)
    assert order["working_days"] == 10 and order["order"] == 1

    h.deliver(replied(reply_no=f"{NUMBER}-02"))
    followed = h.run("get_case", SUPERVISOR, params={"case_id": case["id"]})
    assert followed["state"] == "open" and followed["orders"][0]["replied"]["reply_no"] == f"{NUMBER}-02"
    closed = h.run("close_case", ADMIN, params={"case_id": case["id"]},
                   body={"conclusion": "经督办复查，噪音源已依法处罚并停业整改，市民认可"})
    assert closed["state"] == "closed" and closed["closed_by"]["user_id"] == "root"
    assert [c["id"] for c in h.run("list_cases", SUPERVISOR, query={"state": "closed"})["items"]] == [case["id"]]
    with pytest.raises(Conflict):
        h.run("close_case", SUPERVISOR, params={"case_id": case["id"]}, body={"conclusion": "再次结案的结论"})
    with pytest.raises(NotFound):
        h.run("close_case", SUPERVISOR, params={"case_id": "nope"}, body={"conclusion": "不存在的督办件"})


# -- accountability (R17) --------------------------------------------------------------------------------

def test_a_record_about_no_ticket_stands_on_its_own(h):
    record = h.run("record_accountability", SUPERVISOR, body={"kind": "evasion", "unit_id": ENV, "person": "周海",
                                                              "note": "对群众反映问题推诿扯皮"})
    assert record["kind_label"] == "推诿扯皮" and record["ticket_id"] is None and record["number"] is None
    (event,) = h.data(ev.AccountabilityRecorded)
    assert event["ticket_id"] is None and event["person"] == "周海"
    assert h.outbox.published[0]["subject"] == ENV
    with pytest.raises(Forbidden):                            # before anything else
        h.run("record_accountability", OPERATOR, body={"kind": "evasion", "unit_id": ENV, "number": "AS404",
                                                       "note": "推诿扯皮"})


def test_a_record_naming_a_ticket_names_one_escalation_knows_by_id_and_number(h):
    """Issue 10 (d): a record about an unknown ticket was accepted (intake then failed on it) and the
    number of a known one was never resolved, so the ticket's timeline did not show it."""
    with pytest.raises(NotFound):
        h.run("record_accountability", SUPERVISOR, body={"kind": "evasion", "unit_id": ENV, "ticket_id": "t404",
                                                         "note": "推诿扯皮"})
    h.watched()
    by_number = h.run("record_accountability", SUPERVISOR, body={"kind": "evasion", "unit_id": ENV, "number": NUMBER,
                                                                 "note": "推诿扯皮"})
    assert (by_number["ticket_id"], by_number["number"]) == ("t1", NUMBER)
    by_id = h.run("record_accountability", ADMIN, body={"kind": "serious_consequences", "unit_id": ENV,
                                                        "ticket_id": "t1", "note": "造成严重后果"})
    assert by_id["number"] == NUMBER and h.outbox.published[-1]["subject"] == NUMBER
    with pytest.raises(ValidationFailed):
        h.run("record_accountability", SUPERVISOR, body={"kind": "evasion", "unit_id": ENV, "ticket_id": "t1",
                                                         "number": "AS999", "note": "推诿扯皮"})
    with pytest.raises(NotFound):
        h.run("record_accountability", SUPERVISOR, body={"kind": "evasion", "unit_id": ENV, "case_id": "nope",
                                                         "note": "推诿扯皮"})
    case = h.run("report", params={"key": "t1"}, body={"trigger": "improper_handling", "detail": "答复前未依法采取措施"})
    by_case = h.run("record_accountability", SUPERVISOR, body={"kind": "evasion", "unit_id": ENV,
                                                               "case_id": case["case_no"], "note": "推诿扯皮"})
    assert (by_case["ticket_id"], by_case["number"], by_case["case_id"]) == ("t1", NUMBER, case["id"])


def test_a_ticket_known_only_by_its_case_or_task_can_be_named(h):
    h.deliver(registered())                                   # a verification task, no deadline yet
    record = h.run("record_accountability", SUPERVISOR, body={"kind": "evasion", "unit_id": ENV, "ticket_id": "t1",
                                                              "note": "推诿扯皮"})
    assert record["number"] == NUMBER


def test_units_see_their_own_records_and_the_centre_any_units(h):
    for unit in (ENV, "city.housing"):
        h.run("record_accountability", SUPERVISOR, body={"kind": "not_cooperating", "unit_id": unit,
                                                         "note": "不配合协办"})
        h.clock.inner.advance(timedelta(minutes=1))
    assert [r["unit_id"] for r in h.run("list_accountability", HANDLER, query={"unit": "city.housing"})["items"]] \
        == [ENV]
    assert [r["unit_id"] for r in h.run("list_accountability", SUPERVISOR, query={})["items"]] == [
        "city.housing", ENV]
    assert len(h.run("list_accountability", SUPERVISOR, query={"limit": "1"})["items"]) == 1
    with pytest.raises(Forbidden):
        h.run("list_accountability", Actor("feed", "subscriber"), query={})


def test_a_record_made_under_an_idempotency_key_is_made_once(h):
    """A redelivered RPC (or a client's retry) under the same key finds the record (issue 9)."""
    body = {"kind": "evasion", "unit_id": ENV, "note": "推诿扯皮"}
    first = h.run("record_accountability", SUPERVISOR, body=body, idempotency_key="key-1")
    again = h.run("record_accountability", SUPERVISOR, body=body, idempotency_key="key-1")
    assert first.pop("created") is True and again.pop("created") is False and again == first
    assert "request_hash" not in first
    assert len(h.data(ev.AccountabilityRecorded)) == 1
    with pytest.raises(ValidationFailed):
        h.run("record_accountability", SUPERVISOR, body={**body, "note": "另一份记录"}, idempotency_key="key-1")
    other = h.run("record_accountability", ADMIN, body=body, idempotency_key="key-1")   # another client's key
    assert other["created"] and other["id"] != first["id"]


def test_two_requests_under_one_key_at_once_make_one_record(h, monkeypatch):
    body = {"kind": "evasion", "unit_id": ENV, "note": "推诿扯皮"}
    real = h.store.record
    monkeypatch.setattr(h.store, "record", lambda record_id: None)   # both looked before either wrote
    first = h.run("record_accountability", SUPERVISOR, body=body, idempotency_key="key-2")
    calls = []

    def misses_once(record_id):                                       # the second one looked too early
        calls.append(record_id)
        return real(record_id) if len(calls) > 1 else None
    monkeypatch.setattr(h.store, "record", misses_once)
    again = h.run("record_accountability", SUPERVISOR, body=body, idempotency_key="key-2")
    assert first["created"] and not again["created"] and again["id"] == first["id"]
    assert len(h.data(ev.AccountabilityRecorded)) == 1
