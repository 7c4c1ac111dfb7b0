"""Helpers resources share."""
from __future__ import annotations


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
    from urllib.parse import urlencode
    return f'<{req.path}?{urlencode(params, doseq=True)}>; rel="next"'
