"""`make run`: the whole system on one machine.

Checks RabbitMQ on AMQP_URI, starts the embedded MongoDB-compatible server unless MONGO_URI is set
(data kept in .data/mongo across restarts), declares the broker topology, starts the five services
(`nameko run`) and the gateway (gunicorn), waits until all are ready, prints the URL and an example
request, restarts a service that dies, and stops everything it started on Ctrl-C.

Environment (all optional): AMQP_URI, MONGO_URI, EMBEDDED_MONGO_PORT (27017), GATEWAY_PORT (8000),
SERVICE_PORT_BASE (8100: intake 8101 ... notify 8106), REPLICAS (e.g. routing=3,sla=2: processes per
service, 1 each by default), HOTLINE_DATA_DIR (.data), CLOCK_MODE (controllable outside production),
HOTLINE_ENV, QUEUE_TYPE (quorum).

Replicas (issue 16): each replica is a process of its own, supervised and restarted on its own, with
its own health and metrics port: replica r (1, 2, ...) of the i-th service of tools/services.py
(intake 1 ... notify 6) listens on SERVICE_PORT_BASE + i + 10 * (r - 1), so the first replicas keep
8101..8106, the second ones take 8111..8116, the third 8121..8126. A service with one replica is
named as itself (`routing`, logs/routing.log); with several, its processes are `routing.1`,
`routing.2`, ... (in stack.json's pids and health, the banner and the log files).

Durability (issue 9): the embedded server fsyncs every commit (`--sync-on-commit`; an acknowledged
write survives `kill -9`; EMBEDDED_MONGO_SYNC=0 turns it off, for measurements only) and keeps a
bounded oplog (EMBEDDED_MONGO_OPLOG_SECONDS, 300; EMBEDDED_MONGO_OPLOG_ENTRIES, 20000: nothing here
tails a change stream today, so only a short window is needed).

Broker users (issue 9, tools/brokerusers.py): when the broker is local and `rabbitmqctl` works, each
service, the gateway and each external subscriber named in BROKER_SUBSCRIBERS (comma-separated) get
their own RabbitMQ user (passwords in <data dir>/broker-users.json), and each process connects as its
own; AMQP_URI stays the administrator the topology is declared with. BROKER_NODE names the node for
`rabbitmqctl -n` (a second local node); BROKER_USERS=off skips this. When it cannot, every process
uses AMQP_URI, and the launcher says so.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from hotline_common.settings import REPO_ROOT

from .services import SERVICES

REPLICA_PORT_STRIDE = 10   # replica r of service i: SERVICE_PORT_BASE + i + REPLICA_PORT_STRIDE * (r - 1)
assert len(SERVICES) < REPLICA_PORT_STRIDE, "the services' ports of one replica would overlap the next's"
STOP_TIMEOUT = 15.0        # seconds a group of processes (gateway, services, store) gets to stop
RESTART_LIMIT = 5          # restarts of one process within RESTART_WINDOW before giving up
RESTART_WINDOW = 60.0


def embedded_uri(port: int) -> str:
    # The embedded server keeps every retryable write's reply and scans them all on each write
    # (measured: 1,100 inserts/s falling to 57/s after 10,000 writes); the pipeline's idempotency
    # comes from the inbox, so turn driver-level retryable writes off for it (only for it).
    return f"mongodb://127.0.0.1:{port}/?retryWrites=false"


def log(message: str) -> None:
    print(f"[stack] {message}", flush=True)


@dataclass
class Child:
    name: str
    argv: list
    env: dict
    log_path: Path
    ready_url: str | None = None
    port: int | None = None          # its health/metrics port (services)
    process: subprocess.Popen | None = None
    restarts: list = field(default_factory=list)

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as out:  # the child keeps its own copy of the descriptor
            self.process = subprocess.Popen(self.argv, env=self.env, stdout=out, stderr=subprocess.STDOUT,
                                            cwd=REPO_ROOT, start_new_session=True, preexec_fn=die_with_parent)

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout: float = 15.0) -> None:
        self.ask_to_stop()
        self.wait_stopped(timeout)

    def ask_to_stop(self) -> None:
        if self.alive():
            self.process.send_signal(signal.SIGTERM)

    def wait_stopped(self, timeout: float = 15.0, until: float | None = None) -> None:
        """Wait `timeout` seconds, or until the monotonic instant `until` (a group's shared deadline),
        then kill it."""
        if self.process is None:
            return
        if until is not None:
            timeout = max(0.1, until - time.monotonic())
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            log(f"{self.name} did not stop in time; killing it")
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(5)


def die_with_parent() -> None:
    """In the child: if the launcher itself is killed (SIGKILL), the kernel sends us SIGTERM (Linux)."""
    try:
        import ctypes
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def port_open(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


def get_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except Exception:
        return False


def wait_until(check, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.25)
    raise RuntimeError(f"{what} not ready after {timeout:.0f}s")


def embedded_mongo_argv(env: dict, port: int, storage: Path) -> list[str]:
    argv = [str(Path(sys.executable).parent / "secantusd-py"), "--host", "127.0.0.1", "--port", str(port),
            "--storage-path", str(storage), "--log-level", "WARNING",
            "--oplog-retention-seconds", env.get("EMBEDDED_MONGO_OPLOG_SECONDS", "300"),
            "--oplog-max-entries", env.get("EMBEDDED_MONGO_OPLOG_ENTRIES", "20000")]
    if env.get("EMBEDDED_MONGO_SYNC", "1") != "0":
        argv.append("--sync-on-commit")  # an acknowledged write survives kill -9 (issue 9)
    return argv


class Stack:
    def __init__(self, environ: dict):
        self.environ = dict(environ)
        self.data_dir = Path(environ.get("HOTLINE_DATA_DIR", REPO_ROOT / ".data"))
        self.logs = self.data_dir / "logs"
        self.gateway_port = int(environ.get("GATEWAY_PORT", "8000"))
        self.port_base = int(environ.get("SERVICE_PORT_BASE", "8100"))
        self.replicas: dict[str, int] = {name: 1 for name in SERVICES}
        self.children: list[Child] = []
        self.stopping = False

    # -- pieces
    def base_env(self) -> dict:
        env = dict(self.environ)
        env.setdefault("HOTLINE_DATA_DIR", str(self.data_dir))
        env.setdefault("AMQP_URI", "amqp://guest:guest@localhost:5672/")
        if env.get("HOTLINE_ENV", "development") != "production":
            env.setdefault("CLOCK_MODE", "controllable")
            env.setdefault("NOTIFY_ALLOWED_HOSTS", "127.0.0.1,::1,localhost")  # webhooks to local receivers
        env.setdefault("PYTHONUNBUFFERED", "1")
        return env

    def check_broker(self, env: dict) -> None:
        from kombu import Connection
        try:
            with Connection(env["AMQP_URI"], connect_timeout=5) as conn:
                conn.ensure_connection(max_retries=3)
        except Exception as exc:
            raise RuntimeError(f"RabbitMQ is not reachable at AMQP_URI ({exc}); `make run` starts a local "
                               "one when it is installed, or set AMQP_URI") from None

    def start_embedded_mongo(self, env: dict) -> None:
        port = int(env.get("EMBEDDED_MONGO_PORT", "27017"))
        if port_open("127.0.0.1", port):
            raise RuntimeError(f"port {port} is already in use; stop what runs there, set EMBEDDED_MONGO_PORT, "
                               "or point MONGO_URI at a MongoDB")
        storage = self.data_dir / "mongo"
        storage.mkdir(parents=True, exist_ok=True)
        child = Child("mongo", embedded_mongo_argv(env, port, storage), dict(env), self.logs / "mongo.log")
        child.start()
        self.children.append(child)
        env["MONGO_URI"] = embedded_uri(port)
        wait_until(lambda: port_open("127.0.0.1", port) or not child.alive(), 60, "embedded MongoDB")
        if not child.alive():
            raise RuntimeError(f"the embedded MongoDB server exited; see {child.log_path}")
        durable = "fsync on every commit" if "--sync-on-commit" in child.argv else "NOT fsynced on commit"
        log(f"embedded MongoDB (secantusdb) on 127.0.0.1:{port}, data in {storage} ({durable})")

    def declare_topology(self, env: dict) -> None:
        from .topology import MigrationRefused, declare_all
        try:
            declare_all(env["AMQP_URI"])
        except MigrationRefused as exc:
            raise RuntimeError(str(exc)) from None

    def provision_broker_users(self, env: dict) -> None:
        """Each process its own broker user (tools/brokerusers.py), or AMQP_URI for all, said aloud."""
        from . import brokerusers
        self.amqp_uris = {}
        self.provisioned_vhost = None
        if env.get("BROKER_USERS", "auto") == "off":
            log("BROKER_USERS=off: every process connects with AMQP_URI")
            return
        subscribers = self.subscribers(env)
        try:
            self.amqp_uris = brokerusers.provision(env["AMQP_URI"], self.data_dir, subscribers,
                                                   node=env.get("BROKER_NODE") or None)
        except brokerusers.ProvisionError as exc:
            log(f"could not give each service its own broker user ({exc}); every process connects with "
                "AMQP_URI, so any of them may publish any event")
            return
        self.provisioned_vhost = brokerusers.vhost_of(env["AMQP_URI"])
        log(f"broker users: each service, the gateway{' and ' + ', '.join(subscribers) if subscribers else ''} "
            f"connect as their own (passwords in {brokerusers.passwords_file(self.data_dir)})")

    @staticmethod
    def subscribers(env: dict) -> tuple:
        return tuple(n.strip() for n in env.get("BROKER_SUBSCRIBERS", "").split(",") if n.strip())

    def amqp_uri_for(self, env: dict, name: str) -> str:
        return getattr(self, "amqp_uris", {}).get(name, env["AMQP_URI"])

    def remove_broker_users(self) -> None:
        """Users made for a throwaway vhost (tests) go with it; those of "/" stay for the next run."""
        if getattr(self, "provisioned_vhost", None) in (None, "/"):
            return
        from . import brokerusers
        try:
            brokerusers.remove(self.env["AMQP_URI"], self.subscribers(self.env), node=self.env.get("BROKER_NODE") or None)
        except Exception as exc:  # best effort: the users cannot do anything once their vhost is gone
            log(f"could not remove the broker users of {self.provisioned_vhost}: {exc}")

    def read_replicas(self) -> None:
        """REPLICAS through the settings: a bad value or an unknown service stops the start, said aloud."""
        from hotline_common.settings import Settings, SettingsError
        try:
            self.replicas = Settings.from_env(self.environ).replica_counts(list(SERVICES))
        except SettingsError as exc:
            raise RuntimeError(str(exc)) from None

    def service_port(self, index: int, replica: int) -> int:
        """The health/metrics port of replica `replica` (1-based) of the `index`-th service (1-based)."""
        return self.port_base + index + REPLICA_PORT_STRIDE * (replica - 1)

    def process_names(self, name: str) -> list[str]:
        count = self.replicas.get(name, 1)
        return [name] if count == 1 else [f"{name}.{r}" for r in range(1, count + 1)]

    def service_children(self, env: dict) -> list[Child]:
        children = []
        for index, (name, path) in enumerate(SERVICES.items(), start=1):
            for replica, process in enumerate(self.process_names(name), start=1):
                port = self.service_port(index, replica)
                child_env = {**env, "HOTLINE_SERVICE": name, "WEB_SERVER_ADDRESS": f"127.0.0.1:{port}",
                             "AMQP_URI": self.amqp_uri_for(env, name)}
                argv = [sys.executable, "-m", "nameko", "run", path, "--config",
                        str(REPO_ROOT / "config/nameko.yaml")]
                children.append(Child(process, argv, child_env, self.logs / f"{process}.log",
                                      ready_url=f"http://127.0.0.1:{port}/readyz", port=port))
        return children

    def gateway_child(self, env: dict) -> Child:
        prom_dir = self.data_dir / "prometheus-gateway"
        prom_dir.mkdir(parents=True, exist_ok=True)
        for stale in prom_dir.glob("*.db"):
            stale.unlink()
        child_env = {**env, "GATEWAY_PORT": str(self.gateway_port), "PROMETHEUS_MULTIPROC_DIR": str(prom_dir),
                     "HOTLINE_SERVICE": "gateway", "AMQP_URI": self.amqp_uri_for(env, "gateway")}
        argv = [sys.executable, "-m", "gunicorn", "-c", str(REPO_ROOT / "gateway/gunicorn.conf.py"),
                "gateway.app:get_app()"]
        return Child("gateway", argv, child_env, self.logs / "gateway.log",
                     ready_url=f"http://127.0.0.1:{self.gateway_port}/readyz")

    # -- whole
    def start(self) -> None:
        self.read_replicas()
        env = self.base_env()
        self.check_broker(env)
        if not env.get("MONGO_URI"):
            self.start_embedded_mongo(env)
        self.declare_topology(env)
        self.env = env
        self.provision_broker_users(env)
        if port_open("127.0.0.1", self.gateway_port):
            raise RuntimeError(f"port {self.gateway_port} is already in use; set GATEWAY_PORT")
        services = self.service_children(env)
        taken = [c for c in services if c.port is not None and port_open("127.0.0.1", c.port)]
        if taken:
            raise RuntimeError(f"port {taken[0].port} ({taken[0].name}'s health port) is already in use; "
                               "set SERVICE_PORT_BASE")
        for child in services:
            child.start()
            self.children.append(child)
        for child in services:
            wait_until(lambda c=child: get_ok(c.ready_url) or not c.alive(), 90, child.name)
            if not child.alive():
                raise RuntimeError(f"{child.name} exited during start; see {child.log_path}")
        gateway = self.gateway_child(env)
        gateway.start()
        self.children.append(gateway)
        wait_until(lambda: get_ok(gateway.ready_url) or not gateway.alive(), 60, "gateway")
        if not gateway.alive():
            raise RuntimeError(f"the gateway exited during start; see {gateway.log_path}")
        self.env = env

    def describe(self) -> dict:
        return {"url": f"http://127.0.0.1:{self.gateway_port}",
                "pids": {c.name: c.pid for c in self.children},
                "health": {c.name: c.ready_url.rsplit("/", 1)[0] for c in self.children if c.ready_url},
                "logs": str(self.logs), "mongo_uri": self.env.get("MONGO_URI"),
                "replicas": {name: self.process_names(name) for name in SERVICES},
                "broker_users": sorted(getattr(self, "amqp_uris", {})),
                "queue_type": self.env.get("QUEUE_TYPE", "quorum")}

    def write_state(self) -> None:
        """Live pids and ports in .data/stack.json, for operators and tests."""
        path = self.data_dir / "stack.json"
        temporary = path.with_suffix(".json.tmp")
        temporary.write_text(json.dumps(self.describe(), indent=2))
        os.replace(temporary, path)  # atomic: a reader never sees a half-written file

    def supervise(self) -> None:
        """Restart a process that dies; give up on one that keeps dying."""
        while not self.stopping:
            time.sleep(0.5)
            for child in self.children:
                if self.stopping or child.alive():
                    continue
                now = time.monotonic()
                child.restarts = [t for t in child.restarts if now - t < RESTART_WINDOW] + [now]
                if len(child.restarts) > RESTART_LIMIT:
                    raise RuntimeError(f"{child.name} keeps exiting; see {child.log_path}")
                log(f"{child.name} exited (code {child.process.returncode}); restarting it")
                child.start()
                self.write_state()

    def stop(self) -> None:
        self.stopping = True
        # the gateway first (no new requests), then every service at once (each takes 2-3 s to finish
        # its workers; one after the other they took ~16 s), the store last (they write to it until then)
        gateway = [c for c in self.children if c.name == "gateway"]
        store = [c for c in self.children if c.name == "mongo"]
        services = [c for c in self.children if c not in gateway and c not in store]
        for group in (gateway, services, store):
            for child in group:
                if child.alive():
                    log(f"stopping {child.name}")
                child.ask_to_stop()
            until = time.monotonic() + STOP_TIMEOUT  # one deadline for the group: a group that hangs
            for child in group:                      # costs 15 s, not 15 s a process
                child.wait_stopped(until=until)
        self.remove_broker_users()


def banner(stack: Stack) -> str:
    from gateway.app import jwt_secret
    from gateway.auth import mint
    from hotline_common.settings import Settings

    settings = Settings.from_env(stack.env)
    token = mint(jwt_secret(settings), settings.jwt_issuer, role="operator", user_id="operator.1")
    url = f"http://127.0.0.1:{stack.gateway_port}"
    body = json.dumps({"channel": "phone", "type": "complain", "category": "noise.neighbourhood",
                       "district": "tiedong", "address": "铁东区胜利南路 88 号",
                       "citizen": {"name": "张女士", "phone": "13800001234"},
                       "content": "楼下烧烤店每天夜里12点后仍然噪音扰民"}, ensure_ascii=False)
    width = max(len(c.name) for c in stack.children)
    processes = "\n".join(f"    {c.name:<{width}}  {c.ready_url.rsplit('/', 1)[0]}  pid {c.pid}"
                           for c in stack.children if c.ready_url and c.name != "gateway")
    return f"""
12345 hotline is running at {url}   (Ctrl-C stops everything)
  console: {url}/console/   (sign in as any demo user outside production)
  logs: {stack.logs}/<process>.log
  services (health and metrics; REPLICAS=routing=3,sla=2 runs more of one):
{processes}

Register a ticket as an operator (token valid 12 h; `make token ROLE=...` for others):
  TOKEN={token}
  curl -s -X POST {url}/v1/tickets -H "Authorization: Bearer $TOKEN" \\
       -H 'Content-Type: application/json' -d '{body}'
  curl -s {url}/v1/tickets/<number> -H "Authorization: Bearer $TOKEN"
"""


def main() -> int:
    stack = Stack(os.environ)

    def on_signal(signum, frame):
        raise KeyboardInterrupt

    # both explicitly: a shell that starts us in the background may have SIGINT ignored
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        stack.start()
        stack.write_state()
        print(banner(stack), flush=True)
        print("READY " + json.dumps(stack.describe()), flush=True)
        stack.supervise()
    except KeyboardInterrupt:
        log("stopping ...")
    except RuntimeError as exc:
        log(f"error: {exc}")
        stack.stop()
        return 1
    stack.stop()
    log("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
