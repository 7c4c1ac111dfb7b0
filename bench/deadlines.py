"""Deadline timers benchmark (not a test): N open clocks stored, K of them due at one instant.

    .venv/bin/python bench/deadlines.py -n 1000000 -k 10000

Starts its own in-memory embedded MongoDB server (or uses MONGO_URI), stores N running clocks whose
timers are spread over six months with K due at the same instant, then measures the sla service's
own tick (the code the timer entrypoint runs: find what is due by the index, fire each once with a
versioned bulk write, stage the events) with the broker left out. Also measures working-day
arithmetic per second.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import socket
import subprocess
import sys
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "libs"))

from hotline_common.clock import FixedClock  # noqa: E402
from hotline_common.mongo import client  # noqa: E402
from hotline_common.outbox import Outbox  # noqa: E402
from hotline_common.settings import Settings  # noqa: E402
from services.sla.calendar_source import build_calendar  # noqa: E402
from services.sla.domain import compute_deadline  # noqa: E402
from services.sla.handlers import fire_timers  # noqa: E402
from services.sla.service import build  # noqa: E402

UTC = timezone.utc
T0 = datetime(2026, 12, 1, 16, 0, tzinfo=UTC)  # Dec 2, 00:00 in Beijing


def embedded_server() -> tuple[str, subprocess.Popen]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([str(Path(sys.executable).parent / "secantusd-py"), "--port", str(port),
                             "--storage-path", ":memory:", "--log-level", "WARNING"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return f"mongodb://127.0.0.1:{port}/?retryWrites=false", proc
        time.sleep(0.1)
    raise RuntimeError("embedded server did not start")


def clock_doc(i: int, fire_at: datetime) -> dict:
    return {"_id": f"t{i:08d}", "number": f"AS20261101{i:06d}"[-16:], "type": "help", "unit_id": f"unit.{i % 40}",
            "unit_leaders": [], "dispatch_no": 1, "round": 1, "state": "running", "started_at": fire_at - timedelta(days=28),
            "working_days": 20, "extended_days": 0, "extensions": [], "event_seq": 1,
            "due_date": (fire_at + timedelta(hours=8)).date().isoformat(), "due_at": fire_at + timedelta(days=1),
            "provisional_years": [], "warn_at": fire_at, "fired": {"due_soon": False, "overdue": False},
            "overdue_ticks": 0, "next_fire_at": fire_at, "next_fire_kind": "due_soon",
            "version": 1, "inbox": [], "event_ids": []}


def working_day_rates(seconds: float = 2.0) -> dict:
    calendar = build_calendar(REPO / "config")
    rng = random.Random(1)
    days = [date(2025, 1, 1) + timedelta(days=rng.randrange(0, 700)) for _ in range(10000)]
    out = {}
    for name, fn in (("add_working_days", lambda d: calendar.add_working_days(d, 20)),
                     ("working_days_between", lambda d: calendar.working_days_between(d, d + timedelta(days=40))),
                     ("compute_deadline", lambda d: compute_deadline(
                         datetime(d.year, d.month, d.day, 3, tzinfo=UTC), 20, calendar))):
        n, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            for d in days:
                fn(d)
            n += len(days)
        out[f"{name}_per_s"] = round(n / (time.perf_counter() - start))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=1_000_000, help="open clocks stored")
    parser.add_argument("-k", type=int, default=10_000, help="clocks due at the same instant")
    args = parser.parse_args()

    result = {"open_clocks": args.n, "due_at_once": args.k}
    result.update(working_day_rates())

    proc = None
    uri = os.environ.get("MONGO_URI")
    if not uri:
        uri, proc = embedded_server()
    try:
        env = {"MONGO_URI": uri, "MONGO_DB_PREFIX": "benchdl_", "HOTLINE_CONFIG_DIR": str(REPO / "config")}
        settings = Settings.from_env(env)
        database = client(uri)[settings.db_name("sla")]
        client(uri).drop_database(settings.db_name("sla"))
        clock = FixedClock(T0)
        sla = build(database=database, outbox=Outbox("sla", clock, None, database), settings=settings, clock=clock)
        sla.store.ensure_indexes()

        start = time.perf_counter()
        rng = random.Random(7)
        batch = []
        for i in range(args.n):
            if i < args.k:
                fire_at = T0
            else:  # spread over six months, none at T0
                fire_at = T0 + timedelta(minutes=rng.randrange(1, 180 * 24 * 60))
            batch.append(clock_doc(i, fire_at))
            if len(batch) == 10_000:
                database.clocks.insert_many(batch, ordered=False)
                batch = []
        if batch:
            database.clocks.insert_many(batch, ordered=False)
        result["load_seconds"] = round(time.perf_counter() - start, 1)

        start = time.perf_counter()
        due = sla.store.due(T0, args.k + 1)
        result["find_due_seconds"] = round(time.perf_counter() - start, 2)
        assert len(due) == args.k, len(due)

        start = time.perf_counter()
        fired = fire_timers(sla)
        result["find_and_fire_seconds"] = round(time.perf_counter() - start, 2)
        result["fired"] = fired
        result["fired_per_s"] = round(fired / result["find_and_fire_seconds"], 1)
        result["events_staged"] = database.outbox.count_documents({})
        start = time.perf_counter()
        again = fire_timers(sla)
        result["second_tick_fired"] = again
        result["second_tick_seconds"] = round(time.perf_counter() - start, 3)
    finally:
        if proc:
            proc.terminate()
            proc.wait(10)
    print(json.dumps(result, indent=2))
    return 0 if result.get("fired") == args.k and result.get("second_tick_fired") == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
