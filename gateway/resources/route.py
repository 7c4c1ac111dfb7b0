"""The one resource that serves every route of `gateway.routes.ROUTES`: HTTP in, one RPC, HTTP out.

    req = dispatch.request(params=<path parameters>, body=<JSON body or None>,
                           query=<query parameters or None>, if_match=<If-Match version or None>,
                           idempotency_key=<Idempotency-Key, or the gateway's for creating POSTs>)
    result = rpc.call(route.service, route.command, req, actor)

The answer: `ETag: "<version>"` when the result has a version; `Link: rel="next"` for a route that
pages; 201 + `Location` + the idempotency headers for a route that creates.
"""
from __future__ import annotations

import base64
import re
import uuid
from urllib.parse import quote, urlencode

import falcon

from hotline_common.dispatch import request

from ..body import BodyLimits, read_json
from ..routes import OPTIONAL, REQUIRED, Route

IF_MATCH = re.compile(r'^(?:W/)?"?([0-9]{1,18})"?$')
KEY = re.compile(r"^[\x21-\x7e]{1,200}$")  # visible ASCII, as the header's grammar allows
IDEMPOTENCY_HEADER = "Idempotency-Key"


def etag_of(result) -> str | None:
    version = result.get("version") if isinstance(result, dict) else None
    return f'"{version}"' if version is not None else None


def if_match(req) -> int | None:
    """The version an `If-Match: "<n>"` header expects; None without one (or with `*`)."""
    value = (req.get_header("If-Match") or "").strip()
    if not value or value == "*":
        return None
    match = IF_MATCH.match(value)
    if match is None:
        raise falcon.HTTPBadRequest(title="Bad If-Match", description='send the ETag you got, e.g. "3"')
    return int(match.group(1))


def idempotency_key(req, route: Route) -> tuple[str | None, bool]:
    """(the key, whether the gateway made it). Creating routes always get one."""
    key = req.get_header(IDEMPOTENCY_HEADER)
    if key is not None:
        key = key.strip()
        if not KEY.match(key):
            raise falcon.HTTPBadRequest(title="Bad Idempotency-Key",
                                        description="1 to 200 visible ASCII characters")
        return key, False
    if route.creates:
        return f"gw-{uuid.uuid4().hex}", True
    return None, False


MEDIA_FORMATS = {
    "application/json": "json",
    "text/csv": "csv",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
    "text/html": "html",
    "application/pdf": "pdf",
}


def accepted_format(req, formats: tuple[str, ...]) -> str | None:
    """The file format an `Accept` header names explicitly (by its media type, with the highest q),
    among `formats`; None for JSON, wildcards or nothing (JSON is the default)."""
    best, best_q = None, 0.0
    for item in (req.get_header("Accept") or "").split(","):
        media, *options = [part.strip() for part in item.split(";")]
        q = 1.0
        for option in options:
            name, _, value = option.partition("=")
            if name.strip() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        fmt = MEDIA_FORMATS.get(media.lower())
        if fmt is not None and (fmt == "json" or fmt in formats) and q > best_q:
            best, best_q = fmt, q
    return None if best == "json" else best


def is_file(result) -> bool:
    """A file a service answers (bulletin's export.file_result): base64 bytes with a media type."""
    return isinstance(result, dict) and result.get("encoding") == "base64" and "content_type" in result


def next_link(req, param: str, cursor: str | None) -> str | None:
    if not cursor:
        return None
    params = {k: v for k, v in req.params.items() if k != param}
    params[param] = cursor
    return f'<{req.path}?{urlencode(params, doseq=True)}>; rel="next"'


class RouteResource:
    """All the routes of one path. Falcon looks up `on_<method>`: the table's methods are the
    responders (so Falcon answers 405 with `Allow`, and OPTIONS, for every other method)."""

    def __init__(self, rpc, routes: dict[str, Route], limits: BodyLimits):
        self.rpc = rpc
        self.routes = routes
        self.limits = limits

    def __getattr__(self, name: str):
        route = self.__dict__.get("routes", {}).get(name[3:].upper()) if name.startswith("on_") else None
        if route is None:
            raise AttributeError(name)

        def responder(req, resp, **params):
            self.serve(route, req, resp, params)
        responder.__name__ = responder.__qualname__ = name
        return responder

    def serve(self, route: Route, req, resp, params: dict) -> None:
        actor = req.context.actor
        if route.acting_unit and params.get(route.acting_unit) != actor.get("unit_id"):
            raise falcon.HTTPForbidden(title="Forbidden", description="act only for your own unit")
        body = read_json(req, route.body == REQUIRED, self.limits) if route.body in (REQUIRED, OPTIONAL) else None
        key, generated = idempotency_key(req, route) if route.method == "POST" else (None, False)
        if key and route.creates:
            # also on an error: a 503 may hide a request that was applied; a retry with the key finds it
            resp.set_header(IDEMPOTENCY_HEADER, key)
        query = dict(req.params) if route.query else None
        if route.formats and query is not None and "format" not in query:
            fmt = accepted_format(req, route.formats)   # Accept: text/csv = ?format=csv
            if fmt:
                query["format"] = fmt
        rpc_request = request(params=params, body=body, query=query,
                              if_match=if_match(req) if route.if_match else None,
                              idempotency_key=key)
        result = self.rpc.call(route.service, route.command, rpc_request, actor)
        if route.compose is not None:
            result = route.compose(self.rpc, result, actor)
        self.respond(req, resp, route, result, generated)

    @staticmethod
    def respond(req, resp, route: Route, result, generated_key: bool) -> None:
        status = route.status
        if route.formats and is_file(result):
            resp.status = falcon.code_to_http_status(status)
            resp.content_type = result["content_type"]
            resp.data = base64.b64decode(result["body"])
            if result.get("filename"):
                disposition = "inline" if result["content_type"].startswith(("text/html", "application/pdf")) \
                    else "attachment"
                resp.set_header("Content-Disposition",
                                f"{disposition}; filename*=UTF-8''{quote(result['filename'])}")
            return
        if status == 201 and isinstance(result, dict):
            created = result.pop("created", True)
            # a repeat of the gateway's own key is a redelivery of this very request: still a creation
            if not created and not generated_key:
                status = 200
                if req.get_header(IDEMPOTENCY_HEADER):
                    resp.set_header("Idempotent-Replayed", "true")
            if route.location:
                resp.location = route.location.format(**result)
        resp.status = falcon.code_to_http_status(status)
        etag = etag_of(result)
        if etag:
            resp.etag = etag
        if route.link and isinstance(result, dict):
            link = next_link(req, route.link, result.get("next_cursor"))
            if link:
                resp.set_header("Link", link)
        resp.media = result
