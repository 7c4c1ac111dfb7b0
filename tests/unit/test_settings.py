"""One config mechanism: environment variables, with the production guards."""
from datetime import UTC

import pytest

from hotline_common.settings import Settings, SettingsError


def test_defaults_outside_production():
    settings = Settings.from_env({})
    assert settings.environment == "development" and settings.clock_mode == "system"
    assert settings.db_name("intake") == "hotline_intake"


def test_production_refuses_a_controllable_clock_and_a_missing_secret():
    with pytest.raises(SettingsError, match="controllable"):
        Settings.from_env({"HOTLINE_ENV": "production", "CLOCK_MODE": "controllable", "JWT_SECRET": "x" * 40})
    with pytest.raises(SettingsError, match="JWT_SECRET"):
        Settings.from_env({"HOTLINE_ENV": "production"})
    assert Settings.from_env({"HOTLINE_ENV": "production", "JWT_SECRET": "x" * 40}).production


@pytest.mark.parametrize("env", [{"HOTLINE_ENV": "staging"}, {"CLOCK_MODE": "fast"}])
def test_unknown_values_are_refused(env):
    with pytest.raises(SettingsError):
        Settings.from_env(env)


def test_a_reaction_is_never_stamped_before_its_cause():
    from datetime import datetime, timedelta

    from hotline_common.clock import CausalClock, FixedClock, set_causal_floor
    now = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)
    clock = CausalClock(FixedClock(now))
    set_causal_floor(now + timedelta(seconds=5))    # the event was stamped by a clock a little ahead
    try:
        assert clock.now() == now + timedelta(seconds=5)
        set_causal_floor(now - timedelta(seconds=5))
        assert clock.now() == now
    finally:
        set_causal_floor(None)
    assert clock.now() == now
