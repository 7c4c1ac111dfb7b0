"""SLA use cases: deadline clocks started, reopened and stopped by routing's events, their timers,
extensions (R7, R8) and the work calendar. The shared clock's admin commands live in clock_admin.py.

Command handlers are `handler(app, command, actor)`, reactions `reaction(app, received)`; the one
table, `HANDLERS`, is at the end. `fire_timers(app)` is the timer entrypoint's use case.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from hotline_common import metrics
from hotline_common.actors import ADMIN, OPERATOR, SYSTEM_ACTOR, Actor
from hotline_common.config_files import read_yaml
from hotline_common.dispatch import Handlers, Outcome, Received
from hotline_common.errors import NotFound, NotYet, StaleVersion, TransientError, ValidationFailed
from hotline_common.mongo import retrying
from hotline_common.timeutil import local_date
from services.routing.events import AssignmentReopened, AssignmentWithdrawn, TicketDispatched, TicketReplied

from . import clock_admin, domain
from . import commands as c
from .calendar import WorkCalendar
from .calendar_source import CalendarFileError, build_calendar, parse_year
from .clock_admin import ClockAdmin
from .domain import Clock, Extension

log = logging.getLogger(__name__)
FIRE_BATCH = 1000
# events one clock's write may carry: well within the event ids the outbox's sweeper checks per document
MAX_EVENTS_PER_WRITE = 50
# timers are prepared into their runs this far ahead of their instant (under the outbox sweeper's
# 120 s orphan age for the events staged then), so that at the instant one write per run fires them
LEAD = timedelta(seconds=60)
SWEEP_SECONDS = 60.0   # how often (real time) a replica also looks at everything due, not only the new range
MAX_ROUNDS = 100       # catch-up rounds in one firing (a clock far behind fires `max_events` per round)
FOLD_PER_ROUND = 2000  # clocks folded into their documents per timer round


class Calendars:
    """The work calendar (DESIGN §5) as the config files and the stored overrides make it now; any
    replica may change the overrides, so the timer looks at their revision before every round."""

    def __init__(self, store, config_dir: Path):
        self.store = store
        self.config_dir = config_dir
        self._lock = threading.Lock()
        self._revision: int | None = None
        self.current: WorkCalendar
        self.refresh(force=True)

    def refresh(self, force: bool = False) -> bool:
        """Rebuild the calendar when its overrides changed."""
        revision = self.store.calendar_revision()
        if not force and revision == self._revision:
            return False
        stored = {doc["_id"]: parse_year(doc, f"stored override {doc['_id']}") for doc in self.store.calendar_overrides()}
        calendar = build_calendar(self.config_dir, stored)
        with self._lock:
            self.current = calendar
            self._revision = revision
        return True


def load_policy(config_dir: Path) -> domain.Policy:
    """config/sla.yaml."""
    config = read_yaml(config_dir, "sla.yaml")
    return domain.Policy(time_limits=config["time_limits"],
                         due_soon_working_days=int(config.get("due_soon_working_days", 1)),
                         extension_notice_working_days=int(config.get("extension_notice_working_days", 2)),
                         max_extension_working_days=int(config.get("max_extension_working_days", 20)))


@dataclass
class Sla:
    """The ports sla's use cases work with."""
    store: Any                # store.SlaStore or fakes.FakeSlaStore
    clock: Any                # now()
    policy: domain.Policy
    calendars: Calendars
    clock_admin: ClockAdmin
    last_sweep: float = 0.0   # when this replica last looked at everything due (monotonic seconds)

    @property
    def calendar(self) -> WorkCalendar:
        return self.calendars.current


# -- reactions: a dispatch starts the unit's clock, a reopening starts a new round's, a reply stops it (R7)

def start_on_dispatch(app: Sla, received: Received[TicketDispatched]) -> Outcome:
    event = received.event

    def attempt() -> Outcome:
        # the first dispatch needs no read: a repeat is the same document, recognised by its cause
        now = app.clock.now()
        existing = None if event.dispatch_no == 1 else app.store.get(event.ticket_id, now)
        clock, events = domain.start_clock(existing, event, now=now, actor=SYSTEM_ACTOR,
                                           calendar=app.calendar, policy=app.policy)
        if not events:
            return Outcome.DUPLICATE
        _deadline_note(clock)
        if existing is None:
            return _written(app, clock, app.store.add(clock, events, cause=received.id))
        return _written(app, clock, app.store.save(clock, events, cause=received.id, was=existing))
    return _retrying(attempt)


def stop_on_withdrawn(app: Sla, received: Received[AssignmentWithdrawn]) -> Outcome:
    """assignment.withdrawn (并单, issue 12): the merged ticket's own clock stops silently."""
    event = received.event
    if event.state.dispatch_no == 0:
        return Outcome.NO_CHANGE  # never dispatched: no clock

    def attempt() -> Outcome:
        existing = _existing(app, event.ticket_id, event.number)
        clock, events = domain.withdraw_clock(existing, event, now=app.clock.now(), actor=SYSTEM_ACTOR)
        if clock == existing:
            return Outcome.DUPLICATE
        return _outcome(app.store.save(clock, events, cause=received.id))
    return _retrying(attempt)


def reopen_on_reopened(app: Sla, received: Received[AssignmentReopened]) -> Outcome:
    """assignment.reopened: the unit handles the ticket again; a new round gets a new clock."""
    event = received.event

    def attempt() -> Outcome:
        existing = _existing(app, event.ticket_id, event.number)
        clock, events = domain.reopen_clock(existing, event, now=app.clock.now(), actor=SYSTEM_ACTOR,
                                            calendar=app.calendar, policy=app.policy)
        if not events:
            return Outcome.DUPLICATE
        _deadline_note(clock)
        return _written(app, clock, app.store.save(clock, events, cause=received.id, was=existing))
    return _retrying(attempt)


def stop_on_reply(app: Sla, received: Received[TicketReplied]) -> Outcome:
    event = received.event

    def attempt() -> Outcome:
        existing = _existing(app, event.ticket_id, event.number)
        clock, events = domain.stop_on_reply(existing, event, now=app.clock.now(), actor=SYSTEM_ACTOR)
        if not events:
            return Outcome.DUPLICATE
        return _outcome(app.store.save(clock, events, cause=received.id, was=existing))
    return _retrying(attempt)


def _existing(app: Sla, ticket_id: str, number: str) -> Clock:
    clock = app.store.get(ticket_id, app.clock.now())
    if clock is None:
        raise NotYet(f"no clock for {number} yet")  # retried: the dispatch is on its way
    return clock


def _outcome(applied) -> Outcome:
    return Outcome.APPLIED if applied else Outcome.DUPLICATE


def _written(app: Sla, clock: Clock, applied) -> Outcome:
    """A clock written with a new timer: if that timer is already inside the prepared horizon, the
    next round must look at it (its run is prepared from the store, not from here)."""
    if applied:
        _rearm(app, clock)
    return _outcome(applied)


def _rearm(app: Sla, clock: Clock) -> None:
    if clock.next_fire_at is not None and clock.next_fire_at <= app.clock.now() + LEAD:
        app.store.rearm(clock.next_fire_at)


def _retrying(attempt) -> Outcome:
    """Re-read and re-decide when a timer or a request moved the clock in between; still losing the
    race after that is worth a later retry of the event (never "no change")."""
    try:
        return retrying(attempt)
    except StaleVersion as exc:
        raise TransientError(f"the clock kept changing: {exc.detail}") from exc


def _deadline_note(clock: Clock) -> None:
    for year in clock.provisional_years:
        metrics.PROVISIONAL_DEADLINES.labels(str(year)).inc()
        log.warning("deadline of %s counted with weekends only: no holiday data for %s "
                    "(add config/calendar/%s.yaml or PUT /v1/calendar/%s)", clock.number, year, year, year)


# -- timers: prepared into runs ahead of their instant, fired by one write per run (see store.py) --------

def fire_timers(app: Sla, max_events: int = MAX_EVENTS_PER_WRITE) -> int:
    """Fire every timer due now and prepare those due within LEAD; returns how many clocks fired.

    At an instant where thousands of clocks are due, their runs were prepared by the rounds before
    (LEAD ahead): firing is one versioned write per run. What was not prepared in time (a clock whose
    timer is already due, a late start) is prepared and fired in the same round. A clock far behind
    (a big jump of the clock) fires `max_events` at a time, in order, until it has caught up."""
    app.calendars.refresh()
    now = app.clock.now()
    cmd = c.FireTimers(max_events=max_events)
    fired = _fired(app.store.fire_runs(now))
    seen = app.store.prepared_through()
    # now and then also everything due (what a crash or a late write left out of the ranges), but
    # never in a round that fired something: that one's clocks are still unfolded, all of them due
    sweep = seen is None or (not fired and time.monotonic() - app.last_sweep >= SWEEP_SECONDS)
    if sweep:
        app.last_sweep = time.monotonic()
    horizon = now + LEAD
    todo = app.store.pending(None, now) + app.store.pending(max(seen, now), horizon) if sweep and seen \
        else app.store.pending(None if sweep else seen, horizon)
    for _ in range(MAX_ROUNDS):
        entries, alone = [], []
        for clock, rid in todo:
            assert clock.next_fire_at is not None
            at = max(clock.next_fire_at, now)
            updated, events = domain.fire(clock, cmd, now=at, actor=SYSTEM_ACTOR, calendar=app.calendar)
            if not events:
                continue
            if rid is None:
                if clock.next_fire_at <= now:
                    alone.append((updated, events))
            else:
                entries.append((rid, clock.next_fire_at, clock, updated, events))
        late = app.store.prepare(entries, now)
        for clock in late:  # its run fired meanwhile without it: fire it on its own if due
            if clock.next_fire_at is not None and clock.next_fire_at <= now:
                alone.append(domain.fire(clock, cmd, now=now, actor=SYSTEM_ACTOR, calendar=app.calendar))
        behind: list[str] = []
        if alone:
            applied = set(app.store.save_many(alone))
            fired += len(applied)
            for clock, events in alone:
                if clock.ticket_id in applied:
                    _count(e.TYPE for e in events)
                    if clock.next_fire_at is not None and clock.next_fire_at <= now:
                        behind.append(clock.ticket_id)
        result = app.store.fire_runs(now)
        fired += _fired(result)
        behind += result.behind
        if not behind:
            break
        todo = app.store.placed(app.store.fold(behind))
    app.store.advance_horizon(seen, horizon)
    return fired


def fold_timers(app: Sla, limit: int = FOLD_PER_ROUND) -> int:
    """Bring clocks fired by runs up to date in their own documents, off the firing's critical path
    (until then reading a clock folds its firing in); at most about `limit` per round, so that the
    next round's instants are not kept waiting."""
    return app.store.fold_runs(limit)


def _fired(result) -> int:
    _count(result.types)
    return result.fired


def _count(kinds) -> None:
    for kind in kinds:
        metrics.TIMERS_FIRED.labels(kind.rsplit(".", 1)[-1]).inc()


# -- reading ----------------------------------------------------------------------------------------

def deadline(app: Sla, cmd: c.GetDeadline, actor: Actor) -> dict:
    return present(_clock(app, cmd.key, actor), app.clock.now(), app.calendar)


def _clock(app: Sla, key: str, actor: Actor) -> Clock:
    clock = app.store.get(key, app.clock.now())
    if clock is None or (actor.is_unit and actor.unit_id != clock.unit_id):
        raise NotFound(f"no deadline for {key}")
    return clock


# -- R8: extensions ---------------------------------------------------------------------------------

def request_extension(app: Sla, cmd: c.RequestExtension, actor: Actor) -> dict:
    return _change(app, cmd.key, actor, lambda clock: domain.request_extension(
        clock, cmd, now=app.clock.now(), actor=actor, calendar=app.calendar, policy=app.policy))


def decide_extension(app: Sla, cmd: c.DecideExtension, actor: Actor) -> dict:
    actor.require(OPERATOR, ADMIN)
    return _change(app, cmd.key, actor, lambda clock: domain.decide_extension(
        clock, cmd, now=app.clock.now(), actor=actor, calendar=app.calendar, policy=app.policy))


def _change(app: Sla, key: str, actor: Actor, decide) -> dict:
    def attempt() -> dict:
        clock = _clock(app, key, actor)
        updated, events = decide(clock)
        app.store.save(updated, events, was=clock)
        _rearm(app, updated)
        return present(replace(updated, version=clock.version + 1), app.clock.now(), app.calendar)
    return retrying(attempt)


def list_extensions(app: Sla, cmd: c.ListExtensions, actor: Actor) -> dict:
    rows = app.store.extensions(actor.unit_scope(cmd.unit), cmd.status)
    counts: dict[str, dict[str, int]] = {}
    for row in rows:
        per_unit = counts.setdefault(row.unit_id, {"requested": 0, "approved": 0, "rejected": 0, "pending": 0})
        per_unit["requested"] += 1
        per_unit[row.extension.status] += 1
    items = [{**extension_view(row.extension), "ticket_id": row.ticket_id, "number": row.number,
              "unit_id": row.unit_id, "due_date": row.due_date.isoformat()} for row in rows[: cmd.limit]]
    return {"items": items, "counts_by_unit": counts}


# -- the work calendar (DESIGN §5) ------------------------------------------------------------------

def calendar_year(app: Sla, cmd: c.GetCalendarYear, actor: Actor) -> dict:
    return _year_view(app.calendar, cmd.year)


def _year_view(calendar: WorkCalendar, year: int) -> dict:
    rules = calendar.years.get(year)
    days = [{"date": d.isoformat(), "name": n, "off": d in rules.holidays} for d, n in rules.names] if rules else []
    return {"year": year, "official": rules is not None, "source": rules.source if rules else None,
            "counting": "official arrangement" if rules else "weekends only (provisional)", "days": days}


def put_calendar_year(app: Sla, cmd: c.PutCalendarYear, actor: Actor) -> dict:
    actor.require(ADMIN)
    document = {"source": cmd.source, "year": cmd.year,
                "holidays": [{"date": d.date.isoformat(), "name": d.name} for d in cmd.holidays],
                "workdays": [{"date": d.date.isoformat(), "name": d.name} for d in cmd.workdays]}
    try:
        parse_year(document, f"calendar {cmd.year}")
    except CalendarFileError as exc:
        raise ValidationFailed(str(exc), errors={"days": [str(exc)]}) from None
    app.store.put_calendar_override(cmd.year, document)
    app.calendars.refresh(force=True)
    return {**_year_view(app.calendar, cmd.year), "recomputed": recompute_provisional(app)}


def reload_calendar(app: Sla, cmd: c.ReloadCalendar, actor: Actor) -> dict:
    """Re-read config/calendar/*.yaml (a file dropped in by ops) on every replica, and recompute."""
    actor.require(ADMIN)
    app.store.bump_calendar()
    app.calendars.refresh(force=True)
    return {"official_years": sorted(app.calendar.years), "recomputed": recompute_provisional(app)}


def recompute_provisional(app: Sla) -> int:
    """Every open provisional deadline, recomputed with the calendar as it is now."""
    cmd = c.RecomputeDeadline(reason="calendar")
    recomputed = 0
    for listed in app.store.running_provisional():
        clock: Clock | None = listed
        for _ in range(3):
            if clock is None:
                break
            try:
                recomputed += _recompute(app, cmd, clock)
                break
            except StaleVersion:  # a timer or a request moved it: decide again on it as it is now
                clock = app.store.get(listed.ticket_id, app.clock.now())
        else:
            log.warning("deadline of %s not recomputed: the clock kept changing", listed.number)
    return recomputed


def _recompute(app: Sla, cmd: c.RecomputeDeadline, clock: Clock) -> int:
    updated, events = domain.recompute(clock, cmd, now=app.clock.now(), actor=SYSTEM_ACTOR,
                                       calendar=app.calendar, policy=app.policy)
    if not events:
        return 0
    app.store.save(updated, events, was=clock)
    _rearm(app, updated)
    return 1


# -- views (the RPC results: the same JSON as before the typed clock) ------------------------------

def present(clock: Clock, now: datetime, calendar: WorkCalendar) -> dict:
    view: dict[str, Any] = {
        "number": clock.number, "type": clock.type, "unit_id": clock.unit_id, "dispatch_no": clock.dispatch_no,
        "round": clock.round, "state": clock.state, "started_at": clock.started_at,
        "working_days": clock.working_days, "extended_days": clock.extended_days,
        "extensions": [extension_view(e) for e in clock.extensions], "event_seq": clock.event_seq,
        "due_date": clock.due_date.isoformat(), "due_at": clock.due_at,
        "provisional_years": list(clock.provisional_years), "warn_at": clock.warn_at,
        "fired": {"due_soon": clock.fired.due_soon, "overdue": clock.fired.overdue},
        "overdue_ticks": clock.overdue_ticks, "next_fire_at": clock.next_fire_at,
        "next_fire_kind": clock.next_fire_kind, "version": clock.version,
        "history": [{"dispatch_no": p.dispatch_no, "round": p.round, "unit_id": p.unit_id, "state": p.state,
                     "due_date": p.due_date.isoformat(), "stopped_at": p.stopped_at, "late": p.late}
                    for p in clock.history],
        "ticket_id": clock.ticket_id, "provisional": clock.provisional,
    }
    if clock.stopped_at is not None:
        view["stopped_at"] = clock.stopped_at
    if clock.running:
        view["working_days_left"] = domain.working_days_left(clock, local_date(now), calendar)
        view["overdue"] = now >= clock.due_at
    return view


def extension_view(e: Extension) -> dict:
    view: dict[str, Any] = {"id": e.id, "working_days": e.working_days, "reason": e.reason,
                            "signed_by": e.signed_by.to_dict(), "requested_at": e.requested_at, "status": e.status,
                            "due_date_at_request": e.due_date_at_request.isoformat()}
    if e.status != "pending":
        view.update(decided_by=e.decided_by.to_dict() if e.decided_by else None, decided_at=e.decided_at,
                    note=e.note, approved_working_days=e.approved_working_days)
    return view


HANDLERS = Handlers(
    service="sla",
    commands={
        c.GetDeadline.NAME: (c.GetDeadline, deadline),
        c.RequestExtension.NAME: (c.RequestExtension, request_extension),
        c.DecideExtension.NAME: (c.DecideExtension, decide_extension),
        c.ListExtensions.NAME: (c.ListExtensions, list_extensions),
        c.GetCalendarYear.NAME: (c.GetCalendarYear, calendar_year),
        c.PutCalendarYear.NAME: (c.PutCalendarYear, put_calendar_year),
        c.ReloadCalendar.NAME: (c.ReloadCalendar, reload_calendar),
        # the shared clock: infrastructure served here (see clock_admin.py)
        c.GetClock.NAME: (c.GetClock, clock_admin.get_clock),
        c.SetClock.NAME: (c.SetClock, clock_admin.set_clock),
        c.AdvanceClock.NAME: (c.AdvanceClock, clock_admin.advance_clock),
    },
    events={
        TicketDispatched: start_on_dispatch,
        AssignmentReopened: reopen_on_reopened,
        TicketReplied: stop_on_reply,
        AssignmentWithdrawn: stop_on_withdrawn,
    },
)
