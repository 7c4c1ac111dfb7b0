"""The front desk (issue 12; R1, R3, R5, R19): what intake does with a call besides dispatching it.

- direct answer (直接答复/即时办结): answered on the call from a published, valid knowledge-base entry;
  numbered and archived like every ticket, never dispatched, replied at once (reply number -01), and
  closed at once unless the callback policy wants a callback (config/callback.yaml);
- sorted out at intake, each with its reason and closed without a unit: transferred to an emergency
  line (110/119/120/122), referred to a legal channel (litigation, arbitration, petition,
  administrative review), outside the hotline's scope, malicious or harassing;
- merged (并单): into an open main ticket, at registration or afterwards (while no unit has signed for
  it); the merged ticket shows the main ticket's handling (mirror), is not dispatched on its own, and
  keeps its own callback. Unmerged with a reason, it is dispatched on its own.

`TicketRegistered.disposition` tells routing (and statistics) which it was: routing dispatches only
"dispatch". Pure: entries, main tickets and fingerprints come in as arguments.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from hotline_common.actors import ADMIN, OPERATOR, Actor
from hotline_common.catalog import Catalog
from hotline_common.errors import Conflict, NotFound, RuleViolation, ValidationFailed
from hotline_common.messages import Event

from . import domain
from .domain import (
    DISPOSITIONS,
    EMERGENCY_LINES,
    LEGAL_CHANNELS,
    DirectAnswer,
    ReplySummary,
    Status,
    Ticket,
    TicketRef,
    actor_ref,
    instant,
    timeline_entry,
)
from .events import TicketMerged, TicketRegistered, TicketUnmerged
from .knowledge.domain import Entry, citable

if TYPE_CHECKING:
    from .commands import MergeTicket, Register, UnmergeTicket

CLOSED_AT_INTAKE = ("transferred", "referred", "out_of_scope", "malicious")
MIN_REASON_CHARS = 4
MAX_CHAIN = 20
# what a merged ticket shows of its main ticket's handling (routing's and sla's facts)
MIRRORED = ("status", "units", "lead_unit", "co_units", "first_responsible", "dispatch_no", "round", "reply",
            "deadline", "overdue", "due_soon", "overdue_working_days", "extension", "responsible_unit")
OPEN_FOR_MERGE = (Status.REGISTERED, Status.AWAITING_DISPATCH, Status.DISPATCHED)


@dataclass(frozen=True)
class FrontDeskPolicy:
    """config/callback.yaml: whether a direct answer waits for a callback before it closes."""
    direct_answer_callback: bool = True


# -- registering with a disposition ---------------------------------------------------------------------

def register(previous: Ticket | None, cmd: Register, *, now: datetime, actor: Actor, catalog: Catalog,
             allocate: Callable[[], tuple[str, str]], today: date, fingerprint: str | None = None,
             entry: Entry | None = None, main: Sequence[Ticket] = (), follow_up_of: Ticket | None = None,
             policy: FrontDeskPolicy = FrontDeskPolicy()) -> tuple[Ticket, list[Event]]:
    """R1 with the front desk's dispositions. `entry`: the knowledge-base entry the call cites;
    `main`: the chain from the ticket to merge into up to its main ticket (see `merge_target`);
    `follow_up_of`: the earlier ticket this one continues. A repeat under the same Idempotency-Key
    gets the ticket registered before (no events)."""
    if previous is not None:
        return domain.register(previous, cmd, now=now, actor=actor, catalog=catalog, allocate=allocate)
    actor.require(OPERATOR, ADMIN)
    content = _check(cmd, today=today, entry=entry)
    target = merge_target(None, main, cmd.merge_into or "") if cmd.disposition == "merged" else None
    ticket, events = domain.register(None, cmd, now=now, actor=actor, catalog=catalog, allocate=allocate)
    registered = events[0]
    assert isinstance(registered, TicketRegistered)
    reason = cmd.reason.strip() or None
    ticket = replace(ticket, disposition=cmd.disposition, disposition_reason=reason, referred_to=cmd.referred_to,
                     fingerprint=fingerprint,
                     follow_up_of=TicketRef(id=follow_up_of.id, number=follow_up_of.number) if follow_up_of else None)
    if follow_up_of is not None:
        ticket = _line(ticket, now, actor, "followed_up", f"续报（原工单{follow_up_of.number}）",
                       {"ticket": follow_up_of.number})
    events = [replace(registered, disposition=cmd.disposition, referred_to=cmd.referred_to,
                      knowledge_entry_id=entry.id if entry else None)]
    if cmd.disposition == "direct_answer":
        assert entry is not None and content is not None
        answer = DirectAnswer(entry_id=entry.id, revision=entry.published_revision or entry.revision,
                              title=content.title, unit_id=entry.unit_id, note=cmd.answer_note.strip())
        ticket = replace(ticket, status=Status.REPLIED, answer=answer,
                         reply=ReplySummary(reply_no=f"{ticket.number}-01", result="solved", replied_at=instant(now)))
        ticket = _line(ticket, now, actor, "direct_answer", "直接答复（即时办结）",
                       {"entry": entry.id, "title": content.title, "reply_no": f"{ticket.number}-01"})
        if not policy.direct_answer_callback:
            ticket = replace(ticket, closed=True, close_reason="direct_answer", closed_at=now)
    elif cmd.disposition in CLOSED_AT_INTAKE:
        detail: dict[str, Any] = {"reason": reason}
        if cmd.referred_to:
            detail["to"] = cmd.referred_to
        ticket = replace(ticket, closed=True, close_reason=cmd.disposition, closed_at=now)
        ticket = _line(ticket, now, actor, "sorted", _sorted_label(cmd.disposition, cmd.referred_to), detail)
    elif target is not None:
        ticket, merged = _merge(ticket, target, now=now, actor=actor, reason=reason or "重复诉求", at_registration=True)
        events.append(merged)
    return ticket, events


def _check(cmd: Register, *, today: date, entry: Entry | None) -> Any:
    """What each disposition needs (ValidationFailed naming the fields; RuleViolation for an entry
    that may not be cited). Returns the cited entry's content, if any."""
    errors: dict[str, list[str]] = {}
    kind = cmd.disposition
    if kind != "dispatch" and cmd.key_ticket:
        errors["key_ticket"] = ["a key ticket (重点问题件) is dispatched to a unit"]
    if kind == "direct_answer" and not cmd.knowledge_entry_id:
        errors["knowledge_entry_id"] = ["a direct answer cites the knowledge-base entry it answered from"]
    if kind == "transferred" and cmd.referred_to not in EMERGENCY_LINES:
        errors["referred_to"] = [f"the emergency line: one of {', '.join(EMERGENCY_LINES)}"]
    if kind == "referred" and cmd.referred_to not in LEGAL_CHANNELS:
        errors["referred_to"] = [f"the legal channel: one of {', '.join(LEGAL_CHANNELS)}"]
    if kind not in ("transferred", "referred") and cmd.referred_to:
        errors["referred_to"] = ["only for a transferred or referred call"]
    if kind in CLOSED_AT_INTAKE and len(cmd.reason.strip()) < MIN_REASON_CHARS:
        errors["reason"] = [f"why the call is {DISPOSITIONS[kind]}, at least {MIN_REASON_CHARS} characters"]
    if kind == "merged" and not cmd.merge_into:
        errors["merge_into"] = ["the open ticket this call repeats (id or number)"]
    if kind != "merged" and cmd.merge_into:
        errors["merge_into"] = ["only with disposition merged"]
    if errors:
        raise ValidationFailed("the disposition is incomplete", errors=errors)
    if cmd.knowledge_entry_id:
        return citable(entry, today, cmd.knowledge_entry_id)
    return None


def _sorted_label(kind: str, to: str | None) -> str:
    if kind == "transferred":
        return f"转{to}（{EMERGENCY_LINES.get(to or '', '')}）处置"
    if kind == "referred":
        return f"引导通过{LEGAL_CHANNELS.get(to or '', '')}途径解决"
    return f"{DISPOSITIONS[kind]}，不予受理"


# -- merging (并单) --------------------------------------------------------------------------------------

def merge_target(ticket: Ticket | None, chain: Sequence[Ticket], into: str) -> Ticket:
    """The main ticket to merge into: the last of `chain` (the ticket named, then the one it is merged
    into, and so on). Refuses merging into itself, a chain that comes back to the ticket (a cycle), and
    a main ticket that is closed or was never dispatched."""
    if not chain:
        raise NotFound(f"ticket {into} not found")
    if ticket is not None and chain[0].id == ticket.id:
        raise RuleViolation("a ticket is not merged into itself", {"errors": {"into": ["another ticket"]}})
    if ticket is not None and any(t.id == ticket.id for t in chain):
        raise RuleViolation(f"ticket {chain[0].number} is merged into {ticket.number}: merging back would be a cycle",
                            {"errors": {"into": ["a ticket that is not merged into this one"]}})
    main = chain[-1]
    if main.merged_into is not None:
        raise RuleViolation(f"the tickets merged into each other run longer than {MAX_CHAIN}")
    if main.closed:
        raise Conflict(f"ticket {main.number} is closed (已办结); a call about it is registered as a follow-up")
    if main.disposition != "dispatch":
        raise Conflict(f"ticket {main.number} was not dispatched ({DISPOSITIONS.get(main.disposition)}); "
                       "merge into a ticket a unit handles")
    return main


def merge(ticket: Ticket, cmd: MergeTicket, *, now: datetime, actor: Actor, chain: Sequence[Ticket],
          merged_here: int) -> tuple[Ticket, list[Event]]:
    """并单 after registration: the ticket (not signed for by a unit yet) follows `chain`'s main
    ticket from now on; routing withdraws its own dispatch. `merged_here`: how many tickets are
    merged into this one (it cannot become a merged ticket itself then)."""
    actor.require(OPERATOR, ADMIN)
    main = merge_target(ticket, chain, cmd.into)
    if ticket.closed:
        raise Conflict(f"ticket {ticket.number} is closed (已办结)")
    if ticket.merged_into is not None:
        raise Conflict(f"ticket {ticket.number} is merged into {ticket.merged_into.number} already; unmerge it first")
    if ticket.disposition != "dispatch":
        raise Conflict(f"ticket {ticket.number} was {DISPOSITIONS.get(ticket.disposition)} at intake; nothing to merge")
    if ticket.status not in OPEN_FOR_MERGE:
        raise Conflict(f"ticket {ticket.number} is {ticket.status}: its unit has signed for it; it is handled on its own")
    if merged_here:
        raise Conflict(f"{merged_here} ticket(s) are merged into {ticket.number}; merge those into {main.number} first")
    after, event = _merge(ticket, main, now=now, actor=actor, reason=cmd.reason.strip() or "重复诉求",
                          at_registration=False)
    return after, [event]


def _merge(ticket: Ticket, main: Ticket, *, now: datetime, actor: Actor, reason: str,
           at_registration: bool) -> tuple[Ticket, Event]:
    n = ticket.merge_no + 1
    after = mirror(replace(ticket, merged_into=TicketRef(id=main.id, number=main.number), merge_no=n), main)
    event = TicketMerged(ticket_id=ticket.id, number=ticket.number, main_ticket_id=main.id, main_number=main.number,
                         unit_id=main.lead_unit_id, merge_no=n, at_registration=at_registration, reason=reason,
                         at=instant(now), actor=actor_ref(actor))
    after = _line(after, now, actor, TicketMerged.TYPE, f"并单：并入工单{main.number}",
                  {"main": main.number, "reason": reason})
    return after, event


def mirror(ticket: Ticket, main: Ticket) -> Ticket:
    """The merged ticket shows its main ticket's handling."""
    return replace(ticket, **{name: getattr(main, name) for name in MIRRORED})


def unmerge(ticket: Ticket, cmd: UnmergeTicket, *, now: datetime, actor: Actor) -> tuple[Ticket, list[Event]]:
    """Taken out of its main ticket, with the reason: the ticket is dispatched on its own (routing
    reacts to ticket.unmerged) and shows only its own handling from now on."""
    actor.require(OPERATOR, ADMIN)
    if ticket.merged_into is None:
        raise Conflict(f"ticket {ticket.number} is not merged into another ticket")
    if ticket.closed:
        raise Conflict(f"ticket {ticket.number} is closed (已办结)")
    reason = cmd.reason.strip()
    if len(reason) < MIN_REASON_CHARS:
        raise ValidationFailed("an unmerge needs its reason", errors={"reason": [
            f"why the ticket is handled on its own, at least {MIN_REASON_CHARS} characters"]})
    main = ticket.merged_into
    fresh = Ticket(id="", number="", channel="", type="", category="", district="", address="",
                   citizen=ticket.citizen, content="", created_at=now, registered_by={})
    after = replace(ticket, merged_into=None, disposition="dispatch",
                    **{name: getattr(fresh, name) for name in MIRRORED})
    event = TicketUnmerged(ticket_id=ticket.id, number=ticket.number, main_ticket_id=main.id, main_number=main.number,
                           merge_no=ticket.merge_no, reason=reason, at=instant(now), actor=actor_ref(actor),
                           type=ticket.type,  # type: ignore[arg-type]
                           category=ticket.category, district=ticket.district, key_ticket=ticket.key_ticket)
    after = _line(after, now, actor, TicketUnmerged.TYPE, f"撤销并单（原并入工单{main.number}），单独交办",
                  {"main": main.number, "reason": reason})
    return after, [event]


def _line(ticket: Ticket, now: datetime, actor: Actor, kind: str, label: str, detail: dict[str, Any]) -> Ticket:
    entry = timeline_entry(now, kind, label, actor.to_dict(), {k: v for k, v in detail.items() if v is not None})
    return replace(ticket, timeline=(*ticket.timeline, entry))
