"""/v1/units and /v1/routing-rules: the units directory (R3) and routing rules (R6) as data."""
from __future__ import annotations

from .endpoint import Endpoint, act, send


def add_routes(app, rpc) -> None:
    app.add_route("/v1/units", Endpoint(rpc, get=act("routing", "list_units")))
    app.add_route("/v1/units/{unit_id}", Endpoint(rpc, get=act("routing", "get_unit"),
                                                  put=send("routing", "put_unit")))
    app.add_route("/v1/routing-rules", Endpoint(rpc, get=act("routing", "list_rules")))
    app.add_route("/v1/routing-rules/{rule_id}", Endpoint(rpc, put=send("routing", "put_rule"),
                                                          delete=act("routing", "delete_rule")))
