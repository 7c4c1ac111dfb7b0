"""The shared controllable clock's admin commands: infrastructure, not a deadline rule (DESIGN §5).

Outside production the whole system may run on one controllable clock (`hotline_common.clock`):
its state is one document in the system database that every service reads, so "3 working days
later" is a command, not a wait. Its commands are served over sla's RPC only because "advance N
working days" counts with the work calendar sla owns; nothing here touches a deadline (the timers
see the new time at their next tick).

Going back in time is refused unless the request says `"force": true`: timers have fired and events
are stamped at the later time, and the earlier time would put new events before them.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from hotline_common.actors import ADMIN, Actor
from hotline_common.clock import ClockState, utcnow
from hotline_common.errors import Conflict, NotAllowedHere
from hotline_common.settings import Settings
from hotline_common.timeutil import CHINA, as_utc, iso, start_of_local_day

from . import commands as c
from .calendar import WorkCalendar

# a set to "the time it shows" (read, then written back to freeze it) arrives a moment late: not a jump back
BACKWARDS_TOLERANCE = timedelta(seconds=5)


@dataclass
class ClockAdmin:
    """The port: where the shared clock's state is kept, and the process clock that reads it."""
    settings: Settings
    clock: Any  # the process clock: now(), invalidate()
    load_state: Callable[[], ClockState | None] | None = None
    save_state: Callable[[ClockState | None], None] | None = None

    def now(self) -> datetime:
        if hasattr(self.clock, "invalidate"):
            self.clock.invalidate()  # another replica may have moved it a moment ago
        return self.clock.now()

    def view(self) -> dict:
        now = self.clock.now()
        return {"now": iso(now), "local": now.astimezone(CHINA).isoformat(timespec="seconds"),
                "mode": self.settings.clock_mode, "environment": self.settings.environment}

    def require_controllable(self) -> None:
        if self.settings.production:
            raise NotAllowedHere("the time of the system cannot be changed in production")
        if self.settings.clock_mode != "controllable" or self.load_state is None or self.save_state is None:
            raise NotAllowedHere("the system runs on the system clock (CLOCK_MODE=system)")

    def move_to(self, target: datetime, running: bool) -> dict:
        assert self.save_state is not None
        self.save_state(ClockState.set_to(as_utc(target), utcnow(), running=running))
        if hasattr(self.clock, "invalidate"):
            self.clock.invalidate()
        return self.view()

    def running(self) -> bool:
        assert self.load_state is not None
        state = self.load_state()
        return state.rate == 1 if state else True


# -- rules -------------------------------------------------------------------------------------------

def refuse_backwards(now: datetime, target: datetime, force: bool) -> None:
    """A jump backwards only when forced."""
    if force or as_utc(target) >= now - BACKWARDS_TOLERANCE:
        return
    raise Conflict(
        f"the clock would go back from {_local(now)} to {_local(target)}: timers have fired and events are "
        f"stamped at the later time; send \"force\": true to go back anyway",
        {"now": iso(now), "requested": iso(target)})


def advance_target(now: datetime, cmd: c.AdvanceClock, calendar: WorkCalendar) -> datetime:
    """`seconds` later, or the same time of day `working_days` working days later (Asia/Shanghai)."""
    if cmd.working_days:
        local = now.astimezone(CHINA)
        day = calendar.add_working_days(local.date(), cmd.working_days)
        return start_of_local_day(day) + (local - local.replace(hour=0, minute=0, second=0, microsecond=0))
    return now + timedelta(seconds=cmd.seconds or 0)


def _local(at: datetime) -> str:
    return as_utc(at).astimezone(CHINA).isoformat(timespec="seconds")


# -- use cases (sla's handler table serves them; `app.clock_admin`, `app.calendar`) --------------------

def get_clock(app, cmd: c.GetClock, actor: Actor) -> dict:
    return app.clock_admin.view()


def set_clock(app, cmd: c.SetClock, actor: Actor) -> dict:
    actor.require(ADMIN)
    admin: ClockAdmin = app.clock_admin
    admin.require_controllable()
    refuse_backwards(admin.now(), cmd.now, cmd.force)
    return admin.move_to(cmd.now, cmd.running)


def advance_clock(app, cmd: c.AdvanceClock, actor: Actor) -> dict:
    """Move the whole system's time forward; a frozen clock stays frozen, a running one runs on."""
    actor.require(ADMIN)
    admin: ClockAdmin = app.clock_admin
    admin.require_controllable()
    return admin.move_to(advance_target(admin.now(), cmd, app.calendar), admin.running())
