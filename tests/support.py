"""Test helpers: an event tap on `hotline.events`, event schema validation, broker peeking."""
from __future__ import annotations

import json
import threading
from pathlib import Path

import eventlet
from jsonschema import Draft202012Validator, FormatChecker
from kombu import Connection, Exchange, Queue
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from hotline_common import serialization  # noqa: F401  the cloudevents content type
from hotline_common.events import HOTLINE_EXCHANGE, short_type

SCHEMA_DIR = Path(__file__).resolve().parents[1] / "docs" / "events"


def _registry() -> Registry:
    resources = []
    for path in SCHEMA_DIR.glob("*.schema.json"):
        schema = json.loads(path.read_text())
        resources.append((path.name, Resource.from_contents(schema)))
    return Registry().with_resources(resources)


REGISTRY = _registry()


def event_schema(event_type: str) -> dict:
    path = SCHEMA_DIR / f"{short_type(event_type)}.schema.json"
    assert path.exists(), f"no JSON Schema for {event_type} (expected {path.name})"
    return json.loads(path.read_text())


def validate_event(event: dict) -> None:
    """Fail if `event` does not match its type's JSON Schema (which includes the envelope)."""
    validator = Draft202012Validator(event_schema(event["type"]), registry=REGISTRY,
                                     format_checker=FormatChecker())
    errors = sorted(validator.iter_errors(event), key=lambda e: list(e.path))
    assert not errors, f"{event['type']} does not match its schema: " + "; ".join(
        f"{'/'.join(map(str, e.path))}: {e.message}" for e in errors)


class EventTap:
    """What an external subscriber sees (D5): a queue bound to hotline.events with '#'."""

    def __init__(self, amqp_uri: str, pattern: str = "#"):
        self.amqp_uri = amqp_uri
        self.pattern = pattern
        self.events: list[dict] = []
        self.content_types: set[str] = set()
        self._stop = threading.Event()
        self._ready = threading.Event()

    def start(self) -> EventTap:
        self._thread = eventlet.spawn(self._run)
        assert self._ready.wait(10), "event tap did not start"
        return self

    def _run(self):
        exchange = Exchange(HOTLINE_EXCHANGE, type="topic", durable=True)
        queue = Queue("", exchange=exchange, routing_key=self.pattern, exclusive=True, auto_delete=True)
        with Connection(self.amqp_uri) as conn:
            def on_message(body, message):
                self.content_types.add(message.content_type)
                self.events.append(json.loads(message.body) if isinstance(body, (bytes, str)) else body)
                message.ack()

            with conn.Consumer(queue, callbacks=[on_message], accept=["json", "cloudevents"]):
                self._ready.set()
                while not self._stop.is_set():
                    try:
                        conn.drain_events(timeout=0.2)
                    except TimeoutError:
                        pass
                    except Exception:  # socket.timeout on older stacks
                        pass

    def stop(self):
        self._stop.set()
        self._thread.wait()

    def of_type(self, event_type: str, subject: str | None = None) -> list[dict]:
        return [e for e in self.events if e["type"] == event_type and (subject is None or e["subject"] == subject)]


def drain_queue(amqp_uri: str, queue_name: str) -> list[tuple]:
    """Take every message from a queue: (body, headers) pairs; a body that is not JSON stays bytes."""
    out = []
    with Connection(amqp_uri) as conn:
        queue = Queue(queue_name, no_declare=True)(conn.channel())
        while True:
            message = queue.get(no_ack=True)
            if message is None:
                break
            raw = message.body
            try:
                body = json.loads(raw)
            except (ValueError, TypeError):
                body = raw
            out.append((body, message.headers))
    return out


OPENAPI = None


def check_against_openapi(instance, schema_name: str) -> None:
    """Fail if a live response body does not match a schema of openapi.yaml (the HTTP contract)."""
    global OPENAPI
    import yaml
    if OPENAPI is None:
        OPENAPI = yaml.safe_load((SCHEMA_DIR.parents[1] / "openapi.yaml").read_text())
    registry = Registry().with_resource("openapi.yaml", Resource.from_contents(OPENAPI, default_specification=DRAFT202012))
    schema = {"$ref": f"openapi.yaml#/components/schemas/{schema_name}"}
    errors = list(Draft202012Validator(schema, registry=registry, format_checker=FormatChecker()).iter_errors(instance))
    assert not errors, f"response does not match {schema_name}: " + "; ".join(e.message for e in errors[:5])


# -- driving a running stack over HTTP (tests/stack.py: `running_stack`) --------------------------------

ENV_BUREAU = "city.environment"   # 市环保局: where noise tickets go


def view(stack, number: str) -> dict:
    """The hotline office's view of a ticket."""
    return stack.get(f"/v1/tickets/{number}").json()


def until(stack, number: str, predicate, timeout: float = 10, message: str = "condition") -> dict:
    """Poll the ticket's view until `predicate(view)`; return that view."""
    from tests.conftest import wait_for

    def check():
        current = view(stack, number)
        return current if predicate(current) else None
    return wait_for(check, timeout, interval=0.2, message=message)


def act(stack, number: str, path: str, body=None, role="unit_handler", unit=ENV_BUREAU, user=None, headers=None):
    """POST /v1/tickets/{number}/{path} as a unit (the environment bureau's handler unless told)."""
    return stack.post(f"/v1/tickets/{number}/{path}", body if body is not None else {}, role=role, unit=unit,
                      user=user, headers=headers)


def leader(unit: str) -> dict:
    """The keyword arguments of `act`/`stack.post` that sign as the unit's leader."""
    return {"role": "unit_leader", "unit": unit, "user": f"{unit}.leader"}


def advance(stack, working_days: int) -> None:
    """Move the shared controllable clock on by whole working days (admin)."""
    response = stack.post("/v1/clock/advance", {"working_days": working_days}, role="admin")
    assert response.status_code == 200, response.text


def restart(stack, process: str) -> None:
    """kill -9 one process of the stack (a service, or one replica: `routing.2`); wait until the
    launcher has restarted it and it is ready again."""
    import os
    import signal

    import requests

    from tests.conftest import wait_for
    pid = stack.current_pids()[process]
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: stack.current_pids()[process] != pid, 20, message=f"{process} restarted")
    health = stack.state()["health"][process]

    def ready():
        try:
            return requests.get(health + "/readyz", timeout=2).status_code == 200
        except requests.RequestException:
            return False
    wait_for(ready, 60, interval=0.5, message=f"{process} ready")
