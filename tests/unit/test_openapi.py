"""openapi.yaml is the contract: valid OpenAPI 3.1, and exactly the routes and methods the app serves."""
import re
from pathlib import Path

import falcon.inspect
import yaml
from openapi_spec_validator import validate

from gateway.app import create_app
from gateway.auth import TokenVerifier
from hotline_common.events import ALL_TYPES, short_type
from hotline_common.settings import Settings

REPO = Path(__file__).resolve().parents[2]
SPEC = yaml.safe_load((REPO / "openapi.yaml").read_text())


def app_routes() -> set[tuple[str, str]]:
    app = create_app(Settings.from_env({}), rpc=None, verifier=TokenVerifier("x" * 40, "test"))
    routes = set()
    for route in falcon.inspect.inspect_routes(app):
        if route.path.startswith("/console"):
            continue  # the web console's static files and dev sign-in: not part of the API contract
        if route.path.startswith("/open311"):
            continue  # Open311 GeoReport v2 (gateway/open311.py): the spec's contract, not /v1's
        path = re.sub(r"\{(\w+):[^}]*\}", r"{\1}", route.path)
        routes |= {(path, m.method) for m in route.methods if not m.internal}
    return routes


def spec_routes() -> set[tuple[str, str]]:
    return {(path, method.upper()) for path, item in SPEC["paths"].items()
            for method in item if method in ("get", "post", "put", "delete", "patch")}


def test_the_spec_is_valid_openapi_3_1():
    validate(SPEC)
    assert SPEC["openapi"].startswith("3.1")


def test_the_spec_and_the_app_serve_the_same_routes():
    assert app_routes() == spec_routes()


def test_every_operation_documents_problem_responses():
    for path, item in SPEC["paths"].items():
        for method, operation in item.items():
            if method in ("get", "post", "put", "delete") and not path.endswith(("healthz", "readyz", "metrics")):
                assert {"401", "403", "422"} <= set(operation["responses"]), (path, method)


def test_asyncapi_lists_every_event_type_with_its_schema():
    doc = yaml.safe_load((REPO / "docs/asyncapi.yaml").read_text())
    assert doc["asyncapi"].startswith("3.")
    messages = doc["components"]["messages"]
    assert {m["name"] for m in messages.values()} == set(ALL_TYPES)
    for message in messages.values():
        assert (REPO / "docs" / message["payload"]["$ref"]).exists()
        assert short_type(message["name"]) in message["payload"]["$ref"]


def operation(route) -> dict:
    return SPEC["paths"][route.template][route.method.lower()]


def test_the_route_table_and_the_spec_agree_on_bodies_statuses_and_headers():
    from gateway.routes import OPTIONAL, REQUIRED, ROUTES
    for route in ROUTES:
        op = operation(route)
        where = f"{route.method} {route.template}"
        body = op.get("requestBody")
        if route.body == REQUIRED:
            assert body and body.get("required") is True, where
        elif route.body == OPTIONAL:
            assert body and not body.get("required", False), where
        else:
            assert body is None, where
        assert str(route.status) in op["responses"], where
        params = {p.get("$ref", "").rsplit("/", 1)[-1] for p in op.get("parameters", [])}
        assert ("IfMatch" in params) == route.if_match, where
        assert ("IdempotencyKey" in params) == route.creates, where
        if route.creates:
            assert "Idempotency-Key" in op["responses"][str(route.status)]["headers"], where


def test_every_api_operation_documents_the_limits_and_unavailability():
    for path, item in SPEC["paths"].items():
        for method, op in item.items():
            if method in ("get", "post", "put", "delete") and path.startswith("/v1/"):
                assert {"413", "429", "503"} <= set(op["responses"]), (path, method)
                assert "504" not in op["responses"], (path, method)  # a late service is 503 now


def test_the_servers_url_names_no_port():
    assert [s["url"] for s in SPEC["servers"]] == ["/"]
