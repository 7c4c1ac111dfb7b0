"""Deadline rules (R7, R8): time limits in working days, one clock per ticket, its timers, extensions.

Pure: the calendar, times, limits and policy come in as arguments; every rule has the signature

    rule(clock, command_or_event, *, now, actor, calendar=..., policy=...) -> (Clock, [Event])

and returns the new clock and the events it caused. A clock carries its own schedule
(`next_fire_at`), so finding what is due is an index range scan, and firing is a versioned write:
exactly once, whatever the replicas. A clock belongs to one dispatch and one round of handling; a
re-dispatch or a reopening replaces it with a new one (the old one's result stays in `history`).
"""
from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any, Final, Literal, TypeVar, cast

from hotline_common.actors import ADMIN, OPERATOR, UNIT_LEADER, Actor
from hotline_common.errors import Conflict, Forbidden, NotFound, NotYet, RuleViolation, ValidationFailed
from hotline_common.messages import ActorRef, Day, Event, Instant, Role, TicketType
from hotline_common.timeutil import as_utc, iso, local_date, parse_iso, start_of_local_day
from services.routing.events import AssignmentReopened, AssignmentWithdrawn, TicketDispatched, TicketReplied

from . import commands as c
from . import events as ev
from .calendar import WorkCalendar

R8_RULE = "延期申请须在办理时限届满前至少2个工作日提出（鞍政办发〔2015〕103号 第二条）"

ClockStateName = Literal["running", "met", "missed", "stopped"]
TimerKind = Literal["due_soon", "overdue", "still_overdue"]
ExtensionStatus = c.ExtensionStatus


class ClockState:
    RUNNING: Final = "running"  # the unit is working on it
    MET: Final = "met"          # replied by the deadline
    MISSED: Final = "missed"    # replied after the deadline
    STOPPED: Final = "stopped"  # replaced by a new dispatch's or round's clock before a reply


@dataclass(frozen=True)
class Policy:
    """config/sla.yaml: time limits by type (R7), due-soon warning, extension notice (R8)."""
    time_limits: Mapping[str, int]
    due_soon_working_days: int = 1
    extension_notice_working_days: int = 2
    max_extension_working_days: int = 20

    def limit(self, ticket_type: str) -> int:
        return int(self.time_limits[ticket_type])


@dataclass(frozen=True)
class Deadline:
    started_at: datetime
    working_days: int
    due_date: date                 # the last working day (Asia/Shanghai)
    due_at: datetime               # first instant after that day, UTC: overdue from here on
    provisional_years: tuple[int, ...] = ()  # years counted without official calendar data

    @property
    def provisional(self) -> bool:
        return bool(self.provisional_years)


def compute_deadline(dispatched_at: datetime, working_days: int, calendar: WorkCalendar) -> Deadline:
    """R7. The deadline is the end of the N-th working day after the dispatch day (Asia/Shanghai).

    The dispatch day never counts, whatever the hour (a ticket dispatched on Friday evening or on a
    holiday starts counting on the next working day). The result is stored as the first instant of
    the following day in UTC, so "overdue" is simply `now >= due_at`.
    """
    start_day = local_date(dispatched_at)
    due_date = calendar.add_working_days(start_day, working_days)
    return Deadline(
        started_at=dispatched_at,
        working_days=working_days,
        due_date=due_date,
        due_at=end_of_day(due_date),
        provisional_years=calendar.provisional_years(start_day, due_date),
    )


def end_of_day(day: date) -> datetime:
    return start_of_local_day(day + timedelta(days=1))


def working_day_back(calendar: WorkCalendar, day: date, k: int) -> date:
    """The k-th working day before `day` (k >= 1)."""
    probe = day
    for _ in range(k):
        probe -= timedelta(days=1)
        while not calendar.is_working_day(probe):
            probe -= timedelta(days=1)
    return probe


# -- the clock --------------------------------------------------------------------------------------

@dataclass(frozen=True, kw_only=True)
class Fired:
    """Which one-off timers of the current deadline have fired."""
    due_soon: bool = False
    overdue: bool = False


@dataclass(frozen=True, kw_only=True)
class Extension:
    """延期申请 and its decision (R8)."""
    id: str
    working_days: int
    reason: str
    signed_by: Actor
    requested_at: datetime
    status: ExtensionStatus
    due_date_at_request: date
    decided_by: Actor | None = None
    decided_at: datetime | None = None
    note: str | None = None
    approved_working_days: int | None = None


@dataclass(frozen=True, kw_only=True)
class PastRound:
    """The result of a clock that a later dispatch or round replaced: stays on record. `late`: replied
    after its deadline, or replaced while past it without a reply (e.g. re-investigation ordered on an
    overdue ticket); `stopped_at`: the reply, or the replacement."""
    dispatch_no: int
    round: int
    unit_id: str
    state: ClockStateName
    due_date: date
    stopped_at: datetime | None
    late: bool = False


@dataclass(frozen=True, kw_only=True)
class Clock:
    """A ticket's deadline clock for one dispatch and one round of handling."""
    ticket_id: str
    number: str
    type: TicketType
    unit_id: str
    unit_leaders: tuple[str, ...]
    dispatch_no: int
    round: int
    state: ClockStateName
    started_at: datetime
    working_days: int
    extended_days: int = 0
    extensions: tuple[Extension, ...] = ()
    due_date: date
    due_at: datetime
    provisional_years: tuple[int, ...] = ()
    warn_at: datetime
    fired: Fired = field(default_factory=Fired)
    overdue_ticks: int = 0
    next_fire_at: datetime | None = None
    next_fire_kind: TimerKind | None = None
    stopped_at: datetime | None = None
    history: tuple[PastRound, ...] = ()
    event_seq: int = 0
    version: int = 0  # the stored document's version this clock was read at (0: not stored yet)

    @property
    def key(self) -> tuple[int, int]:
        """Which dispatch and which round of handling this clock belongs to."""
        return (self.dispatch_no, self.round)

    @property
    def provisional(self) -> bool:
        return bool(self.provisional_years)

    @property
    def running(self) -> bool:
        return self.state == ClockState.RUNNING

    def pending_extension(self) -> Extension | None:
        return next((e for e in self.extensions if e.status == "pending"), None)


@dataclass(frozen=True, kw_only=True)
class ExtensionRow:
    """An extension request as listings show it, with its ticket."""
    ticket_id: str
    number: str
    unit_id: str
    due_date: date
    extension: Extension


def start_clock(clock: Clock | None, event: TicketDispatched, *, now: datetime, actor: Actor,
                calendar: WorkCalendar, policy: Policy) -> tuple[Clock, list[Event]]:
    """A dispatch starts the unit's clock; a re-dispatch (after an approved return) replaces the old
    unit's clock with a new one for the new unit, in the round routing is in (a return may come in a
    later round). A repeat changes nothing; an older dispatch than the clock's is refused."""
    if clock is not None:
        if clock.dispatch_no == event.dispatch_no:
            return clock, []
        if clock.dispatch_no > event.dispatch_no:
            raise Conflict(f"{clock.number} already runs the clock of dispatch {clock.dispatch_no}")
    if event.unit_id is None:
        raise Conflict(f"dispatch {event.dispatch_no} of {event.number} names no unit")
    if event.keeps_deadline:  # 改派 / 下派 (issue 12): the first dispatch's clock goes on
        if clock is None:
            raise NotYet(f"{event.number}: the clock of the first dispatch has not started yet")
        if clock.running and clock.round == event.state.round:
            return move_clock(clock, event, actor=actor)
    return _new_clock(ticket_id=event.ticket_id, number=event.number, ticket_type=event.type,
                      unit_id=event.unit_id, unit_leaders=tuple(event.unit_leaders),
                      dispatch_no=event.dispatch_no, round_no=event.state.round,
                      started_at=parse_iso(event.dispatched_at),
                      working_days=policy.limit(event.type), previous=clock, calendar=calendar, policy=policy,
                      actor=actor)


def move_clock(clock: Clock, event: TicketDispatched, *, actor: Actor) -> tuple[Clock, list[Event]]:
    """改派 / 下派 (issue 12): the deadline keeps counting from the first dispatch. The running clock
    moves to the new unit with its start, due date, extensions and timers; its deadline is announced
    again (deadline.set) for the new unit and dispatch."""
    assert event.unit_id is not None
    moved = replace(clock, unit_id=event.unit_id, unit_leaders=tuple(event.unit_leaders),
                    dispatch_no=event.dispatch_no)
    moved, set_again = _emit(moved, ev.DeadlineSet, actor)
    return moved, [set_again]


def withdraw_clock(clock: Clock, event: AssignmentWithdrawn, *, now: datetime,
                   actor: Actor) -> tuple[Clock, list[Event]]:
    """并单 (issue 12): the ticket was merged into another and withdrawn from its unit: its clock stops
    (no timers, no reminders); the main ticket's clock counts for it. A repeat changes nothing."""
    if event.state.dispatch_no > clock.dispatch_no:
        raise NotYet(f"{clock.number}: dispatch {event.state.dispatch_no} has no clock yet")
    if not clock.running:
        return clock, []
    return replace(clock, state=ClockState.STOPPED, stopped_at=parse_iso(event.at), next_fire_at=None,
                   next_fire_kind=None), []


def reopen_clock(clock: Clock, event: AssignmentReopened, *, now: datetime, actor: Actor,
                 calendar: WorkCalendar, policy: Policy) -> tuple[Clock, list[Event]]:
    """The unit handles the ticket again (unsatisfied: the type's limit; re-investigation ordered by the
    supervision centre: the days it gave): a new round, a new clock from the reopening."""
    key = (event.state.dispatch_no, event.round)
    if key == clock.key:
        return clock, []
    if event.state.dispatch_no > clock.dispatch_no:
        raise NotYet(f"{clock.number}: dispatch {event.state.dispatch_no} has no clock yet")
    if key < clock.key:
        raise Conflict(f"{clock.number} already runs the clock of dispatch {clock.dispatch_no}, "
                       f"round {clock.round}")
    limit = event.working_days or policy.limit(clock.type)
    return _new_clock(ticket_id=clock.ticket_id, number=clock.number, ticket_type=clock.type,
                      unit_id=clock.unit_id, unit_leaders=clock.unit_leaders, dispatch_no=clock.dispatch_no,
                      round_no=event.round, started_at=parse_iso(event.at), working_days=int(limit),
                      previous=clock, calendar=calendar, policy=policy, actor=actor)


def _new_clock(*, ticket_id: str, number: str, ticket_type: TicketType, unit_id: str,
               unit_leaders: tuple[str, ...], dispatch_no: int, round_no: int, started_at: datetime,
               working_days: int, previous: Clock | None, calendar: WorkCalendar, policy: Policy,
               actor: Actor) -> tuple[Clock, list[Event]]:
    deadline, warn_at = _deadline(started_at, working_days, calendar, policy)
    history = () if previous is None else (*previous.history, _past(previous, started_at))
    clock = Clock(ticket_id=ticket_id, number=number, type=ticket_type, unit_id=unit_id,
                  unit_leaders=unit_leaders, dispatch_no=dispatch_no, round=round_no,
                  state=ClockState.RUNNING, started_at=started_at, working_days=working_days,
                  due_date=deadline.due_date, due_at=deadline.due_at,
                  provisional_years=deadline.provisional_years, warn_at=warn_at, history=history,
                  event_seq=previous.event_seq if previous else 0,
                  version=previous.version if previous else 0)
    clock, event = _emit(_schedule(clock, calendar), ev.DeadlineSet, actor)
    return clock, [event]


def _past(clock: Clock, replaced_at: datetime) -> PastRound:
    if not clock.running:
        return PastRound(dispatch_no=clock.dispatch_no, round=clock.round, unit_id=clock.unit_id, state=clock.state,
                         due_date=clock.due_date, stopped_at=clock.stopped_at, late=clock.state == ClockState.MISSED)
    return PastRound(dispatch_no=clock.dispatch_no, round=clock.round, unit_id=clock.unit_id,
                     state=ClockState.STOPPED, due_date=clock.due_date, stopped_at=replaced_at,
                     late=as_utc(replaced_at) >= as_utc(clock.due_at))


def _deadline(started_at: datetime, working_days: int, calendar: WorkCalendar,
              policy: Policy) -> tuple[Deadline, datetime]:
    """The deadline and the instant of its due-soon warning."""
    deadline = compute_deadline(started_at, working_days, calendar)
    warn_day = deadline.due_date if policy.due_soon_working_days <= 1 else \
        working_day_back(calendar, deadline.due_date, policy.due_soon_working_days - 1)
    return deadline, max(start_of_local_day(warn_day), as_utc(started_at))


def _with_deadline(clock: Clock, calendar: WorkCalendar, policy: Policy) -> Clock:
    """(Re)compute the due date from the start, the limit and approved extensions; reset the timers."""
    deadline, warn_at = _deadline(clock.started_at, clock.working_days + clock.extended_days, calendar, policy)
    clock = replace(clock, due_date=deadline.due_date, due_at=deadline.due_at,
                    provisional_years=deadline.provisional_years, warn_at=warn_at, fired=Fired(), overdue_ticks=0)
    return _schedule(clock, calendar)


def _schedule(clock: Clock, calendar: WorkCalendar) -> Clock:
    """The next instant a timer of this clock fires, and which one. While the clock runs there is
    always a next one: after the deadline, the end of every further working day (R13 counts them)."""
    if not clock.running:
        return replace(clock, next_fire_at=None, next_fire_kind=None)
    if not clock.fired.due_soon:
        return replace(clock, next_fire_at=clock.warn_at, next_fire_kind="due_soon")
    if not clock.fired.overdue:
        return replace(clock, next_fire_at=clock.due_at, next_fire_kind="overdue")
    day = calendar.add_working_days(clock.due_date, clock.overdue_ticks + 1)
    return replace(clock, next_fire_at=end_of_day(day), next_fire_kind="still_overdue")


def fire(clock: Clock, cmd: c.FireTimers, *, now: datetime, actor: Actor,
         calendar: WorkCalendar) -> tuple[Clock, list[Event]]:
    """Fire every timer of the clock that is due at `now`, each exactly once, in order.

    due soon (the start of the last working day), overdue (the deadline passed), then one
    `still_overdue` at the end of each further working day, numbered 1, 2, 3 ... however far the
    time jumped. At most `cmd.max_events` at once: what is left stays due for the next firing.
    """
    events: list[Event] = []
    while clock.next_fire_at is not None and as_utc(clock.next_fire_at) <= now and len(events) < cmd.max_events:
        event: Event
        if clock.next_fire_kind == "due_soon":
            clock, event = _emit(replace(clock, fired=replace(clock.fired, due_soon=True)), ev.DeadlineDueSoon, actor)
        elif clock.next_fire_kind == "overdue":
            clock, event = _emit(replace(clock, fired=replace(clock.fired, overdue=True)), ev.DeadlineOverdue, actor)
        else:
            clock = replace(clock, overdue_ticks=clock.overdue_ticks + 1)
            clock, event = _emit(clock, ev.DeadlineStillOverdue, actor, working_days_overdue=clock.overdue_ticks)
        events.append(event)
        clock = _schedule(clock, calendar)
    return clock, events


def stop_on_reply(clock: Clock, event: TicketReplied, *, now: datetime, actor: Actor) -> tuple[Clock, list[Event]]:
    """The unit replied: the deadline was met or missed (R7); the clock stops.

    A reply is judged against its own dispatch's and round's deadline only: a reply of a round whose
    clock is not here yet waits for it (NotYet), a reply of a replaced clock changes nothing."""
    key = (event.state.dispatch_no, event.state.round)
    if key > clock.key:
        raise NotYet(f"{clock.number}: no clock for dispatch {key[0]}, round {key[1]} yet")
    if key < clock.key:
        raise Conflict(f"a reply of dispatch {key[0]}, round {key[1]}; {clock.number} runs the clock of "
                       f"dispatch {clock.dispatch_no}, round {clock.round}")
    if not clock.running:
        return clock, []
    replied_at = parse_iso(event.replied_at)
    met = replied_at < as_utc(clock.due_at)
    clock = replace(clock, state=ClockState.MET if met else ClockState.MISSED, stopped_at=replied_at,
                    next_fire_at=None, next_fire_kind=None)
    clock, stopped = _emit(clock, ev.DeadlineMet if met else ev.DeadlineMissed, actor,
                           replied_at=_instant(replied_at))
    return clock, [stopped]


def recompute(clock: Clock, cmd: c.RecomputeDeadline, *, now: datetime, actor: Actor, calendar: WorkCalendar,
              policy: Policy) -> tuple[Clock, list[Event]]:
    """The calendar changed (a year's arrangement arrived): recompute a running clock's deadline."""
    if not clock.running:
        return clock, []
    updated = _with_deadline(clock, calendar, policy)
    if (updated.due_date, updated.provisional_years) == (clock.due_date, clock.provisional_years):
        return clock, []
    if updated.due_date == clock.due_date:  # only the provisional mark went: timers stay as they were
        updated = _schedule(replace(updated, fired=clock.fired, overdue_ticks=clock.overdue_ticks), calendar)
    updated, event = _emit(updated, ev.DeadlineChanged, actor, previous_due_date=_day(clock.due_date),
                           reason=cmd.reason)
    return updated, [event]


def working_days_left(clock: Clock, today: date, calendar: WorkCalendar) -> int:
    """Working days after today up to the due date (0 on the due date; negative once overdue)."""
    return calendar.working_days_between(today, clock.due_date)


# -- extensions (R8) --------------------------------------------------------------------------------

def request_extension(clock: Clock, cmd: c.RequestExtension, *, now: datetime, actor: Actor,
                      calendar: WorkCalendar, policy: Policy) -> tuple[Clock, list[Event]]:
    """延期申请: a written request signed by the unit's main or deputy leader, with the reason, at least
    2 working days before the deadline (R8). The hotline office decides."""
    if actor.role != UNIT_LEADER or actor.unit_id != clock.unit_id:
        if actor.unit_id != clock.unit_id:
            raise NotFound(f"ticket {clock.number} not found")
        raise Forbidden("an extension is signed by the unit's main or deputy leader (R8)")
    if clock.unit_leaders and actor.user_id not in clock.unit_leaders:
        raise Forbidden("the signing user is not the unit's main or deputy leader (R8)")
    if not clock.running:
        raise Conflict(f"the deadline is {clock.state}; there is nothing to extend")
    if clock.pending_extension() is not None:
        raise Conflict("an extension request is already waiting for the hotline office")
    days, reason = cmd.working_days, (cmd.reason or "").strip()
    errors = {}
    if not 1 <= days <= policy.max_extension_working_days:
        errors["working_days"] = [f"between 1 and {policy.max_extension_working_days} working days"]
    if len(reason) < 6:
        errors["reason"] = ["the reason for the extension (说明原因), at least 6 characters"]
    if errors:
        raise ValidationFailed("the extension request is incomplete", errors=errors)
    left = working_days_left(clock, local_date(now), calendar)
    if left < policy.extension_notice_working_days:
        raise RuleViolation(f"{R8_RULE}; 距办理时限仅剩{max(left, 0)}个工作日", {
            "rule": "R8", "working_days_left": left,
            "required_working_days": policy.extension_notice_working_days})
    extension = Extension(id=uuid.uuid4().hex[:12], working_days=days, reason=reason, signed_by=actor,
                          requested_at=now, status="pending", due_date_at_request=clock.due_date)
    clock = replace(clock, extensions=(*clock.extensions, extension))
    clock, event = _emit(clock, ev.ExtensionRequested, actor, extension_id=extension.id,
                         requested_working_days=days, reason=reason)
    return clock, [event]


def decide_extension(clock: Clock, cmd: c.DecideExtension, *, now: datetime, actor: Actor,
                     calendar: WorkCalendar, policy: Policy) -> tuple[Clock, list[Event]]:
    """The hotline office approves (the deadline moves by the approved working days) or rejects."""
    actor.require(OPERATOR, ADMIN)
    pending = clock.pending_extension()
    if pending is None:
        raise Conflict("no extension request is waiting")
    granted = cmd.working_days if cmd.working_days is not None else pending.working_days
    if cmd.approve and not 1 <= granted <= pending.working_days:
        raise ValidationFailed("approved days", errors={"working_days": [
            f"between 1 and the {pending.working_days} requested"]})
    decided = replace(pending, status="approved" if cmd.approve else "rejected", decided_by=actor, decided_at=now,
                      note=(cmd.note or "").strip(), approved_working_days=granted if cmd.approve else 0)
    clock = replace(clock, extensions=tuple(decided if e.id == pending.id else e for e in clock.extensions))
    if not cmd.approve:
        clock, rejected = _emit(clock, ev.ExtensionRejected, actor, extension_id=pending.id, note=decided.note)
        return clock, [rejected]
    previous = clock.due_date
    clock = _with_deadline(replace(clock, extended_days=clock.extended_days + granted), calendar, policy)
    clock, extended = _emit(clock, ev.DeadlineExtended, actor, extension_id=pending.id,
                            extended_working_days=granted, previous_due_date=_day(previous))
    return clock, [extended]


# -- events ---------------------------------------------------------------------------------------

DE = TypeVar("DE", bound=ev.DeadlineEvent)


def _emit(clock: Clock, kind: type[DE], actor: Actor, **extra: Any) -> tuple[Clock, DE]:
    """The event of a change: every sla event carries the clock's deadline after it, and its order."""
    clock = replace(clock, event_seq=clock.event_seq + 1)
    return clock, kind(
        ticket_id=clock.ticket_id,
        number=clock.number,
        unit_id=clock.unit_id,
        type=clock.type,
        dispatch_no=clock.dispatch_no,
        round=clock.round,
        state=clock.state,
        started_at=_instant(clock.started_at),
        working_days=clock.working_days,
        extended_days=clock.extended_days,
        due_date=_day(clock.due_date),
        due_at=_instant(clock.due_at),
        provisional=clock.provisional,
        provisional_years=list(clock.provisional_years),
        actor=actor_ref(actor),
        seq=clock.event_seq,
        **extra,
    )


def actor_ref(actor: Actor) -> ActorRef:
    return ActorRef(user_id=actor.user_id, role=cast(Role, actor.role), unit_id=actor.unit_id)


def _instant(at: datetime) -> Instant:
    return Instant(str(iso(at)))


def _day(day: date) -> Day:
    return Day(day.isoformat())
