"""Intake's use cases through its handler table, over the in-memory store: registering (R1) with
Idempotency-Key replays, reading and listing with object-level scoping, the callback (R11) and key
tickets (R10)."""
from __future__ import annotations

from datetime import timedelta

import pytest

from hotline_common.dispatch import request
from hotline_common.errors import Conflict, Forbidden, NotFound, ValidationFailed
from services.intake.events import (
    CallbackRecorded,
    TicketChallenged,
    TicketClosed,
    TicketMarkedKey,
    TicketRegistered,
    TicketReopened,
)
from services.intake.handlers import HANDLERS
from services.intake.store import IdempotencyRace
from services.routing import events as rt
from services.sla import events as sla
from tests.support import validate_event
from tests.unit.test_intake_support import (
    ADMIN,
    HANDLER,
    NOW,
    OPERATOR,
    OTHER_UNIT,
    SUBSCRIBER,
    SUPERVISOR,
    deadline,
    deliver,
    execute,
    make_app,
    register,
    replied,
    routing,
    state,
    ticket,
)


def published(app):
    return app.store.tickets.outbox.published


def test_the_table_names_intakes_rpcs():
    assert sorted(HANDLERS.commands) == [
        "apply_retention", "approve_knowledge", "callback", "create_knowledge", "duplicate_candidates", "get_knowledge",
        "get_ticket", "list_knowledge", "list_reveals", "list_tickets", "mark_key", "merge", "progress_lookup", "register",
        "retire_knowledge", "reveal_contact", "search_knowledge", "unmerge", "update_knowledge"]


# -- register (R1) -------------------------------------------------------------------------------------

def test_register_numbers_the_ticket_and_publishes_a_registration_without_personal_data():
    app = make_app()
    created = register(app)
    assert created["created"] is True and created["version"] == 1
    assert created["number"] == "AS20261127000001" and created["status"] == "registered"
    assert created["status_label"] == "已登记" and created["type_label"] == "投诉"
    assert created["citizen"] == {"name": "张女士", "phone": "13800001234"}
    assert created["timeline"][0]["label"] == "工单登记" and created["timeline"][0]["detail"] == {"channel": "phone"}
    assert register(app)["number"] == "AS20261127000002"
    (event, _) = published(app)
    validate_event(event)
    assert event["type"] == TicketRegistered.full_type() and event["subject"] == created["number"]
    assert event["data"]["ticket_id"] == created["id"] and event["data"]["key_ticket"] is False
    for secret in ("13800001234", "张女士", "胜利南路", "烧烤"):
        assert secret not in str(event)
    stored = ticket(app, created["id"])
    assert stored == {k: v for k, v in created.items() if k not in ("created", "duplicates")}


def test_numbers_count_per_day_in_beijing():
    app = make_app()
    register(app)
    app.clock.set(NOW + timedelta(hours=14))  # 00:00 the next day in Beijing
    assert register(app)["number"] == "AS20261128000001"


def test_a_key_ticket_registered_as_such_says_so_in_its_event():
    app = make_app()
    register(app, key_ticket=True)
    assert published(app)[0]["data"]["key_ticket"] is True


def test_bad_registrations_name_the_fields_and_store_nothing():
    app = make_app()
    with pytest.raises(ValidationFailed) as err:
        register(app, type="rant", citizen={"phone": "12"}, extra="x")
    assert set(err.value.errors) == {"type", "citizen", "extra"} and "phone" in err.value.errors["citizen"]
    with pytest.raises(ValidationFailed) as err:
        register(app, category="noise.nowhere", district="atlantis")
    assert set(err.value.errors) == {"category", "district"}
    with pytest.raises(ValidationFailed):
        execute(app, "register", body=None)
    assert execute(app, "list_tickets")["items"] == [] and published(app) == []


def test_only_the_hotline_office_registers():
    app = make_app()
    with pytest.raises(Forbidden):
        register(app, HANDLER)
    assert register(app, ADMIN)["created"]


def test_an_idempotency_key_replays_the_ticket_and_refuses_another_request():
    app = make_app()
    first = register(app, idempotency_key="key-1")
    again = register(app, idempotency_key="key-1")
    assert first["created"] and not again["created"] and again["number"] == first["number"]
    with pytest.raises(ValidationFailed) as err:
        register(app, idempotency_key="key-1", content="完全不同的诉求内容")
    assert "Idempotency-Key" in err.value.errors
    assert len(execute(app, "list_tickets")["items"]) == 1 and len(published(app)) == 1
    assert register(app, idempotency_key="key-2")["created"]


@pytest.mark.parametrize("same", [True, False])
def test_a_request_that_loses_the_race_for_its_key_is_a_replay_or_refused(same):
    """Two requests with one key stored at once: the loser finds the winner's ticket."""
    app = make_app()
    winner = register(app, idempotency_key="key-1", content="楼下烧烤店每天夜里12点后仍然噪音扰民" if same else "另一件事情另一件事情")
    store = app.store
    original = store.by_idempotency_key
    store.by_idempotency_key = lambda key: None  # the loser looked before the winner stored
    real_add = store.add

    def add(ticket_, events):
        store.by_idempotency_key = original
        return real_add(ticket_, events)
    store.add = add
    if same:
        again = register(app, idempotency_key="key-1")
        assert not again["created"] and again["number"] == winner["number"]
    else:
        with pytest.raises(ValidationFailed):
            register(app, idempotency_key="key-1")
    assert len(execute(app, "list_tickets")["items"]) == 1


def test_a_race_whose_winner_vanished_is_not_hidden():
    app = make_app()
    app.store.add = lambda t, e: (_ for _ in ()).throw(IdempotencyRace("key-1"))
    with pytest.raises(IdempotencyRace):
        register(app, idempotency_key="key-1")


# -- reads ----------------------------------------------------------------------------------------------

def test_get_by_id_or_number_and_unknown_keys():
    app = make_app()
    created = register(app)
    assert ticket(app, created["id"])["number"] == ticket(app, created["number"])["number"]
    with pytest.raises(NotFound):
        ticket(app, "AS20261127999999")
    with pytest.raises(ValidationFailed):
        execute(app, "get_ticket", params={})
    with pytest.raises(ValidationFailed):
        execute(app, "get_ticket", params={"key": created["id"]}, body={"x": 1})


def test_units_see_and_list_only_their_own_tickets_with_masked_phones():
    app = make_app()
    mine = register(app)
    register(app)
    deliver(app, routing(rt.TicketDispatched, mine["id"], mine["number"]))
    assert ticket(app, mine["number"], HANDLER)["citizen"]["phone"] == "138****1234"
    assert ticket(app, mine["number"], SUPERVISOR)["citizen"]["phone"] == "138****1234"
    assert ticket(app, mine["number"], ADMIN)["citizen"]["phone"] == "13800001234"
    with pytest.raises(NotFound):
        ticket(app, mine["number"], OTHER_UNIT)
    with pytest.raises(NotFound):
        ticket(app, mine["number"], SUBSCRIBER)
    assert [t["number"] for t in execute(app, "list_tickets", HANDLER)["items"]] == [mine["number"]]
    # whatever unit it asks for, a unit lists its own
    assert [t["number"] for t in execute(app, "list_tickets", HANDLER, query={"unit": "city.housing"})["items"]] \
        == [mine["number"]]
    assert execute(app, "list_tickets", OTHER_UNIT)["items"] == []
    assert len(execute(app, "list_tickets", SUPERVISOR)["items"]) == 2
    with pytest.raises(Forbidden):
        execute(app, "list_tickets", SUBSCRIBER)


def test_list_filters_and_cursor_pagination():
    app = make_app()
    numbers = []
    for i, district in enumerate(("tiedong", "tiexi", "tiedong", "tiedong", "lishan")):
        app.clock.set(NOW + timedelta(minutes=i))
        numbers.append(register(app, district=district)["number"])
    page1 = execute(app, "list_tickets", query={"district": "tiedong", "limit": "2"})
    page2 = execute(app, "list_tickets", query={"district": "tiedong", "limit": "2", "cursor": page1["next_cursor"]})
    assert [t["number"] for t in page1["items"] + page2["items"]] == [numbers[3], numbers[2], numbers[0]]
    assert page2["next_cursor"] is None
    assert len(execute(app, "list_tickets", query={"category": "noise"})["items"]) == 5
    assert execute(app, "list_tickets", query={"category": "noise.construction"})["items"] == []
    assert len(execute(app, "list_tickets", query={"status": "registered", "type": "complain"})["items"]) == 5
    assert execute(app, "list_tickets", query={"status": "closed"})["items"] == []
    assert len(execute(app, "list_tickets", query={"overdue": "false"})["items"]) == 5
    window = {"created_from": "2026-11-27T02:01:00Z", "created_to": "2026-11-27T02:03:00Z"}
    assert [t["number"] for t in execute(app, "list_tickets", query=window)["items"]] == [numbers[2], numbers[1]]
    assert len(execute(app, "list_tickets", body={"limit": 1})["items"]) == 1  # a body works as the query
    with pytest.raises(ValidationFailed):
        execute(app, "list_tickets", query={"cursor": "garbage!"})
    with pytest.raises(ValidationFailed):
        execute(app, "list_tickets", query={"limit": "0"})
    with pytest.raises(ValidationFailed):
        execute(app, "list_tickets", query={"status": "lost"})


def test_overdue_and_closed_tickets_are_listed_as_such():
    app = make_app()
    late = register(app)
    done = replied(app)
    deliver(app, deadline(sla.DeadlineOverdue, late["id"], late["number"]))
    callback(app, done["number"], {"reached": True, "satisfaction": "satisfied"})
    assert [t["number"] for t in execute(app, "list_tickets", query={"overdue": "true"})["items"]] == [late["number"]]
    closed = execute(app, "list_tickets", query={"status": "closed"})["items"]
    assert [t["number"] for t in closed] == [done["number"]]
    assert execute(app, "list_tickets", query={"status": "replied"})["items"] == []


# -- callback (R11) -------------------------------------------------------------------------------------

def callback(app, key, body, actor=OPERATOR):
    return execute(app, "callback", actor, params={"key": key}, body=body)


def kinds(app):
    return [e["type"] for e in published(app)[-2:]]


@pytest.mark.parametrize("satisfaction, last, closed", [
    ("satisfied", TicketClosed, True),
    ("basically_satisfied", TicketClosed, True),
    ("unsatisfied", TicketReopened, False),
])
def test_callback_outcomes(satisfaction, last, closed):
    app = make_app()
    t = replied(app)
    after = callback(app, t["number"], {"reached": True, "satisfaction": satisfaction, "solved": True})
    assert kinds(app) == [CallbackRecorded.full_type(), last.full_type()]
    for event in published(app)[-2:]:
        validate_event(event)
        assert event["data"]["unit_id"] == "city.environment" and event["data"]["round"] == 1
    assert bool(after.get("closed")) is closed and after["satisfaction"] == satisfaction
    assert after["version"] == t["version"] + 1
    assert after["callbacks"][0]["attempt"] == 1 and after["callbacks"][0]["solved"] is True
    labels = [e["label"] for e in after["timeline"][-2:]]
    assert labels[0] == f"回访：{ {'satisfied': '满意', 'basically_satisfied': '基本满意', 'unsatisfied': '不满意'}[satisfaction]}"
    if closed:
        assert after["status"] == "closed" and after["handling_status"] == "replied"
        assert after["status_label"] == "已办结" and labels[1] == "办结"
        assert after["close_reason"] == satisfaction and after["closed_at"] == NOW.replace(microsecond=0)
        with pytest.raises(Conflict):
            callback(app, t["number"], {"reached": True, "satisfaction": "satisfied"})
    else:
        assert after["status"] == "replied" and labels[1] == "不满意，退回承办单位重办"
        assert after["timeline"][-1]["detail"] == {"reason": "unsatisfied"}


def test_a_reasonable_challenge_goes_to_supervision_and_keeps_the_ticket_open():
    app = make_app()
    t = replied(app)
    after = callback(app, t["number"], {"reached": True, "satisfaction": "unsatisfied", "challenge": True,
                                        "challenge_reason": "噪音依旧，答复与事实不符"})
    assert kinds(app) == [CallbackRecorded.full_type(), TicketChallenged.full_type()]
    assert published(app)[-1]["data"]["reason"] == "噪音依旧，答复与事实不符"
    assert after["challenged"] is True and "closed" not in after
    assert after["timeline"][-1]["label"] == "市民对办理结果提出合理质疑"
    with pytest.raises(ValidationFailed) as err:
        callback(app, t["number"], {"reached": True, "satisfaction": "unsatisfied", "challenge": True,
                                    "challenge_reason": "不对"})
    assert "challenge_reason" in err.value.errors


def test_unreached_citizens_are_called_again_then_the_ticket_closes_as_unreached():
    app = make_app(max_unreached_attempts=3)
    t = replied(app)
    for attempt in (1, 2, 3):
        after = callback(app, t["number"], {"reached": False, "satisfaction": "satisfied"})
        assert after["callbacks"][-1]["attempt"] == attempt and after["callbacks"][-1]["satisfaction"] is None
    assert after["timeline"][-2]["label"] == "回访未接通（第3次）"
    assert after["closed"] and after["close_reason"] == "unreached" and kinds(app)[-1] == TicketClosed.full_type()
    assert after["status_label"] == "已办结（回访未接通）" and after["timeline"][-1]["label"] == "办结（回访未接通）"
    with pytest.raises(Conflict):
        callback(app, t["number"], {"reached": True, "satisfaction": "satisfied"})


def test_a_new_round_counts_its_attempts_anew():
    app = make_app(max_unreached_attempts=2)
    t = replied(app)
    callback(app, t["number"], {"reached": False})
    deliver(app, routing(rt.AssignmentReopened, t["id"], t["number"], seq=3, round=2,
                         st=state("replied", round=2)))
    after = callback(app, t["number"], {"reached": False})
    assert after["callbacks"][-1] == {**after["callbacks"][-1], "round": 2, "attempt": 1}
    assert "closed" not in after


def test_units_record_their_own_callbacks_without_closing_and_only_after_the_reply():
    app = make_app()
    t = replied(app)
    after = callback(app, t["number"], {"reached": True, "satisfaction": "satisfied"}, HANDLER)
    assert after["callbacks"][0]["by_unit"] and after["callbacks"][0]["attempt"] == 0
    assert published(app)[-1]["data"]["by"] == "unit" and "closed" not in after and "satisfaction" not in after
    assert after["timeline"][-1]["label"] == "单位回访"
    with pytest.raises(NotFound):
        callback(app, t["number"], {"reached": True, "satisfaction": "satisfied"}, OTHER_UNIT)
    with pytest.raises(Forbidden):
        callback(app, t["number"], {"reached": True, "satisfaction": "satisfied"}, SUPERVISOR)
    with pytest.raises(ValidationFailed):
        callback(app, t["number"], {"reached": True, "satisfaction": None})
    with pytest.raises(ValidationFailed):
        callback(app, t["number"], {})
    fresh = register(app)
    with pytest.raises(Conflict):
        callback(app, fresh["number"], {"reached": True, "satisfaction": "satisfied"})


def test_a_callback_retries_a_race_it_cannot_see():
    """Another writer (a view update) moves the ticket between the read and the write: decided again."""
    app = make_app()
    t = replied(app)
    store = app.store
    real_save = store.save
    calls = []

    def save(before, after, events):
        calls.append(before.version)
        if len(calls) == 1:
            deliver(app, deadline(sla.DeadlineMet, t["id"], t["number"], state="met"))
        return real_save(before, after, events)
    store.save = save
    after = callback(app, t["number"], {"reached": True, "satisfaction": "satisfied"})
    assert calls == [t["version"], t["version"] + 1] and after["closed"]
    assert [e["label"] for e in after["timeline"][-3:]] == ["按时办结", "回访：满意", "办结"]


# -- key tickets (R10) -------------------------------------------------------------------------------

def mark(app, key, reason, actor=OPERATOR):
    return execute(app, "mark_key", actor, params={"key": key}, body={"reason": reason})


def test_mark_key():
    app = make_app()
    t = register(app)
    deliver(app, routing(rt.TicketDispatched, t["id"], t["number"]))
    with pytest.raises(Forbidden):
        mark(app, t["number"], "多次反映未解决", HANDLER)
    with pytest.raises(ValidationFailed):
        mark(app, t["number"], "  重 ")
    with pytest.raises(ValidationFailed):
        execute(app, "mark_key", params={"key": t["number"]}, body={})
    after = mark(app, t["number"], "  多次反映未解决 ")
    assert after["key_ticket"] is True and after["key_reason"] == "多次反映未解决"
    assert after["timeline"][-1]["label"] == "标记为重点问题件"
    assert after["timeline"][-1]["detail"] == {"reason": "多次反映未解决"}
    (event,) = [e for e in published(app) if e["type"] == TicketMarkedKey.full_type()]
    validate_event(event)
    assert event["data"]["unit_id"] == "city.environment" and event["data"]["actor"]["role"] == "operator"
    with pytest.raises(Conflict):
        mark(app, t["number"], "再次标记一下")
    with pytest.raises(NotFound):
        mark(app, "AS20261127999999", "多次反映未解决")


def test_a_closed_ticket_is_not_marked_key():
    app = make_app()
    t = replied(app)
    callback(app, t["number"], {"reached": True, "satisfaction": "satisfied"})
    with pytest.raises(Conflict):
        mark(app, t["number"], "多次反映未解决")


def test_the_rpc_request_shape():
    """What the gateway sends: request(params=..., body=..., query=..., idempotency_key=...)."""
    app = make_app()
    created = HANDLERS.execute(app, "register", request(body={
        "channel": "web", "type": "consult", "category": "housing", "district": "tiexi",
        "citizen": {"phone": "0412-1234567"}, "content": "咨询房屋维修基金"}), OPERATOR)
    assert created["address"] == "" and created["citizen"] == {"name": "", "phone": "0412-1234567"}
    assert created["external_ref"] is None and created["key_ticket"] is False
    assert HANDLERS.execute(app, "get_ticket", request(params={"key": created["number"]}), SUPERVISOR)[
        "citizen"]["phone"] == "0412-***4567"
