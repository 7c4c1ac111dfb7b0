"""The gateway bounds how long a request waits for a thread (issue 9): when the services stall (the
store restarting, the broker gone), requests must get 503 + Retry-After in bounded time, not queue in
gunicorn until every client has given up. A real gunicorn with the gateway's worker class and one
thread serves a slow application; requests beyond what it can serve in time are answered 503 at once."""
import socket
import subprocess
import sys
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from gateway.worker import queue_timeout, shedding

REPO = Path(__file__).resolve().parents[2]


def test_the_gateway_runs_on_the_shedding_worker():
    config = (REPO / "gateway/gunicorn.conf.py").read_text()
    assert 'worker_class = "gateway.worker.SheddingWorker"' in config


def test_a_request_that_waited_too_long_is_answered_503_without_reaching_the_app():
    called = []

    def app(environ, start_response):
        called.append(environ["PATH_INFO"])
        start_response("201 Created", [])
        return [b"{}"]

    answers = []
    wrapped = shedding(app, 2.0, waited=lambda: 3.5)
    body = b"".join(wrapped({"PATH_INFO": "/v1/tickets", "REQUEST_METHOD": "POST", "HTTP_IDEMPOTENCY_KEY": "k-1"},
                            lambda status, headers: answers.append((status, dict(headers)))))
    assert called == []
    status, headers = answers[0]
    assert status.startswith("503") and headers["Retry-After"] and headers["Idempotency-Key"] == "k-1"
    assert headers["Content-Type"] == "application/problem+json" and b"overloaded" in body
    # in time, and the health endpoints always: served
    assert b"".join(shedding(app, 2.0, waited=lambda: 1.0)({"PATH_INFO": "/v1/tickets"}, lambda *a: None)) == b"{}"
    assert b"".join(shedding(app, 2.0, waited=lambda: 9.0)({"PATH_INFO": "/readyz"}, lambda *a: None)) == b"{}"
    assert called == ["/v1/tickets", "/readyz"]


def test_the_bound_is_configurable_and_can_be_turned_off():
    assert queue_timeout({}) == 5.0
    assert queue_timeout({"GATEWAY_QUEUE_TIMEOUT_SECONDS": "2.5"}) == 2.5
    assert queue_timeout({"GATEWAY_QUEUE_TIMEOUT_SECONDS": "off"}) == 0.0
    app = object()
    assert shedding(app, 0.0) is app


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.timeout(60)
def test_a_stalled_gunicorn_answers_503_in_bounded_time_instead_of_queueing(tmp_path):
    (tmp_path / "slowapp.py").write_text(textwrap.dedent("""
        import time
        def app(environ, start_response):
            time.sleep(1.0)          # a service that takes a second per request (the store restarting)
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b"done"]
    """))
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--chdir", str(tmp_path), "-k", "gateway.worker.SheddingWorker",
         "--threads", "1", "--workers", "1", "-b", f"127.0.0.1:{port}", "slowapp:app"],
        cwd=REPO, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), "GATEWAY_QUEUE_TIMEOUT_SECONDS": "1.5"},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.2)

        def one(_):
            started = time.monotonic()
            response = requests.get(f"http://127.0.0.1:{port}/v1/tickets", timeout=30)
            return response.status_code, time.monotonic() - started, response.headers.get("Retry-After")
        with ThreadPoolExecutor(12) as pool:
            answers = list(pool.map(one, range(12)))
    finally:
        server.terminate()
        server.wait(10)
    statuses = sorted(a[0] for a in answers)
    # one thread, one second each, 1.5 s of queue allowed: a few are served, the rest are told to come back
    assert 200 in statuses and 503 in statuses, answers
    assert all(a[2] for a in answers if a[0] == 503)
    # without the bound the last of 12 would wait ~12 s; with it nobody waits much beyond 1.5 s + 1 s
    assert max(a[1] for a in answers) < 6, answers
