"""Events checked at the door: every consumed event is validated against its JSON Schema (generated
from its class, see contracts.py) before any handler sees it. An invalid one is poison."""
from __future__ import annotations

import functools
import json

from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from .contracts import EVENTS_DIR
from .errors import PoisonMessage
from .messages import event_class, event_schema


@functools.lru_cache(maxsize=1)
def _registry() -> Registry:
    envelope = json.loads((EVENTS_DIR / "envelope.schema.json").read_text(encoding="utf-8"))
    return Registry().with_resource("envelope.schema.json", Resource.from_contents(envelope))


@functools.cache
def validator(full_type: str) -> Draft202012Validator | None:
    cls = event_class(full_type)
    if cls is None:
        return None
    return Draft202012Validator(event_schema(cls), registry=_registry())


def check(envelope: dict) -> None:
    """Raise PoisonMessage unless `envelope` is a well-formed event of a known type."""
    v = validator(envelope.get("type", "") if isinstance(envelope, dict) else "")
    if v is None:
        raise PoisonMessage(f"unknown event type {envelope.get('type')!r}" if isinstance(envelope, dict)
                            else "event body is not a JSON object")
    errors = sorted(v.iter_errors(envelope), key=lambda e: list(e.absolute_path))
    if errors:
        where = "; ".join(f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}" for e in errors[:5])
        raise PoisonMessage(f"{envelope['type']} does not match its schema: {where}"[:1000])
