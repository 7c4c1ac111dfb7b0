"""/v1/events (a replayable feed, D5) and /v1/statistics (分类统计, R2), served by bulletin."""
from __future__ import annotations

from .endpoint import Endpoint, query


def add_routes(app, rpc) -> None:
    app.add_route("/v1/events", Endpoint(rpc, get=query("bulletin", "feed")))
    app.add_route("/v1/statistics", Endpoint(rpc, get=query("bulletin", "statistics")))
