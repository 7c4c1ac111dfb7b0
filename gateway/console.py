"""The web console (issue 14): the static single-page app in console/, served under /console, and the
development sign-in endpoint that mints a bearer token for a demo user.

The console is plain files (ES modules, one CSS file, no build step, nothing fetched from the
internet); it talks to the same /v1 API as every other client, with a bearer token, and the API
decides every permission. Two things live here:

- `ConsoleFiles`: GET /console (the app's index.html) and GET /console/<file>; no token needed (the
  files hold no data). Cache-Control no-cache with an ETag, so a new release is seen on the next load.
- `Catalog`: GET /console/catalog.json, the reference data of config/catalog.yaml (categories,
  districts, channels) for the forms' choices and the pages' labels, read from the one file the
  services read (no copy in the console).
- `DevToken`: POST /console/dev-token {role, unit_id, user_id[, name]} mints a token with the
  gateway's own secret, for the sign-in page's demo users. It does not exist in production
  (HOTLINE_ENV=production answers 404), where tokens come from the city's identity provider.

`mount(app, settings)` adds both to the gateway's app (gateway/app.py: create_app).
"""
from __future__ import annotations

import hashlib
import json
import mimetypes
from pathlib import Path

import falcon

from hotline_common.actors import ROLES, UNIT_ROLES
from hotline_common.config_files import parse_yaml
from hotline_common.errors import ValidationFailed
from hotline_common.settings import REPO_ROOT, Settings

from .auth import mint

CONSOLE_DIR = REPO_ROOT / "console"
PREFIX = "/console"
DEV_TOKEN_TTL_SECONDS = 12 * 3600

TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
         ".mjs": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
         ".svg": "image/svg+xml", ".png": "image/png", ".ico": "image/x-icon", ".json": "application/json",
         ".webmanifest": "application/manifest+json", ".txt": "text/plain; charset=utf-8"}

# The app loads only its own files and talks only to this origin. Inline styles are allowed for the
# bulletin's HTML shown in a sandboxed frame (it brings its own <style>); scripts never inline.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
       "connect-src 'self'; frame-src 'self' blob: data:; object-src 'none'; base-uri 'self'; "
       "form-action 'self'; frame-ancestors 'none'")
SECURITY_HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff",
                    "Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY"}


class ConsoleFiles:
    """GET /console and /console/{path}: the files of console/, index.html for the app's root."""
    auth_required = False

    def __init__(self, root: Path = CONSOLE_DIR):
        self.root = Path(root).resolve()

    def on_get(self, req, resp, path: str | None = None):
        file = self._file(path or "index.html")
        data = file.read_bytes()
        if file.name == "index.html":
            # the app finds its files and the API relative to <base>: right behind a path prefix too
            data = data.replace(b'<base href="/console/">', f'<base href="{req.root_path}{PREFIX}/">'.encode())
        etag = '"' + hashlib.sha256(data).hexdigest()[:32] + '"'
        resp.set_headers(SECURITY_HEADERS)
        resp.set_header("Cache-Control", "no-cache")
        resp.etag = etag
        if req.get_header("If-None-Match") == etag:
            resp.status = falcon.HTTP_304
            return
        resp.content_type = TYPES.get(file.suffix) or mimetypes.guess_type(file.name)[0] or "application/octet-stream"
        resp.data = data

    on_head = on_get

    def _file(self, path: str) -> Path:
        if "\x00" in path or "\\" in path:
            raise falcon.HTTPNotFound()
        file = (self.root / path).resolve()
        if not file.is_relative_to(self.root) or not file.is_file() or any(p.startswith(".") for p in Path(path).parts):
            raise falcon.HTTPNotFound()
        return file


class Catalog:
    """GET /console/catalog.json: config/catalog.yaml as JSON (public reference data, no token)."""
    auth_required = False
    KEYS = ("categories", "districts", "channels")

    def __init__(self, path: Path):
        self.path = path
        self._cache: tuple[float, bytes] | None = None

    def on_get(self, req, resp):
        mtime = self.path.stat().st_mtime
        if self._cache is None or self._cache[0] != mtime:
            data = parse_yaml(self.path.read_text(encoding="utf-8")) or {}
            body = {k: {str(code): str(name) for code, name in (data.get(k) or {}).items()} for k in self.KEYS}
            self._cache = (mtime, json.dumps(body, ensure_ascii=False).encode())
        resp.set_header("Cache-Control", "no-cache")
        resp.content_type = "application/json"
        resp.data = self._cache[1]


class DevToken:
    """POST /console/dev-token: a token for a demo user (development and tests only)."""
    auth_required = False

    def __init__(self, settings: Settings, secret: str | None = None):
        self.settings, self._secret = settings, secret

    @property
    def secret(self) -> str:
        if self._secret is None:
            from .app import jwt_secret  # the gateway's own secret (the verifier checks with it)
            self._secret = jwt_secret(self.settings)
        return self._secret

    def on_post(self, req, resp):
        if self.settings.production:  # never mounted there; a second guard
            raise falcon.HTTPNotFound()
        body = req.get_media(default_when_empty={})
        if not isinstance(body, dict):
            raise ValidationFailed("the body must be a JSON object", errors={"_": ["a JSON object"]})
        errors: dict[str, list[str]] = {}
        unknown = sorted(set(body) - {"role", "unit_id", "user_id", "name"})
        for key in unknown:
            errors[key] = ["Unknown field."]
        role, unit_id, user_id, name = (body.get(k) for k in ("role", "unit_id", "user_id", "name"))
        if role not in ROLES:
            errors["role"] = [f"one of {', '.join(ROLES)}"]
        if role in UNIT_ROLES and not (isinstance(unit_id, str) and unit_id):
            errors["unit_id"] = [f"role {role} needs a unit"]
        elif unit_id is not None and not isinstance(unit_id, str):
            errors["unit_id"] = ["a unit id or null"]
        if not (isinstance(user_id, str) and 0 < len(user_id) <= 120):
            errors["user_id"] = ["a user id (1 to 120 characters)"]
        if name is not None and not (isinstance(name, str) and len(name) <= 50):
            errors["name"] = ["a name of at most 50 characters"]
        if errors:
            raise ValidationFailed("the sign-in request has invalid fields", errors=errors)
        unit = unit_id if role in UNIT_ROLES else None
        token = mint(self.secret, self.settings.jwt_issuer, role=role, user_id=user_id, unit_id=unit, name=name,
                     ttl_seconds=DEV_TOKEN_TTL_SECONDS)
        resp.set_header("Cache-Control", "no-store")
        resp.media = {"access_token": token, "token_type": "Bearer", "expires_in": DEV_TOKEN_TTL_SECONDS,
                      "role": role, "unit_id": unit, "user_id": user_id, "name": name}


class NoDevToken:
    """/console/dev-token in production: 404 to every method, as if it were not there."""
    auth_required = False

    def on_get(self, req, resp):
        raise falcon.HTTPNotFound()

    on_post = on_head = on_put = on_delete = on_patch = on_options = on_get


def mount(app: falcon.App, settings: Settings, secret: str | None = None, root: Path = CONSOLE_DIR) -> None:
    """Serve the console under /console; the development sign-in outside production only. `secret`:
    the HS256 key the gateway verifies with (default: gateway.app.jwt_secret(settings))."""
    files = ConsoleFiles(root)
    app.add_route(PREFIX, files)
    app.add_route(PREFIX + "/{path:path}", files)
    app.add_route(PREFIX + "/catalog.json", Catalog(Path(settings.config_dir) / "catalog.yaml"))
    app.add_route(PREFIX + "/dev-token", NoDevToken() if settings.production else DevToken(settings, secret))
