"""The gateway over a fake RPC (no broker, no store): every route of the table, the answers' headers,
problem+json for every error, If-Match, body guards, authentication."""
from __future__ import annotations

import json
import re
import time
from datetime import UTC

import falcon
import falcon.testing
import pytest
from kombu.exceptions import OperationalError
from nameko.exceptions import RemoteError, RpcTimeout, UnknownService

from gateway import problems
from gateway.app import create_app, get_app, jwt_secret
from gateway.auth import TokenVerifier, local_secret, mint
from gateway.routes import OPTIONAL, REQUIRED, ROUTES
from hotline_common import errors as e
from hotline_common.dispatch import request
from hotline_common.settings import Settings
from hotline_common.testing import FakeRpc

SECRET, ISSUER = "s" * 40, "test"
PROBLEM = "application/problem+json"


def token(role="operator", unit=None, user="someone", **kw) -> str:
    return mint(SECRET, ISSUER, role=role, user_id=user, unit_id=unit, **kw)


def auth(role="operator", unit=None, **headers) -> dict:
    return {"Authorization": f"Bearer {token(role, unit)}", **headers}


@pytest.fixture
def rpc():
    return FakeRpc()


def make_client(rpc, **env) -> falcon.testing.TestClient:
    settings = Settings.from_env({"GATEWAY_RATE_LIMIT_TOKEN": "off", "GATEWAY_RATE_LIMIT_ADDRESS": "off", **env})
    return falcon.testing.TestClient(create_app(settings, rpc, TokenVerifier(SECRET, ISSUER)))


@pytest.fixture
def client(rpc):
    return make_client(rpc)


VALUES = {"key": "AS20261127000001", "unit_id": "city.environment", "rule_id": "r1", "case_id": "c1",
          "year": "2026", "bulletin_id": "b1", "subscription_id": "s1", "entry_id": "kb1"}


def concrete(route) -> str:
    return re.sub(r"\{(\w+)(:[^}]*)?\}", lambda m: VALUES[m.group(1)], route.path)


# -- every route: one RPC named by the table, the request built by the convention

@pytest.mark.parametrize("route", ROUTES, ids=lambda r: f"{r.method} {r.path}")
def test_every_route_calls_its_command_with_the_request_of_the_convention(rpc, client, route):
    rpc.on(route.service, route.command, lambda req, actor: {"id": "t1", "version": 4, "items": []})
    if route.compose:
        rpc.on("sla", "deadline", {"working_days_left": 3})
    body = {"note": "x"} if route.body != "none" else None
    unit = "city.environment" if route.acting_unit else None
    headers = auth("unit_handler" if unit else "operator", unit, **({"If-Match": '"4"'} if route.if_match else {}))
    response = client.simulate_request(route.method, concrete(route), json=body, headers=headers,
                                       params={"limit": "5"} if route.query else None)
    assert response.status_code == route.status, response.text
    service, command, (req, actor), _ = rpc.calls[0]
    assert (service, command) == (route.service, route.command)
    assert req["params"] == {name: (2026 if name == "year" else VALUES[name]) for name in route.params}
    assert req["body"] == body
    assert req["query"] == ({"limit": "5"} if route.query else None)
    assert req["if_match"] == (4 if route.if_match else None)
    assert (req["idempotency_key"] is not None) == route.creates
    assert actor["role"] == ("unit_handler" if unit else "operator")
    assert response.headers["ETag"] == '"4"'


def test_path_parameters_arrive_by_name(rpc, client):
    rpc.on("routing", "co_unit_decline", {"version": 2})
    client.simulate_post("/v1/tickets/AS1/co-units/city.market/decline", json={"reason": "not ours"},
                         headers=auth("unit_handler", "city.market"))
    assert rpc.calls[0][2][0]["params"] == {"key": "AS1", "unit_id": "city.market"}


def test_a_co_unit_acts_only_for_its_own_unit(rpc, client):
    response = client.simulate_post("/v1/tickets/AS1/co-units/city.market/accept",
                                    headers=auth("unit_handler", "city.housing"))
    assert response.status_code == 403 and response.headers["Content-Type"] == PROBLEM
    assert rpc.calls == []


def test_a_method_the_table_does_not_name_is_405_and_an_unknown_path_404(client):
    response = client.simulate_patch("/v1/tickets/AS1", headers=auth())
    assert response.status_code == 405 and "GET" in response.headers["Allow"]
    assert response.headers["Content-Type"] == PROBLEM
    missing = client.simulate_get("/v1/nothing-here", headers=auth())
    assert missing.status_code == 404 and missing.json["instance"] == "/v1/nothing-here"


# -- creating: 201, Location, idempotency

TICKET = {"id": "t1", "number": "AS20261127000001", "version": 1}


def test_registering_answers_201_with_location_etag_and_the_gateways_key(rpc, client):
    rpc.on("intake", "register", lambda req, actor: {**TICKET, "created": True})
    response = client.simulate_post("/v1/tickets", json={"content": "噪音"}, headers=auth())
    assert response.status_code == 201
    assert response.headers["Location"] == "/v1/tickets/t1" and response.headers["ETag"] == '"1"'
    key = rpc.calls[0][2][0]["idempotency_key"]
    assert key.startswith("gw-") and response.headers["Idempotency-Key"] == key
    assert "created" not in response.json and "Idempotent-Replayed" not in response.headers


def test_each_request_without_a_key_gets_its_own(rpc, client):
    rpc.on("intake", "register", lambda req, actor: {**TICKET, "created": True})
    for _ in range(2):
        client.simulate_post("/v1/tickets", json={"content": "噪音"}, headers=auth())
    assert len({call[2][0]["idempotency_key"] for call in rpc.calls}) == 2


def test_a_repeat_of_the_clients_key_answers_200_replayed(rpc, client):
    rpc.on("intake", "register", lambda req, actor: {**TICKET, "created": False})
    response = client.simulate_post("/v1/tickets", json={"content": "噪音"},
                                    headers=auth(**{"Idempotency-Key": "client-1"}))
    assert response.status_code == 200 and response.headers["Idempotent-Replayed"] == "true"
    assert rpc.calls[0][2][0]["idempotency_key"] == "client-1"
    assert response.headers["Location"] == "/v1/tickets/t1"


def test_a_redelivery_under_the_gateways_own_key_is_still_the_creation(rpc, client):
    """intake found the ticket of this very request (the RPC was delivered twice): 201, not a replay."""
    rpc.on("intake", "register", lambda req, actor: {**TICKET, "created": False})
    response = client.simulate_post("/v1/tickets", json={"content": "噪音"}, headers=auth())
    assert response.status_code == 201 and "Idempotent-Replayed" not in response.headers


@pytest.mark.parametrize("key", ["", "x" * 201, "with space", "汉字"])
def test_a_malformed_idempotency_key_is_400(rpc, client, key):
    response = client.simulate_post("/v1/tickets", json={"content": "x"},
                                     headers=auth(**{"Idempotency-Key": key}))
    assert response.status_code == 400 and rpc.calls == []


def test_accountability_is_created_idempotently_too(rpc, client):
    rpc.on("escalation", "record_accountability", lambda req, actor: {"id": "a1"})
    response = client.simulate_post("/v1/accountability", json={"ticket_id": "t1"}, headers=auth("supervisor"))
    assert response.status_code == 201 and "Location" not in response.headers
    assert rpc.calls[0][2][0]["idempotency_key"] == response.headers["Idempotency-Key"]


def test_a_client_key_on_a_command_is_passed_on(rpc, client):
    rpc.on("escalation", "remind", {"ok": True})
    client.simulate_post("/v1/tickets/AS1/reminders", headers=auth(**{"Idempotency-Key": "k1"}))
    assert rpc.calls[0][2][0]["idempotency_key"] == "k1"


# -- the ticket view with sla's countdown

def view(state="running"):
    return {"id": "t1", "version": 3, "deadline": {"state": state, "due_date": "2026-12-25"}}


def test_the_ticket_view_gets_the_working_days_left_from_sla(rpc, client):
    rpc.on("intake", "get_ticket", lambda req, actor: view())
    rpc.on("sla", "deadline", lambda req, actor: {"working_days_left": 7})
    response = client.simulate_get("/v1/tickets/AS1", headers=auth())
    assert response.json["deadline"]["working_days_left"] == 7 and response.headers["ETag"] == '"3"'
    assert rpc.calls[1][:2] == ("sla", "deadline") and rpc.calls[1][2][0] == request(params={"key": "t1"})


@pytest.mark.parametrize("failure", [RpcTimeout(), e.NotFound("no clock"), UnknownService("sla"),
                                     ConnectionResetError()])
def test_the_ticket_view_answers_without_the_countdown_when_sla_cannot_say(rpc, client, failure):
    rpc.on("intake", "get_ticket", lambda req, actor: view())

    def fail(req, actor):
        raise failure
    rpc.on("sla", "deadline", fail)
    response = client.simulate_get("/v1/tickets/AS1", headers=auth())
    assert response.status_code == 200 and "working_days_left" not in response.json["deadline"]


def test_a_stopped_clock_is_not_asked(rpc, client):
    rpc.on("intake", "get_ticket", lambda req, actor: view("stopped"))
    client.simulate_get("/v1/tickets/AS1", headers=auth())
    assert [c[:2] for c in rpc.calls] == [("intake", "get_ticket")]


# -- pagination

def test_a_page_links_to_the_next_one_keeping_the_filters(rpc, client):
    rpc.on("intake", "list_tickets", {"items": [], "next_cursor": "abc"})
    response = client.simulate_get("/v1/tickets", params={"district": "xiuyan", "limit": "2", "cursor": "old"},
                                   headers=auth())
    assert response.headers["Link"] == '</v1/tickets?district=xiuyan&limit=2&cursor=abc>; rel="next"'
    assert "ETag" not in response.headers


def test_the_last_page_has_no_link(rpc, client):
    rpc.on("intake", "list_tickets", {"items": [], "next_cursor": None})
    assert "Link" not in client.simulate_get("/v1/tickets", headers=auth()).headers


# -- If-Match

@pytest.mark.parametrize("header,version", [('"3"', 3), ('W/"3"', 3), ("3", 3), ("*", None), ("", None)])
def test_if_match_becomes_the_expected_version(rpc, client, header, version):
    rpc.on("routing", "reply", {"version": 4})
    response = client.simulate_post("/v1/tickets/AS1/reply", json={"content": "已处理"},
                                     headers=auth("unit_handler", "u1", **{"If-Match": header}))
    assert response.status_code == 200 and response.headers["ETag"] == '"4"'
    assert rpc.calls[0][2][0]["if_match"] == version


@pytest.mark.parametrize("header", ['"abc"', '"3", "4"', "W/3x", '"' + "9" * 19 + '"'])
def test_a_malformed_if_match_is_400(rpc, client, header):
    response = client.simulate_post("/v1/tickets/AS1/reply", json={"content": "x"},
                                    headers=auth("unit_handler", "u1", **{"If-Match": header}))
    assert response.status_code == 400 and response.json["title"] == "Bad If-Match" and rpc.calls == []


def test_a_stale_version_is_412(rpc, client):
    def stale(req, actor):
        raise e.StaleVersion("changed", {"current_version": 5})
    rpc.on("routing", "reply", stale)
    response = client.simulate_post("/v1/tickets/AS1/reply", json={"content": "x"},
                                    headers=auth("unit_handler", "u1", **{"If-Match": '"4"'}))
    assert response.status_code == 412 and response.json["current_version"] == 5


def test_if_match_is_read_only_where_the_contract_offers_it(rpc, client):
    rpc.on("routing", "put_unit", {"id": "u1"})
    response = client.simulate_put("/v1/units/u1", json={"name": "x"}, headers=auth("admin", **{"If-Match": "junk"}))
    assert response.status_code == 200 and rpc.calls[0][2][0]["if_match"] is None


# -- problem+json: every domain error through the one STATUS table

@pytest.mark.parametrize("error_cls,status,title", problems.STATUS, ids=lambda v: getattr(v, "__name__", str(v)))
def test_every_domain_error_is_a_problem_with_its_status(rpc, client, error_cls, status, title):
    def fail(req, actor):
        raise error_cls("what happened", {"hint": "h"})
    rpc.on("routing", "get_assignment", fail)
    response = client.simulate_get("/v1/tickets/AS1/assignment", headers=auth())
    assert response.status_code == status and response.headers["Content-Type"] == PROBLEM
    body = response.json
    assert body["status"] == status and body["title"] == title and body["detail"] == "what happened"
    assert body["type"].endswith("/" + error_cls.code) and body["instance"] == "/v1/tickets/AS1/assignment"
    assert body["hint"] == "h" and body["correlation_id"] == response.headers["X-Correlation-Id"]
    assert ("Retry-After" in response.headers) == (status == 503)


def test_validation_errors_name_the_fields(rpc, client):
    def fail(req, actor):
        raise e.ValidationFailed(errors={"type": ["unknown"], "citizen": {"phone": ["bad"]}})
    rpc.on("intake", "register", fail)
    body = client.simulate_post("/v1/tickets", json={"type": "rant"}, headers=auth()).json
    assert body["status"] == 422 and body["errors"] == {"type": ["unknown"], "citizen": {"phone": ["bad"]}}


def test_an_unmapped_error_subclass_takes_its_parents_status():
    class Late(e.RuleViolation):
        pass
    assert problems.status_of(Late()) == (422, "Refused by rule")


def test_an_accept_with_fields_is_passed_to_the_service_which_refuses_it(rpc, client):
    def refuse(req, actor):
        assert req["body"] == {"note": "extra"}
        raise e.ValidationFailed("this command takes no body", errors={"_schema": ["send no fields"]})
    rpc.on("routing", "accept", refuse)
    response = client.simulate_post("/v1/tickets/AS1/accept", json={"note": "extra"},
                                    headers=auth("unit_handler", "u1"))
    assert response.status_code == 422


# -- broker, store, services unavailable: 503 + Retry-After, never 500

@pytest.mark.parametrize("failure,code", [
    (RpcTimeout(10), "timeout"),
    (UnknownService("intake"), "unavailable"),
    (OperationalError("connection refused"), "broker"),
    (ConnectionRefusedError(111, "refused"), "broker"),
    (BrokenPipeError(), "broker"),
    (RemoteError("ServerSelectionTimeoutError", "no primary"), "store"),
    (RemoteError("AutoReconnect", "lost"), "store"),
    (e.Unavailable("store down"), "unavailable"),
])
def test_an_unavailable_dependency_is_503_with_retry_after(rpc, client, failure, code):
    def fail(req, actor):
        raise failure
    rpc.on("intake", "list_tickets", fail)
    response = client.simulate_get("/v1/tickets", headers=auth())
    assert response.status_code == 503 and response.headers["Content-Type"] == PROBLEM
    assert int(response.headers["Retry-After"]) > 0 and response.json["type"].endswith("/" + code)


def test_a_503_on_a_creation_names_the_key_a_retry_must_use(rpc, client):
    def fail(req, actor):
        raise RpcTimeout(10)  # intake may have committed before the broker died
    rpc.on("intake", "register", fail)
    response = client.simulate_post("/v1/tickets", json={"content": "x"}, headers=auth())
    key = rpc.calls[0][2][0]["idempotency_key"]
    assert response.status_code == 503 and response.headers["Idempotency-Key"] == key
    assert response.json["idempotency_key"] == key


def test_a_service_bug_is_502_and_a_gateway_bug_500(rpc, client):
    def bug(req, actor):
        raise RemoteError("KeyError", "'round'")
    rpc.on("intake", "list_tickets", bug)
    response = client.simulate_get("/v1/tickets", headers=auth())
    assert response.status_code == 502 and response.json["detail"] == "KeyError"

    def crash(req, actor):
        raise ZeroDivisionError()
    rpc.on("intake", "list_tickets", crash)
    response = client.simulate_get("/v1/tickets", headers=auth())
    assert response.status_code == 500 and response.headers["Content-Type"] == PROBLEM


# -- body guards

def post(client, body: str | bytes, content_type="application/json", path="/v1/tickets", **headers):
    return client.simulate_post(path, body=body, headers=auth(**{"Content-Type": content_type, **headers}))


def test_a_required_body_is_required(rpc, client):
    response = client.simulate_post("/v1/tickets", headers=auth())
    assert response.status_code == 400 and response.json["title"] == "Body required"


def test_an_optional_body_may_be_absent(rpc, client):
    rpc.on("escalation", "remind", {"ok": True})
    response = client.simulate_post("/v1/tickets/AS1/reminders", headers=auth())
    assert response.status_code == 200 and rpc.calls[0][2][0]["body"] is None


def test_a_route_without_a_body_does_not_read_one(rpc, client):
    rpc.on("sla", "reload_calendar", {"years": [2026]})
    response = post(client, "{not json", path="/v1/calendar/reload")
    assert response.status_code == 200 and rpc.calls[0][2][0]["body"] is None


@pytest.mark.parametrize("body,title", [
    ("{oops", "Malformed JSON"),
    ("[1, 2]", "Body must be a JSON object"),
    ('"text"', "Body must be a JSON object"),
    ('{"n": NaN}', "Malformed JSON"),
    ('{"$where": "1"}', "Forbidden keys"),
    ('{"citizen": {"phone.x": "1"}}', "Forbidden keys"),
    ('{"a": [{"$ne": null}]}', "Forbidden keys"),
    (b'{"a": "\xff"}', "Malformed JSON"),
])
def test_a_bad_body_is_400(rpc, client, body, title):
    response = post(client, body)
    assert response.status_code == 400 and response.json["title"] == title, response.text
    assert rpc.calls == []


def test_the_forbidden_keys_are_named(client):
    detail = post(client, '{"a": {"$gt": 1}, "b.c": 2}').json["detail"]
    assert "a.$gt" in detail and "b.c" in detail


def test_a_body_that_is_not_json_is_415(client):
    assert post(client, "content=x", content_type="application/x-www-form-urlencoded").status_code == 415


def nested(depth: int) -> str:
    return '{"a": ' * (depth - 1) + "{}" + "}" * (depth - 1)


def test_json_may_nest_32_levels(rpc, client):
    rpc.on("intake", "register", lambda req, actor: {**TICKET, "created": True})
    assert post(client, nested(32)).status_code == 201


@pytest.mark.parametrize("text", [nested(33), "[" * 100_000 + "]" * 100_000, '{"a": ' + "[" * 50_000 + "]" * 50_000 + "}"])
def test_json_nested_deeper_is_400_never_a_recursion_error(rpc, client, text):
    response = post(client, text)
    assert response.status_code == 400 and response.json["title"] == "JSON nested too deep"
    assert rpc.calls == []


def test_a_body_over_the_limit_is_413(rpc):
    client = make_client(rpc, GATEWAY_MAX_BODY_BYTES="100")
    response = post(client, json.dumps({"content": "x" * 200}))
    assert response.status_code == 413 and response.headers["Content-Type"] == PROBLEM
    assert rpc.calls == []


def test_the_default_limit_is_one_mebibyte(rpc, client):
    rpc.on("intake", "register", lambda req, actor: {**TICKET, "created": True})
    padded = json.dumps({"content": "x" * (1024 * 1024)})
    assert post(client, padded).status_code == 413
    assert post(client, json.dumps({"content": "x" * (1024 * 1024 - 100)})).status_code == 201


class _LyingStream:
    """A client that says 10 bytes and sends more, or that stalls."""

    def __init__(self, data: bytes = b"", stall: bool = False):
        self.data, self.stall = data, stall

    def read(self, size=-1):
        if self.stall:
            raise TimeoutError("timed out")
        return self.data[:size] if size >= 0 else self.data

    readline = read

    def readlines(self, hint=-1):
        return [self.read()]

    def __iter__(self):
        return iter([self.read()])


class _Socket:
    def __init__(self):
        self.timeouts = []
        self.timeout = None

    def gettimeout(self):
        return self.timeout

    def settimeout(self, value):
        self.timeouts.append(value)
        self.timeout = value


def test_the_body_reader_reads_no_more_than_content_length_says(rpc):
    client = make_client(rpc, GATEWAY_MAX_BODY_BYTES="50")
    response = client.simulate_post("/v1/tickets", headers=auth(**{"Content-Type": "application/json",
                                                                   "Content-Length": "10"}),
                                    extras={"wsgi.input": _LyingStream(b"{" + b" " * 100 + b"}")})
    assert response.status_code in (400, 413) and rpc.calls == []


def test_a_body_that_does_not_arrive_in_time_is_408(rpc):
    client = make_client(rpc, GATEWAY_BODY_TIMEOUT_SECONDS="2.5")
    sock = _Socket()
    response = client.simulate_post("/v1/tickets", headers=auth(**{"Content-Type": "application/json",
                                                                   "Content-Length": "10"}),
                                    extras={"wsgi.input": _LyingStream(stall=True), "gunicorn.socket": sock})
    assert response.status_code == 408 and response.headers["Content-Type"] == PROBLEM
    assert sock.timeouts == [2.5, None]  # set for the body, then given back
    assert rpc.calls == []


# -- authentication

def test_no_token_is_401_with_a_challenge(client):
    response = client.simulate_get("/v1/tickets")
    assert response.status_code == 401 and response.headers["Content-Type"] == PROBLEM
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("header", [
    "Basic dXNlcjpwYXNz",
    "Bearer ",
    "Bearer not-a-jwt",
    "Bearer " + mint("another-secret" * 3, ISSUER, role="operator", user_id="x"),
    "Bearer " + mint(SECRET, "another-issuer", role="operator", user_id="x"),
    "Bearer " + mint(SECRET, ISSUER, role="operator", user_id="x", ttl_seconds=-10),
])
def test_a_bad_token_is_401(rpc, client, header):
    response = client.simulate_get("/v1/tickets", headers={"Authorization": header})
    assert response.status_code == 401 and rpc.calls == []


def test_a_forged_role_or_a_unit_role_without_a_unit_is_401(rpc, client):
    import jwt
    now = int(time.time())
    for claims in ({"role": "mayor"}, {"role": "unit_handler"}, {"role": "unit_leader", "unit_id": ""}):
        forged = jwt.encode({"sub": "x", "iss": ISSUER, "exp": now + 60, **claims}, SECRET, algorithm="HS256")
        response = client.simulate_get("/v1/tickets", headers={"Authorization": f"Bearer {forged}"})
        assert response.status_code == 401, claims
    assert rpc.calls == []


def test_the_actor_comes_from_the_token(rpc, client):
    rpc.on("intake", "list_tickets", {"items": [], "next_cursor": None})
    client.simulate_get("/v1/tickets", headers={"Authorization": "Bearer " + token("unit_leader", "u1", name="王")})
    assert rpc.calls[0][2][1] == {"user_id": "someone", "role": "unit_leader", "unit_id": "u1", "name": "王"}


def test_minting_refuses_what_verifying_would(tmp_path):
    with pytest.raises(ValueError):
        mint(SECRET, ISSUER, role="mayor", user_id="x")
    with pytest.raises(ValueError):
        mint(SECRET, ISSUER, role="unit_handler", user_id="x")
    with pytest.raises(ValueError):
        TokenVerifier("", ISSUER)


def test_the_secret_outside_production_is_local_and_required_in_production(tmp_path):
    settings = Settings.from_env({"HOTLINE_DATA_DIR": str(tmp_path)})
    assert jwt_secret(settings) == local_secret(tmp_path) == (tmp_path / "jwt-secret").read_text().strip()
    assert jwt_secret(Settings.from_env({"JWT_SECRET": "given"})) == "given"
    with pytest.raises(RuntimeError):
        jwt_secret(Settings(environment="production"))


# -- the gateway's own endpoints

def test_health_needs_no_token_and_ready_asks_intake(rpc, client):
    assert client.simulate_get("/healthz").json == {"status": "ok", "service": "gateway"}
    rpc.on("intake", "ping", {"service": "intake"})
    assert client.simulate_get("/readyz").status_code == 200

    def down():
        raise ConnectionRefusedError()
    rpc.on("intake", "ping", down)
    ready = client.simulate_get("/readyz")
    assert ready.status_code == 503 and "ConnectionRefusedError" in ready.json["detail"]
    assert client.simulate_get("/metrics").status_code == 200


def test_the_metrics_of_all_workers(rpc, tmp_path, monkeypatch):
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    response = make_client(rpc).simulate_get("/metrics")
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/plain")


def test_a_correlation_id_is_kept_or_made(rpc, client):
    rpc.on("intake", "list_tickets", {"items": [], "next_cursor": None})
    given = client.simulate_get("/v1/tickets", headers=auth(**{"X-Correlation-Id": "abc"}))
    assert given.headers["X-Correlation-Id"] == "abc"
    assert len(client.simulate_get("/v1/tickets", headers=auth()).headers["X-Correlation-Id"]) == 32


def test_gunicorn_gets_an_app_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("HOTLINE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("LOG_JSON", "0")
    app = get_app()
    assert isinstance(app, falcon.App)


def test_dates_in_answers_are_iso(rpc, client):
    from datetime import date, datetime
    rpc.on("sla", "get_clock", {"now": datetime(2026, 11, 27, 2, 0, tzinfo=UTC), "day": date(2026, 11, 27)})
    assert client.simulate_get("/v1/clock", headers=auth()).json == {"now": "2026-11-27T02:00:00.000Z",
                                                                     "day": "2026-11-27"}
    rpc.on("sla", "get_clock", {"now": object()})
    assert client.simulate_get("/v1/clock", headers=auth()).status_code == 500


def test_the_route_table_is_well_formed():
    from gateway.routes import Route, by_path
    assert all(r.body in (REQUIRED, OPTIONAL, "none") for r in ROUTES)
    assert all(r.method != "GET" or r.body == "none" for r in ROUTES)
    with pytest.raises(ValueError):
        by_path([Route("GET", "/x", "s", "a"), Route("GET", "/x", "s", "b")])


# -- files (bulletin's CSV, XLSX, HTML, PDF) and content negotiation

def file_result(body: bytes, content_type: str, filename: str) -> dict:
    import base64
    return {"content_type": content_type, "filename": filename, "encoding": "base64", "size": len(body),
            "body": base64.b64encode(body).decode()}


def test_a_file_answer_is_served_as_bytes_with_its_type_and_name(rpc, client):
    rpc.on("bulletin", "statistics", lambda req, actor: file_result(b"\xef\xbb\xbftype,count\r\n", "text/csv; charset=utf-8",
                                                                     "统计.csv"))
    response = client.simulate_get("/v1/statistics", params={"group_by": "type", "format": "csv"}, headers=auth())
    assert response.status_code == 200 and response.content == b"\xef\xbb\xbftype,count\r\n"
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"] == "attachment; filename*=UTF-8''%E7%BB%9F%E8%AE%A1.csv"
    assert rpc.calls[0][2][0]["query"] == {"group_by": "type", "format": "csv"}


def test_a_pdf_is_shown_inline(rpc, client):
    rpc.on("bulletin", "get_bulletin", lambda req, actor: file_result(b"%PDF-1.7", "application/pdf", "b1.pdf"))
    response = client.simulate_get("/v1/bulletins/b1", headers=auth(Accept="application/pdf"))
    assert response.content == b"%PDF-1.7" and response.headers["Content-Disposition"].startswith("inline")
    assert rpc.calls[0][2][0] == request(params={"bulletin_id": "b1"}, query={"format": "pdf"})


@pytest.mark.parametrize("accept,fmt", [
    ("text/csv", "csv"),
    ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
    ("text/csv;q=0.5, application/json", None),
    ("application/json;q=0.2, text/csv;q=0.9", "csv"),
    ("text/csv;q=oops", None),
    ("*/*", None),
    ("text/*", None),
    ("application/pdf", None),     # not a format of statistics
    (None, None),
])
def test_accept_asks_for_a_format_only_by_naming_its_media_type(rpc, client, accept, fmt):
    rpc.on("bulletin", "statistics", {"rows": []})
    headers = auth(**({"Accept": accept} if accept else {}))
    response = client.simulate_get("/v1/statistics", params={"group_by": "type"}, headers=headers)
    assert response.status_code == 200
    assert rpc.calls[0][2][0]["query"].get("format") == fmt


def test_the_query_format_wins_over_accept(rpc, client):
    rpc.on("bulletin", "statistics", {"rows": []})
    client.simulate_get("/v1/statistics", params={"group_by": "type", "format": "json"},
                        headers=auth(Accept="text/csv"))
    assert rpc.calls[0][2][0]["query"]["format"] == "json"


def test_publishing_a_bulletin_that_exists_is_200_without_replay_header(rpc, client):
    rpc.on("bulletin", "publish_bulletin", lambda req, actor: {"id": "weekly-2026-W11", "created": False})
    response = client.simulate_post("/v1/bulletins", json={"kind": "weekly"}, headers=auth())
    assert response.status_code == 200 and "Idempotent-Replayed" not in response.headers
    assert response.headers["Location"] == "/v1/bulletins/weekly-2026-W11"
    assert rpc.calls[0][2][0]["idempotency_key"] is None
    rpc.on("bulletin", "publish_bulletin", lambda req, actor: {"id": "weekly-2026-W11", "created": True})
    assert client.simulate_post("/v1/bulletins", json={"kind": "weekly"}, headers=auth()).status_code == 201
