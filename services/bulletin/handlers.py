"""Bulletin use cases: keep every event; serve the event feed (D5) and statistics (R2)."""
from __future__ import annotations

import base64
import json
from datetime import timedelta

from hotline_common.actors import ADMIN, OPERATOR, SUBSCRIBER, SUPERVISOR, Actor
from hotline_common.catalog import Catalog
from hotline_common.clock import utcnow
from hotline_common.errors import ValidationFailed
from hotline_common.events import ALL_TYPES
from hotline_common.timeutil import iso, parse_iso
from hotline_common.validation import load

from . import domain
from . import schemas as s

FEED_LAG = timedelta(seconds=2)  # facts younger than this wait: a slower concurrent insert may still land before


class Bulletin:
    def __init__(self, store, clock, catalog: Catalog, units: dict | None = None):
        self.store = store
        self.clock = clock
        self.catalog = catalog
        self.units = units or {}

    def observe(self, event: dict) -> bool:
        return self.store.record(domain.fact(event, utcnow()))

    # -- D5: a replayable feed for systems that cannot hold an AMQP connection
    def feed(self, query: dict, actor: Actor) -> dict:
        actor.require(SUBSCRIBER, OPERATOR, SUPERVISOR, ADMIN)
        q = load(s.FEED, query or {})
        types = [t.strip() for t in q["types"].split(",")] if q.get("types") else None
        if types and not set(types) <= set(ALL_TYPES):
            raise ValidationFailed("unknown event types", errors={"types": sorted(set(types) - set(ALL_TYPES))})
        after = decode_cursor(q["after"]) if q.get("after") else None
        facts = self.store.feed(after, utcnow() - FEED_LAG, types, q["limit"])
        cursor = encode_cursor(facts[-1]["received_at"], facts[-1]["_id"]) if facts else q.get("after")
        return {"items": [f["event"] for f in facts], "next_cursor": cursor}

    # -- R2: classification statistics
    def statistics(self, query: dict, actor: Actor) -> dict:
        actor.require(OPERATOR, SUPERVISOR, ADMIN)
        q = load(s.STATISTICS, query or {})
        end = q.get("to") or self.clock.now()
        start = q.get("from") or end - timedelta(days=30)
        event_type, field = domain.GROUPINGS[q["group_by"]]
        rows = [{"key": r["_id"], "label": self._label(q["group_by"], r["_id"]), "count": r["count"]}
                for r in self.store.count_by(event_type, field, start, end)]
        return {"group_by": q["group_by"], "from": iso(start), "to": iso(end), "rows": rows,
                "total": sum(r["count"] for r in rows)}

    def _label(self, group_by: str, key):
        labels = {"category": self.catalog.categories, "district": self.catalog.districts,
                  "channel": self.catalog.channels, "unit": self.units,
                  "type": {"consult": "咨询", "suggest": "建议", "help": "求助", "complain": "投诉", "report": "举报"}}
        return labels.get(group_by, {}).get(key, key)


def encode_cursor(at, fact_id: str) -> str:
    return base64.urlsafe_b64encode(json.dumps([iso(at), fact_id]).encode()).decode().rstrip("=")


def decode_cursor(cursor: str):
    try:
        at, fact_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        return parse_iso(at), str(fact_id)
    except (ValueError, TypeError):
        raise ValidationFailed("bad cursor", errors={"after": ["not a cursor this API returned"]}) from None
