"""Outside-facing deliveries (issue 15): webhooks to external systems, notices to units' contacts.

Pure: subscriptions, deliveries and notices come in as data; times, the actor and collaborators
(resolved addresses, the allow-list, policies, templates) as keyword arguments. A decision has the
shape `rule(aggregate, cmd, *, now, actor, ...) -> (aggregate, [events])`.

Webhooks. A subscription names a target URL and event-type patterns in the topic syntax of
`hotline.events` (`*` one word, `#` any number of words; `ticket.#` is short for
`cn.gov.12345.ticket.#`). Every event that matches becomes one `Delivery` (its id: subscription and
event id, so a redelivered event makes none twice), attempted at once and then after each wait of
the retry schedule; when the schedule is used up it is dead (a dead letter, replayable). A failure
streak that is both long (N failed attempts in a row) and old (it began more than T ago) disables
the subscription: its pending deliveries become dead letters, and so does every event that comes
while it stays disabled, so a replay after the receiver is fixed loses nothing.

SSRF (OWASP API7): a target is http(s) only, without credentials in the URL, and every address its
host resolves to must be public, unless the host or the address is on the configured allow-list.
The check runs when the subscription is made and again before every attempt (DNS may change).

Notices. A reminder (R13), a supervision case (R13, R14), a re-investigation order (R15) and an
extension decision (R8) are told to the unit's designated contact (the first contact of the unit
with a phone) in a Chinese text rendered from a template; sending is retried on the notice
schedule, and the outcome (`notice.delivered` / `notice.failed`, with the attempts made) goes to
the ticket's timeline.
"""
from __future__ import annotations

import hashlib
import ipaddress
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Final, Literal
from urllib.parse import urlsplit

from hotline_common.actors import ADMIN, Actor
from hotline_common.errors import Conflict, RuleViolation, ValidationFailed
from hotline_common.messages import PREFIX, ActorRef, Event, Instant
from hotline_common.timeutil import iso
from services.escalation.events import ReinvestigationOrdered, ReminderSent, SupervisionOpened
from services.sla.events import DeadlineExtended, ExtensionRejected

from .events import Channel, NoticeDelivered, NoticeFailed, NoticeKind

if TYPE_CHECKING:  # commands load themselves with marshmallow: the rules only read them
    from . import commands as c

SubscriptionState = Literal["active", "disabled"]
DeliveryStatus = Literal["pending", "delivered", "dead"]
NoticeState = Literal["pending", "sent", "failed"]
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

SECRET_PREFIX: Final = "whsec_"
LOG_KEEP: Final = 20          # attempts kept in a delivery's (or notice's) log
ERROR_KEEP: Final = 300       # characters of an error kept
JITTER: Final = 0.1           # a retry waits up to 10 % more, spread by the delivery's id

KIND_LABELS: Final[dict[str, str]] = {
    "reminder": "催办通知",
    "supervision": "督办通知",
    "reinvestigation": "重新办理通知",
    "extension_granted": "延期批准通知",
    "extension_rejected": "延期不予批准通知",
}


# -- event-type patterns (the topic syntax of hotline.events) -----------------------------------------

def full_pattern(pattern: str) -> str:
    """`ticket.#` -> `cn.gov.12345.ticket.#`; a full pattern, `#` or `*...` stay as they are."""
    pattern = pattern.strip()
    if pattern.startswith(PREFIX) or pattern.startswith(("#", "*")):
        return pattern
    return PREFIX + pattern


@lru_cache(maxsize=4096)
def pattern_matches(pattern: str, event_type: str) -> bool:
    """AMQP topic matching: words split on '.', `*` is exactly one word, `#` zero or more words."""
    return _match(tuple(pattern.split(".")), tuple(event_type.split(".")))


def _match(p: tuple[str, ...], w: tuple[str, ...]) -> bool:
    if not p:
        return not w
    if p[0] == "#":
        return _match(p[1:], w) or (bool(w) and _match(p, w[1:]))
    if not w:
        return False
    return (p[0] == "*" or p[0] == w[0]) and _match(p[1:], w[1:])


def check_patterns(patterns: Iterable[str], known_types: Iterable[str]) -> tuple[str, ...]:
    """The patterns in full form, each matching at least one known event type (a typo is refused)."""
    known = sorted(known_types)
    out: list[str] = []
    errors: dict[str, list[str]] = {}
    for index, raw in enumerate(patterns):
        pattern = full_pattern(raw)
        words = pattern.split(".")
        if any(w == "" or (("*" in w or "#" in w) and w not in ("*", "#")) for w in words):
            errors[str(index)] = [f"{raw!r}: a word is a name, * or #"]
        elif not any(pattern_matches(pattern, t) for t in known):
            errors[str(index)] = [f"{raw!r} matches no event type (see docs/asyncapi.yaml)"]
        elif pattern not in out:
            out.append(pattern)
    if errors:
        raise ValidationFailed("unknown event types or patterns", errors={"types": errors})
    return tuple(out)


# -- where a webhook may go (SSRF, OWASP API7) ---------------------------------------------------------

@dataclass(frozen=True)
class AllowList:
    """Hosts and networks a target may be on although they are not public (NOTIFY_ALLOWED_HOSTS:
    comma-separated host names, addresses or CIDRs, e.g. `127.0.0.1` for tests and `make run`)."""
    hosts: frozenset[str] = frozenset()
    networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def parse(cls, text: str) -> AllowList:
        hosts: set[str] = set()
        networks: list[IPNetwork] = []
        for item in (part.strip().lower() for part in text.split(",")):
            if not item:
                continue
            try:
                networks.append(ipaddress.ip_network(item.strip("[]"), strict=False))
            except ValueError:
                hosts.add(item.rstrip("."))
        return cls(frozenset(hosts), tuple(networks))

    def allows_host(self, host: str) -> bool:
        return host.lower().rstrip(".") in self.hosts

    def allows_address(self, address: IPAddress) -> bool:
        return any(address.version == n.version and address in n for n in self.networks)

    def describe(self) -> str:
        return ", ".join(sorted(self.hosts) + [str(n) for n in self.networks]) or "nothing"


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int


def parse_target(url: str) -> Target:
    """The target of a webhook URL: http or https, a host, no user or password in it."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise _refused(f"not a valid URL: {exc}") from None
    if parts.scheme not in ("http", "https"):
        raise _refused(f"only http and https targets are allowed, not {parts.scheme or 'no scheme'!r}")
    if not parts.hostname:
        raise _refused("the URL has no host")
    if parts.username is not None or parts.password is not None:
        raise _refused("credentials in the URL are not allowed; verify the signature instead")
    if parts.fragment:
        raise _refused("the URL may not have a fragment")
    return Target(parts.scheme, parts.hostname.lower(), port or (443 if parts.scheme == "https" else 80))


def refused_address(address: str, allow: AllowList) -> str | None:
    """Why a resolved address may not be a target (None: it may)."""
    try:
        ip: IPAddress = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return f"{address} is not an IP address"
    for inner in _embedded_ipv4(ip):
        if allow.allows_address(ip) or allow.allows_address(inner):
            return None
        reason = _not_public(inner)
        if reason:
            return f"{address} is {reason} (embeds {inner})"
    if allow.allows_address(ip):
        return None
    reason = _not_public(ip)
    return f"{address} is {reason}" if reason else None


def _embedded_ipv4(ip: IPAddress) -> list[ipaddress.IPv4Address]:
    """IPv4 addresses an IPv6 address carries (mapped ::ffff:a.b.c.d, 6to4, NAT64 64:ff9b::/96)."""
    if not isinstance(ip, ipaddress.IPv6Address):
        return []
    found = [a for a in (ip.ipv4_mapped, ip.sixtofour) if a is not None]
    if ip in ipaddress.ip_network("64:ff9b::/96"):
        found.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return found


def _not_public(ip: IPAddress) -> str | None:
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_link_local:
        return "a link-local address"
    if ip.is_multicast:
        return "a multicast address"
    if ip.is_unspecified or ip.is_reserved:
        return "a reserved address"
    if ip.is_private:
        return "a private address"
    if not ip.is_global:
        return "not a public address"
    return None


def check_target(target: Target, addresses: Sequence[str], allow: AllowList) -> None:
    """Refuse (ValidationFailed, 422) unless every address the host resolves to may be a target."""
    if allow.allows_host(target.host):
        return
    if not addresses:
        raise _refused(f"the host {target.host} does not resolve")
    reasons = [r for r in (refused_address(a, allow) for a in addresses) if r]
    if reasons:
        raise _refused(f"{target.host} resolves to an address that is not public: {'; '.join(reasons)}. "
                       f"Only public addresses are allowed (allowed otherwise: {allow.describe()})")


def _refused(detail: str) -> ValidationFailed:
    return ValidationFailed(f"webhook target refused: {detail}", errors={"url": [detail]})


# -- retries ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class RetryPolicy:
    """The waits after the 1st, 2nd, ... failed attempt; attempts = len(schedule) + 1."""
    schedule: tuple[float, ...]

    @property
    def max_attempts(self) -> int:
        return len(self.schedule) + 1

    def next_attempt_at(self, failed: int, now: datetime, key: str) -> datetime | None:
        """When to try again after `failed` failed attempts (None: no attempts left)."""
        if failed >= self.max_attempts:
            return None
        base = self.schedule[failed - 1]
        spread = int(hashlib.sha256(f"{key}:{failed}".encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
        return now + timedelta(seconds=base * (1 + JITTER * spread))


@dataclass(frozen=True)
class WebhookPolicy:
    retry: RetryPolicy
    disable_after_failures: int = 100          # failed attempts in a row ...
    disable_after: timedelta = timedelta(hours=24)  # ... over at least this long
    delivered_retention: timedelta = timedelta(days=14)
    dead_retention: timedelta = timedelta(days=30)
    max_subscriptions_per_owner: int = 20


@dataclass(frozen=True, kw_only=True)
class Attempt:
    """One try, as a delivery's log shows it."""
    at: datetime
    ok: bool
    status_code: int | None = None
    duration_ms: int = 0
    error: str | None = None


def attempt_of(cmd: c.RecordAttempt, now: datetime) -> Attempt:
    return Attempt(at=now, ok=cmd.ok, status_code=cmd.status_code, duration_ms=cmd.duration_ms,
                   error=(cmd.error or "")[:ERROR_KEEP] or None)


# -- subscriptions -------------------------------------------------------------------------------------

@dataclass(frozen=True, kw_only=True)
class Idempotency:
    key: str
    fingerprint: str


@dataclass(frozen=True, kw_only=True)
class Subscription:
    id: str
    owner: str                      # the subscriber's user id (who may see and change it)
    url: str
    types: tuple[str, ...]          # full patterns
    secret: str                     # whsec_..., shown once when made
    description: str = ""
    state: SubscriptionState = "active"
    created_at: datetime
    failure_streak: int = 0         # failed attempts in a row
    failing_since: datetime | None = None
    disabled_at: datetime | None = None
    disabled_reason: str | None = None
    idempotency: Idempotency | None = None

    def wants(self, event_type: str) -> bool:
        return any(pattern_matches(p, event_type) for p in self.types)


def fingerprint(cmd: c.CreateSubscription) -> str:
    body = {"url": cmd.url, "types": list(cmd.types), "description": cmd.description}
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def new_subscription(cmd: c.CreateSubscription, *, now: datetime, actor: Actor, id: str, secret: str,
                     addresses: Sequence[str], allow: AllowList, known_types: Iterable[str], owned: int,
                     policy: WebhookPolicy) -> tuple[Subscription, list[Event]]:
    """A new webhook subscription of the caller's, after the target and patterns are checked."""
    check_target(parse_target(cmd.url), addresses, allow)
    types = check_patterns(cmd.types, known_types)
    if owned >= policy.max_subscriptions_per_owner:
        raise RuleViolation(f"at most {policy.max_subscriptions_per_owner} subscriptions per subscriber")
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError("a webhook secret starts with whsec_")
    idem = Idempotency(key=cmd.idempotency_key, fingerprint=fingerprint(cmd)) if cmd.idempotency_key else None
    return Subscription(id=id, owner=actor.user_id, url=cmd.url.strip(), types=types, secret=secret,
                        description=cmd.description, created_at=now, idempotency=idem), []


def same_request(existing: Subscription, cmd: c.CreateSubscription) -> Subscription:
    """A repeated Idempotency-Key: the same body answers what the first request made; another body is refused."""
    if existing.idempotency is None or existing.idempotency.fingerprint != fingerprint(cmd):
        raise ValidationFailed("this Idempotency-Key was used with another request body",
                               errors={"Idempotency-Key": ["reused with a different body"]})
    return existing


def can_see(sub: Subscription, actor: Actor) -> bool:
    """A subscriber sees its own subscriptions; an admin sees all (another's answers 404, not 403)."""
    return actor.role == ADMIN or sub.owner == actor.user_id


def should_disable(sub: Subscription, *, now: datetime, policy: WebhookPolicy) -> bool:
    """After a failed attempt was counted: is the streak long and old enough to stop trying?"""
    return (sub.state == "active" and sub.failure_streak >= policy.disable_after_failures
            and sub.failing_since is not None and now - sub.failing_since >= policy.disable_after)


def disable(sub: Subscription, cmd: c.Disable, *, now: datetime, actor: Actor) -> tuple[Subscription, list[Event]]:
    if sub.state == "disabled":
        raise Conflict(f"subscription {sub.id} is disabled already")
    return replace(sub, state="disabled", disabled_at=now, disabled_reason=cmd.reason), []


def enable(sub: Subscription, cmd: c.ReplayDeadLetters, *, now: datetime,
           actor: Actor) -> tuple[Subscription, list[Event]]:
    """A replay enables a disabled subscription again, with its failure streak forgotten."""
    return replace(sub, state="active", failure_streak=0, failing_since=None, disabled_at=None,
                   disabled_reason=None), []


# -- deliveries ----------------------------------------------------------------------------------------

@dataclass(frozen=True, kw_only=True)
class Delivery:
    id: str                         # "<subscription id>:<event id>"
    subscription_id: str
    event_id: str                   # also the webhook-id header: receivers dedupe by it
    event_type: str
    subject: str
    body: dict[str, Any]            # the CloudEvent, as it is POSTed
    status: DeliveryStatus
    created_at: datetime
    next_attempt_at: datetime | None
    attempts: int = 0               # all attempts made
    round_attempts: int = 0         # since it was made or last replayed (the schedule counts these)
    delivered_at: datetime | None = None
    dead_reason: str | None = None
    expire_at: datetime | None = None   # the store forgets it then (delivered and dead ones only)
    log: tuple[Attempt, ...] = ()


def delivery_id(subscription_id: str, event_id: str) -> str:
    return f"{subscription_id}:{event_id}"


def cursor_of(d: Delivery) -> str:
    """Where a page of the delivery log ends (newest first: by creation time, then id)."""
    return f"{iso(d.created_at)}|{d.id}"


def fan_out(envelope: Mapping[str, Any], *, now: datetime, subscriptions: Iterable[Subscription],
            policy: WebhookPolicy) -> list[Delivery]:
    """One delivery per subscription that wants the event: due at once when the subscription is
    active, a dead letter when it is disabled (delivered by a replay once it is fixed)."""
    out = []
    for sub in subscriptions:
        if not sub.wants(envelope["type"]):
            continue
        active = sub.state == "active"
        out.append(Delivery(
            id=delivery_id(sub.id, envelope["id"]), subscription_id=sub.id, event_id=envelope["id"],
            event_type=envelope["type"], subject=str(envelope.get("subject") or ""), body=dict(envelope),
            status="pending" if active else "dead", created_at=now, next_attempt_at=now if active else None,
            dead_reason=None if active else "subscription disabled",
            expire_at=None if active else now + policy.dead_retention))
    return out


def delivery_attempted(d: Delivery, cmd: c.RecordAttempt, *, now: datetime, actor: Actor,
                       policy: WebhookPolicy) -> tuple[Delivery, list[Event]]:
    """Record an attempt: delivered on a 2xx; otherwise the next try per the schedule, or dead."""
    if d.status != "pending":
        raise Conflict(f"delivery {d.id} is {d.status}, not pending")
    attempt = attempt_of(cmd, now)
    d = replace(d, attempts=d.attempts + 1, round_attempts=d.round_attempts + 1, log=(*d.log, attempt)[-LOG_KEEP:])
    if cmd.ok:
        return replace(d, status="delivered", delivered_at=now, next_attempt_at=None,
                       expire_at=now + policy.delivered_retention), []
    retry_at = policy.retry.next_attempt_at(d.round_attempts, now, d.id)
    if retry_at is None:
        return replace(d, status="dead", next_attempt_at=None, dead_reason="attempts exhausted",
                       expire_at=now + policy.dead_retention), []
    return replace(d, next_attempt_at=retry_at), []


def given_up(d: Delivery, cmd: c.Disable, *, now: datetime, actor: Actor,
             policy: WebhookPolicy) -> tuple[Delivery, list[Event]]:
    """A pending delivery of a subscription that was disabled becomes a dead letter."""
    if d.status != "pending":
        return d, []
    return replace(d, status="dead", next_attempt_at=None, dead_reason=cmd.reason,
                   expire_at=now + policy.dead_retention), []


def replay(d: Delivery, cmd: c.ReplayDeadLetters, *, now: datetime, actor: Actor) -> tuple[Delivery, list[Event]]:
    """A dead letter goes out again with a fresh round of attempts (same webhook-id: receivers dedupe)."""
    if d.status != "dead":
        raise Conflict(f"delivery {d.id} is {d.status}, not a dead letter")
    return replace(d, status="pending", next_attempt_at=now, round_attempts=0, dead_reason=None,
                   expire_at=None), []


# -- notices to units' contacts --------------------------------------------------------------------

@dataclass(frozen=True, kw_only=True)
class Contact:
    user_id: str
    name: str
    phone: str


@dataclass(frozen=True, kw_only=True)
class UnitContact:
    unit_id: str
    unit_name: str
    contact: Contact | None


def designated_contact(unit: Mapping[str, Any]) -> UnitContact:
    """A unit of config/units.yaml with its designated contact: the first contact that has a phone."""
    contact = next((Contact(user_id=str(p["user_id"]), name=str(p.get("name", "")), phone=str(p["phone"]))
                    for p in unit.get("contacts") or () if p.get("phone")), None)
    return UnitContact(unit_id=str(unit["id"]), unit_name=str(unit.get("name", unit["id"])), contact=contact)


@dataclass(frozen=True, kw_only=True)
class Template:
    template_id: str    # the template's code at the SMS gateway
    text: str           # the Chinese text with {placeholders}


class _Values(dict[str, str]):
    def __missing__(self, key: str) -> str:
        raise KeyError(key)


def render(template: Template, values: Mapping[str, str]) -> str:
    try:
        return template.text.format_map(_Values(values))
    except (KeyError, IndexError, ValueError) as exc:
        raise ValidationFailed(f"template {template.template_id} cannot be rendered: {exc!r}",
                               errors={"template": [str(exc)]}) from None


@dataclass(frozen=True, kw_only=True)
class NoticeRequest:
    """What an event asks to be told, and to which unit."""
    kind: NoticeKind
    ticket_id: str
    number: str
    unit_id: str
    cause_id: str
    cause_type: str
    values: Mapping[str, str] = field(default_factory=dict)


NOTICE_EVENTS: Final = (ReminderSent, SupervisionOpened, ReinvestigationOrdered, DeadlineExtended, ExtensionRejected)


def notice_request(event: Event, cause_id: str) -> NoticeRequest | None:
    """The notice an event calls for (None: it names no unit to tell)."""
    def ask(kind: NoticeKind, unit_id: str | None, ticket_id: str, number: str, **values: object) -> NoticeRequest | None:
        if not unit_id:
            return None
        return NoticeRequest(kind=kind, ticket_id=ticket_id, number=number, unit_id=unit_id, cause_id=cause_id,
                             cause_type=event.TYPE, values={"number": number, **{k: str(v) for k, v in values.items()}})
    if isinstance(event, ReminderSent):
        return ask("reminder", event.unit_id, event.ticket_id, event.number, n=event.n,
                   working_days_overdue=event.working_days_overdue)
    if isinstance(event, SupervisionOpened):
        return ask("supervision", event.unit_id, event.ticket_id, event.number, case_no=event.case_no,
                   trigger_label=event.trigger_label)
    if isinstance(event, ReinvestigationOrdered):
        return ask("reinvestigation", event.unit_id, event.ticket_id, event.number, case_no=event.case_no,
                   working_days=event.working_days)
    if isinstance(event, DeadlineExtended):
        return ask("extension_granted", event.unit_id, event.ticket_id, event.number,
                   extended_working_days=event.extended_working_days, due_date=event.due_date)
    if isinstance(event, ExtensionRejected):
        return ask("extension_rejected", event.unit_id, event.ticket_id, event.number,
                   note=event.note or "未说明理由", due_date=event.due_date)
    return None


@dataclass(frozen=True, kw_only=True)
class Notice:
    id: str
    kind: NoticeKind
    ticket_id: str
    number: str
    unit_id: str
    cause_id: str
    cause_type: str
    channel: Channel
    recipient: Contact | None
    template_id: str
    params: dict[str, str]
    text: str
    state: NoticeState
    created_at: datetime
    next_attempt_at: datetime | None
    attempts: int = 0
    provider_message_id: str | None = None
    failure: str | None = None
    log: tuple[Attempt, ...] = ()
    version: int = 0


def open_notice(req: NoticeRequest, *, now: datetime, actor: Actor, id: str, unit: UnitContact | None,
                template: Template, channel: Channel) -> tuple[Notice, list[Event]]:
    """A notice for the unit's designated contact, due at once; failed at once (and said so on the
    timeline) when notify knows no contact with a phone for the unit."""
    contact = unit.contact if unit is not None else None
    params = {**req.values, "unit_name": unit.unit_name if unit else req.unit_id,
              "contact_name": contact.name if contact else ""}
    notice = Notice(id=id, kind=req.kind, ticket_id=req.ticket_id, number=req.number, unit_id=req.unit_id,
                    cause_id=req.cause_id, cause_type=req.cause_type, channel=channel, recipient=contact,
                    template_id=template.template_id, params=params, text=render(template, params),
                    state="pending", created_at=now, next_attempt_at=now)
    if contact is not None:
        return notice, []
    why = (f"unit {req.unit_id} has no designated contact with a phone" if unit is not None else
           f"unit {req.unit_id} is not in notify's directory (config/units.yaml; notify reads it at start)")
    failed = replace(notice, state="failed", next_attempt_at=None, failure=why)
    return failed, [_notice_failed(failed, "no_contact", why, now, actor)]


def notice_attempted(n: Notice, cmd: c.RecordAttempt, *, now: datetime, actor: Actor,
                     policy: RetryPolicy) -> tuple[Notice, list[Event]]:
    """Sent; or refused for good (the gateway's 4xx); or retried per the schedule until it is used up."""
    if n.state != "pending":
        raise Conflict(f"notice {n.id} is {n.state}, not pending")
    n = replace(n, attempts=n.attempts + 1, log=(*n.log, attempt_of(cmd, now))[-LOG_KEEP:])
    if cmd.ok:
        sent = replace(n, state="sent", next_attempt_at=None, provider_message_id=cmd.provider_message_id)
        return sent, [NoticeDelivered(**_notice_facts(sent, now, actor), provider_message_id=cmd.provider_message_id)]
    error = (cmd.error or f"HTTP {cmd.status_code}")[:ERROR_KEEP]
    retry_at = policy.next_attempt_at(n.attempts, now, n.id) if cmd.retryable else None
    if retry_at is not None:
        return replace(n, next_attempt_at=retry_at, failure=error), []
    failed = replace(n, state="failed", next_attempt_at=None, failure=error)
    return failed, [_notice_failed(failed, "exhausted" if cmd.retryable else "rejected", error, now, actor)]


def _notice_failed(n: Notice, reason: Literal["no_contact", "rejected", "exhausted"], error: str, now: datetime,
                   actor: Actor) -> NoticeFailed:
    return NoticeFailed(**_notice_facts(n, now, actor), reason=reason, error=error)


def _notice_facts(n: Notice, now: datetime, actor: Actor) -> dict[str, Any]:
    return {"notice_id": n.id, "ticket_id": n.ticket_id, "number": n.number, "unit_id": n.unit_id,
            "kind": n.kind, "kind_label": KIND_LABELS[n.kind], "cause_type": n.cause_type, "cause_id": n.cause_id,
            "channel": n.channel, "recipient": n.recipient.user_id if n.recipient else None,
            "attempts": n.attempts, "at": Instant(iso(now) or ""),
            "actor": ActorRef(user_id=actor.user_id, role=actor.role, unit_id=actor.unit_id)}  # type: ignore[arg-type]


def mask_phone(phone: str) -> str:
    """138****1234: what a log or an answer shows of a contact's phone."""
    digits = phone.strip()
    return digits[:3] + "****" + digits[-4:] if len(digits) >= 8 else "****"
