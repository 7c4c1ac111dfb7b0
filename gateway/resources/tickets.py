"""/v1/tickets: register (R1), read, search."""
from __future__ import annotations

import falcon
from nameko.exceptions import RpcTimeout

from hotline_common.errors import NotFound

from ..middleware import json_body
from .common import etag_of, next_link, query_params


class Tickets:
    def __init__(self, rpc):
        self.rpc = rpc

    def on_post(self, req, resp):
        body = json_body(req)
        view = self.rpc.call("intake", "register", body, req.context.actor, req.get_header("Idempotency-Key"))
        created = view.pop("created", True)
        resp.status = falcon.HTTP_201 if created else falcon.HTTP_200
        if not created:
            resp.set_header("Idempotent-Replayed", "true")
        resp.location = f"/v1/tickets/{view['id']}"
        resp.etag = etag_of(view)
        resp.media = view

    def on_get(self, req, resp):
        page = self.rpc.call("intake", "list_tickets", query_params(req), req.context.actor)
        link = next_link(req, page.get("next_cursor"))
        if link:
            resp.set_header("Link", link)
        resp.media = page


class Ticket:
    """The ticket view (intake) with the time left in working days (sla) while its clock runs."""

    def __init__(self, rpc):
        self.rpc = rpc

    def on_get(self, req, resp, key):
        view = self.rpc.call("intake", "get_ticket", key, req.context.actor)
        deadline = view.get("deadline")
        if deadline and deadline.get("state", "running") == "running":
            try:
                clock = self.rpc.call("sla", "deadline", view["id"], req.context.actor)
                deadline["working_days_left"] = clock.get("working_days_left")
            except (RpcTimeout, NotFound):  # the view still answers without the countdown
                pass
        resp.etag = etag_of(view)
        resp.media = view
