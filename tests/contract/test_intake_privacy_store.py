"""The privacy adapters (issue 10) on the fake and on MongoDB (`-m integration`): the audit of reveals
(once per id, filtered, newest first) and the erasure of a closed ticket's contact data (found once
due, erased once, the rest of the ticket untouched)."""
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest

from hotline_common.actors import Actor
from hotline_common.catalog import load_catalog
from hotline_common.errors import StaleVersion
from hotline_common.testing import FixedClock, RecordingOutbox, at
from services.intake import domain
from services.intake.commands import CitizenDetails, Register
from services.intake.privacy.domain import ERASED_LABEL, ERASED_TYPE, Reveal

CONFIG = Path(__file__).resolve().parents[2] / "config"
CATALOG = load_catalog(CONFIG)
NOW = at("2026-11-27T02:00:00Z")
OPERATOR = Actor("op1", "operator")
CALL = Register(channel="phone", type="complain", category="noise.neighbourhood", district="tiedong",
                address="铁东区胜利南路88号", citizen=CitizenDetails(name="张女士", phone="13800001234"),
                content="楼下烧烤店每天夜里12点后仍然噪音扰民", idempotency_key="k-1")


@pytest.fixture
def outbox():
    return RecordingOutbox("intake", FixedClock(NOW))


@pytest.fixture(params=["fake", pytest.param("mongo", marks=pytest.mark.integration)])
def stores(request, outbox):
    """(intake store, audit log, contact data) of one kind."""
    if request.param == "fake":
        from services.intake.fakes import FakeIntakeStore
        from services.intake.privacy.fakes import FakeAuditLog, FakeContactData
        tickets = FakeIntakeStore(outbox)
        return tickets, FakeAuditLog(), FakeContactData(tickets.tickets)
    from hotline_common.mongo import client
    from services.intake.privacy.store import AuditLog, ContactData
    from services.intake.store import IntakeStore
    uri, prefix = request.getfixturevalue("mongo_uri"), request.getfixturevalue("db_prefix")
    database = client(uri)[prefix + "intake"]
    tickets = IntakeStore(database, outbox, SimpleNamespace(ticket_number_block=5))
    tickets.ensure_indexes()
    audit, contacts = AuditLog(database), ContactData(database, tickets.tickets)
    audit.ensure_indexes()
    contacts.ensure_indexes()
    return tickets, audit, contacts


def stored_ticket(store, n, *, closed_at=None):
    ticket, events = domain.register(None, replace(CALL, idempotency_key=f"k-{n}"), now=NOW, actor=OPERATOR,
                                     catalog=CATALOG, allocate=lambda: (f"t{n:03d}", f"AS20261127{n:06d}"))
    if closed_at is not None:
        ticket = replace(ticket, closed=True, close_reason="satisfied", closed_at=closed_at)
    store.add(ticket, events)
    return store.get(ticket.id)


def reveal(n, at_, ticket="t001", unit="city.environment", user="u1"):
    return Reveal(id=f"rv{n}", ticket_id=ticket, number="AS20261127000001", unit_id=unit, user_id=user,
                  role="unit_handler", reason="需要电话联系市民核实情况", at=at_)


def test_a_reveal_is_recorded_once_and_listed_newest_first_by_filter(stores):
    _, audit, _ = stores
    assert audit.add_reveal(reveal(1, NOW)) is True
    assert audit.add_reveal(reveal(1, NOW)) is False                       # the same id: a repeat
    audit.add_reveal(reveal(2, NOW + timedelta(hours=1), ticket="t002", unit="city.housing", user="u2"))
    assert audit.get_reveal("rv1") == reveal(1, NOW) and audit.get_reveal("nope") is None
    assert [r.id for r in audit.reveals()] == ["rv2", "rv1"]
    assert [r.id for r in audit.reveals(ticket_ids=["t001"])] == ["rv1"]
    assert audit.reveals(ticket_ids=[]) == []
    assert [r.id for r in audit.reveals(unit="city.housing")] == ["rv2"]
    assert [r.id for r in audit.reveals(user="u1")] == ["rv1"]
    assert [r.id for r in audit.reveals(since=NOW + timedelta(minutes=30))] == ["rv2"]
    assert [r.id for r in audit.reveals(until=NOW + timedelta(minutes=30))] == ["rv1"]
    assert [r.id for r in audit.reveals(limit=1)] == ["rv2"]
    audit.add_retention_run("rt1", NOW, NOW, ["t001"])
    assert [r.id for r in audit.reveals()] == ["rv2", "rv1"]                # a retention run is no reveal


def test_a_closed_ticket_is_due_after_the_cutoff_and_erased_once(stores):
    store, _, contacts = stores
    old = stored_ticket(store, 1, closed_at=NOW - timedelta(days=200))
    stored_ticket(store, 2, closed_at=NOW - timedelta(days=100))
    stored_ticket(store, 3)                                                # open
    cutoff = NOW - timedelta(days=180)
    assert contacts.due(cutoff, 10) == [("t001", old.version, True)]
    entry = domain.timeline_entry(NOW, ERASED_TYPE, ERASED_LABEL, {"role": "system"}, {"policy_days": 180})
    assert contacts.erase("t001", old.version, NOW, entry, True)
    with pytest.raises(StaleVersion):
        contacts.erase("t001", old.version, NOW, entry, True)              # moved on: not twice
    after = store.get("t001")
    assert after.citizen == domain.Citizen(name="", phone="") and after.address == ""
    assert after.idempotency == domain.Idempotency(key="k-1", hash="erased")
    assert after.timeline[-1].type == ERASED_TYPE and after.timeline[:-1] == old.timeline
    assert replace(after, citizen=old.citizen, address=old.address, idempotency=old.idempotency,
                   timeline=old.timeline, version=old.version) == old
    assert contacts.erased("t001") and not contacts.erased("t002")
    assert contacts.due(cutoff, 10) == []
    assert [t for t, *_ in contacts.due(NOW, 10)] == ["t002"]
