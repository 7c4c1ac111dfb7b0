"""marshmallow schemas at bulletin's edge (RPC input)."""
from __future__ import annotations

import re
from datetime import date, datetime

from marshmallow import ValidationError, fields, validate, validates

from hotline_common.validation import JsonBoolean, JsonNumber, Strict

DIMENSIONS = ("type", "category", "district", "channel", "unit", "day")
FILTERS = ("type", "category", "district", "channel", "unit")
CODE = re.compile(r"^[A-Za-z0-9_.\-]{1,80}$")


def _day_or_instant(value: str) -> None:
    try:
        if len(value) <= 10:
            date.fromisoformat(value)
        else:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
            if parsed.tzinfo is None:
                raise ValueError("no timezone")
    except ValueError:
        raise ValidationError("a date (2026-09-30) or an instant with its timezone (2026-09-30T00:00:00Z)") from None


def _codes(value: str) -> None:
    parts = [p.strip() for p in value.split(",")]
    if not parts or len(parts) > 50 or not all(CODE.match(p) for p in parts):
        raise ValidationError("a comma-separated list of codes")


class PeriodFields(Strict):
    """A period: `period` (day|week|month|quarter|year with `at`, a day in it; or a period key such as
    2026-W11, 2026-09, 2026-Q3, 2026), or `from`/`to` (dates, both included, or instants, `to` excluded)."""
    period = fields.String(validate=validate.Length(min=1, max=40))
    at = fields.Date()
    from_ = fields.String(data_key="from", attribute="from_", validate=_day_or_instant)
    to = fields.String(validate=_day_or_instant)


class FeedSchema(Strict):
    after = fields.String(validate=validate.Length(max=300))
    types = fields.String(validate=validate.Length(max=2000))
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))


class StatisticsSchema(PeriodFields):
    group_by = fields.String(required=True, validate=validate.Length(min=1, max=40))
    measures = fields.String(validate=validate.Length(max=400))
    rollup = fields.Boolean(load_default=True)
    format = fields.String(load_default="json", validate=validate.OneOf(["json", "csv", "xlsx"]))
    type = fields.String(validate=_codes)
    category = fields.String(validate=_codes)
    district = fields.String(validate=_codes)
    channel = fields.String(validate=_codes)
    unit = fields.String(validate=_codes)

    @validates("group_by")
    def _group_by(self, value: str, **_kw: object) -> None:
        dims = [d.strip() for d in value.split(",")]
        if not 1 <= len(dims) <= 2 or len(set(dims)) != len(dims) or not set(dims) <= set(DIMENSIONS):
            raise ValidationError(f"one or two of {', '.join(DIMENSIONS)}, comma-separated")


class HotspotsSchema(PeriodFields):
    format = fields.String(load_default="json", validate=validate.OneOf(["json", "csv"]))


class PublishSchema(Strict):
    kind = fields.String(required=True, validate=validate.OneOf(["weekly", "monthly"]))
    period = fields.String(validate=validate.Length(min=4, max=10))
    replace = JsonBoolean(load_default=False)


class ListBulletinsSchema(Strict):
    kind = fields.String(validate=validate.OneOf(["weekly", "monthly"]))
    year = fields.Integer(validate=validate.Range(min=2000, max=2100))
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))


class GetBulletinSchema(Strict):
    format = fields.String(load_default="json", validate=validate.OneOf(["json", "html", "pdf"]))


class AssessmentSchema(PeriodFields):
    format = fields.String(load_default="json", validate=validate.OneOf(["json", "xlsx"]))


class AssessmentInputSchema(Strict):
    period = fields.String(required=True, validate=validate.Length(min=4, max=30))
    unit_id = fields.String(required=True, validate=validate.Regexp(CODE))
    part = fields.String(required=True, validate=validate.Regexp(CODE))
    score = JsonNumber(required=True, validate=validate.Range(min=0, max=100))
    note = fields.String(load_default="", validate=validate.Length(max=2000))


class AssessmentInputsQuery(Strict):
    period = fields.String(required=True, validate=validate.Length(min=4, max=30))


FEED = FeedSchema()
STATISTICS = StatisticsSchema()
HOTSPOTS = HotspotsSchema()
PUBLISH = PublishSchema()
LIST_BULLETINS = ListBulletinsSchema()
GET_BULLETIN = GetBulletinSchema()
ASSESSMENT = AssessmentSchema()
ASSESSMENT_INPUT = AssessmentInputSchema()
ASSESSMENT_INPUTS = AssessmentInputsQuery()
