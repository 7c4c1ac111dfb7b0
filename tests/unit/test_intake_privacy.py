"""Personal data (PIPL, issue 10) over the fakes: a citizen's name and phone in full only for the
hotline office; a unit handling the ticket reveals them with a reason, recorded and listed for the
hotline office; the retention policy erases them from long-closed tickets, irreversibly, while the
ticket, its timeline and its facts stay."""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from hotline_common.actors import Actor
from hotline_common.errors import Conflict, Forbidden, NotFound, ValidationFailed
from services.intake import domain
from services.intake.handlers import HANDLERS
from services.intake.privacy.domain import RetentionPolicy
from services.intake.privacy.fakes import FakeAuditLog, FakeContactData
from services.intake.privacy.handlers import Privacy, retention_timer
from services.intake.service import retention_policy
from tests.unit.test_intake_support import (
    ADMIN,
    HANDLER,
    NOW,
    OPERATOR,
    OTHER_UNIT,
    SUPERVISOR,
    execute,
    make_app,
    register,
    replied,
    ticket,
)

CONFIG = Path(__file__).resolve().parents[2] / "config"
LEADER = Actor("l1", "unit_leader", "city.environment")
REASON = "需要电话联系市民核实噪音发生的具体时段"


def app_with_privacy(days: int = 180):
    app = make_app()
    app.privacy = Privacy(audit=FakeAuditLog(), contacts=FakeContactData(app.store.tickets),
                          policy=RetentionPolicy(contact_data_days_after_close=days))
    return app


def reveal(app, key, actor=HANDLER, reason=REASON, idempotency_key=None):
    return execute(app, "reveal_contact", actor, params={"key": key}, body={"reason": reason},
                   idempotency_key=idempotency_key)


def reveals(app, actor=OPERATOR, **query):
    return execute(app, "list_reveals", actor, query=query)["items"]


def closed(app, **overrides):
    t = replied(app, **overrides)
    execute(app, "callback", OPERATOR, params={"key": t["number"]}, body={"reached": True, "satisfaction": "satisfied"})
    return ticket(app, t["number"])


# -- who sees what --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name, masked", [("张女士", "张**"), ("欧阳娜娜", "欧***"), ("李", "*"), ("", ""),
                                          ("Li", "L*")])
def test_a_name_keeps_only_its_first_character(name, masked):
    assert domain.mask_name(name) == masked


def test_only_the_hotline_office_sees_the_citizen_in_full():
    app = app_with_privacy()
    t = replied(app)
    for actor in (OPERATOR, ADMIN):
        assert ticket(app, t["number"], actor)["citizen"] == {"name": "张女士", "phone": "13800001234"}
    for actor in (HANDLER, LEADER, SUPERVISOR):
        assert ticket(app, t["number"], actor)["citizen"] == {"name": "张**", "phone": "138****1234"}
    listed = execute(app, "list_tickets", HANDLER, query={})["items"]
    assert [x["citizen"] for x in listed] == [{"name": "张**", "phone": "138****1234"}]


# -- a unit reveals the contact, with a reason; the hotline office lists the reveals ------------------------

def test_a_unit_handling_the_ticket_reveals_the_contact_and_the_reveal_is_recorded():
    app = app_with_privacy()
    t = replied(app)
    app.clock.set(NOW + timedelta(hours=3))
    shown = reveal(app, t["number"], reason=f"  {REASON}  ")
    assert shown["citizen"] == {"name": "张女士", "phone": "13800001234"} and shown["created"] is True
    assert shown["ticket_id"] == t["id"] and shown["number"] == t["number"]
    (record,) = reveals(app)
    assert record == {"id": shown["id"], "ticket_id": t["id"], "number": t["number"], "unit_id": "city.environment",
                      "user_id": "u1", "role": "unit_handler", "reason": REASON, "at": NOW + timedelta(hours=3)}
    assert ticket(app, t["number"], HANDLER)["citizen"]["phone"] == "138****1234"  # the view stays masked
    assert ticket(app, t["number"])["version"] == t["version"]                    # the ticket is not touched


def test_a_repeat_under_its_idempotency_key_is_recorded_once():
    app = app_with_privacy()
    t = replied(app)
    first = reveal(app, t["number"], idempotency_key="k1")
    again = reveal(app, t["id"], idempotency_key="k1")
    assert again["id"] == first["id"] and again["created"] is False and again["citizen"] == first["citizen"]
    assert len(reveals(app)) == 1
    other = reveal(app, t["number"], actor=LEADER, idempotency_key="k1")  # a key is per user
    assert other["id"] != first["id"] and len(reveals(app)) == 2
    second = replied(app)
    with pytest.raises(ValidationFailed):
        reveal(app, second["number"], idempotency_key="k1")


def test_a_reveal_needs_a_reason_a_unit_role_and_the_units_own_ticket():
    app = app_with_privacy()
    t = replied(app)
    with pytest.raises(ValidationFailed) as err:
        reveal(app, t["number"], reason="  看看  ")
    assert "reason" in err.value.errors
    with pytest.raises(ValidationFailed):
        reveal(app, t["number"], reason="abc")   # the schema: at least four characters
    with pytest.raises(NotFound):
        reveal(app, t["number"], actor=OTHER_UNIT)
    with pytest.raises(NotFound):
        reveal(app, "AS20261127999999")
    with pytest.raises(Forbidden):
        reveal(app, t["number"], actor=OPERATOR)   # sees it in full: nothing to reveal
    with pytest.raises(Forbidden):
        reveal(app, t["number"], actor=SUPERVISOR)
    assert reveals(app) == []


def test_the_hotline_office_lists_reveals_by_ticket_unit_user_and_time():
    app = app_with_privacy()
    a, b = replied(app), replied(app)
    reveal(app, a["number"])
    app.clock.set(NOW + timedelta(days=1))
    reveal(app, b["number"], actor=LEADER)
    assert [r["number"] for r in reveals(app)] == [b["number"], a["number"]]          # newest first
    assert [r["number"] for r in reveals(app, ticket=a["number"])] == [a["number"]]
    assert [r["number"] for r in reveals(app, ticket=b["id"])] == [b["number"]]
    assert reveals(app, ticket="AS20261127999999") == []
    assert [r["user_id"] for r in reveals(app, user="l1")] == ["l1"]
    assert len(reveals(app, unit="city.environment")) == 2 and reveals(app, unit="city.housing") == []
    assert [r["number"] for r in reveals(app, **{"from": "2026-11-27T12:00:00Z"})] == [b["number"]]
    assert [r["number"] for r in reveals(app, to="2026-11-27T12:00:00Z")] == [a["number"]]
    assert len(reveals(app, ADMIN, limit="1")) == 1
    for actor in (HANDLER, LEADER, SUPERVISOR):
        with pytest.raises(Forbidden):
            reveals(app, actor)
    with pytest.raises(ValidationFailed):
        reveals(app, limit="0")


# -- the retention policy -----------------------------------------------------------------------------------

def test_contact_data_of_tickets_closed_longer_ago_than_the_policy_is_erased_and_the_rest_stays():
    app = app_with_privacy(days=180)
    old = closed(app, address="铁东区胜利南路88号")
    app.clock.set(NOW + timedelta(days=10))
    recent = closed(app)
    still_open = replied(app)
    app.clock.set(NOW + timedelta(days=181))
    before = ticket(app, old["number"])
    events_before = len(app.store.tickets.outbox.published)
    run = execute(app, "apply_retention", ADMIN)
    assert run["erased"] == 1 and run["policy"] == {"contact_data_days_after_close": 180}
    assert run["cutoff"] == "2026-11-28T02:00:00.000Z"
    after = ticket(app, old["number"])
    assert after["citizen"] == {"name": "", "phone": ""} and after["address"] == ""
    assert after["timeline"][:-1] == before["timeline"]
    assert after["timeline"][-1]["label"] == "市民联系信息已按保存期限删除"
    assert after["timeline"][-1]["detail"] == {"policy_days": 180}
    same = ("number", "status", "status_label", "category", "district", "content", "type", "closed", "closed_at",
            "satisfaction", "callbacks", "lead_unit", "units", "reply", "created_at")
    assert {k: after.get(k) for k in same} == {k: before.get(k) for k in same}
    assert "13800001234" not in str(app.store.tickets.docs[old["id"]])   # irreversible: not kept anywhere
    assert "张女士" not in str(app.store.tickets.docs[old["id"]])
    assert ticket(app, recent["number"])["citizen"]["phone"] == "13800001234"
    assert ticket(app, still_open["number"])["citizen"]["phone"] == "13800001234"
    assert len(app.store.tickets.outbox.published) == events_before  # nothing to tell: no service keeps the contact
    assert execute(app, "apply_retention", ADMIN)["erased"] == 0                       # once
    assert len(ticket(app, old["number"])["timeline"]) == len(after["timeline"])
    (audit,) = app.privacy.audit.runs()
    assert audit["ticket_ids"] == [old["id"]]
    app.clock.set(NOW + timedelta(days=191))
    assert execute(app, "apply_retention", ADMIN)["erased"] == 1                       # now the recent one


def test_a_unit_cannot_reveal_an_erased_contact():
    app = app_with_privacy(days=30)
    t = closed(app)
    first = reveal(app, t["number"], idempotency_key="k")
    app.clock.set(NOW + timedelta(days=31))
    execute(app, "apply_retention", ADMIN)
    with pytest.raises(Conflict):
        reveal(app, t["number"])
    with pytest.raises(Conflict):
        reveal(app, t["number"], idempotency_key="k")
    assert [r["id"] for r in reveals(app)] == [first["id"]]                             # the record stays


def test_a_registration_repeated_after_the_erasure_is_not_matched_against_the_erased_contact():
    app = app_with_privacy(days=30)
    t = replied(app, idempotency_key="reg-1")
    execute(app, "callback", OPERATOR, params={"key": t["number"]}, body={"reached": True, "satisfaction": "satisfied"})
    app.clock.set(NOW + timedelta(days=31))
    execute(app, "apply_retention", ADMIN)
    assert app.store.tickets.docs[t["id"]]["idempotency"] == {"key": "reg-1", "hash": "erased"}
    with pytest.raises(ValidationFailed):
        register(app, idempotency_key="reg-1")


def test_only_admin_and_intakes_timer_apply_the_policy():
    app = app_with_privacy(days=30)
    t = closed(app)
    for actor in (OPERATOR, SUPERVISOR, HANDLER):
        with pytest.raises(Forbidden):
            execute(app, "apply_retention", actor)
    app.clock.set(NOW + timedelta(days=31))
    retention_timer(app)
    assert ticket(app, t["number"])["citizen"] == {"name": "", "phone": ""}
    assert ticket(app, t["number"])["timeline"][-1]["actor"]["role"] == "system"


def test_the_policy_comes_from_config_retention_yaml():
    policy = retention_policy(CONFIG)
    assert policy.contact_data_days_after_close == 180 and policy.check_interval_seconds > 0
    assert RetentionPolicy.from_config({"contact_data_days_after_close": "90"}).contact_data_days_after_close == 90
    with pytest.raises(ValueError):
        RetentionPolicy(contact_data_days_after_close=0)


def test_the_commands_are_in_intakes_table():
    assert {"reveal_contact", "list_reveals", "apply_retention"} <= set(HANDLERS.commands)
