"""Time helpers: instants are aware UTC datetimes; days are counted in Asia/Shanghai."""
from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

UTC = UTC
CHINA = ZoneInfo("Asia/Shanghai")


def as_utc(dt: datetime) -> datetime:
    """MongoDB returns naive UTC datetimes; make every instant aware."""
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def local_date(instant: datetime, tz=CHINA) -> date:
    return as_utc(instant).astimezone(tz).date()


def start_of_local_day(day: date, tz=CHINA) -> datetime:
    """The UTC instant at which `day` begins in the hotline's timezone."""
    return datetime.combine(day, time.min, tzinfo=tz).astimezone(UTC)


def iso(instant: datetime | None) -> str | None:
    if instant is None:
        return None
    return as_utc(instant).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_iso(text: str) -> datetime:
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise ValueError(f"timestamp without a timezone: {text!r}")
    return value.astimezone(UTC)
