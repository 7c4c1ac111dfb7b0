"""Deadlines, extensions (R7, R8), the work calendar and the controllable clock, served by sla."""
from __future__ import annotations

from ..middleware import json_body
from .common import etag_of, query_params


class Deadline:
    def __init__(self, rpc):
        self.rpc = rpc

    def on_get(self, req, resp, key):
        resp.media = self.rpc.call("sla", "deadline", key, req.context.actor)


class Extensions:
    """POST: a unit leader asks for more time (延期申请, R8)."""

    def __init__(self, rpc):
        self.rpc = rpc

    def on_post(self, req, resp, key):
        view = self.rpc.call("sla", "request_extension", key, json_body(req), req.context.actor)
        resp.etag = etag_of(view)
        resp.media = view


class ExtensionDecision:
    """POST: the hotline office approves (with the working days granted) or rejects."""

    def __init__(self, rpc):
        self.rpc = rpc

    def on_post(self, req, resp, key):
        view = self.rpc.call("sla", "decide_extension", key, json_body(req), req.context.actor)
        resp.etag = etag_of(view)
        resp.media = view


class ExtensionList:
    def __init__(self, rpc):
        self.rpc = rpc

    def on_get(self, req, resp):
        resp.media = self.rpc.call("sla", "list_extensions", query_params(req), req.context.actor)


class CalendarYear:
    def __init__(self, rpc):
        self.rpc = rpc

    def on_get(self, req, resp, year):
        resp.media = self.rpc.call("sla", "calendar_year", year, req.context.actor)

    def on_put(self, req, resp, year):
        resp.media = self.rpc.call("sla", "put_calendar_year", year, json_body(req), req.context.actor)


class CalendarReload:
    def __init__(self, rpc):
        self.rpc = rpc

    def on_post(self, req, resp):
        resp.media = self.rpc.call("sla", "reload_calendar", req.context.actor)


class Clock:
    """The system's time; outside production an admin may set it (tests, demos, training)."""

    def __init__(self, rpc):
        self.rpc = rpc

    def on_get(self, req, resp):
        resp.media = self.rpc.call("sla", "get_clock")

    def on_put(self, req, resp):
        resp.media = self.rpc.call("sla", "set_clock", json_body(req), req.context.actor)


class ClockAdvance:
    def __init__(self, rpc):
        self.rpc = rpc

    def on_post(self, req, resp):
        resp.media = self.rpc.call("sla", "advance_clock", json_body(req), req.context.actor)


def add_routes(app, rpc) -> None:
    app.add_route("/v1/tickets/{key}/deadline", Deadline(rpc))
    app.add_route("/v1/tickets/{key}/extensions", Extensions(rpc))
    app.add_route("/v1/tickets/{key}/extensions/decision", ExtensionDecision(rpc))
    app.add_route("/v1/extensions", ExtensionList(rpc))
    app.add_route("/v1/calendar/{year:int(min=2000, max=2100)}", CalendarYear(rpc))
    app.add_route("/v1/calendar/reload", CalendarReload(rpc))
    app.add_route("/v1/clock", Clock(rpc))
    app.add_route("/v1/clock/advance", ClockAdvance(rpc))
