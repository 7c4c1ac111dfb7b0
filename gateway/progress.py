"""The citizen's progress lookup (issue 15): GET /v1/progress?number=&phone_last4=, with no token.

A citizen learns what became of their request from its number and the last four digits of the phone
it was registered with: intake's `progress_lookup` answers only the status, the unit, the deadline,
the reply's date and its public summary, and 404 alike for an unknown number and wrong digits.

Against enumeration (OWASP API4/API6): misses are counted per client address, much tighter than the
API's limits (`PROGRESS_MISS_LIMIT`, default 10 misses per 600 s): past it every lookup from that
address answers 429 with Retry-After until the oldest miss leaves the window; all lookups are limited
too (`PROGRESS_RATE_LIMIT`, default 60 per 600 s). Intake records every lookup (address, number,
hit or miss, time; never the digits) in its `audit` collection. The counts live in the gateway's
process (per worker, like gateway/ratelimit.py). The address is the TCP peer (`REMOTE_ADDR`).
"""
from __future__ import annotations

import math
import os
import threading
import time
from collections import OrderedDict, deque

import falcon

from hotline_common.dispatch import request
from hotline_common.errors import NotFound

from .ratelimit import Buckets, Policy

PATH = "/v1/progress"
PUBLIC_ACTOR = {"user_id": "citizen", "role": "system", "unit_id": None}


class MissLimit:
    """At most `quota` misses per `window` seconds per address (a sliding window of miss times)."""

    def __init__(self, quota: int, window: float, clock=time.monotonic, max_keys: int = 100_000):
        self.quota, self.window, self.clock, self.max_keys = quota, window, clock, max_keys
        self._misses: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        misses = self._misses.pop(key, deque())
        while misses and misses[0] <= now - self.window:
            misses.popleft()
        self._misses[key] = misses
        while len(self._misses) > self.max_keys:
            self._misses.popitem(last=False)
        return misses

    def retry_after(self, key: str) -> int:
        """0 when the address may look up now, else the seconds until its oldest miss expires."""
        now = self.clock()
        with self._lock:
            misses = self._recent(key, now)
            if len(misses) < self.quota:
                return 0
            return max(1, math.ceil(misses[0] + self.window - now))

    def miss(self, key: str) -> None:
        now = self.clock()
        with self._lock:
            self._recent(key, now).append(now)


def _policy(text: str) -> tuple[int, float]:
    quota, _, window = text.strip().partition("/")
    return int(quota), float(window or 600)


class Progress:
    """GET /v1/progress: public; limited per address and audited by intake."""
    auth_required = False   # no token; the API's own limits skip it: this resource limits itself

    def __init__(self, rpc, misses: MissLimit, lookups: Buckets | None):
        self.rpc, self.misses, self.lookups = rpc, misses, lookups

    def on_get(self, req, resp):
        client = req.remote_addr or "unknown"
        wait = self.misses.retry_after(client)
        if wait == 0 and self.lookups is not None:
            verdict = self.lookups.take(client)
            wait = verdict.retry_after if not verdict.allowed else 0
        if wait:
            raise falcon.HTTPTooManyRequests(
                title="Too many requests",
                description=f"too many lookups from this address; retry after {wait} s", retry_after=wait)
        query = {k: v for k, v in req.params.items() if k in ("number", "phone_last4")}
        unknown = sorted(set(req.params) - {"number", "phone_last4"})
        if unknown:
            query.update({k: req.params[k] for k in unknown})  # intake's schema refuses them (422)
        try:
            result = self.rpc.call("intake", "progress_lookup",
                                   request(params={"client": client}, query=query), PUBLIC_ACTOR)
        except NotFound:
            self.misses.miss(client)
            raise
        resp.set_header("Cache-Control", "no-store")
        resp.media = result


def mount(app: falcon.App, rpc, env=None) -> None:
    env = os.environ if env is None else env
    quota, window = _policy(env.get("PROGRESS_MISS_LIMIT") or "10/600")
    lookups = Policy.parse("progress", env.get("PROGRESS_RATE_LIMIT") or "60/600")
    app.add_route(PATH, Progress(rpc, MissLimit(quota, window), Buckets(lookups) if lookups else None))
