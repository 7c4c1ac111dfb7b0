"""What each event adds to bulletin's aggregates (R2, R12, R16, R18). Pure.

Bulletin keeps every event as a fact (for the feed, D5, and for rebuilding) and, as each event arrives,
adds it to a few counters. A `Tally` is that decision for one event: which buckets get which counters
(`Count`s), which ticket numbers go on the bulletin's named lists, and what bulletin must remember about
the ticket (its classification, the time of each dispatch, which deadline clocks have been counted
late). The store applies a tally idempotently (each bucket remembers the events it applied); the reports
read the buckets only, never the facts.

Buckets, all keyed by Beijing day:
  cube      day × unit × type × category × district × channel × street: every counter (statistics, R2)
  units     day × unit: every counter, plus the named lists (the bulletin R16, the assessment R18)
  places    day × district: registrations by type, channel, category and street (breakdowns, hot spots R12)
Categories are kept at the code the ticket was registered with (a leaf such as `noise.commercial`, or
a parent); every read rolls children up into their parents (`rollup`), so `noise` counts its own
tickets and all of `noise.*`, and no write is spent on it.

Where an event lacks a ticket's classification (an sla or callback event carries no category), it comes
from bulletin's own record of the ticket, made from `ticket.registered`; an event ahead of that record is
retried (NotYet).
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from hotline_common.errors import NotYet
from hotline_common.messages import Event
from hotline_common.timeutil import local_date, parse_iso
from services.escalation.events import AccountabilityRecorded, ReminderSent, SupervisionOpened
from services.intake.events import CallbackRecorded, TicketClosed, TicketRegistered, TicketReopened
from services.routing.events import AssignmentAccepted, ReturnApproved, TicketDispatched, TicketReplied
from services.sla.events import DeadlineEvent, DeadlineExtended, DeadlineMet, DeadlineMissed, DeadlineOverdue

# Response (响应): the unit signed for (签收) the ticket within this long after the dispatch. The notice
# fixes no response limit and units record no first-contact time yet; see README "Outcome metrics".
RESPONSE_LIMIT = timedelta(hours=24)

# Every counter the buckets keep, with its Chinese name. The metrics (metrics.py) are built from them.
COUNTERS: dict[str, str] = {
    "registered": "受理",
    "dispatched": "交办",
    "accepted": "签收",
    "responded": "24小时内签收",
    "replied": "答复",
    "reply_solved": "答复已解决",
    "reply_explained": "答复已解释",
    "reply_invalid": "答复无效诉求",
    "returned": "退单",
    "due_met": "按期办结",
    "due_late": "超期",
    "overdue": "逾期未答复",
    "missed": "超时反馈",
    "extended": "延期",
    "rated": "有效回访",
    "satisfied": "满意",
    "basically_satisfied": "基本满意",
    "unsatisfied": "不满意",
    "solved": "回访已解决",
    "unsolved": "回访未解决",
    "contacted": "先行联系",
    "unreached": "回访未接通",
    "unit_callbacks": "单位自行回访",
    "reminders": "催办",
    "supervision": "督办",
    "accountability": "问责",
    "reopened": "重办",
    "closed": "办结",
}

# The bulletin's named lists (R16): which tickets name a unit, and what puts a ticket on each.
LISTS: dict[str, str] = {
    "overdue": "超期未答复",         # the deadline passed without a reply (deadline.overdue)
    "unresolved": "未解决",          # the citizen said at the callback it was not solved
    "unsatisfied": "不满意",         # the citizen was unsatisfied at the callback
    "missed": "反馈超时",            # the unit replied after its deadline (deadline.missed)
}

TYPES_CN: dict[str, str] = {"consult": "咨询", "suggest": "建议", "help": "求助", "complain": "投诉", "report": "举报"}
NO_UNIT = ""


@dataclass(frozen=True)
class Dims:
    """How a ticket is classified, as the aggregates group it. Unknown parts are ""."""
    type: str = ""
    category: str = ""
    district: str = ""
    channel: str = ""
    street: str | None = None  # 街道/乡镇 code: intake does not send it yet (see README)


UNKNOWN = Dims()


@dataclass(frozen=True)
class TicketRecord:
    """What bulletin remembers about a ticket: its classification, when each dispatch happened, and
    which deadline clocks (`"<dispatch_no>.<round>"`) were counted late, by which event."""
    ticket_id: str
    number: str
    dims: Dims
    registered_day: str
    dispatches: Mapping[int, str] = field(default_factory=dict)   # dispatch_no -> ISO instant
    late: Mapping[str, str] = field(default_factory=dict)         # clock key -> id of the event that counted it


@dataclass(frozen=True)
class Count:
    """Counters added to one day's buckets for one unit (NO_UNIT: none yet) and one classification."""
    day: str
    unit: str
    dims: Dims
    counters: Mapping[str, int]
    lists: Mapping[str, str] = field(default_factory=dict)    # list name -> ticket number
    registration: bool = False                                # also in the day's place breakdown


@dataclass(frozen=True)
class LateClaim:
    """A deadline clock went past its deadline: counted late once, whichever of deadline.overdue and
    deadline.missed comes first (the count lands on the clock's due date, so the order does not matter)."""
    ticket_id: str
    clock: str
    count: Count


@dataclass(frozen=True)
class Tally:
    counts: tuple[Count, ...] = ()
    new_ticket: TicketRecord | None = None
    dispatch: tuple[int, str] | None = None     # (dispatch_no, ISO instant) to remember
    late: LateClaim | None = None
    unit_name: tuple[str, str] | None = None    # (unit id, name) as the dispatch names it


NOTHING = Tally()


def day_of(instant: str | datetime) -> str:
    return local_date(parse_iso(instant) if isinstance(instant, str) else instant).isoformat()


def category_path(code: str) -> list[str]:
    """`noise.commercial` -> ["noise", "noise.commercial"]: the code and every parent, top first."""
    parts = code.split(".")
    return [".".join(parts[: i + 1]) for i in range(len(parts))] if code else [""]


def rollup(counts: Mapping[str, int]) -> dict[str, int]:
    """Leaf counts by category code -> counts that include every child in its parents."""
    out: dict[str, int] = {}
    for code, n in counts.items():
        for level in category_path(code):
            out[level] = out.get(level, 0) + n
    return out


def add(into: dict[str, int], counters: Mapping[str, int]) -> dict[str, int]:
    for name, n in counters.items():
        into[name] = into.get(name, 0) + n
    return into


# -- one rule per event class that counts ------------------------------------------------------------

def registered(e: TicketRegistered, at: datetime, ticket: TicketRecord | None) -> Tally:
    dims = Dims(e.type, e.category, e.district, e.channel, getattr(e, "street", None))
    day = day_of(e.registered_at)
    record = TicketRecord(e.ticket_id, e.number, dims, day)
    return Tally(counts=(Count(day, NO_UNIT, dims, {"registered": 1}, registration=True),), new_ticket=record)


def dispatched(e: TicketDispatched, at: datetime, ticket: TicketRecord | None) -> Tally:
    t = _need(ticket, e)
    return Tally(counts=(Count(day_of(e.dispatched_at), e.unit_id or NO_UNIT, t.dims, {"dispatched": 1}),),
                 dispatch=(e.dispatch_no, e.dispatched_at),
                 unit_name=(e.unit_id, e.unit_name) if e.unit_id else None)


def accepted(e: AssignmentAccepted, at: datetime, ticket: TicketRecord | None) -> Tally:
    """签收. Response: signed for within RESPONSE_LIMIT of the dispatch it answers, counted on the
    dispatch's day so that the response rate's numerator is part of its denominator."""
    t = _need(ticket, e)
    unit = e.unit_id or NO_UNIT
    dispatched_at = t.dispatches.get(e.state.dispatch_no)
    if dispatched_at is None:
        raise NotYet(f"bulletin has not seen dispatch {e.state.dispatch_no} of {e.number} yet")
    counts = [Count(day_of(e.at), unit, t.dims, {"accepted": 1})]
    if parse_iso(e.at) - parse_iso(dispatched_at) <= RESPONSE_LIMIT:
        counts.append(Count(day_of(dispatched_at), unit, t.dims, {"responded": 1}))
    return Tally(counts=merge(counts))


def replied(e: TicketReplied, at: datetime, ticket: TicketRecord | None) -> Tally:
    t = _need(ticket, e)
    return Tally(counts=(Count(day_of(e.replied_at), e.unit_id or NO_UNIT, t.dims,
                               {"replied": 1, f"reply_{e.result}": 1}),))


def return_approved(e: ReturnApproved, at: datetime, ticket: TicketRecord | None) -> Tally:
    """退单: counted against the unit that returned the ticket (R5)."""
    t = _need(ticket, e)
    return Tally(counts=(Count(day_of(e.at), e.returning_unit, t.dims, {"returned": 1}),))


def deadline_met(e: DeadlineMet, at: datetime, ticket: TicketRecord | None) -> Tally:
    """Replied by the deadline: counted on the due date (the on-time rate is over tickets due in the period)."""
    t = _need(ticket, e)
    return Tally(counts=(Count(e.due_date, e.unit_id, t.dims, {"due_met": 1}),))


def deadline_missed(e: DeadlineMissed, at: datetime, ticket: TicketRecord | None) -> Tally:
    """Replied after the deadline: late feedback (反馈超时) on the reply's day; the clock is late."""
    t = _need(ticket, e)
    return Tally(counts=(Count(day_of(e.replied_at), e.unit_id, t.dims, {"missed": 1}, {"missed": e.number}),),
                 late=_late(t, e))


def deadline_overdue(e: DeadlineOverdue, at: datetime, ticket: TicketRecord | None) -> Tally:
    """The deadline passed without a reply (超期): on the list of the day it happened; the clock is late."""
    t = _need(ticket, e)
    return Tally(counts=(Count(day_of(at), e.unit_id, t.dims, {"overdue": 1}, {"overdue": e.number}),),
                 late=_late(t, e))


def deadline_extended(e: DeadlineExtended, at: datetime, ticket: TicketRecord | None) -> Tally:
    t = _need(ticket, e)
    return Tally(counts=(Count(day_of(at), e.unit_id, t.dims, {"extended": 1}),))


def callback(e: CallbackRecorded, at: datetime, ticket: TicketRecord | None) -> Tally:
    """回访 (R11). The rates count the hotline office's callbacks that have a rating; a unit's own
    callback is counted apart (a unit does not rate itself)."""
    t = _need(ticket, e)
    unit = e.unit_id or NO_UNIT
    if e.by == "unit":
        return Tally(counts=(Count(day_of(e.at), unit, t.dims, {"unit_callbacks": 1}),))
    if not e.reached or e.satisfaction is None:
        return Tally(counts=(Count(day_of(e.at), unit, t.dims, {"unreached": 1}),))
    counters = {"rated": 1, e.satisfaction: 1}
    lists = {}
    if e.satisfaction == "unsatisfied":
        lists["unsatisfied"] = e.number
    if e.solved is True:
        counters["solved"] = 1
    elif e.solved is False:
        counters["unsolved"] = 1
        lists["unresolved"] = e.number
    if e.unit_contacted:
        counters["contacted"] = 1
    return Tally(counts=(Count(day_of(e.at), unit, t.dims, counters, lists),))


def reminder(e: ReminderSent, at: datetime, ticket: TicketRecord | None) -> Tally:
    t = _need(ticket, e)
    return Tally(counts=(Count(day_of(e.at), e.unit_id, t.dims, {"reminders": 1}),))


def supervision(e: SupervisionOpened, at: datetime, ticket: TicketRecord | None) -> Tally:
    t = _need(ticket, e)
    return Tally(counts=(Count(day_of(at), e.unit_id or NO_UNIT, t.dims, {"supervision": 1}),))


def accountability(e: AccountabilityRecorded, at: datetime, ticket: TicketRecord | None) -> Tally:
    dims = ticket.dims if ticket is not None else UNKNOWN
    return Tally(counts=(Count(day_of(e.at), e.unit_id, dims, {"accountability": 1}),))


def reopened(e: TicketReopened, at: datetime, ticket: TicketRecord | None) -> Tally:
    t = _need(ticket, e)
    return Tally(counts=(Count(day_of(e.at), e.unit_id or NO_UNIT, t.dims, {"reopened": 1}),))


def closed(e: TicketClosed, at: datetime, ticket: TicketRecord | None) -> Tally:
    t = _need(ticket, e)
    return Tally(counts=(Count(day_of(e.at), e.unit_id or NO_UNIT, t.dims, {"closed": 1}),))


Rule = Callable[[Any, datetime, "TicketRecord | None"], Tally]

RULES: dict[type[Event], Rule] = {
    TicketRegistered: registered,
    TicketDispatched: dispatched,
    AssignmentAccepted: accepted,
    TicketReplied: replied,
    ReturnApproved: return_approved,
    DeadlineMet: deadline_met,
    DeadlineMissed: deadline_missed,
    DeadlineOverdue: deadline_overdue,
    DeadlineExtended: deadline_extended,
    CallbackRecorded: callback,
    ReminderSent: reminder,
    SupervisionOpened: supervision,
    AccountabilityRecorded: accountability,
    TicketReopened: reopened,
    TicketClosed: closed,
}


def counts(event: Event) -> bool:
    """Whether the event adds to any aggregate (every event is kept as a fact either way)."""
    return type(event) in RULES


def needs_ticket(event: Event) -> str | None:
    """The ticket whose record a counting rule reads (None: the rule reads none, or nothing counts)."""
    if type(event) not in RULES or isinstance(event, TicketRegistered):
        return None
    ticket_id = getattr(event, "ticket_id", None)
    return str(ticket_id) if ticket_id else None


def tally(event: Event, at: datetime, ticket: TicketRecord | None) -> Tally:
    """What one event adds (`at`: the event's time, for events that carry no time of their own)."""
    rule = RULES.get(type(event))
    return rule(event, at, ticket) if rule is not None else NOTHING


def with_dispatch(t: TicketRecord, dispatch_no: int, at: str) -> TicketRecord:
    return replace(t, dispatches={**t.dispatches, dispatch_no: at})


def merge(counts: Iterable[Count]) -> tuple[Count, ...]:
    """Counts for the same bucket added together (one write per bucket)."""
    out: dict[tuple[str, str, Dims, bool], Count] = {}
    for c in counts:
        key = (c.day, c.unit, c.dims, c.registration)
        if key in out:
            prev = out[key]
            out[key] = replace(prev, counters=add(dict(prev.counters), c.counters), lists={**prev.lists, **c.lists})
        else:
            out[key] = c
    return tuple(out.values())


def _late(t: TicketRecord, e: DeadlineEvent) -> LateClaim:
    return LateClaim(t.ticket_id, f"{e.dispatch_no}.{e.round}", Count(e.due_date, e.unit_id, t.dims, {"due_late": 1}))


def _need(ticket: TicketRecord | None, e: Event) -> TicketRecord:
    if ticket is None:
        raise NotYet(f"bulletin has not seen the registration of {getattr(e, 'number', '?')} yet")
    return ticket
