"""notify's use cases through its one handler table (`HANDLERS`) over the in-memory store and fake
senders: subscriptions over RPC, every event offered to the subscriptions, the timer's deliveries with
retries, dead letters and replay, disabling, and notices to units' contacts."""
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from hotline_common import event_schemas
from hotline_common.actors import Actor
from hotline_common.dispatch import Outcome, request
from hotline_common.errors import Forbidden, NotFound, RuleViolation, ValidationFailed
from hotline_common.messages import load_all
from hotline_common.testing import FixedClock, RecordingOutbox, at
from services.escalation.events import ReinvestigationOrdered, SupervisionOpened
from services.notify import commands as c
from services.notify import handlers
from services.notify.events import NoticeDelivered, NoticeFailed
from services.notify.fakes import (
    DOWN,
    OK,
    FakeSms,
    FakeWebhooks,
    MemoryNotifyStore,
    case_event,
    deadline_event,
    event_envelope,
    fake_resolver,
    reminder_sent,
    ticket_dispatched,
)
from services.notify.handlers import HANDLERS, Notify
from services.notify.settings import CLAIM_ROUNDS, NotifySettings, load_units
from services.sla.events import DeadlineExtended, DeadlineOverdue, ExtensionRejected

CONFIG = Path(__file__).resolve().parents[2] / "config"
NOW = at("2026-11-27T02:00:00Z")
PORTAL = Actor("cityportal", "subscriber")
PAPER = Actor("newspaper", "subscriber")
ADMIN = Actor("admin1", "admin")
OPERATOR = Actor("op1", "operator")
HOOK = "https://hooks.cityportal.example/12345"
SETTINGS = NotifySettings.load(CONFIG, environ={"NOTIFY_ALLOWED_HOSTS": "127.0.0.1"})
UNITS = load_units(CONFIG)
DNS = {"hooks.cityportal.example": ["93.184.216.34"], "hooks.paper.example": ["1.1.1.1"],
       "intranet.example": ["10.0.0.8"], "sneaky.example": ["1.0.0.1", "192.168.0.3"]}


class DeferredRunner:
    """A pool of `size` that runs what it was given only when told (to see the bounds)."""

    def __init__(self, size: int):
        self.size = size
        self.queued: list = []

    def free(self) -> int:
        return self.size - len(self.queued)

    def spawn(self, fn, *args) -> None:
        self.queued.append((fn, args))

    def run_all(self) -> None:
        queued, self.queued = self.queued, []
        for fn, args in queued:
            fn(*args)


@pytest.fixture
def world():
    class World:
        pass
    w = World()
    w.clock = FixedClock(NOW)
    w.outbox = RecordingOutbox("notify", w.clock)
    w.store = MemoryNotifyStore(w.outbox)
    w.webhooks = FakeWebhooks()
    w.sms = FakeSms()
    w.settings = replace(SETTINGS, webhooks=replace(SETTINGS.webhooks, disable_after_failures=6,
                                                    disable_after=timedelta(minutes=30)))
    ids = iter(f"sub{i}" for i in range(1, 100))
    w.app = Notify(store=w.store, clock=w.clock, settings=w.settings, units=UNITS, webhooks=w.webhooks,
                   sms=w.sms, resolve=fake_resolver(DNS), new_id=lambda: next(ids), deliver_on_arrival=False)
    return w


def create(w, actor=PORTAL, **body):
    body = {"url": HOOK, "types": ["ticket.#", "deadline.overdue"], **body}
    return HANDLERS.execute(w.app, "create_subscription", request(body=body), actor)


def call(w, name, actor=PORTAL, **kwargs):
    return HANDLERS.execute(w.app, name, request(**kwargs), actor)


def react(w, event, event_id=None):
    return HANDLERS.react(w.app, event_envelope(event, time=w.clock.now(), event_id=event_id))


def later(w, seconds: float) -> None:
    w.clock.advance(timedelta(seconds=seconds))


# -- subscriptions ------------------------------------------------------------------------------------------

def test_a_subscriber_makes_a_subscription_and_sees_its_secret_once(world):
    made = create(world, description="城市门户")
    assert made["id"] == "sub1" and made["secret"].startswith("whsec_") and len(made["secret"]) > 40
    assert made["types"] == ["cn.gov.12345.ticket.#", "cn.gov.12345.deadline.overdue"]
    assert (made["state"], made["owner"], made["description"]) == ("active", "cityportal", "城市门户")
    shown = call(world, "get_subscription", params={"subscription_id": "sub1"})
    assert "secret" not in shown and shown["url"] == HOOK
    assert [s["id"] for s in call(world, "list_subscriptions")["items"]] == ["sub1"]
    assert all("secret" not in s for s in call(world, "list_subscriptions")["items"])


def test_subscriptions_are_their_owners_and_admins(world):
    create(world)
    create(world, actor=PAPER, url="https://hooks.paper.example/in")
    assert [s["owner"] for s in call(world, "list_subscriptions", actor=PAPER)["items"]] == ["newspaper"]
    assert len(call(world, "list_subscriptions", actor=ADMIN)["items"]) == 2
    for name in ("get_subscription", "delete_subscription", "list_deliveries", "list_dead_letters",
                 "replay_dead_letters"):
        with pytest.raises(NotFound):
            call(world, name, actor=PAPER, params={"subscription_id": "sub1"})
    assert call(world, "get_subscription", actor=ADMIN, params={"subscription_id": "sub1"})["owner"] == "cityportal"
    with pytest.raises(Forbidden):
        create(world, actor=OPERATOR)
    with pytest.raises(Forbidden):
        call(world, "list_subscriptions", actor=Actor("u", "unit_handler", "city.environment"))


def test_a_repeated_idempotency_key_answers_the_first_subscription(world):
    body = {"url": HOOK, "types": ["ticket.#"]}
    first = HANDLERS.execute(world.app, "create_subscription", request(body=body, idempotency_key="k1"), PORTAL)
    again = HANDLERS.execute(world.app, "create_subscription", request(body=body, idempotency_key="k1"), PORTAL)
    assert again == first and len(world.store.subs) == 1
    with pytest.raises(ValidationFailed, match="Idempotency-Key"):
        HANDLERS.execute(world.app, "create_subscription",
                         request(body={**body, "types": ["deadline.#"]}, idempotency_key="k1"), PORTAL)
    other = HANDLERS.execute(world.app, "create_subscription", request(body=body, idempotency_key="k1"), PAPER)
    assert other["id"] != first["id"]


@pytest.mark.parametrize("url, says", [
    ("http://10.0.0.8/hook", "10.0.0.8 is a private address"),
    ("http://intranet.example/hook", "10.0.0.8 is a private address"),
    ("http://sneaky.example/hook", "192.168.0.3 is a private address"),
    ("http://169.254.169.254/latest/meta-data", "link-local"),
    ("http://127.0.0.2:8080/", "loopback"),
    ("http://[::1]:8080/", "loopback"),
    ("http://nowhere.example/", "does not resolve"),
    ("ftp://hooks.cityportal.example/", "only http and https"),
])
def test_a_subscription_to_an_address_that_is_not_public_is_refused(world, url, says):
    with pytest.raises(ValidationFailed) as refused:
        create(world, url=url)
    assert says in refused.value.detail and refused.value.errors["url"]
    assert world.store.subs == {}


def test_the_allow_list_lets_tests_use_the_loopback_address(world):
    assert create(world, url="http://127.0.0.1:8765/hook")["state"] == "active"


def test_bad_input_is_refused(world):
    with pytest.raises(ValidationFailed):
        create(world, types=["ticket.nonsense"])
    with pytest.raises(ValidationFailed):
        create(world, types=[])
    with pytest.raises(ValidationFailed):
        create(world, secret="mine")   # unknown field
    with pytest.raises(RuleViolation):
        for _ in range(world.settings.webhooks.max_subscriptions_per_owner + 1):
            create(world)


def test_a_deleted_subscription_and_its_deliveries_are_gone(world):
    create(world)
    react(world, ticket_dispatched())
    assert call(world, "delete_subscription", params={"subscription_id": "sub1"}) == {"deleted": "sub1"}
    assert world.store.docs == {}
    with pytest.raises(NotFound):
        call(world, "get_subscription", params={"subscription_id": "sub1"})
    assert react(world, ticket_dispatched(), "e2") is Outcome.NO_CHANGE


# -- events become deliveries; the timer sends them ---------------------------------------------------------

def test_a_subscriber_gets_the_events_it_asked_for_as_signed_cloudevents(world):
    create(world)
    create(world, actor=PAPER, url="https://hooks.paper.example/in", types=["deadline.#"])
    assert react(world, ticket_dispatched(), "e1") is Outcome.APPLIED
    assert react(world, deadline_event(DeadlineOverdue), "e2") is Outcome.APPLIED
    assert react(world, deadline_event(DeadlineExtended, extension_id="x", extended_working_days=2,
                                       previous_due_date="2026-11-25"), "e3") is Outcome.APPLIED
    assert handlers.fire(world.app) == {"notices": 1, "deliveries": 4}
    assert world.webhooks.ids_to(HOOK) == ["e1", "e2"]
    assert sorted(world.webhooks.ids_to("https://hooks.paper.example/in")) == ["e2", "e3"]
    _, delivery = world.webhooks.sent[0]
    assert delivery.body["type"] == "cn.gov.12345.ticket.dispatched" and delivery.body["id"] == "e1"
    event_schemas.check(delivery.body)
    log = call(world, "list_deliveries", params={"subscription_id": "sub1"})
    assert [(i["event_id"], i["status"], i["attempts"]) for i in log["items"]] == [
        ("e2", "delivered", 1), ("e1", "delivered", 1)] or [i["status"] for i in log["items"]] == ["delivered"] * 2
    assert log["items"][0]["log"][0]["ok"] is True and log["next_cursor"] is None


def test_a_new_delivery_is_sent_on_arrival_without_waiting_for_the_timer(world):
    world.app.deliver_on_arrival = True
    create(world)
    assert react(world, ticket_dispatched(), "e1") is Outcome.APPLIED
    assert world.webhooks.ids_to(HOOK) == ["e1"]                    # sent from the pool at once
    assert react(world, ticket_dispatched(), "e1") is Outcome.DUPLICATE
    assert handlers.fire(world.app)["deliveries"] == 0
    assert world.webhooks.ids_to(HOOK) == ["e1"]
    (entry,) = call(world, "list_deliveries", params={"subscription_id": "sub1"})["items"]
    assert (entry["status"], entry["attempts"]) == ("delivered", 1)


def test_on_arrival_a_replica_holds_only_its_share_and_leaves_the_rest_to_the_timer(world):
    runner = DeferredRunner(size=10)
    world.app.runner = runner
    world.app.deliver_on_arrival = True
    create(world)
    world.webhooks.script(HOOK, DOWN, OK)
    for i in range(40):
        react(world, ticket_dispatched(f"AS2026112700{i:04d}"), f"e{i}")
    assert len(world.app.queues["sub1"]) == 32 and [a[1] for _, a in runner.queued] == ["sub1"] * 8
    assert len(world.store.due_deliveries("sub1", NOW, 100)) == 8          # the rest, for the timer
    runner.run_all()
    assert len(world.webhooks.sent) == 32                                  # the first failed: retried later
    later(world, 60)
    while handlers.fire(world.app)["deliveries"]:
        runner.run_all()
    assert sorted(set(world.webhooks.ids_to(HOOK))) == sorted(f"e{i}" for i in range(40))
    assert all(d["status"] == "delivered" for d in world.store.docs.values())


def test_an_event_delivered_to_notify_twice_is_delivered_once(world):
    create(world)
    assert react(world, ticket_dispatched(), "e1") is Outcome.APPLIED
    assert react(world, ticket_dispatched(), "e1") is Outcome.DUPLICATE
    handlers.fire(world.app)
    handlers.fire(world.app)
    assert world.webhooks.ids_to(HOOK) == ["e1"]


def test_an_event_nobody_asked_for_changes_nothing(world):
    assert react(world, ticket_dispatched(), "e1") is Outcome.NO_CHANGE
    create(world, types=["deadline.overdue"])
    assert react(world, ticket_dispatched(), "e2") is Outcome.NO_CHANGE
    assert world.store.docs == {}


def test_a_receiver_that_fails_three_times_gets_the_event_on_the_fourth_attempt(world):
    create(world)
    world.webhooks.script(HOOK, DOWN, DOWN, DOWN, OK)
    react(world, ticket_dispatched(), "e1")
    waits = [5, 30, 120]
    handlers.fire(world.app)
    for wait in waits:
        assert handlers.fire(world.app)["deliveries"] == 0          # not due yet
        later(world, wait * 1.1 + 0.01)
        assert handlers.fire(world.app)["deliveries"] == 1
    assert world.webhooks.ids_to(HOOK) == ["e1"] * 4
    (entry,) = call(world, "list_deliveries", params={"subscription_id": "sub1"})["items"]
    assert (entry["status"], entry["attempts"]) == ("delivered", 4)
    assert [a["status_code"] for a in entry["log"]] == [503, 503, 503, 204]
    assert call(world, "get_subscription", params={"subscription_id": "sub1"})["failure_streak"] == 0


def test_a_delivery_out_of_attempts_is_a_dead_letter_and_a_replay_delivers_it(world):
    world.app.settings = replace(world.settings, webhooks=replace(world.settings.webhooks, disable_after_failures=100))
    create(world)
    world.webhooks.script(HOOK, DOWN)
    react(world, ticket_dispatched(), "e1")
    for _ in range(world.settings.webhooks.retry.max_attempts):
        handlers.fire(world.app)
        later(world, 50_000)
    (dead,) = call(world, "list_dead_letters", params={"subscription_id": "sub1"})["items"]
    assert (dead["id"], dead["dead_reason"], dead["attempts"]) == ("sub1:e1", "attempts exhausted", 9)
    assert len(dead["log"]) == 9 and dead["next_attempt_at"] is None
    world.webhooks.script(HOOK, OK)
    replayed = call(world, "replay_dead_letters", params={"subscription_id": "sub1"}, body={})
    assert (replayed["replayed"], replayed["more"], replayed["not_dead_letters"]) == (1, False, [])
    handlers.fire(world.app)
    (entry,) = call(world, "list_deliveries", params={"subscription_id": "sub1"})["items"]
    assert (entry["status"], entry["attempts"]) == ("delivered", 10)
    assert call(world, "list_dead_letters", params={"subscription_id": "sub1"})["items"] == []
    assert world.webhooks.ids_to(HOOK) == ["e1"] * 10   # the same webhook-id: the receiver can dedupe


def test_a_replay_names_the_dead_letters_it_wants(world):
    create(world)
    world.webhooks.script(HOOK, DOWN)
    react(world, ticket_dispatched("AS20261127000001"), "e1")
    react(world, ticket_dispatched("AS20261127000002"), "e2")
    for _ in range(9):
        handlers.fire(world.app)
        later(world, 50_000)
    out = call(world, "replay_dead_letters", params={"subscription_id": "sub1"},
               body={"delivery_ids": ["sub1:e2", "sub1:nope"]})
    assert (out["replayed"], out["not_dead_letters"]) == (1, ["sub1:nope"])
    assert [d["id"] for d in call(world, "list_dead_letters", params={"subscription_id": "sub1"})["items"]] == ["sub1:e1"]


def test_a_long_failure_streak_disables_the_subscription_and_nothing_is_lost(world):
    create(world)
    world.webhooks.script(HOOK, DOWN)
    react(world, ticket_dispatched("AS20261127000001"), "e1")
    react(world, ticket_dispatched("AS20261127000002"), "e2")
    for _ in range(3):   # 6 failed attempts, the streak 40 minutes old
        handlers.fire(world.app)
        later(world, 20 * 60)
    sub = call(world, "get_subscription", params={"subscription_id": "sub1"})
    assert sub["state"] == "disabled" and "6 failed attempts in a row" in sub["disabled_reason"]
    dead = call(world, "list_dead_letters", params={"subscription_id": "sub1"})["items"]
    assert sorted(d["event_id"] for d in dead) == ["e1", "e2"]
    assert all(d["dead_reason"].startswith("subscription disabled") for d in dead)
    react(world, ticket_dispatched("AS20261127000003"), "e3")       # while disabled: kept as a dead letter
    assert handlers.fire(world.app)["deliveries"] == 0
    assert len(call(world, "list_dead_letters", params={"subscription_id": "sub1"})["items"]) == 3
    world.webhooks.script(HOOK, OK)
    out = call(world, "replay_dead_letters", params={"subscription_id": "sub1"})
    assert out["replayed"] == 3 and out["subscription"]["state"] == "active"
    assert out["subscription"]["failure_streak"] == 0
    handlers.fire(world.app)
    log = call(world, "list_deliveries", params={"subscription_id": "sub1", }, query={"status": "delivered"})
    assert sorted(d["event_id"] for d in log["items"]) == ["e1", "e2", "e3"]


def test_a_short_streak_does_not_disable(world):
    create(world)
    world.webhooks.script(HOOK, DOWN)
    react(world, ticket_dispatched(), "e1")
    for _ in range(7):   # 7 failures within 20 minutes: long but not old
        handlers.fire(world.app)
        later(world, 200)
    assert call(world, "get_subscription", params={"subscription_id": "sub1"})["state"] == "active"


def test_one_slow_subscription_takes_only_its_share_of_the_pool(world):
    runner = DeferredRunner(size=10)
    world.app.runner = runner
    create(world)
    create(world, actor=PAPER, url="https://hooks.paper.example/in", types=["ticket.#"])
    for i in range(40):
        react(world, ticket_dispatched(f"AS2026112700{i:04d}"), f"e{i}")
    claimed = handlers.fire(world.app)["deliveries"]
    workers = [args[1] for _, args in runner.queued]
    assert claimed == 64                                  # 4 rounds of 8 per subscription, held here
    assert workers.count("sub1") == 8 and workers.count("sub2") == 2   # the pool of 10 is shared
    assert handlers.fire(world.app)["deliveries"] == 0    # nothing more held until these are sent
    runner.run_all()
    assert world.app.in_flight == {"sub1": 0, "sub2": 0} and runner.queued == []
    assert len(world.webhooks.sent) == 64
    for _ in range(3):
        handlers.fire(world.app)
        runner.run_all()
    assert sorted(world.webhooks.ids_to(HOOK)) == sorted(f"e{i}" for i in range(40))
    assert len(world.webhooks.sent) == 80


def test_a_success_ends_a_streak_this_replica_did_not_see_begin(world, monkeypatch):
    """A failure counted by another worker or replica after this one last read the subscription
    (the fan-out reads subscriptions at most once a second): the next success still ends the streak
    (a CI run once left it at 1 after every delivery had gone through)."""
    create(world)
    react(world, ticket_dispatched(), "e1")
    read_before = world.store.all_subscriptions()
    monkeypatch.setattr(world.store, "all_subscriptions", lambda: read_before)   # the one-second read
    world.store.count_failure("sub1", NOW)                          # another worker's 503, counted late
    handlers.fire(world.app)
    assert world.webhooks.ids_to(HOOK) == ["e1"]
    assert call(world, "get_subscription", params={"subscription_id": "sub1"})["failure_streak"] == 0


def test_a_failing_receiver_is_probed_one_attempt_at_a_time(world):
    runner = DeferredRunner(size=32)
    world.app.runner = runner
    create(world)
    for _ in range(world.settings.probe_after_failures):
        world.store.count_failure("sub1", NOW)
    for i in range(10):
        react(world, ticket_dispatched(f"AS2026112700{i:04d}"), f"e{i}")
    assert handlers.fire(world.app)["deliveries"] == CLAIM_ROUNDS
    assert [args[1] for _, args in runner.queued] == ["sub1"]


def test_a_claimed_delivery_is_not_sent_twice_until_its_claim_expires(world):
    runner = DeferredRunner(size=10)
    world.app.runner = runner
    create(world)
    react(world, ticket_dispatched(), "e1")
    assert handlers.fire(world.app)["deliveries"] == 1
    runner.queued.clear()            # the replica died mid-attempt: a new one starts with nothing held
    world.app.queues.clear()
    world.app.workers.clear()
    assert handlers.fire(world.app)["deliveries"] == 0
    later(world, world.settings.claim_seconds + 1)
    assert handlers.fire(world.app)["deliveries"] == 1
    runner.run_all()
    assert world.webhooks.ids_to(HOOK) == ["e1"]


def test_a_worker_stops_when_its_subscription_is_deleted(world):
    runner = DeferredRunner(size=10)
    world.app.runner = runner
    create(world)
    for i in range(3):
        react(world, ticket_dispatched(f"AS2026112700000{i}"), f"e{i}")
    handlers.fire(world.app)
    call(world, "delete_subscription", params={"subscription_id": "sub1"})
    runner.run_all()
    assert world.webhooks.sent == [] and not world.app.queues["sub1"]


def test_the_delivery_log_pages_newest_first(world):
    create(world)
    for i in range(5):
        react(world, ticket_dispatched(f"AS2026112700000{i}"), f"e{i}")
        later(world, 1)
    first = call(world, "list_deliveries", params={"subscription_id": "sub1"}, query={"limit": "2"})
    assert [d["event_id"] for d in first["items"]] == ["e4", "e3"] and first["next_cursor"]
    second = call(world, "list_deliveries", params={"subscription_id": "sub1"},
                  query={"limit": "2", "cursor": first["next_cursor"]})
    assert [d["event_id"] for d in second["items"]] == ["e2", "e1"]
    assert [d["status"] for d in second["items"]] == ["pending", "pending"]
    with pytest.raises(ValidationFailed):
        call(world, "list_deliveries", params={"subscription_id": "sub1"}, query={"cursor": "junk"})


def test_an_unexpected_error_in_an_attempt_leaves_the_claim_to_expire(world):
    create(world)

    class Broken:
        def send(self, sub, d):
            raise RuntimeError("bug")
    world.app.webhooks = Broken()
    react(world, ticket_dispatched(), "e1")
    handlers.fire(world.app)
    assert world.app.in_flight["sub1"] == 0
    (entry,) = call(world, "list_deliveries", params={"subscription_id": "sub1"})["items"]
    assert entry["status"] == "pending" and entry["attempts"] == 0


# -- notices to units' contacts -------------------------------------------------------------------------------

def test_a_reminder_sends_one_sms_to_the_units_contact_and_the_timeline_hears_of_it(world):
    assert react(world, reminder_sent(n=1), "r1") is Outcome.APPLIED
    assert react(world, reminder_sent(n=1), "r1") is Outcome.DUPLICATE
    assert handlers.fire(world.app)["notices"] == 1
    assert handlers.fire(world.app)["notices"] == 0
    (sms,) = world.sms.sent
    assert (sms.recipient.phone, sms.kind, sms.template_id) == ("0412-12345", "reminder", "SMS_HOTLINE_REMINDER")
    assert "工单AS20261127000001已超过办理时限" in sms.text and "第1次催办" in sms.text
    (delivered,) = world.outbox.of(NoticeDelivered)
    event_schemas.check(delivered)
    assert delivered["subject"] == "AS20261127000001"
    assert (delivered["data"]["attempts"], delivered["data"]["kind_label"], delivered["data"]["cause_id"]) == (
        1, "催办通知", "r1")


def test_a_gateway_failure_is_retried_and_then_recorded_as_failed(world):
    world.sms.results = [DOWN]
    react(world, reminder_sent(), "r1")
    for _ in range(world.settings.notices.max_attempts):
        assert handlers.fire(world.app)["notices"] == 1
        later(world, 700)
    assert handlers.fire(world.app)["notices"] == 0
    assert len(world.sms.sent) == 4 and world.outbox.of(NoticeDelivered) == []
    (failed,) = world.outbox.of(NoticeFailed)
    event_schemas.check(failed)
    assert (failed["data"]["reason"], failed["data"]["attempts"], failed["data"]["error"]) == ("exhausted", 4, "HTTP 503")
    (notice,) = world.store.notices_of("t-AS20261127000001")
    assert notice.state == "failed" and [a.status_code for a in notice.log] == [503] * 4


def test_a_retried_notice_that_gets_through_says_how_many_attempts_it_took(world):
    world.sms.results = [DOWN, OK]
    react(world, reminder_sent(), "r1")
    handlers.fire(world.app)
    later(world, 40)
    handlers.fire(world.app)
    (delivered,) = world.outbox.of(NoticeDelivered)
    assert delivered["data"]["attempts"] == 2


@pytest.mark.parametrize("event, kind", [
    (case_event(SupervisionOpened, detail="超期"), "supervision"),
    (case_event(ReinvestigationOrdered, order=1, instructions="重新办", working_days=10), "reinvestigation"),
    (deadline_event(DeadlineExtended, extension_id="x", extended_working_days=2, previous_due_date="2026-11-25"),
     "extension_granted"),
    (deadline_event(ExtensionRejected, extension_id="x", note="理由不充分"), "extension_rejected"),
])
def test_supervision_reinvestigation_and_extension_decisions_are_told_too(world, event, kind):
    react(world, event, "c1")
    handlers.fire(world.app)
    (sms,) = world.sms.sent
    assert sms.kind == kind and sms.text.startswith("【12345热线】郑洁您好")
    assert world.outbox.of(NoticeDelivered)[0]["data"]["kind"] == kind


def test_a_unit_notify_does_not_know_gets_a_failed_notice_on_its_timeline(world):
    react(world, reminder_sent(unit_id="district.new"), "r1")
    assert handlers.fire(world.app)["notices"] == 0 and world.sms.sent == []
    (failed,) = world.outbox.of(NoticeFailed)
    assert failed["data"]["reason"] == "no_contact" and failed["data"]["recipient"] is None


def test_a_supervision_case_about_no_unit_sends_nothing(world):
    assert react(world, case_event(SupervisionOpened, unit_id=None, detail="x"), "c1") is Outcome.NO_CHANGE
    assert world.store.notices.docs == {}


def test_notices_and_webhooks_go_together(world):
    create(world, types=["reminder.sent"])
    assert react(world, reminder_sent(), "r1") is Outcome.APPLIED
    assert handlers.fire(world.app) == {"notices": 1, "deliveries": 1}


# -- the table ----------------------------------------------------------------------------------------

def test_the_table_reacts_to_every_event_type_and_names_seven_commands():
    assert set(HANDLERS.event_types()) == set(load_all())
    assert set(HANDLERS.commands) == {"create_subscription", "list_subscriptions", "get_subscription",
                                      "delete_subscription", "list_deliveries", "list_dead_letters",
                                      "replay_dead_letters"}
    assert HANDLERS.commands["replay_dead_letters"][0] is c.ReplayDeadLetters
