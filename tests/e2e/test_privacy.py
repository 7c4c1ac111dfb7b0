"""Personal data (PIPL, issue 10) over HTTP against the live stack: a unit sees the citizen masked and
reveals the contact with a reason, recorded and listed for the hotline office; the retention policy
(config/retention.yaml) erases the contact of a long-closed ticket while the ticket, its timeline and
the statistics stay (with the controllable clock, half a year later: this module's stack is its own);
and no personal data reaches any log file (the last test: it reads the logs of everything above)."""
from __future__ import annotations

import random
import time
from datetime import UTC, datetime, timedelta, timezone

import pytest

from tests.conftest import wait_for

ENV = "city.environment"
HANDLER = {"role": "unit_handler", "unit": ENV, "user": f"{ENV}.contact"}
LEADER = {"role": "unit_leader", "unit": ENV}
# distinctive values of this run: grepped for in every log file at the end
RUN = f"{random.randrange(10**7):07d}"
PHONE = f"1390{RUN}"
NAME = f"隐私测{RUN[-1]}先生"            # a name nothing else in the stack says
ADDRESS = f"铁西区隐私测试路{RUN}号"
BAD_PHONE = f"1370{RUN}"                 # in a registration the service refuses
REASON = "需要电话联系市民核实噪音发生的具体时段"


def register(stack, **citizen):
    body = {"channel": "phone", "type": "complain", "category": "noise.neighbourhood", "district": "tiexi",
            "address": ADDRESS, "citizen": {"name": NAME, "phone": PHONE, **citizen},
            "content": "楼下商铺夜间噪音扰民，请尽快处理"}
    response = stack.post("/v1/tickets", body)
    assert response.status_code == 201, response.text
    number = response.json()["number"]
    wait_for(lambda: (stack.get(f"/v1/tickets/{number}").json().get("lead_unit") or {}).get("id") == ENV, 15,
             interval=0.2, message="dispatched to the environment bureau")
    return number


def view(stack, number, **who):
    return stack.get(f"/v1/tickets/{number}", **who).json()


def test_a_unit_sees_the_citizen_masked_and_reveals_the_contact_with_a_reason(running_stack):
    stack = running_stack
    number = register(stack)
    assert view(stack, number)["citizen"] == {"name": NAME, "phone": PHONE}                   # the hotline office
    assert view(stack, number, **HANDLER)["citizen"] == {"name": NAME[0] + "*" * (len(NAME) - 1),
                                                         "phone": PHONE[:3] + "****" + PHONE[-4:]}
    assert view(stack, number, role="supervisor")["citizen"]["name"].endswith("*")
    listed = stack.get("/v1/tickets", params={"limit": 5}, **HANDLER).json()["items"]
    assert NAME not in str(listed) and PHONE not in str(listed)

    key = f"reveal-{RUN}"
    shown = stack.post(f"/v1/tickets/{number}/contact-reveals", {"reason": REASON}, **HANDLER,
                       headers={"Idempotency-Key": key})
    assert shown.status_code == 201, shown.text
    assert shown.json()["citizen"] == {"name": NAME, "phone": PHONE}
    again = stack.post(f"/v1/tickets/{number}/contact-reveals", {"reason": REASON}, **HANDLER,
                       headers={"Idempotency-Key": key})
    assert again.status_code == 200 and again.headers.get("Idempotent-Replayed") == "true"
    assert again.json()["id"] == shown.json()["id"]

    short = stack.post(f"/v1/tickets/{number}/contact-reveals", {"reason": "看看"}, **HANDLER)
    assert short.status_code == 422 and "reason" in short.json()["errors"]
    other = stack.post(f"/v1/tickets/{number}/contact-reveals", {"reason": REASON}, role="unit_handler",
                       unit="city.housing")
    assert other.status_code == 404
    assert stack.post(f"/v1/tickets/{number}/contact-reveals", {"reason": REASON}).status_code == 403  # operator

    reveals = stack.get("/v1/contact-reveals", params={"ticket": number}).json()["items"]
    assert [(r["user_id"], r["unit_id"], r["reason"], r["number"]) for r in reveals] == \
        [(f"{ENV}.contact", ENV, REASON, number)]
    assert reveals[0]["at"].endswith("Z")
    assert stack.get("/v1/contact-reveals", params={"unit": ENV}, role="admin").status_code == 200
    assert stack.get("/v1/contact-reveals", **HANDLER).status_code == 403


def close(stack, number):
    assert stack.post(f"/v1/tickets/{number}/accept", {}, **HANDLER).status_code == 200
    assert stack.post(f"/v1/tickets/{number}/review", {"instructions": "请执法大队夜间复查"}, **LEADER).status_code == 200
    reply = stack.post(f"/v1/tickets/{number}/reply", {
        "result": "solved", "content": "已责令涉事商铺安装隔音设施并调整营业时间，经夜间复测噪音已达标。",
        "contacted_citizen": True}, **HANDLER)
    assert reply.status_code == 200, reply.text
    wait_for(lambda: view(stack, number)["status"] == "replied", 15, interval=0.2, message="replied")
    done = stack.post(f"/v1/tickets/{number}/callbacks", {"reached": True, "satisfaction": "satisfied"})
    assert done.status_code == 200 and done.json()["status"] == "closed", done.text


def registered_that_day(stack, day: str) -> int:
    stats = stack.get("/v1/statistics", params={"group_by": "type", "from": day, "to": day}, role="admin")
    assert stats.status_code == 200, stats.text
    return sum(row["count"] for row in stats.json()["rows"] if row["key"] == "complain")


@pytest.mark.timeout(600)
def test_the_retention_policy_erases_the_contact_of_a_long_closed_ticket_and_keeps_the_rest(running_stack):
    stack = running_stack
    number = register(stack)
    close(stack, number)
    before = view(stack, number)
    registered = datetime.fromisoformat(before["created_at"].replace("Z", "+00:00"))
    day = registered.astimezone(timezone(timedelta(hours=8))).date().isoformat()   # statistics count Beijing days
    counted = wait_for(lambda: registered_that_day(stack, day) or None, 15, interval=0.5, message="statistics")
    assert stack.post("/v1/retention/apply", None, role="operator").status_code == 403
    kept = stack.post("/v1/retention/apply", None, role="admin")
    assert kept.status_code == 200 and view(stack, number)["citizen"]["phone"] == PHONE      # not yet 180 days

    now = datetime.fromisoformat(stack.get("/v1/clock", role="admin").json()["now"].replace("Z", "+00:00"))
    later = (now + timedelta(days=181)).astimezone(UTC).isoformat().replace("+00:00", "Z")
    moved = stack.put("/v1/clock", {"now": later, "running": True})
    assert moved.status_code == 200, moved.text
    # each service reads the shared clock's new time at its next refresh (a moment under load): run the
    # policy (idempotent) until intake counts from the new time
    runs = []

    def applied_at_the_new_time():
        run = stack.post("/v1/retention/apply", None, role="admin")
        assert run.status_code == 200, run.text
        runs.append(run.json())
        return runs[-1]["cutoff"] >= (now + timedelta(days=1)).astimezone(UTC).isoformat()[:19]
    wait_for(applied_at_the_new_time, 30, interval=0.5, message="intake to see the clock's new time")
    assert sum(r["erased"] for r in runs) >= 1, runs
    after = view(stack, number)
    assert after["citizen"] == {"name": "", "phone": ""} and after["address"] == ""
    assert after["status"] == "closed" and after["number"] == number and after["content"] == before["content"]
    assert [e["label"] for e in after["timeline"]][:len(before["timeline"])] == \
        [e["label"] for e in before["timeline"]]
    assert "市民联系信息已按保存期限删除" in [e["label"] for e in after["timeline"]]
    assert registered_that_day(stack, day) == counted                                         # statistics stay
    erased = stack.post(f"/v1/tickets/{number}/contact-reveals", {"reason": REASON}, **HANDLER)
    assert erased.status_code == 409
    assert stack.post("/v1/retention/apply", None, role="admin").json()["erased"] == 0       # once


def test_no_personal_data_in_any_log_file(running_stack):
    """The registrations, reveals and erasure above, a refused registration with a phone, and every
    other test of the session are in the logs' time span; none of this citizen's data may be in them."""
    stack = running_stack
    refused = stack.post("/v1/tickets", {"channel": "phone", "type": "complain", "category": "no.such.category",
                                         "district": "tiexi", "address": ADDRESS,
                                         "citizen": {"name": NAME, "phone": BAD_PHONE}, "content": "测试一下无效分类"})
    assert refused.status_code == 422
    time.sleep(2)  # the services' log handlers flush per line; give the last requests a moment
    logs = sorted((stack.data_dir / "logs").glob("*.log"))
    assert {p.stem for p in logs} >= {"gateway", "intake", "routing", "sla", "escalation", "bulletin"}, logs
    found = []
    for path in logs:
        text = path.read_text(encoding="utf-8", errors="replace")
        found += [f"{path.name}: {secret}" for secret in (PHONE, BAD_PHONE, NAME, ADDRESS) if secret in text]
    assert not found, f"personal data in the logs: {found}"
