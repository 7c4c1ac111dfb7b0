"""marshmallow schemas at sla's edge (RPC input)."""
from __future__ import annotations

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema


class Strict(Schema):
    class Meta:
        unknown = RAISE


class ExtensionRequestSchema(Strict):
    working_days = fields.Integer(required=True, strict=True)
    reason = fields.String(required=True, validate=validate.Length(max=2000))


class ExtensionDecisionSchema(Strict):
    approve = fields.Boolean(required=True)
    working_days = fields.Integer(strict=True, load_default=None, allow_none=True)
    note = fields.String(load_default="", validate=validate.Length(max=2000))


class ExtensionQuerySchema(Strict):
    unit = fields.String(validate=validate.Length(max=100))
    status = fields.String(validate=validate.OneOf(["pending", "approved", "rejected"]))
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500))


class DaySchema(Strict):
    date = fields.Date(required=True)
    name = fields.String(load_default="", validate=validate.Length(max=50))


class CalendarYearSchema(Strict):
    source = fields.String(required=True, validate=validate.Length(min=4, max=300))
    holidays = fields.List(fields.Nested(DaySchema), load_default=list)
    workdays = fields.List(fields.Nested(DaySchema), load_default=list)
    year = fields.Integer()


class ClockSetSchema(Strict):
    now = fields.AwareDateTime(required=True)
    running = fields.Boolean(load_default=True)


class ClockAdvanceSchema(Strict):
    seconds = fields.Integer(validate=validate.Range(min=1, max=10 * 365 * 86400))
    working_days = fields.Integer(validate=validate.Range(min=1, max=250))

    @validates_schema
    def _one(self, data, **_):
        if bool(data.get("seconds")) == bool(data.get("working_days")):
            raise ValidationError("give either seconds or working_days", "_schema")


EXTENSION_REQUEST = ExtensionRequestSchema()
EXTENSION_DECISION = ExtensionDecisionSchema()
EXTENSION_QUERY = ExtensionQuerySchema()
CALENDAR_YEAR = CalendarYearSchema()
CLOCK_SET = ClockSetSchema()
CLOCK_ADVANCE = ClockAdvanceSchema()
