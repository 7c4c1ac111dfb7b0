"""R10, R11, R13-R15, R17 as pure rules: reminders, cases, verification, callbacks."""
from datetime import datetime, timezone

import pytest

from hotline_common.actors import Actor
from hotline_common.errors import Conflict, Forbidden, NotFound, ValidationFailed
from hotline_common.events import T
from services.escalation import domain as d
from services.intake import domain as intake

NOW = datetime(2026, 11, 27, 2, 0, tzinfo=timezone.utc)
SYSTEM = Actor("system", "system")
OPERATOR = Actor("op", "operator")
SUPERVISOR = Actor("sup", "supervisor")
POLICY = d.ReminderPolicy(second_after_working_days=2, escalate_after_working_days=3)
DEADLINE = {"ticket_id": "t1", "number": "AS20261127000001", "unit_id": "city.environment", "dispatch_no": 1,
            "round": 1, "due_at": "2026-11-27T16:00:00.000Z"}


def run(watch, ticks):
    """Feed overdue (0) and still-overdue ticks; collect reminders and whether it escalated."""
    reminders, escalated = [], []
    for k in ticks:
        watch, events, escalate = d.on_overdue(watch, k, POLICY, NOW, SYSTEM)
        reminders += [e.data["n"] for e in events]
        escalated.append(escalate)
    return watch, reminders, escalated


def test_reminder_at_overdue_second_after_two_working_days_then_supervision():
    watch, reminders, escalated = run(d.watch_from_deadline(DEADLINE), [0, 1, 2, 3, 4])
    assert reminders == [1, 2] and escalated == [False, False, False, True, False]
    message = d.remind(watch, NOW, SYSTEM, "auto")[1].data["message"]
    assert "AS20261127000001已超期4个工作日" in message and "第3次催办" in message


def test_repeated_or_out_of_order_ticks_never_remind_or_escalate_twice():
    watch, reminders, escalated = run(d.watch_from_deadline(DEADLINE), [3, 0, 3, 2, 4, 4])
    assert reminders == [1, 2] and escalated.count(True) == 1


def test_manual_reminders_count_and_stop_after_the_reply():
    watch = d.watch_from_deadline(DEADLINE)
    watch, (event,) = d.manual_reminder(watch, "请尽快处理", NOW, OPERATOR)
    assert event.data["kind"] == "manual" and event.data["n"] == 1
    with pytest.raises(Forbidden):
        d.manual_reminder(watch, "", NOW, Actor("u", "unit_handler", "city.environment"))
    with pytest.raises(Conflict):
        d.manual_reminder({**watch, "state": d.WatchState.DONE}, "", NOW, OPERATOR)


def test_supervision_case_reinvestigation_and_conclusion():
    case, (opened,) = d.open_case("c1", "DB202611270001", DEADLINE, d.Trigger.CITIZEN_CHALLENGE, "质疑", NOW, SYSTEM)
    assert opened.type == T.SUPERVISION_OPENED and opened.data["trigger_label"] == "当事人对反馈结果提出合理质疑"
    with pytest.raises(Forbidden):
        d.order_reinvestigation(case, "重新调查噪音来源", 10, NOW, OPERATOR)
    case, (ordered,) = d.order_reinvestigation(case, "重新调查噪音来源并现场监测", 10, NOW, SUPERVISOR)
    assert ordered.data["working_days"] == 10 and case["state"] == d.CaseState.REINVESTIGATING
    case = d.follow_reply(case, "AS20261127000001-02", NOW)
    assert case["state"] == d.CaseState.OPEN and case["orders"][0]["replied"]["reply_no"].endswith("-02")
    with pytest.raises(ValidationFailed):
        d.close_case(case, "好", NOW, SUPERVISOR)
    case, (closed,) = d.close_case(case, "经重新调查，噪音源已消除，市民认可", NOW, SUPERVISOR)
    assert closed.type == T.SUPERVISION_CLOSED and case["state"] == d.CaseState.CLOSED
    assert d.present_case(case, NOW)["age_hours"] == 0


def test_operators_report_only_inadequate_investigation_or_improper_handling():
    d.report_case(d.Trigger.IMPROPER_HANDLING, OPERATOR)
    with pytest.raises(ValidationFailed):
        d.report_case(d.Trigger.OVERDUE_IGNORED, OPERATOR)
    with pytest.raises(Forbidden):
        d.report_case(d.Trigger.IMPROPER_HANDLING, SUPERVISOR)


def test_verification_is_filed_by_the_unit_with_who_when_findings_and_responsibility():
    task, (required,) = d.verification_task("v1", DEADLINE, "unsatisfied", NOW)
    assert required.type == T.VERIFICATION_REQUIRED
    unit = Actor("c", "unit_handler", "city.environment")
    record = {"inspector": "执法大队王某", "inspected_at": NOW, "findings": "现场噪音超标",
              "responsibility": "商户违规经营，责任在商户"}
    with pytest.raises(NotFound):
        d.file_verification(task, record, NOW, Actor("x", "unit_handler", "city.housing"))
    with pytest.raises(ValidationFailed) as err:
        d.file_verification(task, {**record, "responsibility": ""}, NOW, unit)
    assert "responsibility" in err.value.errors
    task, (filed,) = d.file_verification(task, record, NOW, unit)
    assert filed.type == T.VERIFICATION_FILED and task["state"] == "filed"


def test_accountability_records_are_the_centres():
    with pytest.raises(Forbidden):
        d.accountability_record("r1", {"kind": "evasion", "unit_id": "u"}, NOW, OPERATOR)
    record, (event,) = d.accountability_record("r1", {"kind": "evasion", "unit_id": "city.environment",
                                                      "person": "周海", "note": "推诿"}, NOW, SUPERVISOR)
    assert record["kind_label"] == "推诿扯皮" and event.data["person"] == "周海"


# -- callbacks (intake, R11)

def replied_ticket():
    ticket, _ = intake.register({"channel": "phone", "type": "complain", "category": "noise", "district": "tiedong",
                                 "citizen": {"phone": "13800001234"}, "content": "噪音扰民"}, ticket_id="t1",
                                number="AS1", now=NOW, actor=OPERATOR, catalog=None)
    return {**ticket, "status": "replied", "units": ["city.environment"],
            "lead_unit": {"id": "city.environment", "name": "市环保局"}, "callbacks": []}


CALLBACK = {"reached": True, "satisfaction": "satisfied", "solved": True, "unit_contacted": True, "challenge": False,
            "challenge_reason": "", "note": ""}
POL = intake.CallbackPolicy(max_unreached_attempts=3)


@pytest.mark.parametrize("satisfaction, kinds, closed", [
    ("satisfied", [T.CALLBACK_RECORDED, T.TICKET_CLOSED], True),
    ("basically_satisfied", [T.CALLBACK_RECORDED, T.TICKET_CLOSED], True),
    ("unsatisfied", [T.CALLBACK_RECORDED, T.TICKET_REOPENED], False),
])
def test_callback_outcomes(satisfaction, kinds, closed):
    changes, entry, events = intake.record_callback(replied_ticket(), {**CALLBACK, "satisfaction": satisfaction},
                                                    OPERATOR, NOW, POL)
    assert [e.type for e in events] == kinds and bool(changes.get("closed")) is closed


def test_a_reasonable_challenge_goes_to_supervision_and_keeps_the_ticket_open():
    changes, _, events = intake.record_callback(replied_ticket(), {**CALLBACK, "challenge": True,
                                                                   "challenge_reason": "噪音依旧，答复与事实不符"},
                                                OPERATOR, NOW, POL)
    assert [e.type for e in events] == [T.CALLBACK_RECORDED, T.TICKET_CHALLENGED] and "closed" not in changes


def test_unreached_citizens_are_called_again_then_the_ticket_closes_as_unreached():
    ticket = replied_ticket()
    for attempt in (1, 2, 3):
        changes, entry, events = intake.record_callback(ticket, {**CALLBACK, "reached": False}, OPERATOR, NOW, POL)
        ticket = {**ticket, **changes, "callbacks": ticket["callbacks"] + [entry]}
        assert entry["attempt"] == attempt
    assert ticket["closed"] and ticket["close_reason"] == "unreached" and events[-1].type == T.TICKET_CLOSED
    with pytest.raises(Conflict):
        intake.record_callback(ticket, CALLBACK, OPERATOR, NOW, POL)


def test_units_record_their_own_callbacks_without_closing_and_only_after_the_reply():
    unit = Actor("c", "unit_handler", "city.environment")
    changes, entry, events = intake.record_callback(replied_ticket(), CALLBACK, unit, NOW, POL)
    assert changes == {} and entry["by_unit"] and events[0].data["by"] == "unit"
    with pytest.raises(Conflict):
        intake.record_callback({**replied_ticket(), "status": "accepted"}, CALLBACK, OPERATOR, NOW, POL)
    with pytest.raises(ValidationFailed):
        intake.record_callback(replied_ticket(), {**CALLBACK, "satisfaction": None}, OPERATOR, NOW, POL)
