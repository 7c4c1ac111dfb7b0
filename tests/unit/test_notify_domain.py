"""notify's pure rules: event-type patterns, where a webhook may go (SSRF), the retry schedule, a
delivery's and a notice's life, the notices' Chinese texts."""
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from hotline_common.actors import SYSTEM_ACTOR, Actor
from hotline_common.errors import Conflict, RuleViolation, ValidationFailed
from hotline_common.messages import load_all
from hotline_common.testing import at
from services.escalation.events import ReinvestigationOrdered, SupervisionOpened
from services.notify import commands as c
from services.notify import domain as d
from services.notify.events import NoticeDelivered, NoticeFailed
from services.notify.fakes import case_event, deadline_event, event_envelope, reminder_sent, ticket_dispatched
from services.notify.settings import NotifySettings, load_templates, load_units
from services.sla.events import DeadlineExtended, ExtensionRejected

CONFIG = Path(__file__).resolve().parents[2] / "config"
NOW = at("2026-11-27T02:00:00Z")
KNOWN = tuple(sorted(load_all()))
SUBSCRIBER = Actor("cityportal", "subscriber")
POLICY = d.WebhookPolicy(retry=d.RetryPolicy((5, 30, 120)), disable_after_failures=3, disable_after=timedelta(0))
NOBODY = d.AllowList()


# -- patterns -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("pattern, event_type, expected", [
    ("cn.gov.12345.ticket.#", "cn.gov.12345.ticket.dispatched", True),
    ("cn.gov.12345.ticket.#", "cn.gov.12345.deadline.overdue", False),
    ("cn.gov.12345.*.overdue", "cn.gov.12345.deadline.overdue", True),
    ("cn.gov.12345.*", "cn.gov.12345.deadline.overdue", False),
    ("#", "cn.gov.12345.deadline.overdue", True),
    ("cn.gov.12345.#.overdue", "cn.gov.12345.deadline.overdue", True),
    ("cn.gov.12345.deadline.overdue.#", "cn.gov.12345.deadline.overdue", True),   # '#' may be no word
    ("cn.gov.12345.deadline.overdue", "cn.gov.12345.deadline.overdue", True),
])
def test_patterns_match_like_the_topic_exchange(pattern, event_type, expected):
    assert d.pattern_matches(pattern, event_type) is expected


def test_short_patterns_are_completed_and_unknown_ones_refused():
    assert d.check_patterns(["ticket.#", "deadline.overdue", "ticket.#"], KNOWN) == (
        "cn.gov.12345.ticket.#", "cn.gov.12345.deadline.overdue")
    with pytest.raises(ValidationFailed) as refused:
        d.check_patterns(["ticket.dispatchd"], KNOWN)
    assert "matches no event type" in str(refused.value.errors)
    with pytest.raises(ValidationFailed):
        d.check_patterns(["ticket.dis*"], KNOWN)


# -- SSRF -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("address, why", [
    ("127.0.0.1", "loopback"), ("10.1.2.3", "private"), ("172.16.0.9", "private"), ("192.168.1.10", "private"),
    ("169.254.169.254", "link-local"), ("0.0.0.0", "reserved"), ("100.64.0.1", "not a public"),
    ("224.0.0.1", "multicast"), ("240.0.0.1", "reserved"), ("::1", "loopback"), ("fe80::1", "link-local"),
    ("fc00::1", "private"), ("::ffff:10.0.0.1", "private"), ("64:ff9b::a00:1", "private"),
    ("2002:a00:1::", "private"),
])
def test_addresses_that_are_not_public_are_refused(address, why):
    assert why in d.refused_address(address, NOBODY)


@pytest.mark.parametrize("address", ["8.8.8.8", "203.0.114.1", "2400:3200::1"])
def test_public_addresses_are_allowed(address):
    assert d.refused_address(address, NOBODY) is None


def test_the_allow_list_admits_named_hosts_addresses_and_networks():
    allow = d.AllowList.parse(" 127.0.0.1, 10.20.0.0/16 ,Receiver.Internal ,::1")
    assert d.refused_address("127.0.0.1", allow) is None
    assert d.refused_address("10.20.5.5", allow) is None
    assert d.refused_address("10.21.5.5", allow) is not None
    assert d.refused_address("::1", allow) is None
    d.check_target(d.parse_target("http://receiver.internal/hook"), [], allow)   # allowed by name: no lookup
    with pytest.raises(ValidationFailed):
        d.check_target(d.parse_target("http://127.0.0.2/hook"), ["127.0.0.2"], allow)


def test_every_resolved_address_must_be_public():
    target = d.parse_target("https://hooks.example.com/x")
    d.check_target(target, ["93.184.216.34"], NOBODY)
    with pytest.raises(ValidationFailed) as refused:
        d.check_target(target, ["93.184.216.34", "10.0.0.7"], NOBODY)
    assert "10.0.0.7 is a private address" in refused.value.detail
    assert refused.value.errors["url"]
    with pytest.raises(ValidationFailed, match="does not resolve"):
        d.check_target(target, [], NOBODY)


@pytest.mark.parametrize("url, why", [
    ("ftp://example.com/x", "only http and https"), ("file:///etc/passwd", "only http and https"),
    ("gopher://example.com", "only http and https"), ("http://user:pw@example.com/", "credentials"),
    ("http:///nohost", "no host"), ("https://example.com:99999/", "valid URL"), ("example.com/x", "only http"),
])
def test_only_plain_http_targets(url, why):
    with pytest.raises(ValidationFailed, match=why):
        d.parse_target(url)


def test_a_target_has_its_default_port():
    assert d.parse_target("HTTPS://Example.COM/a?b=1") == d.Target("https", "example.com", 443)
    assert d.parse_target("http://127.0.0.1:8080/") == d.Target("http", "127.0.0.1", 8080)


# -- subscriptions ----------------------------------------------------------------------------------------

def subscription(**overrides) -> d.Subscription:
    cmd = c.CreateSubscription(url="https://hooks.example.com/in", types=["ticket.#"], idempotency_key="k1")
    sub, events = d.new_subscription(cmd, now=NOW, actor=SUBSCRIBER, id="s1", secret="whsec_c2VjcmV0",
                                     addresses=["93.184.216.34"], allow=NOBODY, known_types=KNOWN, owned=0,
                                     policy=POLICY)
    assert events == []
    return replace(sub, **overrides)


def test_a_new_subscription_belongs_to_its_subscriber_and_remembers_its_request():
    sub = subscription()
    assert (sub.owner, sub.state, sub.types) == ("cityportal", "active", ("cn.gov.12345.ticket.#",))
    same = c.CreateSubscription(url="https://hooks.example.com/in", types=["ticket.#"], idempotency_key="k1")
    assert d.same_request(sub, same) is sub
    with pytest.raises(ValidationFailed, match="Idempotency-Key"):
        d.same_request(sub, replace(same, types=["deadline.#"]))


def test_a_subscriber_has_a_bounded_number_of_subscriptions():
    cmd = c.CreateSubscription(url="https://hooks.example.com/in", types=["#"])
    with pytest.raises(RuleViolation):
        d.new_subscription(cmd, now=NOW, actor=SUBSCRIBER, id="s2", secret="whsec_eA==", addresses=["8.8.8.8"],
                           allow=NOBODY, known_types=KNOWN, owned=POLICY.max_subscriptions_per_owner, policy=POLICY)


def test_only_the_owner_or_an_admin_sees_a_subscription():
    sub = subscription()
    assert d.can_see(sub, SUBSCRIBER) and d.can_see(sub, Actor("a", "admin"))
    assert not d.can_see(sub, Actor("other", "subscriber"))


def test_a_long_and_old_failure_streak_disables():
    policy = replace(POLICY, disable_after=timedelta(hours=24))
    young = subscription(failure_streak=3, failing_since=NOW - timedelta(hours=1))
    old = subscription(failure_streak=3, failing_since=NOW - timedelta(hours=25))
    assert not d.should_disable(young, now=NOW, policy=policy)
    assert not d.should_disable(replace(old, failure_streak=2), now=NOW, policy=policy)
    assert d.should_disable(old, now=NOW, policy=policy)
    off, _ = d.disable(old, c.Disable(reason="streak"), now=NOW, actor=SYSTEM_ACTOR)
    assert (off.state, off.disabled_reason) == ("disabled", "streak")
    assert not d.should_disable(off, now=NOW, policy=policy)
    with pytest.raises(Conflict):
        d.disable(off, c.Disable(reason="again"), now=NOW, actor=SYSTEM_ACTOR)
    on, _ = d.enable(off, c.ReplayDeadLetters(subscription_id="s1"), now=NOW, actor=SUBSCRIBER)
    assert (on.state, on.failure_streak, on.failing_since, on.disabled_at) == ("active", 0, None, None)


# -- deliveries -----------------------------------------------------------------------------------------

def test_an_event_becomes_one_delivery_per_subscription_that_wants_it():
    env = event_envelope(ticket_dispatched(), time=NOW, event_id="e1")
    subs = [subscription(id="a"), subscription(id="b", types=("cn.gov.12345.deadline.#",)),
            subscription(id="c", state="disabled")]
    out = d.fan_out(env, now=NOW, subscriptions=subs, policy=POLICY)
    assert [(x.id, x.status, x.next_attempt_at) for x in out] == [("a:e1", "pending", NOW), ("c:e1", "dead", None)]
    assert out[0].body == env and out[0].subject == "AS20261127000001"
    assert out[1].dead_reason == "subscription disabled" and out[1].expire_at == NOW + POLICY.dead_retention


def test_failed_attempts_follow_the_schedule_then_the_delivery_is_dead():
    env = event_envelope(ticket_dispatched(), time=NOW, event_id="e1")
    (delivery,) = d.fan_out(env, now=NOW, subscriptions=[subscription()], policy=POLICY)
    waits = []
    now = NOW
    for _ in range(3):
        delivery, _ = d.delivery_attempted(delivery, c.RecordAttempt(ok=False, status_code=500), now=now,
                                           actor=SYSTEM_ACTOR, policy=POLICY)
        waits.append((delivery.next_attempt_at - now).total_seconds())
        now = delivery.next_attempt_at
    assert [5 <= waits[0] <= 5.5, 30 <= waits[1] <= 33, 120 <= waits[2] <= 132] == [True] * 3
    delivery, _ = d.delivery_attempted(delivery, c.RecordAttempt(ok=False, error="boom"), now=now,
                                       actor=SYSTEM_ACTOR, policy=POLICY)
    assert (delivery.status, delivery.attempts, delivery.dead_reason) == ("dead", 4, "attempts exhausted")
    assert [a.status_code for a in delivery.log] == [500, 500, 500, None]
    with pytest.raises(Conflict):
        d.delivery_attempted(delivery, c.RecordAttempt(ok=True), now=now, actor=SYSTEM_ACTOR, policy=POLICY)
    again, _ = d.replay(delivery, c.ReplayDeadLetters(subscription_id="s1"), now=now, actor=SUBSCRIBER)
    assert (again.status, again.round_attempts, again.attempts, again.next_attempt_at) == ("pending", 0, 4, now)
    with pytest.raises(Conflict):
        d.replay(again, c.ReplayDeadLetters(subscription_id="s1"), now=now, actor=SUBSCRIBER)
    done, _ = d.delivery_attempted(again, c.RecordAttempt(ok=True, status_code=200), now=now, actor=SYSTEM_ACTOR,
                                   policy=POLICY)
    assert (done.status, done.delivered_at, done.expire_at) == ("delivered", now, now + POLICY.delivered_retention)


def test_the_jitter_is_bounded_and_the_same_for_the_same_delivery():
    retry = d.RetryPolicy((10,))
    first = retry.next_attempt_at(1, NOW, "s:e")
    assert first == retry.next_attempt_at(1, NOW, "s:e")
    assert NOW + timedelta(seconds=10) <= first <= NOW + timedelta(seconds=11)
    assert retry.next_attempt_at(2, NOW, "s:e") is None and retry.max_attempts == 2


# -- notices --------------------------------------------------------------------------------------------------

UNITS = load_units(CONFIG)
TEMPLATES = load_templates(CONFIG)


@pytest.mark.parametrize("event, kind, words", [
    (reminder_sent(n=2), "reminder", ["第2次催办", "超期2个工作日"]),
    (case_event(SupervisionOpened, detail="超期"), "supervision", ["督办单号DB202611270001", "超期未办理"]),
    (case_event(ReinvestigationOrdered, order=1, instructions="重新办理", working_days=10), "reinvestigation",
     ["重新调查处理", "10个工作日"]),
    (deadline_event(DeadlineExtended, extension_id="x1", extended_working_days=3, previous_due_date="2026-11-24"),
     "extension_granted", ["已批准", "延长3个工作日", "2026-11-27"]),
    (deadline_event(ExtensionRejected, extension_id="x1", note=""), "extension_rejected", ["未获批准", "未说明理由"]),
])
def test_each_notice_has_its_chinese_text_for_the_units_contact(event, kind, words):
    request = d.notice_request(event, "cause-1")
    notice, events = d.open_notice(request, now=NOW, actor=SYSTEM_ACTOR, id="n1", unit=UNITS["city.environment"],
                                   template=TEMPLATES[kind], channel="sms")
    assert events == [] and notice.state == "pending" and notice.next_attempt_at == NOW
    assert (notice.kind, notice.recipient.user_id, notice.recipient.phone) == (
        kind, "city.environment.contact", "0412-12345")
    assert notice.text.startswith("【12345热线】郑洁您好：") and "市环保局" in notice.text
    for word in words + ["AS20261127000001"]:
        assert word in notice.text
    assert notice.params["number"] == "AS20261127000001" and notice.template_id == TEMPLATES[kind].template_id


def test_an_event_about_no_unit_asks_for_no_notice():
    assert d.notice_request(case_event(SupervisionOpened, unit_id=None, detail="x"), "c") is None
    assert d.notice_request(ticket_dispatched(), "c") is None


def test_no_contact_fails_the_notice_at_once_and_says_why():
    request = d.notice_request(reminder_sent(unit_id="city.unknown"), "cause-1")
    notice, events = d.open_notice(request, now=NOW, actor=SYSTEM_ACTOR, id="n1", unit=None,
                                   template=TEMPLATES["reminder"], channel="sms")
    assert notice.state == "failed" and notice.next_attempt_at is None
    (failed,) = events
    assert isinstance(failed, NoticeFailed) and failed.reason == "no_contact" and failed.attempts == 0
    assert "not in notify's directory" in failed.error
    no_phone = d.UnitContact(unit_id="u", unit_name="某单位", contact=None)
    _, events = d.open_notice(request, now=NOW, actor=SYSTEM_ACTOR, id="n1", unit=no_phone,
                              template=TEMPLATES["reminder"], channel="sms")
    assert "no designated contact with a phone" in events[0].error


def pending_notice() -> d.Notice:
    request = d.notice_request(reminder_sent(), "cause-1")
    return d.open_notice(request, now=NOW, actor=SYSTEM_ACTOR, id="n1", unit=UNITS["city.environment"],
                         template=TEMPLATES["reminder"], channel="sms")[0]


def test_a_notice_is_retried_then_failed_with_its_attempts():
    retry = d.RetryPolicy((30, 120))
    notice, now = pending_notice(), NOW
    for expected_wait in (30, 120):
        notice, events = d.notice_attempted(notice, c.RecordAttempt(ok=False, status_code=503), now=now,
                                            actor=SYSTEM_ACTOR, policy=retry)
        assert events == [] and notice.state == "pending"
        assert expected_wait <= (notice.next_attempt_at - now).total_seconds() <= expected_wait * 1.1
        now = notice.next_attempt_at
    notice, (failed,) = d.notice_attempted(notice, c.RecordAttempt(ok=False, error="timeout"), now=now,
                                           actor=SYSTEM_ACTOR, policy=retry)
    assert notice.state == "failed" and isinstance(failed, NoticeFailed)
    assert (failed.reason, failed.attempts, failed.error, failed.kind_label) == ("exhausted", 3, "timeout", "催办通知")
    assert failed.recipient == "city.environment.contact" and "0412" not in str(failed.to_data())


def test_a_refused_notice_is_not_retried_and_a_sent_one_is_delivered():
    _, (failed,) = d.notice_attempted(pending_notice(), c.RecordAttempt(ok=False, status_code=400, retryable=False),
                                      now=NOW, actor=SYSTEM_ACTOR, policy=d.RetryPolicy((30,)))
    assert (failed.reason, failed.error) == ("rejected", "HTTP 400")
    sent, (delivered,) = d.notice_attempted(pending_notice(), c.RecordAttempt(ok=True, provider_message_id="m1"),
                                            now=NOW, actor=SYSTEM_ACTOR, policy=d.RetryPolicy((30,)))
    assert sent.state == "sent" and isinstance(delivered, NoticeDelivered)
    assert (delivered.attempts, delivered.provider_message_id, delivered.subject) == (1, "m1", "AS20261127000001")
    with pytest.raises(Conflict):
        d.notice_attempted(sent, c.RecordAttempt(ok=True), now=NOW, actor=SYSTEM_ACTOR, policy=d.RetryPolicy((30,)))


def test_the_configuration_loads_with_overrides_from_the_environment():
    settings = NotifySettings.load(CONFIG, environ={"NOTIFY_ALLOWED_HOSTS": "127.0.0.1",
                                                    "NOTIFY_WEBHOOK_RETRY_SCHEDULE": "0.1,0.2"})
    assert settings.webhooks.retry.schedule == (0.1, 0.2) and settings.notices.max_attempts == 4
    assert settings.allow.allows_address(__import__("ipaddress").ip_address("127.0.0.1"))
    assert settings.sms_provider == "log" and set(settings.templates) == set(d.KIND_LABELS)
    from hotline_common.settings import SettingsError
    with pytest.raises(SettingsError, match="NOTIFY_SMS_URL"):
        NotifySettings.load(CONFIG, environ={"NOTIFY_SMS_PROVIDER": "http"})
    with pytest.raises(SettingsError):
        NotifySettings.load(CONFIG, environ={"NOTIFY_SMS_PROVIDER": "carrier-pigeon"})


def test_a_contacts_phone_is_masked_where_it_is_shown():
    assert d.mask_phone("13800001234") == "138****1234"
    assert d.mask_phone("123") == "****"
