"""`make token` (tools/token.py) mints tokens only for units that exist and for the roles that act for
one (issue 10: it minted a token for a unit that does not exist)."""
import jwt
import pytest

from tools import token


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("HOTLINE_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("JWT_SECRET", raising=False)
    monkeypatch.delenv("HOTLINE_CONFIG_DIR", raising=False)
    return tmp_path


def claims(out: str) -> dict:
    return jwt.decode(out.strip(), options={"verify_signature": False})


def test_a_unit_of_the_directory_gets_a_token(env, capsys):
    assert token.main(["--role", "unit_handler", "--unit", "city.environment"]) == 0
    minted = claims(capsys.readouterr().out)
    assert minted["unit_id"] == "city.environment" and minted["role"] == "unit_handler"


def test_a_unit_that_does_not_exist_is_refused_with_the_known_units(env, capsys):
    assert token.main(["--role", "unit_leader", "--unit", "city.nowhere"]) == 2
    out = capsys.readouterr()
    assert out.out == ""
    assert "no unit 'city.nowhere' in config/units.yaml" in out.err and "city.environment" in out.err


def test_a_unit_role_needs_a_unit_and_a_city_role_takes_none(env, capsys):
    assert token.main(["--role", "unit_handler"]) == 2
    assert "needs a unit" in capsys.readouterr().err
    assert token.main(["--role", "operator", "--unit", "city.environment"]) == 2
    assert "leave UNIT out" in capsys.readouterr().err
    assert token.main(["--role", "operator"]) == 0


def test_a_unit_created_through_the_api_is_allowed_when_said_so(env, capsys):
    assert token.main(["--role", "unit_handler", "--unit", "district.new", "--unit-not-in-config"]) == 0
    assert claims(capsys.readouterr().out)["unit_id"] == "district.new"
