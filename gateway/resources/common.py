"""Helpers resources share."""
from __future__ import annotations

from urllib.parse import urlencode

import falcon


def etag_of(view: dict) -> str | None:
    version = view.get("version")
    return f'"{version}"' if version is not None else None


def query_params(req) -> dict:
    """Query parameters as given; the service validates them and names any bad one."""
    return {k: v for k, v in req.params.items()}


def next_link(req, cursor: str | None) -> str | None:
    if not cursor:
        return None
    params = {k: v for k, v in req.params.items() if k != "cursor"}
    params["cursor"] = cursor
    return f'<{req.path}?{urlencode(params, doseq=True)}>; rel="next"'


def if_match(req) -> int | None:
    """The version an `If-Match: "<n>"` header expects, or None without one."""
    value = req.get_header("If-Match")
    if not value or value.strip() == "*":
        return None
    tag = value.split(",")[0].strip()
    tag = tag[2:] if tag.startswith("W/") else tag
    try:
        return int(tag.strip('"'))
    except ValueError:
        raise falcon.HTTPBadRequest(title="Bad If-Match", description='send the ETag you got, e.g. "3"')
