"""/v1/units and /v1/routing-rules: the units directory (R3) and routing rules (R6) as data."""
from __future__ import annotations

from ..middleware import json_body


class Units:
    def __init__(self, rpc):
        self.rpc = rpc

    def on_get(self, req, resp):
        resp.media = self.rpc.call("routing", "list_units", req.context.actor)


class Unit:
    def __init__(self, rpc):
        self.rpc = rpc

    def on_get(self, req, resp, unit_id):
        resp.media = self.rpc.call("routing", "get_unit", unit_id, req.context.actor)

    def on_put(self, req, resp, unit_id):
        resp.media = self.rpc.call("routing", "put_unit", unit_id, json_body(req), req.context.actor)


class Rules:
    def __init__(self, rpc):
        self.rpc = rpc

    def on_get(self, req, resp):
        resp.media = self.rpc.call("routing", "list_rules", req.context.actor)


class Rule:
    def __init__(self, rpc):
        self.rpc = rpc

    def on_put(self, req, resp, rule_id):
        resp.media = self.rpc.call("routing", "put_rule", rule_id, json_body(req), req.context.actor)

    def on_delete(self, req, resp, rule_id):
        resp.media = self.rpc.call("routing", "delete_rule", rule_id, req.context.actor)


def add_routes(app, rpc) -> None:
    app.add_route("/v1/units", Units(rpc))
    app.add_route("/v1/units/{unit_id}", Unit(rpc))
    app.add_route("/v1/routing-rules", Rules(rpc))
    app.add_route("/v1/routing-rules/{rule_id}", Rule(rpc))
