"""Replicas proven (issue 16): the stack `make run` starts with every service at two replicas
(REPLICAS=intake=2,routing=2,...), each replica its own supervised process with its own health port;
a batch of tickets runs the whole lifecycle and the late path (the controllable clock moved on: overdue,
two reminders, the supervision centre, the timers ticking on), and nothing happens twice or not at all:
each ticket's timeline has each step exactly once, a subscriber on `hotline.events` and the event feed
see every event once, and both replicas of every service did part of the work."""
import re
import time
from collections import Counter

import pytest
import requests

from hotline_common.events import T
from tests.conftest import wait_for
from tests.stack import _mgmt
from tests.support import ENV_BUREAU, EventTap, act, advance, leader, restart, until, validate_event
from tools.services import SERVICES

BATCH = 20
TICKET = {"channel": "phone", "district": "qianshan", "category": "noise.commercial",
          "citizen": {"name": "钱先生", "phone": "13600005555"}}
REPLY = {"result": "solved", "content": "经现场核查，涉事商户已加装隔音设施并调整营业时间，噪音问题已解决。",
         "contacted_citizen": True}
SATISFIED = {"reached": True, "satisfaction": "satisfied", "solved": True, "unit_contacted": True}
LATE = {"ticket.registered": 1, "ticket.dispatched": 1, "deadline.set": 1, "deadline.due_soon": 1,
        "deadline.overdue": 1, "reminder.sent": 2, "deadline.still_overdue": 4, "supervision.opened": 1,
        "accountability.recorded": 1,   # R17: the reminders were ignored
        "notice.delivered": 3}          # the SMS notices of the two reminders and of the supervision case
HAPPY = ["ticket.registered", "ticket.dispatched", "deadline.set", "assignment.accepted", "assignment.reviewed",
         "ticket.replied", "deadline.met", "callback.recorded", "ticket.closed"]


@pytest.fixture(scope="module")
def stack_env():
    """This module's stack: every service at two replicas (tests/stack.py lays out their ports)."""
    return {"REPLICAS": ",".join(f"{name}=2" for name in SERVICES)}


@pytest.fixture(scope="module")
def tap(running_stack):
    """An external subscriber bound to hotline.events for the whole module."""
    tap = EventTap(running_stack.amqp_uri).start()
    yield tap
    tap.stop()


def register_batch(stack, ticket_type: str, what: str) -> list[str]:
    numbers = []
    for i in range(BATCH):
        response = stack.post("/v1/tickets", {**TICKET, "type": ticket_type,
                                              "content": f"{what}（第{i + 1}件）：酒吧夜间音乐声音过大，严重影响休息"})
        assert response.status_code == 201, response.text
        numbers.append(response.json()["number"])
    assert len(set(numbers)) == BATCH  # two intake replicas, each taking its own blocks of numbers
    return numbers


def kinds(view: dict) -> Counter:
    return Counter(e["type"] for e in view["timeline"])


def on_the_bus(tap: EventTap, number: str) -> Counter:
    return Counter(e["type"].removeprefix("cn.gov.12345.") for e in tap.events if e["subject"] == number)


def vhost(stack) -> str:
    return stack.amqp_uri.rsplit("/", 1)[1]


def test_every_service_runs_two_supervised_replicas_each_with_its_own_port(running_stack):
    stack = running_stack
    state = stack.state()
    assert state["replicas"] == {name: [f"{name}.1", f"{name}.2"] for name in SERVICES}
    processes = [p for names in state["replicas"].values() for p in names]
    assert set(state["pids"]) == {*processes, "mongo", "gateway"}
    assert len({state["pids"][p] for p in processes}) == 2 * len(SERVICES)        # a process each
    assert len({state["health"][p] for p in processes}) == 2 * len(SERVICES)      # a port each
    base = int(state["health"]["intake.1"].rsplit(":", 1)[1]) - 1                  # SERVICE_PORT_BASE
    for index, name in enumerate(SERVICES, start=1):
        for replica in (1, 2):                                                      # base + i + 10 (r - 1)
            assert state["health"][f"{name}.{replica}"] == f"http://127.0.0.1:{base + index + 10 * (replica - 1)}"
    for process in processes:
        assert requests.get(state["health"][process] + "/readyz", timeout=10).json()["status"] == "ready", process
    for name in SERVICES:                          # both replicas consume the service's one inbox
        wait_for(lambda n=name: _mgmt("GET", f"queues/{vhost(stack)}/hotline.{n}.inbox").json().get("consumers") == 2,
                 30, interval=1, message=f"two consumers on hotline.{name}.inbox")  # the broker's stats lag
    restart(stack, "routing.2")                    # one replica dies: the launcher restarts it alone
    after = stack.current_pids()
    assert after["routing.1"] == state["pids"]["routing.1"] and after["routing.2"] != state["pids"]["routing.2"]


def test_a_batch_runs_the_whole_lifecycle_with_every_step_exactly_once(running_stack, tap):
    stack = running_stack
    numbers = register_batch(stack, "complain", "投诉")
    for number in numbers:
        until(stack, number, lambda v: v["status"] == "dispatched" and v["deadline"], 30, f"{number} dispatched")
    for number in numbers:                         # sign for, leader's review, reply: RPCs to either replica
        assert act(stack, number, "accept").status_code == 200
        assert act(stack, number, "review", {"instructions": "请执法大队夜间复查并依法处理"},
                   **leader(ENV_BUREAU)).status_code == 200
        replied = act(stack, number, "reply", REPLY)
        assert replied.status_code == 200, replied.text
        assert [r["reply_no"] for r in replied.json()["replies"]] == [f"{number}-01"]
    for number in numbers:
        until(stack, number, lambda v: v["status"] == "replied" and v["deadline"]["state"] == "met", 30,
              f"{number} replied in time")
        closed = stack.post(f"/v1/tickets/{number}/callbacks", SATISFIED)
        assert closed.status_code == 200 and closed.json()["status"] == "closed", closed.text
    for number in numbers:
        final = until(stack, number, lambda v: "ticket.closed" in kinds(v), 30, f"{number} closed")
        assert kinds(final) == Counter(HAPPY), number
        assert [e["type"] for e in final["timeline"]] == HAPPY, number
    for number in numbers:                         # what a subscriber saw: each step once, no more
        wait_for(lambda n=number: sum(on_the_bus(tap, n).values()) >= len(HAPPY), 20, interval=0.2,
                 message=f"{number}'s events on hotline.events")
    time.sleep(2)                                  # a duplicate, if any, has time to show
    for number in numbers:
        assert on_the_bus(tap, number) == Counter(HAPPY), (number, on_the_bus(tap, number))

    health = stack.state()["health"]
    for name in SERVICES:                          # the work was shared: each replica handled events
        for replica in (f"{name}.1", f"{name}.2"):
            metrics = requests.get(health[replica] + "/metrics", timeout=10).text
            handled = sum(float(line.rsplit(" ", 1)[1]) for line in metrics.splitlines()
                          if line.startswith("hotline_events_handled_total{"))
            assert handled > 0, f"{replica} handled no event"


def test_a_late_batch_is_overdue_reminded_twice_and_supervised_once(running_stack, tap):
    stack = running_stack
    numbers = register_batch(stack, "consult", "咨询")       # 2 working days
    for number in numbers:
        until(stack, number, lambda v: v["deadline"] and v["deadline"]["working_days"] == 2, 30,
              f"{number} with its deadline")

    advance(stack, 3)                                          # past the deadline: overdue, reminder 1
    for number in numbers:
        until(stack, number, lambda v: v["overdue"] and v["reminders_sent"] == 1, 30, f"{number} reminder 1")
    restart(stack, "sla.1")                                    # a timer replica and an escalation replica
    restart(stack, "escalation.2")                             # die mid-way and come back
    advance(stack, 2)                                          # 2 working days past: reminder 2
    for number in numbers:
        until(stack, number, lambda v: v["reminders_sent"] == 2, 30, f"{number} reminder 2")
    advance(stack, 1)                                          # 3 working days past: the supervision centre
    for number in numbers:
        until(stack, number, lambda v: v["supervised"], 30, f"{number} supervised")
    advance(stack, 1)                                          # one more working day: the clock ticks on
    for number in numbers:
        wait_for(lambda n=number: any(e["data"].get("working_days_overdue") == 4
                                      for e in tap.of_type(T.DEADLINE_STILL_OVERDUE, n)), 30, interval=0.2,
                 message=f"{number}'s fourth overdue working day")

    total = sum(LATE.values())
    for number in numbers:                         # everything arrived (then: nothing more than once)
        until(stack, number, lambda v: sum(kinds(v).values()) >= total, 20, f"{number}'s late timeline")
        wait_for(lambda n=number: sum(on_the_bus(tap, n).values()) >= total, 20, interval=0.2,
                 message=f"{number}'s events on hotline.events")
    time.sleep(2)                                  # a duplicate, if any, has time to show
    cases = stack.get("/v1/supervision-cases", params={"limit": 200}, role="supervisor").json()["items"]
    records = stack.get("/v1/accountability", params={"unit": ENV_BUREAU, "limit": 200},
                        role="supervisor").json()["items"]
    sms = sent_sms(stack)
    for number in numbers:
        view = stack.get(f"/v1/tickets/{number}").json()
        assert kinds(view) == Counter(LATE), (number, kinds(view))
        assert on_the_bus(tap, number) == Counter(LATE), (number, on_the_bus(tap, number))
        ticks = [e["label"] for e in view["timeline"] if e["type"] == "deadline.still_overdue"]
        assert ticks == [f"超期{n}个工作日" for n in (1, 2, 3, 4)], (number, ticks)   # each working day once, in order
        reminders = [e["label"] for e in view["timeline"] if e["type"] == "reminder.sent"]
        assert reminders == ["催办（第1次）", "催办（第2次）"] and view["reminders_sent"] == 2, number
        mine = [c for c in cases if c["number"] == number]
        assert len(mine) == 1 and mine[0]["trigger"] == "overdue_ignored", (number, mine)
        assert [r["kind"] for r in records if r["number"] == number] == ["ignored_reminders"], number
        assert sms.get(number) == Counter({"SMS_HOTLINE_REMINDER": 2, "SMS_HOTLINE_SUPERVISION": 1}), \
            (number, sms.get(number))


def sent_sms(stack) -> dict[str, Counter]:
    """The SMS notices the notify replicas handed to the (logging) SMS provider, per ticket number."""
    sent: dict[str, Counter] = {}
    for path in (stack.data_dir / "logs").glob("notify*.log"):
        for line in path.read_text(errors="replace").splitlines():
            if "SMS (log provider)" in line and (found := re.search(r"template (\w+): .*?工单([A-Z]+[0-9]+)", line)):
                sent.setdefault(found[2], Counter())[found[1]] += 1
    return sent


def test_the_subscriber_and_the_feed_see_every_event_once(running_stack, tap):
    stack = running_stack
    ids = Counter(e["id"] for e in tap.events)
    assert not [i for i, n in ids.items() if n > 1], "an event id published twice"
    for event in tap.events:
        validate_event(event)

    def feed() -> list[dict]:
        items, after = [], None
        while True:
            page = stack.get("/v1/events", role="subscriber",
                             params={"limit": 1000, **({"after": after} if after else {})}).json()
            if not page["items"]:
                return items
            items += page["items"]
            after = page["next_cursor"]
    tapped = {e["id"] for e in tap.events}
    everything = wait_for(lambda: (f := feed()) and tapped <= {e["id"] for e in f} and f, 30, interval=1,
                          message="the feed caught up with the subscriber")
    fed = Counter(e["id"] for e in everything)
    assert not [i for i, n in fed.items() if n > 1], "an event id twice in the feed"

    bulletins = stack.get("/v1/bulletins").json()["items"]     # made on the clock's jumps, by either replica
    assert bulletins and len({(b["kind"], b["year"], b["number"]) for b in bulletins}) == len(bulletins), bulletins
    for name in SERVICES:                          # nothing given up on
        queue = _mgmt("GET", f"queues/{vhost(stack)}/hotline.{name}.dead").json()
        assert queue.get("messages", 0) == 0, (name, queue.get("messages"))
