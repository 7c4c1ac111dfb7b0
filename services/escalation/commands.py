"""What callers ask escalation to do (or to answer): one frozen dataclass per RPC command and query.

Each builds itself from the RPC request (`dispatch.request(...)`): path parameters (`key`, the
ticket's id or number; `case_id`, a case's id or number), then the body (or, for a listing, the
query) loaded by its marshmallow schema.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, Literal

from hotline_common.dispatch import from_request
from hotline_common.messages import Command

from . import schemas as s

ReportableTrigger = Literal["inadequate_investigation", "improper_handling"]
CaseStateFilter = Literal["open", "reinvestigating", "closed"]
AccountabilityKind = Literal["evasion", "ignored_reminders", "serious_consequences", "not_cooperating"]


# -- reminders and supervision (R13, R14, R15) ------------------------------------------------------

@dataclass(frozen=True, kw_only=True)
class Remind(Command):
    """催办: the hotline office presses the unit about a ticket (R13)."""
    NAME: ClassVar[str] = "remind"
    key: str
    note: str = ""

    @classmethod
    def from_request(cls, req: dict[str, Any]) -> Remind:
        return from_request(cls, req, s.REMINDER)


@dataclass(frozen=True, kw_only=True)
class Report(Command):
    """报督办: an operator reports inadequate investigation or improper handling (R14)."""
    NAME: ClassVar[str] = "report"
    key: str
    trigger: ReportableTrigger
    detail: str

    @classmethod
    def from_request(cls, req: dict[str, Any]) -> Report:
        return from_request(cls, req, s.REPORT)


@dataclass(frozen=True, kw_only=True)
class ListCases(Command):
    NAME: ClassVar[str] = "list_cases"
    state: CaseStateFilter | None = None
    unit: str | None = None
    limit: int = 100

    @classmethod
    def from_request(cls, req: dict[str, Any]) -> ListCases:
        return from_request(cls, req, s.CASE_QUERY)


@dataclass(frozen=True, kw_only=True)
class GetCase(Command):
    NAME: ClassVar[str] = "get_case"
    case_id: str

    @classmethod
    def from_request(cls, req: dict[str, Any]) -> GetCase:
        return from_request(cls, req)


@dataclass(frozen=True, kw_only=True)
class OrderReinvestigation(Command):
    """重新调查处理 (R15); `working_days` defaults to the configured time."""
    NAME: ClassVar[str] = "order_reinvestigation"
    case_id: str
    instructions: str
    working_days: int | None = None

    @classmethod
    def from_request(cls, req: dict[str, Any]) -> OrderReinvestigation:
        return from_request(cls, req, s.REINVESTIGATION)


@dataclass(frozen=True, kw_only=True)
class CloseCase(Command):
    """督办结案 with the centre's conclusion (R15)."""
    NAME: ClassVar[str] = "close_case"
    case_id: str
    conclusion: str

    @classmethod
    def from_request(cls, req: dict[str, Any]) -> CloseCase:
        return from_request(cls, req, s.CLOSE)


# -- on-site verification (R10) ---------------------------------------------------------------------

@dataclass(frozen=True, kw_only=True)
class FileVerification(Command):
    """现场核查记录: who checked on site, when, findings, responsibility."""
    NAME: ClassVar[str] = "file_verification"
    key: str
    inspector: str
    inspected_at: datetime
    findings: str
    responsibility: str

    @classmethod
    def from_request(cls, req: dict[str, Any]) -> FileVerification:
        return from_request(cls, req, s.VERIFICATION)


@dataclass(frozen=True, kw_only=True)
class ListVerifications(Command):
    NAME: ClassVar[str] = "verifications"
    key: str

    @classmethod
    def from_request(cls, req: dict[str, Any]) -> ListVerifications:
        return from_request(cls, req)


# -- accountability (R17) -----------------------------------------------------------------------------

@dataclass(frozen=True, kw_only=True)
class RecordAccountability(Command):
    """责任追究: a record against a unit (and person), about a ticket or case or neither."""
    NAME: ClassVar[str] = "record_accountability"
    kind: AccountabilityKind
    unit_id: str
    note: str
    person: str | None = None
    ticket_id: str | None = None
    number: str | None = None
    case_id: str | None = None
    idempotency_key: str | None = None   # a repeat under the same key finds the record made before

    @classmethod
    def from_request(cls, req: dict[str, Any]) -> RecordAccountability:
        return from_request(cls, req, s.ACCOUNTABILITY)


@dataclass(frozen=True, kw_only=True)
class ListAccountability(Command):
    NAME: ClassVar[str] = "list_accountability"
    unit: str | None = None
    limit: int = 100

    @classmethod
    def from_request(cls, req: dict[str, Any]) -> ListAccountability:
        return from_request(cls, req, s.ACCOUNTABILITY_QUERY)
