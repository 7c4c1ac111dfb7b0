"""marshmallow schemas at intake's edge (RPC input): they load a request's body or query into the
values of a command (commands.py). What depends on configuration (the catalog's categories,
districts and channels) is checked by the rule itself (domain.register)."""
from __future__ import annotations

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates

from hotline_common.validation import JsonBoolean

from .domain import (
    CHANNELS,
    DISPOSITIONS,
    EMERGENCY_LINES,
    LEGAL_CHANNELS,
    PHONE,
    SATISFACTION,
    STATUS_LABELS,
    TICKET_TYPES,
)


class CitizenSchema(Schema):
    class Meta:
        unknown = RAISE

    name = fields.String(validate=validate.Length(max=50), load_default="")
    phone = fields.String(required=True)

    @validates("phone")
    def _phone(self, value, **_):
        if not PHONE.match(value or ""):
            raise ValidationError("not a mainland mobile (11 digits) or landline (0412-1234567) number")


class RegisterTicketSchema(Schema):
    class Meta:
        unknown = RAISE

    channel = fields.String(required=True, validate=validate.OneOf(CHANNELS))
    type = fields.String(required=True, validate=validate.OneOf(sorted(TICKET_TYPES)))
    category = fields.String(required=True, validate=validate.Length(max=100))
    district = fields.String(required=True, validate=validate.Length(max=50))
    address = fields.String(validate=validate.Length(max=200), load_default="")
    citizen = fields.Nested(CitizenSchema, required=True)
    content = fields.String(required=True, validate=validate.Length(min=5, max=4000))
    key_ticket = JsonBoolean(load_default=False)
    external_ref = fields.String(validate=validate.Length(max=100), load_default=None, allow_none=True)
    # the front desk (issue 12); what each disposition needs is checked by frontdesk.register
    disposition = fields.String(load_default="dispatch", validate=validate.OneOf(sorted(DISPOSITIONS)))
    reason = fields.String(load_default="", validate=validate.Length(max=1000))
    referred_to = fields.String(load_default=None, allow_none=True,
                                validate=validate.OneOf(sorted({*EMERGENCY_LINES, *LEGAL_CHANNELS})))
    knowledge_entry_id = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=100))
    answer_note = fields.String(load_default="", validate=validate.Length(max=2000))
    merge_into = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=100))
    follow_up_of = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=100))


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

    reached = JsonBoolean(required=True)
    satisfaction = fields.String(validate=validate.OneOf(list(SATISFACTION)), load_default=None, allow_none=True)
    solved = JsonBoolean(load_default=None, allow_none=True)
    unit_contacted = JsonBoolean(load_default=None, allow_none=True)
    challenge = JsonBoolean(load_default=False)
    challenge_reason = fields.String(load_default="", validate=validate.Length(max=2000))
    note = fields.String(load_default="", validate=validate.Length(max=2000))


class KeyTicketSchema(Schema):
    class Meta:
        unknown = RAISE

    reason = fields.String(required=True, validate=validate.Length(max=1000))


class MergeSchema(Schema):
    class Meta:
        unknown = RAISE

    into = fields.String(required=True, validate=validate.Length(min=1, max=100))
    reason = fields.String(load_default="", validate=validate.Length(max=1000))


class UnmergeSchema(Schema):
    class Meta:
        unknown = RAISE

    reason = fields.String(required=True, validate=validate.Length(max=1000))


class DuplicatesSchema(Schema):
    class Meta:
        unknown = RAISE

    category = fields.String(load_default=None, validate=validate.Length(max=100))
    district = fields.String(load_default=None, validate=validate.Length(max=50))
    address = fields.String(load_default="", validate=validate.Length(max=200))
    # a draft's words come in the query string, whose request line the gateway caps (414): its first
    # 1,000 characters say enough for the similarity
    content = fields.String(load_default="", validate=validate.Length(max=1000))
    phone = fields.String(load_default=None, validate=validate.Length(max=30))
    days = fields.Integer(load_default=None, validate=validate.Range(min=1, max=90))
    limit = fields.Integer(load_default=None, validate=validate.Range(min=1, max=50))


REGISTER = RegisterTicketSchema()
LIST_TICKETS = ListTicketsSchema()
CALLBACK = CallbackSchema()
KEY_TICKET = KeyTicketSchema()
MERGE = MergeSchema()
UNMERGE = UnmergeSchema()
DUPLICATES = DuplicatesSchema()


class ProgressLookupSchema(Schema):
    """The citizen's progress lookup (issue 15): a ticket number and the phone's last four digits."""
    class Meta:
        unknown = RAISE

    number = fields.String(required=True, validate=validate.Regexp(r"^[A-Za-z0-9-]{4,40}$"))
    phone_last4 = fields.String(required=True, validate=validate.Regexp(r"^[0-9]{4}$"))


PROGRESS_LOOKUP = ProgressLookupSchema()
