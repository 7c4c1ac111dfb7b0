"""Weeks of realistic 12345 traffic through the public API, with the controllable clock (issue 11).

    python -m tools.simulate --url http://127.0.0.1:8000 --weeks 4 --per-day 40 --seed 1

Working day by working day (the clock at 09:00, then `POST /v1/clock/advance {"working_days": 1}`):

- citizens call: `--per-day` tickets (± 20 %), types in the mix of /work/shared/FIELD-NOTES.md (咨询 63.7 %,
  求助 29.0 %, 投诉 1.0 %, 建议 0.6 %, 举报 0.5 %), categories and districts weighted below (codes from
  config/catalog.yaml), channels mostly the phone; the routing rules dispatch them;
- units work them by their behaviour (`--behaviour unit=kind`, defaults in BEHAVIOURS):
  prompt (sign, leader review and reply the same day), normal (within a few working days, before the
  deadline), late (reply only after the deadline has passed), returning (asks to return half of its
  tickets; the operator approves and re-dispatches them), unsatisfactory (replies fast, but the citizens
  are mostly unsatisfied at the callback);
- the operator calls citizens back (回访) a working day after the reply;
- reminders, supervision and accountability happen by themselves as the clock moves (escalation's timers).

At the end the clock moves into the next month, the weekly and monthly bulletins of the simulated
period are published (the bulletin service's timer does it too) and the assessment is printed.
Bounded: `--max-tickets` and `--max-minutes`. Everything goes through the gateway; tokens are minted
with the stack's local secret (`--data-dir`, default .data, as `make run` and `make token` use).
"""
from __future__ import annotations

import argparse
import json
import random
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import requests

from gateway.auth import local_secret, mint

BJ = timezone(timedelta(hours=8))
ISSUER = "hotline-12345"

# FIELD-NOTES: the share of each type in the city's 12345 traffic
TYPE_MIX = {"consult": 63.7, "help": 29.0, "complain": 1.0, "suggest": 0.6, "report": 0.5}
# what citizens call about (codes of config/catalog.yaml; every one has a routing rule, `other` is left out
# since it waits for a manual dispatch); weights loosely after published 12345 annual reports
CATEGORY_MIX = {
    "housing.property": 14, "utilities.heating": 10, "labor.wages": 8, "utilities.water": 6,
    "infrastructure.road": 5, "traffic.parking": 5, "noise.neighbourhood": 4, "noise.construction": 4,
    "noise.commercial": 3, "market.consumer": 6, "market.food_safety": 2, "labor.social_security": 5,
    "transport.bus": 4, "transport.taxi": 2, "urban.illegal_construction": 3, "urban.street_vending": 2,
    "waste.household": 3, "housing.repair": 3, "housing.elevator": 2, "infrastructure.streetlight": 2,
    "infrastructure.drainage": 2, "utilities.power": 2, "utilities.gas": 2, "education": 3, "health": 3,
    "environment.air": 1, "traffic.signal": 1,
}
DISTRICT_MIX = {"tiedong": 22, "tiexi": 18, "lishan": 15, "qianshan": 8, "haicheng": 20, "taian": 6,
                "xiuyan": 5, "gaoxin": 4, "jingkai": 2}
CHANNEL_MIX = {"phone": 80, "web": 8, "app": 7, "wechat": 5}
BEHAVIOURS = {"city.enforcement": "late", "city.transport": "returning", "city.market": "unsatisfactory",
              "city.housing": "prompt", "city.environment": "prompt", "city.water": "prompt"}
# satisfaction at the callback: (satisfied, basically satisfied, unsatisfied) weights per behaviour
SATISFACTION = {"prompt": (80, 15, 5), "normal": (65, 25, 10), "late": (45, 30, 25), "returning": (55, 25, 20),
                "unsatisfactory": (10, 20, 70)}
SUBJECTS = {"consult": "咨询", "help": "求助", "complain": "投诉", "suggest": "建议", "report": "举报"}
REPLY = "经核查，已安排工作人员与市民联系并现场处理，相关问题已按规定办理，处理结果已告知市民。"
REVIEW = "请按规定时限认真办理并答复市民"
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"


def pick(rng: random.Random, mix: dict[str, float]) -> str:
    return rng.choices(list(mix), weights=list(mix.values()))[0]


class Api:
    def __init__(self, url: str, data_dir: Path):
        self.url, self.secret = url.rstrip("/"), local_secret(data_dir)
        self.local, self.tokens = threading.local(), {}
        self.calls = 0

    def _headers(self, role: str, unit: str | None) -> dict:
        key = (role, unit)
        if key not in self.tokens:
            user = f"{unit}.leader" if role == "unit_leader" else (f"{unit}.handler" if unit else f"{role}.sim")
            self.tokens[key] = mint(self.secret, ISSUER, role=role, user_id=user, unit_id=unit)
        return {"Authorization": f"Bearer {self.tokens[key]}"}

    def call(self, method: str, path: str, body=None, role="operator", unit=None, params=None):
        self.calls += 1
        if not hasattr(self.local, "session"):
            self.local.session = requests.Session()
        return self.local.session.request(method, self.url + path, json=body, params=params, timeout=30,
                                    headers=self._headers(role, unit))


class Simulation:
    def __init__(self, api: Api, args: argparse.Namespace):
        self.api, self.args = api, args
        self.rng = random.Random(args.seed)
        self.behaviour = dict(BEHAVIOURS)
        for item in args.behaviour:
            unit, _, kind = item.partition("=")
            if kind not in SATISFACTION:
                raise SystemExit(f"--behaviour {item}: kind must be one of {', '.join(SATISFACTION)}")
            self.behaviour[unit] = kind
        self.open: dict[str, dict] = {}           # number -> what the simulator knows of the ticket
        self.stats: Counter = Counter()
        self.lock = threading.Lock()
        self.pool = ThreadPoolExecutor(max_workers=args.workers)
        self.day_no = 0
        self.deadline = time.monotonic() + 60 * args.max_minutes

    def count(self, key: str) -> None:
        with self.lock:
            self.stats[key] += 1

    def rng_for(self, number: str) -> random.Random:
        """Each ticket's decisions on each day come from its own generator: the same with the same
        --seed, whatever order the worker threads take the tickets in."""
        return random.Random(f"{self.args.seed}:{number}:{self.day_no}")

    def kind_of(self, unit: str | None) -> str:
        return self.behaviour.get(unit or "", "normal")

    # -- the clock ------------------------------------------------------------------------------------
    def now(self) -> datetime:
        return datetime.fromisoformat(self.api.call("GET", "/v1/clock").json()["now"].replace("Z", "+00:00"))

    def set_clock(self, at: datetime) -> None:
        r = self.api.call("PUT", "/v1/clock", {"now": at.isoformat(), "running": True}, role="admin")
        r.raise_for_status()

    def advance(self, working_days=0, seconds=0) -> None:
        body = {"working_days": working_days} if working_days else {"seconds": seconds}
        self.api.call("POST", "/v1/clock/advance", body, role="admin").raise_for_status()

    def start_instant(self) -> datetime:
        if self.args.start:
            day = date.fromisoformat(self.args.start)
        else:   # the first Monday of the month after the stack's clock: a fresh month for the bulletin
            now = self.now().astimezone(BJ).date()
            day = date(now.year + (now.month == 12), now.month % 12 + 1, 1)
            while day.weekday() != 0:
                day += timedelta(days=1)
        return datetime(day.year, day.month, day.day, 9, tzinfo=BJ)

    # -- citizens ---------------------------------------------------------------------------------------
    def draw(self, i: int) -> dict:
        rng = self.rng
        kind, category, district = pick(rng, TYPE_MIX), pick(rng, CATEGORY_MIX), pick(rng, DISTRICT_MIX)
        body = {"channel": pick(rng, CHANNEL_MIX), "type": kind, "category": category, "district": district,
                "address": f"{district}某小区{rng.randint(1, 40)}号楼",
                "citizen": {"name": f"{rng.choice(SURNAMES)}{'先生' if rng.random() < .5 else '女士'}",
                            "phone": f"13{rng.randint(0, 9)}{rng.randint(10**7, 10**8 - 1)}"},
                "content": f"{SUBJECTS[kind]}：关于{category}方面的问题，市民反映情况并希望尽快处理（模拟第{i}件）"}
        return body

    def register(self, body: dict) -> None:
        kind = body["type"]
        r = self.api.call("POST", "/v1/tickets", body)
        if r.status_code != 201:
            self.count("register_failed")
            return
        self.count("registered")
        self.count(f"type:{kind}")
        self.open[r.json()["number"]] = {"day": self.day_no, "state": "new"}

    # -- units ------------------------------------------------------------------------------------------
    def act(self, number: str, path: str, body: dict, unit: str, leader=False) -> bool:
        r = self.api.call("POST", f"/v1/tickets/{number}/{path}", body,
                          role="unit_leader" if leader else "unit_handler", unit=unit)
        self.count(f"{path}:{r.status_code}")
        return r.status_code == 200

    def work(self, number: str, t: dict) -> None:
        view = self.api.call("GET", f"/v1/tickets/{number}").json()
        status, units = view.get("status"), view.get("units") or []
        unit = units[0] if units else None
        if view.get("closed") or status == "closed":
            self.open.pop(number, None)
            return
        if status in ("registered", "pending_dispatch", "returned") or not unit:
            if status == "returned" or t.get("returned"):
                return self.redispatch(number, view)
            return
        kind, rng = self.kind_of(unit), self.rng_for(number)
        age = self.day_no - t.get("since", t["day"])
        if status == "dispatched":
            if kind == "returning" and not t.get("returned") and rng.random() < 0.5:
                if self.act(number, "returns", {"reason": "该事项不属于本单位职责范围，建议改派相关主管部门"}, unit):
                    t["returned"] = True
                    self.count("returns_requested")
                return
            if kind != "late" or age >= 1 or rng.random() < 0.5:
                self.act(number, "accept", {}, unit)
            return
        if status == "return_requested":
            r = self.api.call("POST", f"/v1/tickets/{number}/returns/decision",
                              {"approve": True, "note": "同意退回，重新派单", "redispatch_to": self.other_unit(unit, rng)})
            self.count(f"return_decision:{r.status_code}")
            t["since"] = self.day_no
            return
        if status in ("accepted", "reviewed") and self.due_to_reply(kind, age, view, rng):
            if status == "accepted":
                self.act(number, "review", {"instructions": REVIEW}, unit, leader=True)
            if self.act(number, "reply", {"result": "solved", "content": REPLY, "contacted_citizen": True}, unit):
                t.update(state="replied", replied_day=self.day_no, unit=unit)
            elif view.get("round", 1) > 1:   # a reopened ticket may need its on-site verification first
                self.act(number, "verification", {
                    "inspector": f"{unit} 核查组", "inspected_at": self.now().isoformat(),
                    "findings": "现场核查，市民反映情况属实，已督促整改", "responsibility": "责任在被反映单位，已整改"}, unit)
            return
        if status == "replied" and t.get("state") == "replied" and self.day_no > t.get("replied_day", 0):
            self.callback(number, t)

    def due_to_reply(self, kind: str, age: int, view: dict, rng: random.Random) -> bool:
        if kind in ("prompt", "unsatisfactory", "returning"):
            return True
        if kind == "late":
            return bool(view.get("overdue")) and rng.random() < 0.6
        left = (view.get("deadline") or {}).get("working_days", 2)
        return age >= min(left - 1, rng.randint(0, 3))

    def other_unit(self, unit: str, rng: random.Random) -> str:
        candidates = sorted(u for u, k in self.behaviour.items() if u != unit and k in ("prompt", "normal"))
        return rng.choice(candidates or ["city.housing"])

    def redispatch(self, number: str, view: dict) -> None:
        r = self.api.call("POST", f"/v1/tickets/{number}/dispatch", {"unit_id": self.other_unit("", self.rng_for(number))})
        self.count(f"dispatch:{r.status_code}")

    def callback(self, number: str, t: dict) -> None:
        rng, kind = self.rng_for(number + ":callback"), self.kind_of(t.get("unit"))
        if rng.random() < 0.08:
            body = {"reached": False}
        else:
            satisfaction = rng.choices(["satisfied", "basically_satisfied", "unsatisfied"], SATISFACTION[kind])[0]
            body = {"reached": True, "satisfaction": satisfaction,
                    "solved": satisfaction != "unsatisfied" or rng.random() < 0.2, "unit_contacted": rng.random() < 0.9}
        r = self.api.call("POST", f"/v1/tickets/{number}/callbacks", body)
        self.count(f"callback:{body.get('satisfaction', 'unreached')}")
        if r.status_code == 200:
            after = r.json()
            if after.get("status") == "closed":
                self.open.pop(number, None)
            else:
                t.update(state="reopened", since=self.day_no)

    # -- the run ----------------------------------------------------------------------------------------
    def out_of_budget(self) -> bool:
        return self.stats["registered"] >= self.args.max_tickets or time.monotonic() > self.deadline

    def run(self) -> None:
        start = self.start_instant()
        self.set_clock(start)
        days = 5 * self.args.weeks
        print(f"simulating {self.args.weeks} week(s) from {start.date()} at {self.api.url}: "
              f"~{self.args.per_day} tickets a working day, units: "
              + ", ".join(f"{u}={k}" for u, k in sorted(self.behaviour.items())), flush=True)
        began = time.monotonic()
        for self.day_no in range(days):
            today = self.now().astimezone(BJ).date()
            n = 0 if self.out_of_budget() else max(1, round(self.args.per_day * self.rng.uniform(0.8, 1.2)))
            n = min(n, self.args.max_tickets - self.stats["registered"])
            bodies = [self.draw(self.stats["registered"] + i + 1) for i in range(n)]
            list(self.pool.map(self.register, bodies))
            time.sleep(1.0)                                   # let routing dispatch the day's tickets
            for _ in range(2):                                # two rounds: sign for, then review and reply
                if time.monotonic() < self.deadline:
                    list(self.pool.map(lambda item: self.work(*item), sorted(self.open.items())))
            print(f"  {today} (day {self.day_no + 1}/{days}): +{n} tickets, {len(self.open)} open, "
                  f"{self.stats['reply:200']} replies, {sum(v for k, v in self.stats.items() if k.startswith('callback:'))}"
                  f" callbacks, {self.api.calls} calls, {time.monotonic() - began:.0f}s", flush=True)
            if time.monotonic() > self.deadline:
                print(f"  stopping: --max-minutes {self.args.max_minutes} reached", flush=True)
                break
            self.advance(working_days=1)
        self.finish(start)

    def bulletin(self, kind: str, key: str) -> dict | None:
        """The period's bulletin: the service's timer makes it once the period has ended (wait for that
        first, rather than racing it), else made on demand."""
        for attempt in range(60):
            listed = self.api.call("GET", "/v1/bulletins", params={"kind": kind, "year": key[:4]})
            found = [b for b in (listed.json().get("items", []) if listed.ok else []) if b["period"] == key]
            if found:
                return found[0]
            if attempt >= 20:
                r = self.api.call("POST", "/v1/bulletins", {"kind": kind, "period": key, "replace": False})
                if r.status_code in (200, 201):
                    return r.json()
            time.sleep(1)
        return None

    def finish(self, start: datetime) -> None:
        end = self.now().astimezone(BJ)
        month_after = date(end.year + (end.month == 12), end.month % 12 + 1, 1)
        self.set_clock(datetime(month_after.year, month_after.month, month_after.day, 9, tzinfo=BJ))
        print(f"clock moved to {month_after} 09:00: the period has ended; publishing its bulletins", flush=True)
        months = sorted({f"{d:%Y-%m}" for d in (start.date(), end.date())})
        weeks = sorted({"{}-W{:02d}".format(*(start.date() + timedelta(days=7 * w)).isocalendar()[:2])
                        for w in range(self.args.weeks)})
        for kind, keys in (("weekly", weeks), ("monthly", months)):
            for key in keys:
                b = self.bulletin(kind, key)
                if b is None:
                    print(f"  {kind} {key}: not published (see the bulletin service's log)")
                    continue
                print(f"  {b['issue']} {kind} {key}: {b['registered']} registered, named: "
                      f"{', '.join(b['named_units']) or '-'}  {self.api.url}/v1/bulletins/{b['id']}", flush=True)
        for key in months:
            a = self.api.call("GET", "/v1/assessment", params={"period": key}).json()
            print(f"assessment {key}: top " + ", ".join(f"{r['unit_name']} {r['score']:.1f}" for r in a.get("top", []))
                  + " | bottom " + ", ".join(f"{r['unit_name']} {r['score']:.1f}" for r in a.get("bottom", [])))
        counts = {k: v for k, v in sorted(self.stats.items())}
        print("done:", json.dumps(counts, ensure_ascii=False), flush=True)
        print(f"see the bulletin as HTML/PDF: make token ROLE=operator, then GET {self.api.url}/v1/bulletins/<id>"
              "?format=html (or pdf)")


def default_url(data_dir: Path) -> str:
    state = data_dir / "stack.json"
    if state.exists():
        try:
            return json.loads(state.read_text())["url"]
        except (ValueError, KeyError):
            pass
    return "http://127.0.0.1:8000"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tools.simulate", description=__doc__.split("\n\n")[0])
    p.add_argument("--url", help="the gateway (default: .data/stack.json's url, else http://127.0.0.1:8000)")
    p.add_argument("--data-dir", default=".data", type=Path, help="the stack's data dir (its jwt-secret)")
    p.add_argument("--weeks", type=int, default=4)
    p.add_argument("--per-day", type=int, default=40, help="tickets per working day (± 20 %%)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--start", help="first day (YYYY-MM-DD; default the first Monday of next month on the stack's clock)")
    p.add_argument("--behaviour", action="append", default=[], metavar="UNIT=KIND",
                   help="prompt|normal|late|returning|unsatisfactory (repeatable)")
    p.add_argument("--workers", type=int, default=8, help="concurrent API calls (1..32)")
    p.add_argument("--max-tickets", type=int, default=5000)
    p.add_argument("--max-minutes", type=float, default=20)
    args = p.parse_args(argv)
    if not 1 <= args.weeks <= 26 or not 1 <= args.per_day <= 500 or not 1 <= args.workers <= 32:
        p.error("--weeks 1..26, --per-day 1..500, --workers 1..32")
    api = Api(args.url or default_url(args.data_dir), args.data_dir)
    try:
        clock = api.call("GET", "/v1/clock").json()
    except requests.RequestException as exc:
        print(f"no stack at {api.url} ({exc.__class__.__name__}): start one with `make run`", file=sys.stderr)
        return 2
    if clock.get("mode") != "controllable":
        print(f"the stack's clock is {clock.get('mode')!r}: the simulator needs CLOCK_MODE=controllable", file=sys.stderr)
        return 2
    Simulation(api, args).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
