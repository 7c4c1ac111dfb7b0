"""marshmallow schemas at the knowledge base's edge (RPC input). What depends on configuration (the
catalog's categories, the units) is checked by the rules (domain.py)."""
from __future__ import annotations

from marshmallow import fields, validate

from hotline_common.validation import Strict


class ContentSchema(Strict):
    title = fields.String(required=True, validate=validate.Length(max=200))
    answer = fields.String(required=True, validate=validate.Length(max=8000))
    category = fields.String(required=True, validate=validate.Length(min=1, max=100))
    source = fields.String(required=True, validate=validate.Length(max=1000))
    valid_from = fields.Date(load_default=None, allow_none=True)
    valid_until = fields.Date(load_default=None, allow_none=True)
    review_date = fields.Date(required=True)
    keywords = fields.List(fields.String(validate=validate.Length(max=30)), load_default=list,
                           validate=validate.Length(max=30))


class CreateSchema(ContentSchema):
    unit_id = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=100))


class UpdateSchema(ContentSchema):
    note = fields.String(load_default="", validate=validate.Length(max=1000))


class ApproveSchema(Strict):
    approve = fields.Boolean(load_default=True)
    note = fields.String(load_default="", validate=validate.Length(max=1000))


class RetireSchema(Strict):
    reason = fields.String(required=True, validate=validate.Length(max=1000))


class SearchSchema(Strict):
    q = fields.String(required=True, validate=validate.Length(min=1, max=200))
    category = fields.String(load_default=None, validate=validate.Length(max=100))
    valid_on = fields.Date(load_default=None)
    include_expired = fields.Boolean(load_default=False)
    limit = fields.Integer(load_default=10, validate=validate.Range(min=1, max=50))


class ListSchema(Strict):
    unit = fields.String(load_default=None, validate=validate.Length(max=100))
    status = fields.String(load_default=None, validate=validate.OneOf(["draft", "published", "retired", "pending"]))
    category = fields.String(load_default=None, validate=validate.Length(max=100))
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


CREATE = CreateSchema()
UPDATE = UpdateSchema()
APPROVE = ApproveSchema()
RETIRE = RetireSchema()
SEARCH = SearchSchema()
LIST = ListSchema()
