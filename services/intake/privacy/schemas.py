"""marshmallow schemas at the edge of the privacy commands (RPC input)."""
from __future__ import annotations

from marshmallow import fields, validate

from hotline_common.validation import Strict


class RevealSchema(Strict):
    reason = fields.String(required=True, validate=validate.Length(min=4, max=500))


class RevealQuerySchema(Strict):
    ticket = fields.String(validate=validate.Length(min=1, max=100))   # a ticket's id or number
    unit = fields.String(validate=validate.Length(min=1, max=100))
    user = fields.String(validate=validate.Length(min=1, max=100))
    since = fields.AwareDateTime(data_key="from", attribute="since")
    until = fields.AwareDateTime(data_key="to", attribute="until")
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500))


REVEAL = RevealSchema()
REVEAL_QUERY = RevealQuerySchema()
