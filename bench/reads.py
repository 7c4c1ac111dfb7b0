"""Read benchmark (not a test): N tickets stored, each list and read endpoint measured over HTTP.

    .venv/bin/python bench/reads.py -n 100000                        # load, start the stack, measure, stop
    .venv/bin/python bench/reads.py -n 100000 1000000 --keep         # two stores, measured side by side
    .venv/bin/python bench/reads.py -n 100000 1000000 --reuse        # again, on the stores kept before

Loads N tickets written directly into an embedded store (as bench/deadlines.py writes clocks):
spread over the last year, over the units of config/units.yaml (a few busy ones, many quiet), the
districts and categories of the catalogue, and in the states a year of work leaves them (the last
days still in hand, older ones closed, some overdue), each with the timeline its state implies;
supervision cases for about 2 % of them (the recent ones open); sla clocks for the running
deadlines. Each service's own start-up (`build` + `ensure_indexes`) runs on the store first, so its
indexes exist before the tickets arrive. Then starts the whole stack on that store (`python -m
tools.stack`, like `make run`, on its own ports and its own RabbitMQ vhost, made and deleted
through the management API) and times each endpoint from one client: p50 / p99 over --requests
calls after a warm-up, and the embedded server's CPU time per call (its own process, read from
/proc: the store's work, which the machine's other load does not inflate; it includes what the
services' timers ask of the store meanwhile). With two sizes, both stacks run at once and their calls
alternate, so the machine's other load weighs on both alike: the comparison is the point. The
1-minute load average is printed with each endpoint.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "libs"))
sys.path.insert(0, str(REPO / "bench"))

from deadlines import clock_doc  # noqa: E402

from gateway.auth import local_secret, mint  # noqa: E402
from hotline_common.actors import Actor  # noqa: E402
from hotline_common.catalog import load_catalog  # noqa: E402
from hotline_common.config_files import read_yaml  # noqa: E402
from hotline_common.messages import ActorRef  # noqa: E402
from hotline_common.mongo import client  # noqa: E402
from hotline_common.timeutil import local_date  # noqa: E402
from services.escalation.domain import Case  # noqa: E402
from services.escalation.store import case_to_doc  # noqa: E402
from services.intake import domain  # noqa: E402
from services.intake.commands import CitizenDetails, Register  # noqa: E402
from services.intake.store import to_doc  # noqa: E402

CONFIG = REPO / "config"
TYPES = ["consult"] * 64 + ["help"] * 29 + ["complain"] * 5 + ["suggest"] + ["report"]
DISTRICTS = ["tiedong", "tiexi", "lishan", "qianshan", "haicheng", "taian", "xiuyan", "gaoxin", "jingkai"]
YEAR = timedelta(days=365)
SYSTEM = {"role": "system"}
OPERATOR = Actor("bench", "operator")


def free_port(block: int = 1) -> int:
    for _ in range(200):
        base = random.randrange(20000, 32000 - block)
        ok = True
        for i in range(block):
            with socket.socket() as s:
                try:
                    s.bind(("0.0.0.0", base + i))
                except OSError:
                    ok = False
                    break
        if ok:
            return base
    raise RuntimeError("no free port")


# -- the data ------------------------------------------------------------------------------------------

def state_at(age: timedelta, rng: random.Random) -> str:
    """What a year of work leaves a ticket of this age in."""
    r = rng.random()
    if age < timedelta(hours=1):
        return "registered" if r < 0.2 else "awaiting_dispatch" if r < 0.25 else "dispatched"
    if age < timedelta(days=3):
        return "awaiting_dispatch" if r < 0.02 else "dispatched" if r < 0.4 else "accepted" if r < 0.8 else "replied"
    if age < timedelta(days=20):
        return "accepted" if r < 0.3 else "reviewed" if r < 0.4 else "replied" if r < 0.8 else "closed"
    if age < timedelta(days=60):
        return "replied" if r < 0.2 else "closed"
    return "replied" if r < 0.02 else "closed"


class Loader:
    def __init__(self, n: int, now: datetime, seed: int = 13):
        self.n = n
        self.now = now
        self.rng = random.Random(seed)
        self.catalog = load_catalog(CONFIG)
        self.categories = [code for code in self.catalog.categories if "." in code] or list(self.catalog.categories)
        units = [u["id"] for u in read_yaml(CONFIG, "units.yaml")["units"]]
        self.units = units
        self.unit_weights = [1.0 / (i + 1) for i in range(len(units))]  # a few busy units, many quiet
        self.numbers: dict[str, int] = {}
        cmd = Register(channel="phone", type="help", category=self.categories[0], district=DISTRICTS[0],
                       address="胜利南路88号", citizen=CitizenDetails(name="张女士", phone="13800001234"),
                       content="楼下烧烤店每天夜里12点后仍然噪音扰民，多次反映未解决，请相关部门尽快处理")
        self.template = domain.register(None, cmd, now=now, actor=OPERATOR, catalog=self.catalog,
                                        allocate=lambda: ("x" * 32, "AS00000000000000"))[0]

    def number(self, at: datetime) -> str:
        day = local_date(at)
        key = f"{day:%Y%m%d}"
        self.numbers[key] = self.numbers.get(key, 0) + 1
        return f"AS{key}{self.numbers[key]:06d}"

    def ticket(self, i: int) -> tuple[dict, dict | None, dict | None]:
        rng = self.rng
        created = self.now - timedelta(seconds=rng.random() * YEAR.total_seconds())
        age = self.now - created
        state = state_at(age, rng)
        unit = rng.choices(self.units, self.unit_weights)[0]
        category = rng.choice(self.categories)
        district = rng.choice(DISTRICTS)
        ticket_id = uuid.UUID(int=rng.getrandbits(128)).hex
        t = replace(self.template, id=ticket_id, number=self.number(created), type=rng.choice(TYPES),
                    category=category, district=district, address=f"测试路{i}号",
                    citizen=domain.Citizen(name="测试", phone=f"138{rng.randrange(10 ** 8):08d}"),
                    content=f"市民反映第{i}号问题：{self.catalog.categories.get(category, category)}，请尽快处理",
                    created_at=created, fingerprint=f"{rng.getrandbits(64):016x}")
        line = lambda at, kind, label, detail=None: domain.timeline_entry(at, kind, label, SYSTEM, detail or {},
                                                                          uuid.UUID(int=rng.getrandbits(128)).hex)
        timeline = [line(created, "ticket.registered", "工单登记")]
        clock = None
        if state == "registered":
            t = replace(t, timeline=tuple(timeline))
        elif state == "awaiting_dispatch":
            timeline.append(line(created + timedelta(seconds=2), "ticket.awaiting_dispatch", "待人工派单",
                                 {"reason": "no rule"}))
            t = replace(t, status=state, dispatch_no=0, timeline=tuple(timeline))
        else:
            at = created + timedelta(seconds=2)
            timeline.append(line(at, "ticket.dispatched", "交办", {"unit": unit, "dispatch_no": 1}))
            due = created + timedelta(days=28)
            overdue = due < self.now and state not in ("closed", "replied")
            deadline = domain.DeadlineSummary(due_at=due.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                                              due_date=local_date(due).isoformat(), working_days=20,
                                              extended_days=0, started_at=at.isoformat(timespec="milliseconds")
                                              .replace("+00:00", "Z"), provisional=False, provisional_years=(),
                                              unit_id=unit,
                                              state="running" if state not in ("closed", "replied") else "met")
            timeline.append(line(at + timedelta(seconds=1), "deadline.set", "设定办理时限",
                                 {"due_date": deadline.due_date, "working_days": 20}))
            status = state if state != "closed" else "replied"
            if state in ("accepted", "reviewed", "replied", "closed"):
                timeline.append(line(at + age * 0.1, "assignment.accepted", "签收"))
            if state in ("reviewed", "replied", "closed"):
                timeline.append(line(at + age * 0.15, "assignment.reviewed", "领导阅批", {"reviewer": "王局长"}))
            reply = None
            if state in ("replied", "closed"):
                replied_at = at + min(age * 0.5, timedelta(days=15))
                timeline.append(line(replied_at, "ticket.replied", "答复", {"reply_no": 1, "result": "solved"}))
                reply = domain.ReplySummary(reply_no=1, result="solved",
                                            replied_at=replied_at.isoformat(timespec="milliseconds")
                                            .replace("+00:00", "Z"))
            closed = state == "closed"
            if closed:
                timeline.append(line(at + min(age * 0.7, timedelta(days=20)), "ticket.closed", "回访办结"))
            t = replace(t, status=status, units=(unit,), lead_unit=domain.UnitRef(id=unit, name=unit),
                        first_responsible=True, dispatch_no=1, deadline=deadline, overdue=overdue,
                        due_soon=False, overdue_working_days=0, reply=reply, closed=closed,
                        close_reason="satisfied" if closed else None,
                        closed_at=at + min(age * 0.7, timedelta(days=20)) if closed else None,
                        satisfaction="satisfied" if closed else None, timeline=tuple(timeline))
            if deadline.state == "running":
                clock = {**clock_doc(i, self.now + timedelta(days=30)), "_id": ticket_id, "number": t.number,
                         "unit_id": unit, "started_at": at, "due_at": due, "next_fire_at": self.now + timedelta(days=30)}
        doc = {**to_doc(replace(t, version=1)), "version": 1, "inbox": [], "event_ids": []}
        case = None
        if age > timedelta(days=20) and rng.random() < 0.02 and state != "registered":
            opened = created + timedelta(days=20)
            case_state = "open" if age < timedelta(days=45) else "closed"
            c = Case(case_id=f"overdue:{ticket_id}:1-1", case_no=f"DB{local_date(opened):%Y%m%d}{i % 10000:04d}",
                     ticket_id=ticket_id, number=t.number, unit_id=unit, trigger="overdue_ignored",
                     detail="超过办结时限2个工作日，经2次催办仍未答复", opened_at=opened,
                     opened_by=ActorRef(user_id="system", role="system"), state=case_state,
                     closed_at=opened + timedelta(days=10) if case_state == "closed" else None,
                     conclusion="已办结" if case_state == "closed" else None)
            case = {**case_to_doc(c), "version": 1, "inbox": [], "event_ids": []}
        return doc, case, clock


def prepare(mongo_uri: str) -> float:
    """What each service does when it starts (its `build`, then `store.ensure_indexes()`), run here
    first: an index a service adds is built now, not inside the launcher's readiness wait."""
    from hotline_common.clock import SystemClock
    from hotline_common.outbox import Outbox
    from hotline_common.settings import Settings
    from services.escalation.service import build as escalation
    from services.intake.service import build as intake
    from services.sla.service import build as sla
    settings = Settings.from_env({**os.environ, "MONGO_URI": mongo_uri, "HOTLINE_CONFIG_DIR": str(CONFIG),
                                  "HOTLINE_DATA_DIR": "/tmp", "MONGO_DB_PREFIX": "hotline_"})
    start = time.perf_counter()
    for name, build in (("intake", intake), ("escalation", escalation), ("sla", sla)):
        database = client(mongo_uri)[settings.db_name(name)]
        clock = SystemClock()
        app = build(database=database, outbox=Outbox(name, clock, None, database), settings=settings, clock=clock)
        app.store.ensure_indexes()
    return time.perf_counter() - start


def load(mongo_uri: str, n: int, prefix: str) -> dict:
    db = client(mongo_uri)
    intake, escalation, sla = db[f"{prefix}intake"], db[f"{prefix}escalation"], db[f"{prefix}sla"]
    prepare(mongo_uri)
    loader = Loader(n, datetime.now(UTC))
    start = time.perf_counter()
    tickets, cases, clocks = [], [], []
    counts = {"tickets": 0, "cases": 0, "clocks": 0}
    samples: dict[str, list] = {"numbers": [], "open_cases_units": []}
    # documents are made in a thread while the store takes the previous batch (insert_many waits on
    # the socket, so the two overlap)
    import queue
    import threading
    made: queue.Queue = queue.Queue(maxsize=4000)

    def produce():
        for i in range(n):
            made.put(loader.ticket(i))
    threading.Thread(target=produce, daemon=True).start()
    for i in range(n):
        doc, case, clock = made.get()
        tickets.append(doc)
        if i % max(1, n // 2000) == 0:
            samples["numbers"].append(doc["number"])
        if case:
            cases.append(case)
        if clock:
            clocks.append(clock)
        if len(tickets) >= 2000:
            intake.tickets.insert_many(tickets, ordered=False)
            counts["tickets"] += len(tickets)
            tickets = []
            if counts["tickets"] % 100_000 == 0:
                print(f"  {counts['tickets']} tickets in {time.perf_counter() - start:.0f}s", file=sys.stderr)
        if len(cases) >= 1000:
            escalation.cases.insert_many(cases, ordered=False)
            counts["cases"] += len(cases)
            cases = []
        if len(clocks) >= 2000:
            sla.clocks.insert_many(clocks, ordered=False)
            counts["clocks"] += len(clocks)
            clocks = []
    for coll, docs, key in ((intake.tickets, tickets, "tickets"), (escalation.cases, cases, "cases"),
                            (sla.clocks, clocks, "clocks")):
        if docs:
            coll.insert_many(docs, ordered=False)
            counts[key] += len(docs)
    for key, value in loader.numbers.items():  # the day counters go on from what is stored
        intake.counters.update_one({"_id": f"AS{key}"}, {"$max": {"n": value}}, upsert=True)
    counts["load_seconds"] = round(time.perf_counter() - start, 1)
    counts["units"] = loader.units[:3]
    counts["categories"] = loader.categories
    counts["samples"] = samples
    return counts


def embedded(storage: Path, port: int, sync: bool) -> subprocess.Popen:
    argv = [str(Path(sys.executable).parent / "secantusd-py"), "--host", "127.0.0.1", "--port", str(port),
            "--storage-path", str(storage), "--log-level", "WARNING"]
    if sync:
        argv.append("--sync-on-commit")
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(300):
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return proc
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError("the embedded server did not start")


def disk_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


# -- the stack and the measurements --------------------------------------------------------------------

def mgmt(method: str, path: str, **kw):
    base = os.environ.get("RABBIT_API_URI", "http://guest:guest@localhost:15672")
    return requests.request(method, f"{base}/api/{path}", timeout=10, **kw)


def start_stack(data_dir: Path, vhost: str, port: int) -> tuple[subprocess.Popen, dict]:
    env = {**os.environ, "AMQP_URI": f"amqp://guest:guest@localhost:5672/{vhost}", "HOTLINE_DATA_DIR": str(data_dir),
           "GATEWAY_PORT": str(port), "SERVICE_PORT_BASE": str(port + 1), "EMBEDDED_MONGO_PORT": str(port + 11),
           "BROKER_USERS": "off", "PYTHONUNBUFFERED": "1"}
    env.pop("MONGO_URI", None)
    log = open(data_dir / "stack.log", "ab")  # noqa: SIM115  (written by a thread for the stack's life)
    proc = subprocess.Popen([sys.executable, "-m", "tools.stack"], cwd=REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        log.write(line.encode())
        if line.startswith("READY "):
            import threading
            threading.Thread(target=lambda: [log.write(x.encode()) for x in proc.stdout], daemon=True).start()
            return proc, json.loads(line[len("READY "):])
    proc.kill()
    raise RuntimeError(f"the stack did not start; see {data_dir / 'stack.log'}")


def store_pid(storage: Path) -> int | None:
    """The embedded server the stack started on `storage` (its own process: its CPU time is the
    store's work, whatever else the machine runs)."""
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if any(a.endswith(b"secantusd-py") for a in argv) and str(storage).encode() in argv:
            return int(proc.name)
    return None


def cpu_seconds(pid: int | None) -> float:
    if pid is None:
        return float("nan")
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Target:
    """One running stack and the store it was loaded with."""

    def __init__(self, url: str, secret: str, loaded: dict, store: int | None = None):
        self.url, self.loaded = url, loaded
        self.sessions: dict = {}
        self.secret = secret
        self.store = store

    def session(self, role: str, unit: str | None = None) -> requests.Session:
        key = (role, unit)
        if key not in self.sessions:
            s = requests.Session()
            s.headers["Authorization"] = "Bearer " + mint(self.secret, "hotline-12345", role=role,
                                                          user_id=f"bench.{role}", unit_id=unit)
            self.sessions[key] = s
        return self.sessions[key]


def endpoints(rng: random.Random) -> list[tuple]:
    """(name, role, unit: which of the loaded units or None, path, params(target, i)): each endpoint
    measured, the same calls against every target."""
    def search(t, i):
        return {"status": rng.choice(["dispatched", "accepted", "replied"]), "district": rng.choice(DISTRICTS),
                "category": rng.choice(t.loaded["categories"]), "limit": 20}

    def parent(t, i):
        return {"status": "closed", "district": rng.choice(DISTRICTS),
                "category": rng.choice(t.loaded["categories"]).split(".")[0], "limit": 20}
    return [
        ("operator's newest 20", "operator", None, "/v1/tickets", lambda t, i: {"limit": 20}),
        ("operator's page 2 (cursor)", "operator", None, "/v1/tickets",
         lambda t, i: {"limit": 20, "cursor": t.first_cursor}),
        ("a unit's newest 20 (busiest unit)", "unit_handler", 0, "/v1/tickets", lambda t, i: {"limit": 20}),
        ("a unit's newest 20 (a quieter unit)", "unit_handler", 2, "/v1/tickets", lambda t, i: {"limit": 20}),
        ("search: status + district + category", "operator", None, "/v1/tickets", search),
        ("search: closed + district + parent category", "operator", None, "/v1/tickets", parent),
        ("manual dispatch queue (awaiting_dispatch)", "operator", None, "/v1/tickets",
         lambda t, i: {"status": "awaiting_dispatch", "limit": 20}),
        ("supervisor's open cases (100)", "supervisor", None, "/v1/supervision-cases",
         lambda t, i: {"state": "open"}),
        ("supervisor's open cases of a unit", "supervisor", None, "/v1/supervision-cases",
         lambda t, i: {"state": "open", "unit": t.loaded["units"][0]}),
        ("ticket read", "operator", None, lambda t, i: f"/v1/tickets/{rng.choice(t.loaded['samples']['numbers'])}",
         lambda t, i: None),
        ("(fallback) district only", "operator", None, "/v1/tickets",
         lambda t, i: {"district": rng.choice(DISTRICTS), "limit": 20}),
        ("(fallback) a unit's accepted", "unit_handler", 0, "/v1/tickets",
         lambda t, i: {"status": "accepted", "limit": 20}),
        ("overdue=true (partial index)", "operator", None, "/v1/tickets", lambda t, i: {"overdue": "true", "limit": 20}),
    ]


def measure(targets: list[Target], n: int, warm: int = 5) -> list[dict]:
    """Each endpoint `n` times per target, the targets' calls interleaved (one, then the other), so
    whatever else the machine does weighs on all of them alike. p50 / p99 per target."""
    rng = random.Random(5)
    for t in targets:
        t.first_cursor = t.session("operator").get(t.url + "/v1/tickets", params={"limit": 20},
                                                   timeout=60).json()["next_cursor"]
    out = []
    for name, role, unit, path, params in endpoints(rng):
        times: list[list[float]] = [[] for _ in targets]
        items: list[list[int]] = [[] for _ in targets]
        cpu = [0.0 for _ in targets]
        for i in range(-warm, n):
            for k, t in enumerate(targets):
                session = t.session(role, t.loaded["units"][unit] if unit is not None else None)
                url = t.url + (path(t, i) if callable(path) else path)
                c0, t0 = cpu_seconds(t.store), time.perf_counter()
                r = session.get(url, params=params(t, i), timeout=60)
                dt = time.perf_counter() - t0
                if i >= 0:
                    cpu[k] += cpu_seconds(t.store) - c0
                if r.status_code != 200:
                    raise RuntimeError(f"GET {r.url}: {r.status_code} {r.text[:300]}")
                if i >= 0:
                    times[k].append(dt)
                    body = r.json()
                    items[k].append(len(body["items"]) if "items" in body else 1)
        row: dict = {"endpoint": name, "load1": round(os.getloadavg()[0], 1)}
        for k, t in enumerate(targets):
            ts = sorted(times[k])
            row[t.label] = {"p50_ms": round(statistics.median(ts) * 1000, 1),
                            "p99_ms": round(ts[max(0, int(len(ts) * 0.99) - 1)] * 1000, 1),
                            "items": round(statistics.mean(items[k]), 1),
                            "store_cpu_ms": round(cpu[k] / n * 1000, 1)}
        out.append(row)
        print(json.dumps(row), file=sys.stderr, flush=True)
    return out


def prepare_store(data_dir: Path) -> float:
    storage = data_dir / "mongo"
    port = free_port()
    proc = embedded(storage, port, sync=False)
    try:
        return prepare(f"mongodb://127.0.0.1:{port}/?retryWrites=false")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(300)


def load_store(n: int, data_dir: Path) -> dict:
    storage = data_dir / "mongo"
    if data_dir.exists():
        shutil.rmtree(data_dir)
    storage.mkdir(parents=True)
    port = free_port()
    proc = embedded(storage, port, sync=False)
    try:
        loaded = load(f"mongodb://127.0.0.1:{port}/?retryWrites=false", n, "hotline_")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(300)
    loaded["disk_bytes_after_load"] = disk_bytes(storage)
    (data_dir / "loaded.json").write_text(json.dumps(loaded))
    return loaded


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, nargs="+", default=[100_000],
                        help="tickets stored; two sizes (-n 100000 1000000) are measured side by side")
    parser.add_argument("--requests", type=int, default=200, help="calls per endpoint and store")
    parser.add_argument("--data-dir", default="/tmp", help="where the stores live (<dir>/hotline-reads-<n>)")
    parser.add_argument("--reuse", action="store_true", help="measure stores loaded by an earlier --keep run")
    parser.add_argument("--keep", action="store_true", help="keep the stores")
    parser.add_argument("--load-only", action="store_true")
    args = parser.parse_args()

    result: dict = {"stores": {}}
    dirs = {n: Path(args.data_dir) / f"hotline-reads-{n}" for n in args.n}
    loaded = {}
    for n, data_dir in dirs.items():
        meta = data_dir / "loaded.json"
        if args.reuse and meta.exists():
            loaded[n] = json.loads(meta.read_text())
            prepared = prepare_store(data_dir)
        else:
            loaded[n], prepared = load_store(n, data_dir), 0.0
        result["stores"][n] = {**{k: loaded[n][k] for k in ("tickets", "cases", "clocks", "load_seconds")},
                               "disk_bytes_per_ticket_after_load": round(loaded[n]["disk_bytes_after_load"] / n),
                               "prepare_seconds": round(prepared, 1)}
        print(json.dumps(result["stores"][n]), file=sys.stderr, flush=True)
    if args.load_only:
        print(json.dumps(result, indent=2))
        return 0

    stacks, vhosts = [], []
    try:
        targets = []
        for n, data_dir in dirs.items():
            vhost = f"hotline_reads_{uuid.uuid4().hex[:8]}"
            assert mgmt("PUT", f"vhosts/{vhost}").status_code in (201, 204), "RabbitMQ management API unavailable"
            mgmt("PUT", f"permissions/{vhost}/guest", json={"configure": ".*", "write": ".*", "read": ".*"})
            vhosts.append(vhost)
            started = time.perf_counter()
            stack, ready = start_stack(data_dir, vhost, free_port(block=12))
            stacks.append(stack)
            result["stores"][n]["stack_start_seconds"] = round(time.perf_counter() - started, 1)
            target = Target(ready["url"], local_secret(data_dir), loaded[n], store_pid(data_dir / "mongo"))
            target.label = f"{n:,}"
            targets.append(target)
        time.sleep(5)  # let the services settle (first sweeps, timers)
        load_avg = os.getloadavg()
        result["endpoints"] = measure(targets, args.requests)
        result["load_average_during"] = [round(x, 1) for x in load_avg], [round(x, 1) for x in os.getloadavg()]
        result["date"] = datetime.now(UTC).isoformat(timespec="seconds")
        result["nproc"] = os.cpu_count()
    finally:
        for stack in stacks:
            stack.send_signal(signal.SIGINT)
        for stack in stacks:
            try:
                stack.wait(120)
            except subprocess.TimeoutExpired:
                stack.kill()
        for vhost in vhosts:
            mgmt("DELETE", f"vhosts/{vhost}")
        if not args.keep and not args.reuse:
            for data_dir in dirs.values():
                shutil.rmtree(data_dir, ignore_errors=True)
    print(json.dumps(result, indent=2))
    labels = [f"{n:,}" for n in args.n]
    print("| endpoint | " + " | ".join(f"{label}: p50 / p99 ms (items) [store CPU ms/call]" for label in labels)
          + " | load (1 min) |")
    print("|---|" + "---|" * (len(labels) + 1))
    for row in result["endpoints"]:
        cells = [f"{row[label]['p50_ms']} / {row[label]['p99_ms']} ({row[label]['items']}) "
                 f"[{row[label]['store_cpu_ms']}]" for label in labels]
        print(f"| {row['endpoint']} | " + " | ".join(cells) + f" | {row['load1']} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
