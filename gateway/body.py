"""Reading a request's JSON body with its guards: size (413), read time (408), media type (415),
syntax and nesting depth (400), object-only and no operator-like keys (400).

The depth is checked without recursion, and the parser's own RecursionError (a body nested deeper
than the interpreter's stack) is a 400 too: a hostile body can never become a 500.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

import falcon


@dataclass(frozen=True)
class BodyLimits:
    max_bytes: int = 1024 * 1024
    max_depth: int = 32
    read_timeout: float = 10.0


def too_large(limit: int) -> falcon.HTTPError:
    return falcon.HTTPContentTooLarge(title="Body too large",
                                      description=f"send at most {limit} bytes")


def _read(req, limits: BodyLimits) -> bytes:
    """At most max_bytes of the body (Content-Length was checked before), within read_timeout
    seconds when the server gives us its socket (gunicorn does)."""
    sock = req.env.get("gunicorn.socket")
    previous = sock.gettimeout() if sock is not None else None
    if sock is not None:
        sock.settimeout(limits.read_timeout)
    try:
        raw = req.bounded_stream.read(limits.max_bytes + 1)
    except TimeoutError:
        raise falcon.HTTPError(falcon.HTTP_408, title="Request timeout",
                               description=f"the body did not arrive within {limits.read_timeout:g} s",
                               headers={"Connection": "close"}) from None
    finally:
        if sock is not None:
            try:
                sock.settimeout(previous)
            except OSError:  # the client went away
                pass
    if len(raw) > limits.max_bytes:
        raise too_large(limits.max_bytes)
    return raw


def depth(value) -> int:
    """How deep objects and arrays nest (a scalar is 0), without recursion."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in children)
    return deepest


def bad_keys(value) -> list[str]:
    """Keys that could smuggle MongoDB operators or paths into a query: `$...` or containing `.`."""
    bad = []
    stack = [(value, "")]
    while stack:
        item, path = stack.pop()
        if isinstance(item, dict):
            for key, child in item.items():
                here = f"{path}.{key}" if path else str(key)
                if key.startswith("$") or "." in key:
                    bad.append(here)
                stack.append((child, here))
        elif isinstance(item, list):
            stack.extend((child, f"{path}[{i}]") for i, child in enumerate(item))
    return sorted(bad)


def _no_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def read_json(req, required: bool, limits: BodyLimits) -> dict | None:
    """The request's JSON object; None when there is none and none is required."""
    if not req.content_length:
        if required:
            raise falcon.HTTPBadRequest(title="Body required", description="send a JSON object")
        return None
    if not (req.content_type or "").lower().startswith("application/json"):
        raise falcon.HTTPUnsupportedMediaType(description="send Content-Type: application/json")
    raw = _read(req, limits)
    try:
        body = json.loads(raw, parse_constant=_no_constant)
    except RecursionError:
        body = None
        too_deep = True
    except (ValueError, UnicodeDecodeError) as exc:
        raise falcon.HTTPBadRequest(title="Malformed JSON", description=str(exc)) from None
    else:
        too_deep = depth(body) > limits.max_depth
    if too_deep:
        raise falcon.HTTPBadRequest(title="JSON nested too deep",
                                    description=f"objects and arrays may nest at most {limits.max_depth} levels")
    if not isinstance(body, dict):
        raise falcon.HTTPBadRequest(title="Body must be a JSON object")
    bad = bad_keys(body)
    if bad:
        raise falcon.HTTPBadRequest(title="Forbidden keys",
                                    description="keys may not start with '$' or contain '.': " + ", ".join(bad))
    return body
