"""After the reply and when tickets are ignored (R10, R11, R13-R15, R17): callbacks, key tickets,
reminders, supervision cases, on-site verification, accountability."""
from __future__ import annotations

import falcon

from ..middleware import json_body
from .common import query_params


class Call:
    """A resource whose one method calls one service command with (path params..., body, actor)."""

    def __init__(self, rpc, service: str, command: str, with_body: bool = True):
        self.rpc, self.service, self.command, self.with_body = rpc, service, command, with_body

    def _call(self, req, *params):
        args = list(params) + ([json_body(req)] if self.with_body else [])
        return self.rpc.call(self.service, self.command, *args, req.context.actor)


class Post(Call):
    def on_post(self, req, resp, **params):
        resp.media = self._call(req, *params.values())


class Get(Call):
    def on_get(self, req, resp, **params):
        resp.media = self.rpc.call(self.service, self.command, *params.values(), req.context.actor)


class Listing:
    def __init__(self, rpc, service: str, command: str):
        self.rpc, self.service, self.command = rpc, service, command

    def on_get(self, req, resp):
        resp.media = self.rpc.call(self.service, self.command, query_params(req), req.context.actor)


class Records(Listing):
    """GET lists, POST creates (201)."""

    def __init__(self, rpc, service: str, command: str, create: str):
        super().__init__(rpc, service, command)
        self.create = create

    def on_post(self, req, resp):
        resp.status = falcon.HTTP_201
        resp.media = self.rpc.call(self.service, self.create, json_body(req), req.context.actor)


class Verification:
    def __init__(self, rpc):
        self.rpc = rpc

    def on_get(self, req, resp, key):
        resp.media = self.rpc.call("escalation", "verifications", key, req.context.actor)

    def on_post(self, req, resp, key):
        resp.media = self.rpc.call("escalation", "file_verification", key, json_body(req), req.context.actor)


def add_routes(app, rpc) -> None:
    app.add_route("/v1/tickets/{key}/callbacks", Post(rpc, "intake", "callback"))            # 回访 (R11)
    app.add_route("/v1/tickets/{key}/key-ticket", Post(rpc, "intake", "mark_key"))           # 重点问题件 (R10)
    app.add_route("/v1/tickets/{key}/reminders", Post(rpc, "escalation", "remind"))          # 催办 (R13)
    app.add_route("/v1/tickets/{key}/supervision", Post(rpc, "escalation", "report"))        # 报督办 (R14)
    app.add_route("/v1/tickets/{key}/verification", Verification(rpc))      # 现场核查 (R10)
    app.add_route("/v1/supervision-cases", Listing(rpc, "escalation", "list_cases"))
    app.add_route("/v1/supervision-cases/{case_id}", Get(rpc, "escalation", "get_case"))
    app.add_route("/v1/supervision-cases/{case_id}/reinvestigation",
                  Post(rpc, "escalation", "order_reinvestigation"))                            # R15
    app.add_route("/v1/supervision-cases/{case_id}/close", Post(rpc, "escalation", "close_case"))
    app.add_route("/v1/accountability", Records(rpc, "escalation", "list_accountability",
                                                "record_accountability"))                      # R17
