"""notify's adapters without a network: the address check before every attempt (DNS may change after a
subscription was made), Standard Webhooks signatures, the SMS request's shape and signature."""
import logging
from datetime import UTC, datetime
from pathlib import Path

from standardwebhooks.webhooks import Webhook

from hotline_common.actors import SYSTEM_ACTOR
from hotline_common.testing import at
from services.notify import domain as d
from services.notify.fakes import event_envelope, fake_resolver, reminder_sent, ticket_dispatched
from services.notify.senders import HttpSmsGateway, LogSms, WebhookSender, sign, sms_signature, webhook_body
from services.notify.settings import load_templates, load_units

CONFIG = Path(__file__).resolve().parents[2] / "config"
NOW = at("2026-11-27T02:00:00Z")
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def delivery() -> d.Delivery:
    sub = d.Subscription(id="s1", owner="o", url="http://rebind.example/hook", types=("#",), secret=SECRET,
                         created_at=NOW)
    (one,) = d.fan_out(event_envelope(ticket_dispatched(), time=NOW, event_id="e1"), now=NOW, subscriptions=[sub],
                       policy=d.WebhookPolicy(retry=d.RetryPolicy((5,))))
    return sub, one


def test_a_host_that_now_resolves_to_an_internal_address_is_not_contacted():
    sub, one = delivery()
    sender = WebhookSender(d.AllowList(), resolver=fake_resolver({"rebind.example": ["1.1.1.1", "127.0.0.1"]}))
    result = sender.send(sub, one)
    assert not result.ok and result.error.startswith("refused:") and "127.0.0.1 is a loopback address" in result.error


def test_the_signature_verifies_with_the_standardwebhooks_library():
    _, one = delivery()
    body = webhook_body(one)
    stamp = datetime.now(UTC).replace(microsecond=0)
    headers = {"webhook-id": "e1", "webhook-timestamp": str(int(stamp.timestamp())),
               "webhook-signature": sign(SECRET, "e1", stamp, body)}
    assert Webhook(SECRET).verify(body.encode(), headers)["id"] == "e1"
    assert headers["webhook-signature"].startswith("v1,")
    assert "市环保局" in body   # UTF-8, not \\u-escaped


def notice() -> d.Notice:
    request = d.notice_request(reminder_sent(), "r1")
    return d.open_notice(request, now=NOW, actor=SYSTEM_ACTOR, id="n1", unit=load_units(CONFIG)["city.environment"],
                         template=load_templates(CONFIG)["reminder"], channel="sms")[0]


def test_the_sms_request_has_the_gateways_shape_and_a_signature_the_gateway_can_check():
    gateway = HttpSmsGateway("http://sms.example/send", "key", "secret", sign_name="12345热线")
    payload = gateway.payload(notice())
    assert payload["phone"] == "0412-12345" and payload["template_id"] == "SMS_HOTLINE_REMINDER"
    assert payload["params"]["number"] == "AS20261127000001" and payload["out_id"] == "n1"
    assert payload["content"].startswith("【12345热线】") and payload["sign_name"] == "12345热线"
    one = sms_signature("secret", "key", "1700000000000", "abc", b"{}")
    assert one == sms_signature("secret", "key", "1700000000000", "abc", b"{}") and len(one) == 64
    assert one != sms_signature("secret", "key", "1700000000000", "abc", b"{ }")


def test_the_log_provider_sends_with_the_phone_masked(caplog):
    caplog.set_level(logging.INFO, logger="services.notify.senders")
    result = LogSms().send(notice())
    assert result.ok and result.provider_message_id == "log-n1"
    assert "041****2345" in caplog.text and "0412-12345" not in caplog.text
