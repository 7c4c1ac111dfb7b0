"""marshmallow schemas at notify's edge (RPC input)."""
from __future__ import annotations

from marshmallow import fields, validate

from hotline_common.validation import Strict

PATTERN = r"^[a-z0-9_*#]+(\.[a-z0-9_*#]+)*$"


class SubscriptionSchema(Strict):
    url = fields.String(required=True, validate=validate.Length(min=8, max=2000))
    types = fields.List(fields.String(validate=[validate.Length(min=1, max=200), validate.Regexp(PATTERN)]),
                        required=True, validate=validate.Length(min=1, max=50))
    description = fields.String(load_default="", validate=validate.Length(max=500))


class DeliveriesQuery(Strict):
    status = fields.String(load_default=None, validate=validate.OneOf(["pending", "delivered", "dead"]))
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    cursor = fields.String(load_default=None, validate=validate.Length(max=300))


class DeadLettersQuery(Strict):
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    cursor = fields.String(load_default=None, validate=validate.Length(max=300))


class ReplaySchema(Strict):
    delivery_ids = fields.List(fields.String(validate=validate.Length(min=1, max=300)), load_default=list,
                               validate=validate.Length(max=1000))


SUBSCRIPTION = SubscriptionSchema()
DELIVERIES = DeliveriesQuery()
DEAD_LETTERS = DeadLettersQuery()
REPLAY = ReplaySchema()
