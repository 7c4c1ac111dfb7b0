"""The knowledge base (R19) through intake's handler table, over the fakes: units maintain their own
entries, the hotline office approves publication, every change is a revision with who and when,
operators search in Chinese (jieba + BM25 + synonyms) filtered by category and validity, and entries
in use are counted."""
from __future__ import annotations

from datetime import date, timedelta

import pytest

from hotline_common.actors import Actor
from hotline_common.errors import Conflict, Forbidden, NotFound, RuleViolation, StaleVersion, ValidationFailed
from services.intake.events import KnowledgePublished, KnowledgeRejected, KnowledgeRetired, KnowledgeSubmitted
from services.intake.knowledge import domain as kd
from services.intake.knowledge.search import Bm25, KnowledgeIndex
from services.intake.knowledge.store import seed_entries
from tests.support import validate_event
from tests.unit.test_front_desk_support import (
    CONFIG,
    HRSS,
    HRSS_LEADER,
    NOW,
    OPERATOR,
    SEGMENTER,
    front_app,
    published_types,
    run,
)
from tests.unit.test_intake_support import ADMIN, HANDLER, SUBSCRIBER, SUPERVISOR

TODAY = date(2026, 11, 27)
ENTRY = {"title": "灵活就业人员参加职工养老保险", "answer": "灵活就业人员可在户籍地或居住地社保经办机构办理参保登记，按月或按年缴费。",
         "category": "labor.social_security", "source": "《社会保险法》第十条", "valid_from": "2026-01-01",
         "valid_until": "2027-12-31", "review_date": "2027-06-30", "keywords": ["灵活就业"]}


def search(app, q, actor=OPERATOR, **query):
    return run(app, "search_knowledge", actor, query={"q": q, **query})


def titles(result):
    return [item["title"] for item in result["items"]]


def create(app, actor=HRSS, **changes):
    return run(app, "create_knowledge", actor, body={**ENTRY, **changes})


# -- search (R19): Chinese words, synonyms, ranking, filters --------------------------------------------

def test_a_query_in_other_words_finds_the_entry():
    """社保卡丢了怎么办 shares no word with 社会保障卡挂失补办 but the synonyms and the segmentation."""
    app = front_app()
    result = search(app, "社保卡丢了怎么办")
    assert titles(result)[0] == "社会保障卡挂失补办"
    assert result["terms"] == ["社保", "社保卡", "丢失"]          # 丢了 -> 丢失 (its group), 怎么办 a stop word
    top = result["items"][0]
    assert top["score"] > result["items"][1]["score"] and set(top["matched"]) >= {"社保卡", "丢失"}
    assert top["unit_id"] == "city.hrss" and top["example"] is True and top["flags"] == {
        "expired": False, "not_yet_valid": False, "review_overdue": False}
    assert "pending" not in top and result["indexed"] == len(seed_entries(CONFIG, NOW)) - 0


@pytest.mark.parametrize("query, title", [
    ("公积金租房怎么取", "租房提取住房公积金"),
    ("楼下KTV天天太吵了", "噪音扰民投诉的受理分工和处理流程"),
    ("孩子明年上小学要准备什么材料", "小学一年级入学报名条件和所需材料"),
    ("家里没水了什么时候来水", "停水原因查询和恢复供水时间"),
    ("门口路灯坏了好几天", "路灯不亮报修"),
    ("开个体户要办什么执照", "个体工商户营业执照办理"),
    ("物业费收得太贵不合理", "物业费收费标准和物业费纠纷处理"),
    ("小区突然没电了", "停电报修和计划停电查询"),
    ("老板拖欠工资不发", "被拖欠工资如何投诉维权"),
])
def test_realistic_questions_find_their_entry_first(query, title):
    assert titles(search(front_app(), query))[0] == title


def test_filters_by_category_and_validity_and_flags_what_an_operator_must_know():
    app = front_app()
    assert set(i["category"] for i in search(app, "办理", category="labor")["items"]) <= {
        "labor.social_security", "labor.wages"}
    assert titles(search(app, "办理", category="labor.wages")) == ["被拖欠工资如何投诉维权"]
    # an expired entry is found only when asked for, and flagged
    assert "2025年退休人员基本养老金调整发放时间" not in titles(search(app, "养老金调整发放"))
    old = search(app, "养老金调整发放", include_expired="true")["items"]
    assert old[0]["title"] == "2025年退休人员基本养老金调整发放时间" and old[0]["flags"]["expired"] is True
    # valid on another day: the expired one was valid then
    assert titles(search(app, "养老金调整发放", valid_on="2025-06-01"))[0] == "2025年退休人员基本养老金调整发放时间"
    # unreviewed (its review date passed): still found, flagged
    bus = search(app, "老人坐公交免费吗")["items"][0]
    assert bus["title"] == "老年人乘坐公交车优惠" and bus["flags"]["review_overdue"] is True
    assert search(app, "火星移民政策")["items"] == []
    with pytest.raises(ValidationFailed):
        run(app, "search_knowledge", OPERATOR, query={})
    with pytest.raises(Forbidden):
        search(app, "社保卡", SUBSCRIBER)
    assert titles(search(app, "社保卡丢了", HANDLER))[0] == "社会保障卡挂失补办"   # units search too


def test_bm25_ranks_rarer_and_repeated_words_higher():
    from collections import Counter
    index = Bm25({"a": Counter({"路灯": 2, "维修": 1}), "b": Counter({"维修": 1, "电梯": 1}),
                  "c": Counter({"维修": 1})})
    scores = index.scores(["路灯", "维修"])
    assert scores[0] > scores[1] and scores[0] > scores[2] and len(index) == 3
    assert index.idf["路灯"] > index.idf["维修"] > 0
    assert Bm25({}).scores(["x"]) == {}


def test_the_index_rebuilds_when_the_revision_moves_and_keeps_the_words_of_unchanged_entries():
    index = KnowledgeIndex(SEGMENTER, check_seconds=0)
    entries = seed_entries(CONFIG, NOW)
    store = type("S", (), {"revision": lambda self: 1, "published": lambda self: entries})()
    assert index.ensure_current(store.revision, store.published) and index.revision == 1 and len(index) == len(entries)
    assert not index.ensure_current(store.revision, store.published)      # same revision: nothing to do
    cached = dict(index._words)
    index.build(entries[1:], 2)
    assert all(index._words[k] is cached[k] for k in index._words)        # not segmented again
    slow = KnowledgeIndex(SEGMENTER, check_seconds=3600)
    slow.ensure_current(store.revision, store.published)
    assert not slow.ensure_current(lambda: 5, store.published)            # looked at most once in a while
    slow.expire()
    assert slow.ensure_current(lambda: 5, store.published) and slow.revision == 5


# -- maintaining entries (R19): units write, the hotline office approves, versioned -----------------------

def test_a_unit_writes_an_entry_the_hotline_office_publishes_it_and_every_step_is_a_revision():
    app = front_app()
    created = create(app)
    assert created["status"] == "draft" and created["unit_id"] == "city.hrss" and created["revision"] == 1
    assert created["pending"]["title"] == ENTRY["title"] and created["keywords"] == ["灵活就业"]
    assert created["revisions"][0]["by"] == {"user_id": HRSS.user_id, "role": "unit_handler", "unit_id": "city.hrss"}
    assert "灵活就业人员参加职工养老保险" not in titles(search(app, "灵活就业养老保险"))   # not before the approval
    with pytest.raises(NotFound):   # another unit does not see a draft
        run(app, "get_knowledge", Actor("x", "unit_handler", "city.market"), params={"entry_id": created["id"]})
    with pytest.raises(Forbidden):  # the unit does not approve its own entry
        run(app, "approve_knowledge", HRSS_LEADER, params={"entry_id": created["id"]})
    approved = run(app, "approve_knowledge", OPERATOR, params={"entry_id": created["id"]}, body={"note": "口径准确"})
    assert approved["status"] == "published" and approved["published_revision"] == 2 and approved["pending"] is None
    assert titles(search(app, "灵活就业养老保险"))[0] == "灵活就业人员参加职工养老保险"
    # a change waits for approval; operators keep seeing the published text meanwhile
    changed = run(app, "update_knowledge", HRSS_LEADER, params={"entry_id": created["id"]}, if_match=approved["version"],
                  body={**ENTRY, "answer": ENTRY["answer"] + "缴费基数可在当地上年度社平工资60%至300%之间选择。",
                        "note": "补充缴费基数"})
    assert changed["revision"] == 3 and changed["pending"]["answer"].endswith("之间选择。")
    assert changed["answer"] == ENTRY["answer"]
    rejected = run(app, "approve_knowledge", OPERATOR, params={"entry_id": created["id"]},
                   body={"approve": False, "note": "请注明比例依据"})
    assert rejected["pending"] is None and rejected["revisions"][-1]["action"] == "rejected"
    history = run(app, "get_knowledge", SUPERVISOR, params={"entry_id": created["id"]})["revisions"]
    assert [(r["n"], r["action"]) for r in history] == [(1, "created"), (2, "approved"), (3, "updated"), (4, "rejected")]
    assert all(r["at"] and r["by"]["user_id"] for r in history) and history[2]["note"] == "补充缴费基数"
    kinds = published_types(app)
    assert kinds == [KnowledgeSubmitted.full_type(), KnowledgePublished.full_type(), KnowledgeSubmitted.full_type(),
                     KnowledgeRejected.full_type()]
    for envelope in app.store.tickets.outbox.published:
        validate_event(envelope)
        assert envelope["subject"] == "city.hrss"


def test_a_unit_may_not_edit_or_retire_another_units_entry_and_nothing_changes():
    app = front_app()
    market = Actor("m1", "unit_handler", "city.market")
    entry_id = "example.hrss.social-security-card-loss"
    before = run(app, "get_knowledge", OPERATOR, params={"entry_id": entry_id})
    with pytest.raises(Forbidden):
        run(app, "update_knowledge", market, params={"entry_id": entry_id}, body={**ENTRY})
    with pytest.raises(Forbidden):
        run(app, "retire_knowledge", market, params={"entry_id": entry_id}, body={"reason": "不是我们的"})
    with pytest.raises(Forbidden):
        create(app, market, unit_id="city.hrss")
    with pytest.raises(Forbidden):
        create(app, OPERATOR)
    assert run(app, "get_knowledge", OPERATOR, params={"entry_id": entry_id}) == before
    assert published_types(app) == []


def test_bad_entries_name_their_fields():
    app = front_app()
    with pytest.raises(ValidationFailed) as err:
        create(app, title="短", answer="太短", category="nowhere", source="", valid_from="2027-01-01",
               valid_until="2026-01-01")
    assert set(err.value.errors) == {"title", "answer", "category", "source", "valid_until"}
    with pytest.raises(ValidationFailed) as err:
        run(app, "create_knowledge", HRSS, body={"title": "x"})
    assert "review_date" in err.value.errors
    with pytest.raises(ValidationFailed):
        create(app, ADMIN)                                # an administrator names the unit
    with pytest.raises(ValidationFailed):
        create(app, ADMIN, unit_id="city.nowhere")
    assert create(app, ADMIN, unit_id="city.hrss")["unit_id"] == "city.hrss"
    with pytest.raises(ValidationFailed):
        run(app, "get_knowledge", OPERATOR, params={})


def test_retiring_takes_an_entry_out_at_once_and_conflicts_are_refused():
    app = front_app()
    entry_id = "example.hrss.social-security-card-loss"
    with pytest.raises(Conflict):
        run(app, "update_knowledge", HRSS, params={"entry_id": entry_id},
            body={**kd.content_view(seed_entries(CONFIG, NOW)[0].current)})   # nothing changed
    with pytest.raises(Conflict):
        run(app, "approve_knowledge", OPERATOR, params={"entry_id": entry_id})   # nothing waiting
    with pytest.raises(ValidationFailed):
        run(app, "retire_knowledge", HRSS, params={"entry_id": entry_id}, body={"reason": "旧"})
    with pytest.raises(StaleVersion):
        run(app, "retire_knowledge", HRSS, params={"entry_id": entry_id}, body={"reason": "政策已调整"}, if_match=9)
    retired = run(app, "retire_knowledge", HRSS, params={"entry_id": entry_id}, body={"reason": "政策已调整，待重新编写"})
    assert retired["status"] == "retired" and retired["revisions"][-1]["note"] == "政策已调整，待重新编写"
    assert "社会保障卡挂失补办" not in titles(search(app, "社保卡丢了怎么办"))
    assert published_types(app) == [KnowledgeRetired.full_type()]
    for name, body in (("retire_knowledge", {"reason": "再退一次"}), ("update_knowledge", {**ENTRY}),
                       ("approve_knowledge", None)):
        with pytest.raises(Conflict):
            run(app, name, HRSS if name != "approve_knowledge" else OPERATOR, params={"entry_id": entry_id}, body=body)
    # a retired entry is seen by its unit and the city, not by other units
    with pytest.raises(NotFound):
        run(app, "get_knowledge", HANDLER, params={"entry_id": entry_id})
    with pytest.raises(NotFound):
        run(app, "get_knowledge", OPERATOR, params={"entry_id": "nope"})


def test_listing_for_upkeep_a_unit_sees_its_own_the_city_any_and_what_waits_for_approval():
    app = front_app()
    draft = create(app)
    mine = run(app, "list_knowledge", HRSS, query={"unit": "city.market"})["items"]    # scoped to its own unit
    assert {e["unit_id"] for e in mine} == {"city.hrss"} and draft["id"] in [e["id"] for e in mine]
    waiting = run(app, "list_knowledge", OPERATOR, query={"status": "pending"})["items"]
    assert [e["id"] for e in waiting] == [draft["id"]]
    assert len(run(app, "list_knowledge", OPERATOR, query={"status": "published", "category": "utilities"})["items"]) == 5
    with pytest.raises(Forbidden):
        run(app, "list_knowledge", SUBSCRIBER)


def test_direct_answers_count_the_use_of_their_entry():
    from tests.unit.test_front_desk_support import register
    app = front_app()
    entry_id = "example.housing.streetlight-repair"
    for _ in range(2):
        register(app, disposition="direct_answer", knowledge_entry_id=entry_id, type="consult",
                 category="infrastructure.streetlight")
    assert run(app, "get_knowledge", OPERATOR, params={"entry_id": entry_id})["uses"] == 2
    assert search(app, "路灯不亮")["items"][0]["uses"] == 2
    assert app.knowledge.store.record_use(entry_id, "t-x", NOW) and not app.knowledge.store.record_use(entry_id, "t-x", NOW)


def test_flags_and_citing_rules():
    content = seed_entries(CONFIG, NOW)[0].current
    assert kd.flags(content, TODAY) == {"expired": False, "not_yet_valid": False, "review_overdue": False}
    late = kd.flags(content, date(2028, 1, 1))
    assert late["review_overdue"] and not late["expired"]
    entry = seed_entries(CONFIG, NOW)[0]
    assert kd.citable(entry, TODAY, entry.id) == entry.current
    with pytest.raises(NotFound):
        kd.citable(None, TODAY, "x")
    from dataclasses import replace
    with pytest.raises(RuleViolation, match="expired"):
        kd.citable(replace(entry, current=replace(content, valid_until=TODAY - timedelta(days=1))), TODAY, entry.id)
    with pytest.raises(RuleViolation, match="not yet valid"):
        kd.citable(replace(entry, current=replace(content, valid_from=TODAY + timedelta(days=1))), TODAY, entry.id)
    with pytest.raises(RuleViolation, match="retired"):
        kd.citable(replace(entry, retired=True), TODAY, entry.id)
    with pytest.raises(RuleViolation, match="not published"):
        kd.citable(replace(entry, current=None, pending=content), TODAY, entry.id)
