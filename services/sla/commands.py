"""What callers ask sla to do (or to answer): one frozen dataclass per RPC command and query.

Each builds itself from the RPC request (`dispatch.request(...)`): path parameters (`key`, `year`),
the body (or query) loaded by its marshmallow schema. At the end, the commands sla's own timer and
calendar changes give the domain (no RPC).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, ClassVar, Literal

from hotline_common.dispatch import from_request
from hotline_common.errors import ValidationFailed
from hotline_common.messages import Command
from hotline_common.validation import load

from . import schemas as s

ExtensionStatus = Literal["pending", "approved", "rejected"]


# -- deadlines and extensions (R7, R8) -------------------------------------------------------------

@dataclass(frozen=True, kw_only=True)
class GetDeadline(Command):
    """A ticket's deadline clock and the working days left."""
    NAME: ClassVar[str] = "deadline"
    key: str

    @classmethod
    def from_request(cls, req: dict[str, Any]) -> GetDeadline:
        return from_request(cls, req)


@dataclass(frozen=True, kw_only=True)
class RequestExtension(Command):
    """延期申请: the unit's leader asks for more working days, with the reason (R8)."""
    NAME: ClassVar[str] = "request_extension"
    key: str
    working_days: int
    reason: str

    @classmethod
    def from_request(cls, req: dict[str, Any]) -> RequestExtension:
        return from_request(cls, _with_body(req), s.EXTENSION_REQUEST)


@dataclass(frozen=True, kw_only=True)
class DecideExtension(Command):
    """The hotline office approves (all or some of the requested days) or rejects (R8)."""
    NAME: ClassVar[str] = "decide_extension"
    key: str
    approve: bool
    working_days: int | None = None
    note: str = ""

    @classmethod
    def from_request(cls, req: dict[str, Any]) -> DecideExtension:
        return from_request(cls, _with_body(req), s.EXTENSION_DECISION)


@dataclass(frozen=True, kw_only=True)
class ListExtensions(Command):
    """Extension requests, newest first, with counts per unit (a unit sees its own)."""
    NAME: ClassVar[str] = "list_extensions"
    unit: str | None = None
    status: ExtensionStatus | None = None
    limit: int = 100

    @classmethod
    def from_request(cls, req: dict[str, Any]) -> ListExtensions:
        return from_request(cls, req, s.EXTENSION_QUERY)


# -- the work calendar (DESIGN §5) -----------------------------------------------------------------

@dataclass(frozen=True, kw_only=True)
class CalendarDay:
    date: date
    name: str = ""


@dataclass(frozen=True, kw_only=True)
class GetCalendarYear(Command):
    """One year's arrangement: official or counted with weekends only."""
    NAME: ClassVar[str] = "calendar_year"
    year: int

    @classmethod
    def from_request(cls, req: dict[str, Any]) -> GetCalendarYear:
        if req.get("body"):
            raise ValidationFailed("this command takes no body", errors={"_schema": ["send no fields"]})
        return cls(year=_year(req))


@dataclass(frozen=True, kw_only=True)
class PutCalendarYear(Command):
    """An admin stores a year's official arrangement (holidays and adjusted working days)."""
    NAME: ClassVar[str] = "put_calendar_year"
    year: int
    source: str
    holidays: tuple[CalendarDay, ...] = ()
    workdays: tuple[CalendarDay, ...] = ()

    @classmethod
    def from_request(cls, req: dict[str, Any]) -> PutCalendarYear:
        year = _year(req)
        data = load(s.CALENDAR_YEAR, req.get("body") if req.get("body") is not None else {})
        if "year" in data and data["year"] != year:
            raise ValidationFailed("the body's year is not the path's", errors={
                "year": [f"{data['year']} in the body, {year} in the path"]})
        return cls(year=year, source=data["source"],
                   holidays=tuple(CalendarDay(date=d["date"], name=d["name"]) for d in data["holidays"]),
                   workdays=tuple(CalendarDay(date=d["date"], name=d["name"]) for d in data["workdays"]))


@dataclass(frozen=True, kw_only=True)
class ReloadCalendar(Command):
    """Re-read config/calendar/*.yaml on every replica and recompute provisional deadlines."""
    NAME: ClassVar[str] = "reload_calendar"

    @classmethod
    def from_request(cls, req: dict[str, Any]) -> ReloadCalendar:
        return from_request(cls, req)


# -- the shared clock (infrastructure; served by sla, see clock_admin.py) ----------------------

@dataclass(frozen=True, kw_only=True)
class GetClock(Command):
    """The system's time (anyone may read it)."""
    NAME: ClassVar[str] = "get_clock"

    @classmethod
    def from_request(cls, req: dict[str, Any]) -> GetClock:
        return from_request(cls, req)


@dataclass(frozen=True, kw_only=True)
class SetClock(Command):
    """Set the whole system's time (outside production). Backwards only with `force`."""
    NAME: ClassVar[str] = "set_clock"
    now: datetime
    running: bool = True
    force: bool = False

    @classmethod
    def from_request(cls, req: dict[str, Any]) -> SetClock:
        return from_request(cls, _with_body(req), s.CLOCK_SET)


@dataclass(frozen=True, kw_only=True)
class AdvanceClock(Command):
    """Move the whole system's time forward by seconds, or by working days (same time of day)."""
    NAME: ClassVar[str] = "advance_clock"
    seconds: int | None = None
    working_days: int | None = None

    @classmethod
    def from_request(cls, req: dict[str, Any]) -> AdvanceClock:
        return from_request(cls, _with_body(req), s.CLOCK_ADVANCE)


# -- what sla itself gives its rules (no RPC) ------------------------------------------------------

@dataclass(frozen=True, kw_only=True)
class FireTimers(Command):
    """The timer: fire what is due, at most `max_events` events per clock and write (the rest the
    next round fires: a write's events stay within what the outbox tracks per document)."""
    NAME: ClassVar[str] = "fire_timers"
    max_events: int = field(default=50)


@dataclass(frozen=True, kw_only=True)
class RecomputeDeadline(Command):
    """The work calendar changed: recompute a running clock's deadline."""
    NAME: ClassVar[str] = "recompute_deadline"
    reason: Literal["calendar"] = "calendar"


# -- helpers ---------------------------------------------------------------------------------------

def _with_body(req: dict[str, Any]) -> dict[str, Any]:
    """A command that takes a body gets {} for a missing one (its schema then names what is required)."""
    return req if req.get("body") is not None else {**req, "body": {}}


def _year(req: dict[str, Any]) -> int:
    value = (req.get("params") or {}).get("year")
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValidationFailed("the year", errors={"year": ["a year, e.g. 2027"]})
    try:
        year = int(value)
    except ValueError:
        raise ValidationFailed("the year", errors={"year": ["a year, e.g. 2027"]}) from None
    if not 2000 <= year <= 2100:
        raise ValidationFailed("the year", errors={"year": ["between 2000 and 2100"]})
    return year
