"""SLA use cases: clocks, timers, extensions, the calendar and the controllable clock."""
from __future__ import annotations

import logging
import threading
from datetime import date, timedelta

from hotline_common import metrics
from hotline_common.actors import ADMIN, OPERATOR, SYSTEM_ACTOR, Actor
from hotline_common.clock import ClockState as ClockSetting
from hotline_common.clock import utcnow
from hotline_common.errors import NotAllowedHere, NotFound, ValidationFailed
from hotline_common.timeutil import CHINA, iso, local_date, parse_iso, start_of_local_day
from hotline_common.mongo import retrying
from hotline_common.validation import load

from . import domain
from . import schemas as s
from .calendar_source import CalendarFileError, build_calendar, parse_year

log = logging.getLogger(__name__)
FIRE_BATCH = 1000


class Sla:
    def __init__(self, store, clock, settings, policy: domain.Policy, clock_store=None):
        self.store = store
        self.clock = clock
        self.settings = settings
        self.policy = policy
        self.clock_store = clock_store  # (load, save) of the shared controllable clock, outside production
        self._lock = threading.Lock()
        self._calendar_revision = None
        self.calendar = None
        self.refresh_calendar(force=True)

    # -- the calendar (DESIGN §5)
    def refresh_calendar(self, force: bool = False) -> bool:
        """Rebuild the calendar when its overrides changed (any replica may have changed them)."""
        revision = self.store.calendar_revision()
        if not force and revision == self._calendar_revision:
            return False
        stored = {}
        for doc in self.store.calendar_overrides():
            stored[doc["_id"]] = parse_year(doc, f"stored override {doc['_id']}")
        with self._lock:
            self.calendar = build_calendar(self.settings.config_dir, stored)
            self._calendar_revision = revision
        return True

    def _deadline_note(self, clock: dict) -> None:
        for year in clock["provisional_years"]:
            metrics.PROVISIONAL_DEADLINES.labels(str(year)).inc()
            log.warning("deadline of %s counted with weekends only: no holiday data for %s "
                        "(add config/calendar/%s.yaml or PUT /v1/calendar/%s)", clock["number"], year, year, year)

    # -- R7: a dispatch starts the unit's clock; a reply stops it
    def start(self, event: dict) -> bool:
        data = event["data"]
        if data.get("dispatch_no", 1) == 1:  # the first clock: no read needed, a repeat is a duplicate key
            clock, events = domain.start_clock(data, self.policy, self.calendar, SYSTEM_ACTOR)
            self._deadline_note(clock)
            return bool(self.store.add(clock, events, cause=event["id"]))
        existing = self.store.get(data["ticket_id"])
        if existing is not None and domain.clock_key(existing) >= (data["dispatch_no"], 1):
            return False  # this dispatch (or a later one) already has its clock
        clock, events = domain.start_clock(data, self.policy, self.calendar, SYSTEM_ACTOR, previous=existing)
        self._deadline_note(clock)
        if existing is None:
            return bool(self.store.add(clock, events, cause=event["id"]))
        return bool(self.store.save(clock, events, version=existing["version"], cause=event["id"]))

    def reopen(self, event: dict) -> bool:
        """assignment.reopened: the unit handles the ticket again; a new round gets a new clock."""
        data = event["data"]
        existing = self.store.get(data["ticket_id"])
        if existing is None:
            raise NotFound(f"no clock for {data['number']} yet")  # retried
        if domain.clock_key(existing) >= (data["state"]["dispatch_no"], data["round"]):
            return False
        clock, events = domain.reopen_clock(existing, data, self.policy, self.calendar, SYSTEM_ACTOR)
        self._deadline_note(clock)
        return bool(self.store.save(clock, events, version=existing["version"], cause=event["id"]))

    def stop(self, event: dict) -> bool:
        data = event["data"]
        existing = self.store.get(data["ticket_id"])
        if existing is None:
            raise NotFound(f"no clock for {data['number']} yet")  # retried: the dispatch is on its way
        if domain.clock_key(existing) != (data["state"]["dispatch_no"], data["state"].get("round", 1)):
            return False  # a reply from another dispatch or round than the running clock's
        clock, events = domain.stop_on_reply(existing, parse_iso(data["replied_at"]), SYSTEM_ACTOR)
        if not events:
            return False
        return bool(self.store.save(clock, events, version=existing["version"], cause=event["id"]))

    # -- timers: find what is due (an index range), fire it (versioned writes: exactly once)
    def tick(self) -> int:
        self.refresh_calendar()
        now = self.clock.now()
        fired = 0
        while True:
            due = self.store.due(now, FIRE_BATCH)
            if not due:
                return fired
            items = []
            for clock in due:
                updated, events = domain.fire(clock, now, self.calendar, SYSTEM_ACTOR)
                if events:
                    items.append((updated, clock["version"], events))
                    for e in events:
                        metrics.TIMERS_FIRED.labels(e.type.rsplit(".", 1)[-1]).inc()
            applied = self.store.save_many(items)
            fired += len(applied)
            if len(due) < FIRE_BATCH:
                return fired

    # -- reading
    def deadline(self, key: str, actor: Actor) -> dict:
        clock = self._clock(key, actor)
        return present(clock, self.clock.now(), self.calendar)

    def _clock(self, key: str, actor: Actor) -> dict:
        clock = self.store.get(key)
        if clock is None:
            raise NotFound(f"no deadline for {key}")
        if actor.is_unit and actor.unit_id != clock["unit_id"]:
            raise NotFound(f"no deadline for {key}")
        return clock

    # -- R8: extensions
    def request_extension(self, key: str, body: dict, actor: Actor) -> dict:
        cmd = load(s.EXTENSION_REQUEST, body)
        return self._change(key, actor, lambda c: domain.request_extension(
            c, cmd["working_days"], cmd["reason"], actor, self.clock.now(), self.calendar, self.policy))

    def decide_extension(self, key: str, body: dict, actor: Actor) -> dict:
        actor.require(OPERATOR, ADMIN)
        cmd = load(s.EXTENSION_DECISION, body)
        return self._change(key, actor, lambda c: domain.decide_extension(
            c, cmd["approve"], cmd.get("working_days"), cmd["note"], actor, self.clock.now(), self.calendar,
            self.policy))

    def _change(self, key, actor, decide) -> dict:
        def attempt():
            clock = self._clock(key, actor)
            updated, events = decide(clock)
            self.store.save(updated, events, version=clock["version"])
            return present({**updated, "version": clock["version"] + 1}, self.clock.now(), self.calendar)
        return retrying(attempt)

    def list_extensions(self, query: dict, actor: Actor) -> dict:
        q = load(s.EXTENSION_QUERY, query or {})
        items = self.store.extensions(actor.unit_scope(q.get("unit")), q.get("status"))
        counts: dict = {}
        for e in items:
            per_unit = counts.setdefault(e["unit_id"], {"requested": 0, "approved": 0, "rejected": 0, "pending": 0})
            per_unit["requested"] += 1
            per_unit[e["status"]] += 1
        return {"items": items[: q["limit"]], "counts_by_unit": counts}

    # -- the calendar API
    def calendar_year(self, year: int) -> dict:
        rules = self.calendar.years.get(year)
        days = [{"date": d.isoformat(), "name": n, "off": d in rules.holidays} for d, n in rules.names] if rules else []
        return {"year": year, "official": rules is not None, "source": rules.source if rules else None,
                "counting": "official arrangement" if rules else "weekends only (provisional)", "days": days}

    def put_calendar_year(self, year: int, body: dict, actor: Actor) -> dict:
        actor.require(ADMIN)
        document = {**load(s.CALENDAR_YEAR, body), "year": year}
        try:
            parse_year(document, f"calendar {year}")
        except CalendarFileError as exc:
            raise ValidationFailed(str(exc), errors={"days": [str(exc)]}) from None
        self.store.put_calendar_override(year, _jsonable(document))
        self.refresh_calendar(force=True)
        return {**self.calendar_year(year), "recomputed": self.recompute_provisional()}

    def reload_calendar(self, actor: Actor) -> dict:
        """Re-read config/calendar/*.yaml (a file dropped in by ops) on every replica, and recompute."""
        actor.require(ADMIN)
        self.store.bump_calendar()
        self.refresh_calendar(force=True)
        return {"official_years": sorted(self.calendar.years), "recomputed": self.recompute_provisional()}

    def recompute_provisional(self) -> int:
        """Every open provisional deadline, recomputed with the calendar as it is now."""
        items = []
        for clock in self.store.running_provisional():
            updated, events = domain.recompute(clock, self.calendar, self.policy, SYSTEM_ACTOR)
            if events:
                items.append((updated, clock["version"], events))
        return len(self.store.save_many(items))

    # -- the controllable clock (outside production)
    def get_clock(self) -> dict:
        now = self.clock.now()
        return {"now": iso(now), "local": now.astimezone(CHINA).isoformat(timespec="seconds"),
                "mode": self.settings.clock_mode, "environment": self.settings.environment}

    def set_clock(self, body: dict, actor: Actor) -> dict:
        actor.require(ADMIN)
        self._controllable()
        cmd = load(s.CLOCK_SET, body)
        load_state, save_state = self.clock_store
        save_state(ClockSetting.set_to(cmd["now"], utcnow(), running=cmd["running"]))
        self.clock.invalidate()
        return self.get_clock()

    def advance_clock(self, body: dict, actor: Actor) -> dict:
        """Move the whole system's time forward by seconds, or by working days (same time of day)."""
        actor.require(ADMIN)
        self._controllable()
        cmd = load(s.CLOCK_ADVANCE, body)
        load_state, save_state = self.clock_store
        now = self.clock.now()
        if cmd.get("working_days"):
            local = now.astimezone(CHINA)
            day = self.calendar.add_working_days(local.date(), cmd["working_days"])
            target = start_of_local_day(day) + (local - local.replace(hour=0, minute=0, second=0, microsecond=0))
        else:
            target = now + timedelta(seconds=cmd.get("seconds") or 0)
        state = load_state()
        running = state.rate == 1 if state else True
        save_state(ClockSetting.set_to(target, utcnow(), running=running))
        self.clock.invalidate()
        return self.get_clock()

    def _controllable(self) -> None:
        if self.settings.production:
            raise NotAllowedHere("the time of the system cannot be changed in production")
        if self.settings.clock_mode != "controllable" or self.clock_store is None:
            raise NotAllowedHere("the system runs on the system clock (CLOCK_MODE=system)")


def present(clock: dict, now, calendar) -> dict:
    view = {k: v for k, v in clock.items() if k not in ("_id", "inbox", "event_ids", "unit_leaders")}
    view["ticket_id"] = clock["_id"]
    view["provisional"] = bool(clock["provisional_years"])
    if clock["state"] == domain.ClockState.RUNNING:
        view["working_days_left"] = domain.working_days_left(clock, local_date(now), calendar)
        view["overdue"] = now >= clock["due_at"]
    return view


def _jsonable(document: dict) -> dict:
    def day(value):
        return value.isoformat() if isinstance(value, date) else value
    return {**document,
            "holidays": [{**e, "date": day(e["date"])} for e in document.get("holidays") or []],
            "workdays": [{**e, "date": day(e["date"])} for e in document.get("workdays") or []]}

