"""What callers ask of intake about citizens' contact data: one frozen dataclass per RPC."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from hotline_common.dispatch import from_request
from hotline_common.errors import ValidationFailed
from hotline_common.messages import Command

from . import schemas as s


@dataclass(frozen=True, kw_only=True)
class RevealContact(Command):
    """A unit that must call the citizen back reveals their contact, with the reason (recorded)."""
    NAME: ClassVar[str] = "reveal_contact"
    key: str
    reason: str
    idempotency_key: str | None = None

    @classmethod
    def from_request(cls, req: dict[str, Any]) -> RevealContact:
        key = (req.get("params") or {}).get("key")
        if not isinstance(key, str) or not key:
            raise ValidationFailed("which ticket?", errors={"key": ["a ticket id or number is required"]})
        return from_request(cls, req, s.REVEAL)


@dataclass(frozen=True, kw_only=True)
class ListReveals(Command):
    """The recorded reveals, newest first (for the hotline office)."""
    NAME: ClassVar[str] = "list_reveals"
    ticket: str | None = None
    unit: str | None = None
    user: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 100

    @classmethod
    def from_request(cls, req: dict[str, Any]) -> ListReveals:
        return from_request(cls, req, s.REVEAL_QUERY)


@dataclass(frozen=True, kw_only=True)
class ApplyRetention(Command):
    """Erase the citizens' contact data of the tickets closed longer ago than the policy keeps it."""
    NAME: ClassVar[str] = "apply_retention"
