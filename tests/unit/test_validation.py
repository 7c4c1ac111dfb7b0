"""JSON body fields read the way openapi.yaml's JSON Schema reads them (issue 10: the contract as strict
as the server, both ways)."""
import pytest
from marshmallow import fields

from hotline_common.errors import ValidationFailed
from hotline_common.validation import JsonBoolean, JsonInteger, JsonNumber, Strict, load


class Body(Strict):
    days = JsonInteger()
    flag = JsonBoolean()
    share = JsonNumber()
    note = fields.String()


@pytest.mark.parametrize("value, expected", [(5, 5), (5.0, 5), (8103.0, 8103), (-2, -2)])
def test_an_integer_is_any_number_without_a_fraction_as_json_schema_says(value, expected):
    loaded = load(Body(), {"days": value})
    assert loaded["days"] == expected and type(loaded["days"]) is int


@pytest.mark.parametrize("value", [5.5, "5", True, False, None, [5], {"n": 5}])
def test_an_integer_is_never_a_fraction_a_string_or_a_boolean(value):
    with pytest.raises(ValidationFailed) as refused:
        load(Body(), {"days": value})
    assert "days" in refused.value.errors


@pytest.mark.parametrize("field, value", [("flag", 1), ("flag", "true"), ("share", "0.5"), ("share", True)])
def test_booleans_and_numbers_are_json_ones_only(field, value):
    with pytest.raises(ValidationFailed) as refused:
        load(Body(), {field: value})
    assert field in refused.value.errors


def test_unknown_fields_are_refused_by_name():
    with pytest.raises(ValidationFailed) as refused:
        load(Body(), {"note": "ok", "admin": True})
    assert "admin" in refused.value.errors
