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


def test_replicas_per_service_for_make_run():
    """REPLICAS=routing=3,sla=2 (issue 16): the format and counts here, the names against the services."""
    services = ["intake", "routing", "sla", "escalation", "bulletin", "notify"]
    assert Settings.from_env({}).replica_counts(services) == dict.fromkeys(services, 1)
    counts = Settings.from_env({"REPLICAS": " routing=3, sla = 2 ,"}).replica_counts(services)
    assert counts == {**dict.fromkeys(services, 1), "routing": 3, "sla": 2}
    for bad, message in (("routing=0", "at least 1"), ("sla=-2", "at least 1"), ("routing=two", "whole number"),
                         ("routing", "<service>=<count>"), ("=2", "<service>=<count>"),
                         ("sla=2,sla=3", "twice")):
        with pytest.raises(SettingsError, match=message):
            Settings.from_env({"REPLICAS": bad})
    with pytest.raises(SettingsError, match="unknown service.*routeing"):
        Settings.from_env({"REPLICAS": "routeing=2"}).replica_counts(services)
    with pytest.raises(SettingsError, match="GATEWAY_WORKERS"):
        Settings.from_env({"REPLICAS": "gateway=2"}).replica_counts(services)


def test_the_launcher_gives_each_replica_its_own_process_and_port():
    from tools.stack import Stack
    stack = Stack({"SERVICE_PORT_BASE": "8100", "REPLICAS": "routing=3,sla=2"})
    stack.read_replicas()
    children = stack.service_children({"AMQP_URI": "amqp://guest:guest@localhost:5672/"})
    ports = {c.name: c.port for c in children}
    assert ports == {"intake": 8101, "routing.1": 8102, "routing.2": 8112, "routing.3": 8122, "sla.1": 8103,
                     "sla.2": 8113, "escalation": 8104, "bulletin": 8105, "notify": 8106}
    assert {c.env["HOTLINE_SERVICE"] for c in children if c.name.startswith("routing")} == {"routing"}
    assert [c.log_path.name for c in children if c.name.startswith("sla")] == ["sla.1.log", "sla.2.log"]
    assert all(c.ready_url == f"http://127.0.0.1:{c.port}/readyz" for c in children)
    with pytest.raises(RuntimeError, match="unknown service"):
        Stack({"REPLICAS": "router=2"}).read_replicas()


def test_services_that_do_not_stop_share_one_deadline_before_they_are_killed(tmp_path, monkeypatch):
    """The launcher asks the services to stop at once and waits for them together: four that ignore
    SIGTERM are killed after one STOP_TIMEOUT, not one each (chaos runs waited ~90 s a stack)."""
    import sys
    import time

    import tools.stack as launcher
    monkeypatch.setattr(launcher, "STOP_TIMEOUT", 1.0)
    waited: list[float] = []
    stubborn = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('up', flush=True); time.sleep(60)"
    stack = launcher.Stack({"HOTLINE_DATA_DIR": str(tmp_path)})
    for n in range(4):
        child = launcher.Child(f"service{n}", [sys.executable, "-c", stubborn], {}, tmp_path / f"s{n}.log")
        child.start()
        stack.children.append(child)
    for child in stack.children:                          # each has set its handler
        while b"up" not in child.log_path.read_bytes():
            time.sleep(0.01)
    real_wait = launcher.Child.wait_stopped

    def recording(self, timeout=15.0, until=None):
        waited.append(max(0.1, until - time.monotonic()) if until is not None else timeout)
        real_wait(self, timeout, until)
    monkeypatch.setattr(launcher.Child, "wait_stopped", recording)
    stack.stop()
    assert all(not c.alive() for c in stack.children)
    assert waited[0] <= 1.0 and all(w <= 0.1 for w in waited[1:])   # the first waits, the rest are late
