"""Shared fixtures. Integration and e2e tests talk to real RabbitMQ (a throwaway vhost per test, made
through the management API by nameko's `rabbit_config`) and a real MongoDB wire server (MONGO_URI,
or an in-memory `secantusd-py` started for the session)."""
import warnings

warnings.filterwarnings("ignore", message=r"(?s).*Eventlet is deprecated")
import eventlet  # noqa: E402

eventlet.monkey_patch()  # before anything else imports socket or threading (nameko runs on eventlet)

import os  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from tests.ports import REPO, free_port, port_free  # noqa: E402,F401


def wait_for(predicate, timeout=10.0, interval=0.05, message="condition"):
    """Poll until `predicate()` is truthy; return its value or fail the test."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {message}")
        time.sleep(interval)


@pytest.fixture(scope="session")
def mongo_uri():
    if os.environ.get("MONGO_URI"):
        yield os.environ["MONGO_URI"]
        return
    port = free_port()
    proc = subprocess.Popen([str(Path(sys.executable).parent / "secantusd-py"), "--host", "127.0.0.1",
                             "--port", str(port), "--storage-path", ":memory:", "--log-level", "WARNING"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.1)
    else:
        proc.kill()
        pytest.fail("the embedded MongoDB server did not start")
    from tools.stack import embedded_uri
    yield embedded_uri(port)
    proc.terminate()
    proc.wait(10)


@pytest.fixture
def db_prefix(mongo_uri):
    """A database-name prefix of the test's own, dropped afterwards."""
    prefix = f"t{uuid.uuid4().hex[:10]}_"
    yield prefix
    from hotline_common.mongo import client
    c = client(mongo_uri)
    for name in c.list_database_names():
        if name.startswith(prefix):
            c.drop_database(name)


@pytest.fixture
def service_env(monkeypatch, mongo_uri, db_prefix, tmp_path):
    """Environment for services started in this process (Settings.from_env reads it at setup)."""
    env = {
        "MONGO_URI": mongo_uri,
        "MONGO_DB_PREFIX": db_prefix,
        "HOTLINE_ENV": "test",
        "HOTLINE_CONFIG_DIR": str(REPO / "config"),
        "HOTLINE_DATA_DIR": str(tmp_path / "data"),
        "CLOCK_MODE": "controllable",
        "TIMER_INTERVAL_SECONDS": "0.2",
        "OUTBOX_SWEEP_SECONDS": "0.5",
        "EVENT_RETRY_BASE_MS": "50",
        "EVENT_MAX_ATTEMPTS": "4",
        "LOG_JSON": "0",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


from tests.stack import running_stack, stack_env  # noqa: E402,F401  one whole stack per test module (e2e, browser)
