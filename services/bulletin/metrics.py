"""Outcome metrics per unit and period (三率 and the rest), defined once (R16, R18). Pure.

Each metric is a formula over the counters of the aggregates (domain.COUNTERS): a rate names its
numerator and its denominator and is returned with both, never as a bare ratio; a count is a counter.
The README's "Outcome metrics" section writes the same formulas out; `FORMULAS` is its source.

Sources: REQUIREMENTS.md "metric definitions"; where it is silent, Beijing's 三率 (响应率、解决率、满意率).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class Metric:
    name: str
    label: str                          # 中文
    kind: Literal["rate", "count"]
    numerator: tuple[str, ...]          # counters added up
    denominator: tuple[str, ...] = ()   # counters added up (rates only)
    higher_is_better: bool = True
    formula: str = ""                   # in words, for the README and the API


METRICS: tuple[Metric, ...] = (
    Metric("on_time_rate", "按时办结率", "rate", ("due_met",), ("due_met", "due_late"),
           formula="deadline clocks due in the period that were replied by their deadline (deadline.met, counted "
                   "on the due date) ÷ deadline clocks due in the period (met + late; a clock is late once, when "
                   "deadline.overdue or deadline.missed first says so, counted on its due date; an approved "
                   "extension moves the due date, so it is counted as sla computed it)"),
    Metric("satisfaction_rate", "满意率", "rate", ("satisfied", "basically_satisfied"), ("rated",),
           formula="hotline callbacks rated 满意 or 基本满意 ÷ hotline callbacks with a rating (unrated and unreached "
                   "excluded; a unit's own callback is not counted)"),
    Metric("resolution_rate", "解决率", "rate", ("solved",), ("rated",),
           formula="hotline callbacks saying the matter was solved ÷ hotline callbacks with a rating"),
    Metric("contact_rate", "先行联系率", "rate", ("contacted",), ("rated",),
           formula="hotline callbacks saying the unit contacted the citizen ÷ hotline callbacks with a rating"),
    Metric("response_rate", "响应率", "rate", ("responded",), ("dispatched",),
           formula="dispatches the unit signed for (签收, assignment.accepted) within 24 hours ÷ dispatches to the "
                   "unit, both counted on the dispatch's day"),
    Metric("return_rate", "退单率", "rate", ("returned",), ("dispatched",), higher_is_better=False,
           formula="returns approved (return.approved, against the returning unit) ÷ dispatches to the unit"),
    Metric("reminders", "催办次数", "count", ("reminders",), higher_is_better=False,
           formula="reminders sent to the unit (reminder.sent)"),
    Metric("supervision_cases", "督办件数", "count", ("supervision",), higher_is_better=False,
           formula="supervision cases opened against the unit (supervision.opened)"),
    Metric("accountability_records", "问责记录", "count", ("accountability",), higher_is_better=False,
           formula="accountability records against the unit (accountability.recorded)"),
    Metric("late_feedback", "超时反馈件数", "count", ("missed",), higher_is_better=False,
           formula="replies after the deadline (deadline.missed), on the reply's day"),
    Metric("overdue", "超期未答复件数", "count", ("overdue",), higher_is_better=False,
           formula="deadlines that passed without a reply (deadline.overdue), on the day they passed"),
)

BY_NAME: dict[str, Metric] = {m.name: m for m in METRICS}
FORMULAS: dict[str, str] = {m.name: m.formula for m in METRICS}


def _sum(counters: Mapping[str, int], names: tuple[str, ...]) -> int:
    return sum(int(counters.get(n, 0)) for n in names)


def evaluate(metric: Metric, counters: Mapping[str, int]) -> dict[str, object]:
    """{"numerator", "denominator", "value"} of a rate (value None when nothing is in the denominator),
    {"value"} of a count."""
    numerator = _sum(counters, metric.numerator)
    if metric.kind == "count":
        return {"value": numerator}
    denominator = _sum(counters, metric.denominator)
    value = round(numerator / denominator, 4) if denominator else None
    return {"numerator": numerator, "denominator": denominator, "value": value}


def evaluate_all(counters: Mapping[str, int]) -> dict[str, dict[str, object]]:
    return {m.name: evaluate(m, counters) for m in METRICS}


def describe() -> list[dict[str, object]]:
    """The definitions, as the API lists them beside the figures."""
    return [{"name": m.name, "label": m.label, "kind": m.kind, "numerator": list(m.numerator),
             "denominator": list(m.denominator), "higher_is_better": m.higher_is_better, "formula": m.formula}
            for m in METRICS]


def percent(value: object) -> str:
    """0.8765 -> "87.65%"; None -> "—" (nothing in the denominator)."""
    return "—" if value is None else f"{float(value) * 100:.2f}%"  # type: ignore[arg-type]
