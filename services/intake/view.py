"""The ticket view: how other services' events change what people see on a ticket.

One named function per event class intake consumes, `on_<event>(e) -> ViewChange`: the facts the
event sets on the ticket (Ticket field -> new value) and the line it adds to the timeline.
handlers.py maps each event class to its function and applies the change (`store.apply_view`).

Routing's and sla's events carry the state after them and an order (`seq`, one per assignment or
clock): a change older than what the view shows only adds its timeline line (see ViewChange).
Escalation's events add to the timeline only; the view's summary of them (reminders sent,
supervised) is derived when the ticket is presented.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from services.escalation.events import (
    AccountabilityRecorded,
    ReinvestigationOrdered,
    ReminderSent,
    SupervisionClosed,
    SupervisionOpened,
    VerificationFiled,
    VerificationRequired,
)
from services.notify.events import NoticeDelivered, NoticeFailed
from services.routing.events import (
    AssignmentAccepted,
    AssignmentRefused,
    AssignmentReopened,
    AssignmentReviewed,
    AssignmentWithdrawn,
    CounitAccepted,
    CounitAdded,
    CounitContributed,
    CounitDeclined,
    ReturnApproved,
    ReturnRejected,
    ReturnRequested,
    RoutingEvent,
    TicketAwaitingDispatch,
    TicketDispatched,
    TicketReplied,
)
from services.sla.events import (
    DeadlineChanged,
    DeadlineDueSoon,
    DeadlineEvent,
    DeadlineExtended,
    DeadlineMet,
    DeadlineMissed,
    DeadlineOverdue,
    DeadlineSet,
    DeadlineStillOverdue,
    ExtensionRejected,
    ExtensionRequested,
)

from .domain import CoUnit, DeadlineSummary, ExtensionSummary, ReplySummary, UnitRef

REOPEN_LABELS = {"unsatisfied": "不满意件重办", "reinvestigation": "督办中心要求重新调查处理"}
VERIFICATION_REASONS = {"unsatisfied": "不满意件", "key_ticket": "重点问题件"}


@dataclass(frozen=True)
class ViewChange:
    """What one event does to the view: `changes` (Ticket field -> value) and its timeline line
    (`label`, `detail`). `source`/`seq` order the changes from one service: a change older than
    what the view already shows (events can be handled out of order) only adds its timeline line."""
    label: str
    detail: dict[str, Any] = field(default_factory=dict)
    changes: dict[str, Any] = field(default_factory=dict)
    source: str | None = None
    seq: int | None = None


# -- routing: every event carries the assignment's state after it ----------------------------------

def _routing(e: RoutingEvent, label: str, detail: dict[str, Any], **more: Any) -> ViewChange:
    state = e.state
    lead = UnitRef(id=state.lead_unit.id, name=state.lead_unit.name) if state.lead_unit else None
    parent = UnitRef(id=state.responsible_unit.id, name=state.responsible_unit.name) if state.responsible_unit else None
    changes = {"status": state.status, "lead_unit": lead, "responsible_unit": parent,
               "co_units": tuple(CoUnit(unit_id=c.unit_id, unit_name=c.unit_name, status=c.status)
                                 for c in state.co_units),
               "first_responsible": state.first_responsible, "units": tuple(e.units),
               "dispatch_no": state.dispatch_no, "round": state.round, **more}
    return ViewChange(label, detail, changes, "routing", e.seq)


def _co_unit(e: CounitAdded | CounitAccepted | CounitDeclined | CounitContributed, label: str) -> ViewChange:
    reason = getattr(e, "reason", None)
    return _routing(e, label, {"co_unit": e.co_unit_name, **({"reason": reason} if reason else {})})


DISPATCH_LABELS = {"redispatch": "改派", "pass_down": "下派街道（乡镇）", "unmerged": "撤销并单后交办"}


def on_ticket_dispatched(e: TicketDispatched) -> ViewChange:
    label = DISPATCH_LABELS.get(e.kind) or ("人工派单" if e.manual else "交办")
    if e.first_responsible and e.kind not in ("redispatch", "pass_down"):
        label += "（第一责任主体）"
    detail: dict[str, Any] = {"unit": e.unit_name, "dispatch_no": e.dispatch_no}
    if e.co_units:
        detail["co_units"] = [c.unit_name for c in e.co_units]
    if e.kind in ("redispatch", "pass_down"):
        detail.update(previous_unit=e.previous_unit, reason=e.reason, keeps_deadline=e.keeps_deadline)
    return _routing(e, label, detail)


def on_assignment_withdrawn(e: AssignmentWithdrawn) -> ViewChange:
    """并单: the ticket's own dispatch is withdrawn (its view shows the main ticket's handling)."""
    return _routing(e, f"撤回交办（已并入工单{e.main_number}）", {"previous_unit": e.previous_unit})


def on_ticket_awaiting_dispatch(e: TicketAwaitingDispatch) -> ViewChange:
    return _routing(e, "待人工派单", {"reason": e.reason})


def on_assignment_accepted(e: AssignmentAccepted) -> ViewChange:
    return _routing(e, "签收", {})


def on_assignment_reviewed(e: AssignmentReviewed) -> ViewChange:
    return _routing(e, "领导阅批", {"reviewer": e.reviewer, "title": e.reviewer_title})


def on_ticket_replied(e: TicketReplied) -> ViewChange:
    return _routing(e, "答复", {"reply_no": e.reply_no, "result": e.result},
                    reply=ReplySummary(reply_no=e.reply_no, result=e.result, replied_at=e.replied_at,
                                       public_summary=e.public_summary))


def on_return_requested(e: ReturnRequested) -> ViewChange:
    return _routing(e, "申请退单", {"reason": e.reason})


def on_return_approved(e: ReturnApproved) -> ViewChange:
    return _routing(e, "退单审核通过", {"note": e.note})


def on_return_rejected(e: ReturnRejected) -> ViewChange:
    return _routing(e, "退单被驳回", {"note": e.note})


def on_assignment_refused(e: AssignmentRefused) -> ViewChange:
    return _routing(e, "第一责任主体拒不受理，报督办中心", {"reason": e.reason})


def on_counit_added(e: CounitAdded) -> ViewChange:
    return _co_unit(e, "增加协办单位")


def on_counit_accepted(e: CounitAccepted) -> ViewChange:
    return _co_unit(e, "协办单位接受协办")


def on_counit_declined(e: CounitDeclined) -> ViewChange:
    return _co_unit(e, "协办单位拒绝协办")


def on_counit_contributed(e: CounitContributed) -> ViewChange:
    return _co_unit(e, "协办单位提交协办意见")


def on_assignment_reopened(e: AssignmentReopened) -> ViewChange:
    return _routing(e, REOPEN_LABELS.get(e.reason, "重新办理"), {"round": e.round})


# -- sla: every event carries the clock's deadline after it -----------------------------------------

def _deadline(e: DeadlineEvent, label: str, detail: dict[str, Any], **flags: Any) -> ViewChange:
    deadline = DeadlineSummary(due_at=e.due_at, due_date=e.due_date, working_days=e.working_days,
                               extended_days=e.extended_days, started_at=e.started_at, provisional=e.provisional,
                               provisional_years=tuple(e.provisional_years), unit_id=e.unit_id, state=e.state)
    return ViewChange(label, detail, {"deadline": deadline, **flags}, "sla", e.seq)


def _due(e: DeadlineEvent) -> dict[str, Any]:
    """The deadline as a timeline line shows it: the day, the working days it counts in all."""
    return {"due_date": e.due_date, "working_days": e.working_days + e.extended_days,
            **({"provisional_years": list(e.provisional_years)} if e.provisional else {})}


def on_deadline_set(e: DeadlineSet) -> ViewChange:
    return _deadline(e, "设定办理时限", _due(e), overdue=False, due_soon=False, overdue_working_days=0)


def on_deadline_due_soon(e: DeadlineDueSoon) -> ViewChange:
    return _deadline(e, "即将到期提醒", _due(e), due_soon=True)


def on_deadline_overdue(e: DeadlineOverdue) -> ViewChange:
    return _deadline(e, "已超期", _due(e), overdue=True)


def on_deadline_still_overdue(e: DeadlineStillOverdue) -> ViewChange:
    return _deadline(e, f"超期{e.working_days_overdue}个工作日", {"working_days_overdue": e.working_days_overdue},
                     overdue=True, overdue_working_days=e.working_days_overdue)


def on_deadline_met(e: DeadlineMet) -> ViewChange:
    return _deadline(e, "按时办结", {}, due_soon=False)


def on_deadline_missed(e: DeadlineMissed) -> ViewChange:
    return _deadline(e, "超期答复", {}, due_soon=False)


def on_deadline_extended(e: DeadlineExtended) -> ViewChange:
    return _deadline(e, "延期申请获批", {**_due(e), "extended_working_days": e.extended_working_days},
                     overdue=False, due_soon=False, overdue_working_days=0,
                     extension=ExtensionSummary(status="approved", working_days=e.extended_working_days))


def on_deadline_changed(e: DeadlineChanged) -> ViewChange:
    return _deadline(e, "办理时限重新计算", {**_due(e), "previous_due_date": e.previous_due_date})


def on_extension_requested(e: ExtensionRequested) -> ViewChange:
    return _deadline(e, "申请延期", {"working_days": e.requested_working_days, "reason": e.reason},
                     extension=ExtensionSummary(status="pending", working_days=e.requested_working_days))


def on_extension_rejected(e: ExtensionRejected) -> ViewChange:
    return _deadline(e, "延期申请未获批准", {"note": e.note}, extension=ExtensionSummary(status="rejected"))


# -- escalation: the timeline only (several aggregates there: no single order to guard) -------------

def on_notice_delivered(e: NoticeDelivered) -> ViewChange:
    retried = f"重试{e.attempts - 1}次后" if e.attempts > 1 else ""
    return ViewChange(f"{e.kind_label}已{retried}发送至承办单位联系人",
                      {"kind": e.kind, "channel": e.channel, "recipient": e.recipient, "attempts": e.attempts})


def on_notice_failed(e: NoticeFailed) -> ViewChange:
    return ViewChange(f"{e.kind_label}发送失败",
                      {"kind": e.kind, "reason": e.reason, "error": e.error, "attempts": e.attempts,
                       "recipient": e.recipient})


def on_reminder_sent(e: ReminderSent) -> ViewChange:
    return ViewChange(f"催办（第{e.n}次）", {"message": e.message, "kind": e.kind})


def on_supervision_opened(e: SupervisionOpened) -> ViewChange:
    return ViewChange("报市民诉求督办中心督办", {"case_no": e.case_no, "trigger": e.trigger_label})


def on_reinvestigation_ordered(e: ReinvestigationOrdered) -> ViewChange:
    return ViewChange("督办中心要求重新调查处理", {"case_no": e.case_no, "working_days": e.working_days})


def on_supervision_closed(e: SupervisionClosed) -> ViewChange:
    return ViewChange("督办结案", {"case_no": e.case_no, "conclusion": e.conclusion})


def on_verification_required(e: VerificationRequired) -> ViewChange:
    return ViewChange("需现场核查", {"reason": VERIFICATION_REASONS.get(e.reason, e.reason)})


def on_verification_filed(e: VerificationFiled) -> ViewChange:
    return ViewChange("提交现场核查记录", {"inspector": e.inspector, "responsibility": e.responsibility})


def on_accountability_recorded(e: AccountabilityRecorded) -> ViewChange:
    return ViewChange("记录责任追究", {"kind": e.kind_label})
