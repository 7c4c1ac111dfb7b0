"""What a bulletin (12345工作简报, R16) says, composed from the aggregates of two periods. Pure.

Inputs are sums of the day buckets of a period (`PlaceSum`, `UnitSum`, made by `sum_places` and
`sum_units` from what the store reads); the output is the bulletin's content as JSON-able data, which
`render.py` turns into HTML and PDF. Its cost depends on the number of days, districts and units,
never on the number of tickets.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from . import hotspots as hs
from . import metrics
from .domain import COUNTERS, LISTS, TYPES_CN, add, category_path, rollup
from .periods import Period

SHOW_NUMBERS = 20   # ticket numbers printed per unit and list; the count says how many there are
LIST_COUNTER = {"overdue": "overdue", "unresolved": "unsolved", "unsatisfied": "unsatisfied", "missed": "missed"}
TOTALS = ("registered", "dispatched", "replied", "closed", "returned", "overdue", "missed", "rated", "unsatisfied",
          "reminders", "supervision")


@dataclass
class PlaceSum:
    """Registrations of a period by type, channel, district, category (as registered) and place cell."""
    registered: int = 0
    type: dict[str, int] = field(default_factory=dict)
    channel: dict[str, int] = field(default_factory=dict)
    district: dict[str, int] = field(default_factory=dict)
    category: dict[str, int] = field(default_factory=dict)
    cells: dict[hs.Cell, int] = field(default_factory=dict)


@dataclass
class UnitSum:
    counters: dict[str, int] = field(default_factory=dict)
    lists: dict[str, list[str]] = field(default_factory=dict)


def sum_places(days: Iterable[Mapping[str, Any]]) -> PlaceSum:
    """Add up place-day buckets: {"district", "registered", "type", "channel", "category", "street"}."""
    out = PlaceSum()
    for d in days:
        district = d["district"]
        n = int(d.get("registered", 0))
        out.registered += n
        out.district[district] = out.district.get(district, 0) + n
        add(out.type, d.get("type", {}))
        add(out.channel, d.get("channel", {}))
        add(out.category, d.get("category", {}))
        in_streets: dict[str, int] = {}
        for street, by_category in (d.get("street") or {}).items():
            for code, k in by_category.items():
                cell = (code, district, street)
                out.cells[cell] = out.cells.get(cell, 0) + k
                in_streets[code] = in_streets.get(code, 0) + k
        for code, k in d.get("category", {}).items():   # the district's own cell: tickets with no street
            rest = k - in_streets.get(code, 0)
            if rest:
                cell = (code, district, None)
                out.cells[cell] = out.cells.get(cell, 0) + rest
    return out


def sum_units(days: Iterable[Mapping[str, Any]]) -> dict[str, UnitSum]:
    """Add up unit-day buckets: {"unit", "counters", "lists"} -> per unit."""
    out: dict[str, UnitSum] = {}
    for d in days:
        u = out.setdefault(d["unit"], UnitSum())
        add(u.counters, d.get("counters", {}))
        for name, numbers in (d.get("lists") or {}).items():
            kept = u.lists.setdefault(name, [])
            kept.extend(n for n in numbers if n not in kept)
    return out


def city_counters(units: Mapping[str, UnitSum]) -> dict[str, int]:
    total: dict[str, int] = {}
    for u in units.values():
        add(total, u.counters)
    return total


def change(now: int, before: int) -> dict[str, Any]:
    return {"value": now, "previous": before, "change": now - before,
            "change_pct": round((now - before) / before * 100, 1) if before else None}


def breakdown(now: Mapping[str, int], before: Mapping[str, int], labels: Mapping[str, str]) -> list[dict[str, Any]]:
    keys = sorted(set(now) | set(before), key=lambda k: (-now.get(k, 0), k))
    return [{"key": k, "label": labels.get(k, k), **change(now.get(k, 0), before.get(k, 0))}
            for k in keys if now.get(k, 0) or before.get(k, 0)]


def category_breakdown(now: Mapping[str, int], before: Mapping[str, int],
                       labels: Mapping[str, str]) -> list[dict[str, Any]]:
    """Top-level categories with their children rolled up; each lists its children (with the parent's own
    tickets as the parent's code when some were registered with the parent code itself)."""
    rolled_now, rolled_before = rollup(now), rollup(before)
    tops = [c for c in set(rolled_now) | set(rolled_before) if "." not in c]
    rows = []
    for top in sorted(tops, key=lambda c: (-rolled_now.get(c, 0), c)):
        children = [c for c in set(now) | set(before) if c != top and category_path(c)[0] == top]
        rows.append({"key": top, "label": labels.get(top, top),
                     **change(rolled_now.get(top, 0), rolled_before.get(top, 0)),
                     "children": breakdown({c: now.get(c, 0) for c in children},
                                           {c: before.get(c, 0) for c in children}, labels)})
    return rows


def named_lists(units: Mapping[str, UnitSum], unit_names: Mapping[str, str]) -> dict[str, list[dict[str, Any]]]:
    """R16: for each list, the units it names, most tickets first, with the count and ticket numbers."""
    out: dict[str, list[dict[str, Any]]] = {}
    for name in LISTS:
        rows = []
        for unit_id, u in units.items():
            count = int(u.counters.get(LIST_COUNTER[name], 0))
            if count <= 0 or not unit_id:
                continue
            numbers = sorted(u.lists.get(name, []))
            rows.append({"unit_id": unit_id, "unit_name": unit_names.get(unit_id, unit_id), "count": count,
                         "numbers": numbers[:SHOW_NUMBERS], "more": max(0, count - min(len(numbers), SHOW_NUMBERS))})
        out[name] = sorted(rows, key=lambda r: (-r["count"], r["unit_id"]))
    return out


def unit_table(units: Mapping[str, UnitSum], unit_names: Mapping[str, str]) -> list[dict[str, Any]]:
    rows = []
    for unit_id, u in units.items():
        if not unit_id:
            continue
        rows.append({"unit_id": unit_id, "unit_name": unit_names.get(unit_id, unit_id),
                     "dispatched": int(u.counters.get("dispatched", 0)), "replied": int(u.counters.get("replied", 0)),
                     "metrics": metrics.evaluate_all(u.counters)})
    return sorted(rows, key=lambda r: (-r["dispatched"], r["unit_id"]))


def hotspot_report(now: PlaceSum, history: list[PlaceSum], rule: hs.Rule,
                   labels: Mapping[str, Mapping[str, str]]) -> dict[str, Any]:
    """R12 as the API and the bulletin show it."""
    cats, districts = labels.get("category", {}), labels.get("district", {})
    streets = labels.get("street", {})
    found = hs.rises(now.cells, [h.cells for h in history], rule)
    return {
        "rule": {"test": "poisson_upper_tail", "alpha": rule.alpha, "min_count": rule.min_count,
                 "baseline_periods": rule.baseline_periods, "baseline_floor": rule.floor,
                 "cluster_min": rule.cluster_min, "history_periods": len(history)},
        "rises": [{"category": r.category, "category_label": cats.get(r.category, r.category),
                   "district": r.district, "district_label": districts.get(r.district, r.district),
                   "street": r.street, "street_label": streets.get(r.street, r.street) if r.street else None,
                   "count": r.count, "baseline": r.baseline, "ratio": r.ratio, "p_value": float(f"{r.p_value:.3g}")}
                  for r in found],
        "clusters": [{"category": c.category, "category_label": cats.get(c.category, c.category),
                      "district": c.district, "district_label": districts.get(c.district, c.district),
                      "street": c.street, "street_label": streets.get(c.street, c.street), "count": c.count}
                     for c in hs.clusters(now.cells, rule)],
    }


def compose(*, period: Period, previous: Period, now_places: PlaceSum, before_places: PlaceSum,
            now_units: Mapping[str, UnitSum], before_units: Mapping[str, UnitSum],
            hotspots: Mapping[str, Any], unit_names: Mapping[str, str],
            labels: Mapping[str, Mapping[str, str]]) -> dict[str, Any]:
    """The bulletin's content (without its number and id, which publishing gives it)."""
    city_now, city_before = city_counters(now_units), city_counters(before_units)
    city_now["registered"], city_before["registered"] = now_places.registered, before_places.registered
    lists = named_lists(now_units, unit_names)
    return {
        "period": period.to_json(),
        "previous_period": previous.to_json(),
        "totals": {name: {"label": COUNTERS.get(name, name), **change(city_now.get(name, 0), city_before.get(name, 0))}
                   for name in TOTALS},
        "metrics": metrics.evaluate_all(city_now),
        "metrics_previous": metrics.evaluate_all(city_before),
        "by_type": breakdown(now_places.type, before_places.type, TYPES_CN),
        "by_channel": breakdown(now_places.channel, before_places.channel, labels.get("channel", {})),
        "by_district": breakdown(now_places.district, before_places.district, labels.get("district", {})),
        "by_category": category_breakdown(now_places.category, before_places.category, labels.get("category", {})),
        "hotspots": dict(hotspots),
        "lists": lists,
        "named_units": sorted({row["unit_id"] for rows in lists.values() for row in rows}),
        "units": unit_table(now_units, unit_names),
    }
