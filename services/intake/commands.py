"""What callers ask intake to do (or to answer): one frozen dataclass per RPC command and query.

Each builds itself from the RPC request (`dispatch.request(...)`): the path parameter `key` (a
ticket's id or number), the body (or, for the listing, the query) loaded by its marshmallow schema,
and the Idempotency-Key header where the command takes one.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Literal

from hotline_common.dispatch import from_request
from hotline_common.errors import ValidationFailed
from hotline_common.messages import Command, TicketType
from hotline_common.validation import load

from . import schemas as s
from .domain import Channel, Satisfaction

Disposition = Literal["dispatch", "direct_answer", "merged", "transferred", "referred", "out_of_scope", "malicious"]


@dataclass(frozen=True, kw_only=True)
class CitizenDetails:
    """Who called: stays in intake (PIPL), never in an event."""
    name: str = ""
    phone: str


@dataclass(frozen=True, kw_only=True)
class Register(Command):
    """R1: register a ticket from what the operator took down. A repeat with the same Idempotency-Key
    gets the ticket registered the first time."""
    NAME: ClassVar[str] = "register"
    channel: Channel
    type: TicketType
    category: str
    district: str
    address: str = ""
    citizen: CitizenDetails
    content: str
    key_ticket: bool = False
    external_ref: str | None = None
    idempotency_key: str | None = None
    # the front desk (issue 12): what intake does with the call instead of (or besides) dispatching it
    disposition: Disposition = "dispatch"
    reason: str = ""                          # why it was transferred, referred, sorted out or merged
    referred_to: str | None = None            # transferred: 110/119/120/122; referred: the legal channel
    knowledge_entry_id: str | None = None     # the entry a direct answer cites (or any ticket refers to)
    answer_note: str = ""                     # what the operator told the caller, besides the entry
    merge_into: str | None = None             # merged: the open main ticket (id or number)
    follow_up_of: str | None = None           # a follow-up (续报) of an earlier ticket (id or number)

    @classmethod
    def from_request(cls, req: dict[str, Any]) -> Register:
        details = load(s.REGISTER, req.get("body"))
        citizen = CitizenDetails(**details.pop("citizen"))
        return cls(**details, citizen=citizen, idempotency_key=req.get("idempotency_key") or None)

    def details(self) -> dict[str, Any]:
        """The request as registered (what an Idempotency-Key's repeat must match)."""
        return {"channel": self.channel, "type": self.type, "category": self.category,
                "district": self.district, "address": self.address,
                "citizen": {"name": self.citizen.name, "phone": self.citizen.phone},
                "content": self.content, "key_ticket": self.key_ticket, "external_ref": self.external_ref,
                **({"disposition": self.disposition, "reason": self.reason, "referred_to": self.referred_to,
                    "knowledge_entry_id": self.knowledge_entry_id, "answer_note": self.answer_note,
                    "merge_into": self.merge_into, "follow_up_of": self.follow_up_of}
                   if self.disposition != "dispatch" or self.knowledge_entry_id or self.follow_up_of else {})}


@dataclass(frozen=True, kw_only=True)
class GetTicket(Command):
    """The ticket view, as the caller may see it."""
    NAME: ClassVar[str] = "get_ticket"
    key: str

    @classmethod
    def from_request(cls, req: dict[str, Any]) -> GetTicket:
        return from_request(cls, _keyed(req))


@dataclass(frozen=True, kw_only=True)
class TicketFilters:
    """What a listing may be narrowed to; None is "any"."""
    status: str | None = None
    unit: str | None = None
    type: TicketType | None = None
    category: str | None = None        # the category and everything under it
    district: str | None = None
    overdue: bool | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None


@dataclass(frozen=True, kw_only=True)
class ListTickets(Command):
    """Tickets newest first, a page at a time (`cursor` continues after the previous page)."""
    NAME: ClassVar[str] = "list_tickets"
    filters: TicketFilters = field(default_factory=TicketFilters)
    limit: int = 50
    cursor: str | None = None

    @classmethod
    def from_request(cls, req: dict[str, Any]) -> ListTickets:
        data = req.get("body") if req.get("body") is not None else (req.get("query") or {})
        values = load(s.LIST_TICKETS, data)
        limit = values.pop("limit")
        cursor = values.pop("cursor", None)
        return cls(filters=TicketFilters(**values), limit=limit, cursor=cursor)


@dataclass(frozen=True, kw_only=True)
class RecordCallback(Command):
    """回访 (R11): the hotline office's (or the unit's own) callback to the citizen."""
    NAME: ClassVar[str] = "callback"
    key: str
    reached: bool
    satisfaction: Satisfaction | None = None
    solved: bool | None = None
    unit_contacted: bool | None = None
    challenge: bool = False
    challenge_reason: str = ""
    note: str = ""

    @classmethod
    def from_request(cls, req: dict[str, Any]) -> RecordCallback:
        return from_request(cls, _keyed(req), s.CALLBACK)


@dataclass(frozen=True, kw_only=True)
class MarkKey(Command):
    """重点问题件 (R10): an operator marks a ticket as a key ticket, with the reason."""
    NAME: ClassVar[str] = "mark_key"
    key: str
    reason: str

    @classmethod
    def from_request(cls, req: dict[str, Any]) -> MarkKey:
        return from_request(cls, _keyed(req), s.KEY_TICKET)


# -- the front desk (issue 12): merging (并单) and duplicate candidates --------------------------------

@dataclass(frozen=True, kw_only=True)
class MergeTicket(Command):
    """并单: an operator merges the ticket into an open main ticket (`into`, its id or number)."""
    NAME: ClassVar[str] = "merge"
    key: str
    into: str
    reason: str = ""

    @classmethod
    def from_request(cls, req: dict[str, Any]) -> MergeTicket:
        return from_request(cls, _keyed(req), s.MERGE)


@dataclass(frozen=True, kw_only=True)
class UnmergeTicket(Command):
    """An operator takes a merged ticket out of its main ticket, with the reason: handled on its own."""
    NAME: ClassVar[str] = "unmerge"
    key: str
    reason: str

    @classmethod
    def from_request(cls, req: dict[str, Any]) -> UnmergeTicket:
        return from_request(cls, _keyed(req), s.UNMERGE)


@dataclass(frozen=True, kw_only=True)
class DuplicateCandidates(Command):
    """Tickets a call may repeat: of a registered ticket (`key`), or of a draft not registered yet
    (its category, district, address, content, caller's phone)."""
    NAME: ClassVar[str] = "duplicate_candidates"
    key: str | None = None
    category: str | None = None
    district: str | None = None
    address: str = ""
    content: str = ""
    phone: str | None = None
    days: int | None = None
    limit: int | None = None

    @classmethod
    def from_request(cls, req: dict[str, Any]) -> DuplicateCandidates:
        cmd = from_request(cls, req, s.DUPLICATES)
        if cmd.key is None and not (cmd.content or cmd.phone or (cmd.category and cmd.district)):
            raise ValidationFailed("what is the call about?", errors={"content": [
                "a ticket (key), or a draft's content, caller's phone, or category and district"]})
        return cmd


# -- the citizen's progress lookup (issue 15) ----------------------------------------------------------

@dataclass(frozen=True, kw_only=True)
class ProgressLookup(Command):
    """A citizen asks, without signing in, what became of their request: the ticket's number and the
    last four digits of the phone it was registered with. `client` is the caller's address as the
    gateway saw it (recorded, with the number and whether it matched: enumeration shows)."""
    NAME: ClassVar[str] = "progress_lookup"
    number: str
    phone_last4: str
    client: str = ""

    @classmethod
    def from_request(cls, req: dict[str, Any]) -> ProgressLookup:
        values = load(s.PROGRESS_LOOKUP, req.get("query") or {})
        client = (req.get("params") or {}).get("client")
        return cls(**values, client=str(client or "")[:100])


def _keyed(req: dict[str, Any]) -> dict[str, Any]:
    key = (req.get("params") or {}).get("key")
    if not isinstance(key, str) or not key:
        raise ValidationFailed("which ticket?", errors={"key": ["a ticket id or number is required"]})
    return req
