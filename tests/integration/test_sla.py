"""Deadline timers on the real broker and store: once, durable, with several replicas (R7, R8)."""
from collections import Counter
from datetime import datetime, timedelta, timezone

import eventlet

from hotline_common.dispatch import request
from hotline_common.events import T
from services.sla.service import SlaService
from tests.conftest import wait_for
from tests.support import validate_event

from .conftest import OPERATOR, noise_complaint

BJ = timezone(timedelta(hours=8))
ADMIN = {"user_id": "admin.1", "role": "admin"}


def consult(**fields):
    return noise_complaint(type="consult", content="咨询夜间施工噪音的投诉渠道和处理时限", **fields)


def ticket(rpc, number):
    return rpc.intake.get_ticket(request(params={"key": number}), OPERATOR)


def test_timers_fire_once_and_survive_a_restart(stack, rpc, tap, set_clock, runner_factory, nameko_config):
    set_clock(datetime(2026, 11, 2, 9, 0, tzinfo=BJ))
    stack("intake", "routing")
    sla = runner_factory(nameko_config, SlaService)
    sla.start()
    number = rpc.intake.register(request(body=consult()), OPERATOR)["number"]
    view = wait_for(lambda: (v := ticket(rpc, number))["deadline"] and v, 10)
    assert view["deadline"]["due_date"] == "2026-11-04"

    set_clock(datetime(2026, 11, 5, 0, 10, tzinfo=BJ))                # ten minutes past the deadline
    wait_for(lambda: tap.of_type(T.DEADLINE_OVERDUE, number), 10, message="overdue event")
    overdue = wait_for(lambda: (v := ticket(rpc, number))["overdue"] and v, 10)
    assert [e["label"] for e in overdue["timeline"]][-2:] == ["即将到期提醒", "已超期"]

    sla.stop()                                                          # a new sla process
    sla = runner_factory(nameko_config, SlaService)
    sla.start()
    eventlet.sleep(1.5)                                                 # several timer ticks
    kinds = Counter(e["type"] for e in tap.events if e["subject"] == number)
    assert kinds[T.DEADLINE_DUE_SOON] == 1 and kinds[T.DEADLINE_OVERDUE] == 1
    for event in tap.events:
        validate_event(event)


def test_two_sla_replicas_fire_each_timer_exactly_once(stack, rpc, tap, set_clock, runner_factory,
                                                       nameko_config):
    set_clock(datetime(2026, 11, 2, 9, 0, tzinfo=BJ))
    stack("intake", "routing")
    replicas = [runner_factory(nameko_config, SlaService) for _ in range(2)]
    for replica in replicas:
        replica.start()
    numbers = [rpc.intake.register(request(body=consult()), OPERATOR)["number"] for _ in range(25)]
    wait_for(lambda: len(tap.of_type(T.DEADLINE_SET)) == 25, 15, message="25 deadlines")

    set_clock(datetime(2026, 11, 6, 0, 5, tzinfo=BJ))                  # due Nov 4: overdue, 1 working day past
    wait_for(lambda: len(tap.of_type(T.DEADLINE_STILL_OVERDUE)) >= 25, 20, message="every timer fired")
    eventlet.sleep(1.5)
    for kind in (T.DEADLINE_DUE_SOON, T.DEADLINE_OVERDUE, T.DEADLINE_STILL_OVERDUE):
        per_ticket = Counter(e["subject"] for e in tap.of_type(kind))
        assert per_ticket == {n: 1 for n in numbers}, kind


def test_a_provisional_deadline_is_recomputed_when_the_year_arrives(stack, rpc, tap, set_clock):
    set_clock(datetime(2026, 12, 15, 10, 0, tzinfo=BJ))
    stack("intake", "routing", "sla")
    number = rpc.intake.register(request(body=noise_complaint()), OPERATOR)["number"]
    view = wait_for(lambda: (v := ticket(rpc, number))["deadline"] and v, 10)
    assert view["deadline"]["provisional"] and view["deadline"]["provisional_years"] == [2027]
    assert view["deadline"]["due_date"] == "2027-01-12"                 # weekends only in 2027

    result = rpc.sla.put_calendar_year(request(params={"year": 2027}, body={
        "source": "国务院办公厅关于2027年部分节假日安排的通知（测试数据）",
        "holidays": [{"date": "2027-01-01", "name": "元旦"}], "workdays": []}), ADMIN)
    assert result["official"] and result["recomputed"] == 1
    changed = wait_for(lambda: tap.of_type(T.DEADLINE_CHANGED, number), 10)[0]
    validate_event(changed)
    view = wait_for(lambda: (v := ticket(rpc, number))["deadline"]["provisional"] is False
                    and v, 10)
    assert view["deadline"]["due_date"] == "2027-01-13"
    assert view["timeline"][-1]["label"] == "办理时限重新计算"


def test_setting_the_time_is_refused_in_production(monkeypatch, service_env, stack, rpc):
    import pytest

    from hotline_common.errors import NotAllowedHere
    monkeypatch.setenv("HOTLINE_ENV", "production")
    monkeypatch.setenv("CLOCK_MODE", "system")
    monkeypatch.setenv("JWT_SECRET", "x" * 40)
    stack("sla")
    with pytest.raises(NotAllowedHere):
        rpc.sla.set_clock(request(body={"now": "2027-01-01T00:00:00+08:00"}), ADMIN)
    with pytest.raises(NotAllowedHere):
        rpc.sla.advance_clock(request(body={"working_days": 3}), ADMIN)
    assert rpc.sla.get_clock(request(), ADMIN)["environment"] == "production"


def test_the_clock_goes_back_only_when_forced(stack, rpc, set_clock):
    import pytest

    from hotline_common.errors import Conflict
    set_clock(datetime(2026, 11, 2, 9, 0, tzinfo=BJ))
    stack("sla")
    with pytest.raises(Conflict):
        rpc.sla.set_clock(request(body={"now": "2026-11-01T09:00:00+08:00", "running": False}), ADMIN)
    assert rpc.sla.get_clock(request(), ADMIN)["local"] == "2026-11-02T09:00:00+08:00"
    back = rpc.sla.set_clock(request(body={"now": "2026-11-01T09:00:00+08:00", "running": False, "force": True}),
                             ADMIN)
    assert back["local"] == "2026-11-01T09:00:00+08:00"
