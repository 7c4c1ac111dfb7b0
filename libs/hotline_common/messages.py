"""Typed messages: events and commands as frozen dataclasses (DESIGN §3).

An event class is the contract of one event type: its fields are the CloudEvent's `data`, its JSON
Schema (`docs/events/<type>.schema.json`) is generated from it (`python -m hotline_common.contracts`),
and a consumer gets an instance of it, built from a payload that has passed that schema.

Field types the schema generator understands: str, int, bool, float, `X | None`, `list[X]`,
`tuple[X, ...]`, `dict[str, Any]` (a free JSON object), `Literal[...]` (an enum), the aliases
`Instant` (ISO-8601 UTC, "...Z") and `Day` (ISO date), and nested dataclasses. Constraints and
descriptions go in `field(metadata=meta(minimum=1, description="..."))`.
"""
from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any, ClassVar, Literal, NewType, TypeVar, get_args, get_origin, get_type_hints

PREFIX = "cn.gov.12345."

Instant = NewType("Instant", str)   # "2026-11-27T08:00:00.000Z"
Day = NewType("Day", str)           # "2026-11-27"
TicketType = Literal["consult", "suggest", "help", "complain", "report"]
Role = Literal["operator", "unit_handler", "unit_leader", "supervisor", "admin", "subscriber", "system"]


def meta(**schema: Any) -> dict[str, Any]:
    """JSON Schema keywords for a field (minimum, pattern, description, ...)."""
    return {"schema": schema}


def constrained(default: Any = dataclasses.MISSING, **schema: Any) -> Any:
    if default is dataclasses.MISSING:
        return field(metadata=meta(**schema))
    return field(default=default, metadata=meta(**schema))


@dataclass(frozen=True, kw_only=True)
class ActorRef:
    """Who did it, as events carry it (never a name or phone)."""
    user_id: str
    role: Role
    unit_id: str | None = None


E = TypeVar("E", bound="Event")


@dataclass(frozen=True, kw_only=True)
class Event:
    """Base of every event. Subclasses set TYPE (the short type, e.g. "ticket.registered"),
    SOURCE (the emitting service) and have a docstring (the schema's title)."""
    TYPE: ClassVar[str] = ""
    SOURCE: ClassVar[str] = ""

    @classmethod
    def full_type(cls) -> str:
        return PREFIX + cls.TYPE

    @property
    def subject(self) -> str:
        """The CloudEvents subject: the ticket number (or, for a record about no ticket, its unit)."""
        return str(getattr(self, "number", None) or getattr(self, "unit_id", None) or "")

    def to_data(self) -> dict[str, Any]:
        data: dict[str, Any] = to_jsonable(self)
        return data

    @classmethod
    def from_data(cls: type[E], data: dict[str, Any]) -> E:
        event: E = from_jsonable(cls, data)
        return event


@dataclass(frozen=True, kw_only=True)
class Command:
    """Base of every command: what a caller asks a service to do (or to answer)."""
    NAME: ClassVar[str] = ""


# -- registry ------------------------------------------------------------------------------------

EVENT_CLASSES: dict[str, type[Event]] = {}


def register(cls: type[E]) -> type[E]:
    """Class decorator: make an event class known by its full type."""
    if not cls.TYPE or not cls.SOURCE:
        raise TypeError(f"{cls.__name__} needs TYPE and SOURCE")
    full = cls.full_type()
    if full in EVENT_CLASSES and EVENT_CLASSES[full] is not cls:
        raise TypeError(f"two classes for {full}")
    EVENT_CLASSES[full] = cls
    return cls


def event_class(full_type: str) -> type[Event] | None:
    load_all()
    return EVENT_CLASSES.get(full_type)


def load_all() -> dict[str, type[Event]]:
    """Import every service's events module (they register their classes on import)."""
    if not _loaded:
        import importlib
        for service in ("intake", "routing", "sla", "escalation", "bulletin", "notify"):
            try:
                importlib.import_module(f"services.{service}.events")
            except ModuleNotFoundError as exc:
                if exc.name not in (f"services.{service}.events", f"services.{service}"):
                    raise
        _loaded.append(True)
    return EVENT_CLASSES


_loaded: list[bool] = []


# -- to and from JSON ----------------------------------------------------------------------------

def to_jsonable(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: to_jsonable(v) for k, v in value.items()}
    return value


def from_jsonable(tp: Any, value: Any) -> Any:
    """Build `tp` from JSON data that matches its schema (checked before, at the door)."""
    if is_dataclass(tp) and isinstance(tp, type):
        hints = _hints(tp)
        kwargs = {}
        for f in fields(tp):
            if f.name in value:
                kwargs[f.name] = from_jsonable(hints[f.name], value[f.name])
        return tp(**kwargs)
    origin = get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None:
            return None
        inner = [a for a in get_args(tp) if a is not type(None)]
        return from_jsonable(inner[0], value) if len(inner) == 1 else value
    if origin in (list, tuple):
        (item, *_rest) = get_args(tp) or (Any,)
        items = [from_jsonable(item, v) for v in value]
        return tuple(items) if origin is tuple else items
    return value


_HINTS: dict[Any, dict[str, Any]] = {}


def _hints(cls: Any) -> dict[str, Any]:
    if cls not in _HINTS:
        _HINTS[cls] = get_type_hints(cls)
    return _HINTS[cls]


# -- JSON Schema -----------------------------------------------------------------------------------

def json_schema(tp: Any, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The JSON Schema (2020-12) of a field type."""
    schema = _schema(tp)
    if extra:
        schema = {**schema, **extra}
    return schema


def _schema(tp: Any) -> dict[str, Any]:
    if tp is Instant:
        return {"type": "string", "format": "date-time", "pattern": "Z$"}
    if tp is Day:
        return {"type": "string", "format": "date"}
    if tp is str:
        return {"type": "string"}
    if tp is bool:
        return {"type": "boolean"}
    if tp is int:
        return {"type": "integer"}
    if tp is float:
        return {"type": "number"}
    if tp is Any:
        return {}
    origin = get_origin(tp)
    if origin is Literal:
        return {"enum": list(get_args(tp))}
    if origin in (typing.Union, types.UnionType):
        args = get_args(tp)
        inner = [a for a in args if a is not type(None)]
        nullable = len(inner) < len(args)
        if len(inner) == 1:
            base = _schema(inner[0])
            if nullable:
                if set(base) == {"type"} and isinstance(base["type"], str):
                    return {"type": [base["type"], "null"]}
                return {"oneOf": [{"type": "null"}, base]}
            return base
        options = [_schema(a) for a in inner] + ([{"type": "null"}] if nullable else [])
        return {"oneOf": options}
    if origin in (list, tuple):
        args = get_args(tp)
        return {"type": "array", "items": _schema(args[0]) if args else {}}
    if origin is dict or tp is dict:
        return {"type": "object"}
    if is_dataclass(tp):
        return object_schema(tp)
    raise TypeError(f"no JSON Schema for {tp!r}")


def object_schema(cls: Any, exclude: tuple[str, ...] = (), titled: bool = False) -> dict[str, Any]:
    hints = _hints(cls)
    properties: dict[str, Any] = {}
    required: list[str] = []
    for f in fields(cls):
        if f.name in exclude:
            continue
        properties[f.name] = json_schema(hints[f.name], f.metadata.get("schema"))
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            required.append(f.name)
    schema: dict[str, Any] = {"type": "object", "required": sorted(required), "properties": properties,
                    "additionalProperties": False}
    if titled and cls.__doc__ and not cls.__doc__.startswith(cls.__name__ + "("):
        schema["description"] = " ".join(cls.__doc__.split())
    return schema


def event_schema(cls: type[Event]) -> dict[str, Any]:
    """The whole CloudEvent's schema for one event class: envelope + typed data."""
    data = object_schema(cls, titled=True)
    title = data.pop("description", cls.__name__)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"{cls.TYPE}.schema.json",
        "title": title,
        "allOf": [{"$ref": "envelope.schema.json"}],
        "properties": {
            "type": {"const": cls.full_type()},
            "source": {"const": f"/hotline/{cls.SOURCE}"},
            "data": data,
        },
    }
