"""The front desk over HTTP against the running stack (issue 12; R1, R3, R5, R19): a direct answer from
the knowledge base closes a consultation without dispatch; a repeated call is suggested, merged and both
citizens are called back; an emergency call is transferred and never reaches routing; a district passes
a ticket down to its street office and sees the reply; a re-dispatch before sign-for takes the ticket
away from the first unit; bad input is a clear 4xx that changes nothing."""
import uuid

from tests.conftest import wait_for

DISPATCHED = "cn.gov.12345.ticket.dispatched"
HOUSING = "city.housing"
DISTRICT, STREET = "district.tiedong", "street.tiedong.shengli"
REPLY = {"result": "solved", "content": "路灯管理所已于当日更换损坏的灯具并检修线路，现已恢复正常照明。",
         "contacted_citizen": True}
LAMP = {"channel": "phone", "type": "help", "category": "infrastructure.streetlight", "district": "tiedong",
        "address": "胜利南路与站前街交口", "citizen": {"name": "王女士", "phone": "13900001234"},
        "content": "胜利南路与站前街交口的路灯坏了好几天，晚上一片漆黑，行人过马路很危险"}
AGAIN = {**LAMP, "address": "胜利南路站前街路口", "citizen": {"name": "李先生", "phone": "13900005678"},
         "content": "站前街和胜利南路路口路灯不亮，晚上过马路太危险了"}
NOISE = {"channel": "phone", "type": "complain", "category": "noise.commercial", "district": "lishan",
         "address": "立山区某小区", "citizen": {"name": "赵先生", "phone": "13900003333"},
         "content": "楼下烧烤店每天凌晨还在营业，噪音扰民严重"}
SATISFIED = {"reached": True, "satisfaction": "satisfied"}


def register(stack, body, status=201):
    response = stack.post("/v1/tickets", body)
    assert response.status_code == status, response.text
    return response.json()


def view(stack, key, role="operator", unit=None):
    return stack.get(f"/v1/tickets/{key}", role=role, unit=unit)


def wait_view(stack, key, check, message, role="operator", unit=None, timeout=15):
    def probe():
        response = view(stack, key, role, unit)
        return response.status_code == 200 and check(v := response.json()) and v
    return wait_for(probe, timeout, interval=0.1, message=message)


def work(stack, key, unit, reply=REPLY):
    """The unit signs for the ticket, its leader reviews it, it replies."""
    accepted = stack.post(f"/v1/tickets/{key}/accept", {}, role="unit_handler", unit=unit)
    assert accepted.status_code == 200, accepted.text
    reviewed = stack.post(f"/v1/tickets/{key}/review", {"instructions": "请立即安排人员现场处置并答复市民"},
                          role="unit_leader", unit=unit)
    assert reviewed.status_code == 200, reviewed.text
    replied = stack.post(f"/v1/tickets/{key}/reply", reply, role="unit_handler", unit=unit)
    assert replied.status_code == 200, replied.text


def dispatched_subjects(stack, until: str) -> set[str]:
    """The subjects of every ticket.dispatched in the feed, read until `until`'s dispatch is there (the
    feed has caught up with everything registered before it)."""
    def read():
        subjects, after = set(), None
        while True:
            params = {"types": DISPATCHED, "limit": 1000, **({"after": after} if after else {})}
            response = stack.get("/v1/events", role="subscriber", params=params)
            assert response.status_code == 200, response.text
            page = response.json()
            subjects |= {e["subject"] for e in page["items"]}
            if not page["items"]:
                return subjects
            after = page["next_cursor"]
    return wait_for(lambda: (s := read()) and until in s and s, 20, interval=0.5,
                    message=f"{until}'s dispatch in the feed")


def test_a_consultation_answered_from_the_knowledge_base_is_closed_without_dispatch(running_stack):
    stack = running_stack
    search = stack.get("/v1/knowledge", params={"q": "路灯坏了找谁修", "category": "infrastructure.streetlight"})
    assert search.status_code == 200, search.text
    entry = search.json()["items"][0]
    assert entry["id"] == "example.housing.streetlight-repair" and not entry["flags"]["expired"]
    uses = stack.get(f"/v1/knowledge/{entry['id']}").json()["uses"]

    answered = register(stack, {**LAMP, "type": "consult", "content": "咨询路灯坏了应该找哪个部门报修",
                                "disposition": "direct_answer", "knowledge_entry_id": entry["id"],
                                "answer_note": "已告知报修方式"})
    number = answered["number"]
    assert answered["disposition"] == "direct_answer" and answered["reply"]["reply_no"] == f"{number}-01"
    assert "duplicates" not in answered                       # not dispatched: nothing to merge with
    called = stack.post(f"/v1/tickets/{number}/callbacks", SATISFIED)
    assert called.status_code == 200, called.text
    closed = called.json()
    assert closed["status"] == "closed" and closed["lead_unit"] is None and closed["units"] == []
    assert stack.get(f"/v1/knowledge/{entry['id']}").json()["uses"] == uses + 1

    control = register(stack, {**NOISE, "content": "楼下KTV每天凌晨两点仍在营业，噪音扰民严重"})
    assert number not in dispatched_subjects(stack, until=control["number"])
    assert stack.get(f"/v1/tickets/{number}/assignment").status_code == 404


def test_a_repeated_call_is_suggested_merged_and_both_citizens_are_called_back(running_stack):
    stack = running_stack
    main = register(stack, LAMP)["number"]
    wait_view(stack, main, lambda v: v["status"] == "dispatched" and v["deadline"], "the main ticket dispatched")
    again = register(stack, AGAIN)
    assert main in [c["number"] for c in again["duplicates"]]
    suggested = next(c for c in again["duplicates"] if c["number"] == main)
    assert "same_place" in suggested["reasons"]
    listed = stack.get(f"/v1/tickets/{again['number']}/duplicates")
    assert listed.status_code == 200 and main in [c["number"] for c in listed.json()["items"]]

    merged = stack.post(f"/v1/tickets/{again['number']}/merge", {"into": main, "reason": "同一路灯故障"})
    assert merged.status_code == 200, merged.text
    assert merged.json()["merged_into"]["number"] == main
    wait_view(stack, main, lambda v: any(e["label"].startswith("并单") for e in v["timeline"])
              and [t["number"] for t in v.get("merged_tickets", [])] == [again["number"]],
              "the merge on the main ticket")
    wait_for(lambda: stack.get(f"/v1/tickets/{again['number']}/assignment", role="unit_handler",
                               unit=HOUSING).status_code == 404, 15, interval=0.1,
             message="routing withdraws the repeat's own dispatch")

    work(stack, main, HOUSING)
    follows = wait_view(stack, again["number"], lambda v: v["status"] == "replied", "the merged ticket replied")
    assert follows["reply"]["reply_no"] == f"{main}-01"
    for key in (main, again["number"]):
        called = stack.post(f"/v1/tickets/{key}/callbacks", SATISFIED)
        assert called.status_code == 200, called.text
        after = called.json()
        assert after["status"] == "closed" and after["callbacks"][0]["satisfaction"] == "satisfied"

    # bad input: into itself, into a closed ticket; nothing changes
    before = view(stack, main).json()
    itself = stack.post(f"/v1/tickets/{main}/merge", {"into": main})
    assert itself.status_code == 422 and itself.headers["Content-Type"] == "application/problem+json"
    late = register(stack, {**AGAIN, "citizen": {"name": "周女士", "phone": "13900007777"}})["number"]
    wait_view(stack, late, lambda v: v["status"] == "dispatched", "the late call dispatched")
    late_before = view(stack, late).json()
    into_closed = stack.post(f"/v1/tickets/{late}/merge", {"into": main, "reason": "同一路灯故障"})
    assert into_closed.status_code == 409 and "closed" in into_closed.json()["detail"]
    assert view(stack, main).json()["version"] == before["version"]
    unchanged = view(stack, late).json()
    assert unchanged["version"] == late_before["version"] and "merged_into" not in unchanged


def test_an_emergency_call_is_transferred_and_never_reaches_routing(running_stack):
    stack = running_stack
    transferred = register(stack, {"channel": "phone", "type": "help", "category": "other", "district": "lishan",
                                   "citizen": {"name": "孙女士", "phone": "13900004444"},
                                   "content": "家中老人突然昏倒，呼吸困难", "disposition": "transferred",
                                   "referred_to": "120", "reason": "来电人家中老人突发疾病，已转120"})
    number = transferred["number"]
    assert transferred["status"] == "closed" and transferred["referred_to"] == "120"
    assert transferred["status_label"] == "已办结（已转紧急热线）"
    control = register(stack, NOISE)
    assert number not in dispatched_subjects(stack, until=control["number"])
    assert stack.get(f"/v1/tickets/{number}/assignment").status_code == 404
    incomplete = stack.post("/v1/tickets", {**NOISE, "disposition": "transferred", "reason": "转警"})
    assert incomplete.status_code == 422 and "referred_to" in incomplete.json()["errors"]


def test_a_district_passes_a_ticket_down_to_a_street_office_and_sees_the_reply(running_stack):
    stack = running_stack
    number = register(stack, {"channel": "phone", "type": "complain", "category": "urban.street_vending",
                              "district": "tiedong", "address": "胜利南路人行道",
                              "citizen": {"name": "钱先生", "phone": "13900006666"},
                              "content": "胜利南路人行道上每天早上都有流动摊贩占道卖菜"})["number"]
    first = wait_view(stack, number, lambda v: v["status"] == "dispatched" and v["deadline"],
                      "dispatched to the district", role="unit_handler", unit=DISTRICT)
    assert first["lead_unit"]["id"] == DISTRICT
    assert stack.get(f"/v1/tickets/{number}", role="unit_handler", unit=STREET).status_code == 404

    wrong = stack.post(f"/v1/tickets/{number}/pass-down", {"unit_id": "street.tiexi.fanrong", "reason": "请街道处理"},
                       role="unit_handler", unit=DISTRICT)
    assert wrong.status_code == 422 and "unit_id" in wrong.json()["errors"]            # another district's street
    etag = stack.get(f"/v1/tickets/{number}/assignment", role="unit_handler", unit=DISTRICT).headers["ETag"]
    passed = stack.post(f"/v1/tickets/{number}/pass-down", {"unit_id": STREET, "reason": "请胜利街道核实处理"},
                        role="unit_handler", unit=DISTRICT, headers={"If-Match": etag})
    assert passed.status_code == 200, passed.text
    street_view = wait_view(stack, number, lambda v: v["lead_unit"] and v["lead_unit"]["id"] == STREET
                            and v["deadline"] and v["deadline"].get("unit_id") == STREET,
                            "the street office has it", role="unit_handler", unit=STREET)
    assert street_view["deadline"]["due_date"] == first["deadline"]["due_date"]   # from the first dispatch
    assert street_view["responsible_unit"]["id"] == DISTRICT

    work(stack, number, STREET, {**REPLY, "content": "街道已会同城管中队清理占道摊点，安排网格员每日巡查。"})
    seen = wait_view(stack, number, lambda v: v["status"] == "replied", "the district sees the reply",
                     role="unit_handler", unit=DISTRICT)
    assert seen["reply"]["reply_no"] == f"{number}-01"


def test_an_operator_redispatches_before_sign_for_and_the_first_unit_no_longer_sees_it(running_stack):
    stack = running_stack
    number = register(stack, NOISE)["number"]
    before = wait_view(stack, number, lambda v: v["status"] == "dispatched" and v["deadline"], "dispatched")
    assert before["lead_unit"]["id"] == "city.environment"
    refused = stack.post(f"/v1/tickets/{number}/redispatch", {"unit_id": "city.enforcement", "reason": "属城管职责"},
                         role="unit_handler", unit="city.environment")
    assert refused.status_code == 403                                        # only the hotline office
    moved = stack.post(f"/v1/tickets/{number}/redispatch",
                       {"unit_id": "city.enforcement", "reason": "噪声来自占道经营的烧烤摊，属城管职责"})
    assert moved.status_code == 200, moved.text
    after = wait_view(stack, number, lambda v: v["lead_unit"]["id"] == "city.enforcement"
                      and v["deadline"]["unit_id"] == "city.enforcement", "re-dispatched")
    assert after["deadline"]["due_date"] == before["deadline"]["due_date"]
    for path in (f"/v1/tickets/{number}", f"/v1/tickets/{number}/assignment"):
        assert stack.get(path, role="unit_handler", unit="city.environment").status_code == 404
    assert stack.get(f"/v1/tickets/{number}/assignment", role="unit_handler", unit="city.enforcement").status_code == 200

    accepted = stack.post(f"/v1/tickets/{number}/accept", {}, role="unit_handler", unit="city.enforcement")
    assert accepted.status_code == 200
    again = stack.post(f"/v1/tickets/{number}/redispatch", {"unit_id": "city.environment", "reason": "改回环保局"})
    assert again.status_code == 409                                           # signed for: a return, not 改派


def test_knowledge_entries_are_kept_by_their_unit_and_bad_citations_are_refused(running_stack):
    stack = running_stack
    content = {"title": f"道路井盖缺失报修（测试{uuid.uuid4().hex[:6]}）", "category": "infrastructure.road",
               "answer": "道路井盖缺失或破损的，请说明具体位置，养护单位接报后24小时内设置警示并修复。",
               "source": "市政设施管理条例（示例）", "review_date": "2027-12-31", "keywords": ["井盖缺失"]}
    created = stack.post("/v1/knowledge", content, role="unit_handler", unit=HOUSING)
    assert created.status_code == 201, created.text
    entry = created.json()
    assert created.headers["Location"] == f"/v1/knowledge/{entry['id']}" and entry["status"] == "draft"
    approved = stack.post(f"/v1/knowledge/{entry['id']}/approve", {"approve": True},
                          headers={"If-Match": created.headers["ETag"]})
    assert approved.status_code == 200 and approved.json()["status"] == "published"
    mine = stack.get("/v1/knowledge/entries", role="unit_handler", unit=HOUSING, params={"limit": 200})
    assert entry["id"] in [e["id"] for e in mine.json()["items"]]

    # another unit may not edit it; nothing changes
    before = stack.get(f"/v1/knowledge/{entry['id']}").json()
    foreign = stack.put(f"/v1/knowledge/{entry['id']}", {**content, "answer": content["answer"] + "（改）"},
                        role="unit_handler", unit="city.hrss")
    assert foreign.status_code == 403 and foreign.headers["Content-Type"] == "application/problem+json"
    retire = stack.post(f"/v1/knowledge/{entry['id']}/retire", {"reason": "不是我们的条目"}, role="unit_handler",
                        unit="city.hrss")
    assert retire.status_code == 403
    after = stack.get(f"/v1/knowledge/{entry['id']}").json()
    assert (after["version"], after["answer"], after["status"]) == (before["version"], before["answer"], "published")
    updated = stack.put(f"/v1/knowledge/{entry['id']}", {**content, "answer": content["answer"] + "夜间请拨打养护热线。"},
                        role="unit_handler", unit=HOUSING, headers={"If-Match": f'"{after["version"]}"'})
    assert updated.status_code == 200 and updated.json()["pending"]["answer"].endswith("夜间请拨打养护热线。")

    # a direct answer citing an expired entry: refused, nothing registered
    expired_id = "example.hrss.old-pension-adjustment"
    uses = stack.get(f"/v1/knowledge/{expired_id}").json()["uses"]
    listing = {"category": "labor.social_security", "limit": 200}
    tickets = {t["id"] for t in stack.get("/v1/tickets", params=listing).json()["items"]}
    cited = stack.post("/v1/tickets", {"channel": "phone", "type": "consult", "category": "labor.social_security",
                                       "district": "lishan", "citizen": {"phone": "13900008888"},
                                       "content": "咨询养老金调整什么时候发放", "disposition": "direct_answer",
                                       "knowledge_entry_id": expired_id})
    assert cited.status_code == 422 and cited.headers["Content-Type"] == "application/problem+json", cited.text
    assert {t["id"] for t in stack.get("/v1/tickets", params=listing).json()["items"]} == tickets
    assert stack.get(f"/v1/knowledge/{expired_id}").json()["uses"] == uses
