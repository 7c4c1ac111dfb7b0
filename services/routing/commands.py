"""What callers ask routing to do (or to answer): one frozen dataclass per RPC command and query.

Each builds itself from the RPC request (`dispatch.request(...)`): path parameters (`key`,
`unit_id`, `rule_id`), the body loaded by its marshmallow schema, and the If-Match header as
`expected_version`. At the end, the commands routing's reactions give the domain (no RPC).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from hotline_common.dispatch import from_request
from hotline_common.messages import Command

from . import schemas as s

ReplyResult = Literal["solved", "explained", "invalid"]


# -- the hotline office --------------------------------------------------------------------------

@dataclass(frozen=True, kw_only=True)
class Dispatch(Command):
    """人工派单: an operator dispatches a ticket waiting in the manual queue (待派单)."""
    NAME: ClassVar[str] = "manual_dispatch"
    key: str
    unit_id: str
    co_units: list[str] = field(default_factory=list)
    first_responsible: bool = False
    note: str = ""
    expected_version: int | None = None

    @classmethod
    def from_request(cls, req: dict[str, Any]) -> Dispatch:
        return from_request(cls, req, s.DISPATCH)


@dataclass(frozen=True, kw_only=True)
class DecideReturn(Command):
    """退单审核: approve (to another unit) or reject a unit's return (R5, R14)."""
    NAME: ClassVar[str] = "decide_return"
    key: str
    approve: bool
    note: str = ""
    redispatch_to: str | None = None
    expected_version: int | None = None

    @classmethod
    def from_request(cls, req: dict[str, Any]) -> DecideReturn:
        return from_request(cls, req, s.RETURN_DECISION)


@dataclass(frozen=True, kw_only=True)
class Redispatch(Command):
    """改派 (issue 12): the hotline office gives a ticket nobody has signed for yet to another unit."""
    NAME: ClassVar[str] = "redispatch"
    key: str
    unit_id: str
    reason: str
    co_units: list[str] = field(default_factory=list)
    first_responsible: bool = False
    expected_version: int | None = None

    @classmethod
    def from_request(cls, req: dict[str, Any]) -> Redispatch:
        return from_request(cls, req, s.REDISPATCH)


# -- the lead unit (R4, R5, R6, R9) ---------------------------------------------------------------

@dataclass(frozen=True, kw_only=True)
class Accept(Command):
    """签收: the lead unit signs for the ticket."""
    NAME: ClassVar[str] = "accept"
    key: str
    expected_version: int | None = None

    @classmethod
    def from_request(cls, req: dict[str, Any]) -> Accept:
        return from_request(cls, req)


@dataclass(frozen=True, kw_only=True)
class Review(Command):
    """阅批 (R4): the unit's main or deputy leader writes instructions."""
    NAME: ClassVar[str] = "review"
    key: str
    instructions: str
    expected_version: int | None = None

    @classmethod
    def from_request(cls, req: dict[str, Any]) -> Review:
        return from_request(cls, req, s.REVIEW)


@dataclass(frozen=True, kw_only=True)
class Reply(Command):
    """答复 (R4, R9): the numbered reply with the handling result."""
    NAME: ClassVar[str] = "reply"
    key: str
    result: str
    content: str
    basis: str = ""
    invalid_reason: str = ""
    contacted_citizen: bool = False
    public_summary: str = ""     # what the citizen's progress lookup may show (issue 15)
    expected_version: int | None = None

    @classmethod
    def from_request(cls, req: dict[str, Any]) -> Reply:
        return from_request(cls, req, s.REPLY)


@dataclass(frozen=True, kw_only=True)
class RequestReturn(Command):
    """退单 (R5): not this unit's responsibility, with the reason."""
    NAME: ClassVar[str] = "request_return"
    key: str
    reason: str
    expected_version: int | None = None

    @classmethod
    def from_request(cls, req: dict[str, Any]) -> RequestReturn:
        return from_request(cls, req, s.RETURN)


@dataclass(frozen=True, kw_only=True)
class AddCoUnit(Command):
    """协办单位 (R6): the lead organises a co-unit with its part of the work."""
    NAME: ClassVar[str] = "add_co_unit"
    key: str
    unit_id: str
    task: str
    expected_version: int | None = None

    @classmethod
    def from_request(cls, req: dict[str, Any]) -> AddCoUnit:
        return from_request(cls, req, s.CO_UNIT)


@dataclass(frozen=True, kw_only=True)
class PassDown(Command):
    """下派 (issue 12): a district or county government passes its ticket to one of its street offices."""
    NAME: ClassVar[str] = "pass_down"
    key: str
    unit_id: str
    reason: str
    expected_version: int | None = None

    @classmethod
    def from_request(cls, req: dict[str, Any]) -> PassDown:
        return from_request(cls, req, s.PASS_DOWN)


# -- a co-unit (R6, R14); `unit_id` is the co-unit the caller acts for (a path parameter) ----------

@dataclass(frozen=True, kw_only=True)
class CoUnitAccept(Command):
    NAME: ClassVar[str] = "co_unit_accept"
    key: str
    unit_id: str
    expected_version: int | None = None

    @classmethod
    def from_request(cls, req: dict[str, Any]) -> CoUnitAccept:
        return from_request(cls, req)


@dataclass(frozen=True, kw_only=True)
class CoUnitDecline(Command):
    NAME: ClassVar[str] = "co_unit_decline"
    key: str
    unit_id: str
    reason: str
    expected_version: int | None = None

    @classmethod
    def from_request(cls, req: dict[str, Any]) -> CoUnitDecline:
        return from_request(cls, req, s.DECLINE)


@dataclass(frozen=True, kw_only=True)
class CoUnitContribute(Command):
    NAME: ClassVar[str] = "co_unit_contribute"
    key: str
    unit_id: str
    content: str
    expected_version: int | None = None

    @classmethod
    def from_request(cls, req: dict[str, Any]) -> CoUnitContribute:
        return from_request(cls, req, s.CONTRIBUTION)


CoUnitCommand = CoUnitAccept | CoUnitDecline | CoUnitContribute


# -- queries and the directory (R3, R6) ------------------------------------------------------------

@dataclass(frozen=True, kw_only=True)
class GetAssignment(Command):
    NAME: ClassVar[str] = "get_assignment"
    key: str

    @classmethod
    def from_request(cls, req: dict[str, Any]) -> GetAssignment:
        return from_request(cls, req)


@dataclass(frozen=True, kw_only=True)
class ListUnits(Command):
    NAME: ClassVar[str] = "list_units"

    @classmethod
    def from_request(cls, req: dict[str, Any]) -> ListUnits:
        return from_request(cls, req)


@dataclass(frozen=True, kw_only=True)
class GetUnit(Command):
    NAME: ClassVar[str] = "get_unit"
    unit_id: str

    @classmethod
    def from_request(cls, req: dict[str, Any]) -> GetUnit:
        return from_request(cls, req)


@dataclass(frozen=True, kw_only=True)
class PutUnit(Command):
    """A unit of the directory with its leaders and designated contacts (R3)."""
    NAME: ClassVar[str] = "put_unit"
    unit_id: str
    name: str
    kind: str
    main_leader: dict[str, Any]
    deputy_leader: dict[str, Any]
    contacts: list[dict[str, Any]]
    active: bool = True
    parent: str | None = None

    @classmethod
    def from_request(cls, req: dict[str, Any]) -> PutUnit:
        return from_request(cls, req, s.UNIT)

    def unit(self) -> dict[str, Any]:
        """The unit as the directory keeps it (without its id); `parent` only for a street or town
        office under its district or county government."""
        return {"name": self.name, "kind": self.kind, "main_leader": self.main_leader,
                "deputy_leader": self.deputy_leader, "contacts": self.contacts, "active": self.active,
                **({"parent": self.parent} if self.parent else {})}


@dataclass(frozen=True, kw_only=True)
class ListRules(Command):
    NAME: ClassVar[str] = "list_rules"

    @classmethod
    def from_request(cls, req: dict[str, Any]) -> ListRules:
        return from_request(cls, req)


@dataclass(frozen=True, kw_only=True)
class PutRule(Command):
    """A routing rule: category (and district) -> lead unit, co-units (R6)."""
    NAME: ClassVar[str] = "put_rule"
    rule_id: str
    category: str
    lead_unit: str
    district: str | None = None
    co_units: list[str] = field(default_factory=list)
    first_responsible: bool = False

    @classmethod
    def from_request(cls, req: dict[str, Any]) -> PutRule:
        return from_request(cls, req, s.RULE)


@dataclass(frozen=True, kw_only=True)
class DeleteRule(Command):
    NAME: ClassVar[str] = "delete_rule"
    rule_id: str

    @classmethod
    def from_request(cls, req: dict[str, Any]) -> DeleteRule:
        return from_request(cls, req)


# -- what routing's reactions ask of the domain (from events; no RPC) ------------------------------

@dataclass(frozen=True, kw_only=True)
class Reopen(Command):
    """Handle the ticket again: the citizen was unsatisfied (R10) or a re-investigation (R15)."""
    reason: Literal["unsatisfied", "reinvestigation"]
    working_days: int | None = None


@dataclass(frozen=True, kw_only=True)
class RequireVerification(Command):
    """An on-site verification must be filed before the reply (R10)."""
    reason: Literal["unsatisfied", "key_ticket"]


@dataclass(frozen=True, kw_only=True)
class RecordVerification(Command):
    """The unit filed its on-site verification record."""


@dataclass(frozen=True, kw_only=True)
class Withdraw(Command):
    """The ticket was merged into another (intake's ticket.merged): withdraw it from its unit."""
    merge_no: int
    main_ticket_id: str
    main_number: str


@dataclass(frozen=True, kw_only=True)
class Reinstate(Command):
    """The ticket was unmerged (intake's ticket.unmerged): route it on its own."""
    merge_no: int
