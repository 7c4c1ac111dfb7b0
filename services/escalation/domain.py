"""Escalation rules (R10, R13, R14, R15, R17): reminders, supervision cases, on-site verification,
accountability.

Pure. A `Watch` follows one ticket's deadline (from sla's events) so reminders and escalation are
decided without reading another service's data; decisions depend on the watch's state, not on the
order events arrive in, so a redelivery or a restart never sends a reminder or opens a case twice.

Every decision has the same shape: `rule(aggregate, command_or_event, *, now, actor, ...)` returns
the new aggregate and the events it publishes. A rule that creates an aggregate takes what it is
created from (an `Opening`, a `TicketRef`, a command) in the first place.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Final, Literal, cast

from hotline_common.actors import ADMIN, OPERATOR, SUPERVISOR, UNIT_ROLES, Actor
from hotline_common.errors import Conflict, Forbidden, NotFound, NotYet, ValidationFailed
from hotline_common.messages import ActorRef, Event, Instant, Role, to_jsonable
from hotline_common.timeutil import as_utc, parse_iso
from services.intake.events import TicketChallenged
from services.routing.events import AssignmentRefused, CounitDeclined, TicketReplied
from services.sla.events import (
    DeadlineChanged,
    DeadlineEvent,
    DeadlineExtended,
    DeadlineMet,
    DeadlineMissed,
    DeadlineOverdue,
    DeadlineSet,
    DeadlineStillOverdue,
)

from . import commands as c
from .events import (
    AccountabilityRecorded,
    ReinvestigationOrdered,
    ReminderSent,
    SupervisionClosed,
    SupervisionOpened,
    VerificationFiled,
    VerificationRequired,
)

WatchStatus = Literal["watching", "done"]
CaseStatus = Literal["open", "reinvestigating", "closed"]
TriggerKind = Literal["overdue_ignored", "citizen_challenge", "inadequate_investigation", "improper_handling",
                      "first_responsible_refused", "co_unit_declined", "co_unit_not_cooperating"]
ReminderKind = Literal["auto", "manual"]
VerificationReason = Literal["unsatisfied", "key_ticket"]
TaskStatus = Literal["pending", "filed"]
AccountabilityKind = Literal["evasion", "ignored_reminders", "serious_consequences", "not_cooperating"]


class WatchState:
    WATCHING: Final = "watching"  # a deadline is running
    DONE: Final = "done"          # replied


class CaseState:
    OPEN: Final = "open"                      # waiting for the centre
    REINVESTIGATING: Final = "reinvestigating"  # the unit was ordered to handle it again (R15)
    CLOSED: Final = "closed"


class Trigger:
    """Why a ticket went to the supervision centre (R13, R14)."""
    OVERDUE_IGNORED: Final = "overdue_ignored"                    # 超期经2次催办仍置之不理
    CITIZEN_CHALLENGE: Final = "citizen_challenge"                # 当事人对反馈结果提出合理质疑
    INADEQUATE_INVESTIGATION: Final = "inadequate_investigation"  # 调查不力
    IMPROPER_HANDLING: Final = "improper_handling"                # 处理不当
    FIRST_RESPONSIBLE_REFUSED: Final = "first_responsible_refused"  # 第一责任主体无正当理由拒不受理
    CO_UNIT_DECLINED: Final = "co_unit_declined"                  # 协办单位不接受
    CO_UNIT_NOT_COOPERATING: Final = "co_unit_not_cooperating"    # 协办单位不配合


TRIGGER_LABELS: dict[str, str] = {
    Trigger.OVERDUE_IGNORED: "超过办结时限经2次催办仍置之不理",
    Trigger.CITIZEN_CHALLENGE: "当事人对反馈结果提出合理质疑",
    Trigger.INADEQUATE_INVESTIGATION: "承办单位调查不力",
    Trigger.IMPROPER_HANDLING: "承办单位处理不当",
    Trigger.FIRST_RESPONSIBLE_REFUSED: "第一责任主体无正当理由拒不受理",
    Trigger.CO_UNIT_DECLINED: "协办单位不接受协办",
    Trigger.CO_UNIT_NOT_COOPERATING: "协办单位不配合",
}
REPORTABLE = (Trigger.INADEQUATE_INVESTIGATION, Trigger.IMPROPER_HANDLING)


class Accountability:
    """Kinds of accountability record (R17)."""
    EVASION: Final = "evasion"                        # 推诿扯皮
    IGNORED_REMINDERS: Final = "ignored_reminders"    # 催办后置之不理
    SERIOUS_CONSEQUENCES: Final = "serious_consequences"  # 造成严重后果
    NOT_COOPERATING: Final = "not_cooperating"        # 不接受、不配合


ACCOUNTABILITY_LABELS: dict[str, str] = {
    Accountability.EVASION: "推诿扯皮",
    Accountability.IGNORED_REMINDERS: "催办后置之不理",
    Accountability.SERIOUS_CONSEQUENCES: "工作不力造成严重后果",
    Accountability.NOT_COOPERATING: "不接受、不配合协办",
}
RECORDERS = (SUPERVISOR, ADMIN)  # who records accountability by hand (the supervision centre)


@dataclass(frozen=True)
class ReminderPolicy:
    """config/escalation.yaml (R13)."""
    first_at_overdue: bool = True
    second_after_working_days: int = 2
    escalate_after_working_days: int = 3
    reinvestigation_working_days: int = 10

    def reminder_days(self) -> tuple[int, int]:
        """Working days past the deadline at which the 1st and the 2nd reminder are due. Without a
        reminder at the deadline itself, the two come on two consecutive working days."""
        if self.first_at_overdue:
            return 0, self.second_after_working_days
        return self.second_after_working_days, self.second_after_working_days + 1


def actor_ref(actor: Actor) -> ActorRef:
    return ActorRef(user_id=actor.user_id, role=cast(Role, actor.role), unit_id=actor.unit_id)


def instant(at: datetime) -> Instant:
    return Instant(as_utc(at).isoformat(timespec="milliseconds").replace("+00:00", "Z"))


@dataclass(frozen=True, kw_only=True)
class TicketRef:
    """What escalation knows of a ticket (from the events about it)."""
    ticket_id: str
    number: str
    unit_id: str | None


# -- watches and reminders (R13) -------------------------------------------------------------------

@dataclass(frozen=True, kw_only=True)
class Reminder:
    n: int                     # the ticket's n-th reminder (第n次催办), before or after the deadline
    kind: ReminderKind
    at: datetime
    by: ActorRef
    note: str
    working_days_overdue: int  # what its message says
    overdue: bool              # sent after the time limit had passed: only these count toward R13's two


@dataclass(frozen=True, kw_only=True)
class Watch:
    """One ticket's running deadline, as sla announced it, and what was done about it."""
    ticket_id: str
    number: str
    unit_id: str
    dispatch_no: int
    round: int
    due_at: datetime
    state: WatchStatus = WatchState.WATCHING
    reminders: tuple[Reminder, ...] = ()
    working_days_overdue: int = 0
    escalated: bool = False
    event_seq: int = 0
    deadline_seq: int = 0      # seq of the last deadline (set/extended/changed) event applied
    version: int = 0

    @property
    def clock(self) -> tuple[int, int]:
        return self.dispatch_no, self.round

    @property
    def overdue_reminders(self) -> int:
        """超过办结时限经N次催办: reminders sent after the time limit had passed (R13)."""
        return sum(1 for r in self.reminders if r.overdue)

    @property
    def last_at(self) -> datetime | None:
        """When the last reminder went out: whatever follows it is stamped after it."""
        return self.reminders[-1].at if self.reminders else None

    @property
    def ticket(self) -> TicketRef:
        return TicketRef(ticket_id=self.ticket_id, number=self.number, unit_id=self.unit_id)


def _clock_of(event: DeadlineEvent) -> tuple[int, int]:
    return event.dispatch_no, event.round


def _fresh_watch(event: DeadlineEvent, previous: Watch | None) -> Watch:
    return Watch(ticket_id=event.ticket_id, number=event.number, unit_id=event.unit_id,
                 dispatch_no=event.dispatch_no, round=event.round, due_at=parse_iso(event.due_at),
                 deadline_seq=event.seq, event_seq=previous.event_seq if previous else 0,
                 version=previous.version if previous else 0)


def _older_deadline(watch: Watch, event: DeadlineEvent) -> bool:
    """True for the deadline the watch follows already; Conflict for an older one (late delivery)."""
    if event.seq < watch.deadline_seq or _clock_of(event) < watch.clock:
        raise Conflict(f"{watch.number}: an older deadline than the one watched")
    return event.seq == watch.deadline_seq


def follow_deadline(watch: Watch | None, event: DeadlineSet | DeadlineChanged, *, now: datetime,
                    actor: Actor) -> tuple[Watch, list[Event]]:
    """deadline.set / changed: watch the deadline. A new dispatch or round starts afresh (its
    reminders start from none); the same clock's deadline moved by the calendar keeps its reminders."""
    if watch is None:
        return _fresh_watch(event, None), []
    if _older_deadline(watch, event):
        return watch, []
    if _clock_of(event) > watch.clock:
        return _fresh_watch(event, watch), []
    return replace(watch, due_at=parse_iso(event.due_at), deadline_seq=event.seq), []


def extend_deadline(watch: Watch | None, event: DeadlineExtended, *, now: datetime,
                    actor: Actor) -> tuple[Watch, list[Event]]:
    """deadline.extended: a new deadline (R8); its reminders start from none."""
    if watch is not None and _older_deadline(watch, event):
        return watch, []
    return _fresh_watch(event, watch), []


def _same_clock(watch: Watch, event: DeadlineEvent) -> None:
    if _clock_of(event) > watch.clock:
        raise NotYet(f"{watch.number}: the deadline of dispatch {event.dispatch_no}, round {event.round} "
                     "has not arrived yet")
    if _clock_of(event) < watch.clock:
        raise Conflict(f"{watch.number}: about an older deadline than the one watched")


def _reminder_text(number: str, n: int, days: int) -> str:
    late = f"已超期{days}个工作日" if days else "已超过办理时限"
    return f"【12345热线】您单位承办的工单{number}{late}，请主要领导阅批后尽快办理并答复。（第{n}次催办）"


def _remind(watch: Watch, *, kind: ReminderKind, days: int, overdue: bool, note: str, now: datetime,
            actor: Actor) -> tuple[Watch, list[Event]]:
    n = len(watch.reminders) + 1
    by = actor_ref(actor)
    reminder = Reminder(n=n, kind=kind, at=now, by=by, note=note, working_days_overdue=days, overdue=overdue)
    watch = replace(watch, reminders=watch.reminders + (reminder,), event_seq=watch.event_seq + 1)
    return watch, [ReminderSent(
        ticket_id=watch.ticket_id, number=watch.number, unit_id=watch.unit_id, n=n, kind=kind,
        working_days_overdue=days, note=note, message=_reminder_text(watch.number, n, days), at=instant(now),
        actor=by, seq=watch.event_seq)]


def on_overdue(watch: Watch, tick: DeadlineOverdue | DeadlineStillOverdue, *, now: datetime, actor: Actor,
               policy: ReminderPolicy) -> tuple[Watch, list[Event]]:
    """The deadline passed (overdue) or is `working_days_overdue` working days behind: reminders by
    policy, then the supervision centre (R13).

    One step per tick, whatever the clock did: the next reminder that is due, each saying how late
    the ticket was when it fell due (the 1st at the deadline, the 2nd at `second_after_working_days`);
    or, when both went out before this tick and the grace period is over, `escalated` (the caller
    opens the case: see `escalates`). So after a jump of many working days, the ticks that arrive
    together still produce reminder 1, reminder 2 and the case in that order, in separate changes."""
    _same_clock(watch, tick)
    if watch.state != WatchState.WATCHING:
        return watch, []
    days = tick.working_days_overdue if isinstance(tick, DeadlineStillOverdue) else 0
    watch = replace(watch, working_days_overdue=max(watch.working_days_overdue, days))
    due = policy.reminder_days()
    sent = watch.overdue_reminders
    if sent < len(due) and due[sent] <= watch.working_days_overdue:
        return _remind(watch, kind="auto", days=due[sent], overdue=True, note="", now=now, actor=actor)
    if (not watch.escalated and sent >= len(due)
            and watch.working_days_overdue >= policy.escalate_after_working_days):
        return replace(watch, escalated=True), []
    return watch, []


def escalates(before: Watch, after: Watch) -> bool:
    """The change from `before` to `after` sends the ticket to the supervision centre (R13)."""
    return after.escalated and not before.escalated


def manual_reminder(watch: Watch, cmd: c.Remind, *, now: datetime, actor: Actor) -> tuple[Watch, list[Event]]:
    """An operator presses the unit (催办) about a ticket that is still being handled. Before the
    deadline it is a reminder all the same, but not one of the two after which R13 escalates."""
    actor.require(OPERATOR, ADMIN)
    if watch.state != WatchState.WATCHING:
        raise Conflict("the ticket has been replied to; there is nothing to remind")
    overdue = as_utc(now) >= as_utc(watch.due_at)
    return _remind(watch, kind="manual", days=watch.working_days_overdue if overdue else 0, overdue=overdue,
                   note=cmd.note.strip(), now=now, actor=actor)


def stop_watch(watch: Watch, event: DeadlineMet | DeadlineMissed, *, now: datetime,
               actor: Actor) -> tuple[Watch, list[Event]]:
    """deadline.met / missed: the unit replied; no more reminders for this clock."""
    _same_clock(watch, event)
    if watch.state == WatchState.DONE:
        return watch, []
    return replace(watch, state=WatchState.DONE), []


# -- supervision cases (R13, R14, R15) -------------------------------------------------------------

@dataclass(frozen=True, kw_only=True)
class Opening:
    """Why and about what a case is opened; `case_id` names its cause, so opening is idempotent."""
    case_id: str
    ticket: TicketRef
    trigger: TriggerKind
    detail: str


@dataclass(frozen=True, kw_only=True)
class Reply:
    reply_no: str
    at: datetime


@dataclass(frozen=True, kw_only=True)
class Order:
    """督办中心 orders the unit to investigate and handle again (R15)."""
    n: int
    instructions: str
    working_days: int
    at: datetime
    by: ActorRef
    replied: Reply | None = None


@dataclass(frozen=True, kw_only=True)
class Case:
    case_id: str
    case_no: str
    ticket_id: str
    number: str
    unit_id: str | None
    trigger: TriggerKind
    detail: str
    opened_at: datetime
    opened_by: ActorRef
    state: CaseStatus = CaseState.OPEN
    orders: tuple[Order, ...] = ()
    conclusion: str | None = None
    closed_at: datetime | None = None
    closed_by: ActorRef | None = None
    event_seq: int = 1
    cause: str | None = None
    version: int = 0

    @property
    def trigger_label(self) -> str:
        return TRIGGER_LABELS[self.trigger]


def overdue_opening(watch: Watch) -> Opening:
    """超过办结时限经2次催办仍置之不理 (R13): one case per clock."""
    detail = (f"超过办结时限{watch.working_days_overdue}个工作日，"
              f"经{watch.overdue_reminders}次催办仍未答复")
    return Opening(case_id=f"overdue:{watch.ticket_id}:{watch.dispatch_no}-{watch.round}", ticket=watch.ticket,
                   trigger=Trigger.OVERDUE_IGNORED, detail=detail)


def challenge_opening(event: TicketChallenged, *, cause: str) -> Opening:
    return Opening(case_id=f"challenge:{cause}",
                   ticket=TicketRef(ticket_id=event.ticket_id, number=event.number, unit_id=event.unit_id),
                   trigger=Trigger.CITIZEN_CHALLENGE, detail=f"市民合理质疑：{event.reason}")


def declined_opening(event: CounitDeclined, *, cause: str) -> Opening:
    return Opening(case_id=f"declined:{cause}",
                   ticket=TicketRef(ticket_id=event.ticket_id, number=event.number, unit_id=event.co_unit),
                   trigger=Trigger.CO_UNIT_DECLINED, detail=f"{event.co_unit_name}拒绝协办：{event.reason}")


def refused_opening(event: AssignmentRefused, *, cause: str) -> Opening:
    return Opening(case_id=f"refused:{cause}",
                   ticket=TicketRef(ticket_id=event.ticket_id, number=event.number, unit_id=event.refusing_unit),
                   trigger=Trigger.FIRST_RESPONSIBLE_REFUSED, detail=f"退单理由：{event.reason}；退单被驳回")


def not_cooperating_openings(event: TicketReplied, *, cause: str) -> list[Opening]:
    """The lead unit replied while co-units had not contributed: each of them is not cooperating."""
    return [Opening(case_id=f"not-cooperating:{cause}:{unit}",
                    ticket=TicketRef(ticket_id=event.ticket_id, number=event.number, unit_id=unit),
                    trigger=Trigger.CO_UNIT_NOT_COOPERATING, detail="主办单位答复时该协办单位仍未提交协办意见")
            for unit in event.co_units_pending]


def report_opening(watch: Watch | None, cmd: c.Report, *, case_id: str, actor: Actor) -> Opening:
    """An operator reports inadequate investigation or improper handling (R14)."""
    actor.require(OPERATOR, ADMIN)
    if cmd.trigger not in REPORTABLE:
        raise ValidationFailed("not a trigger an operator reports", errors={"trigger": [
            f"one of {', '.join(REPORTABLE)}"]})
    if watch is None:
        raise NotFound(f"ticket {cmd.key} has not been dispatched")
    return Opening(case_id=case_id, ticket=watch.ticket, trigger=cmd.trigger, detail=cmd.detail)


def open_case(opening: Opening, *, case_no: str, now: datetime, actor: Actor) -> tuple[Case, list[Event]]:
    by = actor_ref(actor)
    case = Case(case_id=opening.case_id, case_no=case_no, ticket_id=opening.ticket.ticket_id,
                number=opening.ticket.number, unit_id=opening.ticket.unit_id, trigger=opening.trigger,
                detail=opening.detail, opened_at=now, opened_by=by, event_seq=1)
    return case, [SupervisionOpened(
        ticket_id=case.ticket_id, number=case.number, unit_id=case.unit_id, case_id=case.case_id,
        case_no=case.case_no, trigger=case.trigger, trigger_label=case.trigger_label, state=case.state,
        detail=case.detail, actor=by, seq=1)]


def order_reinvestigation(case: Case, cmd: c.OrderReinvestigation, *, now: datetime, actor: Actor,
                          policy: ReminderPolicy) -> tuple[Case, list[Event]]:
    """R15: the centre orders the unit to investigate and handle again, with a deadline; the case
    follows the ticket until the centre closes it."""
    actor.require(SUPERVISOR, ADMIN)
    if case.state == CaseState.CLOSED:
        raise Conflict("the case is closed")
    text = cmd.instructions.strip()
    if len(text) < 6:
        raise ValidationFailed("instructions are required", errors={"instructions": [
            "what the unit must investigate again, at least 6 characters"]})
    working_days = cmd.working_days or policy.reinvestigation_working_days
    by = actor_ref(actor)
    order = Order(n=len(case.orders) + 1, instructions=text, working_days=working_days, at=now, by=by)
    case = replace(case, state=CaseState.REINVESTIGATING, orders=case.orders + (order,),
                   event_seq=case.event_seq + 1)
    return case, [ReinvestigationOrdered(
        ticket_id=case.ticket_id, number=case.number, unit_id=case.unit_id, case_id=case.case_id,
        case_no=case.case_no, trigger=case.trigger, trigger_label=case.trigger_label, state=case.state,
        order=order.n, instructions=text, working_days=working_days, actor=by, seq=case.event_seq)]


def follow_reply(case: Case, event: TicketReplied, *, now: datetime, actor: Actor) -> tuple[Case, list[Event]]:
    """The unit replied after the order: the case records it and waits for the centre's conclusion."""
    if case.state != CaseState.REINVESTIGATING or not case.orders:
        return case, []
    last = replace(case.orders[-1], replied=Reply(reply_no=event.reply_no, at=parse_iso(event.replied_at)))
    return replace(case, orders=case.orders[:-1] + (last,), state=CaseState.OPEN), []


def close_case(case: Case, cmd: c.CloseCase, *, now: datetime, actor: Actor) -> tuple[Case, list[Event]]:
    actor.require(SUPERVISOR, ADMIN)
    if case.state == CaseState.CLOSED:
        raise Conflict("the case is closed already")
    text = cmd.conclusion.strip()
    if len(text) < 6:
        raise ValidationFailed("a conclusion is required", errors={"conclusion": [
            "the centre's conclusion (督办结论), at least 6 characters"]})
    by = actor_ref(actor)
    case = replace(case, state=CaseState.CLOSED, conclusion=text, closed_at=now, closed_by=by,
                   event_seq=case.event_seq + 1)
    return case, [SupervisionClosed(
        ticket_id=case.ticket_id, number=case.number, unit_id=case.unit_id, case_id=case.case_id,
        case_no=case.case_no, trigger=case.trigger, trigger_label=case.trigger_label, state=case.state,
        conclusion=text, actor=by, seq=case.event_seq)]


# -- on-site verification (R10) --------------------------------------------------------------------

@dataclass(frozen=True, kw_only=True)
class VerificationRecord:
    inspector: str
    inspected_at: datetime
    findings: str
    responsibility: str
    filed_by: ActorRef
    filed_at: datetime


@dataclass(frozen=True, kw_only=True)
class VerificationTask:
    """现场核查 for an unsatisfied ticket (不满意件) or a key ticket (重点问题件). `unit_id` is None
    while the ticket has no unit yet (a key ticket from its registration): the unit's deadline fills it."""
    task_id: str
    ticket_id: str
    number: str
    unit_id: str | None
    reason: VerificationReason
    created_at: datetime
    state: TaskStatus = "pending"
    record: VerificationRecord | None = None
    version: int = 0


def require_verification(ticket: TicketRef, reason: VerificationReason, *, task_id: str,
                         now: datetime) -> tuple[VerificationTask, list[Event]]:
    task = VerificationTask(task_id=task_id, ticket_id=ticket.ticket_id, number=ticket.number,
                            unit_id=ticket.unit_id, reason=reason, created_at=now)
    return task, [VerificationRequired(ticket_id=task.ticket_id, number=task.number, unit_id=task.unit_id,
                                       task_id=task_id, reason=reason, at=instant(now))]


def assign_unit(task: VerificationTask, watch: Watch, *, now: datetime,
                actor: Actor) -> tuple[VerificationTask, list[Event]]:
    """A task that knew no unit gets the unit whose deadline now runs (a key ticket at registration)."""
    if task.state != "pending" or task.unit_id is not None:
        return task, []
    return replace(task, unit_id=watch.unit_id), []


def file_verification(task: VerificationTask, cmd: c.FileVerification, *, now: datetime,
                      actor: Actor) -> tuple[VerificationTask, list[Event]]:
    """The unit files who checked on site, when, what they found, and whose responsibility it is."""
    if actor.role not in UNIT_ROLES:
        raise Forbidden("the handling unit files its on-site verification")
    if task.unit_id is None or actor.unit_id != task.unit_id:
        raise NotFound(f"ticket {task.number} not found")
    if task.state == "filed":
        raise Conflict("the verification record is filed already")
    errors = {}
    if len(cmd.inspector.strip()) < 2:
        errors["inspector"] = ["who checked on site"]
    if len(cmd.findings.strip()) < 4:
        errors["findings"] = ["what was found on site"]
    if len(cmd.responsibility.strip()) < 4:
        errors["responsibility"] = ["whose responsibility it is (明确责任)"]
    if errors:
        raise ValidationFailed("the verification record is incomplete", errors=errors)
    by = actor_ref(actor)
    record = VerificationRecord(inspector=cmd.inspector.strip(), inspected_at=cmd.inspected_at,
                                findings=cmd.findings.strip(), responsibility=cmd.responsibility.strip(),
                                filed_by=by, filed_at=now)
    task = replace(task, state="filed", record=record)
    return task, [VerificationFiled(
        ticket_id=task.ticket_id, number=task.number, unit_id=task.unit_id, task_id=task.task_id,
        reason=task.reason, inspector=record.inspector, inspected_at=instant(record.inspected_at),
        responsibility=record.responsibility, at=instant(now), actor=by)]


# -- accountability (R17) ----------------------------------------------------------------------------

@dataclass(frozen=True, kw_only=True)
class AccountabilityRecord:
    record_id: str
    kind: AccountabilityKind
    unit_id: str
    person: str | None
    ticket_id: str | None
    number: str | None
    case_id: str | None
    note: str
    recorded_at: datetime
    recorded_by: ActorRef
    automatic: bool
    request_hash: str | None = None   # of the request made under an Idempotency-Key
    version: int = 0

    @property
    def kind_label(self) -> str:
        return ACCOUNTABILITY_LABELS[self.kind]


def _recorded(record: AccountabilityRecord) -> list[Event]:
    return [AccountabilityRecorded(
        record_id=record.record_id, kind=record.kind, kind_label=record.kind_label, unit_id=record.unit_id,
        person=record.person, ticket_id=record.ticket_id, number=record.number, case_id=record.case_id,
        automatic=record.automatic, at=instant(record.recorded_at), actor=record.recorded_by)]


def record_id_for(actor: Actor, idempotency_key: str) -> str:
    """The id of the record a client's Idempotency-Key names (per caller: keys are the client's)."""
    return "k" + hashlib.sha256(f"{actor.user_id}\n{idempotency_key}".encode()).hexdigest()[:23]


def request_hash(cmd: c.RecordAccountability) -> str:
    """What a repeat under the same Idempotency-Key must match."""
    fields = {k: v for k, v in to_jsonable(cmd).items() if k != "idempotency_key"}
    return hashlib.sha256(json.dumps(fields, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def record_accountability(previous: AccountabilityRecord | None, cmd: c.RecordAccountability, *, record_id: str,
                          ticket: TicketRef | None, case: Case | None, now: datetime,
                          actor: Actor) -> tuple[AccountabilityRecord, list[Event]]:
    """The centre records against a unit (and person) (R17). A record about a ticket names the ticket
    as escalation knows it (`ticket`, resolved by the caller from `ticket_id` or `number`; the case's
    ticket when only a case is named), so the ticket's timeline shows it. `previous` is the record
    made before under the same Idempotency-Key: the same request again gets it back, unchanged."""
    actor.require(*RECORDERS)
    fingerprint = request_hash(cmd)
    if previous is not None:
        if previous.request_hash != fingerprint:
            raise ValidationFailed("Idempotency-Key was already used with a different request",
                                   errors={"Idempotency-Key": ["reused with a different body"]})
        return previous, []
    if cmd.kind not in ACCOUNTABILITY_LABELS:
        raise ValidationFailed("unknown kind", errors={"kind": [f"one of {', '.join(ACCOUNTABILITY_LABELS)}"]})
    if ticket is not None and cmd.ticket_id is not None and cmd.number not in (None, ticket.number):
        raise ValidationFailed("ticket_id and number name different tickets", errors={
            "number": [f"the number of ticket {ticket.ticket_id} is {ticket.number}"]})
    if case is not None:
        if ticket is not None and case.ticket_id != ticket.ticket_id:
            raise ValidationFailed("the case is about another ticket", errors={"case_id": [
                f"case {case.case_no} is about ticket {case.number}"]})
        ticket = ticket or TicketRef(ticket_id=case.ticket_id, number=case.number, unit_id=case.unit_id)
    record = AccountabilityRecord(
        record_id=record_id, kind=cmd.kind, unit_id=cmd.unit_id, person=cmd.person,
        ticket_id=ticket.ticket_id if ticket else None, number=ticket.number if ticket else None,
        case_id=case.case_id if case else None, note=cmd.note, recorded_at=now, recorded_by=actor_ref(actor),
        automatic=False, request_hash=fingerprint if cmd.idempotency_key else None)
    return record, _recorded(record)


def ignored_reminders(watch: Watch, case: Case, *, now: datetime,
                      actor: Actor) -> tuple[AccountabilityRecord, list[Event]]:
    """催办后置之不理: recorded automatically with the case the ignored reminders opened (R13, R17)."""
    record = AccountabilityRecord(
        record_id=f"ignored:{watch.ticket_id}:{watch.dispatch_no}-{watch.round}",
        kind=Accountability.IGNORED_REMINDERS, unit_id=watch.unit_id, person=None, ticket_id=watch.ticket_id,
        number=watch.number, case_id=case.case_id, note=case.detail, recorded_at=now,
        recorded_by=actor_ref(actor), automatic=True)
    return record, _recorded(record)
