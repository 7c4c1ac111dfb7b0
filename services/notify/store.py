"""notify's MongoDB adapter: subscriptions, the webhook delivery queue (and log), notices.

The only place documents and `domain` dataclasses are converted (`*_to_doc` / `*_from_doc`; the fake
in fakes.py uses the same functions, so both hold the same documents).

* `subscriptions`: plain documents. The failure streak is counted with `$inc` (many deliveries of
  one subscription finish at once), so state changes set only their own fields.
* `deliveries`: the store-backed delivery queue and, once settled, the delivery log. A pending
  delivery has `next_attempt_at`; a replica claims due ones in one bulk write (the claim moves
  `next_attempt_at` past the attempt's timeout and sets a token), so a retry schedule survives
  restarts and a delivery is attempted by one replica at a time; a replica that dies mid-attempt
  leaves a claim that expires. Delivered and dead entries expire (`expire_at`, a TTL index).
  The `_id` is "<subscription>:<event id>": a redelivered event adds nothing.
* `notices`: versioned aggregates whose final state carries `notice.delivered`/`notice.failed`
  through the outbox; claimed and settled with versioned bulk writes (event ids derived from the
  version, so a settle repeated after a crash publishes the same ids).
"""
from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING, InsertOne, ReturnDocument, UpdateOne
from pymongo.errors import DuplicateKeyError, WriteError

from hotline_common.batching import GroupCommit
from hotline_common.messages import to_jsonable
from hotline_common.mongo import HIDDEN, AggregateCollection, Applied
from hotline_common.timeutil import as_utc, parse_iso

from .domain import Attempt, Contact, Delivery, Idempotency, Notice, Subscription

SUBSCRIPTION_CACHE_SECONDS = 1.0   # another replica's new subscription is seen within this
SETTLED_FIELDS = ("status", "next_attempt_at", "attempts", "round_attempts", "delivered_at", "dead_reason",
                  "expire_at", "log")


# -- documents <-> dataclasses -----------------------------------------------------------------------

def _instant(value) -> datetime | None:
    if value is None:
        return None
    return as_utc(value) if isinstance(value, datetime) else parse_iso(value)


def subscription_to_doc(s: Subscription) -> dict[str, Any]:
    doc = {"_id": s.id, "owner": s.owner, "url": s.url, "types": list(s.types), "secret": s.secret,
           "description": s.description, "state": s.state, "created_at": s.created_at,
           "failure_streak": s.failure_streak, "failing_since": s.failing_since, "disabled_at": s.disabled_at,
           "disabled_reason": s.disabled_reason}
    if s.idempotency is not None:  # absent otherwise: the unique index on `idem` is sparse
        doc["idem"] = f"{s.owner}|{s.idempotency.key}"
        doc["idem_fingerprint"] = s.idempotency.fingerprint
    return doc


def subscription_from_doc(doc: dict[str, Any]) -> Subscription:
    idem = None
    if doc.get("idem"):
        idem = Idempotency(key=doc["idem"].split("|", 1)[1], fingerprint=doc["idem_fingerprint"])
    return Subscription(id=doc["_id"], owner=doc["owner"], url=doc["url"], types=tuple(doc["types"]),
                        secret=doc["secret"], description=doc.get("description", ""), state=doc["state"],
                        created_at=as_utc(doc["created_at"]), failure_streak=doc.get("failure_streak", 0),
                        failing_since=_instant(doc.get("failing_since")), disabled_at=_instant(doc.get("disabled_at")),
                        disabled_reason=doc.get("disabled_reason"), idempotency=idem)


def attempt_to_doc(a: Attempt) -> dict[str, Any]:
    return {"at": a.at, "ok": a.ok, "status_code": a.status_code, "duration_ms": a.duration_ms, "error": a.error}


def attempt_from_doc(doc: dict[str, Any]) -> Attempt:
    return Attempt(at=as_utc(doc["at"]), ok=doc["ok"], status_code=doc.get("status_code"),
                   duration_ms=doc.get("duration_ms", 0), error=doc.get("error"))


def delivery_to_doc(d: Delivery) -> dict[str, Any]:
    return {"_id": d.id, "subscription_id": d.subscription_id, "event_id": d.event_id, "event_type": d.event_type,
            "subject": d.subject, "body": d.body, "status": d.status, "created_at": d.created_at,
            "next_attempt_at": d.next_attempt_at, "attempts": d.attempts, "round_attempts": d.round_attempts,
            "delivered_at": d.delivered_at, "dead_reason": d.dead_reason, "expire_at": d.expire_at,
            "log": [attempt_to_doc(a) for a in d.log]}


def delivery_from_doc(doc: dict[str, Any]) -> Delivery:
    return Delivery(id=doc["_id"], subscription_id=doc["subscription_id"], event_id=doc["event_id"],
                    event_type=doc["event_type"], subject=doc.get("subject", ""), body=doc["body"],
                    status=doc["status"], created_at=as_utc(doc["created_at"]),
                    next_attempt_at=_instant(doc.get("next_attempt_at")), attempts=doc.get("attempts", 0),
                    round_attempts=doc.get("round_attempts", 0), delivered_at=_instant(doc.get("delivered_at")),
                    dead_reason=doc.get("dead_reason"), expire_at=_instant(doc.get("expire_at")),
                    log=tuple(attempt_from_doc(a) for a in doc.get("log", ())))


def settled_changes(d: Delivery) -> dict[str, Any]:
    doc = delivery_to_doc(d)
    return {k: doc[k] for k in SETTLED_FIELDS}


def notice_to_doc(n: Notice) -> dict[str, Any]:
    return {"_id": n.id, "kind": n.kind, "ticket_id": n.ticket_id, "number": n.number, "unit_id": n.unit_id,
            "cause_id": n.cause_id, "cause_type": n.cause_type, "channel": n.channel,
            "recipient": to_jsonable(n.recipient) if n.recipient else None, "template_id": n.template_id,
            "params": dict(n.params), "text": n.text, "state": n.state, "created_at": n.created_at,
            "next_attempt_at": n.next_attempt_at, "attempts": n.attempts,
            "provider_message_id": n.provider_message_id, "failure": n.failure,
            "log": [attempt_to_doc(a) for a in n.log]}


def notice_from_doc(doc: dict[str, Any]) -> Notice:
    recipient = doc.get("recipient")
    return Notice(id=doc["_id"], kind=doc["kind"], ticket_id=doc["ticket_id"], number=doc["number"],
                  unit_id=doc["unit_id"], cause_id=doc["cause_id"], cause_type=doc["cause_type"],
                  channel=doc["channel"], recipient=Contact(**recipient) if recipient else None,
                  template_id=doc["template_id"], params=dict(doc["params"]), text=doc["text"], state=doc["state"],
                  created_at=as_utc(doc["created_at"]), next_attempt_at=_instant(doc.get("next_attempt_at")),
                  attempts=doc.get("attempts", 0), provider_message_id=doc.get("provider_message_id"),
                  failure=doc.get("failure"), log=tuple(attempt_from_doc(a) for a in doc.get("log", ())),
                  version=doc["version"])


def notice_changes(n: Notice) -> dict[str, Any]:
    doc = notice_to_doc(n)
    return {k: doc[k] for k in ("state", "next_attempt_at", "attempts", "provider_message_id", "failure", "log")}


def decode_cursor(cursor: str | None) -> tuple[datetime, str] | None:
    if not cursor:
        return None
    at, _, key = cursor.partition("|")
    try:
        return parse_iso(at), key
    except ValueError:
        from hotline_common.errors import ValidationFailed
        raise ValidationFailed("bad cursor", errors={"cursor": ["not a cursor this API gave"]}) from None


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def due_by(now: datetime) -> dict[str, Any]:
    """`next_attempt_at` due at `now`. The lower bound keeps settled entries (next_attempt_at null) out
    of the index range: without it the embedded server reads them all (measured: 1.3 s at 5,000
    settled deliveries of one subscription, 37 ms with it); on MongoDB it changes nothing."""
    return {"$gt": EPOCH, "$lte": now}


def after_cursor(cursor: tuple[datetime, str] | None) -> dict[str, Any]:
    """Entries older than the cursor's (newest first: created_at, then _id, descending)."""
    if cursor is None:
        return {}
    at, key = cursor
    return {"$or": [{"created_at": {"$lt": at}}, {"created_at": at, "_id": {"$lt": key}}]}


# -- the store -----------------------------------------------------------------------------------------

class NotifyStore:
    def __init__(self, database, outbox):
        self.db = database
        self.notices = AggregateCollection(database.notices, outbox)
        self.delivery_writes = GroupCommit(database.deliveries)
        self._lock = threading.Lock()
        self._cached: list[Subscription] = []
        self._cached_at = -1e9

    def ensure_indexes(self) -> None:
        s, d, n = self.db.subscriptions, self.db.deliveries, self.db.notices
        s.create_index([("owner", ASCENDING)], name="owner")
        s.create_index([("idem", ASCENDING)], name="idem", unique=True, sparse=True)
        # what is due costs what is due: a range scan per subscription
        d.create_index([("subscription_id", ASCENDING), ("next_attempt_at", ASCENDING)], name="due")
        d.create_index([("subscription_id", ASCENDING), ("created_at", DESCENDING), ("_id", DESCENDING)], name="log")
        d.create_index([("subscription_id", ASCENDING), ("status", ASCENDING), ("created_at", DESCENDING)],
                       name="by_status")
        d.create_index([("expire_at", ASCENDING)], name="expire", expireAfterSeconds=0)
        n.create_index([("next_attempt_at", ASCENDING)], name="due")
        n.create_index([("ticket_id", ASCENDING)], name="ticket")

    def ping(self) -> None:
        self.db.command("ping")

    # -- subscriptions
    def add_subscription(self, sub: Subscription) -> bool:
        """False when another request with the same owner and Idempotency-Key made one first."""
        try:
            self.db.subscriptions.insert_one(subscription_to_doc(sub))
        except DuplicateKeyError:
            if sub.idempotency is None:
                raise
            return False
        self._invalidate()
        return True

    def subscription(self, subscription_id: str) -> Subscription | None:
        doc = self.db.subscriptions.find_one({"_id": subscription_id})
        return subscription_from_doc(doc) if doc else None

    def by_idempotency(self, owner: str, key: str) -> Subscription | None:
        doc = self.db.subscriptions.find_one({"idem": f"{owner}|{key}"})
        return subscription_from_doc(doc) if doc else None

    def subscriptions(self, owner: str | None = None) -> list[Subscription]:
        query = {"owner": owner} if owner is not None else {}
        return [subscription_from_doc(d) for d in self.db.subscriptions.find(query).sort("created_at", ASCENDING)]

    def count_owned(self, owner: str) -> int:
        return self.db.subscriptions.count_documents({"owner": owner})

    def all_subscriptions(self) -> list[Subscription]:
        """Every subscription, for the fan-out of each event: re-read at most once a second (this
        replica's own changes at once)."""
        with self._lock:
            if time.monotonic() - self._cached_at >= SUBSCRIPTION_CACHE_SECONDS:
                self._cached = self.subscriptions()
                self._cached_at = time.monotonic()
            return self._cached

    def _invalidate(self) -> None:
        self._cached_at = -1e9

    def delete_subscription(self, subscription_id: str) -> bool:
        deleted = self.db.subscriptions.delete_one({"_id": subscription_id}).deleted_count
        self.db.deliveries.delete_many({"subscription_id": subscription_id})
        self._invalidate()
        return bool(deleted)

    def set_disabled(self, sub: Subscription) -> bool:
        """Disable `sub` unless it is disabled already (another replica got there first)."""
        result = self.db.subscriptions.update_one(
            {"_id": sub.id, "state": "active"},
            {"$set": {"state": sub.state, "disabled_at": sub.disabled_at, "disabled_reason": sub.disabled_reason}})
        self._invalidate()
        return bool(result.modified_count)

    def set_enabled(self, sub: Subscription) -> None:
        self.db.subscriptions.update_one({"_id": sub.id}, {"$set": {
            "state": sub.state, "failure_streak": sub.failure_streak, "failing_since": sub.failing_since,
            "disabled_at": None, "disabled_reason": None}})
        self._invalidate()

    def count_failure(self, subscription_id: str, now: datetime) -> Subscription | None:
        """One more failed attempt in a row; the subscription after it (None if it is gone)."""
        doc = self.db.subscriptions.find_one_and_update(
            {"_id": subscription_id}, {"$inc": {"failure_streak": 1}}, return_document=ReturnDocument.AFTER)
        if doc is None:
            return None
        if doc.get("failing_since") is None:
            self.db.subscriptions.update_one({"_id": subscription_id, "failing_since": None},
                                             {"$set": {"failing_since": now}})
            doc["failing_since"] = now
        return subscription_from_doc(doc)

    def count_success(self, subscription_id: str) -> None:
        """The streak ends (a write only when there was one)."""
        self.db.subscriptions.update_one({"_id": subscription_id, "failure_streak": {"$gt": 0}},
                                         {"$set": {"failure_streak": 0, "failing_since": None}})

    # -- the delivery queue
    def add_deliveries(self, deliveries: list[Delivery], claims: dict[str, str] | None = None) -> set[str]:
        """Insert new deliveries in one bulk write (shared with concurrent writers); those inserted
        before (the same event delivered to notify again) are skipped. `claims` (delivery id -> token):
        deliveries inserted already claimed by this replica, which sends them at once (their
        `next_attempt_at` is the claim's end). Returns the ids inserted now."""
        if not deliveries:
            return set()
        claims = claims or {}
        docs = [delivery_to_doc(d) | ({"claim": claims[d.id]} if d.id in claims else {}) for d in deliveries]
        outcomes = self.delivery_writes.write_all([InsertOne(doc) for doc in docs])
        for outcome in outcomes:
            if outcome.error is not None and outcome.error.get("code") != 11000:
                raise WriteError(outcome.error.get("errmsg", "write error"), outcome.error.get("code"), outcome.error)
        return {d.id for d, o in zip(deliveries, outcomes, strict=True) if o.error is None}

    def delivery(self, delivery_id: str) -> Delivery | None:
        doc = self.db.deliveries.find_one({"_id": delivery_id})
        return delivery_from_doc(doc) if doc else None

    def due_deliveries(self, subscription_id: str, now: datetime, limit: int) -> list[Delivery]:
        if limit <= 0:
            return []
        docs = (self.db.deliveries.find({"subscription_id": subscription_id, "next_attempt_at": due_by(now)})
                .sort("next_attempt_at", ASCENDING).limit(limit))
        return [delivery_from_doc(d) for d in docs]

    def claim_deliveries(self, deliveries: list[Delivery], until: datetime, token: str) -> list[Delivery]:
        """Claim due deliveries for one attempt (one bulk write); those another replica claimed first
        are left out."""
        if not deliveries:
            return []
        ops = [UpdateOne({"_id": d.id, "status": "pending", "next_attempt_at": d.next_attempt_at},
                         {"$set": {"next_attempt_at": until, "claim": token}}) for d in deliveries]
        result = self.db.deliveries.bulk_write(ops, ordered=False)
        if result.modified_count == len(ops):
            return list(deliveries)
        mine = {d["_id"] for d in self.db.deliveries.find({"_id": {"$in": [d.id for d in deliveries]},
                                                           "claim": token}, {"_id": 1})}
        return [d for d in deliveries if d.id in mine]

    def settle_delivery(self, d: Delivery, token: str) -> bool:
        """Write an attempt's outcome, if this replica's claim still holds. Outcomes finishing together
        share one bulk write (group commit); False only when the claim is known to be lost."""
        outcome = self.delivery_writes.write(UpdateOne({"_id": d.id, "claim": token},
                                                       {"$set": settled_changes(d), "$unset": {"claim": ""}}))
        if outcome.error is not None:
            raise WriteError(outcome.error.get("errmsg", "write error"), outcome.error.get("code"), outcome.error)
        if outcome.all_updates_matched:
            return True
        return self.db.deliveries.count_documents({"_id": d.id, "claim": token}) == 0 and \
            self.db.deliveries.count_documents({"_id": d.id, "attempts": d.attempts}) == 1

    def save_deliveries(self, deliveries: list[Delivery], expect: str) -> int:
        """Write changed deliveries that are still in the `expect` status (replay, disable); how many applied."""
        if not deliveries:
            return 0
        ops = [UpdateOne({"_id": d.id, "status": expect}, {"$set": settled_changes(d), "$unset": {"claim": ""}})
               for d in deliveries]
        return self.db.deliveries.bulk_write(ops, ordered=False).modified_count

    def deliveries(self, subscription_id: str, status: str | None = None, ids: Iterable[str] = (),
                   limit: int = 50, cursor: str | None = None) -> list[Delivery]:
        """A subscription's deliveries, newest first, after `cursor` (a page of the delivery log)."""
        query: dict[str, Any] = {"subscription_id": subscription_id, **after_cursor(decode_cursor(cursor))}
        if status is not None:
            query["status"] = status
        ids = list(ids)
        if ids:
            query["_id"] = {"$in": ids}
        docs = (self.db.deliveries.find(query).sort([("created_at", DESCENDING), ("_id", DESCENDING)]).limit(limit))
        return [delivery_from_doc(d) for d in docs]

    # -- notices
    def add_notice(self, notice: Notice, events: list, *, cause: str) -> Applied:
        return self.notices.insert(notice_to_doc(notice), events, cause=cause)

    def notice(self, notice_id: str) -> Notice | None:
        doc = self.db.notices.find_one({"_id": notice_id}, HIDDEN)
        return notice_from_doc(doc) if doc else None

    def notices_of(self, ticket_id: str) -> list[Notice]:
        docs = self.db.notices.find({"ticket_id": ticket_id}, HIDDEN).sort("created_at", ASCENDING)
        return [notice_from_doc(d) for d in docs]

    def due_notices(self, now: datetime, limit: int) -> list[Notice]:
        if limit <= 0:
            return []
        docs = (self.db.notices.find({"next_attempt_at": due_by(now)}, HIDDEN)
                .sort("next_attempt_at", ASCENDING).limit(limit))
        return [notice_from_doc(d) for d in docs]

    def claim_notices(self, notices: list[Notice], until: datetime) -> list[Notice]:
        """Claim due notices (versioned: a notice another replica claimed first is left out); each
        returned at its new version."""
        applied = set(self.notices.update_many_versioned(
            [(n.id, n.version, {"next_attempt_at": until}, []) for n in notices]))
        return [_bumped(n) for n in notices if n.id in applied]

    def save_notice(self, notice: Notice, events: list) -> bool:
        """Write a notice's new state at its version, with its events (ids derived from the version)."""
        return bool(self.notices.update_many_versioned([(notice.id, notice.version, notice_changes(notice), events)]))


def _bumped(n: Notice) -> Notice:
    return replace(n, version=n.version + 1)
