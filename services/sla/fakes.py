"""In-memory twins of sla's adapters for fast tests: the clock store and the shared clock's state.

`FakeSlaStore` has the public methods of `store.SlaStore` and keeps the same documents (it converts
with the same `to_doc`/`from_doc`); tests/contract/test_sla_store.py runs one suite against both.
"""
from __future__ import annotations

import copy
import threading
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from hotline_common.actors import Actor
from hotline_common.clock import ClockState, ControllableClock, utcnow
from hotline_common.dispatch import Outcome, request
from hotline_common.errors import NotFound, StaleVersion
from hotline_common.events import envelope
from hotline_common.messages import ActorRef, Event, Instant, TicketType
from hotline_common.mongo import Applied
from hotline_common.settings import Settings
from hotline_common.testing import MemoryAggregates, RecordingOutbox
from hotline_common.timeutil import as_utc, iso
from services.routing.events import AssignmentReopened, AssignmentState, LeadUnit, TicketDispatched, TicketReplied

from .clock_admin import ClockAdmin
from .domain import Clock, ExtensionRow
from .handlers import HANDLERS, Calendars, Sla, fire_timers, fold_timers, load_policy
from .store import (
    FireResult,
    changes_of,
    extension_rows,
    from_doc,
    hold_tag,
    needs_run,
    run_entry,
    run_id,
    to_doc,
)


class FakeSlaStore:
    def __init__(self, outbox):
        self.clocks = MemoryAggregates("clocks", outbox)
        self.calendar: dict[int, dict] = {}
        self.revision = 0
        self.runs: dict[str, dict] = {}      # timer runs, as store.SlaStore keeps them in `timer_runs`
        self.horizon: datetime | None = None
        self._lock = threading.Lock()

    def ensure_indexes(self) -> None:
        pass

    def ping(self) -> None:
        pass

    # -- clocks
    def get(self, key: str, now: datetime | None = None) -> Clock | None:
        doc = self.clocks.get(key) or self.clocks.find_one({"number": key})
        if not doc:
            return None
        clock = from_doc(doc)
        if clock.next_fire_at is not None and (now is None or clock.next_fire_at <= now):
            return self._fold_one(clock) or clock
        return clock

    def _fold_one(self, clock: Clock) -> Clock | None:
        assert clock.next_fire_at is not None
        run = self.runs.get(run_id(clock.next_fire_at, clock.ticket_id))
        if not run or run["status"] != "fired" or run["keys"].get(clock.ticket_id) != clock.version:
            return None
        entry = run["entries"][clock.ticket_id]
        self._apply([(clock.ticket_id, clock.version, entry["changes"])])
        doc = self.clocks.get(clock.ticket_id)
        return from_doc(doc) if doc else None

    def _apply(self, items) -> int:
        applied = 0
        for tid, version, changes in items:
            try:
                self.clocks.update(tid, changes, version=version)
                applied += 1
            except (StaleVersion, NotFound):
                pass
        return applied

    def add(self, clock: Clock, events, cause: str) -> Applied:
        return self.clocks.insert(to_doc(clock), events, cause=cause)

    def save(self, clock: Clock, events, *, cause: str | None = None, was: Clock | None = None) -> Applied:
        if was is not None and was.next_fire_at is not None:
            self._hold(was)
        return self.clocks.update(clock.ticket_id, changes_of(clock), events, version=clock.version, cause=cause)

    def _hold(self, was: Clock) -> None:
        assert was.next_fire_at is not None
        rid = run_id(was.next_fire_at, was.ticket_id)
        with self._lock:
            run = self.runs.setdefault(rid, _new_run(was.next_fire_at))
            if run["status"] == "open":
                run["keys"].pop(was.ticket_id, None)
                if hold_tag(was) not in run["holds"]:
                    run["holds"].append(hold_tag(was))
                run["version"] += 1
                return
        if self._fold_one(was) is not None:
            raise StaleVersion(f"clock {was.ticket_id}: a timer fired", {"current_version": was.version + 1})

    def save_many(self, items: list[tuple[Clock, list]]) -> list[str]:
        # like the real store: a firing's event ids derive from the version it starts from
        applied = []
        for clock, events in items:
            envelopes = self.clocks.outbox.wrap(events, cause=f"v{clock.version}", key=clock.ticket_id)
            try:
                self.clocks.update(clock.ticket_id, changes_of(clock), envelopes, version=clock.version)
            except (StaleVersion, NotFound):  # another replica got there first
                continue
            applied.append(clock.ticket_id)
        return applied

    def due(self, now: datetime, limit: int) -> list[Clock]:
        docs = [d for d in self.clocks.find({"next_fire_at": {"$ne": None}}) if as_utc(d["next_fire_at"]) <= now]
        docs.sort(key=lambda d: d["next_fire_at"])
        return [from_doc(d) for d in docs[:limit]]

    # -- timer runs
    def pending(self, after: datetime | None, until: datetime) -> list[tuple[Clock, str | None]]:
        docs = [d for d in self.clocks.find({"next_fire_at": {"$ne": None}})
                if as_utc(d["next_fire_at"]) <= until and (after is None or as_utc(d["next_fire_at"]) > after)]
        docs.sort(key=lambda d: d["next_fire_at"])
        return self.placed([from_doc(d) for d in docs])

    def placed(self, clocks: list[Clock]) -> list[tuple[Clock, str | None]]:
        clocks = [c for c in clocks if c.next_fire_at is not None]
        return needs_run(clocks, copy.deepcopy(self.runs))

    def prepare(self, entries: list[tuple[str, datetime, Clock, Clock, list]], now: datetime) -> list[Clock]:
        late: list[Clock] = []
        with self._lock:
            for rid, at, before, after, events in entries:
                entry = run_entry(before, after, events, service=self.clocks.outbox.service, at=max(at, now))
                run = self.runs.setdefault(rid, _new_run(at))
                if run["status"] != "open":
                    if run["keys"].get(before.ticket_id) != before.version:
                        late.append(before)
                elif run["keys"].get(before.ticket_id) != before.version and hold_tag(before) not in run["holds"]:
                    run["entries"][before.ticket_id] = entry
                    run["keys"][before.ticket_id] = before.version
                    run["version"] += 1
        return late

    def fire_runs(self, now: datetime) -> FireResult:
        result, committed = FireResult(), []
        with self._lock:
            for rid, run in sorted(self.runs.items(), key=lambda item: item[1]["at"]):
                if run["status"] == "open" and run["at"] <= now:
                    run.update(status="fired", version=run["version"] + 1)
                    committed.append((rid, run))
        for rid, run in committed:
            entries = {tid: run["entries"][tid] for tid in run["keys"]}
            self.clocks.outbox.committed("timer_runs", rid, [env for e in entries.values() for env in e["envelopes"]])
            result.add(entries)
        return result

    def fold_runs(self, limit: int = 20_000) -> int:
        folded = 0
        for run in list(self.runs.values()):
            if run["status"] == "fired":
                self._apply([(tid, run["entries"][tid]["v"], run["entries"][tid]["changes"]) for tid in run["keys"]])
                folded += len(run["keys"])
                run.update(status="folded", entries={})
        return folded

    def fold(self, ticket_ids: list[str]) -> list[Clock]:
        return [clock for clock in (self.get(tid) for tid in ticket_ids) if clock is not None]

    def prepared_through(self) -> datetime | None:
        return self.horizon

    def advance_horizon(self, seen: datetime | None, to: datetime) -> bool:
        if self.horizon != seen:
            return False
        self.horizon = to
        return True

    def rearm(self, at: datetime) -> None:
        if self.horizon is not None and self.horizon >= at:
            self.horizon = at - timedelta(microseconds=1)

    def running_provisional(self, years: list[int] | None = None) -> list[Clock]:
        docs = self.clocks.find({"state": "running"})
        return [from_doc(d) for d in docs
                if (set(d["provisional_years"]) & set(years) if years else d["provisional_years"])]

    def extensions(self, unit_id: str | None, status: str | None) -> list[ExtensionRow]:
        return extension_rows([d for d in self.clocks.find() if d["extensions"]], unit_id, status)

    # -- calendar overrides
    def calendar_overrides(self) -> list[dict]:
        return [copy.deepcopy(self.calendar[year]) | {"_id": year} for year in sorted(self.calendar)]

    def put_calendar_override(self, year: int, document: dict) -> int:
        self.calendar[year] = copy.deepcopy(document)
        return self.bump_calendar()

    def bump_calendar(self) -> int:
        self.revision += 1
        return self.revision

    def calendar_revision(self) -> int:
        return self.revision


def _new_run(at: datetime) -> dict:
    return {"at": as_utc(at), "status": "open", "version": 0, "entries": {}, "keys": {}, "holds": []}


class MemoryClockState:
    """The shared controllable clock's state document, in memory: (load, save) for `ClockAdmin`."""

    def __init__(self, state: ClockState | None = None):
        self.state = state

    def load(self) -> ClockState | None:
        return self.state

    def save(self, state: ClockState | None) -> None:
        self.state = state


# -- a whole sla over the fakes, and routing's events to feed it (for tests) ----------------------------

ENVIRONMENT = "city.environment"
LEADERS = ("city.environment.leader", "city.environment.deputy")


class SlaKit:
    """sla's use cases over in-memory stores, a recording outbox and a frozen controllable clock."""

    def __init__(self, now: datetime, config_dir: Path, *, environment: str = "test",
                 clock_mode: str = "controllable"):
        self.settings = Settings(environment=environment, clock_mode=clock_mode, config_dir=Path(config_dir))
        self.clock_state = MemoryClockState(ClockState.set_to(now, utcnow(), running=False))
        self.clock = ControllableClock(self.clock_state.load, refresh_seconds=0)
        self.outbox = RecordingOutbox("sla", self.clock)
        self.store = FakeSlaStore(self.outbox)
        admin = ClockAdmin(self.settings, self.clock)
        if clock_mode == "controllable" and not self.settings.production:
            admin = ClockAdmin(self.settings, self.clock, self.clock_state.load, self.clock_state.save)
        self.app = Sla(store=self.store, clock=self.clock, policy=load_policy(self.settings.config_dir),
                       calendars=Calendars(self.store, self.settings.config_dir), clock_admin=admin)

    def set_now(self, at: datetime) -> None:
        self.clock_state.save(ClockState.set_to(at, utcnow(), running=False))

    def now(self) -> datetime:
        return self.clock.now()

    def execute(self, name: str, actor: Actor, **req) -> Any:
        return HANDLERS.execute(self.app, name, request(**req), actor)

    def react(self, event: Event, event_id: str | None = None) -> Outcome:
        return HANDLERS.react(self.app, envelope(event, source_service=event.SOURCE, time=self.now(),
                                                 event_id=event_id))

    def tick(self, **kwargs) -> int:
        """One round of the timer entrypoint: fire and prepare, then fold the fired runs in."""
        fired = fire_timers(self.app, **kwargs)
        fold_timers(self.app)
        return fired

    def published(self, event_cls: type[Event] | None = None) -> list[dict]:
        return self.outbox.of(event_cls) if event_cls else list(self.outbox.published)

    def clock_of(self, key: str) -> Clock:
        clock = self.store.get(key)
        assert clock is not None, f"no clock for {key}"
        return clock


def _state(dispatch_no: int, round_no: int, status: Literal["dispatched", "accepted", "replied"],
           unit_id: str = ENVIRONMENT) -> AssignmentState:
    return AssignmentState(status=status, lead_unit=LeadUnit(id=unit_id, name="市生态环境局"), first_responsible=False,
                           co_units=[], dispatch_no=dispatch_no, round=round_no)


def _instant(at: datetime) -> Instant:
    return Instant(str(iso(at)))


def _routing_actor() -> ActorRef:
    return ActorRef(user_id="system", role="system")


def dispatched(at: datetime, *, ticket_type: TicketType = "complain", dispatch_no: int = 1, round_no: int = 1,
               ticket_id: str = "t1", number: str = "AS20261102000001", unit_id: str = ENVIRONMENT,
               unit_leaders: tuple[str, ...] = LEADERS) -> TicketDispatched:
    """routing's ticket.dispatched, as sla receives it."""
    return TicketDispatched(
        ticket_id=ticket_id, number=number, unit_id=unit_id, at=_instant(at), actor=_routing_actor(), seq=dispatch_no,
        state=_state(dispatch_no, round_no, "dispatched", unit_id), units=[unit_id], type=ticket_type,
        category="noise.neighbourhood", district="tiedong", unit_name="市生态环境局", co_units=[],
        first_responsible=False, rule_id=None, manual=False, dispatch_no=dispatch_no, dispatched_at=_instant(at),
        previous_unit=None, unit_leaders=list(unit_leaders))


def reopened(at: datetime, *, round_no: int, dispatch_no: int = 1, working_days: int | None = None,
             reason: Literal["unsatisfied", "reinvestigation"] = "reinvestigation", ticket_type: TicketType = "complain", ticket_id: str = "t1",
             number: str = "AS20261102000001", unit_id: str = ENVIRONMENT) -> AssignmentReopened:
    """routing's assignment.reopened: the unit handles the ticket again (R10, R15)."""
    return AssignmentReopened(
        ticket_id=ticket_id, number=number, unit_id=unit_id, at=_instant(at), actor=_routing_actor(), seq=10 + round_no,
        state=_state(dispatch_no, round_no, "accepted", unit_id), units=[unit_id], reason=reason, round=round_no,
        working_days=working_days, type=ticket_type)


def replied(at: datetime, *, dispatch_no: int = 1, round_no: int = 1, ticket_id: str = "t1",
            number: str = "AS20261102000001", unit_id: str = ENVIRONMENT) -> TicketReplied:
    """routing's ticket.replied (答复) of a dispatch and round."""
    return TicketReplied(
        ticket_id=ticket_id, number=number, unit_id=unit_id, at=_instant(at), actor=_routing_actor(), seq=20 + round_no,
        state=_state(dispatch_no, round_no, "replied", unit_id), units=[unit_id], reply_no=f"{number}-{round_no:02d}",
        result="solved", contacted_citizen=True, contributions=[], co_units_pending=[], replied_at=_instant(at))
