"""Typed errors of the domain, with no transport in them.

Pure Python: domain modules raise these; `service_base` registers them with nameko so an RPC caller
gets the same class back (not a RemoteError); the gateway maps each class to an HTTP status and an
RFC 9457 problem in one place (`gateway/problems.py`). An event reaction that meets one of them
changes nothing and is acked ("no change"); it never burns retries.
Arguments are (detail, extra); `extra` travels over RPC as a JSON string, because nameko turns every
other non-string argument into its str().
"""
from __future__ import annotations

import json


class HotlineError(Exception):
    code = "internal"

    def __init__(self, detail: str = "", extra: dict | str | None = None):
        if isinstance(extra, str):
            extra = json.loads(extra or "{}")
        extra = extra or {}
        super().__init__(detail, json.dumps(extra, ensure_ascii=False, default=str))
        self.detail = detail
        self.extra = extra


class ValidationFailed(HotlineError):
    """Input does not satisfy a schema or a rule. extra["errors"] maps field -> messages."""
    code = "validation"

    def __init__(self, detail: str = "", extra: dict | None = None, *, errors: dict | None = None):
        if errors is not None:
            extra = {**(extra or {}), "errors": errors}
        super().__init__(detail or "the request has invalid fields", extra)

    @property
    def errors(self) -> dict:
        return self.extra.get("errors", {})


class NotFound(HotlineError):
    code = "not_found"


class Forbidden(HotlineError):
    code = "forbidden"


class Conflict(HotlineError):
    """The command does not fit the current state (e.g. reply before leader review)."""
    code = "conflict"


class StaleVersion(HotlineError):
    """Optimistic concurrency: the aggregate changed since the caller read it."""
    code = "stale_version"


class RuleViolation(HotlineError):
    """A rule of the notice forbids the command (e.g. an extension asked too late, R8)."""
    code = "rule"


class NotAllowedHere(HotlineError):
    """Refused in this environment (e.g. setting the clock in production)."""
    code = "environment"


class PoisonMessage(Exception):
    """An event that can never be handled (bad envelope, bad payload): dead-letter it."""


class TransientError(Exception):
    """A failure worth retrying later (store or broker unavailable, lost a race)."""


class NotYet(TransientError):
    """An event arrived before the one it follows (e.g. a reply before its dispatch): retry later."""


class Unavailable(HotlineError):
    """A dependency (store, broker) is down; the caller may retry after a while."""
    code = "unavailable"


TYPED_ERRORS = (HotlineError, ValidationFailed, NotFound, Forbidden, Conflict, StaleVersion,
                RuleViolation, NotAllowedHere, Unavailable)
