"""In-memory twin of `store.BulletinStore` for fast tests: the same public methods, the same documents
(it converts with the same functions of store.py), the same idempotency (the per-bucket `applied`
window). tests/contract/test_bulletin_store.py runs one suite against both."""
from __future__ import annotations

import copy
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from hotline_common.testing import MemoryAggregates

from .assessment import ManualInput
from .domain import Count, TicketRecord
from .store import (
    LIST_KEEP,
    BucketWrite,
    bucket_writes,
    clock_field,
    decoded,
    guard_id,
    input_from_doc,
    ticket_from_doc,
    ticket_to_doc,
)


class FakeBulletinStore:
    def __init__(self, outbox):
        self.outbox = outbox
        self.facts: dict[str, dict] = {}
        self.tickets: dict[str, dict] = {}
        self.buckets: dict[str, dict[str, dict]] = {"cube": {}, "units": {}, "places": {}}
        self.names: dict[str, str] = {}
        self.bulletins = MemoryAggregates("bulletins", outbox)
        self.files: dict[str, bytes] = {}
        self.counters: dict[str, int] = {}
        self.claims: dict[str, dict] = {}
        self.assessment_inputs: dict[str, dict] = {}
        self._lock = threading.Lock()

    def ensure_indexes(self) -> None:
        pass

    def ping(self) -> None:
        pass

    # -- facts
    def has_fact(self, event_id: str) -> bool:
        return event_id in self.facts

    def record(self, fact: dict) -> bool:
        with self._lock:
            if fact["_id"] in self.facts:
                return False
            self.facts[fact["_id"]] = copy.deepcopy(fact)
            return True

    def feed(self, after: tuple | None, until, types: list[str] | None, limit: int) -> list[dict]:
        out = []
        for f in self._in_order():
            if f["received_at"] > until or (types and f["type"] not in types):
                continue
            if after and (f["received_at"], f["_id"]) <= after:
                continue
            out.append(copy.deepcopy(f))
            if len(out) == limit:
                break
        return out

    def all_facts(self, batch: int = 1000) -> Iterator[dict]:
        for f in self._in_order():
            yield copy.deepcopy(f)

    def _in_order(self) -> list[dict]:
        return sorted(self.facts.values(), key=lambda f: (f["received_at"], f["_id"]))

    # -- bulletin's record of each ticket
    def ticket(self, ticket_id: str) -> TicketRecord | None:
        doc = self.tickets.get(ticket_id)
        return ticket_from_doc(doc) if doc else None

    def add_ticket(self, t: TicketRecord) -> bool:
        with self._lock:
            if t.ticket_id in self.tickets:
                return False
            self.tickets[t.ticket_id] = ticket_to_doc(t)
            return True

    def add_dispatch(self, ticket_id: str, dispatch_no: int, at: str) -> None:
        doc = self.tickets.get(ticket_id)
        if doc is not None:
            doc["dispatches"][str(dispatch_no)] = at

    def claim_late(self, ticket_id: str, clock: str, event_id: str) -> bool:
        with self._lock:
            doc = self.tickets.get(ticket_id)
            if doc is None:
                return False
            late = doc.setdefault("late", {})
            key = clock_field(clock).split(".", 1)[1]
            late.setdefault(key, event_id)
            return bool(late[key] == event_id)

    # -- aggregates
    def apply(self, event_id: str, counts: Sequence[Count]) -> int:
        changed = 0
        with self._lock:
            for count in counts:
                for w in bucket_writes(count):
                    changed += self._apply_one(w, event_id)
        return changed

    def _apply_one(self, w: BucketWrite, event_id: str) -> int:
        g = guard_id(event_id)
        docs = self.buckets[w.collection]
        doc = docs.get(w.key)
        if doc is None:
            doc = docs[w.key] = {"_id": w.key, **copy.deepcopy(w.fields), "applied": []}
        elif g in doc["applied"]:
            return 0
        for path, n in w.inc.items():
            _inc(doc, path, n)
        for path, number in w.lists.items():
            head, name = path.split(".", 1)
            kept = doc.setdefault(head, {}).setdefault(name, [])
            if len(kept) < LIST_KEEP:
                kept.append(number)
        doc["applied"] = (doc["applied"] + [g])[-w.keep:]
        return 1

    def remember_unit(self, unit_id: str, name: str) -> None:
        self.names[unit_id] = name

    def unit_names(self) -> dict[str, str]:
        return dict(self.names)

    def cube(self, first_day: str, end_day: str, group: Sequence[str], filters: Mapping[str, Sequence[Any]],
             measures: Sequence[str]) -> list[dict[str, Any]]:
        rows: dict[tuple, dict[str, Any]] = {}
        for doc in self.buckets["cube"].values():
            if not first_day <= doc["day"] < end_day:
                continue
            if any(doc.get(dim) not in values for dim, values in filters.items()):
                continue
            key = tuple(doc.get(g) for g in group)
            row = rows.setdefault(key, {"key": dict(zip(group, key, strict=True)), "counters": {m: 0 for m in measures}})
            for m in measures:
                row["counters"][m] += int(doc.get("n", {}).get(m, 0))
        return list(rows.values())

    def units(self, first_day: str, end_day: str, unit: str | None = None, *,
              lists: bool = True) -> list[dict[str, Any]]:
        return [decoded(d if lists else {k: v for k, v in d.items() if k != "l"}, "units")
                for d in self.buckets["units"].values()
                if first_day <= d["day"] < end_day and (unit is None or d["unit"] == unit)]

    def first_day(self) -> str | None:
        days = [d["day"] for d in self.buckets["places"].values()]
        return min(days) if days else None

    def places(self, first_day: str, end_day: str) -> list[dict[str, Any]]:
        return [decoded(d, "places") for d in self.buckets["places"].values() if first_day <= d["day"] < end_day]

    def dump(self) -> dict[str, dict[str, Any]]:
        return {name: {key: decoded(d, name) for key, d in docs.items()} for name, docs in self.buckets.items()}

    # -- bulletins
    def bulletin(self, bulletin_id: str) -> dict | None:
        return self.bulletins.get(bulletin_id)

    def list_bulletins(self, kind: str | None, year: int | None, limit: int) -> list[dict]:
        docs = [d for d in self.bulletins.find({}) if (not kind or d["kind"] == kind) and (not year or d["year"] == year)]
        docs.sort(key=lambda d: d["kind"])
        docs.sort(key=lambda d: d["first_day"], reverse=True)
        return [{k: v for k, v in d.items() if k != "content"} for d in docs[:limit]]

    def next_number(self, kind: str, year: int) -> int:
        with self._lock:
            key = f"{kind}-{year}"
            self.counters[key] = self.counters.get(key, 0) + 1
            return self.counters[key]

    def claim_number(self, bulletin_id: str, kind: str, year: int, now: datetime, ttl_seconds: float) -> int | None:
        with self._lock:
            claim = self.claims.get(bulletin_id)
            if claim is not None and claim["at"] >= now - timedelta(seconds=ttl_seconds):
                return None
            claim = self.claims[bulletin_id] = {"at": now, "number": (claim or {}).get("number")}
        if not claim["number"]:
            claim["number"] = self.next_number(kind, year)
        return int(claim["number"])

    def release_claim(self, bulletin_id: str) -> None:
        with self._lock:
            claim = self.claims.get(bulletin_id)
            if claim is not None:
                claim["at"] = datetime.min.replace(tzinfo=claim["at"].tzinfo)

    def save_bulletin(self, doc: dict, files: Mapping[str, bytes], events: Iterable, *,
                      version: int | None = None) -> None:
        for fmt, body in files.items():
            self.files[f"{doc['_id']}.{fmt}"] = bytes(body)
        if version is None:
            self.bulletins.insert(doc, events)
        else:
            changes = {k: v for k, v in doc.items() if k not in ("_id", "version")}
            self.bulletins.update(doc["_id"], changes, events, version=version)

    def bulletin_file(self, bulletin_id: str, fmt: str) -> bytes | None:
        return self.files.get(f"{bulletin_id}.{fmt}")

    # -- the assessment's manual parts
    def put_input(self, period: str, given: ManualInput) -> None:
        entry = {"unit_id": given.unit_id, "part": given.part, "score": given.score, "note": given.note,
                 "by": given.by, "at": given.at}
        key = f"{period}|{given.unit_id}|{given.part}"
        doc = self.assessment_inputs.setdefault(key, {"_id": key, "history": []})
        doc.update(period=period, **entry)
        doc["history"].append(entry)

    def inputs(self, period: str) -> list[ManualInput]:
        return [input_from_doc(d) for key, d in sorted(self.assessment_inputs.items()) if d["period"] == period]


def _inc(doc: dict, path: str, n: int) -> None:
    parts = path.split(".")
    for part in parts[:-1]:
        doc = doc.setdefault(part, {})
    doc[parts[-1]] = doc.get(parts[-1], 0) + n


# -- a kit for fast tests and benchmarks: the app over the fakes, and events as other services send them --

class BulletinKit:
    """bulletin's use cases over the in-memory store, outbox and a fixed clock."""

    def __init__(self, now: datetime, config_dir, *, render_pdf: bool = False):
        from hotline_common.catalog import load_catalog
        from hotline_common.config_files import read_yaml
        from hotline_common.testing import FixedClock, RecordingOutbox

        from .assessment import load_scheme
        from .handlers import Bulletin, BulletinConfig

        self.clock = FixedClock(now)
        self.outbox = RecordingOutbox("bulletin", self.clock)
        self.store = FakeBulletinStore(self.outbox)
        units = {u["id"]: u["name"] for u in read_yaml(config_dir, "units.yaml")["units"]}
        config = replace(BulletinConfig.from_yaml(read_yaml(config_dir, "bulletin.yaml")), render_pdf=render_pdf)
        self.wall = _Ticker(now)
        self.app = Bulletin(store=self.store, clock=self.clock, catalog=load_catalog(config_dir),
                            scheme=load_scheme(read_yaml(config_dir, "assessment.yaml")), config=config,
                            units=units, wall=self.wall)

    def now(self) -> datetime:
        return self.clock.now()

    def react(self, event, at: datetime | None = None, event_id: str | None = None):
        from .handlers import HANDLERS
        return HANDLERS.react(self.app, envelope_of(event, at or self.clock.now(), event_id))

    def execute(self, name: str, actor, **req):
        from hotline_common.dispatch import request

        from .handlers import HANDLERS
        return HANDLERS.execute(self.app, name, request(**req), actor)


class _Ticker:
    """A wall clock for facts' arrival order that moves a millisecond per reading."""

    def __init__(self, start: datetime):
        self.at = start

    def __call__(self) -> datetime:
        self.at += timedelta(milliseconds=1)
        return self.at


def envelope_of(event, at: datetime, event_id: str | None = None) -> dict:
    from hotline_common.events import envelope

    return envelope(event, source_service=event.SOURCE, time=at, event_id=event_id)


def _iso(at: datetime) -> str:
    from hotline_common.timeutil import iso
    return str(iso(at))


def _actor():
    from hotline_common.messages import ActorRef
    return ActorRef(user_id="system", role="system")


def _routing(cls, ticket_id: str, number: str, unit: str, at: datetime, *, state_dispatch: int = 1, round: int = 1,
             status: str = "dispatched", seq: int = 1, **extra):
    from services.routing.events import AssignmentState, LeadUnit
    state = AssignmentState(status=status, lead_unit=LeadUnit(id=unit, name=unit), first_responsible=False,  # type: ignore[arg-type]
                            co_units=[], dispatch_no=state_dispatch, round=round)
    return cls(ticket_id=ticket_id, number=number, unit_id=unit, at=_iso(at), actor=_actor(), seq=seq, state=state,
               units=[unit], **extra)


def registered(ticket_id: str, number: str, at: datetime, *, type: str = "complain", category: str = "noise.commercial",
               district: str = "tiedong", channel: str = "phone", key_ticket: bool = False):
    from services.intake.events import TicketRegistered
    return TicketRegistered(ticket_id=ticket_id, number=number, channel=channel, type=type,  # type: ignore[arg-type]
                            category=category, district=district, key_ticket=key_ticket, registered_at=_iso(at))


def dispatched(ticket_id: str, number: str, unit: str, at: datetime, *, dispatch_no: int = 1, unit_name: str | None = None,
               type: str = "complain", category: str = "noise.commercial", district: str = "tiedong"):
    from services.routing.events import TicketDispatched
    return _routing(TicketDispatched, ticket_id, number, unit, at, state_dispatch=dispatch_no, dispatch_no=dispatch_no,
                    type=type,
                    category=category, district=district, unit_name=unit_name or unit, co_units=[],
                    first_responsible=False, rule_id=None, manual=False, dispatched_at=_iso(at), previous_unit=None,
                    unit_leaders=[])


def accepted(ticket_id: str, number: str, unit: str, at: datetime, *, dispatch_no: int = 1):
    from services.routing.events import AssignmentAccepted
    return _routing(AssignmentAccepted, ticket_id, number, unit, at, state_dispatch=dispatch_no, status="accepted", seq=2)


def replied(ticket_id: str, number: str, unit: str, at: datetime, *, result: str = "solved", dispatch_no: int = 1):
    from services.routing.events import TicketReplied
    return _routing(TicketReplied, ticket_id, number, unit, at, state_dispatch=dispatch_no, status="replied", seq=4,
                    reply_no=f"{number}-01", result=result, contacted_citizen=True, contributions=[],
                    co_units_pending=[], replied_at=_iso(at))


def return_approved(ticket_id: str, number: str, unit: str, at: datetime, *, new_unit: str | None = None):
    from services.routing.events import ReturnApproved
    return _routing(ReturnApproved, ticket_id, number, new_unit or unit, at, status="awaiting_dispatch", seq=3,
                    returning_unit=unit, note="")


def deadline(cls, ticket_id: str, number: str, unit: str, due: str, *, at: datetime | None = None,
             dispatch_no: int = 1, round: int = 1, type: str = "complain", **extra):
    state = {"DeadlineMet": "met", "DeadlineMissed": "missed"}.get(cls.__name__, "running")
    due_at = datetime.fromisoformat(due).replace(tzinfo=_bj()) + timedelta(days=1)
    if cls.__name__ in ("DeadlineMet", "DeadlineMissed"):
        extra.setdefault("replied_at", _iso(at or due_at))
    if cls.__name__ == "DeadlineExtended":
        extra.setdefault("extension_id", "x1")
        extra.setdefault("extended_working_days", 2)
        extra.setdefault("previous_due_date", due)
    return cls(ticket_id=ticket_id, number=number, unit_id=unit, type=type, dispatch_no=dispatch_no, round=round,
               state=state, started_at=_iso(due_at - timedelta(days=20)), working_days=20, extended_days=0,
               due_date=due, due_at=_iso(due_at), provisional=False, provisional_years=[], actor=_actor(), seq=2,
               **extra)


def callback(ticket_id: str, number: str, unit: str | None, at: datetime, *, satisfaction: str | None = "satisfied",
             solved: bool | None = True, contacted: bool | None = True, by: str = "hotline", reached: bool = True):
    from services.intake.events import CallbackRecorded
    return CallbackRecorded(ticket_id=ticket_id, number=number, unit_id=unit, round=1, at=_iso(at), actor=_actor(),
                            by=by, attempt=1, reached=reached, satisfaction=satisfaction if reached else None,  # type: ignore[arg-type]
                            solved=solved if reached else None, unit_contacted=contacted if reached else None,
                            challenge=False)


def reminder(ticket_id: str, number: str, unit: str, at: datetime, n: int = 1):
    from services.escalation.events import ReminderSent
    return ReminderSent(ticket_id=ticket_id, number=number, unit_id=unit, n=n, kind="auto", working_days_overdue=1,
                        note="", message="", at=_iso(at), actor=_actor(), seq=n)


def accountability(unit: str, at: datetime, *, ticket_id: str | None = None, number: str | None = None):
    from services.escalation.events import AccountabilityRecorded
    return AccountabilityRecorded(record_id=f"acc-{unit}-{at:%Y%m%d%H%M%S}", kind="evasion", kind_label="推诿扯皮",
                                  unit_id=unit, person=None, ticket_id=ticket_id, number=number, case_id=None,
                                  automatic=False, at=_iso(at), actor=_actor())


def _bj():
    from hotline_common.timeutil import CHINA
    return CHINA
