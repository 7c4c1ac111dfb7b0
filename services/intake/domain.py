"""Intake rules: registering tickets (R1), their numbers, who sees what, the callback (R11) and key
tickets (R10). How other services' events change the ticket view is in view.py.

Pure: no I/O, no clock reads. Times, ids and numbers come in as arguments. Every decision has the
same shape: `rule(ticket, cmd, *, now, actor, ...) -> (ticket after it, events)`.
"""
from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Literal, TypedDict, cast, get_args

from hotline_common.actors import ADMIN, CITY_ROLES, OPERATOR, Actor
from hotline_common.catalog import Catalog
from hotline_common.errors import Conflict, Forbidden, NotFound, ValidationFailed
from hotline_common.messages import ActorRef, Event, Instant, Role
from hotline_common.timeutil import iso

from .events import (
    CallbackRecorded,
    TicketChallenged,
    TicketClosed,
    TicketMarkedKey,
    TicketRegistered,
    TicketReopened,
)

if TYPE_CHECKING:
    from .commands import MarkKey, RecordCallback, Register, TicketFilters

__all__ = ["Catalog"]  # re-exported for the callers that build a ticket's rules

TICKET_TYPES = {"consult": "咨询", "suggest": "建议", "help": "求助", "complain": "投诉", "report": "举报"}

Channel = Literal["phone", "web", "app", "wechat", "external", "open311"]
CHANNELS: tuple[str, ...] = get_args(Channel)

Satisfaction = Literal["satisfied", "basically_satisfied", "unsatisfied"]
SATISFACTION: dict[str, str] = {"satisfied": "满意", "basically_satisfied": "基本满意", "unsatisfied": "不满意"}


class Status:
    REGISTERED = "registered"
    AWAITING_DISPATCH = "awaiting_dispatch"
    DISPATCHED = "dispatched"
    ACCEPTED = "accepted"
    REVIEWED = "reviewed"
    REPLIED = "replied"
    RETURN_REQUESTED = "return_requested"
    WITHDRAWN = "withdrawn"  # routing took the ticket back from its unit (it was merged into another, 并单)
    CLOSED = "closed"  # 办结: intake's own decision after the callback; shown over the handling status


STATUS_LABELS = {
    Status.REGISTERED: "已登记",
    Status.AWAITING_DISPATCH: "待派单",
    Status.DISPATCHED: "已交办",
    Status.ACCEPTED: "已签收",
    Status.REVIEWED: "已阅批",
    Status.REPLIED: "已答复",
    Status.RETURN_REQUESTED: "退单审核中",
    Status.WITHDRAWN: "已撤回",
    Status.CLOSED: "已办结",
}

# the front desk (issue 12): what intake does with a call (frontdesk.py decides)
DISPOSITIONS = {"dispatch": "交办", "direct_answer": "直接答复", "merged": "并单", "transferred": "转紧急热线",
                "referred": "引导法定途径", "out_of_scope": "非受理范围", "malicious": "恶意骚扰"}
EMERGENCY_LINES = {"110": "公安", "119": "消防", "120": "急救", "122": "交通事故"}
LEGAL_CHANNELS = {"litigation": "诉讼", "arbitration": "仲裁", "petition": "信访", "administrative_review": "行政复议"}
CLOSE_LABELS = {"direct_answer": "直接答复", "transferred": "已转紧急热线", "referred": "已引导法定途径",
                "out_of_scope": "非受理范围", "malicious": "恶意骚扰"}

PHONE = re.compile(r"^(1[3-9]\d{9}|0\d{2,3}-?\d{7,8})$")


# -- the aggregate ---------------------------------------------------------------------------------

@dataclass(frozen=True, kw_only=True)
class Citizen:
    name: str
    phone: str


@dataclass(frozen=True, kw_only=True)
class TimelineEntry:
    """One line of the ticket's story. `actor` is who did it as events carry it ({"role": "system"}
    when nobody did); `event_id` names the other service's event it came from."""
    at: datetime
    type: str
    label: str
    actor: dict[str, Any]
    detail: dict[str, Any] = field(default_factory=dict)
    event_id: str | None = None


@dataclass(frozen=True, kw_only=True)
class UnitRef:
    id: str
    name: str


@dataclass(frozen=True, kw_only=True)
class CoUnit:
    unit_id: str
    unit_name: str
    status: str


@dataclass(frozen=True, kw_only=True)
class ReplySummary:
    """The unit's reply as the view shows it (its text stays in routing)."""
    reply_no: str
    result: str
    replied_at: str | None
    public_summary: str | None = None   # what the unit marked public (shown by the progress lookup)


@dataclass(frozen=True, kw_only=True)
class DeadlineSummary:
    """The deadline as sla last told it (the countdown in working days is sla's, composed by the
    gateway on reading a ticket)."""
    due_at: str
    due_date: str
    working_days: int
    extended_days: int
    started_at: str
    provisional: bool
    provisional_years: tuple[int, ...]
    unit_id: str
    state: str


@dataclass(frozen=True, kw_only=True)
class ExtensionSummary:
    status: Literal["pending", "approved", "rejected"]
    working_days: int | None = None


@dataclass(frozen=True, kw_only=True)
class CallbackEntry:
    """One callback (回访): by the hotline office, or the unit's own (`by_unit`)."""
    at: datetime
    by: dict[str, Any]
    by_unit: bool
    round: int
    attempt: int
    reached: bool
    satisfaction: str | None
    solved: bool | None
    unit_contacted: bool | None
    challenge: bool
    challenge_reason: str | None
    note: str


@dataclass(frozen=True, kw_only=True)
class TicketRef:
    """Another ticket, by id and number (a merge's main ticket, the ticket a follow-up continues)."""
    id: str
    number: str


@dataclass(frozen=True, kw_only=True)
class DirectAnswer:
    """直接答复: the knowledge-base entry (and its revision) an operator answered the call from."""
    entry_id: str
    revision: int
    title: str
    unit_id: str
    note: str = ""


@dataclass(frozen=True, kw_only=True)
class Idempotency:
    key: str
    hash: str


@dataclass(frozen=True, kw_only=True)
class Ticket:
    """A ticket: what intake registered, the view other services' events keep current, and what the
    callback decided. `version` is 0 until stored."""
    id: str
    number: str
    channel: str
    type: str
    category: str
    district: str
    address: str
    citizen: Citizen
    content: str
    key_ticket: bool = False
    key_reason: str | None = None
    external_ref: str | None = None
    status: str = Status.REGISTERED
    created_at: datetime
    registered_by: dict[str, Any]
    timeline: tuple[TimelineEntry, ...] = ()
    version: int = 0
    idempotency: Idempotency | None = None
    # routing's facts (dispatch_no is None until routing has said anything about the ticket)
    units: tuple[str, ...] = ()
    lead_unit: UnitRef | None = None
    co_units: tuple[CoUnit, ...] = ()
    first_responsible: bool = False
    dispatch_no: int | None = None
    round: int = 1
    reply: ReplySummary | None = None
    # sla's facts (None: sla has not said)
    deadline: DeadlineSummary | None = None
    overdue: bool = False
    due_soon: bool | None = None
    overdue_working_days: int | None = None
    extension: ExtensionSummary | None = None
    # the callback's outcome
    callbacks: tuple[CallbackEntry, ...] = ()
    satisfaction: str | None = None
    challenged: bool = False
    closed: bool = False
    close_reason: str | None = None
    closed_at: datetime | None = None
    # the front desk (frontdesk.py): what intake did with the call, merges (并单), follow-ups
    disposition: str = "dispatch"
    disposition_reason: str | None = None
    referred_to: str | None = None
    answer: DirectAnswer | None = None
    merged_into: TicketRef | None = None
    merge_no: int = 0
    follow_up_of: TicketRef | None = None
    fingerprint: str | None = None             # MinHash LSH bands of the content and address (duplicates.py)
    responsible_unit: UnitRef | None = None    # the district that passed the ticket down, still answerable

    @property
    def lead_unit_id(self) -> str | None:
        return self.lead_unit.id if self.lead_unit else None


@dataclass(frozen=True)
class CallbackPolicy:
    max_unreached_attempts: int = 3


# -- small pure helpers ----------------------------------------------------------------------------

def ticket_number(prefix: str, day: date, sequence: int) -> str:
    """Human-readable and unique: city prefix + registration day (Asia/Shanghai) + daily sequence.

    e.g. AS20261127000123; six digits cover a million tickets a day.
    """
    return f"{prefix}{day:%Y%m%d}{sequence:06d}"


FULL_CONTACT_ROLES = (OPERATOR, ADMIN)  # PIPL: the hotline office sees a citizen's name and phone in full


def mask_name(name: str | None) -> str | None:
    """张女士 -> 张**, 欧阳娜娜 -> 欧***: the first character stays (PIPL: show only what a role needs)."""
    if not name:
        return name
    return name[0] + "*" * (len(name) - 1) if len(name) > 1 else "*"


def mask_phone(phone: str | None) -> str | None:
    """138****1234 for mobiles, 0412-***4567 for landlines (PIPL: show only what a role needs)."""
    if not phone:
        return phone
    if len(phone) == 11 and phone.isdigit():
        return f"{phone[:3]}****{phone[-4:]}"
    return f"{phone[:-7]}***{phone[-4:]}" if len(phone) > 7 else "****"


def instant(at: datetime) -> Instant:
    text = iso(at)
    assert text is not None
    return Instant(text)


def actor_ref(actor: Actor) -> ActorRef:
    return ActorRef(user_id=actor.user_id, role=cast(Role, actor.role), unit_id=actor.unit_id)


def timeline_entry(at: datetime, kind: str, label: str, actor: dict[str, Any] | None,
                   detail: dict[str, Any] | None = None, event_id: str | None = None) -> TimelineEntry:
    return TimelineEntry(at=at, type=kind, label=label, actor=actor or {"role": "system"},
                         detail=detail or {}, event_id=event_id)


def request_hash(cmd: Register) -> str:
    """What a repeat under the same Idempotency-Key must match."""
    return hashlib.sha256(json.dumps(cmd.details(), sort_keys=True, default=str).encode()).hexdigest()


# -- R1: registering -------------------------------------------------------------------------------

def register(ticket: Ticket | None, cmd: Register, *, now: datetime, actor: Actor, catalog: Catalog,
             allocate: Callable[[], tuple[str, str]]) -> tuple[Ticket, list[Event]]:
    """R1: a new ticket; its registration event carries no personal data.

    `ticket` is the one registered before under the same Idempotency-Key, if any: the same request
    again gets it back with no events; another request under that key is refused. `allocate()` gives
    a new ticket its id and number (called only when one is created)."""
    actor.require(OPERATOR, ADMIN)
    errors = {}
    for name, known in (("channel", catalog.channels), ("category", catalog.categories),
                        ("district", catalog.districts)):
        if getattr(cmd, name) not in known:
            errors[name] = [f"Must be one of: {', '.join(sorted(known))}."]
    if errors:
        raise ValidationFailed("the request has invalid fields", errors=errors)
    fingerprint = request_hash(cmd)
    if ticket is not None:
        if ticket.idempotency is None or ticket.idempotency.hash != fingerprint:
            raise ValidationFailed("Idempotency-Key was already used with a different request",
                                   errors={"Idempotency-Key": ["reused with a different body"]})
        return ticket, []
    ticket_id, number = allocate()
    registered = Ticket(
        id=ticket_id,
        number=number,
        channel=cmd.channel,
        type=cmd.type,
        category=cmd.category,
        district=cmd.district,
        address=cmd.address or "",
        citizen=Citizen(name=cmd.citizen.name or "", phone=cmd.citizen.phone),
        content=cmd.content,
        key_ticket=cmd.key_ticket,
        external_ref=cmd.external_ref,
        created_at=now,
        registered_by=actor.to_dict(),
        timeline=(timeline_entry(now, TicketRegistered.TYPE, "工单登记", actor.to_dict(),
                                 {"channel": cmd.channel}),),
        idempotency=Idempotency(key=cmd.idempotency_key, hash=fingerprint) if cmd.idempotency_key else None,
    )
    event = TicketRegistered(ticket_id=ticket_id, number=number, channel=cmd.channel, type=cmd.type,
                             category=cmd.category, district=cmd.district, key_ticket=cmd.key_ticket,
                             registered_at=instant(now))
    return registered, [event]


# -- who sees what ---------------------------------------------------------------------------------

def visible_to(ticket: Ticket, actor: Actor) -> bool:
    """Object-level authorisation: city roles see every ticket, a unit only those it handles."""
    if actor.role in CITY_ROLES:
        return True
    if actor.is_unit:
        return actor.unit_id in ticket.units
    return False


def listing_filters(filters: TicketFilters, actor: Actor) -> TicketFilters:
    """A unit lists only its own tickets, whatever it asks for; other roles than the city's list none."""
    if actor.is_unit:
        return replace(filters, unit=actor.unit_id)
    if actor.role not in CITY_ROLES:
        raise Forbidden(f"role {actor.role} does not list tickets")
    return filters


def present(ticket: Ticket, actor: Actor) -> dict[str, Any]:
    """The ticket as `actor` may see it: the citizen's name and phone are masked except for the hotline
    office (a unit that must call back reveals them with a reason: privacy/). Facts nobody has stated
    yet (a reply, a callback, ...) are left out rather than shown empty."""
    full = actor.role in FULL_CONTACT_ROLES
    citizen = {"name": ticket.citizen.name if full else mask_name(ticket.citizen.name),
               "phone": ticket.citizen.phone if full else mask_phone(ticket.citizen.phone)}
    timeline = in_order(ticket.timeline)
    view: dict[str, Any] = {
        "id": ticket.id,
        "number": ticket.number,
        "version": ticket.version,
        "channel": ticket.channel,
        "type": ticket.type,
        "type_label": TICKET_TYPES.get(ticket.type, ticket.type),
        "category": ticket.category,
        "district": ticket.district,
        "address": ticket.address,
        "citizen": citizen,
        "content": ticket.content,
        "key_ticket": ticket.key_ticket,
        "external_ref": ticket.external_ref,
        "status": Status.CLOSED if ticket.closed else ticket.status,
        "created_at": ticket.created_at,
        "registered_by": dict(ticket.registered_by),
        "units": list(ticket.units),
        "lead_unit": _plain(ticket.lead_unit),
        "co_units": _plain(ticket.co_units),
        "deadline": _plain(ticket.deadline),
        "overdue": ticket.overdue,
        "timeline": [_plain(e) for e in timeline],
        "reminders_sent": sum(1 for e in timeline if e.type == "reminder.sent"),
        "supervised": any(e.type == "supervision.opened" for e in timeline),
    }
    label = STATUS_LABELS.get(view["status"], view["status"])
    if ticket.closed:
        view["handling_status"] = ticket.status
        if ticket.close_reason == "unreached":
            label += "（回访未接通）"
        elif ticket.close_reason in CLOSE_LABELS:
            label += f"（{CLOSE_LABELS[ticket.close_reason]}）"
    view["status_label"] = label
    view["disposition"] = ticket.disposition
    view["disposition_label"] = DISPOSITIONS.get(ticket.disposition, ticket.disposition)
    if ticket.dispatch_no is not None:
        view.update(first_responsible=ticket.first_responsible, dispatch_no=ticket.dispatch_no,
                    round=ticket.round)
    if ticket.extension is not None:
        view["extension"] = {k: v for k, v in _plain(ticket.extension).items() if v is not None}
    optional = {"reply": ticket.reply, "due_soon": ticket.due_soon, "overdue_working_days": ticket.overdue_working_days,
                "satisfaction": ticket.satisfaction, "close_reason": ticket.close_reason,
                "closed_at": ticket.closed_at, "key_reason": ticket.key_reason,
                "challenged": ticket.challenged or None, "closed": ticket.closed or None,
                "callbacks": ticket.callbacks or None, "disposition_reason": ticket.disposition_reason,
                "referred_to": ticket.referred_to, "answer": ticket.answer, "merged_into": ticket.merged_into,
                "follow_up_of": ticket.follow_up_of, "responsible_unit": ticket.responsible_unit}
    view.update({k: _plain(v) for k, v in optional.items() if v is not None})
    if "reply" in view and view["reply"].get("public_summary") is None:
        del view["reply"]["public_summary"]  # shown only when the unit marked a summary public (issue 15)
    return view


# sla's timers in the order one firing emits them (services/sla/domain.py: fire): due soon, overdue, then
# still overdue for working day 1, 2, 3 ...
TIMER_ORDER = {"deadline.due_soon": 1, "deadline.overdue": 2, "deadline.still_overdue": 3}


def in_order(timeline: tuple[TimelineEntry, ...]) -> list[TimelineEntry]:
    """The timeline by time; lines of one instant as they were recorded, except sla's timers.

    A jump of the clock fires several timers of a clock at one instant (due soon and overdue; the
    overdue ticks of days 1 and 2), and the view records them as its replicas happen to handle them,
    concurrently (issue 16: "超期2个工作日" was shown before "超期1个工作日"). Those lines keep their places
    and take the order the timers fell due in."""
    lines = sorted(timeline, key=lambda e: e.at)   # stable: one instant as recorded
    groups: dict[datetime, list[int]] = {}
    for index, line in enumerate(lines):
        if line.type in TIMER_ORDER:
            groups.setdefault(line.at, []).append(index)
    for places in groups.values():
        if len(places) > 1:
            timers = sorted((lines[i] for i in places),
                            key=lambda e: (TIMER_ORDER[e.type], e.detail.get("working_days_overdue", 0)))
            for place, line in zip(places, timers, strict=True):
                lines[place] = line
    return lines


def _plain(value: Any) -> Any:
    """Dataclasses as dicts, tuples as lists; instants stay datetimes (the RPC encodes them)."""
    if hasattr(value, "__dataclass_fields__"):
        return {name: _plain(getattr(value, name)) for name in value.__dataclass_fields__}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


# -- callback (R11), unsatisfied and key tickets (R10) ---------------------------------------------

class _Ref(TypedDict):
    """What every event of a callback says about the ticket it is about."""
    ticket_id: str
    number: str
    unit_id: str | None
    round: int
    at: Instant
    actor: ActorRef


def record_callback(ticket: Ticket, cmd: RecordCallback, *, now: datetime, actor: Actor,
                    policy: CallbackPolicy) -> tuple[Ticket, list[Event]]:
    """回访 (R11). The hotline office's callback decides: satisfied closes the ticket (办结); unsatisfied
    sends it back to the unit (重办) with an on-site verification; a reasonable challenge (合理质疑) goes
    to the supervision centre; nobody answering, after the configured attempts, closes it as unreached.
    A unit's own callback (承办单位回访) is recorded and changes nothing else."""
    by_unit = actor.is_unit
    if by_unit and actor.unit_id not in ticket.units:
        raise NotFound(f"ticket {ticket.number} not found")
    if not by_unit:
        actor.require(OPERATOR, ADMIN)
    if ticket.closed:
        raise Conflict("the ticket is closed (已办结)")
    if ticket.status != Status.REPLIED:
        raise Conflict("a callback follows the unit's reply (答复)")
    errors = {}
    if cmd.reached and cmd.satisfaction not in SATISFACTION:
        errors["satisfaction"] = [f"one of {', '.join(SATISFACTION)} when the citizen was reached"]
    if cmd.challenge and len((cmd.challenge_reason or "").strip()) < 6:
        errors["challenge_reason"] = ["what the citizen reasonably challenges (合理质疑), at least 6 characters"]
    if errors:
        raise ValidationFailed("the callback is incomplete", errors=errors)
    round_no = ticket.round
    mine = [c for c in ticket.callbacks if c.round == round_no and not c.by_unit]
    reached = cmd.reached
    entry = CallbackEntry(
        at=now, by=actor.to_dict(), by_unit=by_unit, round=round_no,
        attempt=len(mine) + (0 if by_unit else 1), reached=reached,
        satisfaction=cmd.satisfaction if reached else None,
        solved=cmd.solved if reached else None,
        unit_contacted=cmd.unit_contacted if reached else None,
        challenge=cmd.challenge and reached,
        challenge_reason=(cmd.challenge_reason or "").strip() or None, note=cmd.note or "")
    ref = _Ref(ticket_id=ticket.id, number=ticket.number, unit_id=ticket.lead_unit_id, round=round_no,
               at=instant(now), actor=actor_ref(actor))
    # a merged ticket follows its main ticket's handling (并单): a reopening or a challenge is about that
    handling = _Ref(**{**ref, "ticket_id": ticket.merged_into.id, "number": ticket.merged_into.number}) \
        if ticket.merged_into else ref
    events: list[Event] = [CallbackRecorded(
        **ref, by="unit" if by_unit else "hotline", attempt=entry.attempt, reached=reached,
        satisfaction=cmd.satisfaction if reached else None, solved=entry.solved,
        unit_contacted=entry.unit_contacted, challenge=entry.challenge)]
    after = replace(ticket, callbacks=(*ticket.callbacks, entry))
    if not by_unit and not reached:
        unreached = sum(1 for c in mine if not c.reached) + 1
        if unreached >= policy.max_unreached_attempts:
            after = replace(after, closed=True, close_reason="unreached", closed_at=now)
            events.append(TicketClosed(**ref, reason="unreached"))
    elif not by_unit:
        after = replace(after, satisfaction=cmd.satisfaction)
        if entry.challenge:
            after = replace(after, challenged=True)
            events.append(TicketChallenged(**handling, reason=entry.challenge_reason or ""))
        elif cmd.satisfaction == "satisfied" or cmd.satisfaction == "basically_satisfied":
            after = replace(after, closed=True, close_reason=cmd.satisfaction, closed_at=now)
            events.append(TicketClosed(**ref, reason=cmd.satisfaction))
        elif ticket.disposition == "direct_answer":
            pass  # no unit handled it: the operator registers a follow-up (follow_up_of) to dispatch it
        else:
            events.append(TicketReopened(**handling, reason="unsatisfied"))
    return _with_own_timeline(after, events, now, actor), events


def mark_key(ticket: Ticket, cmd: MarkKey, *, now: datetime, actor: Actor) -> tuple[Ticket, list[Event]]:
    """重点问题件 (R10): an operator marks a ticket as key; it then needs on-site verification."""
    actor.require(OPERATOR, ADMIN)
    if ticket.closed:
        raise Conflict("the ticket is closed (已办结)")
    if ticket.merged_into is not None or ticket.disposition != "dispatch":
        raise Conflict("only a ticket a unit handles on its own is a key ticket; mark its main ticket (并单)")
    if ticket.key_ticket:
        raise Conflict("the ticket is a key ticket already")
    reason = (cmd.reason or "").strip()
    if len(reason) < 4:
        raise ValidationFailed("a reason is required", errors={"reason": ["why this is a key ticket"]})
    events: list[Event] = [TicketMarkedKey(ticket_id=ticket.id, number=ticket.number, unit_id=ticket.lead_unit_id,
                                           reason=reason, at=instant(now), actor=actor_ref(actor))]
    after = replace(ticket, key_ticket=True, key_reason=reason)
    return _with_own_timeline(after, events, now, actor), events


# -- intake's own events on the timeline -------------------------------------------------------------

def own_label(event: Event) -> str:
    """The timeline label of one of intake's own events."""
    if isinstance(event, CallbackRecorded):
        if event.by == "unit":
            return "单位回访"
        if event.reached:
            return f"回访：{SATISFACTION.get(event.satisfaction or '', '')}"
        return f"回访未接通（第{event.attempt}次）"
    if isinstance(event, TicketClosed):
        return "办结" + ("（回访未接通）" if event.reason == "unreached" else "")
    if isinstance(event, TicketReopened):
        return "不满意，退回承办单位重办"
    if isinstance(event, TicketChallenged):
        return "市民对办理结果提出合理质疑"
    if isinstance(event, TicketMarkedKey):
        return "标记为重点问题件"
    raise TypeError(f"not one of intake's own events: {type(event).__name__}")


OWN_DETAIL = ("reason", "satisfaction", "solved", "challenge")


def _with_own_timeline(ticket: Ticket, events: list[Event], now: datetime, actor: Actor) -> Ticket:
    """Timeline entries for intake's own events, written with the change that causes them."""
    entries = []
    for e in events:
        detail = {k: getattr(e, k) for k in OWN_DETAIL if getattr(e, k, None) is not None}
        entries.append(timeline_entry(now, e.TYPE, own_label(e), actor.to_dict(), detail))
    return replace(ticket, timeline=(*ticket.timeline, *entries))



# -- the citizen's progress lookup (issue 15) --------------------------------------------------------

REPLY_RESULT_LABELS = {"solved": "已解决", "explained": "已解释说明", "invalid": "无效诉求"}


def progress_matches(ticket: Ticket | None, number: str, phone_last4: str) -> bool:
    """The ticket registered under this number with a phone ending in these four digits (an erased
    contact matches nothing)."""
    phone = ticket.citizen.phone if ticket is not None else ""
    return (ticket is not None and ticket.number == number and len(phone) >= 4
            and phone[-4:] == phone_last4)


def progress(ticket: Ticket) -> dict[str, Any]:
    """What the citizen may learn without signing in: the status, the unit, the deadline, the reply's
    date and the summary the unit marked public (else only the result's label) — nothing else."""
    status = Status.CLOSED if ticket.closed else ticket.status
    reply = ticket.reply
    return {
        "number": ticket.number,
        "status": status,
        "status_label": STATUS_LABELS.get(status, status),
        "unit": ticket.lead_unit.name if ticket.lead_unit else None,
        "due_date": ticket.deadline.due_date if ticket.deadline else None,
        "replied_at": reply.replied_at if reply else None,
        "reply_summary": (reply.public_summary or REPLY_RESULT_LABELS.get(reply.result, reply.result))
        if reply else None,
    }
