"""Most endpoints map one HTTP method to one service command; `Endpoint` does that from a table.

A `Call` says which service command answers and what it takes besides the path parameters: the query
string, the JSON body, or nothing. The actor (from the bearer token) is always the last argument.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import falcon

from ..middleware import json_body
from .common import etag_of, query_params


@dataclass(frozen=True)
class Call:
    service: str
    command: str
    takes: str = "body"        # "body" | "query" | "nothing"
    status: int = 200


def get(service: str, command: str, takes: str = "nothing") -> Call:
    return Call(service, command, takes)


def query(service: str, command: str) -> Call:
    return Call(service, command, "query")


def send(service: str, command: str, status: int = 200) -> Call:
    return Call(service, command, "body", status)


def act(service: str, command: str) -> Call:
    return Call(service, command, "nothing")


class Endpoint:
    def __init__(self, rpc, **calls: Call):
        self.rpc = rpc
        for verb, call in calls.items():
            setattr(self, f"on_{verb}", partial(self._respond, call))

    def _respond(self, call: Call, req, resp, **params):
        args = list(params.values())
        if call.takes == "body":
            args.append(json_body(req))
        elif call.takes == "query":
            args.append(query_params(req))
        result = self.rpc.call(call.service, call.command, *args, req.context.actor)
        resp.status = falcon.code_to_http_status(call.status)
        if isinstance(result, dict):
            resp.etag = etag_of(result)
        resp.media = result
