"""Rate limits (per token, per client address; IETF RateLimit headers; 429) and the RPC client's
handling of a broker that goes away (no broker needed: nameko's proxies are faked)."""
from __future__ import annotations

import falcon.testing
import pytest

from gateway import rpc as rpc_module
from gateway.app import create_app
from gateway.auth import TokenVerifier, mint
from gateway.ratelimit import Buckets, Policy
from gateway.rpc import PUBLISH_RETRY, RpcClients
from hotline_common.settings import Settings
from hotline_common.testing import FakeRpc

SECRET, ISSUER = "s" * 40, "test"


def bearer(user="someone") -> dict:
    return {"Authorization": "Bearer " + mint(SECRET, ISSUER, role="operator", user_id=user)}


def client_with(token_limit="off", address_limit="off") -> falcon.testing.TestClient:
    rpc = FakeRpc().on("intake", "list_tickets", {"items": [], "next_cursor": None})
    settings = Settings.from_env({"GATEWAY_RATE_LIMIT_TOKEN": token_limit,
                                  "GATEWAY_RATE_LIMIT_ADDRESS": address_limit})
    return falcon.testing.TestClient(create_app(settings, rpc, TokenVerifier(SECRET, ISSUER)))


# -- policies and buckets

def test_a_policy_is_requests_per_seconds_or_off():
    assert Policy.parse("token", "600/60") == Policy("token", 600, 60.0)
    assert Policy.parse("token", "100") == Policy("token", 100, 60.0)
    assert Policy.parse("token", "off") is None and Policy.parse("token", "0") is None
    assert Policy.parse("address", "10/1").header() == '"address";q=10;w=1'
    with pytest.raises(ValueError):
        Policy.parse("token", "-5/60")


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_a_bucket_empties_then_refills_at_quota_per_window():
    clock = Clock()
    buckets = Buckets(Policy("token", 3, 3.0), clock)
    verdicts = [buckets.take("a") for _ in range(4)]
    assert [v.allowed for v in verdicts] == [True, True, True, False]
    assert [v.remaining for v in verdicts] == [2, 1, 0, 0]
    assert verdicts[3].retry_after == 1 and verdicts[2].reset == 3
    assert buckets.take("b").allowed  # another key has its own bucket
    clock.now += 1.0
    assert buckets.take("a").allowed and not buckets.take("a").allowed
    clock.now += 100
    assert buckets.take("a").remaining == 2  # never more than the quota


def test_buckets_forget_the_least_recently_used_keys():
    buckets = Buckets(Policy("address", 1, 60.0), Clock(), max_keys=2)
    for key in ("a", "b", "c"):
        buckets.take(key)
    assert set(buckets._buckets) == {"b", "c"}


# -- over HTTP

def test_every_answer_says_the_limits_and_what_is_left():
    client = client_with(token_limit="5/60", address_limit="10/60")
    response = client.simulate_get("/v1/tickets", headers=bearer())
    assert response.status_code == 200
    assert response.headers["RateLimit-Policy"] == '"address";q=10;w=60, "token";q=5;w=60'
    assert response.headers["RateLimit"] == '"address";r=9;t=6, "token";r=4;t=12'


def test_a_token_over_its_limit_gets_429_with_retry_after():
    client = client_with(token_limit="2/60")
    for _ in range(2):
        assert client.simulate_get("/v1/tickets", headers=bearer()).status_code == 200
    refused = client.simulate_get("/v1/tickets", headers=bearer())
    assert refused.status_code == 429 and refused.headers["Content-Type"] == "application/problem+json"
    assert refused.headers["Retry-After"] == "30" and refused.json["status"] == 429
    assert refused.headers["RateLimit"] == '"token";r=0;t=60'
    # another token from the same address is not limited by this one
    assert client.simulate_get("/v1/tickets", headers=bearer("other")).status_code == 200


def test_an_address_is_limited_before_its_tokens_are_checked():
    client = client_with(address_limit="2/60")
    bad = {"Authorization": "Bearer forged"}
    assert [client.simulate_get("/v1/tickets", headers=bad).status_code for _ in range(3)] == [401, 401, 429]
    assert client.simulate_get("/v1/tickets", headers=bearer()).status_code == 429
    other = client.simulate_get("/v1/tickets", headers=bearer(), remote_addr="10.0.0.9")
    assert other.status_code == 200


def test_health_endpoints_are_not_limited():
    client = client_with(address_limit="1/60")
    assert [client.simulate_get("/healthz").status_code for _ in range(3)] == [200, 200, 200]
    assert "RateLimit" not in client.simulate_get("/healthz").headers


def test_without_limits_there_are_no_headers():
    response = client_with().simulate_get("/v1/tickets", headers=bearer())
    assert "RateLimit" not in response.headers and "RateLimit-Policy" not in response.headers


# -- the RPC client: a proxy per thread, a dead connection replaced before publishing

class FakeConnection:
    def __init__(self):
        self.dead = False

    def drain_events(self, timeout=None):
        if self.dead:
            raise OSError("Server unexpectedly closed connection")
        raise TimeoutError()


class FakeStandalone:
    started: list = []
    fail_start = False

    def __init__(self, config, timeout=None, context_data=None, reply_listener_cls=None):
        self.config, self.timeout = config, timeout
        self.reply_listener_cls = reply_listener_cls
        self.connection = FakeConnection()
        listener = type("L", (), {})()
        listener.queue_consumer = type("Q", (), {"connection": self.connection})()
        self._reply_listener = listener
        self._worker_ctx = type("Ctx", (), {"data": {}})()
        self.stopped = False

    def start(self):
        if FakeStandalone.fail_start:
            raise ConnectionRefusedError(111, "refused")
        FakeStandalone.started.append(self)

    def stop(self):
        self.stopped = True
        if self.connection.dead:
            raise OSError("already closed")


class FakeServiceProxy:
    answers: dict = {}

    def __init__(self, worker_ctx, service, reply_listener, **options):
        self.service, self.options, self.worker_ctx = service, options, worker_ctx

    def __getattr__(self, method):
        def call(*args):
            answer = FakeServiceProxy.answers[(self.service, method)]
            if isinstance(answer, BaseException):
                raise answer
            return {"args": args, "correlation_id": self.worker_ctx.data.get("correlation_id"),
                    "options": self.options}
        return call


@pytest.fixture
def fake_nameko(monkeypatch):
    FakeStandalone.started = []
    FakeStandalone.fail_start = False
    FakeServiceProxy.answers = {("intake", "ping"): "ok"}
    monkeypatch.setattr(rpc_module, "ClusterRpcProxy", FakeStandalone)
    monkeypatch.setattr(rpc_module, "ServiceProxy", FakeServiceProxy)
    return FakeStandalone


def test_calls_reuse_the_threads_proxy_expire_in_the_broker_and_carry_the_correlation_id(fake_nameko):
    from hotline_common import logs
    clients = RpcClients("amqp://x", 7.5)
    with logs.correlation("cid-1"):
        first = clients.call("intake", "ping", {"params": {}}, {"role": "operator"})
    clients.call("intake", "ping")
    assert len(fake_nameko.started) == 1
    assert first["args"] == ({"params": {}}, {"role": "operator"}) and first["correlation_id"] == "cid-1"
    assert first["options"] == {"expiration": 7.5, "retry_policy": PUBLISH_RETRY}
    assert fake_nameko.started[0].config == {"AMQP_URI": "amqp://x"} and fake_nameko.started[0].timeout == 7.5


def test_a_connection_that_died_between_calls_is_replaced_before_the_next(fake_nameko):
    clients = RpcClients("amqp://x", 5)
    clients.call("intake", "ping")
    fake_nameko.started[0].connection.dead = True  # the broker restarted meanwhile
    clients.call("intake", "ping")
    assert len(fake_nameko.started) == 2 and fake_nameko.started[0].stopped


def test_a_broker_error_during_a_call_discards_the_proxy_and_is_raised(fake_nameko):
    clients = RpcClients("amqp://x", 5)
    FakeServiceProxy.answers[("intake", "ping")] = BrokenPipeError()
    with pytest.raises(BrokenPipeError):
        clients.call("intake", "ping")
    FakeServiceProxy.answers[("intake", "ping")] = "ok"
    clients.call("intake", "ping")
    assert len(fake_nameko.started) == 2 and fake_nameko.started[0].stopped


def test_no_broker_at_all_is_raised_as_a_broker_error(fake_nameko):
    fake_nameko.fail_start = True
    clients = RpcClients("amqp://x", 5)
    with pytest.raises(rpc_module.BROKER_ERRORS):
        clients.call("intake", "ping")
    fake_nameko.fail_start = False
    clients.call("intake", "ping")
    clients.close()
    assert fake_nameko.started[-1].stopped


def test_a_late_reply_read_by_the_probe_means_the_connection_is_up(fake_nameko):
    clients = RpcClients("amqp://x", 5)
    clients.call("intake", "ping")
    fake_nameko.started[0].connection.drain_events = lambda timeout=None: None
    clients.call("intake", "ping")
    assert len(fake_nameko.started) == 1
