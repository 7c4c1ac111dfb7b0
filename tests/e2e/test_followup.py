"""After the reply and when tickets are ignored, over HTTP with the controllable clock
(R10, R11, R13, R14, R15, R17)."""
from collections import Counter

import pytest

from hotline_common.events import T
from tests.conftest import wait_for
from tests.support import EventTap, advance, restart, until, validate_event

ENV = "city.environment"
LEADER = {"role": "unit_leader", "unit": ENV, "user": f"{ENV}.leader"}
HANDLER = {"role": "unit_handler", "unit": ENV}
SUPERVISOR = {"role": "supervisor"}
TICKET = {"channel": "phone", "district": "qianshan", "category": "noise.commercial",
          "citizen": {"name": "赵女士", "phone": "13600004444"}}
REPLY = {"result": "solved", "content": "经现场核查，涉事酒吧已安装隔音设施并调整营业时间，噪音问题已解决。",
         "contacted_citizen": True}
VERIFICATION = {"inspector": "市环保局执法二队 王强", "inspected_at": "2026-12-01T21:30:00+08:00",
                "findings": "夜间22时现场监测，边界噪音62分贝，超过标准", "responsibility": "酒吧经营者未落实整改，责任在经营者"}


@pytest.fixture
def tap(running_stack):
    tap = EventTap(running_stack.amqp_uri).start()
    yield tap
    tap.stop()


def register(stack, ticket_type="complain", content="酒吧夜间音乐声音过大，严重影响休息"):
    response = stack.post("/v1/tickets", {**TICKET, "type": ticket_type, "content": content})
    assert response.status_code == 201
    number = response.json()["number"]
    wait_for(lambda: stack.get(f"/v1/tickets/{number}").json()["deadline"], 8, interval=0.1)
    return number


def handle_and_reply(stack, number, first_round=True):
    if first_round:
        assert stack.post(f"/v1/tickets/{number}/accept", {}, **HANDLER).status_code == 200
    review = stack.post(f"/v1/tickets/{number}/review", {"instructions": "请执法大队夜间复查并依法处理"}, **LEADER)
    assert review.status_code == 200, review.text
    return stack.post(f"/v1/tickets/{number}/reply", REPLY, **HANDLER)


def test_an_ignored_ticket_is_reminded_twice_then_supervised_once_across_restarts(running_stack, tap):
    stack = running_stack
    number = register(stack, "consult", "咨询：酒吧夜间噪音如何投诉")   # 2 working days
    advance(stack, 3)                                                 # past the deadline
    first = until(stack, number, lambda v: v["reminders_sent"] == 1, message="reminder 1")
    (reminder,) = [e for e in first["timeline"] if e["type"] == "reminder.sent"]
    assert first["overdue"] and reminder["label"] == "催办（第1次）" and "第1次催办" in reminder["detail"]["message"]

    restart(stack, "escalation")                                      # mid-way
    advance(stack, 2)                                                 # 2 working days past the deadline
    until(stack, number, lambda v: v["reminders_sent"] == 2, message="reminder 2")
    advance(stack, 1)                                                 # 3 working days: supervision
    supervised = until(stack, number, lambda v: v["supervised"], message="supervision case")
    assert "报市民诉求督办中心督办" in [e["label"] for e in supervised["timeline"]]

    restart(stack, "escalation")
    advance(stack, 1)
    wait_for(lambda: any(e["subject"] == number and e["data"].get("working_days_overdue") == 4
                         for e in tap.of_type(T.DEADLINE_STILL_OVERDUE)), 10, message="one more tick")
    import time
    time.sleep(2)
    mine = Counter(e["type"] for e in tap.events if e["subject"] == number)
    assert mine[T.REMINDER_SENT] == 2 and mine[T.SUPERVISION_OPENED] == 1
    cases = [c for c in stack.get("/v1/supervision-cases", **SUPERVISOR).json()["items"] if c["number"] == number]
    assert len(cases) == 1 and cases[0]["trigger"] == "overdue_ignored" and cases[0]["unit_id"] == ENV
    records = stack.get("/v1/accountability", params={"unit": ENV}, **SUPERVISOR).json()["items"]
    assert any(r["number"] == number and r["kind"] == "ignored_reminders" for r in records)
    for event in tap.events:
        validate_event(event)


def test_unsatisfied_callback_reopens_with_verification_then_satisfied_closes(running_stack, tap):
    stack = running_stack
    number = register(stack)
    assert handle_and_reply(stack, number).status_code == 200
    until(stack, number, lambda v: v["status"] == "replied")
    before = stack.post(f"/v1/tickets/{number}/callbacks", {"reached": True, "satisfaction": "satisfied"},
                        **HANDLER)   # a unit's own callback: recorded, closes nothing
    assert before.status_code == 200 and before.json()["status"] == "replied"

    unsatisfied = stack.post(f"/v1/tickets/{number}/callbacks", {
        "reached": True, "satisfaction": "unsatisfied", "solved": False, "unit_contacted": True})
    assert unsatisfied.status_code == 200
    reopened = until(stack, number, lambda v: v["round"] == 2 and v["status"] == "accepted"
                     and "需现场核查" in [e["label"] for e in v["timeline"]], message="reopened with verification")
    assert reopened["deadline"]["state"] == "running"
    labels = [e["label"] for e in reopened["timeline"]]
    assert "不满意，退回承办单位重办" in labels and "不满意件重办" in labels

    refused = handle_and_reply(stack, number, first_round=False)
    assert refused.status_code == 409 and "现场核查" in refused.json()["detail"]
    assert stack.post(f"/v1/tickets/{number}/verification", VERIFICATION,
                      role="unit_handler", unit="city.housing").status_code == 404
    filed = stack.post(f"/v1/tickets/{number}/verification", VERIFICATION, **HANDLER)
    assert filed.status_code == 200 and filed.json()["state"] == "filed"
    replied = wait_for(lambda: (r := stack.post(f"/v1/tickets/{number}/reply", REPLY, **HANDLER)).status_code == 200
                       and r, 8, interval=0.3, message="reply accepted once the verification is filed")
    assert replied.json()["replies"][-1]["reply_no"] == f"{number}-02"
    until(stack, number, lambda v: v["status"] == "replied")

    closed = stack.post(f"/v1/tickets/{number}/callbacks", {"reached": True, "satisfaction": "satisfied",
                                                            "solved": True, "unit_contacted": True})
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    assert closed.json()["status_label"] == "已办结"
    listed = stack.get("/v1/tickets", params={"status": "closed", "limit": 200}).json()["items"]
    assert number in [t["number"] for t in listed]
    assert stack.post(f"/v1/tickets/{number}/callbacks", {"reached": False}).status_code == 409


def test_a_reasonable_challenge_is_supervised_reinvestigated_and_concluded(running_stack):
    stack = running_stack
    number = register(stack)
    handle_and_reply(stack, number)
    until(stack, number, lambda v: v["status"] == "replied")
    challenged = stack.post(f"/v1/tickets/{number}/callbacks", {
        "reached": True, "satisfaction": "unsatisfied", "challenge": True,
        "challenge_reason": "酒吧只是白天整改，夜里照旧，答复与事实不符"})
    assert challenged.status_code == 200 and challenged.json()["status"] == "replied"

    case = wait_for(lambda: next((c for c in stack.get("/v1/supervision-cases", params={"state": "open"},
                                                       **SUPERVISOR).json()["items"]
                                  if c["number"] == number), None), 10, interval=0.2, message="case opened")
    assert case["trigger"] == "citizen_challenge" and case["unit_id"] == ENV
    assert {"case_no", "trigger_label", "age_hours", "state", "opened_at"} <= set(case)
    assert stack.post(f"/v1/supervision-cases/{case['id']}/reinvestigation",
                      {"instructions": "请夜间突击检查"}, role="operator").status_code == 403
    ordered = stack.post(f"/v1/supervision-cases/{case['id']}/reinvestigation",
                         {"instructions": "请于夜间突击复查，监测噪音并依法处罚", "working_days": 5}, **SUPERVISOR)
    assert ordered.status_code == 200 and ordered.json()["state"] == "reinvestigating"

    back = until(stack, number, lambda v: v["round"] == 2 and v["deadline"]["working_days"] == 5
                 and v["status"] == "accepted", message="back to the unit with a new deadline")
    assert "督办中心要求重新调查处理" in [e["label"] for e in back["timeline"]]
    assert handle_and_reply(stack, number, first_round=False).status_code == 200
    followed = wait_for(lambda: (c := stack.get(f"/v1/supervision-cases/{case['id']}", **SUPERVISOR).json())["state"]
                        == "open" and c["orders"][0]["replied"] and c, 10, interval=0.2, message="case follows")
    assert followed["orders"][0]["replied"]["reply_no"] == f"{number}-02"
    closed = stack.post(f"/v1/supervision-cases/{case['id']}/close",
                        {"conclusion": "经督办复查，噪音源已依法处罚并停业整改，市民认可"}, **SUPERVISOR)
    assert closed.status_code == 200 and closed.json()["state"] == "closed"
    assert "督办结案" in [e["label"] for e in until(stack, number, lambda v: "督办结案" in
                                                  [e["label"] for e in v["timeline"]])["timeline"]]


def test_key_tickets_need_verification_and_operators_report_improper_handling(running_stack):
    stack = running_stack
    number = register(stack)
    assert stack.post(f"/v1/tickets/{number}/key-ticket", {"reason": "涉及群体性投诉，列为重点问题件"},
                      **HANDLER).status_code == 403
    marked = stack.post(f"/v1/tickets/{number}/key-ticket", {"reason": "涉及群体性投诉，列为重点问题件"})
    assert marked.status_code == 200 and marked.json()["key_ticket"] is True
    wait_for(lambda: stack.get(f"/v1/tickets/{number}/verification", **HANDLER).json()["items"], 8, interval=0.2)
    refused = handle_and_reply(stack, number)
    assert refused.status_code == 409
    assert stack.post(f"/v1/tickets/{number}/verification", VERIFICATION, **HANDLER).status_code == 200

    reported = stack.post(f"/v1/tickets/{number}/supervision", {
        "trigger": "improper_handling", "detail": "答复前未对噪音源依法采取措施，处理不当"})
    assert reported.status_code == 200 and reported.json()["trigger"] == "improper_handling"
    assert stack.post(f"/v1/tickets/{number}/supervision", {"trigger": "overdue_ignored", "detail": "xxxxxxx"}
                      ).status_code == 422
    record = stack.post("/v1/accountability", {"kind": "evasion", "unit_id": ENV, "person": "周海",
                                               "number": number, "case_id": reported.json()["id"],
                                               "note": "对群众反映问题推诿扯皮"}, **SUPERVISOR)
    assert record.status_code == 201 and record.json()["kind_label"] == "推诿扯皮"
    assert stack.post("/v1/accountability", {"kind": "evasion", "unit_id": ENV, "note": "推诿扯皮"},
                      role="operator").status_code == 403
    own = stack.get("/v1/accountability", **HANDLER).json()["items"]
    assert own and all(r["unit_id"] == ENV for r in own)
    assert stack.post(f"/v1/tickets/{number}/reminders", {"note": "请加快办理"}).status_code == 200
    assert "催办（第1次）" in [e["label"] for e in until(stack, number, lambda v: v["reminders_sent"] == 1)["timeline"]]
