"""The gateway's app factory (Falcon `look` style): `create_app(settings, rpc)`; gunicorn calls
`get_app()`. Resources get their collaborators injected; errors become problem+json in one place."""
from __future__ import annotations

import json
import os
from datetime import date, datetime
from functools import partial

import falcon
import falcon.media

from hotline_common import logs, tracing
from hotline_common.metrics import HttpMetrics
from hotline_common.settings import Settings

from . import problems
from .auth import TokenVerifier, local_secret
from .body import BodyLimits
from .console import mount as mount_console
from .middleware import Authentication, BodySize, Correlation, Tracing
from .open311 import mount as mount_open311
from .progress import mount as mount_progress
from .ratelimit import AddressLimit, Buckets, Policy, TokenLimit
from .resources.health import Health, Metrics, Ready
from .resources.route import RouteResource
from .routes import ROUTES, by_path
from .rpc import RpcClients


def _default(value):
    if isinstance(value, datetime):
        return value.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


JSON = falcon.media.JSONHandler(dumps=partial(json.dumps, default=_default, ensure_ascii=False),
                                loads=json.loads)


def create_app(settings: Settings, rpc, verifier: TokenVerifier | None = None) -> falcon.App:
    verifier = verifier or TokenVerifier(jwt_secret(settings), settings.jwt_issuer)
    limits = BodyLimits(settings.gateway_max_body_bytes, settings.gateway_max_json_depth,
                        settings.gateway_body_timeout_seconds)
    app = falcon.App(middleware=[
        HttpMetrics(),  # first: a request refused by a later middleware is counted too
        Correlation(),
        Tracing(),      # the request's span (when tracing is on), traced through every RPC and event
        BodySize(limits.max_bytes),
        AddressLimit(buckets(Policy.parse("address", settings.gateway_rate_limit_address))),
        Authentication(verifier),
        TokenLimit(buckets(Policy.parse("token", settings.gateway_rate_limit_token))),
    ])
    app.req_options.media_handlers.update({falcon.MEDIA_JSON: JSON})
    app.resp_options.media_handlers.update({falcon.MEDIA_JSON: JSON})
    app.req_options.strip_url_path_trailing_slash = True
    problems.install(app)

    app.add_route("/healthz", Health())
    app.add_route("/readyz", Ready(rpc))
    app.add_route("/metrics", Metrics(os.environ.get("PROMETHEUS_MULTIPROC_DIR")))
    for path, routes in by_path(ROUTES).items():  # the one way a route is wired (gateway/routes.py)
        app.add_route(path, RouteResource(rpc, routes, limits))
    mount_console(app, settings)  # /console: the web console (static); /console/dev-token outside production
    mount_progress(app, rpc)  # /v1/progress: the citizen's lookup (public, its own limit on misses, audited)
    mount_open311(app, settings, rpc, verifier)  # /open311/v2: GeoReport v2 over the same RPCs (issue 15)
    return app


def buckets(policy: Policy | None) -> Buckets | None:
    return Buckets(policy) if policy else None


def jwt_secret(settings: Settings) -> str:
    if settings.jwt_secret:
        return settings.jwt_secret
    if settings.production:
        raise RuntimeError("JWT_SECRET is required in production")
    return local_secret(settings.data_dir)


def get_app() -> falcon.App:
    settings = Settings.from_env()
    logs.configure("gateway", settings.log_level, settings.log_json)
    tracing.setup("gateway", settings)  # OTLP export when OTEL_EXPORTER_OTLP_ENDPOINT is set
    return create_app(settings, RpcClients(settings.amqp_uri, settings.rpc_timeout_seconds))
