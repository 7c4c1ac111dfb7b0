"""R10, R13-R15, R17 as pure rules: reminders, cases, verification, accountability. (Intake's callback
rules, R11, which used to be tested here, live in test_intake_domain.py.)"""
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from hotline_common.actors import Actor
from hotline_common.errors import Conflict, Forbidden, NotFound, NotYet, ValidationFailed
from hotline_common.events import T
from services.escalation import commands as c
from services.escalation import domain as d
from services.escalation import events as ev
from services.escalation import schemas
from services.escalation.fakes import deadline_event, routing_event
from services.escalation.handlers import case_view
from services.intake.events import TicketChallenged
from services.routing.events import AssignmentRefused, CounitDeclined, TicketReplied
from services.sla.events import (
    DeadlineChanged,
    DeadlineExtended,
    DeadlineMet,
    DeadlineOverdue,
    DeadlineSet,
    DeadlineStillOverdue,
)

NOW = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)
DUE = datetime(2026, 11, 27, 16, 0, tzinfo=UTC)
LATE = DUE + timedelta(days=5)
SYSTEM = Actor("system", "system")
OPERATOR = Actor("op", "operator")
SUPERVISOR = Actor("sup", "supervisor")
POLICY = d.ReminderPolicy(second_after_working_days=2, escalate_after_working_days=3)
TICKET = d.TicketRef(ticket_id="t1", number="AS20261127000001", unit_id="city.environment")


def watched(**changes):
    watch, events = d.follow_deadline(None, deadline_event(DeadlineSet), now=NOW, actor=SYSTEM)
    assert events == [] and watch.due_at == DUE
    return replace(watch, **changes)


def tick(k, **kwargs):
    if k == 0:
        return deadline_event(DeadlineOverdue, **kwargs)
    return deadline_event(DeadlineStillOverdue, working_days_overdue=k, **kwargs)


def run(watch, ticks, policy=POLICY):
    """Feed overdue (0) and still-overdue ticks; collect reminders, whether it escalated, messages."""
    reminders, escalated, messages = [], [], []
    for k in ticks:
        before = watch
        watch, events = d.on_overdue(watch, tick(k), now=LATE, actor=SYSTEM, policy=policy)
        reminders += [e.n for e in events]
        messages += [e.message for e in events]
        escalated.append(d.escalates(before, watch))
    return watch, reminders, escalated, messages


def test_reminder_at_overdue_second_after_two_working_days_then_supervision():
    watch, reminders, escalated, messages = run(watched(), [0, 1, 2, 3, 4])
    assert reminders == [1, 2] and escalated == [False, False, False, True, False]
    assert "已超过办理时限" in messages[0] and "已超期2个工作日" in messages[1] and "第2次催办" in messages[1]
    _, (event,) = d.manual_reminder(watch, c.Remind(key="t1"), now=LATE, actor=OPERATOR)
    assert "AS20261127000001已超期4个工作日" in event.message and "第3次催办" in event.message
    assert d.overdue_opening(watch).detail == "超过办结时限4个工作日，经2次催办仍未答复"


def test_repeated_or_out_of_order_ticks_never_remind_or_escalate_twice():
    watch, reminders, escalated, messages = run(watched(), [3, 0, 3, 2, 4, 4])
    assert reminders == [1, 2] and escalated.count(True) == 1


def test_after_a_jump_each_reminder_says_how_late_it_was_when_due_and_the_case_waits_for_the_second():
    """Issue 10: ticks that arrive together (any order) gave two reminders both saying 已超期N个工作日,
    and the case in the same change as the second reminder."""
    watch, reminders, escalated, messages = run(watched(), [9, 8, 7, 6, 5, 4, 3, 2, 1, 0])
    assert reminders == [1, 2] and escalated == [False, False, True] + [False] * 7
    assert "已超过办理时限" in messages[0] and "（第1次催办）" in messages[0]
    assert "已超期2个工作日" in messages[1] and "（第2次催办）" in messages[1]
    assert [r.working_days_overdue for r in watch.reminders] == [0, 2]


def test_without_a_reminder_at_the_deadline_the_two_come_on_consecutive_days():
    policy = replace(POLICY, first_at_overdue=False)
    assert policy.reminder_days() == (2, 3)
    watch, reminders, escalated, messages = run(watched(), [0, 1, 2, 3, 4], policy)
    assert reminders == [1, 2] and escalated == [False, False, False, False, True]
    assert "已超期2个工作日" in messages[0] and "已超期3个工作日" in messages[1]


def test_manual_reminders_before_the_deadline_do_not_count_toward_the_two_of_r13():
    """Issue 10: 超过办结时限经2次催办 counts reminders after the time limit only."""
    watch, (event,) = d.manual_reminder(watched(), c.Remind(key="t1", note=" 请尽快处理 "), now=NOW, actor=OPERATOR)
    assert event.kind == "manual" and event.n == 1 and event.note == "请尽快处理" and "已超过办理时限" in event.message
    assert watch.reminders[0].overdue is False and watch.overdue_reminders == 0
    watch, reminders, escalated, messages = run(watch, [0, 1, 2, 3])
    assert reminders == [2, 3] and escalated == [False, False, False, True]
    assert d.overdue_opening(watch).detail == "超过办结时限3个工作日，经2次催办仍未答复"


def test_a_manual_reminder_after_the_deadline_is_one_of_the_two():
    watch, reminders, _, _ = run(watched(), [0, 1])
    watch, (event,) = d.manual_reminder(watch, c.Remind(key="t1"), now=LATE, actor=OPERATOR)
    assert watch.overdue_reminders == 2 and "已超期1个工作日" in event.message
    watch, reminders, escalated, _ = run(watch, [2, 3])
    assert reminders == [] and escalated == [False, True]


def test_manual_reminders_only_by_the_office_and_only_while_handled():
    watch = watched()
    with pytest.raises(Forbidden):
        d.manual_reminder(watch, c.Remind(key="t1"), now=NOW, actor=Actor("u", "unit_handler", "city.environment"))
    with pytest.raises(Conflict):
        d.manual_reminder(replace(watch, state=d.WatchState.DONE), c.Remind(key="t1"), now=NOW, actor=OPERATOR)


def test_a_watch_follows_the_newest_deadline_of_the_newest_clock():
    watch, _, _, _ = run(watched(), [0])
    moved, _ = d.follow_deadline(watch, deadline_event(DeadlineChanged, due_at="2026-11-30T16:00:00.000Z", seq=3,
                                                       previous_due_date="2026-11-27", reason="calendar"),
                                 now=NOW, actor=SYSTEM)
    assert moved.reminders == watch.reminders and moved.due_at.day == 30 and moved.deadline_seq == 3
    assert d.follow_deadline(moved, deadline_event(DeadlineChanged, seq=3, previous_due_date="2026-11-27",
                                                   reason="calendar"), now=NOW, actor=SYSTEM)[0] == moved
    with pytest.raises(Conflict):  # the first deadline.set, delivered late
        d.follow_deadline(moved, deadline_event(DeadlineSet, seq=1), now=NOW, actor=SYSTEM)
    again, _ = d.follow_deadline(moved, deadline_event(DeadlineSet, dispatch_no=2, seq=4), now=NOW, actor=SYSTEM)
    assert again.reminders == () and again.clock == (2, 1) and again.event_seq == watch.event_seq
    extended, _ = d.extend_deadline(watch, deadline_event(DeadlineExtended, seq=5, extension_id="x1",
                                                          extended_working_days=3, previous_due_date="2026-11-27"),
                                    now=NOW, actor=SYSTEM)
    assert extended.reminders == () and not extended.escalated and extended.deadline_seq == 5


def test_ticks_and_replies_of_another_clock():
    watch = watched()
    with pytest.raises(NotYet):  # the new dispatch's deadline.set has not arrived yet
        d.on_overdue(watch, tick(0, dispatch_no=2), now=LATE, actor=SYSTEM, policy=POLICY)
    newer = replace(watch, round=2)
    with pytest.raises(Conflict):
        d.on_overdue(newer, tick(0), now=LATE, actor=SYSTEM, policy=POLICY)
    done, _ = d.stop_watch(watch, deadline_event(DeadlineMet, replied_at="2026-11-27T03:00:00.000Z"),
                           now=NOW, actor=SYSTEM)
    assert done.state == d.WatchState.DONE
    assert d.stop_watch(done, deadline_event(DeadlineMet, replied_at="2026-11-27T03:00:00.000Z"),
                        now=NOW, actor=SYSTEM)[0] == done
    assert d.on_overdue(done, tick(3), now=LATE, actor=SYSTEM, policy=POLICY) == (done, [])


def test_supervision_case_reinvestigation_and_conclusion():
    opening = d.Opening(case_id="c1", ticket=TICKET, trigger=d.Trigger.CITIZEN_CHALLENGE, detail="质疑")
    case, (opened,) = d.open_case(opening, case_no="DB202611270001", now=NOW, actor=SYSTEM)
    assert isinstance(opened, ev.SupervisionOpened) and opened.trigger_label == "当事人对反馈结果提出合理质疑"
    with pytest.raises(Forbidden):
        d.order_reinvestigation(case, c.OrderReinvestigation(case_id="c1", instructions="重新调查噪音来源"),
                                now=NOW, actor=OPERATOR, policy=POLICY)
    with pytest.raises(ValidationFailed):
        d.order_reinvestigation(case, c.OrderReinvestigation(case_id="c1", instructions="重查"),
                                now=NOW, actor=SUPERVISOR, policy=POLICY)
    case, (ordered,) = d.order_reinvestigation(
        case, c.OrderReinvestigation(case_id="c1", instructions="重新调查噪音来源并现场监测"), now=NOW,
        actor=SUPERVISOR, policy=POLICY)
    assert ordered.working_days == 10 and case.state == d.CaseState.REINVESTIGATING
    reply = routing_event(TicketReplied, reply_no="AS20261127000001-02", result="solved", contacted_citizen=True,
                          contributions=[], co_units_pending=[], replied_at="2026-11-28T02:00:00.000Z")
    case, _ = d.follow_reply(case, reply, now=NOW, actor=SYSTEM)
    assert case.state == d.CaseState.OPEN and case.orders[0].replied.reply_no.endswith("-02")
    assert d.follow_reply(case, reply, now=NOW, actor=SYSTEM) == (case, [])
    with pytest.raises(ValidationFailed):
        d.close_case(case, c.CloseCase(case_id="c1", conclusion="好"), now=NOW, actor=SUPERVISOR)
    case, (closed,) = d.close_case(case, c.CloseCase(case_id="c1", conclusion="经重新调查，噪音源已消除，市民认可"),
                                   now=NOW, actor=SUPERVISOR)
    assert isinstance(closed, ev.SupervisionClosed) and case.state == d.CaseState.CLOSED
    assert case_view(case, NOW)["age_hours"] == 0
    with pytest.raises(Conflict):
        d.close_case(case, c.CloseCase(case_id="c1", conclusion="再次结案的结论"), now=NOW, actor=SUPERVISOR)
    with pytest.raises(Conflict):
        d.order_reinvestigation(case, c.OrderReinvestigation(case_id="c1", instructions="重新调查噪音来源"),
                                now=NOW, actor=SUPERVISOR, policy=POLICY)


def test_events_that_open_a_case_say_why():
    challenged = TicketChallenged(ticket_id="t1", number="AS1", unit_id="city.environment", round=1,
                                  at="2026-11-27T02:00:00.000Z", actor=d.actor_ref(OPERATOR), reason="答复与事实不符")
    assert d.challenge_opening(challenged, cause="e1").detail == "市民合理质疑：答复与事实不符"
    declined = routing_event(CounitDeclined, co_unit="city.housing", co_unit_name="市住建局", reason="非本单位职责",
                             first_responsible=False)
    opening = d.declined_opening(declined, cause="e2")
    assert opening.ticket.unit_id == "city.housing" and opening.detail == "市住建局拒绝协办：非本单位职责"
    refused = routing_event(AssignmentRefused, refusing_unit="city.environment", category="noise", reason="不归我管")
    assert d.refused_opening(refused, cause="e3").detail == "退单理由：不归我管；退单被驳回"
    replied = routing_event(TicketReplied, reply_no="AS1-01", result="solved", contacted_citizen=True, contributions=[],
                            co_units_pending=["city.housing", "city.water"], replied_at="2026-11-27T02:00:00.000Z")
    assert [o.case_id for o in d.not_cooperating_openings(replied, cause="e4")] == [
        "not-cooperating:e4:city.housing", "not-cooperating:e4:city.water"]


def test_operators_report_only_inadequate_investigation_or_improper_handling():
    report = c.Report(key="t1", trigger=d.Trigger.IMPROPER_HANDLING, detail="处理不当的详细说明")
    assert d.report_opening(watched(), report, case_id="r1", actor=OPERATOR).ticket == TICKET
    with pytest.raises(ValidationFailed):
        d.report_opening(watched(), replace(report, trigger=d.Trigger.OVERDUE_IGNORED), case_id="r1", actor=OPERATOR)
    with pytest.raises(Forbidden):
        d.report_opening(watched(), report, case_id="r1", actor=SUPERVISOR)
    with pytest.raises(NotFound):
        d.report_opening(None, report, case_id="r1", actor=OPERATOR)


VERIFICATION = c.FileVerification(key="t1", inspector="执法大队王某", inspected_at=NOW, findings="现场噪音超标",
                                  responsibility="商户违规经营，责任在商户")


def test_verification_is_filed_by_the_unit_with_who_when_findings_and_responsibility():
    task, (required,) = d.require_verification(TICKET, "unsatisfied", task_id="v1", now=NOW)
    assert isinstance(required, ev.VerificationRequired)
    unit = Actor("c", "unit_handler", "city.environment")
    with pytest.raises(NotFound):
        d.file_verification(task, VERIFICATION, now=NOW, actor=Actor("x", "unit_handler", "city.housing"))
    with pytest.raises(Forbidden):
        d.file_verification(task, VERIFICATION, now=NOW, actor=OPERATOR)
    with pytest.raises(ValidationFailed) as err:
        d.file_verification(task, replace(VERIFICATION, responsibility="", inspector="王", findings="无"),
                            now=NOW, actor=unit)
    assert set(err.value.errors) == {"responsibility", "inspector", "findings"}
    task, (filed,) = d.file_verification(task, VERIFICATION, now=NOW, actor=unit)
    assert isinstance(filed, ev.VerificationFiled) and task.state == "filed"
    with pytest.raises(Conflict):
        d.file_verification(task, VERIFICATION, now=NOW, actor=unit)


def test_a_task_without_a_unit_gets_the_unit_of_the_deadline_and_no_one_files_it_before():
    task, (required,) = d.require_verification(replace(TICKET, unit_id=None), "key_ticket", task_id="k1", now=NOW)
    assert required.unit_id is None
    with pytest.raises(NotFound):
        d.file_verification(task, VERIFICATION, now=NOW, actor=Actor("c", "unit_handler", "city.environment"))
    task, events = d.assign_unit(task, watched(), now=NOW, actor=SYSTEM)
    assert task.unit_id == "city.environment" and events == []
    assert d.assign_unit(task, watched(unit_id="city.housing"), now=NOW, actor=SYSTEM)[0] == task


def test_accountability_records_are_the_centres():
    record = c.RecordAccountability(kind="evasion", unit_id="city.environment", person="周海", note="推诿扯皮")
    with pytest.raises(Forbidden):
        d.record_accountability(None, record, record_id="r1", ticket=None, case=None, now=NOW, actor=OPERATOR)
    made, (event,) = d.record_accountability(None, record, record_id="r1", ticket=None, case=None, now=NOW,
                                             actor=SUPERVISOR)
    assert made.kind_label == "推诿扯皮" and event.person == "周海" and event.ticket_id is None
    with pytest.raises(ValidationFailed):
        d.record_accountability(None, replace(record, kind="bribery"), record_id="r1", ticket=None, case=None, now=NOW,
                                actor=SUPERVISOR)


def test_a_record_names_its_ticket_by_id_and_number_consistently():
    record = c.RecordAccountability(kind="evasion", unit_id="city.environment", note="推诿扯皮", number="AS1")
    made, (event,) = d.record_accountability(None, record, record_id="r1", ticket=TICKET, case=None, now=NOW,
                                             actor=SUPERVISOR)
    assert (event.ticket_id, event.number) == ("t1", "AS20261127000001")
    with pytest.raises(ValidationFailed):
        d.record_accountability(None, replace(record, ticket_id="t1", number="AS999"), record_id="r1", ticket=TICKET,
                                case=None, now=NOW, actor=SUPERVISOR)
    case, _ = d.open_case(d.Opening(case_id="c1", ticket=replace(TICKET, ticket_id="t2", number="AS2"),
                                    trigger=d.Trigger.IMPROPER_HANDLING, detail="处理不当"),
                          case_no="DB202611270001", now=NOW, actor=OPERATOR)
    with pytest.raises(ValidationFailed):
        d.record_accountability(None, record, record_id="r1", ticket=TICKET, case=case, now=NOW, actor=SUPERVISOR)
    made, _ = d.record_accountability(None, replace(record, number=None), record_id="r1", ticket=None, case=case,
                                      now=NOW, actor=SUPERVISOR)
    assert (made.ticket_id, made.number, made.case_id) == ("t2", "AS2", "c1")


def test_a_repeat_under_the_same_idempotency_key_gets_the_first_record_back():
    record = c.RecordAccountability(kind="evasion", unit_id="city.environment", note="推诿扯皮", idempotency_key="k1")
    record_id = d.record_id_for(SUPERVISOR, "k1")
    assert record_id != d.record_id_for(Actor("sup2", "supervisor"), "k1")
    made, events = d.record_accountability(None, record, record_id=record_id, ticket=None, case=None, now=NOW,
                                           actor=SUPERVISOR)
    assert events and made.request_hash == d.request_hash(replace(record, idempotency_key="other"))
    assert d.record_accountability(made, record, record_id=record_id, ticket=None, case=None, now=NOW,
                                   actor=SUPERVISOR) == (made, [])
    with pytest.raises(ValidationFailed):
        d.record_accountability(made, replace(record, note="另一份记录"), record_id=record_id, ticket=None, case=None,
                                now=NOW, actor=SUPERVISOR)


def test_the_edge_and_the_domain_name_the_same_kinds_and_triggers():
    assert set(schemas.ACCOUNTABILITY_KINDS) == set(d.ACCOUNTABILITY_LABELS)
    assert set(schemas.REPORTABLE) == set(d.REPORTABLE)
    assert set(schemas.CASE_STATES) == {d.CaseState.OPEN, d.CaseState.REINVESTIGATING, d.CaseState.CLOSED}
    assert ev.ReminderSent.full_type() == T.REMINDER_SENT
