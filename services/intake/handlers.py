"""Intake's use cases `handler(app, command, actor)` and reactions `reaction(app, received)`, and the
one table (`HANDLERS`) the nameko entrypoints are generated from. Events go out through the store's
outbox, in the same write as the change that causes them."""
from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from hotline_common.actors import ADMIN, OPERATOR, SUPERVISOR, Actor
from hotline_common.catalog import Catalog
from hotline_common.dispatch import Handlers, Outcome, Received
from hotline_common.errors import NotFound, ValidationFailed
from hotline_common.messages import Event, to_jsonable
from hotline_common.mongo import retrying
from hotline_common.timeutil import local_date
from services.escalation.events import (
    AccountabilityRecorded,
    ReinvestigationOrdered,
    ReminderSent,
    SupervisionClosed,
    SupervisionOpened,
    VerificationFiled,
    VerificationRequired,
)
from services.notify.events import NoticeDelivered, NoticeFailed
from services.routing.events import (
    AssignmentAccepted,
    AssignmentRefused,
    AssignmentReopened,
    AssignmentReviewed,
    AssignmentWithdrawn,
    CounitAccepted,
    CounitAdded,
    CounitContributed,
    CounitDeclined,
    ReturnApproved,
    ReturnRejected,
    ReturnRequested,
    TicketAwaitingDispatch,
    TicketDispatched,
    TicketReplied,
)
from services.sla.events import (
    DeadlineChanged,
    DeadlineDueSoon,
    DeadlineExtended,
    DeadlineMet,
    DeadlineMissed,
    DeadlineOverdue,
    DeadlineSet,
    DeadlineStillOverdue,
    ExtensionRejected,
    ExtensionRequested,
)

from . import domain, frontdesk, view
from .commands import (
    DuplicateCandidates,
    GetTicket,
    ListTickets,
    MarkKey,
    MergeTicket,
    ProgressLookup,
    RecordCallback,
    Register,
    UnmergeTicket,
)
from .duplicates import Draft, DuplicatePolicy, rank
from .events import TicketMerged, TicketUnmerged
from .knowledge import handlers as knowledge
from .privacy import handlers as privacy
from .segment import Segmenter
from .store import IdempotencyRace


@dataclass
class Intake:
    """The ports and settings the use cases run with: one per service container."""
    store: Any          # store.IntakeStore or fakes.FakeIntakeStore
    clock: Any          # .now() -> aware datetime
    catalog: Catalog
    number_prefix: str
    callback_policy: domain.CallbackPolicy = field(default_factory=domain.CallbackPolicy)
    # the front desk (issue 12): the knowledge base, the words of a text, dispositions, duplicates
    knowledge: knowledge.KnowledgeBase | None = None
    segmenter: Segmenter = field(default_factory=Segmenter)
    front_desk: frontdesk.FrontDeskPolicy = field(default_factory=frontdesk.FrontDeskPolicy)
    duplicates: DuplicatePolicy = field(default_factory=DuplicatePolicy)
    # personal data (issue 10): reveals of a citizen's contact, their audit, the retention policy
    privacy: privacy.Privacy | None = None

    def new_identity(self, now: datetime) -> tuple[str, str]:
        """A new ticket's id and number (prefix + registration day + the day's sequence)."""
        day = local_date(now)
        sequence = self.store.next_number(f"{self.number_prefix}{day:%Y%m%d}")
        return uuid.uuid4().hex, domain.ticket_number(self.number_prefix, day, sequence)


# -- R1 ----------------------------------------------------------------------------------------------

def register(app: Intake, cmd: Register, actor: Actor) -> dict:
    """R1, with the front desk's dispositions (frontdesk.py): a direct answer cites a knowledge-base
    entry (its use is counted), a merged call names its main ticket, a follow-up its earlier ticket.
    A dispatched ticket's answer lists the open tickets it may repeat (`duplicates`, 并单)."""
    previous = app.store.by_idempotency_key(cmd.idempotency_key) if cmd.idempotency_key else None
    now = app.clock.now()
    entry, chain, earlier, words = None, [], None, []
    if previous is None:
        actor.require(OPERATOR, ADMIN)
        if cmd.knowledge_entry_id:
            entry = app.knowledge.store.get(cmd.knowledge_entry_id) if app.knowledge else None
        if cmd.disposition == "merged" and cmd.merge_into:
            chain = _chain(app, cmd.merge_into, None)
        if cmd.follow_up_of:
            earlier = app.store.get(cmd.follow_up_of)
            if earlier is None:
                raise ValidationFailed("no such ticket", errors={"follow_up_of": [f"ticket {cmd.follow_up_of} not found"]})
        words = app.segmenter.words(f"{cmd.content} {cmd.address}")
    fingerprint = app.duplicates.fingerprint(words)

    def decide(before: domain.Ticket | None) -> tuple[domain.Ticket, list]:
        return frontdesk.register(before, cmd, now=now, actor=actor, catalog=app.catalog,
                                  allocate=lambda: app.new_identity(now), today=local_date(now),
                                  fingerprint=fingerprint, entry=entry, main=chain, follow_up_of=earlier,
                                  policy=app.front_desk)
    ticket, events = decide(previous)
    if not events:  # the same request again under its Idempotency-Key
        return {**domain.present(ticket, actor), "created": False}
    try:
        app.store.add(ticket, events)
    except IdempotencyRace:  # two requests with one key raced and the other won: a repeat, or a misuse
        winner = app.store.by_idempotency_key(cmd.idempotency_key)
        if winner is None:
            raise
        again, _ = decide(winner)
        return {**domain.present(again, actor), "created": False}
    if entry is not None and app.knowledge is not None:
        app.knowledge.store.record_use(entry.id, ticket.id, now)  # once per ticket, whatever the retries
    if earlier is not None:
        line = domain.timeline_entry(now, "ticket.followed_up", f"市民续报（工单{ticket.number}）", actor.to_dict(),
                                     {"ticket": ticket.number})
        app.store.apply_view(earlier.id, view.ViewChange(line.label, line.detail), line,
                             cause=f"follow-up:{ticket.id}")
    result = {**domain.present(replace(ticket, version=1), actor), "created": True}
    if cmd.disposition == "dispatch":
        draft = Draft(id=ticket.id, category=ticket.category, district=ticket.district, phone=ticket.citizen.phone,
                      words=tuple(words), fingerprint=fingerprint)
        result["duplicates"] = _candidates(app, draft, now=now, days=None, limit=None,
                                           pool=app.duplicates.registration_pool)
    return result


# -- reads --------------------------------------------------------------------------------------------

def get_ticket(app: Intake, cmd: GetTicket, actor: Actor) -> dict:
    ticket = _visible(app, cmd.key, actor)  # another unit's ticket: not found
    view_ = domain.present(ticket, actor)
    merged = app.store.merged_tickets(ticket.id) if ticket.merged_into is None else []
    if merged:  # 并单: the calls merged into this one
        view_["merged_tickets"] = [{"id": t.id, "number": t.number, "created_at": t.created_at,
                                    "closed": t.closed, "satisfaction": t.satisfaction} for t in merged]
    return view_


def list_tickets(app: Intake, cmd: ListTickets, actor: Actor) -> dict:
    filters = domain.listing_filters(cmd.filters, actor)
    tickets, next_cursor = app.store.search(filters, cmd.limit, cmd.cursor)
    return {"items": [domain.present(t, actor) for t in tickets], "next_cursor": next_cursor}


def _visible(app: Intake, key: str, actor: Actor) -> domain.Ticket:
    ticket = app.store.get(key)
    if ticket is None or not domain.visible_to(ticket, actor):
        raise NotFound(f"ticket {key} not found")
    return ticket


# -- the citizen's progress lookup (issue 15) -----------------------------------------------------------

log = logging.getLogger(__name__)


def progress_lookup(app: Intake, cmd: ProgressLookup, actor: Actor) -> dict:
    """Public (no sign-in; the gateway limits misses per address): the ticket's progress when the
    number and the phone's last four digits match, else not found — the same answer for a wrong
    number and wrong digits. Every lookup is recorded (address, number, hit or miss; never the digits)."""
    ticket = app.store.get(cmd.number)
    hit = domain.progress_matches(ticket, cmd.number, cmd.phone_last4)
    now = app.clock.now()
    if app.privacy is not None:
        app.privacy.audit.add_lookup(uuid.uuid4().hex, now, cmd.client, cmd.number, hit)
    log.info("progress lookup from %s for %s: %s", cmd.client or "?", cmd.number, "hit" if hit else "miss")
    if not hit or ticket is None:
        raise NotFound(f"no ticket {cmd.number} with this phone")
    return domain.progress(ticket)


# -- R11 callback, R10 key tickets ----------------------------------------------------------------------

def record_callback(app: Intake, cmd: RecordCallback, actor: Actor) -> dict:
    def attempt() -> str:
        ticket = _visible(app, cmd.key, actor)
        after, events = domain.record_callback(ticket, cmd, now=app.clock.now(), actor=actor,
                                               policy=app.callback_policy)
        app.store.save(ticket, after, events)
        return ticket.id
    return domain.present(_visible(app, retrying(attempt), actor), actor)


def mark_key(app: Intake, cmd: MarkKey, actor: Actor) -> dict:
    def attempt() -> str:
        ticket = _visible(app, cmd.key, actor)
        after, events = domain.mark_key(ticket, cmd, now=app.clock.now(), actor=actor)
        app.store.save(ticket, after, events)
        return ticket.id
    return domain.present(_visible(app, retrying(attempt), actor), actor)


# -- the front desk (issue 12): merging (并单), duplicate candidates -------------------------------------

def merge(app: Intake, cmd: MergeTicket, actor: Actor) -> dict:
    """并单 after registration: routing withdraws the ticket's own dispatch (ticket.merged)."""
    def attempt() -> str:
        ticket = _visible(app, cmd.key, actor)
        chain = _chain(app, cmd.into, ticket.id)
        after, events = frontdesk.merge(ticket, cmd, now=app.clock.now(), actor=actor, chain=chain,
                                        merged_here=len(app.store.merged_ids(ticket.id)))
        app.store.save(ticket, after, events)
        return ticket.id
    return domain.present(_visible(app, retrying(attempt), actor), actor)


def unmerge(app: Intake, cmd: UnmergeTicket, actor: Actor) -> dict:
    """Handled on its own again: routing dispatches it (ticket.unmerged)."""
    def attempt() -> str:
        ticket = _visible(app, cmd.key, actor)
        after, events = frontdesk.unmerge(ticket, cmd, now=app.clock.now(), actor=actor)
        app.store.save(ticket, after, events)
        return ticket.id
    return domain.present(_visible(app, retrying(attempt), actor), actor)


def duplicate_candidates(app: Intake, cmd: DuplicateCandidates, actor: Actor) -> dict:
    """Open tickets a call may repeat: same caller, same place (category and district), similar words,
    within the configured days."""
    actor.require(OPERATOR, ADMIN, SUPERVISOR)
    if cmd.key is not None:
        draft = _draft(_visible(app, cmd.key, actor), app)
    else:
        words = app.segmenter.words(f"{cmd.content} {cmd.address}")
        draft = Draft(id=None, category=cmd.category, district=cmd.district, phone=cmd.phone, words=tuple(words),
                      fingerprint=app.duplicates.fingerprint(words))
    return {"items": _candidates(app, draft, now=app.clock.now(), days=cmd.days, limit=cmd.limit)}


def _draft(ticket: domain.Ticket, app: Intake) -> Draft:
    return Draft(id=ticket.id, category=ticket.category, district=ticket.district, phone=ticket.citizen.phone,
                 words=tuple(app.segmenter.words(f"{ticket.content} {ticket.address}")),
                 fingerprint=ticket.fingerprint)


def _candidates(app: Intake, draft: Draft, *, now: datetime, days: int | None, limit: int | None,
                pool: int | None = None) -> list[dict]:
    """The ranked candidates from a pool of the newest tickets each way finds (`pool` of them: a
    registration reads fewer than an operator's own search, its answer is on the call's path)."""
    policy = replace(app.duplicates, **{k: v for k, v in (("days", days), ("limit", limit)) if v})
    found_pool = app.store.duplicate_pool(draft.category, draft.district, draft.phone, draft.fingerprint,
                                          now - timedelta(days=policy.days), pool or policy.pool)
    found = [(t, tuple(app.segmenter.words(f"{t.content} {t.address}"))) for t in found_pool if t.id != draft.id]
    return rank(draft, found, policy=policy, now=now)


def _chain(app: Intake, into: str, start: str | None) -> list[domain.Ticket]:
    """The ticket named `into`, then the one it is merged into, and so on to its main ticket; stops
    at `start` (the ticket being merged: a cycle) or after frontdesk.MAX_CHAIN steps."""
    chain: list[domain.Ticket] = []
    ticket = app.store.get(into)
    while ticket is not None and len(chain) < frontdesk.MAX_CHAIN:
        chain.append(ticket)
        if ticket.id == start or ticket.merged_into is None:
            break
        ticket = app.store.get(ticket.merged_into.id)
    return chain


def on_merge_of(app: Intake, received: Received) -> Outcome:
    """ticket.merged / ticket.unmerged: the line on the main ticket's timeline (both timelines show it)."""
    event = received.event
    if isinstance(event, TicketMerged):
        label, detail = f"并单：工单{event.number}并入本工单", {"ticket": event.number, "reason": event.reason}
    else:
        label, detail = f"撤销并单：工单{event.number}单独办理", {"ticket": event.number, "reason": event.reason}
    entry = domain.timeline_entry(received.time, event.TYPE, label, to_jsonable(event.actor), detail, received.id)
    applied = app.store.apply_view(event.main_ticket_id, view.ViewChange(label, detail), entry, cause=received.id)
    return Outcome.APPLIED if applied else Outcome.DUPLICATE


# -- the ticket view, fed by other services' events ------------------------------------------------------

def updates_view(project: Callable[[Any], view.ViewChange]) -> Callable[[Intake, Received], Outcome]:
    """The reaction to one event class: its named projection (view.on_...), applied to the ticket
    view once (the event id is the write's cause)."""
    def reaction(app: Intake, received: Received) -> Outcome:
        event: Event = received.event
        ticket_id = getattr(event, "ticket_id", None)
        if ticket_id is None:  # a record about no ticket (an accountability record about a unit)
            return Outcome.NO_CHANGE
        change = project(event)
        actor = getattr(event, "actor", None)
        entry = domain.timeline_entry(received.time, event.TYPE, change.label,
                                      to_jsonable(actor) if actor is not None else None, change.detail, received.id)
        applied = app.store.apply_view(ticket_id, change, entry, cause=received.id)
        if change.source is not None:  # routing's and sla's: the tickets merged into this one follow it (并单)
            mirrored = replace(entry, label=f"{change.label}（主工单{getattr(event, 'number', '')}）")
            applied = app.store.apply_to_merged(ticket_id, change, mirrored, cause=received.id) or applied
        return Outcome.APPLIED if applied else Outcome.DUPLICATE
    reaction.__name__ = reaction.__qualname__ = project.__name__
    return reaction


HANDLERS = Handlers(
    service="intake",
    commands={
        Register.NAME: (Register, register),
        GetTicket.NAME: (GetTicket, get_ticket),
        ListTickets.NAME: (ListTickets, list_tickets),
        RecordCallback.NAME: (RecordCallback, record_callback),
        MarkKey.NAME: (MarkKey, mark_key),
        # the front desk (issue 12): merging (并单), duplicates, the knowledge base (R19)
        MergeTicket.NAME: (MergeTicket, merge),
        UnmergeTicket.NAME: (UnmergeTicket, unmerge),
        DuplicateCandidates.NAME: (DuplicateCandidates, duplicate_candidates),
        # the citizen's progress lookup (issue 15): public, limited and audited
        ProgressLookup.NAME: (ProgressLookup, progress_lookup),
        **knowledge.COMMANDS,
        # personal data (issue 10): a unit's recorded reveal of a contact, the audit, retention
        **privacy.COMMANDS,
    },
    events={
        # routing: status, lead unit, co-units, visibility (ordered by the assignment's seq)
        TicketDispatched: updates_view(view.on_ticket_dispatched),
        TicketAwaitingDispatch: updates_view(view.on_ticket_awaiting_dispatch),
        AssignmentAccepted: updates_view(view.on_assignment_accepted),
        AssignmentReviewed: updates_view(view.on_assignment_reviewed),
        TicketReplied: updates_view(view.on_ticket_replied),
        ReturnRequested: updates_view(view.on_return_requested),
        ReturnApproved: updates_view(view.on_return_approved),
        ReturnRejected: updates_view(view.on_return_rejected),
        AssignmentRefused: updates_view(view.on_assignment_refused),
        CounitAdded: updates_view(view.on_counit_added),
        CounitAccepted: updates_view(view.on_counit_accepted),
        CounitDeclined: updates_view(view.on_counit_declined),
        CounitContributed: updates_view(view.on_counit_contributed),
        AssignmentReopened: updates_view(view.on_assignment_reopened),
        AssignmentWithdrawn: updates_view(view.on_assignment_withdrawn),
        # sla: the deadline and its flags (ordered by the clock's seq)
        DeadlineSet: updates_view(view.on_deadline_set),
        DeadlineDueSoon: updates_view(view.on_deadline_due_soon),
        DeadlineOverdue: updates_view(view.on_deadline_overdue),
        DeadlineStillOverdue: updates_view(view.on_deadline_still_overdue),
        DeadlineMet: updates_view(view.on_deadline_met),
        DeadlineMissed: updates_view(view.on_deadline_missed),
        DeadlineExtended: updates_view(view.on_deadline_extended),
        DeadlineChanged: updates_view(view.on_deadline_changed),
        ExtensionRequested: updates_view(view.on_extension_requested),
        ExtensionRejected: updates_view(view.on_extension_rejected),
        # escalation: the timeline only
        ReminderSent: updates_view(view.on_reminder_sent),
        NoticeDelivered: updates_view(view.on_notice_delivered),   # notices to the unit's contact (issue 15)
        NoticeFailed: updates_view(view.on_notice_failed),
        SupervisionOpened: updates_view(view.on_supervision_opened),
        ReinvestigationOrdered: updates_view(view.on_reinvestigation_ordered),
        SupervisionClosed: updates_view(view.on_supervision_closed),
        VerificationRequired: updates_view(view.on_verification_required),
        VerificationFiled: updates_view(view.on_verification_filed),
        AccountabilityRecorded: updates_view(view.on_accountability_recorded),
        # intake's own merges (并单): the line on the main ticket's timeline
        TicketMerged: on_merge_of,
        TicketUnmerged: on_merge_of,
    },
)
