"""bulletin's pure rules: the metric formulas (numerator and denominator), periods, the hot-spot test, the
assessment's scoring and what a bulletin says (R2, R12, R16, R18)."""
from datetime import date, datetime, timedelta, timezone

import pytest

from services.bulletin import assessment as scoring
from services.bulletin import domain, metrics, periods, report
from services.bulletin import hotspots as hs

BJ = timezone(timedelta(hours=8))


# -- metrics: defined once, with their numerator and denominator -----------------------------------------

def test_on_time_rate_is_met_over_met_plus_late_with_both_parts_returned():
    m = metrics.evaluate(metrics.BY_NAME["on_time_rate"], {"due_met": 7, "due_late": 3, "missed": 2})
    assert m == {"numerator": 7, "denominator": 10, "value": 0.7}


def test_satisfaction_counts_basically_satisfied_and_excludes_unrated():
    counters = {"rated": 8, "satisfied": 5, "basically_satisfied": 1, "unsatisfied": 2, "unreached": 4}
    assert metrics.evaluate(metrics.BY_NAME["satisfaction_rate"], counters) == {
        "numerator": 6, "denominator": 8, "value": 0.75}


@pytest.mark.parametrize("name, counters, expected", [
    ("resolution_rate", {"rated": 4, "solved": 3, "unsolved": 1}, (3, 4, 0.75)),
    ("contact_rate", {"rated": 5, "contacted": 4}, (4, 5, 0.8)),
    ("response_rate", {"dispatched": 8, "responded": 6, "accepted": 8}, (6, 8, 0.75)),
    ("return_rate", {"dispatched": 20, "returned": 1}, (1, 20, 0.05)),
])
def test_each_rate_names_its_parts(name, counters, expected):
    m = metrics.evaluate(metrics.BY_NAME[name], counters)
    assert (m["numerator"], m["denominator"], m["value"]) == expected


def test_a_rate_with_nothing_in_its_denominator_has_no_value_and_counts_are_plain():
    assert metrics.evaluate(metrics.BY_NAME["satisfaction_rate"], {}) == {"numerator": 0, "denominator": 0,
                                                                        "value": None}
    all_ = metrics.evaluate_all({"reminders": 3, "supervision": 1, "accountability": 2, "missed": 4, "overdue": 5})
    assert [all_[k]["value"] for k in ("reminders", "supervision_cases", "accountability_records", "late_feedback",
                                       "overdue")] == [3, 1, 2, 4, 5]
    assert metrics.percent(0.8765) == "87.65%" and metrics.percent(None) == "—"


def test_every_metric_is_built_from_known_counters_and_described():
    for m in metrics.METRICS:
        assert set(m.numerator) | set(m.denominator) <= set(domain.COUNTERS), m.name
        assert m.formula and m.label
    assert {d["name"] for d in metrics.describe()} == set(metrics.BY_NAME)


# -- periods -------------------------------------------------------------------------------------------------

def test_periods_of_each_kind_and_their_keys_labels_and_predecessors():
    day = date(2026, 3, 11)
    week = periods.period_of("week", day)
    assert (week.key, week.first_day, week.last_day) == ("2026-W11", "2026-03-09", "2026-03-15")
    assert week.label == "2026年第11周（3月9日—3月15日）" and week.previous().key == "2026-W10"
    month = periods.period_of("month", day)
    assert (month.key, month.label, month.length, month.previous(2).key) == ("2026-03", "2026年3月", 31, "2026-01")
    assert periods.period_of("quarter", day).key == "2026-Q1" and periods.period_of("quarter", day).label == "2026年第一季度"
    assert periods.period_of("year", day).previous().key == "2025"
    assert periods.period_of("day", day).next().key == "2026-03-12"
    r = periods.between(date(2026, 3, 1), date(2026, 3, 10))
    assert (r.key, r.length, r.previous().key) == ("2026-03-01..2026-03-10", 10, "2026-02-19..2026-02-28")
    for key in ("2026-W11", "2026-03", "2026-Q4", "2026", "2026-03-11", "2026-03-01..2026-03-10"):
        assert periods.parse_key(key).key == key
    with pytest.raises(ValueError):
        periods.parse_key("2026-Q5")


def test_a_query_names_a_period_by_kind_key_or_range():
    today = date(2026, 9, 30)
    default = periods.period_of("day", today)
    assert periods.resolve("week", None, None, None, today=today, default=default).key == "2026-W40"
    assert periods.resolve("month", date(2026, 8, 3), None, None, today=today, default=default).key == "2026-08"
    assert periods.resolve("2026-Q2", None, None, None, today=today, default=default).key == "2026-Q2"
    assert periods.resolve(None, None, "2026-09-01", "2026-09-10", today=today, default=default).length == 10
    instants = periods.resolve(None, None, "2026-08-31T16:00:00Z", "2026-09-30T16:00:00Z", today=today, default=default)
    assert (instants.first_day, instants.last_day) == ("2026-09-01", "2026-09-30")
    assert periods.resolve(None, None, None, None, today=today, default=default) is default
    for bad in (("week", None, "2026-09-01", None), (None, date(2026, 9, 1), None, None), ("2026-09", date(2026, 9, 1), None, None)):
        with pytest.raises(ValueError):
            periods.resolve(*bad, today=today, default=default)


def test_the_last_ended_period_is_read_in_beijing_time():
    # 2026-10-01 00:30 in Beijing is still 2026-09-30 in UTC
    now = datetime(2026, 10, 1, 0, 30, tzinfo=BJ)
    assert periods.last_ended("month", now).key == "2026-09"
    assert periods.last_ended("week", now).key == "2026-W39"


# -- categories roll up into their parents ---------------------------------------------------------------------

def test_children_roll_up_into_their_parents():
    assert domain.category_path("noise.commercial") == ["noise", "noise.commercial"]
    assert domain.rollup({"noise.commercial": 3, "noise.construction": 2, "noise": 1, "waste": 4}) == {
        "noise": 6, "noise.commercial": 3, "noise.construction": 2, "waste": 4}


# -- R12: the hot-spot test ----------------------------------------------------------------------------------

def test_poisson_upper_tail_matches_the_direct_sum_and_survives_large_counts():
    import math
    for k, lam in ((5, 0.5), (5, 2.0), (10, 5.0), (3, 5.0)):
        direct = 1 - sum(math.exp(-lam) * lam ** i / math.factorial(i) for i in range(k))
        assert hs.poisson_upper_tail(k, lam) == pytest.approx(direct, rel=1e-9)
    assert hs.poisson_upper_tail(6000, 5000.0) < 1e-30      # a big city's surge is still a surge
    assert 0.05 < hs.poisson_upper_tail(5100, 5000.0) < 0.1   # and a wobble is a wobble
    assert hs.poisson_upper_tail(0, 3.0) == 1.0 and hs.poisson_upper_tail(2, 0.0) == 0.0


def test_a_significance_test_stops_summing_once_the_tail_reaches_alpha():
    exact = hs.poisson_upper_tail(60100, 60000.0)
    bound = hs.poisson_upper_tail(60100, 60000.0, at_least=0.01)
    assert 0.01 <= bound <= exact
    assert hs.poisson_upper_tail(60000, 61000.0, at_least=0.01) == 0.5 <= hs.poisson_upper_tail(60000, 61000.0)
    assert hs.poisson_upper_tail(62000, 60000.0, at_least=0.01) == pytest.approx(hs.poisson_upper_tail(62000, 60000.0))
    assert hs.poisson_upper_tail(5, 0.5, at_least=0.01) == pytest.approx(0.000172115629955, rel=1e-6)


def test_a_surge_in_one_street_is_a_hot_spot_and_steady_traffic_is_not():
    steady = {("noise.commercial", "tiedong", "jiefang"): 4, ("waste.household", "tiexi", None): 30}
    history = [dict(steady) for _ in range(4)]
    surge = {**steady, ("noise.commercial", "tiedong", "jiefang"): 19}
    (rise,) = hs.rises(surge, history)
    assert (rise.category, rise.district, rise.street, rise.count, rise.baseline) == (
        "noise.commercial", "tiedong", "jiefang", 19, 4.0)
    assert rise.p_value < 0.01 and rise.ratio == 4.75
    assert hs.rises(steady, history) == []
    wobble = {**steady, ("waste.household", "tiexi", None): 38}   # +27 % on 30: within chance
    assert hs.rises(wobble, history) == []


def test_a_rise_needs_the_minimum_count_and_some_history():
    history = [{} for _ in range(4)]
    assert hs.rises({("noise", "tiedong", None): 4}, history) == []     # below min_count
    assert [r.count for r in hs.rises({("noise", "tiedong", None): 5}, history)] == [5]   # new, floor 0.5
    assert hs.rises({("noise", "tiedong", None): 50}, []) == []         # nothing to rise against


def test_a_parent_is_reported_only_when_no_child_explains_the_rise():
    history = [{("noise.commercial", "tiedong", None): 2, ("noise.construction", "tiedong", None): 2}] * 4
    one_child = {("noise.commercial", "tiedong", None): 20, ("noise.construction", "tiedong", None): 2}
    assert [(r.category, r.count) for r in hs.rises(one_child, history)] == [("noise.commercial", 20)]
    spread = {("noise.commercial", "tiedong", None): 5, ("noise.construction", "tiedong", None): 5,
              ("noise.neighbourhood", "tiedong", None): 4}
    assert [(r.category, r.count) for r in hs.rises(spread, history)] == [("noise", 14)]


def test_repeated_requests_about_one_street_are_a_cluster():
    current = {("urban.street_vending", "tiedong", "jiefang"): 3, ("urban.street_vending", "tiedong", None): 40,
               ("noise", "tiexi", "xinhua"): 2}
    assert hs.clusters(current) == [hs.Cluster("urban.street_vending", "tiedong", "jiefang", 3)]


# -- R18: scoring ------------------------------------------------------------------------------------------------

SCHEME = scoring.load_scheme({
    "parts": [{"id": "on_time", "label": "按时办结率", "weight": 60, "metric": "on_time_rate"},
              {"id": "returns", "label": "退单率", "weight": 20, "metric": "return_rate", "invert": True},
              {"id": "training", "label": "业务培训", "weight": 20, "manual": True}],
    "deductions": [{"id": "reminders", "label": "催办", "metric": "reminders", "per": 1, "cap": 3}],
})


def test_a_score_is_the_weighted_parts_less_the_capped_deductions():
    given = scoring.ManualInput("u1", "training", 50, "", "admin", "2026-10-01T00:00:00.000Z")
    scored = scoring.score_unit(SCHEME, {"due_met": 9, "due_late": 1, "dispatched": 10, "returned": 1,
                                         "reminders": 5}, {"training": given})
    assert [p["points"] for p in scored["parts"]] == [54.0, 18.0, 10.0]
    assert scored["deductions"][0] == {"id": "reminders", "label": "催办", "metric": "reminders", "count": 5,
                                       "points": 3.0}
    assert scored["score"] == 79.0 and scored["pending_manual"] == []
    assert scored["parts"][0]["basis"] == {"metric": "on_time_rate", "numerator": 9, "denominator": 10, "value": 0.9}
    assert scored["parts"][2]["basis"]["manual"]["by"] == "admin"


def test_ranking_ties_share_a_rank_and_units_without_tickets_are_not_ranked():
    units = {"prompt": {"dispatched": 10, "due_met": 10}, "late": {"dispatched": 10, "due_met": 2, "due_late": 8},
             "twin": {"dispatched": 5, "due_met": 5}, "idle": {}}
    out = scoring.rank(SCHEME, units, {}, {"prompt": "准时局"})
    assert [(r["unit_id"], r["rank"]) for r in out["ranking"]] == [("prompt", 1), ("twin", 1), ("late", 3),
                                                                  ("idle", None)]
    assert [r["unit_id"] for r in out["top"]] == ["prompt", "twin", "late"]
    assert [r["unit_id"] for r in out["bottom"]] == ["late", "twin", "prompt"]
    assert out["ranking"][0]["unit_name"] == "准时局" and out["ranking"][0]["pending_manual"] == ["training"]


@pytest.mark.parametrize("bad", [
    {"parts": [{"id": "x", "weight": 10, "metric": "no_such_metric"}]},
    {"parts": [{"id": "x", "weight": 10}]},
    {"parts": [{"id": "x", "weight": 10, "metric": "reminders"}]},
    {"parts": [{"id": "x", "weight": 0, "manual": True}]},
    {"parts": [{"id": "x", "weight": 1, "manual": True}, {"id": "x", "weight": 1, "manual": True}]},
    {"parts": [], "deductions": [{"id": "d", "metric": "nope", "per": 1, "cap": 1}]},
    {"parts": [], "no_data": "maybe"},
])
def test_a_bad_scheme_is_refused_at_start(bad):
    with pytest.raises(ValueError):
        scoring.load_scheme(bad)


def test_the_configured_scheme_loads_and_weighs_100():
    from pathlib import Path

    import yaml
    data = yaml.safe_load((Path(__file__).resolve().parents[2] / "config" / "assessment.yaml").read_text())
    scheme = scoring.load_scheme(data)
    assert sum(p.weight for p in scheme.parts) == 100
    assert set(scheme.manual_parts) == {"institution", "training", "knowledge_base"}


# -- R16: what the bulletin says -----------------------------------------------------------------------------------

def test_place_buckets_add_up_with_streets_as_their_own_cells():
    docs = [{"day": "2026-09-01", "district": "tiedong", "registered": 5, "type": {"complain": 5},
             "channel": {"phone": 5}, "category": {"noise.commercial": 5}, "street": {"jiefang": {"noise.commercial": 3}}},
            {"day": "2026-09-02", "district": "tiedong", "registered": 1, "type": {"consult": 1},
             "channel": {"web": 1}, "category": {"waste": 1}, "street": {}}]
    s = report.sum_places(docs)
    assert (s.registered, s.type, s.district) == (6, {"complain": 5, "consult": 1}, {"tiedong": 6})
    assert s.cells == {("noise.commercial", "tiedong", "jiefang"): 3, ("noise.commercial", "tiedong", None): 2,
                       ("waste", "tiedong", None): 1}


def test_named_lists_name_units_by_count_with_their_ticket_numbers():
    units = report.sum_units([
        {"unit": "late", "counters": {"overdue": 3, "missed": 1}, "lists": {"overdue": ["N1", "N2"], "missed": ["N1"]}},
        {"unit": "late", "counters": {"overdue": 1}, "lists": {"overdue": ["N3"]}},
        {"unit": "sloppy", "counters": {"unsatisfied": 2, "unsolved": 1}, "lists": {"unsatisfied": ["N7", "N8"],
                                                                                    "unresolved": ["N7"]}},
        {"unit": "prompt", "counters": {"due_met": 5}, "lists": {}}])
    lists = report.named_lists(units, {"late": "迟办局"})
    assert lists["overdue"] == [{"unit_id": "late", "unit_name": "迟办局", "count": 4, "numbers": ["N1", "N2", "N3"],
                                 "more": 1}]
    assert [r["unit_id"] for r in lists["unsatisfied"]] == ["sloppy"] and lists["unresolved"][0]["numbers"] == ["N7"]
    assert [r["unit_id"] for r in lists["missed"]] == ["late"]


def test_changes_against_the_previous_period():
    assert report.change(12, 10) == {"value": 12, "previous": 10, "change": 2, "change_pct": 20.0}
    assert report.change(3, 0)["change_pct"] is None
    rows = report.category_breakdown({"noise.commercial": 3, "noise": 1, "waste": 2}, {"noise.commercial": 1},
                                     {"noise": "噪音污染"})
    assert [(r["key"], r["value"], r["previous"]) for r in rows] == [("noise", 4, 1), ("waste", 2, 0)]
    assert [c["key"] for c in rows[0]["children"]] == ["noise.commercial"]
