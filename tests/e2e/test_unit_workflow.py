"""The unit's work on a ticket over HTTP against the running stack (R3, R4, R5, R6, R9, R14)."""
from tests.conftest import wait_for
from tests.support import act, leader, view

TICKET = {"channel": "phone", "type": "complain", "district": "lishan", "address": "立山区某小区",
          "citizen": {"name": "李先生", "phone": "13900002222"}, "content": "小区问题反映，请相关部门处理"}
ENV = "city.environment"
REPLY = {"result": "solved", "content": "经现场核查，涉事商户已整改并承诺夜间停止营业，噪音问题已解决。",
         "contacted_citizen": True}


def register(stack, **fields):
    response = stack.post("/v1/tickets", {**TICKET, **fields})
    assert response.status_code == 201, response.text
    return response.json()["number"]


def wait_status(stack, number, status, timeout=8):
    return wait_for(lambda: (v := view(stack, number))["status"] == status and v, timeout, interval=0.1,
                    message=f"{number} {status}")


def test_noise_goes_to_the_environment_bureau_and_runs_the_whole_unit_workflow(running_stack):
    stack = running_stack
    number = register(stack, category="noise.commercial", content="楼下KTV每天凌晨两点仍在营业，噪音扰民严重")
    dispatched = wait_status(stack, number, "dispatched")
    # the unit acts once the deadline shows (sla sets it after the dispatch: accepting earlier is
    # allowed, but the timeline below would then have the acceptance before the deadline line)
    dispatched = wait_for(lambda: (v := view(stack, number)).get("deadline") and v, 8, interval=0.1,
                          message=f"{number}'s deadline")
    assert dispatched["lead_unit"]["name"] == "市环保局" and dispatched["first_responsible"] is True

    assert act(stack, number, "accept").status_code == 200
    wait_status(stack, number, "accepted")
    refused = act(stack, number, "reply", REPLY)                                   # before the leader review
    assert refused.status_code == 409 and "阅批" in refused.json()["detail"]
    forbidden = act(stack, number, "review", {"instructions": "请立即安排夜查并依法处理"})   # a handler
    assert forbidden.status_code == 403 and forbidden.headers["Content-Type"] == "application/problem+json"

    reviewed = act(stack, number, "review", {"instructions": "请执法大队今晚夜查，依法处理并答复市民"}, **leader(ENV))
    assert reviewed.status_code == 200 and reviewed.json()["status"] == "reviewed"
    token = act(stack, number, "reply", {"result": "solved", "content": "已处理"})
    assert token.status_code == 422 and "content" in token.json()["errors"]

    stale = act(stack, number, "reply", REPLY, headers={"If-Match": '"1"'})
    assert stale.status_code == 412
    etag = stack.get(f"/v1/tickets/{number}/assignment", role="unit_handler", unit=ENV).headers["ETag"]
    replied = act(stack, number, "reply", REPLY, headers={"If-Match": etag})
    assert replied.status_code == 200, replied.text
    assert replied.json()["replies"][0]["reply_no"] == f"{number}-01"

    final = wait_for(lambda: (v := view(stack, number))["deadline"]["state"] == "met" and v, 8, interval=0.1)
    assert final["status"] == "replied" and final["reply"]["result"] == "solved"
    steps = [(e["type"], e["actor"].get("user_id"), e["actor"].get("unit_id")) for e in final["timeline"]]
    assert steps == [
        ("ticket.registered", "operator.e2e", None),
        ("ticket.dispatched", "system", None),
        ("deadline.set", "system", None),
        ("assignment.accepted", "unit_handler.e2e", ENV),
        ("assignment.reviewed", f"{ENV}.leader", ENV),
        ("ticket.replied", "unit_handler.e2e", ENV),
        ("deadline.met", "system", None),
    ]
    assert all(e["at"] for e in final["timeline"]) and final["timeline"][4]["label"] == "领导阅批"


def test_a_unit_reading_another_units_ticket_gets_404(running_stack):
    number = register(running_stack, category="noise.construction")
    wait_status(running_stack, number, "dispatched")
    other = running_stack.get(f"/v1/tickets/{number}", role="unit_handler", unit="city.education")
    assert other.status_code == 404
    assert running_stack.get(f"/v1/tickets/{number}/assignment", role="unit_handler",
                             unit="city.education").status_code == 404
    assert act(running_stack, number, "accept", unit="city.education").status_code == 404


def test_property_ticket_with_co_units_one_declining(running_stack):
    stack = running_stack
    housing, tiedong, market = "city.housing", "district.tiedong", "city.market"
    number = register(stack, category="housing.property", district="tiedong",
                      content="物业公司长期不修单元门禁，还乱收停车费")
    dispatched = wait_status(stack, number, "dispatched")
    assert dispatched["lead_unit"]["id"] == housing and dispatched["first_responsible"]
    assert [c["unit_id"] for c in dispatched["co_units"]] == [tiedong]

    added = act(stack, number, "co-units", {"unit_id": market, "task": "核查物业停车收费是否合规"}, unit=housing)
    assert added.status_code == 200
    assert act(stack, number, f"co-units/{tiedong}/accept", unit=tiedong).status_code == 200
    declined = act(stack, number, f"co-units/{market}/decline", {"reason": "小区停车收费属住建部门物业监管范围"},
                   unit=market)
    assert declined.status_code == 200
    assert act(stack, number, f"co-units/{market}/accept", unit=market).status_code == 409  # answered already
    assert act(stack, number, f"co-units/{tiedong}/decline", {"reason": "冒充"}, unit=market).status_code == 403
    contributed = act(stack, number, f"co-units/{tiedong}/contribution",
                      {"content": "街道已约谈物业公司，承诺一周内修复门禁并公示停车收费标准。"}, unit=tiedong)
    assert contributed.status_code == 200

    assert act(stack, number, "accept", unit=housing).status_code == 200
    assert act(stack, number, "review", {"instructions": "会同铁东区督促物业整改"}, **leader(housing)).status_code == 200
    replied = act(stack, number, "reply", REPLY, unit=housing)
    assert replied.status_code == 200
    document = replied.json()["replies"][0]
    assert [c["unit_id"] for c in document["contributions"]] == [tiedong]

    final = wait_status(stack, number, "replied")
    statuses = {c["unit_id"]: c["status"] for c in final["co_units"]}
    assert statuses == {tiedong: "contributed", market: "declined"}
    labels = [e["label"] for e in final["timeline"]]
    assert "协办单位拒绝协办" in labels and "协办单位提交协办意见" in labels
    # the declining co-unit no longer sees the ticket; the one that helped does
    assert stack.get(f"/v1/tickets/{number}", role="unit_handler", unit=market).status_code == 404
    assert stack.get(f"/v1/tickets/{number}", role="unit_handler", unit=tiedong).status_code == 200


def test_a_return_approved_is_re_dispatched_to_another_unit(running_stack):
    stack = running_stack
    number = register(stack, category="urban.street_vending", district="tiexi", content="菜市场门口商贩占道经营")
    assert wait_status(stack, number, "dispatched")["lead_unit"]["id"] == "district.tiexi"
    returned = act(stack, number, "returns", {"reason": "占道经营执法属市综合执法局职责"}, unit="district.tiexi")
    assert returned.status_code == 200
    wait_status(stack, number, "return_requested")
    assert act(stack, number, "returns/decision", {"approve": True}, unit="district.tiexi").status_code == 403

    decided = stack.post(f"/v1/tickets/{number}/returns/decision", {"approve": True, "note": "同意退单"})
    assert decided.status_code == 200, decided.text
    again = wait_for(lambda: (v := view(stack, number))["status"] == "dispatched" and v["dispatch_no"] == 2 and v,
                     8, interval=0.1)
    assert again["lead_unit"]["id"] == "city.enforcement"
    assert stack.get(f"/v1/tickets/{number}", role="unit_handler", unit="district.tiexi").status_code == 404
    counts = stack.get("/v1/units/district.tiexi").json()["returns"]
    assert counts["approved"] >= 1 and counts["requested"] >= counts["approved"]


def test_a_return_rejected_stays_with_the_unit(running_stack):
    stack = running_stack
    number = register(stack, category="noise.neighbourhood", content="邻居家每天深夜装修")
    wait_status(stack, number, "dispatched")
    act(stack, number, "accept")
    wait_status(stack, number, "accepted")
    act(stack, number, "returns", {"reason": "装修噪音应由物业和社区管理"})
    wait_status(stack, number, "return_requested")
    rejected = stack.post(f"/v1/tickets/{number}/returns/decision",
                          {"approve": False, "note": "噪音污染由市环保局作为第一责任主体牵头办理"})
    assert rejected.status_code == 200
    back = wait_for(lambda: (v := view(stack, number))["status"] == "accepted"
                    and any(e["type"] == "assignment.refused" for e in v["timeline"]) and v, 8, interval=0.1)
    assert back["lead_unit"]["id"] == ENV and back["dispatch_no"] == 1
    labels = [e["label"] for e in back["timeline"]]
    assert labels.index("退单被驳回") < labels.index("第一责任主体拒不受理，报督办中心")
    supervised = wait_for(lambda: "报市民诉求督办中心督办" in [e["label"] for e in view(stack, number)["timeline"]], 8,
                          interval=0.2, message="the refusal goes to the supervision centre (R14)")
    assert supervised


def test_manual_dispatch_of_a_ticket_no_rule_matches(running_stack):
    stack = running_stack
    number = register(stack, category="other", type="help", content="其他问题需要帮助")
    wait_status(stack, number, "awaiting_dispatch")
    queue = stack.get("/v1/tickets", params={"status": "awaiting_dispatch", "limit": 200}).json()["items"]
    assert number in [t["number"] for t in queue]
    assert act(stack, number, "dispatch", {"unit_id": "district.lishan"}).status_code == 403  # a unit may not
    done = stack.post(f"/v1/tickets/{number}/dispatch", {"unit_id": "district.lishan", "note": "属地处理"})
    assert done.status_code == 200
    assert wait_status(stack, number, "dispatched")["lead_unit"]["id"] == "district.lishan"
    assert stack.post(f"/v1/tickets/{number}/dispatch", {"unit_id": "district.tiexi"}).status_code == 409


def test_changing_a_routing_rule_changes_where_the_next_ticket_goes(running_stack):
    stack = running_stack
    first = register(stack, category="transport.taxi", content="出租车拒载")
    assert wait_status(stack, first, "dispatched")["lead_unit"]["id"] == "city.transport"

    rule = {"category": "transport.taxi", "lead_unit": "city.market", "first_responsible": False}
    assert stack.put("/v1/routing-rules/taxi-e2e", rule, role="operator").status_code == 403
    bad = stack.put("/v1/routing-rules/taxi-e2e", {**rule, "lead_unit": "city.nowhere"})
    assert bad.status_code == 422 and "lead_unit" in bad.json()["errors"]
    assert stack.put("/v1/routing-rules/taxi-e2e", rule).status_code == 200
    try:
        second = register(stack, category="transport.taxi", content="出租车绕路多收费")
        assert wait_status(stack, second, "dispatched")["lead_unit"]["id"] == "city.market"
        assert view(stack, first)["lead_unit"]["id"] == "city.transport"  # never silently re-routed
    finally:
        assert stack.session.delete(stack.url + "/v1/routing-rules/taxi-e2e",
                                    headers=stack.headers("admin"), timeout=10).status_code == 200


def test_units_directory_admin(running_stack):
    stack = running_stack
    unit = stack.get("/v1/units/city.environment").json()
    assert unit["main_leader"]["name"] and unit["contacts"]
    body = {k: unit[k] for k in ("name", "kind", "main_leader", "deputy_leader", "contacts", "active")}
    assert stack.put("/v1/units/city.environment", {**body, "contacts": []}).status_code == 422
    assert stack.put("/v1/units/city.environment", body, role="operator").status_code == 403
    changed = {**body, "contacts": body["contacts"] + [{"user_id": "city.environment.contact2", "name": "新联络员",
                                                        "title": "", "phone": ""}]}
    assert stack.put("/v1/units/city.environment", changed).status_code == 200
    assert len(stack.get("/v1/units/city.environment").json()["contacts"]) == len(body["contacts"]) + 1
    assert stack.put("/v1/units/city.environment", body).status_code == 200
    assert len(stack.get("/v1/units").json()["items"]) >= 23
