"""Validating input with marshmallow and turning failures into the typed error."""
from __future__ import annotations

from marshmallow import Schema, ValidationError

from .errors import ValidationFailed


def load(schema: Schema, data) -> dict:
    """Validate `data` or raise ValidationFailed naming each bad field."""
    if not isinstance(data, dict):
        raise ValidationFailed("the body must be a JSON object", errors={"_schema": ["not an object"]})
    try:
        return schema.load(data)
    except ValidationError as exc:
        raise ValidationFailed("the request has invalid fields", errors=exc.normalized_messages()) from None
