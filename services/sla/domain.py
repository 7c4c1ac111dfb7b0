"""Deadline rules (R7, R8): time limits in working days, one clock per ticket, its timers, extensions.

Pure: the calendar, times, limits and policy come in as arguments; every function returns the new
clock and the events it caused. A clock carries its own schedule (`next_fire_at`), so finding what is
due is an index range scan, and firing is a versioned write: exactly once, whatever the replicas.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from hotline_common.actors import ADMIN, OPERATOR, UNIT_LEADER, Actor
from hotline_common.errors import Conflict, Forbidden, NotFound, RuleViolation, ValidationFailed
from hotline_common.events import DomainEvent, T
from hotline_common.timeutil import as_utc, iso, local_date, parse_iso, start_of_local_day

from .calendar import WorkCalendar

MAX_OVERDUE_TICKS = 30  # working days of deadline.still_overdue ticks before the clock stops ticking
R8_RULE = "延期申请须在办理时限届满前至少2个工作日提出（鞍政办发〔2015〕103号 第二条）"


class ClockState:
    RUNNING = "running"  # the unit is working on it
    MET = "met"          # replied by the deadline
    MISSED = "missed"    # replied after the deadline
    STOPPED = "stopped"  # replaced by a new dispatch's clock


@dataclass(frozen=True)
class Policy:
    """config/sla.yaml: time limits by type (R7), due-soon warning, extension notice (R8)."""
    time_limits: dict
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
    provisional_years: tuple = ()  # years counted without official calendar data

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

def start_clock(dispatched: dict, policy: Policy, calendar: WorkCalendar, actor: Actor,
                previous: dict | None = None) -> tuple[dict, list]:
    """A dispatch starts the unit's clock; a re-dispatch (after an approved return) replaces the old
    unit's clock with a new one for the new unit."""
    return _new_clock(ticket_id=dispatched["ticket_id"], number=dispatched["number"], ticket_type=dispatched["type"],
                      unit_id=dispatched["unit_id"], unit_leaders=dispatched.get("unit_leaders") or [],
                      dispatch_no=dispatched.get("dispatch_no", 1), round_no=1,
                      started_at=parse_iso(dispatched["dispatched_at"]), working_days=policy.limit(dispatched["type"]),
                      previous=previous, policy=policy, calendar=calendar, actor=actor)


def reopen_clock(previous: dict, reopened: dict, policy: Policy, calendar: WorkCalendar,
                 actor: Actor) -> tuple[dict, list]:
    """The unit handles the ticket again (unsatisfied: the type's limit; re-investigation ordered by the
    supervision centre: the days it gave): a new round, a new clock from now."""
    limit = reopened.get("working_days") or policy.limit(previous["type"])
    return _new_clock(ticket_id=previous["_id"], number=previous["number"], ticket_type=previous["type"],
                      unit_id=previous["unit_id"], unit_leaders=previous["unit_leaders"],
                      dispatch_no=previous["dispatch_no"], round_no=reopened["round"],
                      started_at=parse_iso(reopened["at"]), working_days=int(limit), previous=previous,
                      policy=policy, calendar=calendar, actor=actor)


def clock_key(clock_or_event: dict) -> tuple:
    """Which dispatch and which round of handling a clock (or an event about one) belongs to."""
    return (clock_or_event.get("dispatch_no", 1), clock_or_event.get("round", 1))


def _new_clock(*, ticket_id, number, ticket_type, unit_id, unit_leaders, dispatch_no, round_no, started_at,
               working_days, previous, policy, calendar, actor) -> tuple[dict, list]:
    clock = {
        "_id": ticket_id, "number": number, "type": ticket_type, "unit_id": unit_id,
        "unit_leaders": list(unit_leaders), "dispatch_no": dispatch_no, "round": round_no,
        "state": ClockState.RUNNING, "started_at": started_at, "working_days": working_days,
        "extended_days": 0, "extensions": [], "event_seq": (previous or {}).get("event_seq", 0),
    }
    clock = _with_deadline(clock, calendar, policy)
    clock, event = _emit(clock, T.DEADLINE_SET, actor)
    return clock, [event]


def _with_deadline(clock: dict, calendar: WorkCalendar, policy: Policy) -> dict:
    """(Re)compute the due date from the start, the limit and approved extensions; reset the timers."""
    total = clock["working_days"] + clock["extended_days"]
    deadline = compute_deadline(clock["started_at"], total, calendar)
    warn_day = deadline.due_date if policy.due_soon_working_days <= 1 else \
        working_day_back(calendar, deadline.due_date, policy.due_soon_working_days - 1)
    clock = {**clock, "due_date": deadline.due_date.isoformat(), "due_at": deadline.due_at,
             "provisional_years": list(deadline.provisional_years),
             "warn_at": max(start_of_local_day(warn_day), as_utc(clock["started_at"])),
             "fired": {"due_soon": False, "overdue": False}, "overdue_ticks": 0}
    return _schedule(clock, calendar)


def _schedule(clock: dict, calendar: WorkCalendar) -> dict:
    """The next instant a timer of this clock fires, and which one."""
    if clock["state"] != ClockState.RUNNING:
        return {**clock, "next_fire_at": None, "next_fire_kind": None}
    if not clock["fired"]["due_soon"]:
        return {**clock, "next_fire_at": clock["warn_at"], "next_fire_kind": "due_soon"}
    if not clock["fired"]["overdue"]:
        return {**clock, "next_fire_at": clock["due_at"], "next_fire_kind": "overdue"}
    tick = clock["overdue_ticks"] + 1
    if tick > MAX_OVERDUE_TICKS:
        return {**clock, "next_fire_at": None, "next_fire_kind": None}
    day = calendar.add_working_days(date.fromisoformat(clock["due_date"]), tick)
    return {**clock, "next_fire_at": end_of_day(day), "next_fire_kind": "still_overdue"}


def fire(clock: dict, now: datetime, calendar: WorkCalendar, actor: Actor) -> tuple[dict, list]:
    """Fire every timer of the clock that is due at `now`, each exactly once, in order.

    due soon (the start of the last working day), overdue (the deadline passed), then one
    `still_overdue` at the end of each further working day, which the reminder policy counts.
    """
    events = []
    while clock.get("next_fire_at") is not None and as_utc(clock["next_fire_at"]) <= now:
        kind = clock["next_fire_kind"]
        if kind == "due_soon":
            clock = {**clock, "fired": {**clock["fired"], "due_soon": True}}
            clock, event = _emit(clock, T.DEADLINE_DUE_SOON, actor)
        elif kind == "overdue":
            clock = {**clock, "fired": {**clock["fired"], "overdue": True}}
            clock, event = _emit(clock, T.DEADLINE_OVERDUE, actor)
        else:
            clock = {**clock, "overdue_ticks": clock["overdue_ticks"] + 1}
            clock, event = _emit(clock, T.DEADLINE_STILL_OVERDUE, actor,
                                 working_days_overdue=clock["overdue_ticks"])
        events.append(event)
        clock = _schedule(clock, calendar)
    return clock, events


def stop_on_reply(clock: dict, replied_at: datetime, actor: Actor) -> tuple[dict, list]:
    """The unit replied: the deadline was met or missed (R7); the clock stops."""
    if clock["state"] != ClockState.RUNNING:
        return clock, []
    met = as_utc(replied_at) < as_utc(clock["due_at"])
    clock = _schedule({**clock, "state": ClockState.MET if met else ClockState.MISSED, "stopped_at": replied_at},
                      None)
    clock, event = _emit(clock, T.DEADLINE_MET if met else T.DEADLINE_MISSED, actor, replied_at=iso(replied_at))
    return clock, [event]


def recompute(clock: dict, calendar: WorkCalendar, policy: Policy, actor: Actor) -> tuple[dict, list]:
    """The calendar changed (a year's arrangement arrived): recompute a running clock's deadline."""
    if clock["state"] != ClockState.RUNNING:
        return clock, []
    updated = _with_deadline(clock, calendar, policy)
    if (updated["due_date"], updated["provisional_years"]) == (clock["due_date"], clock["provisional_years"]):
        return clock, []
    if updated["due_date"] == clock["due_date"]:  # only the provisional mark went: timers stay as they were
        updated = _schedule({**updated, "fired": clock["fired"], "overdue_ticks": clock["overdue_ticks"]}, calendar)
    updated, event = _emit(updated, T.DEADLINE_CHANGED, actor, previous_due_date=clock["due_date"],
                           reason="calendar")
    return updated, [event]


def working_days_left(clock: dict, today: date, calendar: WorkCalendar) -> int:
    """Working days after today up to the due date (0 on the due date; negative once overdue)."""
    return calendar.working_days_between(today, date.fromisoformat(clock["due_date"]))


# -- extensions (R8) --------------------------------------------------------------------------------

def request_extension(clock: dict, days: int, reason: str, actor: Actor, now: datetime,
                      calendar: WorkCalendar, policy: Policy) -> tuple[dict, list]:
    """延期申请: a written request signed by the unit's main or deputy leader, with the reason, at least
    2 working days before the deadline (R8). The hotline office decides."""
    if actor.role != UNIT_LEADER or actor.unit_id != clock["unit_id"]:
        if actor.unit_id != clock["unit_id"]:
            raise NotFound(f"ticket {clock['number']} not found")
        raise Forbidden("an extension is signed by the unit's main or deputy leader (R8)")
    if clock["unit_leaders"] and actor.user_id not in clock["unit_leaders"]:
        raise Forbidden("the signing user is not the unit's main or deputy leader (R8)")
    if clock["state"] != ClockState.RUNNING:
        raise Conflict(f"the deadline is {clock['state']}; there is nothing to extend")
    if any(e["status"] == "pending" for e in clock["extensions"]):
        raise Conflict("an extension request is already waiting for the hotline office")
    errors = {}
    if not 1 <= days <= policy.max_extension_working_days:
        errors["working_days"] = [f"between 1 and {policy.max_extension_working_days} working days"]
    if len((reason or "").strip()) < 6:
        errors["reason"] = ["the reason for the extension (说明原因), at least 6 characters"]
    if errors:
        raise ValidationFailed("the extension request is incomplete", errors=errors)
    left = working_days_left(clock, local_date(now), calendar)
    if left < policy.extension_notice_working_days:
        raise RuleViolation(f"{R8_RULE}; 距办理时限仅剩{max(left, 0)}个工作日", {
            "rule": "R8", "working_days_left": left,
            "required_working_days": policy.extension_notice_working_days})
    extension = {"id": uuid.uuid4().hex[:12], "working_days": days, "reason": reason.strip(),
                 "signed_by": actor.to_dict(), "requested_at": now, "status": "pending",
                 "due_date_at_request": clock["due_date"]}
    clock = {**clock, "extensions": clock["extensions"] + [extension]}
    clock, event = _emit(clock, T.EXTENSION_REQUESTED, actor, extension_id=extension["id"],
                         requested_working_days=days, reason=extension["reason"])
    return clock, [event]


def decide_extension(clock: dict, approve: bool, days: int | None, note: str, actor: Actor, now: datetime,
                     calendar: WorkCalendar, policy: Policy) -> tuple[dict, list]:
    """The hotline office approves (the deadline moves by the approved working days) or rejects."""
    actor.require(OPERATOR, ADMIN)
    pending = next((e for e in clock["extensions"] if e["status"] == "pending"), None)
    if pending is None:
        raise Conflict("no extension request is waiting")
    granted = days if days is not None else pending["working_days"]
    if approve and not 1 <= granted <= pending["working_days"]:
        raise ValidationFailed("approved days", errors={"working_days": [
            f"between 1 and the {pending['working_days']} requested"]})
    decided = {**pending, "status": "approved" if approve else "rejected", "decided_by": actor.to_dict(),
               "decided_at": now, "note": (note or "").strip(), "approved_working_days": granted if approve else 0}
    clock = {**clock, "extensions": [decided if e["id"] == pending["id"] else e for e in clock["extensions"]]}
    if not approve:
        clock, event = _emit(clock, T.EXTENSION_REJECTED, actor, extension_id=pending["id"], note=decided["note"])
        return clock, [event]
    previous = clock["due_date"]
    clock = _with_deadline({**clock, "extended_days": clock["extended_days"] + granted}, calendar, policy)
    clock, event = _emit(clock, T.DEADLINE_EXTENDED, actor, extension_id=pending["id"],
                         extended_working_days=granted, previous_due_date=previous)
    return clock, [event]


# -- events ---------------------------------------------------------------------------------------

def _emit(clock: dict, kind: str, actor: Actor, **extra) -> tuple[dict, DomainEvent]:
    clock = {**clock, "event_seq": clock.get("event_seq", 0) + 1}
    return clock, DomainEvent(kind, clock["number"], {
        "ticket_id": clock["_id"],
        "number": clock["number"],
        "unit_id": clock["unit_id"],
        "type": clock["type"],
        "dispatch_no": clock["dispatch_no"],
        "round": clock.get("round", 1),
        "state": clock["state"],
        "started_at": iso(clock["started_at"]),
        "working_days": clock["working_days"],
        "extended_days": clock["extended_days"],
        "due_date": clock["due_date"],
        "due_at": iso(clock["due_at"]),
        "provisional": bool(clock["provisional_years"]),
        "provisional_years": clock["provisional_years"],
        "actor": actor.to_dict(),
        "seq": clock["event_seq"],
        **extra,
    })
