"""The ticket view fed by routing's, sla's and escalation's events: every reaction of intake's table,
over the fake store, and the order guard (events handled out of order)."""
from __future__ import annotations

import inspect
import re

import pytest

from hotline_common.dispatch import Outcome
from hotline_common.messages import ActorRef
from services.escalation import events as esc
from services.intake import view
from services.intake.events import TicketMerged, TicketUnmerged
from services.intake.handlers import HANDLERS
from services.notify.events import NoticeDelivered, NoticeFailed
from services.routing import events as rt
from services.sla import events as sla
from tests.support import validate_event
from tests.unit.test_intake_support import (
    HANDLER,
    OPERATOR,
    deadline,
    deliver,
    envelope_of,
    escalation,
    make_app,
    register,
    routing,
    state,
    ticket,
)

CO = (("city.housing", "市住建局", "pending"),)

# event class -> (how to build it for ticket t, its timeline label, what the view shows after it)
ROUTING_CASES = {
    rt.TicketDispatched: (lambda t: routing(rt.TicketDispatched, t), "交办（第一责任主体）",
                          {"status": "dispatched", "lead_unit": {"id": "city.environment", "name": "市环保局"},
                           "units": ["city.environment"], "first_responsible": True, "dispatch_no": 1, "round": 1}),
    rt.TicketAwaitingDispatch: (lambda t: routing(rt.TicketAwaitingDispatch, t, st=state(
        "awaiting_dispatch", lead=None, dispatch_no=0, first_responsible=False), units=()), "待人工派单",
        {"status": "awaiting_dispatch", "lead_unit": None, "units": [], "dispatch_no": 0}),
    rt.AssignmentAccepted: (lambda t: routing(rt.AssignmentAccepted, t, st=state("accepted")), "签收",
                            {"status": "accepted"}),
    rt.AssignmentReviewed: (lambda t: routing(rt.AssignmentReviewed, t, st=state("reviewed")), "领导阅批",
                            {"status": "reviewed"}),
    rt.TicketReplied: (lambda t: routing(rt.TicketReplied, t, st=state("replied")), "答复",
                       {"status": "replied", "reply": {"reply_no": "AS20261127000001-01", "result": "solved",
                                                       "replied_at": "2026-11-28T02:00:00.000Z"}}),
    rt.ReturnRequested: (lambda t: routing(rt.ReturnRequested, t, st=state("return_requested")), "申请退单",
                         {"status": "return_requested"}),
    rt.ReturnApproved: (lambda t: routing(rt.ReturnApproved, t, st=state(
        "dispatched", lead=("city.housing", "市住建局"), dispatch_no=2), units=("city.housing",)), "退单审核通过",
        {"lead_unit": {"id": "city.housing", "name": "市住建局"}, "units": ["city.housing"], "dispatch_no": 2}),
    rt.ReturnRejected: (lambda t: routing(rt.ReturnRejected, t, st=state("accepted")), "退单被驳回",
                        {"status": "accepted"}),
    rt.AssignmentRefused: (lambda t: routing(rt.AssignmentRefused, t, st=state("dispatched")),
                           "第一责任主体拒不受理，报督办中心", {"status": "dispatched"}),
    rt.CounitAdded: (lambda t: routing(rt.CounitAdded, t, st=state("accepted", co_units=CO),
                                       units=("city.environment", "city.housing")), "增加协办单位",
                     {"co_units": [{"unit_id": "city.housing", "unit_name": "市住建局", "status": "pending"}],
                      "units": ["city.environment", "city.housing"]}),
    rt.CounitAccepted: (lambda t: routing(rt.CounitAccepted, t, st=state(
        "accepted", co_units=(("city.housing", "市住建局", "accepted"),))), "协办单位接受协办",
        {"co_units": [{"unit_id": "city.housing", "unit_name": "市住建局", "status": "accepted"}]}),
    rt.CounitDeclined: (lambda t: routing(rt.CounitDeclined, t, st=state(
        "accepted", co_units=(("city.housing", "市住建局", "declined"),))), "协办单位拒绝协办",
        {"co_units": [{"unit_id": "city.housing", "unit_name": "市住建局", "status": "declined"}]}),
    rt.CounitContributed: (lambda t: routing(rt.CounitContributed, t, st=state(
        "accepted", co_units=(("city.housing", "市住建局", "contributed"),))), "协办单位提交协办意见",
        {"co_units": [{"unit_id": "city.housing", "unit_name": "市住建局", "status": "contributed"}]}),
    rt.AssignmentReopened: (lambda t: routing(rt.AssignmentReopened, t, st=state("dispatched", round=2)),
                            "不满意件重办", {"round": 2, "status": "dispatched"}),
    rt.AssignmentWithdrawn: (lambda t: routing(rt.AssignmentWithdrawn, t, st=state(
        "withdrawn", lead=None, first_responsible=False), units=()), "撤回交办（已并入工单AS20261127000009）",
        {"status": "withdrawn", "lead_unit": None, "units": []}),
}

DEADLINE = {"due_at": "2026-12-25T15:59:59.999Z", "due_date": "2026-12-25", "working_days": 20, "extended_days": 0,
            "started_at": "2026-11-27T02:00:01.000Z", "provisional": False, "provisional_years": [],
            "unit_id": "city.environment", "state": "running"}

SLA_CASES = {
    sla.DeadlineSet: (lambda t: deadline(sla.DeadlineSet, t), "设定办理时限",
                      {"deadline": DEADLINE, "overdue": False, "due_soon": False, "overdue_working_days": 0}),
    sla.DeadlineDueSoon: (lambda t: deadline(sla.DeadlineDueSoon, t), "即将到期提醒", {"due_soon": True}),
    sla.DeadlineOverdue: (lambda t: deadline(sla.DeadlineOverdue, t), "已超期", {"overdue": True}),
    sla.DeadlineStillOverdue: (lambda t: deadline(sla.DeadlineStillOverdue, t), "超期2个工作日",
                               {"overdue": True, "overdue_working_days": 2}),
    sla.DeadlineMet: (lambda t: deadline(sla.DeadlineMet, t, state="met"), "按时办结",
                      {"due_soon": False, "deadline": {**DEADLINE, "state": "met"}}),
    sla.DeadlineMissed: (lambda t: deadline(sla.DeadlineMissed, t, state="missed"), "超期答复",
                         {"due_soon": False, "deadline": {**DEADLINE, "state": "missed"}}),
    sla.DeadlineExtended: (lambda t: deadline(sla.DeadlineExtended, t, extended_days=4), "延期申请获批",
                           {"overdue": False, "due_soon": False, "overdue_working_days": 0,
                            "extension": {"status": "approved", "working_days": 4},
                            "deadline": {**DEADLINE, "extended_days": 4}}),
    sla.DeadlineChanged: (lambda t: deadline(sla.DeadlineChanged, t), "办理时限重新计算", {"deadline": DEADLINE}),
    sla.ExtensionRequested: (lambda t: deadline(sla.ExtensionRequested, t), "申请延期",
                             {"extension": {"status": "pending", "working_days": 4}}),
    sla.ExtensionRejected: (lambda t: deadline(sla.ExtensionRejected, t), "延期申请未获批准",
                            {"extension": {"status": "rejected"}}),
}

ESCALATION_CASES = {
    esc.ReminderSent: (lambda t: escalation(esc.ReminderSent, t), "催办（第1次）", {"reminders_sent": 1}),
    esc.SupervisionOpened: (lambda t: escalation(esc.SupervisionOpened, t), "报市民诉求督办中心督办",
                            {"supervised": True}),
    esc.ReinvestigationOrdered: (lambda t: escalation(esc.ReinvestigationOrdered, t), "督办中心要求重新调查处理", {}),
    esc.SupervisionClosed: (lambda t: escalation(esc.SupervisionClosed, t), "督办结案", {}),
    esc.VerificationRequired: (lambda t: escalation(esc.VerificationRequired, t), "需现场核查", {}),
    esc.VerificationFiled: (lambda t: escalation(esc.VerificationFiled, t), "提交现场核查记录", {}),
    esc.AccountabilityRecorded: (lambda t: escalation(esc.AccountabilityRecorded, t), "记录责任追究", {}),
}

def notice(cls, ticket_id, **fields):
    base = dict(notice_id="n1", ticket_id=ticket_id, number="AS20261127000001", unit_id="city.environment",
                kind="reminder", kind_label="催办通知", cause_type="reminder.sent", cause_id="e1", channel="sms",
                recipient="city.environment.contact", attempts=2, at="2026-11-27T02:00:02.000Z",
                actor=ActorRef(user_id="system", role="system"))
    return cls(**base, **fields)


NOTICE_CASES = {   # issue 15: the notice to the unit's contact, sent or failed, on the ticket's timeline
    NoticeDelivered: (lambda t: notice(NoticeDelivered, t, provider_message_id="m1"),
                      "催办通知已重试1次后发送至承办单位联系人", {}),
    NoticeFailed: (lambda t: notice(NoticeFailed, t, reason="exhausted", error="HTTP 503"), "催办通知发送失败", {}),
}

CASES = {**ROUTING_CASES, **SLA_CASES, **ESCALATION_CASES, **NOTICE_CASES}


def snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def test_the_table_has_one_named_projection_per_consumed_event_class():
    assert set(HANDLERS.events) - {TicketMerged, TicketUnmerged} == set(CASES)  # intake's own: test_front_desk_merge
    for cls, reaction in HANDLERS.events.items():
        if cls in (TicketMerged, TicketUnmerged):
            continue
        projection = getattr(view, f"on_{snake(cls.__name__)}")
        assert reaction.__name__ == projection.__name__
        assert inspect.signature(projection).parameters["e"].annotation == cls.__name__
    assert not [name for name, value in vars(view).items() if callable(value) and getattr(value, "__name__", "") == "<lambda>"]


@pytest.mark.parametrize("cls", list(CASES), ids=lambda c: c.__name__)
def test_every_view_reaction(cls):
    build, label, shown = CASES[cls]
    app = make_app()
    created = register(app)
    event = build(created["id"])
    validate_event(envelope_of(event))                              # a sample the producer could send
    assert deliver(app, event, event_id="evt-1") is Outcome.APPLIED
    after = ticket(app, created["number"])
    line = after["timeline"][-1]
    assert line["label"] == label and line["type"] == cls.TYPE and line["event_id"] == "evt-1"
    for key, value in shown.items():
        assert after[key] == value, key
    assert after["version"] == created["version"] + 1
    assert deliver(app, event, event_id="evt-1") is Outcome.DUPLICATE   # a redelivery changes nothing
    assert ticket(app, created["number"]) == after


def test_timeline_details_and_actors():
    app = make_app()
    t = register(app)
    deliver(app, routing(rt.TicketDispatched, t["id"], manual=True, first_responsible=False,
                         co_units=[rt.UnitRef(unit_id="city.housing", unit_name="市住建局")]))
    deliver(app, deadline(sla.DeadlineSet, t["id"], provisional=True, extended_days=2))
    deliver(app, escalation(esc.VerificationRequired, t["id"]))
    deliver(app, routing(rt.AssignmentReopened, t["id"], seq=2, reason="reinvestigation", round=2,
                         st=state("dispatched", round=2)))
    deliver(app, routing(rt.CounitDeclined, t["id"], seq=3))
    dispatched, set_, verification, reopened, declined = ticket(app, t["number"])["timeline"][1:]
    assert dispatched["label"] == "人工派单"
    assert dispatched["detail"] == {"unit": "市环保局", "dispatch_no": 1, "co_units": ["市住建局"]}
    assert dispatched["actor"] == {"user_id": "u1", "role": "unit_handler", "unit_id": "city.environment"}
    assert set_["detail"] == {"due_date": "2026-12-25", "working_days": 22, "provisional_years": [2027]}
    assert verification["detail"] == {"reason": "重点问题件"} and verification["actor"] == {"role": "system"}
    assert reopened["label"] == "督办中心要求重新调查处理" and reopened["detail"] == {"round": 2}
    assert declined["detail"] == {"co_unit": "市住建局", "reason": "不属于本单位职责"}


def test_an_older_routing_change_only_adds_its_timeline_line():
    """Events can be handled out of order: the view keeps the newest status (seq), yet tells all."""
    app = make_app()
    t = register(app)
    deliver(app, routing(rt.TicketDispatched, t["id"], seq=1))
    deliver(app, routing(rt.AssignmentReviewed, t["id"], seq=3, st=state("reviewed")))
    assert deliver(app, routing(rt.AssignmentAccepted, t["id"], seq=2, st=state("accepted"))) is Outcome.APPLIED
    after = ticket(app, t["number"])
    assert after["status"] == "reviewed"
    assert [e["label"] for e in after["timeline"]] == ["工单登记", "交办（第一责任主体）", "领导阅批", "签收"]
    # the sla clock has an order of its own
    deliver(app, deadline(sla.DeadlineOverdue, t["id"], seq=2))
    deliver(app, deadline(sla.DeadlineSet, t["id"], seq=1))
    assert ticket(app, t["number"])["overdue"] is True


def test_a_unit_sees_the_ticket_once_it_is_dispatched_to_it():
    app = make_app()
    t = register(app)
    from hotline_common.errors import NotFound
    with pytest.raises(NotFound):
        ticket(app, t["number"], HANDLER)
    deliver(app, routing(rt.TicketDispatched, t["id"]))
    assert ticket(app, t["number"], HANDLER)["citizen"]["phone"] == "138****1234"
    assert ticket(app, t["number"], OPERATOR)["citizen"]["phone"] == "13800001234"


def test_events_about_no_ticket_or_an_unknown_one_change_nothing():
    app = make_app()
    assert deliver(app, escalation(esc.AccountabilityRecorded, None)) is Outcome.NO_CHANGE
    assert deliver(app, routing(rt.TicketDispatched, "no-such-ticket")) is Outcome.NO_CHANGE


def test_a_deadline_read_shows_the_facts_sla_sent_and_no_countdown():
    """One read path for the countdown: the gateway asks sla for working_days_left."""
    app = make_app()
    t = register(app)
    assert t["deadline"] is None
    deliver(app, deadline(sla.DeadlineSet, t["id"]))
    assert ticket(app, t["number"])["deadline"] == DEADLINE


def test_timers_fired_at_one_instant_are_shown_in_the_order_they_fell_due():
    """Issue 16: a jump of the clock fires several timers at one instant and two intake replicas record
    them in either order; the timeline shows them as they fell due, every other line where it was."""
    from datetime import UTC, datetime, timedelta

    from services.intake.domain import in_order, timeline_entry
    t0 = datetime(2026, 12, 3, 16, tzinfo=UTC)
    t1 = t0 + timedelta(seconds=3)

    def line(at, kind, days=None):
        return timeline_entry(at, kind, kind, None, {"working_days_overdue": days} if days else {})
    recorded = (line(t0, "ticket.registered"), line(t1, "deadline.still_overdue", 2),
                line(t1, "reminder.sent"), line(t1, "deadline.overdue"), line(t1, "deadline.still_overdue", 1),
                line(t1, "deadline.due_soon"), line(t0 + timedelta(seconds=9), "supervision.opened"))
    shown = [(e.type, e.detail.get("working_days_overdue")) for e in in_order(recorded)]
    assert shown == [("ticket.registered", None), ("deadline.due_soon", None), ("reminder.sent", None),
                     ("deadline.overdue", None), ("deadline.still_overdue", 1), ("deadline.still_overdue", 2),
                     ("supervision.opened", None)]
