"""Deadlines over HTTP with the controllable clock (R7, R8): overdue once, extensions by the rule."""
import os
import signal
import time
from collections import Counter
from datetime import date, datetime, timedelta, timezone

import pytest
import requests

from hotline_common.events import T
from services.sla.calendar_source import build_calendar
from services.sla.domain import working_day_back
from tests.conftest import REPO, wait_for
from tests.support import EventTap, validate_event

BJ = timezone(timedelta(hours=8))
TICKET = {"channel": "wechat", "district": "tiexi", "citizen": {"phone": "13700003333"},
          "category": "noise.neighbourhood"}


@pytest.fixture
def tap(running_stack):
    tap = EventTap(running_stack.amqp_uri).start()
    yield tap
    tap.stop()


def register(stack, ticket_type, content):
    response = stack.post("/v1/tickets", {**TICKET, "type": ticket_type, "content": content})
    assert response.status_code == 201
    number = response.json()["number"]
    return wait_for(lambda: (v := stack.get(f"/v1/tickets/{number}").json())["deadline"] and v, 8, interval=0.1)


def set_clock(stack, day: date, hour=10):
    response = stack.session.put(stack.url + "/v1/clock", json={
        "now": datetime(day.year, day.month, day.day, hour, tzinfo=BJ).isoformat(), "running": True},
        headers=stack.headers("admin"), timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def test_the_clock_is_an_admin_command(running_stack):
    clock = running_stack.get("/v1/clock").json()
    assert clock["mode"] == "controllable"
    assert running_stack.put("/v1/clock", {"now": "2026-11-30T10:00:00+08:00"}, role="operator").status_code == 403
    bad = running_stack.post("/v1/clock/advance", {"seconds": 1, "working_days": 1}, role="admin")
    assert bad.status_code == 422


def test_past_the_deadline_exactly_one_overdue_even_after_sla_restarts(running_stack, tap):
    stack = running_stack
    ticket = register(stack, "consult", "咨询：楼下商铺夜间噪音应向哪个部门反映")
    number = ticket["number"]
    assert ticket["deadline"]["working_days"] == 2 and ticket["deadline"]["working_days_left"] == 2

    advanced = stack.post("/v1/clock/advance", {"working_days": 3}, role="admin")
    assert advanced.status_code == 200
    wait_for(lambda: tap.of_type(T.DEADLINE_OVERDUE, number), 10, message="overdue")
    view = wait_for(lambda: (v := stack.get(f"/v1/tickets/{number}").json())["overdue"] and v, 10, interval=0.2)
    assert view["deadline"]["working_days_left"] < 0
    assert view["overdue_working_days"] >= 0

    sla_pid = stack.current_pids()["sla"]
    os.kill(sla_pid, signal.SIGKILL)
    wait_for(lambda: stack.current_pids()["sla"] != sla_pid, 20, message="sla restarted")
    wait_for(lambda: requests.get(stack.state()["health"]["sla"] + "/readyz", timeout=5).status_code == 200
             if _up(stack) else False, 60, interval=0.5, message="sla ready")
    time.sleep(2)  # several timer ticks of the new process
    assert Counter(e["type"] for e in tap.events if e["subject"] == number)[T.DEADLINE_OVERDUE] == 1
    labels = [e["label"] for e in stack.get(f"/v1/tickets/{number}").json()["timeline"]]
    assert labels.count("已超期") == 1
    for event in tap.events:
        validate_event(event)


def _up(stack) -> bool:
    try:
        requests.get(stack.state()["health"]["sla"] + "/healthz", timeout=2)
        return True
    except requests.RequestException:
        return False


def test_extensions_follow_the_two_working_day_rule(running_stack):
    stack = running_stack
    leader = {"role": "unit_leader", "unit": "city.environment", "user": "city.environment.leader"}
    late = register(stack, "complain", "邻居空调外机噪音严重，多次协商无果")
    early = register(stack, "complain", "小区广场舞音响噪音扰民，每晚持续到十点以后")
    due = date.fromisoformat(early["deadline"]["due_date"])
    calendar = build_calendar(REPO / "config")

    set_clock(stack, working_day_back(calendar, due, 3))           # three working days before the deadline
    body = {"working_days": 5, "reason": "需会同公安、城管联合执法，现场取证时间较长"}
    handler_try = stack.post(f"/v1/tickets/{early['number']}/extensions", body, role="unit_handler",
                             unit="city.environment")
    assert handler_try.status_code == 403
    asked = stack.post(f"/v1/tickets/{early['number']}/extensions", body, **leader)
    assert asked.status_code == 200, asked.text
    decided = stack.post(f"/v1/tickets/{early['number']}/extensions/decision",
                         {"approve": True, "working_days": 4, "note": "同意延期4个工作日"})
    assert decided.status_code == 200, decided.text
    moved = wait_for(lambda: (v := stack.get(f"/v1/tickets/{early['number']}").json())["deadline"]["extended_days"]
                     == 4 and v, 8, interval=0.2)
    assert moved["deadline"]["due_date"] == calendar.add_working_days(due, 4).isoformat()
    assert moved["extension"] == {"status": "approved", "working_days": 4}
    steps = [e["label"] for e in moved["timeline"] if not e["type"].startswith("notice.")]  # not the SMS notices
    assert steps[-2:] == ["申请延期", "延期申请获批"]

    set_clock(stack, working_day_back(calendar, due, 1))           # one working day before the deadline
    refused = stack.post(f"/v1/tickets/{late['number']}/extensions", body, **leader)
    assert refused.status_code == 422
    problem = refused.json()
    assert problem["title"] == "Refused by rule" and "2个工作日" in problem["detail"]
    assert problem["working_days_left"] == 1

    listed = stack.get("/v1/extensions", params={"unit": "city.environment"}).json()
    assert listed["counts_by_unit"]["city.environment"]["approved"] >= 1
    own = stack.get("/v1/extensions", role="unit_handler", unit="city.housing").json()
    assert all(e["unit_id"] == "city.housing" for e in own["items"])


def test_calendar_years_and_provisional_marking(running_stack):
    stack = running_stack
    year_2026 = stack.get("/v1/calendar/2026").json()
    assert year_2026["official"] and any(d["date"] == "2026-10-10" and not d["off"] for d in year_2026["days"])
    year_2031 = stack.get("/v1/calendar/2031").json()
    assert not year_2031["official"] and year_2031["counting"].startswith("weekends only")
    bad = stack.put("/v1/calendar/2031", {"source": "测试", "holidays": [{"date": "2030-01-01"}]})
    assert bad.status_code == 422
    assert stack.put("/v1/calendar/2031", {"source": "国务院通知", "holidays": []}, role="operator").status_code == 403
