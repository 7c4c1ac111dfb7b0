"""Citizens' contact data (PIPL): masking, the reveal rule, the retention policy. Pure: no I/O, no
clock reads.

- Who sees a citizen's name and phone in full: the hotline office (operator) and admin. Every other
  role sees them masked (张女士 -> 张**, 13812345678 -> 138****5678): a unit gets the ticket's what and
  where, not who.
- A unit that must call the citizen back reveals the number with a reason; the reveal is recorded
  (who, when, which ticket, why) and the hotline office can list the reveals.
- The retention policy: `contact_data_days_after_close` after a ticket is closed, its citizen's name,
  phone and address are erased, irreversibly; the ticket, its timeline and every statistic stay.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from hotline_common.actors import UNIT_ROLES, Actor
from hotline_common.errors import Conflict, Forbidden, NotFound, ValidationFailed

from ..domain import FULL_CONTACT_ROLES, mask_name, mask_phone

__all__ = ["FULL_CONTACT_ROLES", "mask_name", "mask_phone"]

REVEAL_ROLES = UNIT_ROLES                # a unit handling the ticket, with a reason
MIN_REASON = 4
ERASED_LABEL = "市民联系信息已按保存期限删除"
ERASED_TYPE = "ticket.contact_erased"


@dataclass(frozen=True, kw_only=True)
class Reveal:
    """One recorded reveal of a citizen's contact: who, when, which ticket, why."""
    id: str
    ticket_id: str
    number: str
    unit_id: str
    user_id: str
    role: str
    reason: str
    at: datetime


def reveal(*, ticket_id: str, number: str, units: tuple[str, ...], contact_erased: bool, reason: str,
           actor: Actor, now: datetime, reveal_id: str) -> Reveal:
    """A unit's people reveal the contact of a ticket their unit handles, with a reason.

    The hotline office sees it in full anyway (nothing to reveal); other roles may not; another unit's
    ticket is not found (as everywhere)."""
    if actor.role not in REVEAL_ROLES:
        if actor.role in FULL_CONTACT_ROLES:
            raise Forbidden("the hotline office sees the citizen's contact in full; nothing to reveal")
        raise Forbidden(f"role {actor.role} may not reveal a citizen's contact")
    if actor.unit_id not in units:
        raise NotFound(f"ticket {number} not found")
    text = (reason or "").strip()
    if len(text) < MIN_REASON:
        raise ValidationFailed("a reason is required", errors={
            "reason": [f"why the unit needs the citizen's contact, at least {MIN_REASON} characters"]})
    if contact_erased:
        raise Conflict("the citizen's contact data was erased under the retention policy")
    return Reveal(id=reveal_id, ticket_id=ticket_id, number=number, unit_id=actor.unit_id or "",
                  user_id=actor.user_id, role=actor.role, reason=text, at=now)


@dataclass(frozen=True)
class RetentionPolicy:
    """config/retention.yaml."""
    contact_data_days_after_close: int = 180
    check_interval_seconds: int = 3600
    batch: int = 500

    def __post_init__(self) -> None:
        if self.contact_data_days_after_close < 1:
            raise ValueError("contact_data_days_after_close must be at least 1 day")

    def cutoff(self, now: datetime) -> datetime:
        """Tickets closed before this have their citizen's contact erased."""
        return now - timedelta(days=self.contact_data_days_after_close)

    @classmethod
    def from_config(cls, data: dict[str, Any] | None) -> RetentionPolicy:
        data = data or {}
        return cls(**{k: int(v) for k, v in data.items() if k in ("contact_data_days_after_close",
                                                                   "check_interval_seconds", "batch")})


def due_for_erasure(*, closed: bool, closed_at: datetime | None, erased: bool, cutoff: datetime) -> bool:
    return closed and not erased and closed_at is not None and closed_at < cutoff


ERASED_FIELDS = {"citizen.name": "", "citizen.phone": "", "address": ""}
