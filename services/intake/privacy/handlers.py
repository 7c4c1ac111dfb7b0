"""The privacy use cases `handler(app, command, actor)`: a unit's recorded reveal of a citizen's contact,
the hotline office's list of reveals, and the retention policy's erasure (an admin command and
intake's timer). `COMMANDS` joins intake's one handler table (services/intake/handlers.py);
`app.privacy` is a `Privacy`."""
from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hotline_common.actors import ADMIN, OPERATOR, SYSTEM, Actor
from hotline_common.errors import Conflict, HotlineError, NotFound, StaleVersion, ValidationFailed
from hotline_common.timeutil import iso

from .. import domain as ticket_domain
from . import domain
from .commands import ApplyRetention, ListReveals, RevealContact
from .domain import RetentionPolicy, Reveal

log = logging.getLogger(__name__)


@dataclass
class Privacy:
    """The ports of the privacy rules: the audit log, the tickets' contact data, the policy."""
    audit: Any           # store.AuditLog or fakes.FakeAuditLog
    contacts: Any        # store.ContactData or fakes.FakeContactData
    policy: RetentionPolicy = field(default_factory=RetentionPolicy)


def _privacy(app: Any) -> Privacy:
    privacy: Privacy = app.privacy
    return privacy


def _erased(ticket: ticket_domain.Ticket) -> bool:
    return any(e.type == domain.ERASED_TYPE for e in ticket.timeline)


def _reveal_id(actor: Actor, idempotency_key: str | None) -> str:
    """A repeat of a request (its Idempotency-Key, per user) finds the reveal it recorded."""
    if not idempotency_key:
        return "rv" + uuid.uuid4().hex
    return "rv" + hashlib.sha256(f"{actor.user_id}\n{idempotency_key}".encode()).hexdigest()[:32]


def _reveal_json(r: Reveal) -> dict[str, Any]:
    return {"id": r.id, "ticket_id": r.ticket_id, "number": r.number, "unit_id": r.unit_id, "user_id": r.user_id,
            "role": r.role, "reason": r.reason, "at": r.at}


# -- a unit reveals the contact, with a reason --------------------------------------------------------------

def reveal_contact(app: Any, cmd: RevealContact, actor: Actor) -> dict:
    """The citizen's name and phone in full, for a unit handling the ticket; recorded before answered.
    A repeat under the same Idempotency-Key (same user) answers the reveal it recorded."""
    ticket = app.store.get(cmd.key)
    if ticket is None or not ticket_domain.visible_to(ticket, actor):
        raise NotFound(f"ticket {cmd.key} not found")
    audit = _privacy(app).audit
    reveal_id = _reveal_id(actor, cmd.idempotency_key)
    earlier = audit.get_reveal(reveal_id) if cmd.idempotency_key else None
    if earlier is not None and earlier.ticket_id != ticket.id:
        raise ValidationFailed("Idempotency-Key was already used with a different request",
                               errors={"Idempotency-Key": ["reused for another ticket"]})
    record = earlier or domain.reveal(
        ticket_id=ticket.id, number=ticket.number, units=ticket.units, contact_erased=_erased(ticket),
        reason=cmd.reason, actor=actor, now=app.clock.now(), reveal_id=reveal_id)
    created = False
    if earlier is None:
        created = audit.add_reveal(record)
        if not created:  # a concurrent repeat under the same key recorded it first
            record = audit.get_reveal(reveal_id) or record
    if _erased(ticket):
        raise Conflict("the citizen's contact data was erased under the retention policy")
    log.info("contact of ticket %s revealed to %s (%s, %s)", ticket.number, actor.user_id, actor.role, actor.unit_id)
    return {**_reveal_json(record), "citizen": {"name": ticket.citizen.name, "phone": ticket.citizen.phone},
            "created": created}


def list_reveals(app: Any, cmd: ListReveals, actor: Actor) -> dict:
    """The hotline office's view of every reveal: who, when, which ticket, why; newest first."""
    actor.require(OPERATOR, ADMIN)
    ticket_ids = None
    if cmd.ticket is not None:
        ticket = app.store.get(cmd.ticket)
        ticket_ids = [ticket.id] if ticket is not None else []
    found = _privacy(app).audit.reveals(ticket_ids=ticket_ids, unit=cmd.unit, user=cmd.user, since=cmd.since,
                                       until=cmd.until, limit=cmd.limit)
    return {"items": [_reveal_json(r) for r in found]}


# -- the retention policy -------------------------------------------------------------------------------------

def apply_retention(app: Any, cmd: ApplyRetention, actor: Actor) -> dict:
    """Erase, irreversibly, the citizen's name, phone and address of every ticket closed longer ago than
    config/retention.yaml keeps them; the ticket, its timeline and its statistics stay. Idempotent."""
    actor.require(ADMIN, SYSTEM)
    privacy = _privacy(app)
    now = app.clock.now()
    cutoff = privacy.policy.cutoff(now)
    erased: list[str] = []
    while True:
        due = privacy.contacts.due(cutoff, privacy.policy.batch)
        done_before = len(erased)
        for ticket_id, version, has_idempotency in due:
            entry = ticket_domain.timeline_entry(
                now, domain.ERASED_TYPE, domain.ERASED_LABEL, actor.to_dict(),
                {"policy_days": privacy.policy.contact_data_days_after_close})
            try:
                if privacy.contacts.erase(ticket_id, version, now, entry, has_idempotency):
                    erased.append(ticket_id)
            except StaleVersion:
                continue  # changed meanwhile: the next run finds it again
        if len(due) < privacy.policy.batch or len(erased) == done_before:
            break
    if erased:
        run_id = "rt" + uuid.uuid4().hex
        privacy.audit.add_retention_run(run_id, now, cutoff, erased)
        log.info("retention: erased the citizen contact data of %d closed ticket(s)", len(erased))
    return {"cutoff": iso(cutoff), "erased": len(erased),
            "policy": {"contact_data_days_after_close": privacy.policy.contact_data_days_after_close}}


def retention_timer(app: Any) -> None:
    """intake's timer: the policy applied without anyone asking (errors are logged, the next run retries)."""
    try:
        apply_retention(app, ApplyRetention(), Actor(user_id="intake.retention", role=SYSTEM))
    except HotlineError as exc:
        log.warning("retention run failed: %s: %s", type(exc).__name__, exc.detail)


COMMANDS: dict[str, tuple[type, Callable[..., Any]]] = {
    RevealContact.NAME: (RevealContact, reveal_contact),
    ListReveals.NAME: (ListReveals, list_reveals),
    ApplyRetention.NAME: (ApplyRetention, apply_retention),
}
