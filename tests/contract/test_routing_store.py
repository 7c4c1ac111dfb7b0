"""One suite for routing's store: the in-memory fake (fast) and the MongoDB adapter (`-m integration`,
on the embedded server) must behave alike, so the fast tests over the fake say something true."""
from dataclasses import replace
from pathlib import Path

import pytest

from hotline_common.actors import SYSTEM_ACTOR, Actor
from hotline_common.config_files import read_yaml
from hotline_common.errors import StaleVersion
from hotline_common.testing import FixedClock, RecordingOutbox, at
from services.routing import commands as c
from services.routing import domain as d
from services.routing.events import AssignmentReopened

CONFIG = Path(__file__).resolve().parents[2] / "config"
NOW = at("2026-11-27T02:00:00Z")
UNITS = {u["id"]: {"_id": u["id"], **u} for u in read_yaml(CONFIG, "units.yaml")["units"]}
RULES = [d.Rule.from_dict(r) for r in read_yaml(CONFIG, "routing-rules.yaml")["rules"]]
HANDLER = Actor("h", "unit_handler", "city.environment")


@pytest.fixture
def outbox():
    return RecordingOutbox("routing", FixedClock(NOW))


@pytest.fixture(params=["fake", pytest.param("mongo", marks=pytest.mark.integration)])
def store(request, outbox):
    if request.param == "fake":
        from services.routing.fakes import MemoryRoutingStore
        store = MemoryRoutingStore(outbox)
    else:
        from hotline_common.mongo import client
        from services.routing.store import RoutingStore
        uri, prefix = request.getfixturevalue("mongo_uri"), request.getfixturevalue("db_prefix")
        store = RoutingStore(client(uri)[prefix + "routing"], outbox)
        store.ensure_indexes()
    store.seed(CONFIG)
    return store


def routed(number="AS20261127000001", category="noise.neighbourhood", district="lishan"):
    facts = d.TicketFacts(f"t-{number}", number, "complain", category, district)
    return d.route_new_ticket(facts, now=NOW, actor=SYSTEM_ACTOR, rules=RULES, units=UNITS)


def test_an_assignment_is_stored_and_read_back_by_id_or_number(store, outbox):
    a, events = routed()
    assert store.add_assignment(a, events, cause="reg-1")
    assert store.get_assignment("t-AS20261127000001") == replace(a, version=1)
    assert store.get_assignment("AS20261127000001") == replace(a, version=1)
    assert store.get_assignment("AS20261127999999") is None
    assert outbox.types() == ["cn.gov.12345.ticket.dispatched"]


def test_the_event_that_created_an_assignment_creates_it_once(store, outbox):
    a, events = routed()
    assert store.add_assignment(a, events, cause="reg-1")
    assert not store.add_assignment(a, events, cause="reg-1")
    assert len(outbox.published) == 1


def test_every_part_of_the_aggregate_survives_the_store(store):
    a, events = routed("AS20261127000002", "housing.property", "tiedong")
    store.add_assignment(a, events, cause="reg-2")
    a = store.get_assignment("AS20261127000002")
    housing = Actor("city.housing.contact", "unit_handler", "city.housing")
    tiedong = Actor("district.tiedong.contact", "unit_handler", "district.tiedong")
    steps = [
        lambda a: d.co_unit_accept(a, c.CoUnitAccept(key="k", unit_id="district.tiedong"), now=NOW, actor=tiedong),
        lambda a: d.co_unit_contribute(a, c.CoUnitContribute(key="k", unit_id="district.tiedong",
                                                             content="街道已约谈物业公司，承诺一周内修复门禁。"),
                                       now=NOW, actor=tiedong),
        lambda a: d.accept(a, c.Accept(key="k"), now=NOW, actor=housing),
        lambda a: d.review(a, c.Review(key="k", instructions="会同街道督促物业整改"), now=NOW,
                           actor=Actor("city.housing.leader", "unit_leader", "city.housing"),
                           unit=UNITS["city.housing"]),
        lambda a: d.require_verification(a, c.RequireVerification(reason="key_ticket"), now=NOW, actor=SYSTEM_ACTOR),
        lambda a: d.verification_filed(a, c.RecordVerification(), now=NOW, actor=SYSTEM_ACTOR),
        lambda a: d.reply(a, c.Reply(key="k", result="explained", content="经现场核查，物业公司已修复门禁并公示收费标准。",
                                     basis="《物业管理条例》第三十五条"), now=NOW, actor=housing),
        lambda a: d.reopen(a, c.Reopen(reason="unsatisfied"), now=NOW, actor=SYSTEM_ACTOR),
        lambda a: d.request_return(a, c.RequestReturn(key="k", reason="物业收费不属于本单位职责"), now=NOW, actor=housing),
        lambda a: d.decide_return(a, c.DecideReturn(key="k", approve=False, note="第一责任主体牵头"), now=NOW,
                                  actor=Actor("op", "operator"), rules=RULES, units=UNITS),
    ]
    for step in steps:
        state, events = step(a)
        assert store.save(state, events)
        a = store.get_assignment("AS20261127000002")
        assert a == replace(state, version=state.version + 1)
    assert a.round == 2 and a.replies[0].contributions[0].unit_id == "district.tiedong"
    assert a.returns[0].decided.role == "operator" and a.co_units[0].contributed.at == NOW


def test_a_save_over_a_version_that_moved_on_is_refused_and_publishes_nothing(store, outbox):
    a, events = routed()
    store.add_assignment(a, events, cause="reg-1")
    a = store.get_assignment("AS20261127000001")
    accepted, events = d.accept(a, c.Accept(key="k"), now=NOW, actor=HANDLER)
    assert store.save(accepted, events)
    with pytest.raises(StaleVersion):
        store.save(accepted, events)   # still says version 1
    assert outbox.types() == ["cn.gov.12345.ticket.dispatched", "cn.gov.12345.assignment.accepted"]
    assert store.get_assignment("AS20261127000001").version == 2


def test_an_event_applied_once_is_skipped_when_it_comes_again(store, outbox):
    a, events = routed()
    store.add_assignment(a, events, cause="reg-1")
    for _ in range(2):
        a = store.get_assignment("AS20261127000001")
        state, events = d.reopen(a, c.Reopen(reason="reinvestigation", working_days=5), now=NOW, actor=SYSTEM_ACTOR)
        store.save(state, events, cause="order-1")
    a = store.get_assignment("AS20261127000001")
    assert a.round == 2 and a.version == 2
    # the reaction's event has an id derived from its cause: published again or not, it is one event
    assert len({e["id"] for e in outbox.of(AssignmentReopened)}) == 1


def test_returns_are_counted_per_unit(store):
    op = Actor("op", "operator")
    for i, approve in enumerate((True, False, None)):
        a, events = routed(f"AS2026112700010{i}")
        a, _ = d.request_return(replace(a, version=1), c.RequestReturn(key="k", reason="不属于本单位职责范围"),
                                now=NOW, actor=HANDLER)
        if approve is not None:
            a, _ = d.decide_return(a, c.DecideReturn(key="k", approve=approve), now=NOW, actor=op, rules=RULES,
                                   units=UNITS)
        store.add_assignment(replace(a, version=0), events, cause=f"reg-{i}")
    assert store.return_counts("city.environment") == {"requested": 3, "approved": 1, "rejected": 1, "waiting": 1}
    assert store.return_counts("city.housing") == {"requested": 0, "approved": 0, "rejected": 0, "waiting": 0}


def test_the_directory_keeps_rule_order_and_sees_its_own_changes_at_once(store):
    rules, units = store.directory()
    assert [r.id for r in rules] == [r.id for r in RULES] and set(units) == set(UNITS)
    store.put_rule(d.Rule("taxi", "transport.taxi", "city.market"))
    store.put_rule(replace(RULES[0], lead_unit="city.enforcement"))   # a changed rule keeps its place
    rules, _ = store.directory()
    assert [r.id for r in rules] == [r.id for r in RULES] + ["taxi"] and rules[0].lead_unit == "city.enforcement"
    assert [r["id"] for r in store.rules()][-1] == "taxi" and store.rules()[-1]["position"] == len(RULES)
    assert store.delete_rule("taxi") and not store.delete_rule("taxi")
    assert "taxi" not in [r.id for r in store.directory()[0]]
    unit = {k: v for k, v in UNITS["city.market"].items() if k not in ("_id", "id")}
    store.put_unit("city.market", {**unit, "active": False})
    assert "city.market" not in store.directory()[1]                  # an inactive unit gets no tickets
    assert store.unit("city.market")["active"] is False and store.unit("city.nowhere") is None
    assert [u["_id"] for u in store.units()] == sorted(UNITS)


def test_seeding_an_existing_directory_changes_nothing(store):
    store.delete_rule(RULES[0].id)
    store.seed(CONFIG)
    assert RULES[0].id not in [r.id for r in store.directory()[0]]


def test_a_document_written_before_the_aggregate_was_typed_still_reads():
    """Documents of the dict-based version lack what it added on the way (`round` before a reopening,
    `verification`, a decision's `note`); they read with the aggregate's initial values."""
    from services.routing.store import from_doc
    by = {"user_id": "system", "role": "system", "unit_id": None}
    stamp = {"user_id": "h", "role": "unit_handler", "unit_id": "city.environment", "at": NOW}
    doc = {"_id": "t1", "number": "AS1", "type": "complain", "category": "noise", "district": "lishan",
           "key_ticket": False, "registered_at": NOW, "status": "return_requested", "event_seq": 3,
           "lead_unit": "city.environment", "lead_unit_name": "市环保局", "first_responsible": True,
           "rule_id": "r6-noise", "dispatch_no": 1, "dispatched_at": NOW, "accepted": stamp, "reviews": [],
           "replies": [], "version": 4, "inbox": ["e1"], "event_ids": ["x"],
           "co_units": [{"unit_id": "city.market", "unit_name": "市市场监管局", "task": "", "status": "pending",
                         "added_at": NOW, "added_by": by}],
           "dispatches": [{"no": 1, "unit_id": "city.environment", "at": NOW, "by": by, "rule_id": "r6-noise",
                           "manual": False, "note": ""}],
           "returns": [{"unit_id": "city.environment", "unit_name": "市环保局", "reason": "不属于本单位职责范围",
                        "first_responsible": True, "requested": stamp, "status_before": "accepted",
                        "decision": None}],
           "verification": {"filed": True}}
    a = from_doc(doc)
    assert a.ticket_id == "t1" and a.version == 4 and a.round == 1 and a.accepted.at == NOW
    assert a.verification == d.Verification(required=False, filed=True)
    assert a.returns[0].decided is None and a.co_units[0].answered is None
    a, events = d.decide_return(a, c.DecideReturn(key="AS1", approve=False), now=NOW, actor=Actor("op", "operator"),
                                rules=RULES, units=UNITS)
    assert a.status == "accepted" and [e.seq for e in events] == [4, 5]   # rejected; a first-responsible refusal
