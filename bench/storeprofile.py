"""What a run costs the store and the broker, per ticket (used by pipeline.py --profile).

Store: the embedded server's `top` (per collection: commands and server time, microseconds) and its
oplog (one entry per document inserted, updated or deleted), read once at the end: the oplog is
bounded (the stack keeps 300 s or 20,000 entries), so profile a short run (-n 500), and the report
says when the oplog no longer reached back to the start (`oplog_complete`). Reading the oplog while
the run goes would cost the store more than the services do (each read scans it). Broker: the
management API's per-queue `deliver_get` and `publish` counters of the stack's vhost.

    snap = StoreProfile(mongo_uri); snap.start(); ...run...; report = snap.stop(tickets)
"""
from __future__ import annotations

import time
from collections import Counter
from urllib.parse import urlparse

import requests
from pymongo import MongoClient

SKIP_DBS = ("admin", "local", "config", "bench_floor")


def _top(client: MongoClient) -> dict:
    totals = client.admin.command("top")["totals"]
    return {ns: v for ns, v in totals.items() if ns != "note" and ns.split(".")[0] not in SKIP_DBS}


class OplogCounter:
    """Counts oplog entries (documents written) per (namespace, op) after the start, read at the end."""

    def __init__(self, client: MongoClient):
        self.oplog = client.local["oplog.rs"]
        last = list(self.oplog.find({}, {"ts": 1}).sort("$natural", -1).limit(1))
        self.start_ts = last[0]["ts"] if last else None
        self.complete = True

    def stop(self) -> Counter:
        counts: Counter = Counter()
        first = None
        for entry in self.oplog.find({}, {"ts": 1, "ns": 1, "op": 1}):
            first = first or entry["ts"]
            if self.start_ts is not None and entry["ts"] <= self.start_ts:
                continue
            ns = entry.get("ns") or ""
            if entry.get("op") in ("i", "u", "d") and ns.split(".")[0] not in SKIP_DBS:
                counts[(ns, entry["op"])] += 1
        self.complete = self.start_ts is None or (first is not None and first <= self.start_ts)
        return counts


def _queues(amqp_uri: str) -> dict:
    parts = urlparse(amqp_uri)
    vhost = (parts.path[1:] or "/").replace("/", "%2F")
    auth = (parts.username or "guest", parts.password or "guest")
    rows = requests.get(f"http://{parts.hostname}:15672/api/queues/{vhost}", auth=auth, timeout=10).json()
    out = {}
    for q in rows:
        stats = q.get("message_stats") or {}
        out[q["name"]] = (stats.get("deliver_get", 0), stats.get("publish", 0))
    return out


class StoreProfile:
    def __init__(self, mongo_uri: str, amqp_uri: str):
        self.client = MongoClient(mongo_uri)
        self.amqp_uri = amqp_uri

    def start(self) -> None:
        self.top0 = _top(self.client)
        self.queues0 = _queues(self.amqp_uri)
        self.oplog = OplogCounter(self.client)

    def stop(self, tickets: int) -> dict:
        docs = self.oplog.stop()
        top1 = _top(self.client)
        time.sleep(6)  # the management API's message rates lag by a few seconds
        queues1 = _queues(self.amqp_uri)
        per: dict[str, dict] = {}
        for ns, now in top1.items():
            before = self.top0.get(ns, {})

            def delta(section, key, now=now, before=before):
                return now[section][key] - (before.get(section, {}).get(key, 0))
            row = {"commands": delta("total", "count") / tickets,
                   "server_ms": delta("total", "time") / 1000 / tickets,
                   "writes_commands": (delta("insert", "count") + delta("update", "count")
                                       + delta("remove", "count")) / tickets,
                   "reads_commands": (delta("queries", "count") + delta("getmore", "count")
                                      + delta("commands", "count")) / tickets,
                   "inserted": docs.get((ns, "i"), 0) / tickets,
                   "updated": docs.get((ns, "u"), 0) / tickets,
                   "deleted": docs.get((ns, "d"), 0) / tickets}
            if row["commands"] or row["inserted"] or row["updated"] or row["deleted"]:
                per[ns] = {k: round(v, 3) for k, v in row.items()}
        deliveries = {}
        for name, (delivered, published) in queues1.items():
            d0, p0 = self.queues0.get(name, (0, 0))
            if delivered - d0 or published - p0:
                deliveries[name] = {"delivered": round((delivered - d0) / tickets, 3),
                                    "published": round((published - p0) / tickets, 3)}
        totals = {k: round(sum(r[k] for r in per.values()), 3)
                  for k in ("commands", "server_ms", "writes_commands", "reads_commands", "inserted", "updated",
                            "deleted")}
        totals["documents_written"] = round(totals["inserted"] + totals["updated"] + totals["deleted"], 3)
        inbox = sum(v["delivered"] for k, v in deliveries.items() if k.endswith(".inbox"))
        return {"per_collection": per, "store_per_ticket": totals, "queues": deliveries,
                "oplog_complete": self.oplog.complete,
                "inbox_deliveries_per_ticket": round(inbox, 3),
                "all_deliveries_per_ticket": round(sum(v["delivered"] for v in deliveries.values()), 3)}


def table(report: dict) -> str:
    """The per-collection rows as a Markdown table."""
    lines = ["| collection | commands | server ms | docs inserted | updated | deleted |", "|---|---|---|---|---|---|"]
    for ns, r in sorted(report["per_collection"].items()):
        lines.append(f"| {ns} | {r['commands']} | {r['server_ms']} | {r['inserted']} | {r['updated']} | {r['deleted']} |")
    t = report["store_per_ticket"]
    lines.append(f"| **total** | **{t['commands']}** | **{t['server_ms']}** | **{t['inserted']}** | **{t['updated']}** "
                 f"| **{t['deleted']}** |")
    lines.append("")
    lines.append("| queue | delivered per ticket | published per ticket |")
    lines.append("|---|---|---|")
    for name, r in sorted(report["queues"].items()):
        lines.append(f"| {name} | {r['delivered']} | {r['published']} |")
    return "\n".join(lines)
