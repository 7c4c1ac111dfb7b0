"""The citizen's progress lookup (issue 15): intake's `progress_lookup` over the fakes answers only the
status, unit, deadline, reply date and public summary, 404 alike for a wrong number and wrong digits,
and records every lookup; the gateway's GET /v1/progress needs no token, and throttles an address
after repeated misses (429 + Retry-After)."""
from __future__ import annotations

import falcon.testing
import pytest

import services.routing.events as rt
from gateway.app import create_app
from gateway.auth import TokenVerifier
from gateway.progress import MissLimit
from hotline_common.errors import NotFound, ValidationFailed
from hotline_common.settings import Settings
from hotline_common.testing import FakeRpc
from services.intake.privacy.domain import RetentionPolicy
from services.intake.privacy.fakes import FakeAuditLog, FakeContactData
from services.intake.privacy.handlers import Privacy
from tests.unit.test_intake_support import (
    deadline,
    deliver,
    execute,
    make_app,
    register,
    routing,
    state,
)

PUBLIC = {"user_id": "citizen", "role": "system", "unit_id": None}


def lookup_app():
    app = make_app()
    app.privacy = Privacy(audit=FakeAuditLog(), contacts=FakeContactData(app.store.tickets),
                          policy=RetentionPolicy(contact_data_days_after_close=180))
    return app


def lookup(app, number, digits, client="203.0.113.9"):
    from hotline_common.actors import Actor
    return execute(app, "progress_lookup", Actor.from_dict(PUBLIC), params={"client": client},
                   query={"number": number, "phone_last4": digits})


def test_a_registered_ticket_answers_its_status_only():
    app = lookup_app()
    created = register(app)  # phone 13800001234
    answer = lookup(app, created["number"], "1234")
    assert answer == {"number": created["number"], "status": "registered", "status_label": "已登记", "unit": None,
                      "due_date": None, "replied_at": None, "reply_summary": None}


def test_a_replied_ticket_answers_unit_deadline_reply_date_and_public_summary():
    import services.sla.events as sla
    app = lookup_app()
    created = register(app)
    deliver(app, routing(rt.TicketDispatched, created["id"], created["number"], seq=1))
    deliver(app, deadline(sla.DeadlineSet, created["id"], created["number"], seq=1))
    deliver(app, routing(rt.TicketReplied, created["id"], created["number"], seq=2, st=state("replied"),
                         public_summary="已责令商户夜间停业整改"))
    answer = lookup(app, created["number"], "1234")
    assert answer["status_label"] == "已答复" and answer["unit"] == "市环保局"
    assert answer["due_date"] and answer["replied_at"] and answer["reply_summary"] == "已责令商户夜间停业整改"
    assert set(answer) == {"number", "status", "status_label", "unit", "due_date", "replied_at", "reply_summary"}


def test_without_a_public_summary_only_the_result_label():
    app = lookup_app()
    created = register(app)
    deliver(app, routing(rt.TicketReplied, created["id"], created["number"], seq=2, st=state("replied")))
    assert lookup(app, created["number"], "1234")["reply_summary"] == "已解决"


def test_wrong_digits_and_unknown_numbers_answer_the_same_not_found_and_are_audited():
    app = lookup_app()
    created = register(app)
    with pytest.raises(NotFound) as wrong:
        lookup(app, created["number"], "9999")
    with pytest.raises(NotFound) as unknown:
        lookup(app, "AS20990101000001", "1234")
    assert str(wrong.value).replace(created["number"], "N") == str(unknown.value).replace("AS20990101000001", "N")
    with pytest.raises(NotFound):
        lookup(app, created["id"], "1234")  # by number only, not by the internal id
    lookup(app, created["number"], "1234")
    records = sorted(app.privacy.audit.lookups(), key=lambda d: d["number"])
    assert [(d["number"] == created["number"], d["hit"]) for d in records].count((True, False)) == 1
    assert sum(d["hit"] for d in records) == 1 and all(d["client"] == "203.0.113.9" for d in records)
    assert all("1234" not in str(d.get("phone_last4", "")) and "phone" not in d for d in records)
    assert app.privacy.audit.reveals() == []  # lookups are not reveals


@pytest.mark.parametrize("query", [{"number": "AS1", "phone_last4": "12a4"}, {"number": "AS20261127000001"},
                                   {"number": "AS20261127000001", "phone_last4": "1234", "name": "x"}])
def test_malformed_lookups_are_refused(query):
    from hotline_common.actors import Actor
    with pytest.raises(ValidationFailed):
        execute(lookup_app(), "progress_lookup", Actor.from_dict(PUBLIC), query=query)


# -- the gateway ----------------------------------------------------------------------------------------

@pytest.fixture
def rpc():
    return FakeRpc()


@pytest.fixture
def client(rpc, monkeypatch):
    monkeypatch.setenv("PROGRESS_MISS_LIMIT", "3/600")
    monkeypatch.setenv("PROGRESS_RATE_LIMIT", "100/600")
    app = create_app(Settings.from_env({}), rpc, TokenVerifier("s" * 40, "test"))
    return falcon.testing.TestClient(app)


def answer_for(number="N1", digits="1234"):
    def call(req, actor):
        q = req["query"]
        if (q.get("number"), q.get("phone_last4")) != (number, digits):
            raise NotFound(f"no ticket {q.get('number')} with this phone")
        return {"number": number, "status": "dispatched", "status_label": "已交办", "unit": "市环保局",
                "due_date": "2026-12-04", "replied_at": None, "reply_summary": None}
    return call


def test_the_lookup_needs_no_token_and_passes_the_client_address(client, rpc):
    rpc.on("intake", "progress_lookup", answer_for())
    answer = client.simulate_get("/v1/progress", params={"number": "N1", "phone_last4": "1234"},
                                 remote_addr="198.51.100.7")
    assert answer.status_code == 200 and answer.json["unit"] == "市环保局"
    assert answer.headers["Cache-Control"] == "no-store"
    _, _, (req, actor), _ = rpc.calls[-1]
    assert req["params"] == {"client": "198.51.100.7"} and actor["role"] == "system"


def test_repeated_misses_are_throttled_per_address(client, rpc):
    rpc.on("intake", "progress_lookup", answer_for())
    for digits in ("0000", "0001", "0002"):
        miss = client.simulate_get("/v1/progress", params={"number": "N1", "phone_last4": digits},
                                   remote_addr="198.51.100.7")
        assert miss.status_code == 404 and miss.headers["Content-Type"] == "application/problem+json"
    calls = len(rpc.calls)
    throttled = client.simulate_get("/v1/progress", params={"number": "N1", "phone_last4": "1234"},
                                    remote_addr="198.51.100.7")
    assert throttled.status_code == 429 and int(throttled.headers["Retry-After"]) > 0
    assert len(rpc.calls) == calls  # not even asked: the right digits do not get through either
    other = client.simulate_get("/v1/progress", params={"number": "N1", "phone_last4": "1234"},
                                remote_addr="198.51.100.8")
    assert other.status_code == 200


def test_misses_leave_the_window():
    now = [0.0]
    limit = MissLimit(2, 60, clock=lambda: now[0])
    limit.miss("a")
    now[0] = 30
    limit.miss("a")
    assert limit.retry_after("a") == 30
    now[0] = 60.5
    assert limit.retry_after("a") == 0 and limit.retry_after("b") == 0


# -- routing: the reply's summary marked public travels in ticket.replied ------------------------------

def test_the_reply_carries_the_summary_the_unit_marked_public():
    from hotline_common import event_schemas
    from hotline_common.testing import FixedClock, RecordingOutbox, at
    from services.routing.fakes import MemoryRoutingStore
    from services.routing.handlers import Routing
    from tests.unit.test_routing_handlers import (
        CATALOG,
        ENV_HANDLER,
        ENV_LEADER,
        NOW,
        REPLY,
        RULES,
        UNITS,
        run,
        ticket,
    )
    outbox = RecordingOutbox("routing", FixedClock(at(NOW)))
    app = Routing(store=MemoryRoutingStore(outbox, units=UNITS, rules=RULES), clock=outbox.clock, catalog=CATALOG)
    number = ticket(app)
    run(app, "accept", ENV_HANDLER, number)
    run(app, "review", ENV_LEADER, number, {"instructions": "请执法大队今晚夜查并答复"})
    run(app, "reply", ENV_HANDLER, number, {**REPLY, "public_summary": "  已责令商户整改  "})
    replied = outbox.of(rt.TicketReplied)[-1]
    assert (replied.get("data") or replied)["public_summary"] == "已责令商户整改"
    for published in outbox.published:
        event_schemas.check(published)
    with pytest.raises(ValidationFailed):
        run(app, "reply", ENV_HANDLER, number, {**REPLY, "public_summary": "x" * 501})
