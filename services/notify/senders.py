"""notify's adapters to the outside: the webhook sender, the SMS providers, the DNS resolver and the
bounded pool deliveries run in. Each turns what happened into a `commands.RecordAttempt`; none
raises for a receiver's failure.

Webhooks follow the Standard Webhooks spec: `webhook-id` (the CloudEvent id: receivers dedupe by
it), `webhook-timestamp` (the wall clock in seconds: receivers check it against theirs, so it is not
the controllable clock) and `webhook-signature` (`v1,<base64 HMAC-SHA256>` made with the
`standardwebhooks` library over `<id>.<timestamp>.<body>`); the body is the CloudEvent as JSON
(structured mode, `application/cloudevents+json`). Short timeouts, no redirects followed (a
redirect is a way around the address check), no proxies from the environment, the address of the
target checked again before every attempt (DNS may have changed since the subscription was made).

SMS: the common shape of Chinese SMS gateways (阿里云/腾讯云 and their in-house clones): POST JSON
`{phone, template_id, params, sign_name, content, out_id}` signed with the app secret
(`X-App-Key`, `X-Timestamp`, `X-Nonce`, `X-Signature` = hex HMAC-SHA256 of
`app_key \\n timestamp \\n nonce \\n sha256(body)`). A 2xx whose JSON `code` is 0/"0"/"OK"/200 (or
absent) is sent; 429, 5xx and network errors are retried; any other answer is a refusal that no
retry would change.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import socket
import time
import uuid
from datetime import UTC, datetime
from functools import lru_cache

import requests
from requests.adapters import HTTPAdapter
from standardwebhooks.webhooks import Webhook

from hotline_common.errors import ValidationFailed

from . import commands as c
from . import domain
from .domain import AllowList, Delivery, Notice, Subscription

log = logging.getLogger(__name__)

USER_AGENT = "hotline-12345-notify/1.0 (+standard-webhooks)"
ERROR_BODY_BYTES = 512
OK_CODES = (0, "0", "OK", "ok", 200, "200")


def resolve(host: str, port: int) -> list[str]:
    """Every address `host` resolves to ([] when it does not)."""
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError, OSError):
        return []
    return sorted({str(info[4][0]) for info in infos})


@lru_cache(maxsize=256)
def _signer(secret: str) -> Webhook:
    return Webhook(secret)


def sign(secret: str, msg_id: str, timestamp: datetime, body: str) -> str:
    """The `webhook-signature` header for one message (Standard Webhooks v1)."""
    return _signer(secret).sign(msg_id=msg_id, timestamp=timestamp, data=body)


def webhook_body(d: Delivery) -> str:
    return json.dumps(d.body, ensure_ascii=False, separators=(",", ":"))


def _session(pool_size: int) -> requests.Session:
    session = requests.Session()
    session.trust_env = False   # no proxies or .netrc from the environment
    adapter = HTTPAdapter(pool_connections=pool_size, pool_maxsize=pool_size, max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def _short(text: str) -> str:
    return " ".join(text.split())[:200]


class WebhookSender:
    def __init__(self, allow: AllowList, *, timeout: float = 5.0, pool_size: int = 32, resolver=resolve,
                 wall=time.time):
        self.allow = allow
        self.timeout = timeout
        self.resolver = resolver
        self.wall = wall
        self.session = _session(pool_size)

    def send(self, sub: Subscription, d: Delivery) -> c.RecordAttempt:
        started = time.monotonic()
        try:
            target = domain.parse_target(sub.url)
            if not self.allow.allows_host(target.host):
                domain.check_target(target, self.resolver(target.host, target.port), self.allow)
        except ValidationFailed as exc:
            return c.RecordAttempt(ok=False, error=f"refused: {exc.detail}")
        body = webhook_body(d)
        timestamp = datetime.fromtimestamp(int(self.wall()), tz=UTC)
        headers = {
            "content-type": "application/cloudevents+json; charset=utf-8",
            "user-agent": USER_AGENT,
            "webhook-id": d.event_id,
            "webhook-timestamp": str(int(timestamp.timestamp())),
            "webhook-signature": sign(sub.secret, d.event_id, timestamp, body),
        }
        try:
            with _deadline(self.timeout * 2):
                response = self.session.post(sub.url, data=body.encode("utf-8"), headers=headers,
                                             timeout=(self.timeout, self.timeout), allow_redirects=False, stream=True)
                try:
                    status = response.status_code
                    text = "" if 200 <= status < 300 else response.raw.read(ERROR_BODY_BYTES, decode_content=True)
                finally:
                    response.close()
        except Exception as exc:  # connection refused, timeout, TLS, the total deadline: all are failed attempts
            return c.RecordAttempt(ok=False, duration_ms=_ms(started), error=f"{type(exc).__name__}: {_short(str(exc))}")
        if 200 <= status < 300:
            return c.RecordAttempt(ok=True, status_code=status, duration_ms=_ms(started))
        detail = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
        error = f"HTTP {status}" + (" (redirects are not followed)" if 300 <= status < 400 else "")
        return c.RecordAttempt(ok=False, status_code=status, duration_ms=_ms(started),
                               error=f"{error}: {_short(detail)}" if detail.strip() else error)


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


class _deadline:
    """A total time limit on one attempt (requests' timeout is per socket operation: a receiver that
    drips a byte at a time would hold it for ever). Works where eventlet is the hub (nameko)."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.timeout = None

    def __enter__(self):
        try:
            import eventlet
        except ImportError:  # pragma: no cover
            return self
        self.timeout = eventlet.Timeout(self.seconds, TimeoutError(f"no answer within {self.seconds:g} s"))
        return self

    def __exit__(self, *exc):
        if self.timeout is not None:
            self.timeout.cancel()
        return False


# -- SMS --------------------------------------------------------------------------------------------

def sms_signature(app_secret: str, app_key: str, timestamp: str, nonce: str, body: bytes) -> str:
    """The `X-Signature` of a request to the SMS gateway (the gateway computes the same)."""
    message = "\n".join([app_key, timestamp, nonce, hashlib.sha256(body).hexdigest()]).encode()
    return hmac.new(app_secret.encode(), message, hashlib.sha256).hexdigest()


class HttpSmsGateway:
    channel = "sms"

    def __init__(self, url: str, app_key: str, app_secret: str, *, timeout: float = 5.0, sign_name: str = ""):
        self.url = url
        self.app_key = app_key
        self.app_secret = app_secret
        self.timeout = timeout
        self.sign_name = sign_name
        self.session = _session(8)

    def payload(self, n: Notice) -> dict:
        assert n.recipient is not None
        return {"phone": n.recipient.phone, "template_id": n.template_id, "params": dict(n.params),
                "sign_name": self.sign_name, "content": n.text, "out_id": n.id}

    def send(self, n: Notice) -> c.RecordAttempt:
        started = time.monotonic()
        body = json.dumps(self.payload(n), ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        timestamp, nonce = str(int(time.time() * 1000)), uuid.uuid4().hex
        headers = {"content-type": "application/json; charset=utf-8", "user-agent": USER_AGENT,
                   "x-app-key": self.app_key, "x-timestamp": timestamp, "x-nonce": nonce,
                   "x-signature": sms_signature(self.app_secret, self.app_key, timestamp, nonce, body)}
        try:
            with _deadline(self.timeout * 2):
                response = self.session.post(self.url, data=body, headers=headers,
                                             timeout=(self.timeout, self.timeout), allow_redirects=False)
        except Exception as exc:
            return c.RecordAttempt(ok=False, duration_ms=_ms(started), error=f"{type(exc).__name__}: {_short(str(exc))}")
        status = response.status_code
        try:
            answer = response.json()
        except ValueError:
            answer = {}
        answer = answer if isinstance(answer, dict) else {}
        message = _short(str(answer.get("message") or answer.get("msg") or response.text or ""))
        if 200 <= status < 300 and answer.get("code", 0) in OK_CODES:
            provider_id = answer.get("message_id") or answer.get("biz_id") or answer.get("request_id")
            return c.RecordAttempt(ok=True, status_code=status, duration_ms=_ms(started),
                                   provider_message_id=str(provider_id) if provider_id else None)
        retryable = status == 429 or status >= 500
        code = f" code {answer['code']}" if "code" in answer else ""
        return c.RecordAttempt(ok=False, status_code=status, duration_ms=_ms(started), retryable=retryable,
                               error=f"HTTP {status}{code}: {message}".strip())


class LogSms:
    """Development: the notice goes to the log (phone masked) and counts as sent."""
    channel = "log"

    def send(self, n: Notice) -> c.RecordAttempt:
        phone = domain.mask_phone(n.recipient.phone) if n.recipient else "-"
        log.info("SMS (log provider) to %s %s, template %s: %s", n.recipient.user_id if n.recipient else "-",
                 phone, n.template_id, n.text)
        return c.RecordAttempt(ok=True, provider_message_id=f"log-{n.id}")


def sms_provider(settings):
    """The provider NOTIFY_SMS_PROVIDER names (services/notify/settings.py)."""
    if settings.sms_provider == "http":
        return HttpSmsGateway(settings.sms.url, settings.sms.app_key, settings.sms.app_secret,
                              timeout=settings.sms.timeout_seconds, sign_name=settings.sms.sign_name)
    return LogSms()


class GreenRunner:
    """At most `size` deliveries in flight at once (green threads: nameko runs on eventlet)."""

    def __init__(self, size: int):
        import eventlet
        self.pool = eventlet.GreenPool(size)

    def free(self) -> int:
        return self.pool.free()

    def spawn(self, fn, *args) -> None:
        self.pool.spawn_n(fn, *args)

    def wait(self, timeout: float) -> None:
        import eventlet
        with eventlet.Timeout(timeout, False):
            self.pool.waitall()
