"""marshmallow schemas at sla's edge (RPC input): they load a request's body or query for `commands`."""
from __future__ import annotations

from marshmallow import ValidationError, fields, validate, validates_schema

from hotline_common.validation import JsonBoolean, JsonInteger, Strict


def boolean(**kwargs) -> fields.Boolean:
    return JsonBoolean(**kwargs)


class ExtensionRequestSchema(Strict):
    working_days = JsonInteger(required=True)
    reason = fields.String(required=True, validate=validate.Length(max=2000))


class ExtensionDecisionSchema(Strict):
    approve = boolean(required=True)
    working_days = JsonInteger(load_default=None, allow_none=True)
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
    year = JsonInteger()  # optional; when given, the path's year


class ClockSetSchema(Strict):
    now = fields.AwareDateTime(required=True)
    running = boolean(load_default=True)
    force = boolean(load_default=False)  # going back in time is refused unless forced


class ClockAdvanceSchema(Strict):
    seconds = JsonInteger(validate=validate.Range(min=1, max=10 * 365 * 86400))
    working_days = JsonInteger(validate=validate.Range(min=1, max=250))

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
