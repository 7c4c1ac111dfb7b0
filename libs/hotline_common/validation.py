"""Validating input with marshmallow and turning failures into the typed error."""
from __future__ import annotations

from marshmallow import RAISE, Schema, ValidationError, fields

from .errors import ValidationFailed


def load(schema: Schema, data) -> dict:
    """Validate `data` or raise ValidationFailed naming each bad field."""
    if not isinstance(data, dict):
        raise ValidationFailed("the body must be a JSON object", errors={"_schema": ["not an object"]})
    try:
        return schema.load(data)
    except ValidationError as exc:
        raise ValidationFailed("the request has invalid fields", errors=exc.normalized_messages()) from None


class Strict(Schema):
    """Unknown fields are refused, as openapi.yaml's `additionalProperties: false` says."""

    class Meta:
        unknown = RAISE


class JsonBoolean(fields.Boolean):
    """A JSON body's boolean: true or false only (marshmallow's Boolean also takes 1, "yes", "on", ...,
    which openapi.yaml's `type: boolean` refuses). A query string's booleans stay fields.Boolean."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


class JsonNumber(fields.Float):
    """A JSON body's number only (marshmallow's Float also takes "5" and other numeric strings)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


class JsonInteger(fields.Integer):
    """A JSON body's integer as JSON Schema counts it: 5 and 5.0 (a number with no fraction), never
    true, "5" or 5.5. marshmallow's strict Integer refuses 5.0, which openapi.yaml's `type: integer`
    accepts; its lax Integer takes "5" and 5.5."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.make_error("invalid")
        if isinstance(value, float) and not value.is_integer():
            raise self.make_error("invalid")
        return int(value)
