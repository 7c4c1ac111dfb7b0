"""Deadlines, extensions (R7, R8), the work calendar and the controllable clock, served by sla."""
from __future__ import annotations

from .endpoint import Endpoint, act, query, send


class Clock:
    """The system's time; outside production an admin may set it (tests, demos, training)."""

    def __init__(self, rpc):
        self.rpc = rpc

    def on_get(self, req, resp):
        resp.media = self.rpc.call("sla", "get_clock")  # no actor: everyone may read the time


def add_routes(app, rpc) -> None:
    app.add_route("/v1/tickets/{key}/deadline", Endpoint(rpc, get=act("sla", "deadline")))
    app.add_route("/v1/tickets/{key}/extensions", Endpoint(rpc, post=send("sla", "request_extension")))
    app.add_route("/v1/tickets/{key}/extensions/decision", Endpoint(rpc, post=send("sla", "decide_extension")))
    app.add_route("/v1/extensions", Endpoint(rpc, get=query("sla", "list_extensions")))
    app.add_route("/v1/calendar/{year:int(min=2000, max=2100)}",
                  Endpoint(rpc, get=act("sla", "calendar_year"), put=send("sla", "put_calendar_year")))
    app.add_route("/v1/calendar/reload", Endpoint(rpc, post=act("sla", "reload_calendar")))
    clock = Clock(rpc)
    clock.on_put = Endpoint(rpc, put=send("sla", "set_clock")).on_put
    app.add_route("/v1/clock", clock)
    app.add_route("/v1/clock/advance", Endpoint(rpc, post=send("sla", "advance_clock")))
