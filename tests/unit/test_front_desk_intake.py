"""The front desk at intake (issue 12; R1, R19) through intake's handler table over the fakes: direct
answers from the knowledge base, calls sorted out at intake, duplicate candidates, merging (并单) and
unmerging, merged tickets following their main ticket, follow-ups."""
from __future__ import annotations

from datetime import timedelta

import pytest

from hotline_common.dispatch import Outcome
from hotline_common.errors import Conflict, Forbidden, NotFound, RuleViolation, ValidationFailed
from services.intake.duplicates import shared_bands, significant
from services.intake.events import (
    CallbackRecorded,
    TicketChallenged,
    TicketClosed,
    TicketMerged,
    TicketRegistered,
    TicketReopened,
    TicketUnmerged,
)
from services.intake.handlers import HANDLERS
from services.routing import events as rt
from services.sla import events as sla
from tests.support import validate_event
from tests.unit.test_front_desk_support import (
    NOW,
    OPERATOR,
    SEGMENTER,
    front_app,
    published,
    published_types,
    register,
    run,
)
from tests.unit.test_intake_support import HANDLER, SUPERVISOR, deadline, deliver, routing, state

STREETLIGHT = dict(type="help", category="infrastructure.streetlight", district="tiedong", address="铁东区胜利南路与站前街交口",
                   content="胜利南路与站前街交口的路灯坏了好几天，晚上一片漆黑，行人过马路很危险")
AGAIN = dict(type="help", category="infrastructure.streetlight", district="tiedong", address="胜利南路站前街路口",
             content="站前街和胜利南路路口路灯不亮，晚上过马路太危险了，请尽快修理",
             citizen={"name": "李先生", "phone": "13900005678"})
CONSULT = dict(type="consult", category="infrastructure.streetlight", content="咨询路灯坏了找谁报修，多久能修好")
LAMP_ENTRY = "example.housing.streetlight-repair"


def ticket(app, key, actor=OPERATOR):
    return run(app, "get_ticket", actor, params={"key": key})


def callback(app, key, body, actor=OPERATOR):
    return run(app, "callback", actor, params={"key": key}, body=body)


def merge(app, key, into, reason="同一路灯故障的重复来电", actor=OPERATOR):
    return run(app, "merge", actor, params={"key": key}, body={"into": into, "reason": reason})


def react_own(app, cls, index=-1):
    """Deliver intake's own published event back to it (as its subscriber would)."""
    return HANDLERS.react(app, published(app, cls)[index])


def dispatched_and_replied(app, t, unit=("city.housing", "市住房城乡建设委")):
    deliver(app, routing(rt.TicketDispatched, t["id"], t["number"], seq=1, st=state(lead=unit), units=(unit[0],),
                         unit_name=unit[1]))
    deliver(app, deadline(sla.DeadlineSet, t["id"], t["number"]))
    deliver(app, routing(rt.TicketReplied, t["id"], t["number"], seq=2, st=state("replied", lead=unit),
                         units=(unit[0],), reply_no=f"{t['number']}-01"))


# -- direct answer (直接答复/即时办结) --------------------------------------------------------------------

def test_a_consultation_answered_from_the_knowledge_base_is_numbered_replied_and_never_dispatched():
    app = front_app()
    t = register(app, disposition="direct_answer", knowledge_entry_id=LAMP_ENTRY, answer_note="已告知报修电话", **CONSULT)
    assert t["number"] == "AS20261127000001" and t["disposition"] == "direct_answer"
    assert t["status"] == "replied" and t["reply"]["reply_no"] == "AS20261127000001-01"
    assert t["answer"] == {"entry_id": LAMP_ENTRY, "revision": 1, "title": "路灯不亮报修", "unit_id": "city.housing",
                           "note": "已告知报修电话"}
    assert t["lead_unit"] is None and t["units"] == [] and "duplicates" not in t
    assert [e["label"] for e in t["timeline"]] == ["工单登记", "直接答复（即时办结）"]
    (event,) = app.store.tickets.outbox.published
    validate_event(event)
    assert event["data"]["disposition"] == "direct_answer" and event["data"]["knowledge_entry_id"] == LAMP_ENTRY
    # the callback policy wants a callback: it closes the ticket like any other
    closed = callback(app, t["number"], {"reached": True, "satisfaction": "satisfied"})
    assert closed["closed"] and closed["status_label"] == "已办结"
    assert published_types(app)[-2:] == [CallbackRecorded.full_type(), TicketClosed.full_type()]


def test_without_a_callback_policy_a_direct_answer_closes_at_once():
    app = front_app(direct_answer_callback=False)
    t = register(app, disposition="direct_answer", knowledge_entry_id=LAMP_ENTRY, **CONSULT)
    assert t["closed"] and t["close_reason"] == "direct_answer" and t["status_label"] == "已办结（直接答复）"
    with pytest.raises(Conflict):
        callback(app, t["number"], {"reached": True, "satisfaction": "satisfied"})


def test_an_unsatisfied_direct_answer_reopens_nothing_the_operator_registers_a_follow_up():
    app = front_app()
    t = register(app, disposition="direct_answer", knowledge_entry_id=LAMP_ENTRY, **CONSULT)
    after = callback(app, t["number"], {"reached": True, "satisfaction": "unsatisfied"})
    assert published_types(app)[-1] == CallbackRecorded.full_type() and "closed" not in after
    follow = register(app, follow_up_of=t["number"], **STREETLIGHT)
    assert follow["follow_up_of"] == {"id": t["id"], "number": t["number"]} and follow["disposition"] == "dispatch"
    assert follow["timeline"][-1]["label"] == f"续报（原工单{t['number']}）"
    assert ticket(app, t["number"])["timeline"][-1]["label"] == f"市民续报（工单{follow['number']}）"
    with pytest.raises(ValidationFailed) as err:
        register(app, follow_up_of="AS20261127999999", **STREETLIGHT)
    assert "follow_up_of" in err.value.errors


@pytest.mark.parametrize("change, error", [
    (dict(knowledge_entry_id="example.hrss.old-pension-adjustment"), RuleViolation),   # expired
    (dict(knowledge_entry_id="example.nowhere"), NotFound),
    (dict(knowledge_entry_id=None), ValidationFailed),
    (dict(key_ticket=True), ValidationFailed),
])
def test_a_direct_answer_cites_a_valid_published_entry_or_nothing_is_registered(change, error):
    app = front_app()
    body = {**CONSULT, "disposition": "direct_answer", "knowledge_entry_id": LAMP_ENTRY, **change}
    with pytest.raises(error) as err:
        register(app, **body)
    if error is RuleViolation:
        assert "expired" in err.value.detail and "knowledge_entry_id" in err.value.extra["errors"]
    assert run(app, "list_tickets")["items"] == [] and published_types(app) == []


def test_a_retired_or_unapproved_entry_is_not_cited():
    app = front_app()
    hrss = __import__("tests.unit.test_front_desk_support", fromlist=["HRSS"]).HRSS
    run(app, "retire_knowledge", hrss, params={"entry_id": "example.hrss.wage-arrears"}, body={"reason": "政策调整"})
    with pytest.raises(RuleViolation, match="retired"):
        register(app, disposition="direct_answer", knowledge_entry_id="example.hrss.wage-arrears", **CONSULT)


def test_a_repeat_under_its_idempotency_key_cites_once_and_counts_once():
    app = front_app()
    body = dict(disposition="direct_answer", knowledge_entry_id=LAMP_ENTRY, **CONSULT)
    first = register(app, idempotency_key="k1", **body)
    again = register(app, idempotency_key="k1", **body)
    assert again["created"] is False and again["number"] == first["number"]
    assert run(app, "get_knowledge", params={"entry_id": LAMP_ENTRY})["uses"] == 1
    with pytest.raises(ValidationFailed):
        register(app, idempotency_key="k1", **{**body, "answer_note": "另一种说法"})


# -- sorted out at intake --------------------------------------------------------------------------------

@pytest.mark.parametrize("disposition, to, label", [
    ("transferred", "120", "转120（急救）处置"),
    ("transferred", "110", "转110（公安）处置"),
    ("referred", "litigation", "引导通过诉讼途径解决"),
    ("referred", "administrative_review", "引导通过行政复议途径解决"),
    ("out_of_scope", None, "非受理范围，不予受理"),
    ("malicious", None, "恶意骚扰，不予受理"),
])
def test_calls_sorted_out_at_intake_are_closed_with_their_reason_and_no_unit(disposition, to, label):
    app = front_app()
    t = register(app, disposition=disposition, referred_to=to, reason="来电人称家中老人突发疾病" if to == "120" else "情况说明如下",
                 type="help", category="other")
    assert t["closed"] and t["close_reason"] == disposition and t["units"] == [] and t["lead_unit"] is None
    assert t["timeline"][-1]["label"] == label and t["disposition_reason"]
    assert t["status_label"].startswith("已办结（") and (t.get("referred_to") == to)
    (event,) = app.store.tickets.outbox.published
    validate_event(event)
    assert event["data"]["disposition"] == disposition and event["data"]["referred_to"] == to


@pytest.mark.parametrize("body, fields", [
    (dict(disposition="transferred", reason="楼道起火冒烟"), {"referred_to"}),
    (dict(disposition="transferred", referred_to="litigation", reason="火情紧急"), {"referred_to"}),
    (dict(disposition="referred", referred_to="119", reason="劳动合同争议"), {"referred_to"}),
    (dict(disposition="malicious"), {"reason"}),
    (dict(disposition="dispatch", referred_to="110"), {"referred_to"}),
    (dict(disposition="merged"), {"merge_into"}),
    (dict(merge_into="AS20261127000001"), {"merge_into"}),
    (dict(disposition="teleport"), {"disposition"}),
])
def test_a_disposition_without_what_it_needs_is_refused(body, fields):
    app = front_app()
    with pytest.raises(ValidationFailed) as err:
        register(app, **body)
    assert set(err.value.errors) == fields and published_types(app) == []


# -- duplicate candidates (并单) ------------------------------------------------------------------------

def test_a_second_call_about_the_same_street_light_is_suggested_as_a_duplicate():
    app = front_app()
    first = register(app, **STREETLIGHT)
    assert first["duplicates"] == []
    app.clock.set(NOW + timedelta(hours=3))
    second = register(app, **AGAIN)
    (candidate,) = second["duplicates"]
    assert candidate["number"] == first["number"] and candidate["reasons"] == ["same_place", "similar_content"]
    assert candidate["similarity"] >= 0.3 and candidate["shared_bands"] >= 1
    # the same through the RPC: of the registered ticket, or of a draft before registering
    by_key = run(app, "duplicate_candidates", params={"key": second["number"]})["items"]
    assert [c["number"] for c in by_key] == [first["number"]]
    draft = run(app, "duplicate_candidates", query={"content": "胜利南路站前街那个路灯还是不亮"})["items"]
    assert {c["number"] for c in draft} == {second["number"], first["number"]}
    assert all(c["reasons"] == ["similar_content"] for c in draft)


def test_the_fingerprint_is_made_of_the_words_that_tell_calls_apart():
    """A band is one minimum hash: a word most calls share (号, 路, 市民, 投诉, 希望尽快处理) made a band most
    tickets shared, read whole at every registration (bench/pipeline.py: one band in 89 % of the
    tickets stored, 4 tickets/s through). Calls in the same phrasing about different things share no
    band; the same street light reported twice still shares them."""
    policy = front_app().duplicates
    lamp = SEGMENTER.words("市民投诉：胜利南路88号路灯不亮已有3天，希望尽快处理")
    others = [SEGMENTER.words(t) for t in ("市民投诉：人民路12号菜市场旁占道经营堵塞通行，请相关部门核实",
                                           "市民投诉：建设大街5号饭店油烟直排扰民，希望尽快处理")]
    again = SEGMENTER.words("市民投诉：胜利南路88号路灯不亮已有5天，已反映多次未解决")
    assert all(shared_bands(policy.fingerprint(lamp), policy.fingerprint(o)) == 0 for o in others)
    assert shared_bands(policy.fingerprint(lamp), policy.fingerprint(again)) >= 6
    assert significant(["号", "路灯", "市民", "不亮"], policy.common_words) == ["路灯", "不亮"]
    assert policy.fingerprint(["号", "市民", "投诉"]) is None       # nothing to tell it apart: no band


def test_candidates_by_caller_and_place_within_the_days_and_only_open_ones():
    app = front_app(days=7)
    old = register(app, **STREETLIGHT)
    app.clock.set(NOW + timedelta(days=8))
    fresh = register(app, category="housing.property", district="lishan", content="小区物业不打扫卫生，楼道垃圾成堆")
    assert fresh["duplicates"] == []                        # the street light call is 8 days old
    same_caller = run(app, "duplicate_candidates", query={"phone": "13800001234", "days": "30"})["items"]
    assert [c["number"] for c in same_caller] == [fresh["number"], old["number"]]
    assert same_caller[0]["reasons"] == ["same_caller"]
    place = run(app, "duplicate_candidates", query={"category": "housing.property", "district": "lishan"})["items"]
    assert [c["number"] for c in place] == [fresh["number"]] and place[0]["reasons"] == ["same_place"]
    deliver(app, routing(rt.TicketReplied, fresh["id"], fresh["number"], seq=2, st=state("replied")))
    callback(app, fresh["number"], {"reached": True, "satisfaction": "satisfied"})
    assert run(app, "duplicate_candidates", query={"category": "housing.property", "district": "lishan"})["items"] == []
    with pytest.raises(ValidationFailed):
        run(app, "duplicate_candidates", query={"address": "某地"})
    with pytest.raises(Forbidden):
        run(app, "duplicate_candidates", HANDLER, query={"phone": "13800001234"})
    assert [c["number"] for c in run(app, "duplicate_candidates", SUPERVISOR, query={
        "phone": "13800001234", "limit": "1", "days": "30"})["items"]] == [old["number"]]   # the closed one is not


# -- merging (并单) -----------------------------------------------------------------------------------

def test_a_duplicate_merged_follows_its_main_ticket_and_each_citizen_gets_a_callback():
    app = front_app()
    main = register(app, **STREETLIGHT)
    deliver(app, routing(rt.TicketDispatched, main["id"], main["number"], seq=1,
                         st=state(lead=("city.housing", "市住房城乡建设委")), units=("city.housing",), unit_name="市住房城乡建设委"))
    dup = register(app, **AGAIN)
    merged = merge(app, dup["number"], main["number"])
    assert merged["merged_into"] == {"id": main["id"], "number": main["number"]} and merged["disposition"] == "dispatch"
    assert merged["status"] == "dispatched" and merged["lead_unit"]["id"] == "city.housing"
    assert merged["units"] == ["city.housing"] and merged["timeline"][-1]["label"] == f"并单：并入工单{main['number']}"
    (event,) = published(app, TicketMerged)
    validate_event(event)
    assert event["data"]["at_registration"] is False and event["data"]["merge_no"] == 1
    assert event["data"]["main_number"] == main["number"] and event["data"]["unit_id"] == "city.housing"
    # the main ticket's timeline says so too (intake hears its own event), once
    assert react_own(app, TicketMerged) == Outcome.APPLIED and react_own(app, TicketMerged) == Outcome.DUPLICATE
    main_view = ticket(app, main["number"])
    assert main_view["timeline"][-1]["label"] == f"并单：工单{dup['number']}并入本工单"
    assert [t["number"] for t in main_view["merged_tickets"]] == [dup["number"]]
    # routing withdraws the duplicate's own dispatch: on its timeline only, its view keeps the main's handling
    deliver(app, routing(rt.AssignmentWithdrawn, dup["id"], dup["number"], seq=2, units=(), st=state(
        "withdrawn", lead=None), previous_unit="city.housing", main_ticket_id=main["id"], main_number=main["number"]))
    assert ticket(app, dup["number"])["status"] == "dispatched"
    # the main ticket's handling reaches the merged one: the deadline, then the reply
    deliver(app, deadline(sla.DeadlineSet, main["id"], main["number"]))
    deliver(app, routing(rt.TicketReplied, main["id"], main["number"], seq=3, units=("city.housing",),
                         st=state("replied", lead=("city.housing", "市住房城乡建设委")), reply_no=f"{main['number']}-01"))
    shown = ticket(app, dup["number"])
    assert shown["status"] == "replied" and shown["reply"]["reply_no"] == f"{main['number']}-01"
    assert shown["deadline"]["due_date"] == "2026-12-25"
    assert shown["timeline"][-1]["label"] == f"答复（主工单{main['number']}）"
    # each citizen's own callback
    assert callback(app, main["number"], {"reached": True, "satisfaction": "satisfied"})["closed"]
    assert "closed" not in ticket(app, dup["number"])
    after = callback(app, dup["number"], {"reached": True, "satisfaction": "basically_satisfied"})
    assert after["closed"] and after["close_reason"] == "basically_satisfied"
    closes = published(app, TicketClosed)
    assert [c["data"]["ticket_id"] for c in closes] == [main["id"], dup["id"]]
    assert closes[1]["data"]["unit_id"] == "city.housing"
    # the main's unit sees the merged ticket (it is the one handling it)
    assert ticket(app, dup["number"], HANDLER.__class__("u", "unit_handler", "city.housing"))["number"] == dup["number"]


def test_an_unsatisfied_or_challenging_merged_citizen_reopens_or_challenges_the_main_tickets_handling():
    app = front_app()
    main = register(app, **STREETLIGHT)
    dup = register(app, disposition="merged", merge_into=main["number"], **AGAIN)
    dispatched_and_replied(app, main)
    callback(app, dup["number"], {"reached": True, "satisfaction": "unsatisfied"})
    (reopened,) = published(app, TicketReopened)
    assert reopened["data"]["ticket_id"] == main["id"] and reopened["data"]["number"] == main["number"]
    callback(app, dup["number"], {"reached": True, "satisfaction": "unsatisfied", "challenge": True,
                                  "challenge_reason": "路灯根本没修好，答复不实"})
    (challenged,) = published(app, TicketChallenged)
    assert challenged["data"]["ticket_id"] == main["id"]


def test_merging_as_the_call_is_registered_never_dispatches_it():
    app = front_app()
    main = register(app, **STREETLIGHT)
    dispatched_and_replied(app, main)
    dup = register(app, disposition="merged", merge_into=main["number"], reason="重复反映同一路灯", **AGAIN)
    assert dup["merged_into"]["number"] == main["number"] and dup["disposition"] == "merged"
    assert dup["status"] == "replied" and dup["reply"]["reply_no"] == f"{main['number']}-01"   # callback-ready
    registered, merged = app.store.tickets.outbox.published[-2:]
    assert registered["type"] == TicketRegistered.full_type() and registered["data"]["disposition"] == "merged"
    assert merged["type"] == TicketMerged.full_type() and merged["data"]["at_registration"] is True
    assert callback(app, dup["number"], {"reached": True, "satisfaction": "satisfied"})["closed"]


def test_merge_refuses_itself_a_closed_main_a_cycle_and_a_signed_for_ticket_and_changes_nothing():
    app = front_app()
    a = register(app, **STREETLIGHT)
    b = register(app, **AGAIN)
    c = register(app, **CONSULT)
    with pytest.raises(RuleViolation, match="itself"):
        merge(app, a["number"], a["id"])
    merge(app, b["number"], a["number"])
    with pytest.raises(RuleViolation, match="cycle"):
        merge(app, a["number"], b["number"])
    with pytest.raises(Conflict, match="merged into"):
        merge(app, a["number"], c["number"])          # tickets are merged into a: it is a main ticket
    with pytest.raises(Conflict, match="already"):
        merge(app, b["number"], c["number"])
    answered = register(app, disposition="direct_answer", knowledge_entry_id=LAMP_ENTRY, **CONSULT)
    with pytest.raises(Conflict):
        merge(app, c["number"], answered["number"])   # a direct answer is not handled by a unit
    d = register(app, **STREETLIGHT)
    dispatched_and_replied(app, d)
    callback(app, d["number"], {"reached": True, "satisfaction": "satisfied"})
    with pytest.raises(Conflict, match="closed"):
        merge(app, c["number"], d["number"])
    with pytest.raises(Conflict, match="closed"):
        register(app, disposition="merged", merge_into=d["number"], **AGAIN)
    e = register(app, **STREETLIGHT)
    deliver(app, routing(rt.AssignmentAccepted, e["id"], e["number"], seq=2, st=state("accepted")))
    with pytest.raises(Conflict, match="signed"):
        merge(app, e["number"], a["number"])
    with pytest.raises(NotFound):
        merge(app, c["number"], "AS20261127999999")
    with pytest.raises(Forbidden):
        merge(app, c["number"], a["number"], actor=SUPERVISOR)
    # nothing changed by the refusals: one merge, and c is still on its own
    assert len(published(app, TicketMerged)) == 1 and "merged_into" not in ticket(app, c["number"])


def test_merging_into_a_merged_ticket_merges_into_its_main_ticket():
    app = front_app()
    a = register(app, **STREETLIGHT)
    b = register(app, disposition="merged", merge_into=a["number"], **AGAIN)
    c = merge(app, register(app, **STREETLIGHT)["number"], b["number"])
    assert c["merged_into"]["number"] == a["number"]


def test_unmerging_with_a_reason_makes_the_ticket_stand_alone_again():
    app = front_app()
    main = register(app, **STREETLIGHT)
    dispatched_and_replied(app, main)
    dup = register(app, disposition="merged", merge_into=main["number"], **AGAIN)
    with pytest.raises(ValidationFailed):
        run(app, "unmerge", params={"key": dup["number"]}, body={"reason": "错"})
    with pytest.raises(Conflict):
        run(app, "unmerge", params={"key": main["number"]}, body={"reason": "不是同一件事"})
    alone = run(app, "unmerge", params={"key": dup["number"]}, body={"reason": "并非同一路灯，位置不同"})
    assert "merged_into" not in alone and alone["status"] == "registered" and alone["units"] == []
    assert "reply" not in alone and alone["deadline"] is None and alone["disposition"] == "dispatch"
    assert alone["timeline"][-1]["label"] == f"撤销并单（原并入工单{main['number']}），单独交办"
    (event,) = published(app, TicketUnmerged)
    validate_event(event)
    assert event["data"]["merge_no"] == 1 and event["data"]["category"] == "infrastructure.streetlight"
    assert react_own(app, TicketUnmerged) == Outcome.APPLIED
    assert ticket(app, main["number"])["timeline"][-1]["label"] == f"撤销并单：工单{dup['number']}单独办理"
    assert "merged_tickets" not in ticket(app, main["number"])
    # the main ticket's handling no longer reaches it; its own does
    deliver(app, routing(rt.AssignmentReopened, main["id"], main["number"], seq=5, st=state("accepted", round=2)))
    assert ticket(app, dup["number"])["status"] == "registered"
    deliver(app, routing(rt.TicketDispatched, dup["id"], dup["number"], seq=1))
    assert ticket(app, dup["number"])["status"] == "dispatched"
    # merged again later: the second merge
    merge(app, dup["number"], main["number"])
    assert published(app, TicketMerged)[-1]["data"]["merge_no"] == 2


def test_a_merged_ticket_is_not_marked_key_its_main_ticket_is():
    app = front_app()
    main = register(app, **STREETLIGHT)
    dup = register(app, disposition="merged", merge_into=main["number"], **AGAIN)
    with pytest.raises(Conflict):
        run(app, "mark_key", params={"key": dup["number"]}, body={"reason": "多次反映未解决"})
    assert run(app, "mark_key", params={"key": main["number"]}, body={"reason": "多次反映未解决"})["key_ticket"]
