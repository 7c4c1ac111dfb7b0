"""Pipeline benchmark (not a test): post N tickets through the gateway of a running stack.

    make run                                   # in one terminal
    .venv/bin/python bench/pipeline.py -n 2000 -c 16   # in another

Reports tickets/s accepted by the gateway, tickets/s fully through (dispatched with a deadline, seen
as deadline.set on hotline.events the way an external subscriber sees it), create latency p50/p99,
and in the same run the raw floor of the store (single inserts/s) and of the broker
(persistent publish with confirms -> consume, msgs/s), so the pipeline can be stated as a ratio.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import threading
import time
import uuid
from pathlib import Path

import requests
from kombu import Connection, Exchange, Producer, Queue
from pymongo import MongoClient

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gateway.auth import local_secret, mint  # noqa: E402
from hotline_common import serialization  # noqa: E402,F401  the cloudevents content type
from hotline_common.events import HOTLINE_EXCHANGE, T  # noqa: E402

REPO = Path(__file__).resolve().parents[1]

TYPES = ["consult"] * 64 + ["help"] * 29 + ["complain"] * 5 + ["suggest"] + ["report"]  # Tangshan mix
CATEGORIES = ["noise.neighbourhood", "housing.property", "infrastructure.streetlight", "urban.street_vending",
              "labor.wages", "traffic.parking", "utilities.heating", "market.consumer", "education", "health"]
DISTRICTS = ["tiedong", "tiexi", "lishan", "qianshan", "haicheng", "taian", "xiuyan", "gaoxin", "jingkai"]


STREETS = ["胜利南路", "人民路", "解放东路", "建设大街", "中华路", "站前街", "新华路", "青年大街", "钢都路", "湖南路",
           "鞍千路", "千山中路", "园林路", "民生路", "立山路", "曙光街", "太平街", "和平路", "光明街", "南胜利路"]
PLACES = ["小区门口", "菜市场旁", "公交站附近", "学校对面", "十字路口", "居民楼下", "商场后门", "公园东门", "医院南侧", "桥下"]
PROBLEMS = ["路灯不亮已有{n}天", "夜间施工噪音扰民到凌晨{n}点", "占道经营堵塞通行", "垃圾{n}天无人清运", "下水道堵塞污水外溢",
            "违章停车堵住消防通道", "小区电梯故障困人{n}次", "物业费收费不合理", "公交车{n}路到站不停", "井盖缺失存在安全隐患",
            "商铺外放音响声音过大", "楼道堆放杂物无人管理", "暖气不热室温只有{n}度", "工资拖欠{n}个月未发", "饭店油烟直排扰民",
            "道路破损坑洼不平", "树木倒伏压住电线", "广告牌松动有坠落危险", "自来水浑浊有异味", "共享单车乱停乱放"]
ASKS = ["希望尽快处理", "请相关部门核实", "已反映多次未解决", "请派人到现场查看", "希望给个答复"]


def ticket(i: int) -> dict:
    """A call: the Tangshan type mix, varied words and places. About one in twenty repeats an earlier
    call (the same problem at the same place, another caller): the front desk's duplicate check
    sees what it would see on a real line, not ten thousand copies of one sentence."""
    rng = random.Random(i)
    j = rng.randrange(max(1, i)) if i and rng.random() < 0.05 else i   # a repeat of call j
    src = random.Random(j * 7919 + 1)
    street, place = src.choice(STREETS), src.choice(PLACES)
    problem = src.choice(PROBLEMS).format(n=src.randrange(2, 12))
    number = src.randrange(1, 300)
    return {"channel": "phone", "type": TYPES[i % len(TYPES)], "category": CATEGORIES[j % len(CATEGORIES)],
            "district": DISTRICTS[j % len(DISTRICTS)], "address": f"{street}{number}号{place}",
            "citizen": {"name": "测试", "phone": f"138{i % 100000000:08d}"},
            "content": f"市民反映{street}{number}号{place}{problem}，{rng.choice(ASKS)}"}


class DeadlineTap:
    """Counts deadline.set events for the tickets of this run."""

    def __init__(self, amqp_uri: str, on_seen=None):
        self.amqp_uri = amqp_uri
        self.seen: dict[str, float] = {}
        self.stop = threading.Event()
        self.ready = threading.Event()
        self.on_seen = on_seen

    def run(self):
        queue = Queue(f"bench-{uuid.uuid4().hex[:6]}", Exchange(HOTLINE_EXCHANGE, "topic", durable=True),
                      routing_key=T.DEADLINE_SET, exclusive=True, auto_delete=True)
        with Connection(self.amqp_uri) as conn:
            def on(body, message):
                if body["subject"] not in self.seen:
                    self.seen[body["subject"]] = time.perf_counter()
                    if self.on_seen is not None:
                        self.on_seen(body["subject"])
                message.ack()
            with conn.Consumer(queue, callbacks=[on], accept=["json", "cloudevents"], prefetch_count=500):
                self.ready.set()
                while not self.stop.is_set():
                    try:
                        conn.drain_events(timeout=0.2)
                    except Exception:
                        pass


def store_floor(mongo_uri: str, n: int) -> float:
    coll = MongoClient(mongo_uri)["bench_floor"]["inserts"]
    coll.drop()
    start = time.perf_counter()
    for i in range(n):
        coll.insert_one({"i": i, "payload": "x" * 200})
    rate = n / (time.perf_counter() - start)
    coll.database.client.drop_database("bench_floor")
    return rate


def broker_floor(amqp_uri: str, n: int) -> float:
    name = f"bench-floor-{uuid.uuid4().hex[:6]}"
    received = threading.Event()
    count = [0]
    with Connection(amqp_uri, transport_options={"confirm_publish": True}) as pub, Connection(amqp_uri) as sub:
        queue = Queue(name, durable=False, auto_delete=True)
        queue(sub.channel()).declare()

        def on(body, message):
            count[0] += 1
            message.ack()
            if count[0] >= n:
                received.set()

        def consume():
            with sub.Consumer(queue, callbacks=[on], prefetch_count=200):
                while not received.is_set():
                    try:
                        sub.drain_events(timeout=0.5)
                    except Exception:
                        pass
        consumer = threading.Thread(target=consume)
        consumer.start()
        producer = Producer(pub.channel())
        start = time.perf_counter()
        for i in range(n):
            producer.publish({"i": i}, routing_key=name, delivery_mode=2, serializer="json")
        received.wait(120)
        consumer.join()
        return n / (time.perf_counter() - start)


class ViewLag:
    """How long after its deadline.set event a ticket's view shows the deadline, read from intake's
    own histogram `hotline_event_lag_seconds{type="...deadline.set"}` (event time -> intake done
    handling it), scraped before and after the run: polling tickets to see it would add the very
    load it measures. Resolution: the histogram's buckets."""

    TYPE = "cn.gov.12345.deadline.set"

    def __init__(self, metrics_url: str | None):
        self.url = metrics_url
        self.before = self.scrape()

    def scrape(self) -> dict[float, float]:
        if not self.url:
            return {}
        try:
            text = requests.get(self.url, timeout=10).text
        except requests.RequestException:
            return {}
        out = {}
        for line in text.splitlines():
            if line.startswith("hotline_event_lag_seconds_bucket{") and f'type="{self.TYPE}"' in line \
                    and 'service="intake"' in line:
                le = line.split('le="')[1].split('"')[0]
                out[float("inf") if le == "+Inf" else float(le)] = float(line.rsplit(" ", 1)[1])
        return out

    def finish(self) -> dict:
        after = self.scrape()
        if not after:
            return {}
        delta = {le: after[le] - self.before.get(le, 0.0) for le in sorted(after)}
        total = delta.get(float("inf"), 0.0)
        if not total:
            return {}

        def quantile(q):
            for le, n in delta.items():
                if n >= q * total:
                    return le
            return float("inf")
        return {"view_lag_events": int(total), "view_lag_p50_le_s": quantile(0.5), "view_lag_p99_le_s": quantile(0.99),
                "view_visible_within_1s": round(delta.get(1.0, 0.0) / total, 3)}


def disk_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) if path.exists() else 0


def wait_for_view(url, token, amqp_uri, numbers, start, deadline) -> float | None:
    """Seconds from the first POST until every ticket's view shows its deadline (intake caught up)."""
    import random
    from urllib.parse import urlparse
    parts = urlparse(amqp_uri)
    vhost = (parts.path[1:] or "/").replace("/", "%2F")
    api = f"http://{parts.hostname}:15672/api/queues/{vhost}/hotline.intake.inbox"
    auth = (parts.username or "guest", parts.password or "guest")
    session = requests.Session()
    session.headers.update({"Authorization": f"Bearer {token}"})
    while time.perf_counter() < deadline:
        queue = requests.get(api, auth=auth, timeout=5).json()
        if queue.get("messages", 1) == 0:
            sample = random.sample(numbers, min(20, len(numbers)))
            if all(session.get(f"{url}/v1/tickets/{n}", timeout=30).json().get("deadline") for n in sample):
                return time.perf_counter() - start
        time.sleep(0.5)
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=1000, help="tickets to post")
    parser.add_argument("-c", type=int, default=8, help="concurrent HTTP clients")
    parser.add_argument("--url", default=None)
    parser.add_argument("--floor", type=int, default=2000, help="operations for the store and broker floors")
    parser.add_argument("--wait", type=float, default=300, help="seconds to wait for every ticket to get through")
    parser.add_argument("--rate", type=float, default=0,
                        help="open loop: offer this many tickets/s (0: as fast as the C clients go)")
    parser.add_argument("--profile", action="store_true",
                        help="store commands, documents written and broker deliveries per ticket (storeprofile.py)")
    parser.add_argument("--no-floors", action="store_true", help="skip the store and broker floors")
    args = parser.parse_args()

    data_dir = Path(os.environ.get("HOTLINE_DATA_DIR", REPO / ".data"))
    state = json.loads((data_dir / "stack.json").read_text())
    url = args.url or state["url"]
    amqp_uri = os.environ.get("AMQP_URI", "amqp://guest:guest@localhost:5672/")
    mongo_uri = os.environ.get("MONGO_URI") or state["mongo_uri"]
    secret = os.environ.get("JWT_SECRET") or local_secret(data_dir)
    token = mint(secret, "hotline-12345", role="operator", user_id="bench")

    # the floors first, on an idle system
    store = 0.0 if args.no_floors else store_floor(mongo_uri, args.floor)
    broker = 0.0 if args.no_floors else broker_floor(amqp_uri, args.floor)

    lag = ViewLag((state.get("health") or {}).get("intake", "") + "/metrics" if state.get("health") else None)
    tap = DeadlineTap(amqp_uri)
    tap_thread = threading.Thread(target=tap.run, daemon=True)
    tap_thread.start()
    tap.ready.wait(10)

    latencies: list[float] = []
    numbers: list[str] = []
    errors: list[str] = []
    lock = threading.Lock()
    counter = iter(range(args.n))

    profile = None
    if args.profile:
        from storeprofile import StoreProfile
        profile = StoreProfile(mongo_uri, amqp_uri)
        profile.start()

    def client():
        session = requests.Session()
        session.headers.update({"Authorization": f"Bearer {token}"})
        while True:
            with lock:
                i = next(counter, None)
            if i is None:
                return
            if args.rate:  # open loop: ticket i is offered at start + i / rate, late or not
                delay = start + i / args.rate - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
            t0 = time.perf_counter()
            try:
                response = session.post(url + "/v1/tickets", json=ticket(i), timeout=30)
            except requests.RequestException as exc:  # counted, and the client goes on
                with lock:
                    errors.append(f"{type(exc).__name__}: {exc}"[:200])
                continue
            dt = time.perf_counter() - t0
            with lock:
                if response.status_code == 201:
                    latencies.append(dt)
                    numbers.append(response.json()["number"])
                else:
                    errors.append(f"{response.status_code} {response.text[:200]}")

    disk_before = disk_bytes(data_dir / "mongo")
    start = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(args.c)]
    for t in threads:
        t.start()

    def progress():  # on stderr, so a slow run still says how far it got
        while any(t.is_alive() for t in threads) or not set(numbers).issubset(tap.seen):
            time.sleep(10)
            print(f"[{time.perf_counter() - start:.0f}s] posted {len(latencies)} errors {len(errors)} "
                  f"through {len(tap.seen)}", file=sys.stderr, flush=True)
    threading.Thread(target=progress, daemon=True).start()
    for t in threads:
        t.join()
    accepted_s = time.perf_counter() - start
    wanted = set(numbers)
    deadline = time.perf_counter() + args.wait
    while time.perf_counter() < deadline and not wanted.issubset(tap.seen):
        time.sleep(0.1)
    through = [tap.seen[n] for n in wanted if n in tap.seen]
    through_s = (max(through) - start) if through else float("nan")
    tap.stop.set()
    # what a user sees: intake's ticket view has caught up when its inbox queue is empty
    visible_s = wait_for_view(url, token, amqp_uri, numbers, start, deadline)
    lag = lag.finish()
    report = profile.stop(len(numbers)) if profile is not None else None

    lat = sorted(latencies)
    pipeline = len(through) / through_s if through else 0.0
    result = {
        "tickets": args.n, "concurrency": args.c, "errors": len(errors),
        "accepted_per_s": round(len(latencies) / accepted_s, 1),
        "through": len(through), "through_per_s": round(pipeline, 1),
        "visible_per_s": round(len(numbers) / visible_s, 1) if visible_s else None,
        "create_p50_ms": round(statistics.median(lat) * 1000, 1) if lat else None,
        "create_p99_ms": round(lat[int(len(lat) * 0.99) - 1] * 1000, 1) if lat else None,
        "offered_per_s": args.rate or None,
        "disk_bytes_per_ticket": round((disk_bytes(data_dir / "mongo") - disk_before) / max(1, len(numbers))),
        **lag,
        "store_floor_inserts_per_s": round(store, 1),
        "broker_floor_msgs_per_s": round(broker, 1),
        "pipeline_vs_store_floor": round(pipeline / store, 3) if store else None,
        "pipeline_vs_broker_floor": round(pipeline / broker, 3) if broker else None,
    }
    print(json.dumps(result, indent=2))
    if report is not None:
        from storeprofile import table
        print(json.dumps(report, indent=2))
        print(table(report))
    if errors:
        print("first errors:", *errors[:5], sep="\n  ", file=sys.stderr)
    return 0 if len(through) == args.n and not errors else 1


if __name__ == "__main__":
    sys.exit(main())
