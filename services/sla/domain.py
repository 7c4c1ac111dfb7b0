"""Deadline rules (R7, R8): time limits in working days, the deadline instant, the clock per ticket.

Pure: the calendar, times and limits come in as arguments.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from hotline_common.actors import Actor
from hotline_common.events import DomainEvent, T
from hotline_common.timeutil import iso, local_date, start_of_local_day

from .calendar import WorkCalendar


class ClockState:
    RUNNING = "running"  # the unit is working on it
    MET = "met"          # replied by the deadline
    MISSED = "missed"    # replied after the deadline
    STOPPED = "stopped"  # the clock was replaced (re-dispatch to another unit)


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
        due_at=start_of_local_day(due_date + timedelta(days=1)),
        provisional_years=calendar.provisional_years(start_day, due_date),
    )


def time_limit(ticket_type: str, limits: dict) -> int:
    """Working days a unit has for a ticket type (config/sla.yaml; 2 or 20 by the notice, §2)."""
    return int(limits[ticket_type])


def start_clock(dispatched: dict, deadline: Deadline, actor: Actor) -> tuple[dict, list]:
    """A new clock for the unit a ticket was dispatched to, and its deadline.set event."""
    clock = {
        "_id": dispatched["ticket_id"],
        "number": dispatched["number"],
        "type": dispatched["type"],
        "unit_id": dispatched["unit_id"],
        "dispatch_no": dispatched.get("dispatch_no", 1),
        "state": ClockState.RUNNING,
        "started_at": deadline.started_at,
        "working_days": deadline.working_days,
        "due_date": deadline.due_date.isoformat(),
        "due_at": deadline.due_at,
        "provisional_years": list(deadline.provisional_years),
        "extensions": [],
    }
    return clock, [deadline_event(T.DEADLINE_SET, clock, actor, seq=1)]


def deadline_event(kind: str, clock: dict, actor: Actor, *, seq: int, **extra) -> DomainEvent:
    return DomainEvent(kind, clock["number"], {
        "ticket_id": clock["_id"],
        "number": clock["number"],
        "unit_id": clock["unit_id"],
        "type": clock["type"],
        "dispatch_no": clock["dispatch_no"],
        "started_at": iso(clock["started_at"]),
        "working_days": clock["working_days"],
        "due_date": clock["due_date"],
        "due_at": iso(clock["due_at"]),
        "provisional": bool(clock["provisional_years"]),
        "provisional_years": clock["provisional_years"],
        "actor": actor.to_dict(),
        "seq": seq,
        **extra,
    })
