"""Bulletin benchmark (not a test): the monthly bulletin and the assessment over a city-sized month.

    .venv/bin/python bench/bulletin.py --tickets 300000 3000000 [--rounds 5] [--cube]

It starts an in-memory embedded MongoDB server (or uses MONGO_URI), and for each size writes, into a
database of its own, the aggregates a month of N tickets leaves behind, directly (as bench/deadlines.py
writes its clocks): the day × unit buckets and the day × district buckets of the month and of the four
months before (the change against the previous month, the hot-spot baseline), with one surge for the
hot spots to find. With `--cube` also the fine day × unit × type × category × district × channel cube of
the month, sampled ticket by ticket so that its sparsity is real. Then, in rounds with the sizes
interleaved (so that every size sees the same machine), it times with the service's own code and the
real store adapter:

  compose     the monthly bulletin's content (handlers.compose), and how many bucket documents it reads
  html, pdf   its rendering (Jinja2; WeasyPrint)
  publish     the whole on-demand publication (claim, compose, render HTML and PDF, store, the event)
  assessment  every unit scored and ranked for the month, and the same as XLSX
  statistics  by unit (answered from the day × unit buckets) and by district × category (day × district)
  cube        (--cube) category × unit, which only the fine cube answers, bounded to five minutes

The bulletin and the assessment read buckets whose number is days × units and days × districts, never
tickets: their times should be flat from 300k to 3M. A statistics query that needs the fine cube reads
every combination present in the period, a number that grows with tickets until the dimensions saturate.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "libs"))

import pymongo  # noqa: E402

from hotline_common.actors import Actor  # noqa: E402
from hotline_common.catalog import load_catalog  # noqa: E402
from hotline_common.config_files import read_yaml  # noqa: E402
from hotline_common.dispatch import request  # noqa: E402
from hotline_common.mongo import client  # noqa: E402
from hotline_common.testing import FixedClock, RecordingOutbox  # noqa: E402
from services.bulletin import handlers  # noqa: E402
from services.bulletin.assessment import load_scheme  # noqa: E402
from services.bulletin.handlers import HANDLERS, Bulletin, BulletinConfig  # noqa: E402
from services.bulletin.periods import period_of  # noqa: E402
from services.bulletin.store import LIST_KEEP, BulletinStore, enc  # noqa: E402

CONFIG = REPO / "config"
MONTH = date(2026, 9, 1)
TYPE_MIX = {"consult": 63.7, "help": 29.0, "complain": 1.0 + 4.0, "suggest": 0.6 + 0.7, "report": 0.5 + 0.5}
CHANNEL_MIX = {"phone": 70, "web": 8, "app": 9, "wechat": 11, "external": 2}
OPERATOR = Actor("bench", "operator")
SYNTHETIC_UNITS = 40   # departments and district governments besides the configured ones


def embedded_server() -> tuple[str, subprocess.Popen]:
    """A throwaway in-memory embedded MongoDB server (as bench/deadlines.py starts one)."""
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


def shares(mix: dict[str, float]) -> tuple[list[str], list[float]]:
    total = sum(mix.values())
    return list(mix), [v / total for v in mix.values()]


def routing(catalog) -> dict[str, str]:
    """Category -> lead unit, by the longest-prefix rule of config/routing-rules.yaml (else a synthetic unit)."""
    rules = [r for r in read_yaml(CONFIG, "routing-rules.yaml")["rules"] if not r.get("district")]
    out = {}
    for i, code in enumerate(sorted(catalog.categories)):
        best = max((r for r in rules if code == r["category"] or code.startswith(r["category"] + ".")),
                   key=lambda r: len(r["category"]), default=None)
        out[code] = best["lead_unit"] if best else f"bench.unit{i % SYNTHETIC_UNITS:02d}"
    return out


def profile(unit: str) -> dict[str, float]:
    """How a unit behaves: most are good, some late, some unsatisfactory (deterministic per unit)."""
    r = random.Random(unit)
    return {"on_time": r.choice([0.98, 0.95, 0.9, 0.8, 0.6]), "response": r.choice([0.99, 0.95, 0.85, 0.5]),
            "satisfied": r.choice([0.95, 0.9, 0.85, 0.7]), "solved": r.choice([0.9, 0.85, 0.75]),
            "return": r.choice([0.005, 0.01, 0.03])}


def category_weights(catalog) -> tuple[list[str], list[float]]:
    """Leaf-heavy, skewed (Zipf-like) category popularity."""
    codes = sorted(catalog.categories)
    r = random.Random(7)
    r.shuffle(codes)
    return codes, [1.0 / (rank + 1) ** 0.9 for rank in range(len(codes))]


def day_counts(total: int, days: int) -> list[int]:
    base = [total // days] * days
    for i in range(total - sum(base)):
        base[i] += 1
    return base


def month_days(first: date) -> list[date]:
    p = period_of("month", first)
    return [p.start + timedelta(days=i) for i in range(p.length)]


def write_month(db, first: date, tickets: int, *, catalog, route, with_cube: bool, seed: int,
                surge: bool = False) -> dict[str, int]:
    """The buckets a month of `tickets` leaves (places and units; the cube when asked)."""
    rng = random.Random(seed)
    types, type_w = shares(TYPE_MIX)
    channels, channel_w = shares(CHANNEL_MIX)
    districts = sorted(catalog.districts)
    district_w = [3, 3, 2, 2, 2, 1, 1, 1.5, 1.5][: len(districts)]
    codes, code_w = category_weights(catalog)
    days = month_days(first)
    places, units, cube = [], [], []
    serial = 0
    spread = {}
    for code, cw in zip(codes, code_w, strict=True):
        for district, dw in zip(districts, district_w, strict=True):
            for t, tw in zip(types, type_w, strict=True):
                k = round(tickets * cw / sum(code_w) * dw / sum(district_w) * tw)
                if surge and (code, district) == ("noise.commercial", "tiedong"):
                    k *= 3
                if k:
                    spread[(t, code, district, "phone")] = day_counts(k, len(days))
    for index, (day, n) in enumerate(zip(days, day_counts(tickets, len(days)), strict=True)):
        d = day.isoformat()
        # the buckets the bulletin reads: each cell's expected monthly count spread over the days (steady
        # months), with a surge of one cell in the month measured
        combos = Counter({cell: per_day[index] for cell, per_day in spread.items() if per_day[index]})
        by_district: dict[str, dict] = {}
        by_unit: Counter = Counter()
        for (t, code, district, channel), k in combos.items():
            p = by_district.setdefault(district, {"_id": f"{d}|{district}", "day": d, "district": district,
                                                  "registered": 0, "type": Counter(), "channel": Counter(),
                                                  "category": Counter(), "street": {}, "applied": []})
            p["registered"] += k
            p["type"][enc(t)] += k
            p["channel"][enc(channel)] += k
            p["category"][enc(code)] += k
            by_unit[route[code]] += k
        if with_cube:   # the statistics cube, ticket by ticket: its real sparsity
            sampled = Counter(zip(rng.choices(types, type_w, k=n), rng.choices(codes, code_w, k=n),
                                  rng.choices(districts, district_w, k=n), rng.choices(channels, channel_w, k=n),
                                  strict=True))
            for (t, code, district, channel), k in sampled.items():
                unit = route[code]
                base = {"day": d, "type": t, "category": code, "district": district, "channel": channel, "street": None,
                        "applied": []}
                cube.append({"_id": "|".join((d, "", t, code, district, channel, "")), "unit": "", **base,
                             "n": {"registered": k}})
                on_time = round(k * profile(unit)["on_time"])
                cube.append({"_id": "|".join((d, unit, t, code, district, channel, "")), "unit": unit, **base,
                             "n": {"dispatched": k, "due_met": on_time, "due_late": k - on_time}})
        for p in by_district.values():
            places.append({**p, "type": dict(p["type"]), "channel": dict(p["channel"]), "category": dict(p["category"])})
        for unit, k in by_unit.items():
            prof = profile(unit)
            late = k - round(k * prof["on_time"])
            rated = round(k * 0.6)
            unsatisfied = rated - round(rated * prof["satisfied"])
            unsolved = rated - round(rated * prof["solved"])
            counters = {"dispatched": k, "accepted": k, "responded": round(k * prof["response"]),
                        "replied": k - late // 2, "due_met": k - late, "due_late": late, "overdue": late,
                        "missed": late // 2, "returned": round(k * prof["return"]), "rated": rated,
                        "satisfied": rated - unsatisfied - rated // 10, "basically_satisfied": rated // 10,
                        "unsatisfied": unsatisfied, "solved": rated - unsolved, "unsolved": unsolved,
                        "contacted": round(rated * 0.9), "reminders": late // 3, "supervision": late // 20,
                        "accountability": late // 200, "closed": rated}

            lists = {}
            for name, count in (("overdue", late), ("missed", late // 2), ("unsatisfied", unsatisfied),
                                ("unresolved", unsolved)):
                lists[name] = [f"AS{day:%Y%m%d}{(serial + i) % 1_000_000:06d}" for i in range(min(count, LIST_KEEP))]
                serial += len(lists[name])
            units.append({"_id": f"{d}|{unit}", "day": d, "unit": unit, "n": counters,
                          "l": {k2: v for k2, v in lists.items() if v}, "applied": []})
    for name, docs in (("places", places), ("units", units), ("cube", cube)):
        for i in range(0, len(docs), 5000):
            db[name].insert_many(docs[i:i + 5000], ordered=False)
    return {"places": len(places), "units": len(units), "cube": len(cube)}


def timed(fn, repeat: int = 3) -> tuple[float, object]:
    best, result = None, None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        took = time.perf_counter() - start
        best = took if best is None else min(best, took)
    return round(best, 3), result


class Counting:
    """Wraps the store: how many bucket documents (and bytes of them) the reports read."""

    def __init__(self, store: BulletinStore):
        self.store, self.docs, self.bytes = store, 0, 0

    def __getattr__(self, name):
        return getattr(self.store, name)

    def _count(self, docs: list) -> list:
        self.docs += len(docs)
        self.bytes += sum(len(json.dumps(d, ensure_ascii=False, default=str)) for d in docs)
        return docs

    def units(self, *args, **kwargs):
        return self._count(self.store.units(*args, **kwargs))

    def places(self, *args, **kwargs):
        return self._count(self.store.places(*args, **kwargs))


def load(size: int, db, *, cube: bool) -> tuple[Bulletin, dict]:
    """A fresh database with the buckets of a month of `size` tickets and the four months before."""
    catalog = load_catalog(CONFIG)
    route = routing(catalog)
    clock = FixedClock(datetime(2026, 10, 1, 2, tzinfo=UTC))
    store = BulletinStore(db, RecordingOutbox("bulletin", clock))
    store.ensure_indexes()
    start = time.perf_counter()
    written = write_month(db, MONTH, size, catalog=catalog, route=route, with_cube=cube, seed=size, surge=True)
    previous = MONTH
    for back in range(1, 5):   # the month before (changes) and the hot-spot baseline
        previous = (previous - timedelta(days=1)).replace(day=1)
        more = write_month(db, previous, size, catalog=catalog, route=route, with_cube=False, seed=size + back)
        written = {k: written[k] + more[k] for k in written}
    units = {u["id"]: u["name"] for u in read_yaml(CONFIG, "units.yaml")["units"]}
    config = BulletinConfig.from_yaml(read_yaml(CONFIG, "bulletin.yaml"))
    app = Bulletin(store=Counting(store), clock=clock, catalog=catalog,
                   scheme=load_scheme(read_yaml(CONFIG, "assessment.yaml")), config=config, units=units)
    return app, {"tickets": size, "buckets_written": written, "load_s": round(time.perf_counter() - start, 1)}


def measure(app: Bulletin, round_no: int) -> dict:
    """One round of every measurement on one loaded month."""
    from services.bulletin import render
    month = period_of("month", MONTH)
    out: dict = {}
    app.store.docs = app.store.bytes = 0
    out["bulletin_compose_s"], content = timed(lambda: handlers.compose(app, month), repeat=1)
    out["compose_read_docs"], out["compose_read_kb"] = app.store.docs, round(app.store.bytes / 1024)
    doc = {"_id": "monthly-2026-09", "kind": "monthly", "title": app.config.title, "year": 2026, "number": 9,
           "issue": "2026年第9期", "revision": 1, "generated_label": "2026年10月1日 10:00", "content": content}
    out["bulletin_html_s"], html = timed(lambda: render.html(doc, issuer=app.config.issuer), repeat=1)
    out["bulletin_pdf_s"], pdf = timed(lambda: render.pdf(html), repeat=1)
    out["pdf_kb"] = round(len(pdf) / 1024)
    out["bulletin_publish_s"], _ = timed(lambda: HANDLERS.execute(app, "publish_bulletin", request(
        body={"kind": "monthly", "period": "2026-09", "replace": round_no > 0}), OPERATOR), repeat=1)
    out["assessment_s"], ranked = timed(lambda: HANDLERS.execute(
        app, "assessment", request(query={"period": "2026-09"}), OPERATOR), repeat=1)
    out["assessment_xlsx_s"], _ = timed(lambda: HANDLERS.execute(
        app, "assessment", request(query={"period": "2026-09", "format": "xlsx"}), OPERATOR), repeat=1)

    def stats(query: dict) -> dict:
        return HANDLERS.execute(app, "statistics", request(query={"period": "2026-09", **query}), OPERATOR)
    out["statistics_unit_s"], by_unit = timed(lambda: stats({"group_by": "unit",
                                                             "measures": "dispatched,due_met,due_late"}), repeat=1)
    out["statistics_district_x_category_s"], by_place = timed(lambda: stats({"group_by": "district,category"}),
                                                              repeat=1)
    assert (by_unit["source"], by_place["source"]) == ("units", "places")
    out.update(units_ranked=len(ranked["ranking"]), named_units=len(content["named_units"]),
               hot_spots=len(content["hotspots"]["rises"]))
    return out


def cube_statistics(app: Bulletin) -> dict:
    """A statistics query only the fine cube answers (category × unit), bounded to 5 minutes."""
    try:
        with pymongo.timeout(300):
            took, rows = timed(lambda: HANDLERS.execute(app, "statistics", request(query={
                "period": "2026-09", "group_by": "category,unit", "measures": "dispatched,due_met,due_late"}),
                OPERATOR), repeat=1)
        return {"statistics_category_x_unit_cube_s": took, "statistics_cube_rows": len(rows["rows"])}
    except Exception as exc:  # noqa: BLE001 - reported, not fatal
        return {"statistics_category_x_unit_cube_s": None, "statistics_cube_error": f"{type(exc).__name__}"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, nargs="+", default=[300_000, 3_000_000])
    parser.add_argument("--rounds", type=int, default=5, help="measurement rounds, the sizes interleaved")
    parser.add_argument("--cube", action="store_true", help="also write the fine cube and time a query on it")
    args = parser.parse_args()
    if os.environ.get("MONGO_URI"):
        uri, proc = os.environ["MONGO_URI"], None
    else:
        uri, proc = embedded_server()
    try:
        loaded = []
        for size in args.tickets:
            db_name = f"bench_bulletin_{size}"
            client(uri).drop_database(db_name)
            loaded.append(load(size, client(uri)[db_name], cube=args.cube))
        rounds: dict[int, list[dict]] = {size: [] for size in args.tickets}
        for r in range(args.rounds):   # interleaved: every size sees the same machine
            for app, info in loaded:
                rounds[info["tickets"]].append(measure(app, r))
        for app, info in loaded:
            runs = rounds[info["tickets"]]
            result = {**info, "rounds": len(runs), "machine_load_average": [round(x, 1) for x in os.getloadavg()]}
            for key in runs[0]:
                values = [run[key] for run in runs]
                if key.endswith("_s"):
                    result[key] = {"min": min(values), "median": round(statistics.median(values), 3)}
                else:
                    result[key] = values[-1]
            if args.cube:
                result.update(cube_statistics(app))
            print(json.dumps(result, ensure_ascii=False), flush=True)
    finally:
        if proc is not None:
            proc.kill()
            proc.wait(30)


if __name__ == "__main__":
    main()
