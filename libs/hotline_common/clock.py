"""The Clock port (DESIGN §5).

Production reads the system clock. Outside production the whole system can share a controllable
clock: its state (a virtual instant anchored to a real instant, and a rate of 0 or 1) lives in one
small document every service reads, so "3 working days later" is a command, not a wait.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

UTC = UTC


def utcnow() -> datetime:
    return datetime.now(UTC)


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return utcnow()


class FixedClock:
    """A clock for tests: stands still until told to move."""

    def __init__(self, at: datetime):
        self._at = at

    def now(self) -> datetime:
        return self._at

    def set(self, at: datetime) -> None:
        self._at = at

    def advance(self, delta: timedelta) -> None:
        self._at += delta


@dataclass(frozen=True)
class ClockState:
    """virtual time = virtual_anchor + rate * (real now - real_anchor); rate 1 runs, rate 0 is frozen."""
    virtual_anchor: datetime
    real_anchor: datetime
    rate: int = 1

    def at(self, real_now: datetime) -> datetime:
        return self.virtual_anchor + (real_now - self.real_anchor) * self.rate

    @classmethod
    def set_to(cls, virtual: datetime, real_now: datetime, running: bool = True) -> ClockState:
        return cls(virtual_anchor=virtual, real_anchor=real_now, rate=1 if running else 0)

    def advanced(self, delta: timedelta, real_now: datetime) -> ClockState:
        return ClockState(self.at(real_now) + delta, real_now, self.rate)

    def to_doc(self) -> dict:
        return {"virtual_anchor": self.virtual_anchor, "real_anchor": self.real_anchor, "rate": self.rate}

    @classmethod
    def from_doc(cls, doc: dict) -> ClockState:
        def aware(d):
            return d if d.tzinfo else d.replace(tzinfo=UTC)
        return cls(aware(doc["virtual_anchor"]), aware(doc["real_anchor"]), int(doc.get("rate", 1)))


class ControllableClock:
    """Reads the shared clock state at most every `refresh_seconds`; no state means real time."""

    def __init__(self, load_state: Callable[[], ClockState | None], refresh_seconds: float = 0.2):
        self._load_state = load_state
        self._refresh = refresh_seconds
        self._state: ClockState | None = None
        self._loaded_at = -1e9
        self._lock = threading.Lock()

    def now(self) -> datetime:
        mono = time.monotonic()
        if mono - self._loaded_at > self._refresh:
            with self._lock:
                self._state = self._load_state()
                self._loaded_at = mono
        real = utcnow()
        return self._state.at(real) if self._state else real

    def invalidate(self) -> None:
        self._loaded_at = -1e9


_causal = threading.local()


def set_causal_floor(at: datetime | None) -> None:
    """While a worker handles an event, its `now` is never earlier than the event's time."""
    _causal.floor = at


class CausalClock:
    """Wraps a clock so that a reaction is never timestamped before what caused it.

    Clocks in different processes differ a little (machines' clocks; the controllable clock's
    per-process cache right after a jump); without this a dispatch could be stamped before the
    registration it answers, and count its deadline from the wrong day."""

    def __init__(self, inner):
        self.inner = inner

    def now(self) -> datetime:
        now = self.inner.now()
        floor = getattr(_causal, "floor", None)
        return floor if floor is not None and floor > now else now

    def invalidate(self) -> None:
        if hasattr(self.inner, "invalidate"):
            self.inner.invalidate()
