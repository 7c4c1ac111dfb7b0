"""Open311 GeoReport v2 (issue 15) over a fake RPC: the service list from the category tree, a posted
request mapped onto intake's `register`, requests read back with Open311's statuses, api keys mapped to
our actors, jurisdiction_id, and Open311's error format (JSON and XML)."""
from __future__ import annotations

from urllib.parse import urlencode
from xml.etree import ElementTree as ET

import falcon.testing
import pytest

from gateway.app import create_app
from gateway.auth import TokenVerifier, mint
from gateway.open311 import parse_keys
from hotline_common import errors as e
from hotline_common.settings import Settings
from hotline_common.testing import FakeRpc

SECRET, ISSUER = "s" * 40, "test"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def view(**over):
    v = {"id": "t1", "number": "AS20261127000001", "status": "dispatched", "status_label": "已交办",
         "category": "noise.commercial", "content": "楼下KTV每天凌晨两点仍在营业\n附件：https://img.example/1.jpg",
         "address": "铁西区兴盛街1号", "external_ref": "geo:41.1,122.95", "created_at": "2026-11-27T02:00:00.000Z",
         "lead_unit": {"id": "city.environment", "name": "市环保局"},
         "deadline": {"due_at": "2026-12-04T09:30:00.000Z", "due_date": "2026-12-04"},
         "timeline": [{"at": "2026-11-27T02:00:00.000Z"}, {"at": "2026-11-27T02:00:01.000Z"}]}
    v.update(over)
    return v


@pytest.fixture
def rpc():
    return FakeRpc()


@pytest.fixture
def client(rpc, monkeypatch):
    monkeypatch.setenv("OPEN311_API_KEYS", "k-op=operator:open311.grid,k-unit=unit_handler@city.environment:u9")
    monkeypatch.delenv("OPEN311_JURISDICTION", raising=False)
    app = create_app(Settings.from_env({}), rpc, TokenVerifier(SECRET, ISSUER))
    return falcon.testing.TestClient(app)


def post(client, fields, headers=FORM):
    return client.simulate_post("/open311/v2/requests.json", body=urlencode(fields), headers=headers)


REQUEST = {"api_key": "k-op", "jurisdiction_id": "anshan.gov.cn", "service_code": "noise.commercial",
           "lat": "41.1", "long": "122.95", "address_string": "铁西区兴盛街1号", "description": "楼下KTV每天凌晨两点仍在营业",
           "first_name": "先生", "last_name": "王", "phone": "13800001234",
           "media_url": "https://img.example/1.jpg"}


def test_services_are_the_category_tree(client):
    answer = client.simulate_get("/open311/v2/services.json")
    assert answer.status_code == 200
    services = {s["service_code"]: s for s in answer.json}
    assert services["noise.commercial"] == {"service_code": "noise.commercial", "service_name": "商业经营噪音",
                                            "description": "商业经营噪音", "metadata": False, "type": "realtime",
                                            "keywords": "", "group": "噪音污染"}
    assert services["noise"]["group"] == "噪音污染"
    definition = client.simulate_get("/open311/v2/services/noise.commercial.json")
    assert definition.json == [{"service_code": "noise.commercial", "attributes": []}]
    xml = ET.fromstring(client.simulate_get("/open311/v2/services.xml").content)
    assert xml.tag == "services" and xml.find("service/service_code").text == "infrastructure"


def test_errors_are_open311_arrays_with_the_http_status(client):
    missing = client.simulate_get("/open311/v2/services/nope.json")
    assert missing.status_code == 404 and missing.json == [{"code": 404, "description": "service_code nope not found"}]
    xml = client.simulate_get("/open311/v2/services/nope.xml")
    assert xml.status_code == 404 and ET.fromstring(xml.content).find("error/code").text == "404"
    assert client.simulate_get("/open311/v2/services.csv").status_code == 404
    wrong = client.simulate_get("/open311/v2/services.json", params={"jurisdiction_id": "beijing.gov.cn"})
    assert wrong.status_code == 404 and "jurisdiction_id" in wrong.json[0]["description"]
    assert client.simulate_get("/open311/v2/requests/x.txt", params={"api_key": "k-op"}).status_code == 404


def test_a_posted_request_becomes_an_open311_ticket(client, rpc):
    seen = {}

    def register(req, actor):
        seen.update(req=req, actor=actor)
        return {"id": "t1", "number": "AS20261127000001", "created": True}
    rpc.on("intake", "register", register)
    answer = post(client, REQUEST)
    assert answer.status_code == 201, answer.text
    assert answer.json == [{"service_request_id": "AS20261127000001",
                            "service_notice": "您的诉求已受理，承办单位将在办理时限内答复。", "account_id": None}]
    body = seen["req"]["body"]
    assert body == {"channel": "open311", "type": "complain", "category": "noise.commercial", "district": "tiexi",
                    "address": "铁西区兴盛街1号", "citizen": {"name": "王先生", "phone": "13800001234"},
                    "content": "楼下KTV每天凌晨两点仍在营业\n附件：https://img.example/1.jpg",
                    "external_ref": "geo:41.1,122.95"}
    assert seen["req"]["idempotency_key"].startswith("open311-")
    assert seen["actor"]["role"] == "operator" and seen["actor"]["user_id"] == "open311.grid"


def test_a_json_post_with_a_bearer_token_as_api_key_and_the_default_district(client, rpc):
    seen = {}
    rpc.on("intake", "register", lambda req, actor: seen.update(req=req, actor=actor) or {"number": "N1"})
    api_key = mint(SECRET, ISSUER, role="admin", user_id="grid.platform")
    fields = {**REQUEST, "api_key": api_key, "address_string": "某小区", "service_code": "infrastructure.road"}
    answer = client.simulate_post("/open311/v2/requests.json", json=fields)
    assert answer.status_code == 201 and answer.json[0]["service_request_id"] == "N1"
    assert seen["req"]["body"]["district"] == "tiedong" and seen["req"]["body"]["type"] == "report"
    assert seen["actor"]["user_id"] == "grid.platform"


@pytest.mark.parametrize("change, status, words", [
    ({"api_key": None}, 403, "api_key is required"),
    ({"api_key": "nope"}, 403, "invalid api_key"),
    ({"service_code": None}, 400, "service_code is required"),
    ({"service_code": "nope"}, 404, "service_code nope not found"),
    ({"lat": None, "long": None, "address_string": None}, 400, "location"),
    ({"lat": "abc"}, 400, "lat and long"),
    ({"phone": None}, 400, "phone"),
    ({"media_url": "file:///etc/passwd"}, 400, "media_url"),
    ({"jurisdiction_id": "x"}, 404, "jurisdiction_id"),
])
def test_a_bad_post_answers_an_open311_error(client, rpc, change, status, words):
    rpc.on("intake", "register", lambda req, actor: {"number": "N1"})
    fields = {k: v for k, v in {**REQUEST, **change}.items() if v is not None}
    answer = post(client, fields)
    assert answer.status_code == status
    assert answer.json[0]["code"] == status and words in answer.json[0]["description"]


def test_domain_errors_become_open311_errors(client, rpc):
    def refuse(req, actor):
        raise e.ValidationFailed("invalid ticket", errors={"citizen": {"phone": ["not a number"]}})
    rpc.on("intake", "register", refuse)
    answer = post(client, REQUEST)
    assert answer.status_code == 400 and answer.json[0]["description"].startswith("invalid ticket")

    def forbid(req, actor):
        raise e.Forbidden("role unit_handler may not do this")
    rpc.on("intake", "register", forbid)
    answer = post(client, {**REQUEST, "api_key": "k-unit"})
    assert answer.status_code == 403 and answer.json == [{"code": 403, "description": "role unit_handler may not do this"}]


def test_a_request_read_back_with_open311_fields(client, rpc):
    rpc.on("intake", "get_ticket", lambda req, actor: view())
    answer = client.simulate_get("/open311/v2/requests/AS20261127000001.json", params={"api_key": "k-op"})
    assert answer.status_code == 200, answer.text
    assert answer.json == [{
        "service_request_id": "AS20261127000001", "status": "open", "status_notes": "已交办",
        "service_name": "商业经营噪音", "service_code": "noise.commercial",
        "description": "楼下KTV每天凌晨两点仍在营业\n附件：https://img.example/1.jpg",
        "agency_responsible": "市环保局", "service_notice": "您的诉求已受理，承办单位将在办理时限内答复。",
        "requested_datetime": "2026-11-27T02:00:00.000Z", "updated_datetime": "2026-11-27T02:00:01.000Z",
        "expected_datetime": "2026-12-04T09:30:00.000Z", "address": "铁西区兴盛街1号", "address_id": None,
        "zipcode": None, "lat": 41.1, "long": 122.95, "media_url": "https://img.example/1.jpg"}]
    assert rpc.calls[-1][2][0]["params"] == {"key": "AS20261127000001"}


def test_a_closed_request_and_no_personal_data_for_a_unit(client, rpc):
    closed = view(status="closed", status_label="已办结", reply={"result": "solved", "public_summary": None})
    rpc.on("intake", "get_ticket", lambda req, actor: closed)
    answer = client.simulate_get("/open311/v2/requests/AS20261127000001.json", params={"api_key": "k-unit"})
    item = answer.json[0]
    assert item["status"] == "closed" and item["status_notes"] == "已办结：已解决"
    assert item["address"] is None and item["lat"] is None and item["description"] is None
    xml = client.simulate_get("/open311/v2/requests/AS20261127000001.xml", params={"api_key": "k-unit"})
    assert ET.fromstring(xml.content).find("request/status").text == "closed"


def test_missing_request_is_an_open311_404(client, rpc):
    def missing(req, actor):
        raise e.NotFound("ticket X not found")
    rpc.on("intake", "get_ticket", missing)
    answer = client.simulate_get("/open311/v2/requests/X.json", params={"api_key": "k-op"})
    assert answer.status_code == 404 and answer.json == [{"code": 404, "description": "ticket X not found"}]


def test_the_request_list_maps_its_filters(client, rpc):
    seen = []
    rpc.on("intake", "list_tickets", lambda req, actor: seen.append(req["query"]) or {
        "items": [view(), view(number="N2", status="closed")], "next_cursor": None})
    answer = client.simulate_get("/open311/v2/requests.json", params={
        "api_key": "k-op", "service_code": "noise.commercial", "status": "open",
        "start_date": "2026-11-01T00:00:00Z", "end_date": "2026-11-30T00:00:00Z"})
    assert [r["service_request_id"] for r in answer.json] == ["AS20261127000001"]
    assert seen[0] == {"limit": "200", "category": "noise.commercial", "created_from": "2026-11-01T00:00:00Z",
                       "created_to": "2026-11-30T00:00:00Z"}
    closed = client.simulate_get("/open311/v2/requests.json", params={"api_key": "k-op", "status": "closed"})
    assert seen[1]["status"] == "closed" and len(closed.json) == 2
    bad = client.simulate_get("/open311/v2/requests.json", params={"api_key": "k-op", "status": "pending"})
    assert bad.status_code == 400


def test_the_request_list_by_ids(client, rpc):
    rpc.on("intake", "get_ticket", lambda req, actor: view(number=req["params"]["key"]))
    answer = client.simulate_get("/open311/v2/requests.json",
                                 params={"api_key": "k-op", "service_request_id": "A1,A2"})
    assert [r["service_request_id"] for r in answer.json] == ["A1", "A2"]


def test_unavailable_services_answer_503(client, rpc):
    from nameko.exceptions import RpcTimeout

    def slow(req, actor):
        raise RpcTimeout()
    rpc.on("intake", "get_ticket", slow)
    answer = client.simulate_get("/open311/v2/requests/X.json", params={"api_key": "k-op"})
    assert answer.status_code == 503 and answer.headers["Retry-After"] and answer.json[0]["code"] == 503


def test_api_keys_configuration():
    assert parse_keys("a=operator:grid, b=unit_leader@city.x:l1") == {
        "a": {"user_id": "grid", "role": "operator", "unit_id": None, "name": None},
        "b": {"user_id": "l1", "role": "unit_leader", "unit_id": "city.x", "name": None}}
    for bad in ("a=boss:x", "a=unit_handler:x", "=operator:x"):
        with pytest.raises(ValueError):
            parse_keys(bad)
