"""Typed errors shared by domain rules, RPC and HTTP.

Pure Python: domain modules raise these; `hotline_common.nameko_ext` registers them with nameko so
an RPC caller gets the same class back (not a RemoteError); the gateway maps them to
RFC 9457 problem details by `status`. Arguments are (detail, extra); `extra` travels over RPC as a
JSON string, because nameko turns every other non-string argument into its str().
"""
from __future__ import annotations

import json


class HotlineError(Exception):
    status = 500
    title = "Internal error"
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
    status = 422
    title = "Validation failed"
    code = "validation"

    def __init__(self, detail: str = "", extra: dict | None = None, *, errors: dict | None = None):
        if errors is not None:
            extra = {**(extra or {}), "errors": errors}
        super().__init__(detail or "the request has invalid fields", extra)

    @property
    def errors(self) -> dict:
        return self.extra.get("errors", {})


class NotFound(HotlineError):
    status = 404
    title = "Not found"
    code = "not_found"


class Forbidden(HotlineError):
    status = 403
    title = "Forbidden"
    code = "forbidden"


class Conflict(HotlineError):
    """The command does not fit the current state (e.g. reply before leader review)."""
    status = 409
    title = "Conflict with the current state"
    code = "conflict"


class StaleVersion(HotlineError):
    """Optimistic concurrency: the aggregate changed since the caller read it."""
    status = 412
    title = "Precondition failed"
    code = "stale_version"


class RuleViolation(HotlineError):
    """A rule of the notice forbids the command (e.g. an extension asked too late, R8)."""
    status = 422
    title = "Refused by rule"
    code = "rule"


class NotAllowedHere(HotlineError):
    """Refused in this environment (e.g. setting the clock in production)."""
    status = 403
    title = "Not allowed in this environment"
    code = "environment"


class PoisonMessage(Exception):
    """An event that can never be handled (bad envelope, bad payload): dead-letter it."""


class TransientError(Exception):
    """A failure worth retrying later (store or broker unavailable, lost a race)."""


TYPED_ERRORS = (HotlineError, ValidationFailed, NotFound, Forbidden, Conflict, StaleVersion,
                RuleViolation, NotAllowedHere)
