"""What callers ask of the knowledge base (R19): one frozen dataclass per RPC, built from the RPC request
(`dispatch.request(...)`): the path parameter `entry_id`, the body (or query) loaded by its marshmallow
schema, and If-Match as `expected_version`."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, ClassVar, Literal

from hotline_common.dispatch import from_request
from hotline_common.errors import ValidationFailed
from hotline_common.messages import Command
from hotline_common.validation import load

from . import schemas as s

CONTENT_FIELDS = ("title", "answer", "category", "source", "valid_from", "valid_until", "review_date", "keywords")


@dataclass(frozen=True, kw_only=True)
class EntryContent:
    title: str
    answer: str
    category: str
    source: str
    valid_from: date | None = None
    valid_until: date | None = None
    review_date: date
    keywords: tuple[str, ...] = ()


def _content(values: dict[str, Any]) -> EntryContent:
    picked = {k: values.pop(k) for k in CONTENT_FIELDS if k in values}
    picked["keywords"] = tuple(picked.get("keywords") or ())
    return EntryContent(**picked)


def _entry_id(req: dict[str, Any]) -> str:
    entry_id = (req.get("params") or {}).get("entry_id")
    if not isinstance(entry_id, str) or not entry_id:
        raise ValidationFailed("which entry?", errors={"entry_id": ["a knowledge-base entry id is required"]})
    return entry_id


@dataclass(frozen=True, kw_only=True)
class SearchEntries(Command):
    """Operators' search (Chinese, ranked): published entries, filtered by category and validity."""
    NAME: ClassVar[str] = "search_knowledge"
    q: str
    category: str | None = None
    valid_on: date | None = None
    include_expired: bool = False
    limit: int = 10

    @classmethod
    def from_request(cls, req: dict[str, Any]) -> SearchEntries:
        return from_request(cls, req, s.SEARCH)


@dataclass(frozen=True, kw_only=True)
class ListEntries(Command):
    """Entries to maintain or approve: a unit's own, or (the city's roles) any unit's; `status` "pending":
    those with a change waiting for approval."""
    NAME: ClassVar[str] = "list_knowledge"
    unit: str | None = None
    status: Literal["draft", "published", "retired", "pending"] | None = None
    category: str | None = None
    limit: int = 50

    @classmethod
    def from_request(cls, req: dict[str, Any]) -> ListEntries:
        return from_request(cls, req, s.LIST)


@dataclass(frozen=True, kw_only=True)
class GetEntry(Command):
    """One entry, with its revisions for its unit and the city's roles."""
    NAME: ClassVar[str] = "get_knowledge"
    entry_id: str

    @classmethod
    def from_request(cls, req: dict[str, Any]) -> GetEntry:
        _entry_id(req)
        return from_request(cls, req)


@dataclass(frozen=True, kw_only=True)
class CreateEntry(Command):
    """A unit writes a new entry (an administrator names the unit)."""
    NAME: ClassVar[str] = "create_knowledge"
    unit_id: str | None = None
    content: EntryContent

    @classmethod
    def from_request(cls, req: dict[str, Any]) -> CreateEntry:
        values = load(s.CREATE, req.get("body"))
        content = _content(values)
        return cls(unit_id=values.get("unit_id"), content=content)


@dataclass(frozen=True, kw_only=True)
class UpdateEntry(Command):
    """The owning unit changes its entry (the whole content, as PUT)."""
    NAME: ClassVar[str] = "update_knowledge"
    entry_id: str
    content: EntryContent
    note: str = ""
    expected_version: int | None = None

    @classmethod
    def from_request(cls, req: dict[str, Any]) -> UpdateEntry:
        entry_id = _entry_id(req)
        values = load(s.UPDATE, req.get("body"))
        content = _content(values)
        return cls(entry_id=entry_id, content=content, note=values.get("note", ""),
                   expected_version=req.get("if_match"))


@dataclass(frozen=True, kw_only=True)
class ApproveEntry(Command):
    """The hotline office publishes the waiting change (`approve`), or sends it back with a note."""
    NAME: ClassVar[str] = "approve_knowledge"
    entry_id: str
    approve: bool = True
    note: str = ""
    expected_version: int | None = None

    @classmethod
    def from_request(cls, req: dict[str, Any]) -> ApproveEntry:
        _entry_id(req)
        return from_request(cls, {**req, "body": req.get("body") or {}}, s.APPROVE)


@dataclass(frozen=True, kw_only=True)
class RetireEntry(Command):
    """The owning unit retires its entry, with the reason."""
    NAME: ClassVar[str] = "retire_knowledge"
    entry_id: str
    reason: str
    expected_version: int | None = None

    @classmethod
    def from_request(cls, req: dict[str, Any]) -> RetireEntry:
        _entry_id(req)
        return from_request(cls, req, s.RETIRE)


ALL = (SearchEntries, ListEntries, GetEntry, CreateEntry, UpdateEntry, ApproveEntry, RetireEntry)
