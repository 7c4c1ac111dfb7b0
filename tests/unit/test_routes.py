"""The gateway's route table against the services' handler tables: every route names a command its
service has, every command has a route (or is listed as internal with its reason), and what a route
passes reaches the command (path parameters, If-Match, the idempotency key)."""
from __future__ import annotations

import dataclasses
import importlib
from pathlib import Path

import pytest

from gateway.routes import INTERNAL, ROUTES

# every service with a handler table, found on disk: a new service's commands need routes too
SERVICES = sorted(p.parent.name for p in (Path(__file__).resolve().parents[2] / "services").glob("*/handlers.py"))


def handler_table(service: str):
    """The service's HANDLERS, or a skip while the service is not converted to the one-table shape."""
    try:
        module = importlib.import_module(f"services.{service}.handlers")
    except ImportError as exc:
        pytest.skip(f"services/{service}/handlers.py does not import yet (being converted?): {exc}")
    table = getattr(module, "HANDLERS", None)
    if table is None:
        pytest.skip(f"services/{service}/handlers.py has no HANDLERS table yet (not converted to issue 8's shape)")
    return table


def routes_of(service: str):
    return [r for r in ROUTES if r.service == service]


def fields(command_cls) -> set[str]:
    return {f.name for f in dataclasses.fields(command_cls)} if dataclasses.is_dataclass(command_cls) else set()


def test_every_route_names_a_known_service():
    assert {r.service for r in ROUTES} <= set(SERVICES)
    assert all(service in SERVICES for service, _ in INTERNAL)


@pytest.mark.parametrize("service", SERVICES)
def test_every_route_names_a_command_of_its_service(service):
    commands = handler_table(service).commands
    missing = sorted(f"{r.method} {r.path} -> {r.command}" for r in routes_of(service) if r.command not in commands)
    assert not missing, f"{service} has no such command: {missing}"


@pytest.mark.parametrize("service", SERVICES)
def test_every_command_has_a_route_or_is_internal_for_a_reason(service):
    commands = set(handler_table(service).commands)
    routed = {r.command for r in routes_of(service)}
    internal = {command for (svc, command) in INTERNAL if svc == service}
    assert commands - routed - internal == set(), "commands nobody can call: add a route or list them in INTERNAL"
    assert internal <= commands, "INTERNAL names commands the service does not have"
    assert all(INTERNAL[(service, c)].strip() for c in internal)


@pytest.mark.parametrize("service", SERVICES)
def test_what_a_route_passes_reaches_its_command(service):
    commands = handler_table(service).commands
    problems = []
    for route in routes_of(service):
        if route.command not in commands:
            continue  # reported by the test above
        names = fields(commands[route.command][0])
        problems += [f"{route.command} has no field {p!r} for {route.path}" for p in route.params if p not in names]
        if route.if_match and "expected_version" not in names:
            problems.append(f"{route.command} ignores If-Match (no expected_version)")
    assert not problems


@pytest.mark.parametrize("route", [r for r in ROUTES if r.creates], ids=lambda r: f"{r.method} {r.path}")
def test_a_creating_command_is_deduplicated_by_its_idempotency_key(route):
    """A redelivered RPC (a service killed after it committed) must find what it made (issue 9)."""
    command_cls = handler_table(route.service).commands[route.command][0]
    assert "idempotency_key" in fields(command_cls), \
        f"{route.service}.{route.command} drops the Idempotency-Key the gateway sends"
