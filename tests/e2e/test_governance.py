"""A simulated month over HTTP with units of known behaviour (issue 11): the monthly bulletin names
exactly the units it must, the assessment ranks the prompt unit above the late one, and every metric's
numerator and denominator match a direct count of the tickets the test made.

The month is 2027-03 (the controllable clock), far from the other e2e tests' tickets, and the three units
(供水, 燃气, 供暖: routed by the existing rules utilities.water/gas/heating) are used by no other test.
"""
from tests.conftest import wait_for

PERIOD = "2027-03"
PROMPT, LATE, UNSATISFACTORY = "city.water", "city.gas", "city.heating"
CATEGORY = {PROMPT: "utilities.water", LATE: "utilities.gas", UNSATISFACTORY: "utilities.heating"}
PER_UNIT = 3
REPLY = {"result": "solved", "content": "经现场核查，已安排维修人员上门处理，问题已解决，并已电话告知市民。",
         "contacted_citizen": True}
SATISFIED = {"reached": True, "satisfaction": "satisfied", "solved": True, "unit_contacted": True}
UNSATISFIED = {"reached": True, "satisfaction": "unsatisfied", "solved": False, "unit_contacted": True}


def set_clock(stack, instant):
    response = stack.put("/v1/clock", {"now": instant, "running": True}, role="admin")
    assert response.status_code == 200, response.text


def view(stack, number):
    return stack.get(f"/v1/tickets/{number}").json()


def until(stack, number, predicate, message, timeout=15):
    return wait_for(lambda: (v := view(stack, number)) and predicate(v) and v, timeout, interval=0.2,
                    message=f"{number}: {message}")


def act(stack, number, path, body, unit, leader=False):
    who = {"role": "unit_leader", "user": f"{unit}.leader"} if leader else {"role": "unit_handler"}
    response = stack.post(f"/v1/tickets/{number}/{path}", body, unit=unit, **who)
    assert response.status_code == 200, f"{path} {number}: {response.text}"


def register(stack, unit, i):
    response = stack.post("/v1/tickets", {
        "channel": "phone", "type": "consult", "district": "tiexi", "category": CATEGORY[unit],
        "address": "铁西区某小区", "citizen": {"name": "钱女士", "phone": f"1380000{i:04d}"},
        "content": f"咨询：小区{CATEGORY[unit]}问题应如何处理，第{i}件"})
    assert response.status_code == 201, response.text
    number = response.json()["number"]
    ticket = until(stack, number, lambda v: v["status"] == "dispatched" and v["deadline"], "dispatched")
    assert unit in ticket["units"], ticket["units"]
    return number


def month_of_the_units(stack):
    """What happens in March 2027, ticket by ticket; returns {unit: [numbers]}."""
    set_clock(stack, "2027-03-01T09:00:00+08:00")                       # a Monday
    made = {unit: [register(stack, unit, n * PER_UNIT + i) for i in range(PER_UNIT)]
            for n, unit in enumerate((PROMPT, LATE, UNSATISFACTORY))}
    for unit in (PROMPT, LATE, UNSATISFACTORY):                          # every unit signs for at once
        for number in made[unit]:
            act(stack, number, "accept", {}, unit)
    for unit in (PROMPT, UNSATISFACTORY):                                # two reply the same day
        for number in made[unit]:
            act(stack, number, "review", {"instructions": "请立即安排人员处理并答复市民"}, unit, leader=True)
            act(stack, number, "reply", REPLY, unit)
            until(stack, number, lambda v: v["deadline"]["state"] == "met", "deadline met")
    for number in made[PROMPT]:
        assert stack.post(f"/v1/tickets/{number}/callbacks", SATISFIED).status_code == 200

    advance = stack.post("/v1/clock/advance", {"working_days": 3}, role="admin")   # the late one lets 2 days pass
    assert advance.status_code == 200, advance.text
    for number in made[LATE]:
        until(stack, number, lambda v: v["overdue"], "overdue")
        act(stack, number, "review", {"instructions": "请尽快安排人员处理并答复"}, LATE, leader=True)
        act(stack, number, "reply", REPLY, LATE)
        until(stack, number, lambda v: v["deadline"]["state"] == "missed", "deadline missed")
        assert stack.post(f"/v1/tickets/{number}/callbacks", SATISFIED).status_code == 200

    # the citizens of the unsatisfactory unit say so at the month's end (the ticket goes back to the unit
    # with a new deadline, due in April: not this month's business)
    set_clock(stack, "2027-03-31T15:00:00+08:00")
    for number in made[UNSATISFACTORY]:
        assert stack.post(f"/v1/tickets/{number}/callbacks", UNSATISFIED).status_code == 200
        until(stack, number, lambda v: v["round"] == 2, "reopened")
    set_clock(stack, "2027-04-01T09:00:00+08:00")                       # March has ended
    return made


def direct_count(stack, unit, made):
    """The unit's tickets as intake lists them, counted by what they went through."""
    items = stack.get("/v1/tickets", params={"unit": unit, "limit": 200}).json()["items"]
    mine = {t["number"] for t in items} & set(made)
    assert mine == set(made), f"{unit}: intake lists {sorted(mine)}, the test made {sorted(made)}"
    views = [view(stack, number) for number in made]
    callbacks = [c for v in views for c in v.get("callbacks", []) if c.get("by", "hotline") != "unit"]
    rated = [c for c in callbacks if c.get("reached") and c.get("satisfaction")]
    def went_through(event_type):
        return sum(1 for v in views if any(e["type"] == event_type for e in v["timeline"]))
    return {"dispatched": len(mine), "accepted": went_through("assignment.accepted"),
            "late": went_through("deadline.missed"), "rated": len(rated),
            "satisfied": sum(1 for c in rated if c["satisfaction"] in ("satisfied", "basically_satisfied")),
            "solved": sum(1 for c in rated if c.get("solved") is True)}


def test_a_month_of_known_behaviour_gives_the_bulletin_and_the_assessment_it_must(running_stack):
    stack = running_stack
    made = month_of_the_units(stack)

    ours = {PROMPT, LATE, UNSATISFACTORY}

    def settled():     # bulletin applies events asynchronously: wait until it has seen the month's last ones
        stats = stack.get("/v1/statistics", params={"group_by": "unit", "period": PERIOD, "unit": ",".join(sorted(ours)),
                                                     "measures": "dispatched,overdue,missed,unsatisfied"}).json()
        by_unit = {row["key"]: row["counts"] for row in stats.get("rows", [])}
        return (by_unit.get(LATE, {}).get("missed") == PER_UNIT
                and by_unit.get(UNSATISFACTORY, {}).get("unsatisfied") == PER_UNIT and by_unit)
    by_unit = wait_for(settled, 30, interval=0.5, message="bulletin's aggregates of the month")
    assert by_unit[LATE]["overdue"] == PER_UNIT and by_unit[PROMPT]["unsatisfied"] == 0
    assert by_unit[PROMPT]["dispatched"] == by_unit[LATE]["dispatched"] == PER_UNIT

    # the service's timer makes the monthly bulletin once March has ended (on the schedule) ...
    wait_for(lambda: any(b["period"] == PERIOD for b in stack.get(
        "/v1/bulletins", params={"kind": "monthly", "year": 2027}).json()["items"]), 60, interval=1,
        message="the scheduled monthly bulletin")
    answers = []

    def published():   # ... and on demand it is made again (a new revision, the same number)
        response = stack.post("/v1/bulletins", {"kind": "monthly", "period": PERIOD, "replace": True})
        answers.append(f"{response.status_code} {response.text[:300]}")
        return response.status_code in (200, 201) and response.json()
    try:
        summary = wait_for(published, 30, interval=1, message="the monthly bulletin on demand")
    finally:
        print("\n".join(answers[-3:]))
    assert summary["revision"] >= 2
    bulletin = stack.get(f"/v1/bulletins/{summary['id']}").json()
    content = bulletin["content"]
    assert bulletin["period"] == PERIOD and bulletin["issue"].startswith("2027年第")

    named = {name: {row["unit_id"]: row for row in rows} for name, rows in content["lists"].items()}
    assert set(named["overdue"]) & ours == {LATE}
    assert set(named["missed"]) & ours == {LATE}
    assert set(named["unsatisfied"]) & ours == {UNSATISFACTORY}
    assert set(named["unresolved"]) & ours == {UNSATISFACTORY}
    assert PROMPT not in bulletin["named_units"] and {LATE, UNSATISFACTORY} <= set(bulletin["named_units"])
    assert named["overdue"][LATE]["count"] == PER_UNIT and sorted(named["overdue"][LATE]["numbers"]) == sorted(made[LATE])
    assert sorted(named["missed"][LATE]["numbers"]) == sorted(made[LATE])
    assert sorted(named["unsatisfied"][UNSATISFACTORY]["numbers"]) == sorted(made[UNSATISFACTORY])
    assert named["unsatisfied"][UNSATISFACTORY]["unit_name"] == "市供暖集团"

    assessment = stack.get("/v1/assessment", params={"period": PERIOD}).json()
    rank = {row["unit_id"]: row for row in assessment["ranking"]}
    assert rank[PROMPT]["score"] > rank[LATE]["score"] and rank[PROMPT]["rank"] < rank[LATE]["rank"]
    assert rank[PROMPT]["score"] > rank[UNSATISFACTORY]["score"]

    table = {row["unit_id"]: row["metrics"] for row in content["units"]}
    counted = {unit: direct_count(stack, unit, made[unit]) for unit in ours}
    for unit in ours:
        m, n = table[unit], counted[unit]
        assert rank[unit]["dispatched"] == n["dispatched"], unit
        assert (m["response_rate"]["numerator"], m["response_rate"]["denominator"]) == (n["accepted"], n["dispatched"])
        assert (m["on_time_rate"]["numerator"], m["on_time_rate"]["denominator"]) == \
            (n["dispatched"] - n["late"], n["dispatched"]), unit
        assert (m["satisfaction_rate"]["numerator"], m["satisfaction_rate"]["denominator"]) == \
            (n["satisfied"], n["rated"]), unit
        assert (m["resolution_rate"]["numerator"], m["resolution_rate"]["denominator"]) == (n["solved"], n["rated"])
        assert m["late_feedback"]["value"] == n["late"] and m["overdue"]["value"] == n["late"], unit
        assert (m["return_rate"]["numerator"], m["return_rate"]["denominator"]) == (0, n["dispatched"])
    # and what the test did, in plain numbers
    assert counted[PROMPT] == {"dispatched": 3, "accepted": 3, "late": 0, "rated": 3, "satisfied": 3, "solved": 3}
    assert counted[LATE] == {"dispatched": 3, "accepted": 3, "late": 3, "rated": 3, "satisfied": 3, "solved": 3}
    assert counted[UNSATISFACTORY] == {"dispatched": 3, "accepted": 3, "late": 0, "rated": 3, "satisfied": 0,
                                       "solved": 0}

