"""marshmallow schemas at routing's edge (RPC input)."""
from __future__ import annotations

from marshmallow import fields, validate

from hotline_common.validation import JsonBoolean, Strict

from .domain import REPLY_RESULTS


class DispatchSchema(Strict):
    unit_id = fields.String(required=True, validate=validate.Length(min=1, max=100))
    co_units = fields.List(fields.String(validate=validate.Length(max=100)), load_default=list,
                           validate=validate.Length(max=20))
    first_responsible = JsonBoolean(load_default=False)
    note = fields.String(load_default="", validate=validate.Length(max=1000))


class RedispatchSchema(Strict):
    unit_id = fields.String(required=True, validate=validate.Length(min=1, max=100))
    reason = fields.String(required=True, validate=validate.Length(max=1000))
    co_units = fields.List(fields.String(validate=validate.Length(max=100)), load_default=list,
                           validate=validate.Length(max=20))
    first_responsible = JsonBoolean(load_default=False)


class PassDownSchema(Strict):
    unit_id = fields.String(required=True, validate=validate.Length(min=1, max=100))
    reason = fields.String(required=True, validate=validate.Length(max=1000))


class ReviewSchema(Strict):
    instructions = fields.String(required=True, validate=validate.Length(max=4000))


class ReplySchema(Strict):
    result = fields.String(required=True, validate=validate.OneOf(REPLY_RESULTS))
    content = fields.String(required=True, validate=validate.Length(max=8000))
    basis = fields.String(load_default="", validate=validate.Length(max=4000))
    invalid_reason = fields.String(load_default="", validate=validate.Length(max=2000))
    contacted_citizen = JsonBoolean(load_default=False)
    public_summary = fields.String(load_default="", validate=validate.Length(max=500))


class ReturnSchema(Strict):
    reason = fields.String(required=True, validate=validate.Length(max=2000))


class ReturnDecisionSchema(Strict):
    approve = JsonBoolean(required=True)
    note = fields.String(load_default="", validate=validate.Length(max=2000))
    redispatch_to = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=100))


class CoUnitSchema(Strict):
    unit_id = fields.String(required=True, validate=validate.Length(min=1, max=100))
    task = fields.String(required=True, validate=validate.Length(max=2000))


class DeclineSchema(Strict):
    reason = fields.String(required=True, validate=validate.Length(max=2000))


class ContributionSchema(Strict):
    content = fields.String(required=True, validate=validate.Length(max=8000))


class PersonSchema(Strict):
    user_id = fields.String(required=True, validate=validate.Length(min=1, max=100))
    name = fields.String(required=True, validate=validate.Length(min=1, max=50))
    title = fields.String(load_default="", validate=validate.Length(max=50))
    phone = fields.String(load_default="", validate=validate.Length(max=30))


class UnitSchema(Strict):
    name = fields.String(required=True, validate=validate.Length(min=2, max=100))
    kind = fields.String(required=True, validate=validate.OneOf(
        ["department", "district", "development_zone", "street", "enterprise", "other"]))
    main_leader = fields.Nested(PersonSchema, required=True)
    deputy_leader = fields.Nested(PersonSchema, required=True)
    contacts = fields.List(fields.Nested(PersonSchema), required=True, validate=validate.Length(min=1, max=20))
    active = JsonBoolean(load_default=True)
    parent = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=100))


class RuleSchema(Strict):
    category = fields.String(required=True, validate=validate.Length(min=1, max=100))
    lead_unit = fields.String(required=True, validate=validate.Length(min=1, max=100))
    district = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=50))
    co_units = fields.List(fields.String(validate=validate.Length(max=100)), load_default=list,
                           validate=validate.Length(max=20))
    first_responsible = JsonBoolean(load_default=False)


DISPATCH = DispatchSchema()
REDISPATCH = RedispatchSchema()
PASS_DOWN = PassDownSchema()
REVIEW = ReviewSchema()
REPLY = ReplySchema()
RETURN = ReturnSchema()
RETURN_DECISION = ReturnDecisionSchema()
CO_UNIT = CoUnitSchema()
DECLINE = DeclineSchema()
CONTRIBUTION = ContributionSchema()
UNIT = UnitSchema()
RULE = RuleSchema()
