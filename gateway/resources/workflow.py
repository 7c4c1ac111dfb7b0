"""/v1/tickets/{key}/...: the unit's work on a ticket and the hotline office's decisions (R3-R6, R9).

Each command answers the ticket's assignment (who handles it, reviews, replies, returns, co-units)
with `ETag: "<assignment version>"`; sending that back as `If-Match` makes the command fail with 412
when someone else changed the assignment in between.
"""
from __future__ import annotations

import falcon

from ..middleware import json_body
from .common import etag_of, if_match
from .endpoint import Endpoint, act


class TicketCommand:
    """POST runs one routing command; `body_required` commands need a JSON object."""

    def __init__(self, rpc, command: str, body_required: bool = True):
        self.rpc = rpc
        self.command = command
        self.body_required = body_required

    def on_post(self, req, resp, key, unit_id=None):
        body = json_body(req) if self.body_required or req.content_length else {}
        if unit_id is not None and req.context.actor.get("unit_id") != unit_id:
            raise falcon.HTTPForbidden(title="Forbidden", description="act only for your own unit")
        view = self.rpc.call("routing", "ticket_command", self.command, key, body, req.context.actor,
                             if_match(req))
        resp.etag = etag_of(view)
        resp.media = view


def add_routes(app, rpc) -> None:
    app.add_route("/v1/tickets/{key}/assignment", Endpoint(rpc, get=act("routing", "get_assignment")))
    for path, command, body in (
        ("dispatch", "manual_dispatch", True),            # 人工派单 (operator)
        ("accept", "accept", False),                      # 签收
        ("review", "review", True),                       # 阅批 (unit leader, R4)
        ("reply", "reply", True),                         # 答复 (R4, R9)
        ("returns", "request_return", True),              # 退单 (R5)
        ("returns/decision", "decide_return", True),      # 退单审核 (operator)
        ("co-units", "add_co_unit", True),                # 协办单位 (R6)
    ):
        app.add_route(f"/v1/tickets/{{key}}/{path}", TicketCommand(rpc, command, body))
    for path, command, body in (
        ("accept", "co_unit_accept", False),
        ("decline", "co_unit_decline", True),
        ("contribution", "co_unit_contribute", True),
    ):
        app.add_route(f"/v1/tickets/{{key}}/co-units/{{unit_id}}/{path}", TicketCommand(rpc, command, body))
