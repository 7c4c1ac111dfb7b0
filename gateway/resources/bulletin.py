"""/v1/events (a replayable feed, D5) and /v1/statistics (分类统计, R2), served by bulletin."""
from __future__ import annotations

from .common import query_params


class Events:
    def __init__(self, rpc):
        self.rpc = rpc

    def on_get(self, req, resp):
        page = self.rpc.call("bulletin", "feed", query_params(req), req.context.actor)
        resp.media = page


class Statistics:
    def __init__(self, rpc):
        self.rpc = rpc

    def on_get(self, req, resp):
        resp.media = self.rpc.call("bulletin", "statistics", query_params(req), req.context.actor)


def add_routes(app, rpc) -> None:
    app.add_route("/v1/events", Events(rpc))
    app.add_route("/v1/statistics", Statistics(rpc))
