"""In-memory twins of notify's store and senders for fast tests (tests/contract runs one store suite on
both). Documents are converted with store.py's functions, so both hold the same documents."""
from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import datetime
from typing import Any, TypeVar

from hotline_common.errors import StaleVersion
from hotline_common.events import envelope
from hotline_common.messages import ActorRef, Event
from hotline_common.mongo import Applied
from hotline_common.testing import MemoryAggregates, matches
from services.escalation.events import ReminderSent
from services.routing.events import AssignmentState, LeadUnit, TicketDispatched

from . import commands as c
from .domain import Delivery, Notice, Subscription, delivery_id
from .store import (
    after_cursor,
    decode_cursor,
    delivery_from_doc,
    delivery_to_doc,
    notice_changes,
    notice_from_doc,
    notice_to_doc,
    settled_changes,
    subscription_from_doc,
    subscription_to_doc,
)

E = TypeVar("E", bound=Event)


class MemoryNotifyStore:
    def __init__(self, outbox):
        self.subs: dict[str, dict] = {}
        self.docs: dict[str, dict] = {}          # deliveries
        self.notices = MemoryAggregates("notices", outbox)
        self.writes = 0                          # delivery writes, for assertions on batching

    def ensure_indexes(self) -> None:
        pass

    def ping(self) -> None:
        pass

    # -- subscriptions
    def add_subscription(self, sub: Subscription) -> bool:
        doc = subscription_to_doc(sub)
        if sub.id in self.subs:
            raise ValueError(f"duplicate subscription {sub.id}")
        if "idem" in doc and any(d.get("idem") == doc["idem"] for d in self.subs.values()):
            return False
        self.subs[sub.id] = doc
        return True

    def subscription(self, subscription_id: str) -> Subscription | None:
        doc = self.subs.get(subscription_id)
        return subscription_from_doc(copy.deepcopy(doc)) if doc else None

    def by_idempotency(self, owner: str, key: str) -> Subscription | None:
        found = [d for d in self.subs.values() if d.get("idem") == f"{owner}|{key}"]
        return subscription_from_doc(copy.deepcopy(found[0])) if found else None

    def subscriptions(self, owner: str | None = None) -> list[Subscription]:
        docs = sorted((d for d in self.subs.values() if owner is None or d["owner"] == owner),
                      key=lambda d: d["created_at"])
        return [subscription_from_doc(copy.deepcopy(d)) for d in docs]

    def count_owned(self, owner: str) -> int:
        return sum(1 for d in self.subs.values() if d["owner"] == owner)

    def all_subscriptions(self) -> list[Subscription]:
        return self.subscriptions()

    def delete_subscription(self, subscription_id: str) -> bool:
        for key in [k for k, d in self.docs.items() if d["subscription_id"] == subscription_id]:
            del self.docs[key]
        return self.subs.pop(subscription_id, None) is not None

    def set_disabled(self, sub: Subscription) -> bool:
        doc = self.subs.get(sub.id)
        if doc is None or doc["state"] != "active":
            return False
        doc.update(state=sub.state, disabled_at=sub.disabled_at, disabled_reason=sub.disabled_reason)
        return True

    def set_enabled(self, sub: Subscription) -> None:
        doc = self.subs.get(sub.id)
        if doc is not None:
            doc.update(state=sub.state, failure_streak=sub.failure_streak, failing_since=sub.failing_since,
                       disabled_at=None, disabled_reason=None)

    def count_failure(self, subscription_id: str, now: datetime) -> Subscription | None:
        doc = self.subs.get(subscription_id)
        if doc is None:
            return None
        doc["failure_streak"] += 1
        if doc.get("failing_since") is None:
            doc["failing_since"] = now
        return subscription_from_doc(copy.deepcopy(doc))

    def count_success(self, subscription_id: str) -> None:
        doc = self.subs.get(subscription_id)
        if doc is not None and doc["failure_streak"] > 0:
            doc.update(failure_streak=0, failing_since=None)

    # -- the delivery queue
    def add_deliveries(self, deliveries: list[Delivery], claims: dict[str, str] | None = None) -> set[str]:
        if deliveries:
            self.writes += 1
        added = set()
        for d in deliveries:
            if d.id not in self.docs:
                self.docs[d.id] = delivery_to_doc(d) | ({"claim": claims[d.id]} if claims and d.id in claims else {})
                added.add(d.id)
        return added

    def delivery(self, delivery_id_: str) -> Delivery | None:
        doc = self.docs.get(delivery_id_)
        return delivery_from_doc(copy.deepcopy(doc)) if doc else None

    def due_deliveries(self, subscription_id: str, now: datetime, limit: int) -> list[Delivery]:
        if limit <= 0:
            return []
        due = [d for d in self.docs.values() if d["subscription_id"] == subscription_id
               and d["next_attempt_at"] is not None and d["next_attempt_at"] <= now]
        due.sort(key=lambda d: d["next_attempt_at"])
        return [delivery_from_doc(copy.deepcopy(d)) for d in due[:limit]]

    def claim_deliveries(self, deliveries: list[Delivery], until: datetime, token: str) -> list[Delivery]:
        claimed = []
        for d in deliveries:
            doc = self.docs.get(d.id)
            if doc is not None and doc["status"] == "pending" and doc["next_attempt_at"] == d.next_attempt_at:
                doc.update(next_attempt_at=until, claim=token)
                claimed.append(d)
        if claimed:
            self.writes += 1
        return claimed

    def settle_delivery(self, d: Delivery, token: str) -> bool:
        doc = self.docs.get(d.id)
        if doc is None or doc.get("claim") != token:
            return False
        doc.update(settled_changes(d))
        doc.pop("claim", None)
        self.writes += 1
        return True

    def save_deliveries(self, deliveries: list[Delivery], expect: str) -> int:
        applied = 0
        for d in deliveries:
            doc = self.docs.get(d.id)
            if doc is not None and doc["status"] == expect:
                doc.update(settled_changes(d))
                doc.pop("claim", None)
                applied += 1
        return applied

    def deliveries(self, subscription_id: str, status: str | None = None, ids: Iterable[str] = (),
                   limit: int = 50, cursor: str | None = None) -> list[Delivery]:
        ids = set(ids)
        query = after_cursor(decode_cursor(cursor))
        found = [d for d in self.docs.values() if d["subscription_id"] == subscription_id
                 and (status is None or d["status"] == status) and (not ids or d["_id"] in ids) and matches(d, query)]
        found.sort(key=lambda d: (d["created_at"], d["_id"]), reverse=True)
        return [delivery_from_doc(copy.deepcopy(d)) for d in found[:limit]]

    # -- notices
    def add_notice(self, notice: Notice, events: list, *, cause: str) -> Applied:
        return self.notices.insert(notice_to_doc(notice), events, cause=cause)

    def notice(self, notice_id: str) -> Notice | None:
        doc = self.notices.get(notice_id)
        return notice_from_doc(doc) if doc else None

    def notices_of(self, ticket_id: str) -> list[Notice]:
        docs = sorted(self.notices.find({"ticket_id": ticket_id}), key=lambda d: d["created_at"])
        return [notice_from_doc(d) for d in docs]

    def due_notices(self, now: datetime, limit: int) -> list[Notice]:
        if limit <= 0:
            return []
        docs = [d for d in self.notices.find() if d["next_attempt_at"] is not None and d["next_attempt_at"] <= now]
        docs.sort(key=lambda d: d["next_attempt_at"])
        return [notice_from_doc(d) for d in docs[:limit]]

    def claim_notices(self, notices: list[Notice], until: datetime) -> list[Notice]:
        applied = set(self.notices.update_many_versioned(
            [(n.id, n.version, {"next_attempt_at": until}, []) for n in notices]))
        return [replace(n, version=n.version + 1) for n in notices if n.id in applied]

    def save_notice(self, notice: Notice, events: list) -> bool:
        # the real store derives the event ids from the version (update_many_versioned): so does the fake
        envelopes = self.notices.outbox.wrap(events, cause=f"v{notice.version}", key=notice.id)
        try:
            self.notices.update(notice.id, notice_changes(notice), envelopes, version=notice.version)
        except StaleVersion:
            return False
        return True


# -- senders ---------------------------------------------------------------------------------------------

class FakeWebhooks:
    """Answers each attempt from a script per URL (a list of RecordAttempt, the last one repeating;
    default: delivered) and records what was sent."""

    def __init__(self):
        self.scripts: dict[str, list[c.RecordAttempt]] = {}
        self.sent: list[tuple[Subscription, Delivery]] = []

    def script(self, url: str, *results: c.RecordAttempt) -> FakeWebhooks:
        self.scripts[url] = list(results)
        return self

    def send(self, sub: Subscription, d: Delivery) -> c.RecordAttempt:
        self.sent.append((sub, d))
        script = self.scripts.get(sub.url)
        if not script:
            return c.RecordAttempt(ok=True, status_code=204, duration_ms=3)
        return script.pop(0) if len(script) > 1 else script[0]

    def ids_to(self, url: str) -> list[str]:
        return [d.event_id for s, d in self.sent if s.url == url]


OK = c.RecordAttempt(ok=True, status_code=204, duration_ms=3)
DOWN = c.RecordAttempt(ok=False, status_code=503, duration_ms=3, error="HTTP 503")
REFUSED = c.RecordAttempt(ok=False, error="ConnectionError: connection refused")


class FakeSms:
    """An SMS provider answering from a script (the last result repeating; default: sent)."""

    def __init__(self, channel: str = "sms", *results: c.RecordAttempt):
        self.channel = channel
        self.results = list(results)
        self.sent: list[Notice] = []

    def send(self, notice: Notice) -> c.RecordAttempt:
        self.sent.append(notice)
        if not self.results:
            return c.RecordAttempt(ok=True, status_code=200, provider_message_id=f"m{len(self.sent)}")
        return self.results.pop(0) if len(self.results) > 1 else self.results[0]


def fake_resolver(table: dict[str, list[str]]) -> Callable[[str, int], list[str]]:
    """A DNS of a few names (a literal address resolves to itself)."""
    import ipaddress

    def resolve(host: str, port: int) -> list[str]:
        try:
            return [str(ipaddress.ip_address(host.strip("[]")))]
        except ValueError:
            return list(table.get(host, []))
    return resolve


def pending_ids(store: MemoryNotifyStore, subscription_id: str) -> list[str]:
    return sorted(k for k, d in store.docs.items() if d["subscription_id"] == subscription_id
                  and d["status"] == "pending")


def key(subscription_id: str, event_id: str) -> str:
    return delivery_id(subscription_id, event_id)


def doc_of(store: MemoryNotifyStore, delivery_id_: str) -> dict[str, Any]:
    return store.docs[delivery_id_]


# -- events notify consumes, built for tests ---------------------------------------------------------

SYSTEM_REF = ActorRef(user_id="system", role="system")
OFFICE_REF = ActorRef(user_id="op1", role="operator")


def ticket_dispatched(number: str = "AS20261127000001", unit_id: str = "city.environment") -> TicketDispatched:
    state = AssignmentState(status="dispatched", lead_unit=LeadUnit(id=unit_id, name="市环保局"),
                            first_responsible=False, co_units=[], dispatch_no=1, round=1)
    return TicketDispatched(ticket_id=f"t-{number}", number=number, unit_id=unit_id, at="2026-11-27T02:00:00.000Z",
                            actor=SYSTEM_REF, seq=1, state=state, units=[unit_id], type="complain",
                            category="noise.neighbourhood", district="tiedong", unit_name="市环保局", co_units=[],
                            first_responsible=False, rule_id="r1", manual=False, dispatch_no=1,
                            dispatched_at="2026-11-27T02:00:00.000Z", previous_unit=None,
                            unit_leaders=[f"{unit_id}.leader"])


def deadline_event(cls: type[E], number: str = "AS20261127000001", unit_id: str = "city.environment",
                   **extra: Any) -> E:
    """An sla event (DeadlineOverdue, DeadlineExtended, ExtensionRejected) about one ticket's clock."""
    return cls(ticket_id=f"t-{number}", number=number, unit_id=unit_id, type="complain", dispatch_no=1, round=1,
               state="running", started_at="2026-11-20T02:00:00.000Z", working_days=5, extended_days=0,
               due_date="2026-11-27", due_at="2026-11-27T16:00:00.000Z", provisional=False, provisional_years=[],
               actor=SYSTEM_REF, seq=2, **extra)


def reminder_sent(number: str = "AS20261127000001", unit_id: str = "city.environment", n: int = 1) -> ReminderSent:
    return ReminderSent(ticket_id=f"t-{number}", number=number, unit_id=unit_id, n=n, kind="auto",
                        working_days_overdue=2, note="", message="催办", at="2026-11-27T02:00:00.000Z",
                        actor=SYSTEM_REF, seq=n)


def case_event(cls: type[E], number: str = "AS20261127000001", unit_id: str | None = "city.environment",
               **extra: Any) -> E:
    """SupervisionOpened (detail=...) or ReinvestigationOrdered (order=, instructions=, working_days=)."""
    return cls(ticket_id=f"t-{number}", number=number, unit_id=unit_id, case_id="c1", case_no="DB202611270001",
               trigger="overdue_ignored", trigger_label="超期未办理", state="open", actor=OFFICE_REF, seq=1, **extra)


def event_envelope(event, *, time: datetime, event_id: str | None = None) -> dict:
    return envelope(event, source_service=event.SOURCE, time=time, event_id=event_id)
