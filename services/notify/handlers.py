"""notify's use cases: `handler(app, command, actor)` for each RPC, `reaction(app, received)` for each
event it consumes, `fire(app)` for its timer, and `HANDLERS`, the one table the nameko entrypoints
are generated from.

notify consumes every event type (a subscription may ask for any): each event becomes one delivery
per subscription that wants it, written to the store-backed queue in one bulk insert. The reaction
never waits for a receiver: a new delivery this replica has room for is written already claimed
and handed to the bounded pool at once; everything else (retries, the overflow, what a dead
replica left) is claimed by the timer, per subscription and within the concurrency bounds. So a
slow receiver holds up neither the five services (they only publish) nor notify's own inbox, and
each attempt's outcome is written back (grouped with concurrent ones).
"""
from __future__ import annotations

import base64
import itertools
import logging
import secrets
import threading
import uuid
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

from hotline_common.actors import ADMIN, SUBSCRIBER, SYSTEM_ACTOR, Actor
from hotline_common.dispatch import Handlers, Outcome, Received
from hotline_common.errors import NotFound
from hotline_common.messages import load_all
from hotline_common.timeutil import iso

from . import commands as c
from . import domain, metrics
from .domain import NOTICE_EVENTS, Delivery, Notice, Subscription, UnitContact
from .settings import CLAIM_ROUNDS, NotifySettings

log = logging.getLogger(__name__)

REPLAY_MAX = 1000          # dead letters replayed per request (call again for more)
NOTICE_BATCH = 100
BURY_PAGE = 500


def new_secret() -> str:
    """A Standard Webhooks secret: `whsec_` + base64 of 32 random bytes."""
    return domain.SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def new_id() -> str:
    return uuid.uuid4().hex


class InlineRunner:
    """Runs a delivery at once, in the caller (the fakes' and tests' pool)."""

    def free(self) -> int:
        return 1_000_000

    def spawn(self, fn, *args) -> None:
        fn(*args)

    def wait(self, timeout: float) -> None:
        pass


@dataclass
class Notify:
    """The ports the use cases work with."""
    store: Any                      # store.NotifyStore, or fakes.MemoryNotifyStore in tests
    clock: Any                      # .now() -> an aware UTC datetime
    settings: NotifySettings        # policies, the SSRF allow-list, templates
    units: Mapping[str, UnitContact]    # unit id -> its designated contact (config/units.yaml, read at start)
    webhooks: Any                   # .send(subscription, delivery) -> c.RecordAttempt
    sms: Any                        # .send(notice) -> c.RecordAttempt; .channel ("sms" | "log")
    resolve: Callable[[str, int], list[str]]
    runner: Any = field(default_factory=InlineRunner)   # .free(), .spawn(fn, *args)
    known_types: tuple[str, ...] = ()
    new_id: Callable[[], str] = new_id
    new_secret: Callable[[], str] = new_secret
    in_flight: Counter = field(default_factory=Counter)   # subscription id -> deliveries in flight here
    workers: Counter = field(default_factory=Counter)     # subscription id -> its workers running here
    queues: defaultdict = field(default_factory=lambda: defaultdict(deque))  # claimed, waiting: (delivery, token)
    lock: threading.Lock = field(default_factory=threading.Lock)
    ticks: itertools.count = field(default_factory=itertools.count)
    deliver_on_arrival: bool = True   # a new delivery is sent at once when this replica has room for it
    token: str = field(default_factory=lambda: uuid.uuid4().hex[:12])   # this replica's claims on arrival

    def __post_init__(self):
        if not self.known_types:
            self.known_types = tuple(sorted(load_all()))


# -- webhook subscriptions (the `subscriber` role, and admin) ----------------------------------------

def create_subscription(app: Notify, cmd: c.CreateSubscription, actor: Actor) -> dict:
    actor.require(SUBSCRIBER, ADMIN)
    if cmd.idempotency_key:
        earlier = app.store.by_idempotency(actor.user_id, cmd.idempotency_key)
        if earlier is not None:
            return present_subscription(domain.same_request(earlier, cmd), secret=True)
    target = domain.parse_target(cmd.url)
    allow = app.settings.allow
    addresses = [] if allow.allows_host(target.host) else app.resolve(target.host, target.port)
    sub, _ = domain.new_subscription(cmd, now=app.clock.now(), actor=actor, id=app.new_id(), secret=app.new_secret(),
                                     addresses=addresses, allow=allow, known_types=app.known_types,
                                     owned=app.store.count_owned(actor.user_id), policy=app.settings.webhooks)
    if not app.store.add_subscription(sub):   # a concurrent request with the same key won
        sub = domain.same_request(app.store.by_idempotency(actor.user_id, cmd.idempotency_key), cmd)
    log.info("subscription %s of %s: %s for %s", sub.id, sub.owner, sub.url, ", ".join(sub.types))
    return present_subscription(sub, secret=True)


def list_subscriptions(app: Notify, cmd: c.ListSubscriptions, actor: Actor) -> dict:
    actor.require(SUBSCRIBER, ADMIN)
    owner = None if actor.role == ADMIN else actor.user_id
    return {"items": [present_subscription(s) for s in app.store.subscriptions(owner)]}


def get_subscription(app: Notify, cmd: c.GetSubscription, actor: Actor) -> dict:
    return present_subscription(_visible(app, cmd.subscription_id, actor))


def delete_subscription(app: Notify, cmd: c.DeleteSubscription, actor: Actor) -> dict:
    sub = _visible(app, cmd.subscription_id, actor)
    app.store.delete_subscription(sub.id)
    log.info("subscription %s deleted by %s", sub.id, actor.user_id)
    return {"deleted": sub.id}


def list_deliveries(app: Notify, cmd: c.ListDeliveries, actor: Actor) -> dict:
    sub = _visible(app, cmd.subscription_id, actor)
    return _page(app.store.deliveries(sub.id, status=cmd.status, limit=cmd.limit + 1, cursor=cmd.cursor), cmd.limit)


def list_dead_letters(app: Notify, cmd: c.ListDeadLetters, actor: Actor) -> dict:
    sub = _visible(app, cmd.subscription_id, actor)
    return _page(app.store.deliveries(sub.id, status="dead", limit=cmd.limit + 1, cursor=cmd.cursor), cmd.limit)


def replay_dead_letters(app: Notify, cmd: c.ReplayDeadLetters, actor: Actor) -> dict:
    """Dead letters (those named, or all) are delivered again; a disabled subscription is enabled."""
    sub = _visible(app, cmd.subscription_id, actor)
    now = app.clock.now()
    if sub.state == "disabled":
        sub, _ = domain.enable(sub, cmd, now=now, actor=actor)
        app.store.set_enabled(sub)
        log.info("subscription %s enabled again by %s", sub.id, actor.user_id)
    dead = app.store.deliveries(sub.id, status="dead", ids=cmd.delivery_ids, limit=REPLAY_MAX + 1)
    replayed = [domain.replay(d, cmd, now=now, actor=actor)[0] for d in dead[:REPLAY_MAX]]
    count = app.store.save_deliveries(replayed, expect="dead")
    not_dead = sorted(set(cmd.delivery_ids) - {d.id for d in dead})
    return {"replayed": count, "more": len(dead) > REPLAY_MAX, "not_dead_letters": not_dead,
            "subscription": present_subscription(sub)}


def _visible(app: Notify, subscription_id: str, actor: Actor) -> Subscription:
    actor.require(SUBSCRIBER, ADMIN)
    sub = app.store.subscription(subscription_id)
    if sub is None or not domain.can_see(sub, actor):
        raise NotFound(f"subscription {subscription_id} not found")  # another's is not found either
    return sub


def _page(found: list[Delivery], limit: int) -> dict:
    items = found[:limit]
    return {"items": [present_delivery(d) for d in items],
            "next_cursor": domain.cursor_of(items[-1]) if len(found) > limit else None}


# -- reactions: every event is offered to the subscriptions; some also notify a unit ---------------

def fan_out(app: Notify, received: Received) -> Outcome:
    """Queue one delivery per subscription that wants this event (none twice: the delivery id names
    the subscription and the event). Where this replica has room in a subscription's queue (and its
    receiver is not failing), the delivery is written already claimed and sent at once from the
    pool: no separate claim write, no wait for the timer. The rest waits in the store for the timer."""
    now = app.clock.now()
    subs = {s.id: s for s in app.store.all_subscriptions()}
    deliveries = domain.fan_out(received.envelope, now=now, subscriptions=subs.values(), policy=app.settings.webhooks)
    if not deliveries:
        return Outcome.NO_CHANGE
    until = now + timedelta(seconds=app.settings.claim_seconds)
    ready: list[Delivery] = []
    if app.deliver_on_arrival:
        with app.lock:
            for d in deliveries:
                sub = subs[d.subscription_id]
                room = in_flight_bound(app, sub) * CLAIM_ROUNDS - len(app.queues[sub.id]) - app.in_flight[sub.id]
                if d.status == "pending" and room > sum(1 for r in ready if r.subscription_id == sub.id):
                    ready.append(replace(d, next_attempt_at=until))
    claimed = {d.id: d for d in ready}
    inserted = app.store.add_deliveries([claimed.get(d.id, d) for d in deliveries],
                                        claims={key: app.token for key in claimed})
    for d in ready:
        if d.id in inserted:
            with app.lock:
                app.queues[d.subscription_id].append((d, app.token))
    for sub_id in {d.subscription_id for d in ready if d.id in inserted}:
        start_workers(app, sub_id, in_flight_bound(app, subs[sub_id]))
    return Outcome.APPLIED if inserted else Outcome.DUPLICATE


def notify_unit(app: Notify, received: Received) -> Outcome:
    """R8, R13-R15: a reminder, a supervision case, a re-investigation order or an extension decision
    is also told to the unit's designated contact (and offered to the subscriptions like any event)."""
    offered = fan_out(app, received)
    request = domain.notice_request(received.event, received.id)
    if request is None:
        return offered
    notice, events = domain.open_notice(
        request, now=app.clock.now(), actor=SYSTEM_ACTOR, id=notice_id(received.id, request.kind),
        unit=app.units.get(request.unit_id), template=app.settings.templates[request.kind], channel=app.sms.channel)
    if events:
        log.warning("notice %s for %s not sent: %s", notice.id, notice.number, notice.failure)
        metrics.NOTICES.labels(notice.kind, "failed").inc()
    applied = app.store.add_notice(notice, events, cause=received.id)
    return Outcome.APPLIED if applied or offered is Outcome.APPLIED else Outcome.DUPLICATE


def notice_id(cause: str, kind: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"hotline:notice:{cause}:{kind}"))


# -- the timer: claim what is due, send it from the bounded pool, record each outcome -----------------

def fire(app: Notify) -> dict:
    """One round: due notices, then due webhook deliveries. Returns how many were started."""
    now = app.clock.now()
    return {"notices": fire_notices(app, now), "deliveries": fire_deliveries(app, now)}


def fire_notices(app: Notify, now) -> int:
    due = app.store.due_notices(now, min(app.runner.free(), NOTICE_BATCH))
    claimed = app.store.claim_notices(due, now + timedelta(seconds=app.settings.claim_seconds))
    for notice in claimed:
        app.runner.spawn(send_notice, app, notice)
    return len(claimed)


def send_notice(app: Notify, notice: Notice) -> None:
    try:
        result = app.sms.send(notice)
        after, events = domain.notice_attempted(notice, result, now=app.clock.now(), actor=SYSTEM_ACTOR,
                                                policy=app.settings.notices)
        app.store.save_notice(after, events)
        outcome = after.state if after.state != "pending" else "retry"
        metrics.NOTICES.labels(after.kind, outcome).inc()
        if not result.ok:
            log.warning("notice %s (%s, %s) attempt %d failed: %s; %s", notice.id, notice.kind, notice.number,
                        after.attempts, result.error, "retry at " + str(iso(after.next_attempt_at))
                        if after.state == "pending" else after.state)
    except Exception:  # the claim expires and the notice is tried again
        log.exception("sending notice %s failed unexpectedly", notice.id)


def fire_deliveries(app: Notify, now) -> int:
    """Claim due deliveries subscription by subscription (in a rotating order, so none starves when
    the pool is full) into this replica's queue of that subscription, at most `claim_batch` held at
    once, and start its workers (at most `max_in_flight_per_subscription` at a time, each sending one
    delivery after another until the queue is empty). A claim outlasts the time its batch can take,
    so another replica takes a delivery over only when this one died. Returns how many were claimed."""
    subs = [s for s in app.store.all_subscriptions() if s.state == "active"]
    if not subs:
        return 0
    start = next(app.ticks) % len(subs)
    token = uuid.uuid4().hex[:12]
    until = now + timedelta(seconds=app.settings.claim_seconds)
    claimed_total = 0
    for sub in subs[start:] + subs[:start]:
        bound = in_flight_bound(app, sub)
        with app.lock:
            want = bound * CLAIM_ROUNDS - len(app.queues[sub.id]) - app.in_flight[sub.id]
        if want > 0:
            claimed = app.store.claim_deliveries(app.store.due_deliveries(sub.id, now, want), until, token)
            with app.lock:
                app.queues[sub.id].extend((d, token) for d in claimed)
            claimed_total += len(claimed)
        start_workers(app, sub.id, bound)
    return claimed_total


def in_flight_bound(app: Notify, sub: Subscription) -> int:
    """A subscription's concurrent attempts: the configured bound, or one at a time (probing) while its
    receiver keeps failing, so a dead receiver costs one slot and is not hammered when it comes back."""
    if sub.failure_streak >= app.settings.probe_after_failures:
        return 1
    return app.settings.max_in_flight_per_subscription


def start_workers(app: Notify, subscription_id: str, bound: int) -> None:
    while True:
        with app.lock:
            if not app.queues[subscription_id] or app.runner.free() <= 0 or app.workers[subscription_id] >= bound:
                return
            app.workers[subscription_id] += 1
        app.runner.spawn(delivery_worker, app, subscription_id)


def delivery_worker(app: Notify, subscription_id: str) -> None:
    """Send the subscription's claimed deliveries one after another; stop when the queue is empty or
    the subscription is gone or disabled (what is left is the store's again when its claim expires)."""
    try:
        while True:
            with app.lock:
                queue = app.queues[subscription_id]
                if not queue:
                    return
                d, token = queue.popleft()
                app.in_flight[subscription_id] += 1
            try:
                sub = next((s for s in app.store.all_subscriptions() if s.id == subscription_id), None)
                if sub is None or sub.state != "active":
                    with app.lock:
                        app.queues[subscription_id].clear()
                    return
                attempt_delivery(app, sub, d, token)
            finally:
                with app.lock:
                    app.in_flight[subscription_id] -= 1
    finally:
        with app.lock:
            app.workers[subscription_id] -= 1


def attempt_delivery(app: Notify, sub: Subscription, d: Delivery, token: str) -> None:
    try:
        result = app.webhooks.send(sub, d)
        now = app.clock.now()
        after, _ = domain.delivery_attempted(d, result, now=now, actor=SYSTEM_ACTOR, policy=app.settings.webhooks)
        app.store.settle_delivery(after, token)
        metrics.WEBHOOK_ATTEMPTS.labels("delivered" if result.ok else "dead" if after.status == "dead" else "failed").inc()
        metrics.WEBHOOK_SECONDS.observe(result.duration_ms / 1000)
        if result.ok:
            # always asked of the store: the copy read here is up to a second old, and a failure
            # another worker or replica counted since would otherwise outlive the recovery
            app.store.count_success(sub.id)
            return
        log.info("webhook %s to subscription %s, attempt %d failed: %s", d.id, sub.id, after.attempts, result.error)
        streak = app.store.count_failure(sub.id, now)
        if streak is not None and domain.should_disable(streak, now=now, policy=app.settings.webhooks):
            disable_subscription(app, streak, f"{streak.failure_streak} failed attempts in a row since "
                                              f"{iso(streak.failing_since)}")
    except Exception:  # the claim expires and the delivery is tried again
        log.exception("webhook delivery %s failed unexpectedly", d.id)


def disable_subscription(app: Notify, sub: Subscription, reason: str) -> bool:
    """Stop delivering to a subscription that keeps failing: its pending deliveries become dead
    letters (a replay delivers them once the receiver is fixed)."""
    now = app.clock.now()
    disabled, _ = domain.disable(sub, c.Disable(reason=reason), now=now, actor=SYSTEM_ACTOR)
    if not app.store.set_disabled(disabled):
        return False   # another replica disabled it first
    metrics.WEBHOOK_DISABLED.inc()
    with app.lock:
        app.queues[sub.id].clear()
    log.warning("subscription %s (%s) disabled: %s", sub.id, sub.url, reason)
    cmd = c.Disable(reason=f"subscription disabled: {reason}")
    for _ in range(10_000):
        pending = app.store.deliveries(sub.id, status="pending", limit=BURY_PAGE)
        if not pending:
            break
        buried = [domain.given_up(d, cmd, now=now, actor=SYSTEM_ACTOR, policy=app.settings.webhooks)[0]
                  for d in pending]
        if not app.store.save_deliveries(buried, expect="pending"):
            break
    return True


# -- what the RPCs answer -------------------------------------------------------------------------------

def present_subscription(sub: Subscription, secret: bool = False) -> dict:
    """A subscription as its owner sees it; the signing secret only in the answer that made it."""
    view = {"id": sub.id, "url": sub.url, "types": list(sub.types), "description": sub.description,
            "state": sub.state, "owner": sub.owner, "created_at": iso(sub.created_at),
            "failure_streak": sub.failure_streak, "failing_since": iso(sub.failing_since),
            "disabled_at": iso(sub.disabled_at), "disabled_reason": sub.disabled_reason}
    if secret:
        view["secret"] = sub.secret
    return view


def present_delivery(d: Delivery) -> dict:
    return {"id": d.id, "event_id": d.event_id, "event_type": d.event_type, "subject": d.subject,
            "status": d.status, "attempts": d.attempts, "created_at": iso(d.created_at),
            "next_attempt_at": iso(d.next_attempt_at) if d.status == "pending" else None,
            "delivered_at": iso(d.delivered_at), "dead_reason": d.dead_reason,
            "log": [{"at": iso(a.at), "ok": a.ok, "status_code": a.status_code, "duration_ms": a.duration_ms,
                     "error": a.error} for a in d.log]}


def _event_reactions() -> dict:
    reactions: dict = {cls: fan_out for cls in load_all().values()}
    reactions.update({cls: notify_unit for cls in NOTICE_EVENTS})
    return dict(sorted(reactions.items(), key=lambda item: item[0].TYPE))


HANDLERS = Handlers(
    service="notify",
    commands={
        "create_subscription": (c.CreateSubscription, create_subscription),
        "list_subscriptions": (c.ListSubscriptions, list_subscriptions),
        "get_subscription": (c.GetSubscription, get_subscription),
        "delete_subscription": (c.DeleteSubscription, delete_subscription),
        "list_deliveries": (c.ListDeliveries, list_deliveries),
        "list_dead_letters": (c.ListDeadLetters, list_dead_letters),
        "replay_dead_letters": (c.ReplayDeadLetters, replay_dead_letters),
    },
    events=_event_reactions(),   # every event class -> fan_out; the five notice events -> notify_unit
)
