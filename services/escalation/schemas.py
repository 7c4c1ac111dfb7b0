"""marshmallow schemas at escalation's edge (RPC input)."""
from __future__ import annotations

from marshmallow import fields, validate

from hotline_common.validation import JsonInteger, Strict

# the edge's enumerations (the domain labels each; a unit test keeps the two in step)
REPORTABLE = ("inadequate_investigation", "improper_handling")
CASE_STATES = ("open", "reinvestigating", "closed")
ACCOUNTABILITY_KINDS = ("evasion", "ignored_reminders", "not_cooperating", "serious_consequences")


class ReminderSchema(Strict):
    note = fields.String(load_default="", validate=validate.Length(max=1000))


class ReportSchema(Strict):
    trigger = fields.String(required=True, validate=validate.OneOf(REPORTABLE))
    detail = fields.String(required=True, validate=validate.Length(min=6, max=4000))


class CaseQuerySchema(Strict):
    state = fields.String(validate=validate.OneOf(CASE_STATES))
    unit = fields.String(validate=validate.Length(max=100))
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500))


class ReinvestigationSchema(Strict):
    instructions = fields.String(required=True, validate=validate.Length(max=4000))
    working_days = JsonInteger(load_default=None, allow_none=True,
                                  validate=validate.Range(min=1, max=60))


class CloseSchema(Strict):
    conclusion = fields.String(required=True, validate=validate.Length(max=4000))


class VerificationSchema(Strict):
    inspector = fields.String(required=True, validate=validate.Length(max=100))
    inspected_at = fields.AwareDateTime(required=True)
    findings = fields.String(required=True, validate=validate.Length(max=4000))
    responsibility = fields.String(required=True, validate=validate.Length(max=2000))


class AccountabilitySchema(Strict):
    kind = fields.String(required=True, validate=validate.OneOf(ACCOUNTABILITY_KINDS))
    unit_id = fields.String(required=True, validate=validate.Length(min=1, max=100))
    person = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=100))
    ticket_id = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=100))
    number = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=40))
    case_id = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))
    note = fields.String(required=True, validate=validate.Length(min=4, max=4000))


class AccountabilityQuerySchema(Strict):
    unit = fields.String(validate=validate.Length(max=100))
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500))


REMINDER = ReminderSchema()
REPORT = ReportSchema()
CASE_QUERY = CaseQuerySchema()
REINVESTIGATION = ReinvestigationSchema()
CLOSE = CloseSchema()
VERIFICATION = VerificationSchema()
ACCOUNTABILITY = AccountabilitySchema()
ACCOUNTABILITY_QUERY = AccountabilityQuerySchema()
