"""Rate limits per client address and per bearer token subject (OWASP API4), with the IETF headers
(draft-ietf-httpapi-ratelimit-headers):

    RateLimit-Policy: "address";q=12000;w=60, "token";q=6000;w=60
    RateLimit: "address";r=11873;t=1, "token";r=5990;t=1

and 429 problem+json with `Retry-After` when a bucket is empty.

Each policy is a token bucket: `q` requests at once, refilled at q/w per second. The buckets live in
the process: with gunicorn every worker keeps its own, so a client may get up to workers x q in a
window (the limits are per worker; a shared store such as Redis would make them exact, at a cost on
every request). The address is the TCP peer (`REMOTE_ADDR`): behind a proxy, set gunicorn's
`forwarded_allow_ips` so that it is the client's. /healthz, /readyz and /metrics are not limited.
"""
from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

import falcon


@dataclass(frozen=True)
class Policy:
    name: str
    quota: int
    window: float

    @classmethod
    def parse(cls, name: str, text: str) -> Policy | None:
        """'600/60' = 600 requests per 60 seconds; 'off' (or 0) = no limit."""
        text = (text or "").strip().lower()
        if text in ("", "0", "off", "none"):
            return None
        quota, _, window = text.partition("/")
        policy = cls(name, int(quota), float(window or 60))
        if policy.quota <= 0 or policy.window <= 0:
            raise ValueError(f"rate limit {name}: {text!r} is not '<requests>/<seconds>'")
        return policy

    def header(self) -> str:
        return f'"{self.name}";q={self.quota};w={self.window:g}'


@dataclass(frozen=True)
class Verdict:
    policy: Policy
    allowed: bool
    remaining: int
    reset: int         # seconds until the bucket is full again
    retry_after: int   # seconds until one request is allowed (0 when allowed)

    def header(self) -> str:
        return f'"{self.policy.name}";r={self.remaining};t={self.reset}'


class Buckets:
    """Token buckets by key (address or token), the least recently used forgotten past max_keys."""

    def __init__(self, policy: Policy, clock=time.monotonic, max_keys: int = 100_000):
        self.policy = policy
        self.clock = clock
        self.max_keys = max_keys
        self.rate = policy.quota / policy.window
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # key -> (tokens, at)
        self._lock = threading.Lock()

    def take(self, key: str) -> Verdict:
        now = self.clock()
        quota = self.policy.quota
        with self._lock:
            tokens, at = self._buckets.pop(key, (float(quota), now))
            tokens = min(float(quota), tokens + (now - at) * self.rate)
            allowed = tokens >= 1
            if allowed:
                tokens -= 1
            self._buckets[key] = (tokens, now)
            while len(self._buckets) > self.max_keys:
                self._buckets.popitem(last=False)
        retry_after = 0 if allowed else math.ceil((1 - tokens) / self.rate)
        return Verdict(self.policy, allowed, int(tokens), math.ceil((quota - tokens) / self.rate), retry_after)


def _limited(resource) -> bool:
    return resource is None or getattr(resource, "auth_required", True)


class _Stage:
    def __init__(self, buckets: Buckets | None):
        self.buckets = buckets

    def _check(self, req, key: str) -> None:
        if self.buckets is None:
            return
        verdict = self.buckets.take(key)
        req.context.setdefault("rate_limits", []).append(verdict)
        if not verdict.allowed:
            raise falcon.HTTPTooManyRequests(
                title="Too many requests",
                description=f"the {verdict.policy.name} limit is {verdict.policy.quota} requests "
                            f"per {verdict.policy.window:g} s; retry after {verdict.retry_after} s",
                retry_after=verdict.retry_after)


class AddressLimit(_Stage):
    """Before authentication: a flood of bad tokens from one address is limited too."""

    def process_resource(self, req, resp, resource, params):
        if _limited(resource):
            self._check(req, req.remote_addr or "unknown")

    def process_response(self, req, resp, resource, req_succeeded):
        verdicts = req.context.get("rate_limits")
        if verdicts:
            resp.set_header("RateLimit-Policy", ", ".join(v.policy.header() for v in verdicts))
            resp.set_header("RateLimit", ", ".join(v.header() for v in verdicts))


class TokenLimit(_Stage):
    """After authentication: per token subject (the user a valid token names, whichever of their
    tokens and addresses they use: minting more tokens does not buy more requests)."""

    def process_resource(self, req, resp, resource, params):
        actor = req.context.get("actor")
        if _limited(resource) and actor:
            self._check(req, actor["user_id"])
