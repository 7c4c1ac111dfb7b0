"""Webhook benchmark (not a test): does a dead receiver slow the pipeline? (issue 15)

    NOTIFY_ALLOWED_HOSTS=127.0.0.1 make run                  # in one terminal (notify among the services)
    .venv/bin/python bench/webhooks.py -n 600 -c 8            # in another

Plan. The same load (N tickets posted through the gateway by C clients, as bench/pipeline.py posts
them) runs in three phases against one running stack; each phase reports tickets/s fully through
(deadline.set seen on hotline.events, as an external AMQP subscriber sees it):

  1. `none`:    no webhook subscription (notify only offers each event to nobody);
  2. `healthy`: one subscription to every event (`#`) at a receiver on 127.0.0.1 that answers 204 at
                once; also reported: webhooks received, their signatures verified with the
                `standardwebhooks` library, and the lag from the ticket's deadline.set to its
                ticket.dispatched webhook (p50/p99);
  3. `dead`:    the same healthy subscription plus one to every event at a dead receiver
                (`--dead hang`: accepts the connection and never answers, so every attempt runs into
                notify's 5 s timeout; `--dead refused`: nothing listens on its port).

What it shows: the five services only publish and notify queues deliveries in its own store and
sends them from its own bounded pool, so `through_per_s` of phases 2 and 3 stays close to phase 1
(the cost of notify writing one delivery per event to the shared store is what remains), and the
healthy receiver's lag in phase 3 stays close to phase 2 (the dead receiver holds at most
max_in_flight_per_subscription of the pool). Subscriptions are made over RPC (no gateway route is
needed) as the subscriber `bench-subscriber`, and deleted at the end.
"""
from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from pipeline import DeadlineTap, ticket  # noqa: E402
from standardwebhooks.webhooks import Webhook  # noqa: E402

from gateway.auth import local_secret, mint  # noqa: E402
from hotline_common.dispatch import request  # noqa: E402
from hotline_common.events import T  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SUBSCRIBER = {"user_id": "bench-subscriber", "role": "subscriber"}


class Receiver:
    """`healthy`: 204 at once, counting and verifying; `hang`: never answers."""

    def __init__(self, kind: str):
        self.kind = kind
        self.received: dict[str, float] = {}      # ticket number -> when its ticket.dispatched arrived
        self.count = 0
        self.bad_signatures = 0
        self.secret: str | None = None
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                if outer.kind == "hang":
                    time.sleep(120)
                    return
                arrived = time.perf_counter()
                event = json.loads(body)
                try:
                    Webhook(outer.secret).verify(body, dict(self.headers))
                    ok = True
                except Exception:
                    ok = False
                with outer.lock:
                    outer.count += 1
                    outer.bad_signatures += 0 if ok else 1
                    if event["type"] == T.TICKET_DISPATCHED:
                        outer.received.setdefault(event["subject"], arrived)
                self.send_response(204)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"


def refused_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/hook"     # nothing listens there once the socket is closed


def run_load(url: str, token: str, amqp_uri: str, n: int, c: int, wait: float) -> dict:
    tap = DeadlineTap(amqp_uri)
    threading.Thread(target=tap.run, daemon=True).start()
    tap.ready.wait(10)
    numbers: list[str] = []
    errors: list[str] = []
    lock = threading.Lock()
    counter = iter(range(n))

    def client():
        session = requests.Session()
        session.headers.update({"Authorization": f"Bearer {token}"})
        while True:
            with lock:
                i = next(counter, None)
            if i is None:
                return
            response = session.post(url + "/v1/tickets", json=ticket(i), timeout=30)
            with lock:
                if response.status_code == 201:
                    numbers.append(response.json()["number"])
                else:
                    errors.append(f"{response.status_code} {response.text[:200]}")

    start = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(c)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    accepted_s = time.perf_counter() - start
    wanted = set(numbers)
    deadline = time.perf_counter() + wait
    while time.perf_counter() < deadline and not wanted.issubset(tap.seen):
        time.sleep(0.1)
    tap.stop.set()
    through = [tap.seen[x] for x in wanted if x in tap.seen]
    through_s = (max(through) - start) if through else float("nan")
    return {"tickets": n, "errors": len(errors), "accepted_per_s": round(len(numbers) / accepted_s, 1),
            "through": len(through), "through_per_s": round(len(through) / through_s, 1) if through else 0.0,
            "_numbers": numbers, "_seen": dict(tap.seen)}


def webhook_lag(receiver: Receiver, load: dict, settle: float) -> dict:
    deadline = time.perf_counter() + settle
    wanted = set(load["_numbers"])
    while time.perf_counter() < deadline and not wanted.issubset(receiver.received):
        time.sleep(0.1)
    lags = sorted(receiver.received[x] - load["_seen"][x] for x in wanted
                  if x in receiver.received and x in load["_seen"])
    return {"webhooks_received": receiver.count, "bad_signatures": receiver.bad_signatures,
            "dispatched_webhooks": len([x for x in wanted if x in receiver.received]),
            "lag_p50_ms": round(statistics.median(lags) * 1000, 1) if lags else None,
            "lag_p99_ms": round(lags[max(0, int(len(lags) * 0.99) - 1)] * 1000, 1) if lags else None}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=600, help="tickets per phase")
    parser.add_argument("-c", type=int, default=8, help="concurrent HTTP clients")
    parser.add_argument("--dead", choices=["hang", "refused"], default="hang")
    parser.add_argument("--wait", type=float, default=300, help="seconds to wait for a phase's tickets")
    parser.add_argument("--phases", default="none,healthy,dead")
    args = parser.parse_args()

    from nameko.standalone.rpc import ClusterRpcProxy

    data_dir = Path(os.environ.get("HOTLINE_DATA_DIR", REPO / ".data"))
    state = json.loads((data_dir / "stack.json").read_text())
    url = state["url"]
    amqp_uri = os.environ.get("AMQP_URI", "amqp://guest:guest@localhost:5672/")
    secret = os.environ.get("JWT_SECRET") or local_secret(data_dir)
    token = mint(secret, "hotline-12345", role="operator", user_id="bench")
    healthy = Receiver("healthy")
    dead_url = Receiver("hang").url if args.dead == "hang" else refused_url()

    results: dict = {"dead_receiver": args.dead}
    made: list[str] = []
    with ClusterRpcProxy({"AMQP_URI": amqp_uri}, timeout=30) as rpc:
        def subscribe(target: str) -> dict:
            sub = rpc.notify.create_subscription(request(body={"url": target, "types": ["#"]}), SUBSCRIBER)
            made.append(sub["id"])
            return sub

        try:
            for phase in args.phases.split(","):
                if phase == "none":
                    while made:
                        rpc.notify.delete_subscription(request(params={"subscription_id": made.pop()}), SUBSCRIBER)
                    healthy.secret = None
                if phase == "healthy" and healthy.secret is None:
                    healthy.secret = subscribe(healthy.url)["secret"]
                if phase == "dead" and len(made) < 2:
                    if healthy.secret is None:
                        healthy.secret = subscribe(healthy.url)["secret"]
                    subscribe(dead_url)
                time.sleep(1.5)   # every notify replica sees the subscriptions (cached for 1 s)
                before = healthy.count
                load = run_load(url, token, amqp_uri, args.n, args.c, args.wait)
                if phase != "none":
                    load.update(webhook_lag(healthy, load, settle=60))
                    load["webhooks_received"] = healthy.count - before
                label = phase if phase not in results else f"{phase}#{sum(1 for k in results if k.startswith(phase)) + 1}"
                results[label] = {k: v for k, v in load.items() if not k.startswith("_")}
                print(label, json.dumps(results[label]), flush=True)
        finally:
            for sub_id in made:
                try:
                    rpc.notify.delete_subscription(request(params={"subscription_id": sub_id}), SUBSCRIBER)
                except Exception as exc:  # report, keep deleting
                    print(f"could not delete subscription {sub_id}: {exc}", file=sys.stderr)
    base = results.get("none", {}).get("through_per_s")
    for phase in ("healthy", "dead"):
        if base and phase in results:
            results[phase]["through_vs_none"] = round(results[phase]["through_per_s"] / base, 3)
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
