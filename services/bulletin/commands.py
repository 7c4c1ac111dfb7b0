"""What callers ask bulletin (queries, mostly): one frozen dataclass per RPC.

Each builds itself from the RPC request (`dispatch.request(...)`): the query (or body) loaded by its
marshmallow schema, path parameters (`bulletin_id`) as they come.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, ClassVar, Literal

from hotline_common.dispatch import from_request
from hotline_common.messages import Command
from hotline_common.validation import load

from . import schemas as s

BulletinKind = Literal["weekly", "monthly"]


def _split(value: str | None) -> tuple[str, ...]:
    return tuple(p.strip() for p in value.split(",") if p.strip()) if value else ()


@dataclass(frozen=True, kw_only=True)
class PeriodQuery:
    """A period as asked: `period` (a kind with `at`, or a key), or `from_`/`to`; none: a default."""
    period: str | None = None
    at: date | None = None
    from_: str | None = None
    to: str | None = None


@dataclass(frozen=True, kw_only=True)
class Feed(Command):
    """D5: every event in arrival order after a cursor, for systems that cannot hold an AMQP connection."""
    NAME: ClassVar[str] = "feed"
    after: str | None = None
    types: str | None = None
    limit: int = 100

    @classmethod
    def from_request(cls, req: dict[str, Any]) -> Feed:
        return from_request(cls, req, s.FEED)


@dataclass(frozen=True, kw_only=True)
class Statistics(Command, PeriodQuery):
    """R2 分类统计: registrations and outcome counts by one or two dimensions over a period."""
    NAME: ClassVar[str] = "statistics"
    group_by: tuple[str, ...]
    measures: tuple[str, ...] = ()
    rollup: bool = True
    format: Literal["json", "csv", "xlsx"] = "json"
    filters: tuple[tuple[str, tuple[str, ...]], ...] = ()

    @classmethod
    def from_request(cls, req: dict[str, Any]) -> Statistics:
        loaded = _load(req, s.STATISTICS)
        filters = tuple((dim, _split(loaded.pop(dim))) for dim in s.FILTERS if dim in loaded)
        return cls(group_by=_split(loaded.pop("group_by")), measures=_split(loaded.pop("measures", None)),
                   filters=filters, **loaded)


@dataclass(frozen=True, kw_only=True)
class Hotspots(Command, PeriodQuery):
    """R12: categories and places rising significantly this period, and repeated requests about one place."""
    NAME: ClassVar[str] = "hotspots"
    format: Literal["json", "csv"] = "json"

    @classmethod
    def from_request(cls, req: dict[str, Any]) -> Hotspots:
        return cls(**_load(req, s.HOTSPOTS))


@dataclass(frozen=True, kw_only=True)
class PublishBulletin(Command):
    """R16: make (or, with `replace`, make again) the weekly or monthly bulletin of a period (default:
    the last one that has ended)."""
    NAME: ClassVar[str] = "publish_bulletin"
    kind: BulletinKind
    period: str | None = None
    replace: bool = False

    @classmethod
    def from_request(cls, req: dict[str, Any]) -> PublishBulletin:
        return from_request(cls, req, s.PUBLISH)


@dataclass(frozen=True, kw_only=True)
class ListBulletins(Command):
    NAME: ClassVar[str] = "list_bulletins"
    kind: BulletinKind | None = None
    year: int | None = None
    limit: int = 50

    @classmethod
    def from_request(cls, req: dict[str, Any]) -> ListBulletins:
        return from_request(cls, req, s.LIST_BULLETINS)


@dataclass(frozen=True, kw_only=True)
class GetBulletin(Command):
    NAME: ClassVar[str] = "get_bulletin"
    bulletin_id: str
    format: Literal["json", "html", "pdf"] = "json"

    @classmethod
    def from_request(cls, req: dict[str, Any]) -> GetBulletin:
        return from_request(cls, req, s.GET_BULLETIN)


@dataclass(frozen=True, kw_only=True)
class Assessment(Command, PeriodQuery):
    """R18: every unit's score over a period, ranked, with the top and bottom three."""
    NAME: ClassVar[str] = "assessment"
    format: Literal["json", "xlsx"] = "json"

    @classmethod
    def from_request(cls, req: dict[str, Any]) -> Assessment:
        return cls(**_load(req, s.ASSESSMENT))


@dataclass(frozen=True, kw_only=True)
class PutAssessmentInput(Command):
    """R18: an administrator scores a manual part (制度建设, 业务培训, 知识库维护) for a unit and period."""
    NAME: ClassVar[str] = "put_assessment_input"
    period: str
    unit_id: str
    part: str
    score: float
    note: str = ""

    @classmethod
    def from_request(cls, req: dict[str, Any]) -> PutAssessmentInput:
        return from_request(cls, req, s.ASSESSMENT_INPUT)


@dataclass(frozen=True, kw_only=True)
class ListAssessmentInputs(Command):
    NAME: ClassVar[str] = "assessment_inputs"
    period: str

    @classmethod
    def from_request(cls, req: dict[str, Any]) -> ListAssessmentInputs:
        return from_request(cls, req, s.ASSESSMENT_INPUTS)


def _load(req: dict[str, Any], schema: Any) -> dict[str, Any]:
    """The query (or body) loaded by `schema`, for commands that reshape it before building themselves."""
    data = req.get("body") if req.get("body") is not None else (req.get("query") or {})
    loaded: dict[str, Any] = load(schema, data)
    return loaded
