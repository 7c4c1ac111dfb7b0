"""Events bulletin publishes: a bulletin (12345工作简报) was published (R16).

The class is the contract: `docs/events/bulletin.published.schema.json` is generated from it
(`python -m hotline_common.contracts`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

from hotline_common.messages import Day, Event, Instant, constrained, register


@register
@dataclass(frozen=True, kw_only=True)
class BulletinPublished(Event):
    """A 12345工作简报 (weekly or monthly) was generated, stored and numbered (R16); fetch it with GET /v1/bulletins/{id}"""
    TYPE: ClassVar[str] = "bulletin.published"
    SOURCE: ClassVar[str] = "bulletin"
    bulletin_id: str = constrained(description="e.g. weekly-2026-W11, monthly-2026-03")
    kind: Literal["weekly", "monthly"]
    period: str = constrained(description="the period key: 2026-W11, 2026-03")
    first_day: Day
    last_day: Day
    year: int = constrained(minimum=2000)
    number: int = constrained(minimum=1, description="the issue number within the year and kind (第N期)")
    issue: str = constrained(description="e.g. 2026年第11期")
    revision: int = constrained(minimum=1, description="1, then +1 each time the same period is generated again")
    registered: int = constrained(minimum=0, description="tickets registered in the period")
    named_units: list[str] = constrained(description="units named in the bulletin's lists (overdue, unresolved, unsatisfied, late feedback)")
    published_at: Instant

    @property
    def subject(self) -> str:
        return self.bulletin_id
