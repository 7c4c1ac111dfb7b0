"""Deadline timers benchmark (not a test): N open clocks stored, K of them due at one instant.

    .venv/bin/python bench/deadlines.py -n 1000000 -k 10000

Starts its own in-memory embedded MongoDB server (or uses MONGO_URI), stores N running clocks whose
timers are spread over six months with K due at the same instant T, then runs the sla service's own
timer rounds (the code its timer entrypoint runs) with the broker left out:

- a round 30 s before T: prepares the K clocks into their timer runs (reads them by the due index,
  computes each firing, stages the events) — LEAD ahead of the instant, as the service's 1 s rounds do;
- the round at T: fires them (one versioned write per run); `fire_at_instant_seconds` is the headline;
- the fold: the K clocks' own documents brought up to date (one versioned bulk write, after the fact);
- a second round at T: nothing left;
- and, on a second set of K clocks due at T + 5 h, the worst case: nothing prepared ahead (a replica
  starting at the instant), prepare and fire in one round (`unprepared_fire_seconds`).

Also measures working-day arithmetic per second and the server's CPU seconds per phase (the embedded
server is one Python process: its CPU time is the store's work, whatever else the machine runs).
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
from datetime import UTC, date, datetime, timedelta
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
from services.sla.handlers import fire_timers, fold_timers  # noqa: E402
from services.sla.service import build  # noqa: E402

T0 = datetime(2026, 12, 1, 16, 0, tzinfo=UTC)  # Dec 2, 00:00 in Beijing
SECOND = timedelta(hours=5)                    # the second set's instant (the first set's next timers are a day on)


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


def server_cpu(proc: subprocess.Popen | None) -> float:
    """CPU seconds the embedded server has used so far (0 when the store is not ours)."""
    if proc is None:
        return 0.0
    fields = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed(result: dict, name: str, proc, fn):
    cpu, own, start = server_cpu(proc), time.process_time(), time.perf_counter()
    value = fn()
    result[f"{name}_seconds"] = round(time.perf_counter() - start, 3)
    result[f"{name}_client_cpu_seconds"] = round(time.process_time() - own, 3)
    if proc is not None:
        result[f"{name}_server_cpu_seconds"] = round(server_cpu(proc) - cpu, 3)
    return value


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
        clock = FixedClock(T0 - timedelta(seconds=30))
        sla = build(database=database, outbox=Outbox("sla", clock, None, database), settings=settings, clock=clock)

        start = time.perf_counter()
        rng = random.Random(7)
        batch = []
        for i in range(args.n):
            if i < args.k:
                fire_at = T0
            elif i < 2 * args.k:
                fire_at = T0 + SECOND
            else:  # spread over six months after both instants
                fire_at = T0 + SECOND + timedelta(hours=1, minutes=rng.randrange(0, 180 * 24 * 60))
            batch.append(clock_doc(i, fire_at))
            if len(batch) == 10_000:
                database.clocks.insert_many(batch, ordered=False)
                batch = []
        if batch:
            database.clocks.insert_many(batch, ordered=False)
        result["load_seconds"] = round(time.perf_counter() - start, 1)
        start = time.perf_counter()
        sla.store.ensure_indexes()  # after loading: one index build instead of 5 entries per insert
        result["index_seconds"] = round(time.perf_counter() - start, 1)

        due = timed(result, "find_due", proc, lambda: sla.store.due(T0, args.k + 1))
        assert len(due) == args.k, len(due)

        ahead = timed(result, "prepare_ahead", proc, lambda: fire_timers(sla))   # T - 30 s: prepare, fire nothing
        clock.set(T0)
        fired = timed(result, "fire_at_instant", proc, lambda: fire_timers(sla))
        result["fired_ahead"] = ahead
        result["fired"] = fired
        result["fired_per_s"] = round(fired / max(result["fire_at_instant_seconds"], 1e-6), 1)
        result["events_staged"] = database.outbox.count_documents({})
        result["folded"] = timed(result, "fold", proc, lambda: fold_timers(sla, limit=args.k))
        result["second_tick_fired"] = timed(result, "second_tick", proc, lambda: fire_timers(sla))

        # the worst case: K due at T + 1 day with nothing prepared (a replica starting at that instant)
        clock.set(T0 + SECOND)
        sla.last_sweep = 0.0
        result["unprepared_fired"] = timed(result, "unprepared_fire", proc, lambda: fire_timers(sla))
        timed(result, "unprepared_fold", proc, lambda: fold_timers(sla, limit=args.k))
    finally:
        if proc:
            proc.terminate()
            proc.wait(10)
    print(json.dumps(result, indent=2))
    ok = result.get("fired") == args.k and result.get("second_tick_fired") == 0 \
        and result.get("unprepared_fired") == args.k and result.get("fired_ahead") == 0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
