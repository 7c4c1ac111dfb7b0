"""The foundation, over HTTP against the stack `make run` starts (R1, R3, R6, R7, D1-D3)."""
import os
import signal
import time
from datetime import date

import requests

from hotline_common.timeutil import local_date, parse_iso
from services.sla.calendar_source import build_calendar
from tests.conftest import REPO, wait_for
from tests.support import check_against_openapi

NOISE = {"channel": "phone", "type": "complain", "category": "noise.neighbourhood", "district": "tiedong",
         "address": "铁东区胜利南路88号", "citizen": {"name": "张女士", "phone": "13800001234"},
         "content": "楼下烧烤店每天夜里12点后仍然噪音扰民"}


def dispatched(stack, number, role="operator", unit=None):
    response = stack.get(f"/v1/tickets/{number}", role=role, unit=unit)
    body = response.json()
    return body if response.status_code == 200 and body["status"] == "dispatched" and body["deadline"] else None


def test_a_noise_complaint_is_dispatched_to_the_environment_bureau_with_its_deadline(running_stack):
    response = running_stack.post("/v1/tickets", NOISE)
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["number"].startswith("AS") and len(created["number"]) == 16
    assert response.headers["Location"] == f"/v1/tickets/{created['id']}"
    assert response.headers["ETag"] == '"1"'
    check_against_openapi(created, "Ticket")

    view = wait_for(lambda: dispatched(running_stack, created["number"]), 5, interval=0.1,
                    message="dispatched with a deadline within 5 seconds")
    assert view["lead_unit"] == {"id": "city.environment", "name": "市环保局"}
    assert view["status_label"] == "已交办" and view["type_label"] == "投诉"
    deadline = view["deadline"]
    assert deadline["working_days"] == 20
    calendar = build_calendar(REPO / "config")
    dispatch_day = local_date(parse_iso(deadline["started_at"]))
    assert date.fromisoformat(deadline["due_date"]) == calendar.add_working_days(dispatch_day, 20)
    assert running_stack.get(f"/v1/tickets/{created['id']}").json()["number"] == created["number"]


def test_a_bad_body_gets_a_problem_naming_the_field_and_nothing_is_stored(running_stack):
    before = len(running_stack.get("/v1/tickets", params={"limit": 200}).json()["items"])
    response = running_stack.post("/v1/tickets", {**NOISE, "type": "rant", "citizen": {"phone": "110"}})
    assert response.status_code == 422
    assert response.headers["Content-Type"] == "application/problem+json"
    problem = response.json()
    check_against_openapi(problem, "Problem")
    assert problem["status"] == 422 and problem["title"] == "Validation failed"
    assert set(problem["errors"]) == {"type", "citizen"} and "phone" in problem["errors"]["citizen"]
    assert problem["instance"] == "/v1/tickets" and problem["correlation_id"]

    for bad, status in (({**NOISE, "$where": "1"}, 400), ({**NOISE, "citizen": {"phone.x": "1"}}, 400),
                        ({**NOISE, "status": "closed"}, 422)):
        answer = running_stack.post("/v1/tickets", bad)
        assert answer.status_code == status, answer.text
        assert answer.headers["Content-Type"] == "application/problem+json"
    not_json = requests.post(running_stack.url + "/v1/tickets", data="{oops", timeout=10,
                             headers={**running_stack.headers(), "Content-Type": "application/json"})
    assert not_json.status_code == 400 and not_json.headers["Content-Type"] == "application/problem+json"
    assert len(running_stack.get("/v1/tickets", params={"limit": 200}).json()["items"]) == before


def test_authentication_and_object_level_authorisation(running_stack):
    assert requests.get(running_stack.url + "/v1/tickets", timeout=10).status_code == 401
    forged = {"Authorization": "Bearer " + running_stack.token("operator")[:-4] + "AAAA"}
    assert requests.get(running_stack.url + "/v1/tickets", headers=forged, timeout=10).status_code == 401
    created = running_stack.post("/v1/tickets", NOISE).json()
    wait_for(lambda: dispatched(running_stack, created["number"]), 5, interval=0.1)

    own = running_stack.get(f"/v1/tickets/{created['number']}", role="unit_handler", unit="city.environment")
    assert own.status_code == 200 and own.json()["citizen"]["phone"] == "138****1234"
    other = running_stack.get(f"/v1/tickets/{created['number']}", role="unit_handler", unit="city.housing")
    assert other.status_code == 404 and other.headers["Content-Type"] == "application/problem+json"
    assert running_stack.post("/v1/tickets", NOISE, role="unit_handler", unit="city.housing").status_code == 403


def test_idempotency_key_and_filters_and_cursor(running_stack):
    key = {"Idempotency-Key": f"e2e-{time.time()}"}
    first = running_stack.post("/v1/tickets", {**NOISE, "district": "xiuyan"}, headers=key)
    again = running_stack.post("/v1/tickets", {**NOISE, "district": "xiuyan"}, headers=key)
    assert first.status_code == 201 and again.status_code == 200
    assert again.json()["number"] == first.json()["number"] and again.headers["Idempotent-Replayed"] == "true"
    assert running_stack.post("/v1/tickets", {**NOISE, "district": "haicheng"}, headers=key).status_code == 422

    for _ in range(2):  # no other test registers in 岫岩
        running_stack.post("/v1/tickets", {**NOISE, "district": "xiuyan"})
    page = running_stack.get("/v1/tickets", params={"district": "xiuyan", "limit": 2})
    check_against_openapi(page.json(), "TicketPage")
    assert page.status_code == 200 and len(page.json()["items"]) == 2 and "rel=\"next\"" in page.headers["Link"]
    rest = running_stack.get("/v1/tickets", params={"district": "xiuyan", "limit": 2,
                                                    "cursor": page.json()["next_cursor"]}).json()
    assert len(rest["items"]) == 1 and rest["next_cursor"] is None
    bad = running_stack.get("/v1/tickets", params={"limit": 0})
    assert bad.status_code == 422 and "limit" in bad.json()["errors"]


def test_health_of_the_gateway_and_every_service(running_stack):
    assert requests.get(running_stack.url + "/healthz", timeout=10).json()["status"] == "ok"
    assert requests.get(running_stack.url + "/readyz", timeout=10).json()["status"] == "ready"
    health = running_stack.state()["health"]
    assert set(health) == {"intake", "routing", "sla", "escalation", "bulletin", "notify", "gateway"}
    for name, base in health.items():
        assert requests.get(base + "/healthz", timeout=10).status_code == 200, name
        assert requests.get(base + "/readyz", timeout=10).json()["status"] == "ready", name
    running_stack.post("/v1/tickets", NOISE)
    sample = 'hotline_events_handled_total{outcome="applied",service="routing",type="cn.gov.12345.ticket.registered"}'
    wait_for(lambda: (lambda t: sample in t and t)(
        requests.get(health["routing"] + "/metrics", timeout=10).text), 5, message="routing's metric")
    assert requests.get(running_stack.url + "/metrics", timeout=10).status_code == 200


def test_killing_a_service_mid_flow_loses_and_duplicates_nothing(running_stack):
    """kill -9 routing while tickets are posted; the launcher restarts it; every ticket ends dispatched
    with exactly one deadline."""
    numbers = []
    routing_pid = running_stack.current_pids()["routing"]
    for i in range(30):
        response = running_stack.post("/v1/tickets", {**NOISE, "content": f"第{i}次反映：夜间噪音严重扰民"})
        assert response.status_code == 201
        numbers.append(response.json()["number"])
        if i == 10:
            os.kill(routing_pid, signal.SIGKILL)
    wait_for(lambda: running_stack.current_pids()["routing"] != routing_pid, 20, message="routing restarted")

    def all_done():
        views = [running_stack.get(f"/v1/tickets/{n}").json() for n in numbers]
        return views if all(v["deadline"] for v in views) else None
    views = wait_for(all_done, 60, interval=0.5, message="every ticket dispatched with a deadline")
    for view in views:
        kinds = [e["type"] for e in view["timeline"]]
        assert kinds.count("ticket.dispatched") == 1 and kinds.count("deadline.set") == 1, view["number"]
