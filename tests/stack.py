"""The whole stack started the way `make run` starts it (tools.stack), driven over HTTP: the fixture
`running_stack` (registered in tests/conftest.py), one fresh stack per test module, so that no
module's clock jumps, throttles or fuzzing can leak into another's.

It gets its own RabbitMQ vhost, its own embedded MongoDB server and data directory, and free ports,
so it can run beside a developer's `make run`. A module changes its stack's environment by overriding
the fixture `stack_env` (e.g. `{"REPLICAS": "routing=2"}`: the port block widens to fit the replicas).
"""
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import requests

from gateway.auth import local_secret, mint
from hotline_common.settings import Settings
from tests.ports import REPO, free_port


def _mgmt(method, path, **kw):
    base = os.environ.get("RABBIT_API_URI", "http://guest:guest@localhost:15672")
    return requests.request(method, f"{base}/api/{path}", timeout=10, **kw)


class RunningStack:
    def __init__(self, url, pids, data_dir, amqp_uri, mongo_uri, process):
        self.url, self.pids, self.data_dir = url, pids, data_dir
        self.amqp_uri, self.mongo_uri, self.process = amqp_uri, mongo_uri, process
        self.session = requests.Session()

    def token(self, role, unit=None, user=None):
        return mint(local_secret(self.data_dir), "hotline-12345", role=role,
                    user_id=user or (f"{unit}.leader" if role == "unit_leader" else f"{role}.e2e"), unit_id=unit)

    def headers(self, role="operator", unit=None, user=None, **extra):
        return {"Authorization": f"Bearer {self.token(role, unit, user)}", **extra}

    def get(self, path, role="operator", unit=None, user=None, **kw):
        return self.session.get(self.url + path, headers=self.headers(role, unit, user), timeout=20, **kw)

    def post(self, path, body, role="operator", unit=None, user=None, headers=None, **kw):
        return self.session.post(self.url + path, json=body, timeout=20,
                                 headers={**self.headers(role, unit, user), **(headers or {})}, **kw)

    def put(self, path, body, role="admin", unit=None, user=None, headers=None, **kw):
        return self.session.put(self.url + path, json=body, timeout=20,
                                headers={**self.headers(role, unit, user), **(headers or {})}, **kw)

    def state(self) -> dict:
        """The launcher's state file: live pids (it restarts what dies) and health URLs."""
        return json.loads((self.data_dir / "stack.json").read_text())

    def current_pids(self):
        return self.state()["pids"]


@pytest.fixture(scope="module")
def stack_env():
    """Environment a test module's stack gets on top of the defaults below; a module overrides this
    fixture to change it, e.g. `{"REPLICAS": "routing=2,sla=2"}` (tests/e2e/test_replicas.py)."""
    return {}


def port_layout(ports: int, replicas: str = "") -> dict:
    """Ports from a block starting at `ports`: the gateway at +0, the services' health ports from
    SERVICE_PORT_BASE = +1 as tools/stack.py lays them out (replica r of service i at
    +1 + i + 10 (r - 1)), the embedded store after the last replica's row."""
    from tools.stack import REPLICA_PORT_STRIDE
    rows = max((n for _, n in Settings.from_env({"REPLICAS": replicas}).replicas), default=1)
    return {"GATEWAY_PORT": str(ports), "SERVICE_PORT_BASE": str(ports + 1),
            "EMBEDDED_MONGO_PORT": str(ports + 1 + REPLICA_PORT_STRIDE * rows)}


def port_block(replicas: str = "") -> int:
    """How many consecutive free ports `port_layout` needs (12 with one replica each)."""
    return int(port_layout(0, replicas)["EMBEDDED_MONGO_PORT"]) + 1


@pytest.fixture(scope="module")
def running_stack(tmp_path_factory, stack_env):
    vhost = f"hotline_e2e_{uuid.uuid4().hex[:8]}"
    assert _mgmt("PUT", f"vhosts/{vhost}").status_code in (201, 204), "RabbitMQ management API unavailable"
    _mgmt("PUT", f"permissions/{vhost}/guest", json={"configure": ".*", "write": ".*", "read": ".*"})
    data_dir = tmp_path_factory.mktemp("stack-data")
    replicas = stack_env.get("REPLICAS", "")
    ports = free_port(block=port_block(replicas))
    amqp_uri = f"amqp://guest:guest@localhost:5672/{vhost}"
    env = {**os.environ,
           "AMQP_URI": amqp_uri,
           "HOTLINE_DATA_DIR": str(data_dir),
           "HOTLINE_ENV": "test",
           **port_layout(ports, replicas),
           "CLOCK_MODE": "controllable",
           "TIMER_INTERVAL_SECONDS": "0.3",
           "OUTBOX_SWEEP_SECONDS": "1",
           "EVENT_RETRY_BASE_MS": "100",
           "GATEWAY_WORKERS": "2",
           "REPLICAS": replicas,                           # never a developer's own, only the module's
           **stack_env}
    env.pop("MONGO_URI", None)  # like `make run`: the stack starts its own embedded server
    process = subprocess.Popen([sys.executable, "-m", "tools.stack"], cwd=REPO, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    ready, output = None, []
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        output.append(line)
        if line.startswith("READY "):
            ready = json.loads(line[len("READY "):])
            break
    if ready is None:
        process.kill()
        logs = "".join(output[-40:])
        pytest.fail(f"the stack did not start:\n{logs}")
    import threading
    threading.Thread(target=lambda: [output.append(x) for x in process.stdout], daemon=True).start()
    stack = RunningStack(ready["url"], ready["pids"], Path(data_dir), amqp_uri, ready["mongo_uri"], process)
    yield stack
    pids = stack.current_pids()
    process.send_signal(signal.SIGINT)  # Ctrl-C: the launcher stops everything it started, cleanly
    try:
        code = process.wait(90)
    except subprocess.TimeoutExpired:
        process.kill()
        code = None
    _mgmt("DELETE", f"vhosts/{vhost}")
    assert code == 0, "the launcher did not stop cleanly on Ctrl-C"
    for name, pid in pids.items():
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            continue
        pytest.fail(f"{name} (pid {pid}) still runs after Ctrl-C")
