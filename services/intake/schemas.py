"""marshmallow schemas at intake's edge (RPC input)."""
from __future__ import annotations

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates


from .domain import PHONE, STATUS_LABELS, TICKET_TYPES, Catalog


class CitizenSchema(Schema):
    class Meta:
        unknown = RAISE

    name = fields.String(validate=validate.Length(max=50), load_default="")
    phone = fields.String(required=True)

    @validates("phone")
    def _phone(self, value, **_):
        if not PHONE.match(value or ""):
            raise ValidationError("not a mainland mobile (11 digits) or landline (0412-1234567) number")


def register_schema(catalog: Catalog) -> Schema:
    class RegisterTicketSchema(Schema):
        class Meta:
            unknown = RAISE

        channel = fields.String(required=True, validate=validate.OneOf(sorted(catalog.channels)))
        type = fields.String(required=True, validate=validate.OneOf(sorted(TICKET_TYPES)))
        category = fields.String(required=True, validate=validate.OneOf(sorted(catalog.categories)))
        district = fields.String(required=True, validate=validate.OneOf(sorted(catalog.districts)))
        address = fields.String(validate=validate.Length(max=200), load_default="")
        citizen = fields.Nested(CitizenSchema, required=True)
        content = fields.String(required=True, validate=validate.Length(min=5, max=4000))
        key_ticket = fields.Boolean(load_default=False)
        external_ref = fields.String(validate=validate.Length(max=100), load_default=None, allow_none=True)

    return RegisterTicketSchema()


class ListTicketsSchema(Schema):
    class Meta:
        unknown = RAISE

    status = fields.String(validate=validate.OneOf(sorted(STATUS_LABELS)))
    unit = fields.String(validate=validate.Length(max=100))
    type = fields.String(validate=validate.OneOf(sorted(TICKET_TYPES)))
    category = fields.String(validate=validate.Length(max=100))
    district = fields.String(validate=validate.Length(max=50))
    overdue = fields.Boolean()
    created_from = fields.AwareDateTime(default_timezone=None)
    created_to = fields.AwareDateTime(default_timezone=None)
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    cursor = fields.String(validate=validate.Length(max=200))


class CallbackSchema(Schema):
    class Meta:
        unknown = RAISE

    reached = fields.Boolean(required=True)
    satisfaction = fields.String(validate=validate.OneOf(["satisfied", "basically_satisfied", "unsatisfied"]),
                                 load_default=None, allow_none=True)
    solved = fields.Boolean(load_default=None, allow_none=True)
    unit_contacted = fields.Boolean(load_default=None, allow_none=True)
    challenge = fields.Boolean(load_default=False)
    challenge_reason = fields.String(load_default="", validate=validate.Length(max=2000))
    note = fields.String(load_default="", validate=validate.Length(max=2000))


class KeyTicketSchema(Schema):
    class Meta:
        unknown = RAISE

    reason = fields.String(required=True, validate=validate.Length(max=1000))
