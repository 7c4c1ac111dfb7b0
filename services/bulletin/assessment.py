"""The assessment (统一考核, R18): a score per unit over a period from weighted parts, the ranking, the
top 3 (praised) and the bottom 3 (criticised). Pure.

The scheme is configuration (`config/assessment.yaml`), not code:
  parts       automatic ones take a metric (metrics.py) whose value in 0..1 earns that share of the
              part's weight (`invert: true` for a rate where lower is better, e.g. the return rate);
              manual ones (institution building, training, knowledge-base upkeep) earn
              weight × score / 100 from the score an administrator entered for the unit and period.
  deductions  points taken per counted event (reminders, supervision cases, accountability records),
              each capped.
  no_data     a metric part whose denominator is empty scores `full` (nothing to hold against the unit)
              or `zero`.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from . import metrics


@dataclass(frozen=True)
class Part:
    id: str
    label: str
    weight: float
    metric: str | None = None     # automatic
    invert: bool = False          # 1 - rate earns the points (lower is better)
    manual: bool = False          # entered by hand (put_assessment_input)


@dataclass(frozen=True)
class Deduction:
    id: str
    label: str
    metric: str
    per: float
    cap: float


@dataclass(frozen=True)
class Scheme:
    parts: tuple[Part, ...]
    deductions: tuple[Deduction, ...]
    no_data: Literal["full", "zero"] = "full"
    rank_min_dispatched: int = 1    # a unit with fewer dispatches in the period is scored, not ranked

    @property
    def manual_parts(self) -> dict[str, Part]:
        return {p.id: p for p in self.parts if p.manual}

    def to_json(self) -> dict[str, Any]:
        return {"parts": [{"id": p.id, "label": p.label, "weight": p.weight, "metric": p.metric, "invert": p.invert,
                           "manual": p.manual} for p in self.parts],
                "deductions": [{"id": d.id, "label": d.label, "metric": d.metric, "per": d.per, "cap": d.cap}
                               for d in self.deductions],
                "no_data": self.no_data, "rank_min_dispatched": self.rank_min_dispatched,
                "max_score": sum(p.weight for p in self.parts)}


def load_scheme(data: Mapping[str, Any]) -> Scheme:
    """The scheme from config/assessment.yaml, checked: known metrics, unique ids, positive weights."""
    parts = []
    for raw in data.get("parts") or ():
        manual = bool(raw.get("manual"))
        metric = raw.get("metric")
        if manual == bool(metric):
            raise ValueError(f"assessment part {raw.get('id')!r}: give either `metric` or `manual: true`")
        if metric and metrics.BY_NAME.get(metric, None) is None:
            raise ValueError(f"assessment part {raw['id']!r}: unknown metric {metric!r}")
        if metric and metrics.BY_NAME[metric].kind != "rate":
            raise ValueError(f"assessment part {raw['id']!r}: {metric} is a count; use it as a deduction")
        if float(raw["weight"]) <= 0:
            raise ValueError(f"assessment part {raw['id']!r}: the weight must be positive")
        parts.append(Part(str(raw["id"]), str(raw.get("label", raw["id"])), float(raw["weight"]), metric,
                          bool(raw.get("invert", False)), manual))
    deductions = []
    for raw in data.get("deductions") or ():
        if raw["metric"] not in metrics.BY_NAME:
            raise ValueError(f"assessment deduction {raw.get('id')!r}: unknown metric {raw['metric']!r}")
        deductions.append(Deduction(str(raw["id"]), str(raw.get("label", raw["id"])), str(raw["metric"]),
                                    float(raw["per"]), float(raw["cap"])))
    ids = [p.id for p in parts] + [d.id for d in deductions]
    if len(ids) != len(set(ids)):
        raise ValueError("assessment part and deduction ids must be unique")
    no_data = data.get("no_data", "full")
    if no_data not in ("full", "zero"):
        raise ValueError("assessment no_data must be full or zero")
    return Scheme(tuple(parts), tuple(deductions), no_data, int(data.get("rank_min_dispatched", 1)))


@dataclass(frozen=True)
class ManualInput:
    unit_id: str
    part: str
    score: float        # 0..100
    note: str
    by: str             # user id
    at: str             # ISO instant


def score_unit(scheme: Scheme, counters: Mapping[str, int], inputs: Mapping[str, ManualInput]) -> dict[str, Any]:
    """One unit's score and its breakdown (every part with what it was computed from)."""
    parts, total, pending = [], 0.0, []
    for p in scheme.parts:
        row: dict[str, Any] = {"id": p.id, "label": p.label, "weight": p.weight}
        if p.manual:
            given = inputs.get(p.id)
            if given is None:
                pending.append(p.id)
                row.update(points=0.0, basis={"manual": None})
            else:
                row.update(points=round(p.weight * given.score / 100, 2),
                           basis={"manual": {"score": given.score, "note": given.note, "by": given.by, "at": given.at}})
        else:
            assert p.metric is not None
            m = metrics.evaluate(metrics.BY_NAME[p.metric], counters)
            value = m["value"]
            if value is None:
                share = 1.0 if scheme.no_data == "full" else 0.0
            else:
                share = 1.0 - float(value) if p.invert else float(value)  # type: ignore[arg-type]
            row.update(points=round(p.weight * share, 2), basis={"metric": p.metric, **m})
        total += row["points"]
        parts.append(row)
    deductions = []
    for d in scheme.deductions:
        count = int(metrics.evaluate(metrics.BY_NAME[d.metric], counters)["value"])  # type: ignore[call-overload]
        points = round(min(d.cap, d.per * count), 2)
        total -= points
        deductions.append({"id": d.id, "label": d.label, "metric": d.metric, "count": count, "points": points})
    return {"score": round(max(0.0, total), 2), "parts": parts, "deductions": deductions, "pending_manual": pending}


def rank(scheme: Scheme, units: Mapping[str, Mapping[str, int]], inputs: Mapping[str, Mapping[str, ManualInput]],
         names: Mapping[str, str], top: int = 3) -> dict[str, Any]:
    """Every unit scored; those with at least `rank_min_dispatched` dispatches in the period ranked (ties
    share a rank), with the top and bottom `top`; the others follow unranked (nothing to assess them on
    but the manual parts)."""
    rows = []
    for unit_id in units:
        scored = score_unit(scheme, units[unit_id], inputs.get(unit_id, {}))
        dispatched = int(units[unit_id].get("dispatched", 0))
        rows.append({"unit_id": unit_id, "unit_name": names.get(unit_id, unit_id), **scored,
                     "dispatched": dispatched, "ranked": dispatched >= scheme.rank_min_dispatched, "rank": None})
    rows.sort(key=lambda r: (not r["ranked"], -r["score"], r["unit_id"]))
    ranked = [r for r in rows if r["ranked"]]
    previous_score, previous_rank = None, 0
    for index, row in enumerate(ranked, start=1):
        if row["score"] != previous_score:
            previous_score, previous_rank = row["score"], index
        row["rank"] = previous_rank

    def brief(r: dict[str, Any]) -> dict[str, Any]:
        return {"unit_id": r["unit_id"], "unit_name": r["unit_name"], "score": r["score"], "rank": r["rank"]}
    return {"ranking": rows, "top": [brief(r) for r in ranked[:top]],
            "bottom": [brief(r) for r in ranked[-top:][::-1]] if ranked else []}
