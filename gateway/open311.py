"""Open311 GeoReport v2 (issue 15): an adapter of the gateway that maps the spec onto the existing
RPCs (DESIGN.md §9: no service learns Open311's vocabulary).

    GET  /open311/v2/services.{json,xml}             the category tree (service_code = category code)
    GET  /open311/v2/services/{code}.{json,xml}      a service's definition (no attributes)
    POST /open311/v2/requests.{json,xml}             intake `register` (channel "open311")
    GET  /open311/v2/requests.{json,xml}             intake `list_tickets` (or `get_ticket` per id)
    GET  /open311/v2/requests/{id}.{json,xml}        intake `get_ticket`

`service_request_id` is the ticket's number. Statuses: `closed` when the ticket is closed (办结), else
`open`; `agency_responsible` is the lead unit's name, `expected_datetime` the deadline (`due_at`),
`status_notes` the status and the reply's result in Chinese. The location (address, lat/long) and
the description are personal data: shown only to the roles config/open311.yaml names.

`api_key` (query or form field) is required for requests (not for services): a key of
`OPEN311_API_KEYS` (`key=role:user,...`) or a bearer token of the API; it becomes the actor of the
RPC, so the services decide every permission as for /v1. `jurisdiction_id`, when sent, must be
`OPEN311_JURISDICTION` (default config's, "anshan.gov.cn"). Errors are Open311's: an array of
{code, description} with the HTTP status (XML: <errors><error>...).
"""
from __future__ import annotations

import json
import logging
import os
import re
import uuid
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs
from xml.etree import ElementTree as ET

import falcon
from nameko.exceptions import RpcTimeout, UnknownService

from hotline_common.actors import ROLES, UNIT_ROLES
from hotline_common.config_files import read_yaml
from hotline_common.dispatch import request
from hotline_common.errors import HotlineError, ValidationFailed

from .auth import InvalidToken, TokenVerifier
from .problems import status_of

log = logging.getLogger(__name__)

PREFIX = "/open311/v2"
DEFAULT_JURISDICTION = "anshan.gov.cn"
MAX_BODY = 64 * 1024
GEO = re.compile(r"^geo:(-?\d{1,3}(?:\.\d+)?),(-?\d{1,3}(?:\.\d+)?)")
RESULT_LABELS = {"solved": "已解决", "explained": "已解释说明", "invalid": "无效诉求"}


class Open311Error(Exception):
    def __init__(self, status: int, description: str):
        super().__init__(description)
        self.status, self.description = status, description


# -- configuration ------------------------------------------------------------------------------------

class Config:
    """config/open311.yaml and config/catalog.yaml, with the environment's keys and jurisdiction."""

    def __init__(self, config_dir: Path, env: dict | None = None):
        env = os.environ if env is None else env
        data = read_yaml(config_dir, "open311.yaml")
        catalog = read_yaml(config_dir, "catalog.yaml")
        self.categories: dict[str, str] = {str(k): str(v) for k, v in (catalog.get("categories") or {}).items()}
        self.districts: dict[str, str] = {str(k): str(v) for k, v in (catalog.get("districts") or {}).items()}
        self.jurisdiction = env.get("OPEN311_JURISDICTION") or data.get("jurisdiction_id") or DEFAULT_JURISDICTION
        self.default_type = data.get("default_type", "report")
        self.types: dict[str, str] = dict(data.get("types") or {})
        self.default_district = data.get("default_district") or next(iter(self.districts), "")
        self.aliases: dict[str, str] = dict(data.get("district_aliases") or {})
        self.personal_roles = tuple(data.get("personal_data_roles") or ("operator", "admin"))
        self.notice = data.get("service_notice", "")
        self.keys = parse_keys(env.get("OPEN311_API_KEYS", ""))

    def ticket_type(self, code: str) -> str:
        return self.types.get(code) or self.types.get(code.split(".")[0]) or self.default_type

    def district_of(self, address: str) -> str:
        for code, name in self.districts.items():
            if name and name in address:
                return code
        for alias, code in self.aliases.items():
            if alias in address:
                return code
        return self.default_district


def parse_keys(text: str) -> dict[str, dict]:
    """'k1=operator:open311.city,k2=admin:ops' -> {key: actor}; a unit role as role@unit:user."""
    keys: dict[str, dict] = {}
    for pair in filter(None, (p.strip() for p in (text or "").split(","))):
        key, _, who = pair.partition("=")
        role, _, user = who.partition(":")
        role, _, unit = role.partition("@")
        if not key or role not in ROLES or (role in UNIT_ROLES and not unit):
            raise ValueError(f"OPEN311_API_KEYS: {pair!r} is not key=role:user (role@unit for a unit role)")
        keys[key.strip()] = {"user_id": user or f"open311:{key[:6]}", "role": role,
                             "unit_id": unit or None, "name": None}
    return keys


# -- representation -------------------------------------------------------------------------------------

def _text(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds").replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    return value


def to_xml(root: str, item: str, rows: list[dict]) -> bytes:
    top = ET.Element(root)
    for row in rows:
        element = ET.SubElement(top, item)
        for name, value in row.items():
            child = ET.SubElement(element, name)
            if isinstance(value, list):
                for v in value:
                    ET.SubElement(child, "value").text = str(v)
            elif value is not None:
                child.text = str(_text(value)).lower() if isinstance(value, bool) else str(_text(value))
    return b'<?xml version="1.0" encoding="utf-8"?>' + ET.tostring(top, encoding="utf-8")


def send(resp, fmt: str, root: str, item: str, rows: list[dict], status: int = 200) -> None:
    resp.status = falcon.code_to_http_status(status)
    if fmt == "xml":
        resp.content_type = "text/xml; charset=utf-8"
        resp.data = to_xml(root, item, rows)
    else:
        resp.content_type = "application/json; charset=utf-8"
        resp.data = json.dumps(rows, ensure_ascii=False, default=_text).encode()


def send_error(resp, fmt: str, status: int, description: str, headers: dict | None = None) -> None:
    send(resp, fmt, "errors", "error", [{"code": status, "description": description}], status)
    for name, value in (headers or {}).items():
        resp.set_header(name, value)


def split_name(name: str) -> tuple[str, str]:
    """'requests.json' -> ('requests', 'json'); an unknown extension is not found."""
    stem, dot, fmt = name.rpartition(".")
    if not dot or fmt not in ("json", "xml") or not stem:
        raise Open311Error(404, "not found: ask for .json or .xml")
    return stem, fmt


# -- the resources ----------------------------------------------------------------------------------------

class _Open311:
    auth_required = False   # api_key, not a bearer header: this module authenticates itself

    def __init__(self, rpc, config: Config, verifier: TokenVerifier):
        self.rpc, self.config, self.verifier = rpc, config, verifier

    def _run(self, req, resp, fmt: str, work) -> None:
        try:
            work()
        except Open311Error as exc:
            send_error(resp, fmt, exc.status, exc.description)
        except ValidationFailed as exc:
            errors = exc.extra.get("errors") or {}
            detail = "; ".join(f"{k}: {', '.join(map(str, v)) if isinstance(v, list) else v}"
                               for k, v in errors.items())
            send_error(resp, fmt, 400, f"{exc.detail}{' - ' + detail if detail else ''}")
        except HotlineError as exc:
            status, title = status_of(exc)
            send_error(resp, fmt, 400 if status == 422 else status, exc.detail or title)
        except (RpcTimeout, UnknownService, OSError) as exc:
            log.warning("open311 %s %s: %s", req.method, req.path, type(exc).__name__)
            send_error(resp, fmt, 503, "the service is unavailable; try again", {"Retry-After": "5"})
        except falcon.HTTPError as exc:
            send_error(resp, fmt, exc.status_code, exc.description or exc.title or "error")

    def params(self, req) -> dict[str, Any]:
        """Query parameters, and for a POST the form-encoded or JSON body's fields."""
        params: dict[str, Any] = dict(req.params)
        if req.method == "POST":
            if (req.content_length or 0) > MAX_BODY:
                raise Open311Error(413, "the request is too large")
            raw = req.bounded_stream.read(MAX_BODY + 1)
            if len(raw) > MAX_BODY:
                raise Open311Error(413, "the request is too large")
            media = (req.content_type or "").split(";")[0].strip().lower()
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise Open311Error(400, "the body is not UTF-8") from None
            if media == "application/json":
                try:
                    body = json.loads(text or "{}")
                except ValueError:
                    raise Open311Error(400, "the body is not JSON") from None
                if not isinstance(body, dict):
                    raise Open311Error(400, "the body must be a JSON object")
                params.update(body)
            else:  # application/x-www-form-urlencoded, as the spec says
                params.update({k: v[0] if len(v) == 1 else v
                               for k, v in parse_qs(text, keep_blank_values=True).items()})
        jurisdiction = params.get("jurisdiction_id")
        if jurisdiction not in (None, "") and jurisdiction != self.config.jurisdiction:
            raise Open311Error(404, f"jurisdiction_id {jurisdiction} not found")
        return params

    def actor(self, params: dict) -> dict:
        key = params.get("api_key")
        if not isinstance(key, str) or not key:
            raise Open311Error(403, "api_key is required")
        actor = self.config.keys.get(key)
        if actor is not None:
            return dict(actor)
        try:
            return self.verifier.actor(key)
        except InvalidToken:
            raise Open311Error(403, "invalid api_key") from None


class Services(_Open311):
    """GET services.json: every category; GET services/{code}.json: one service's definition."""

    def on_get(self, req, resp, name: str | None = None):
        name = name or req.path.rsplit("/", 1)[-1]
        fmt = "xml" if name.endswith(".xml") else "json"

        def work():
            stem, fmt_ = split_name(name)
            self.params(req)
            if stem == "services":
                send(resp, fmt_, "services", "service", [self.service(c) for c in self.config.categories])
                return
            if stem not in self.config.categories:
                raise Open311Error(404, f"service_code {stem} not found")
            send(resp, fmt_, "service_definitions", "service_definition",
                 [{"service_code": stem, "attributes": []}])
        self._run(req, resp, fmt, work)

    def service(self, code: str) -> dict:
        top = code.split(".")[0]
        return {"service_code": code, "service_name": self.config.categories[code],
                "description": self.config.categories[code], "metadata": False, "type": "realtime",
                "keywords": "", "group": self.config.categories.get(top, top)}


class Requests(_Open311):
    """POST/GET requests.json and GET requests/{id}.json."""

    def on_post(self, req, resp, name: str | None = None):
        name = name or req.path.rsplit("/", 1)[-1]
        fmt = "xml" if name.endswith(".xml") else "json"

        def work():
            stem, fmt_ = split_name(name)
            if stem != "requests":
                raise Open311Error(404, "not found")
            params = self.params(req)
            actor = self.actor(params)
            body = self.ticket_of(params)
            key = req.get_header("Idempotency-Key") or f"open311-{uuid.uuid4().hex}"
            result = self.rpc.call("intake", "register", request(body=body, idempotency_key=key[:200]), actor)
            send(resp, fmt_, "service_requests", "request",
                 [{"service_request_id": result["number"], "service_notice": self.config.notice,
                   "account_id": None}], 201)
        self._run(req, resp, fmt, work)

    def on_get(self, req, resp, name: str | None = None):
        name = name or req.path.rsplit("/", 1)[-1]
        fmt = "xml" if name.endswith(".xml") else "json"

        def work():
            stem, fmt_ = split_name(name)
            params = self.params(req)
            actor = self.actor(params)
            if stem == "requests":
                views = self.listing(params, actor)
            else:
                views = [self.rpc.call("intake", "get_ticket", request(params={"key": stem}), actor)]
            send(resp, fmt_, "service_requests", "request", [self.present(v, actor) for v in views])
        self._run(req, resp, fmt, work)

    def ticket_of(self, p: dict) -> dict:
        """The Open311 request's fields as intake's `register` body."""
        def field(name: str) -> str:
            value = p.get(name)
            return value.strip() if isinstance(value, str) else ("" if value is None else str(value))
        code = field("service_code")
        if not code:
            raise Open311Error(400, "service_code is required")
        if code not in self.config.categories:
            raise Open311Error(404, f"service_code {code} not found")
        lat, lon = field("lat"), field("long")
        address = field("address_string")
        if not (address or (lat and lon) or field("address_id")):
            raise Open311Error(400, "a location is required: lat and long, address_string or address_id")
        geo = None
        if lat or lon:
            try:
                la, lo = float(lat), float(lon)
            except ValueError:
                raise Open311Error(400, "lat and long must be WGS-84 decimal degrees") from None
            if not (-90 <= la <= 90 and -180 <= lo <= 180):
                raise Open311Error(400, "lat and long must be WGS-84 decimal degrees")
            geo = f"geo:{la},{lo}"
        description = field("description")
        media = field("media_url")
        if media:
            if not re.match(r"^https?://", media):
                raise Open311Error(400, "media_url must be an http(s) URL")
            description = f"{description}\n附件：{media}" if description else f"附件：{media}"
        phone = field("phone")
        if not phone:
            raise Open311Error(400, "phone is required (the hotline calls the citizen back)")
        name = f"{field('last_name')}{field('first_name')}"
        return {"channel": "open311", "type": self.config.ticket_type(code), "category": code,
                "district": self.config.district_of(address), "address": address or (geo or "")[:200],
                "citizen": {"name": name[:50], "phone": phone}, "content": description,
                **({"external_ref": geo[:100]} if geo else {})}

    def listing(self, p: dict, actor: dict) -> list[dict]:
        ids = p.get("service_request_id")
        if ids:
            wanted = ids if isinstance(ids, list) else str(ids).split(",")
            return [self.rpc.call("intake", "get_ticket", request(params={"key": i.strip()}), actor)
                    for i in wanted[:50] if i.strip()]
        query: dict[str, Any] = {"limit": "200"}
        if p.get("service_code"):
            query["category"] = p["service_code"]
        status = p.get("status")
        if status == "closed":
            query["status"] = "closed"
        elif status not in (None, "", "open"):
            raise Open311Error(400, "status is open or closed")
        for ours, theirs in (("created_from", "start_date"), ("created_to", "end_date")):
            if p.get(theirs):
                query[ours] = p[theirs]
        items = self.rpc.call("intake", "list_tickets", request(query=query), actor)["items"]
        if status == "open":
            items = [v for v in items if v.get("status") != "closed"]
        return items

    def present(self, v: dict, actor: dict) -> dict:
        closed = v.get("status") == "closed"
        reply = v.get("reply") or {}
        notes = v.get("status_label") or v.get("status")
        if reply:
            notes = f"{notes}：{reply.get('public_summary') or RESULT_LABELS.get(reply.get('result'), reply.get('result'))}"
        timeline = v.get("timeline") or []
        updated = max((e.get("at") for e in timeline if e.get("at")), default=None, key=str) or v.get("created_at")
        lead = v.get("lead_unit") or {}
        deadline = v.get("deadline") or {}
        out: dict[str, Any] = {
            "service_request_id": v["number"], "status": "closed" if closed else "open", "status_notes": notes,
            "service_name": self.config.categories.get(v.get("category"), v.get("category")),
            "service_code": v.get("category"), "description": None,
            "agency_responsible": lead.get("name"), "service_notice": self.config.notice,
            "requested_datetime": _text(v.get("created_at")), "updated_datetime": _text(updated),
            "expected_datetime": _text(deadline.get("due_at")), "address": None, "address_id": None,
            "zipcode": None, "lat": None, "long": None, "media_url": None,
        }
        if actor.get("role") in self.config.personal_roles:
            content = v.get("content") or ""
            media = re.search(r"附件：(https?://\S+)", content)
            geo = GEO.match(v.get("external_ref") or "")
            out.update(description=content, address=v.get("address") or None,
                       media_url=media.group(1) if media else None,
                       lat=float(geo.group(1)) if geo else None, long=float(geo.group(2)) if geo else None)
        return out


def mount(app: falcon.App, settings, rpc, verifier: TokenVerifier, env: dict | None = None) -> None:
    config = Config(Path(settings.config_dir), env)
    services, requests_ = Services(rpc, config, verifier), Requests(rpc, config, verifier)
    for fmt in ("json", "xml"):
        app.add_route(f"{PREFIX}/services.{fmt}", services)
        app.add_route(f"{PREFIX}/requests.{fmt}", requests_)
    app.add_route(PREFIX + "/services/{name}", services)
    app.add_route(PREFIX + "/requests/{name}", requests_)
