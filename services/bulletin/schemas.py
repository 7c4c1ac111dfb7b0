"""marshmallow schemas at bulletin's edge (RPC input)."""
from __future__ import annotations

from marshmallow import RAISE, Schema, fields, validate

from .domain import GROUPINGS


class Strict(Schema):
    class Meta:
        unknown = RAISE


class FeedSchema(Strict):
    after = fields.String(validate=validate.Length(max=300))
    types = fields.String(validate=validate.Length(max=2000))
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))


class StatisticsSchema(Strict):
    group_by = fields.String(required=True, validate=validate.OneOf(sorted(GROUPINGS)))
    to = fields.AwareDateTime(data_key="to")
    from_ = fields.AwareDateTime(data_key="from", attribute="from")


FEED = FeedSchema()
STATISTICS = StatisticsSchema()
