"""Hot spots (热点、难点, R12): what rises significantly, and where requests repeat. Pure.

The rule, stated once:

* A **cell** is a category (a registered code, and every parent code with its children rolled up) in a
  district, or in a street (街道/乡镇) of a district when tickets carry one.
* A cell **rises** when its count `k` in the period is at least `min_count` (5) and, against the mean
  `λ` of the same cell over the `baseline_periods` (4) periods before, a Poisson upper tail says it is
  unlikely to be chance: P(X ≥ k | λ) < `alpha` (0.01). λ is floored at `floor` (0.5) so that a cell
  that was silent and now has `min_count` requests is a rise rather than a division by zero.
* A parent category is reported only when none of its children rises in the same place (a rise of
  `noise.commercial` in 铁东区 is not reported twice as `noise` too).
* A **cluster** of repeated requests is a category in one street with at least `cluster_min` (3)
  requests in the period. Without a street (intake sends none yet) a district is too coarse for a
  "same place" cluster, so none is reported.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .domain import category_path

Cell = tuple[str, str, str | None]    # (category, district, street)


@dataclass(frozen=True)
class Rule:
    min_count: int = 5
    alpha: float = 0.01
    baseline_periods: int = 4
    floor: float = 0.5
    cluster_min: int = 3


@dataclass(frozen=True)
class Rise:
    category: str
    district: str
    street: str | None
    count: int
    baseline: float        # mean over the baseline periods
    p_value: float
    ratio: float | None    # count / baseline (None when the baseline is 0)


@dataclass(frozen=True)
class Cluster:
    category: str
    district: str
    street: str
    count: int


def poisson_upper_tail(k: int, lam: float, at_least: float | None = None) -> float:
    """P(X >= k) for X ~ Poisson(lam), in log space (no underflow for large counts).

    With `at_least`, the sum stops as soon as the tail is known to reach it and returns a lower bound
    (>= at_least) instead of the exact value: a significance test needs no more, and its cost then does
    not grow with the counts. Below it the value is exact."""
    if k <= 0:
        return 1.0
    if lam <= 0:
        return 0.0
    if k <= lam and at_least is not None and at_least <= 0.5:
        return 0.5   # k is at most the median, which is >= lam - ln 2 > floor(lam) - 1: P(X >= k) >= 1/2

    def log_pmf(i: int) -> float:
        return -lam + i * math.log(lam) - math.lgamma(i + 1)

    if k <= lam:  # the tail holds most of the mass: 1 - the lower part, summed down from k - 1
        lower, i, log_term = 0.0, k - 1, log_pmf(k - 1)   # terms decrease from k - 1 down (below the mode)
        while i >= 0:
            term = math.exp(log_term)
            lower += term
            if term == 0.0 or term < lower * 1e-15:
                break
            log_term += math.log(i) - math.log(lam) if i > 0 else 0.0
            i -= 1
        return max(0.0, 1.0 - lower)
    total, i, log_term = 0.0, k, log_pmf(k)   # terms decrease from k up
    while True:
        term = math.exp(log_term)
        total += term
        if term == 0.0 or term < total * 1e-9 or (at_least is not None and total >= at_least):
            return min(1.0, total)
        i += 1
        log_term += math.log(lam) - math.log(i)


def with_parents(cells: Mapping[Cell, int]) -> dict[Cell, int]:
    """Counts per cell with every parent category added (children rolled up)."""
    out: dict[Cell, int] = {}
    for (category, district, street), n in cells.items():
        for level in category_path(category):
            key = (level, district, street)
            out[key] = out.get(key, 0) + n
    return out


def rises(current: Mapping[Cell, int], history: Sequence[Mapping[Cell, int]], rule: Rule = Rule()) -> list[Rise]:
    """The cells whose count this period rises significantly against the periods before (most
    significant first). `history`: the counts of the previous periods (any number; the rule uses
    what it is given, normally `rule.baseline_periods` of them)."""
    if not history:
        return []   # nothing to rise against (the first period with data)
    now = with_parents(current)
    before = [with_parents(h) for h in history]
    found: dict[Cell, Rise] = {}
    for cell, k in now.items():
        if k < rule.min_count:
            continue
        baseline = sum(h.get(cell, 0) for h in before) / len(before)
        p = poisson_upper_tail(k, max(baseline, rule.floor), at_least=rule.alpha)
        if p < rule.alpha:
            found[cell] = Rise(cell[0], cell[1], cell[2], k, round(baseline, 2), p,
                               round(k / baseline, 2) if baseline else None)
    kept = [r for r in found.values()
            if not any(other != (r.category, r.district, r.street) and other[1:] == (r.district, r.street)
                       and other[0].startswith(r.category + ".") for other in found)]
    return sorted(kept, key=lambda r: (r.p_value, -r.count, r.category, r.district, r.street or ""))


def clusters(current: Mapping[Cell, int], rule: Rule = Rule()) -> list[Cluster]:
    """Repeated requests about one place: a category in one street, `cluster_min` times or more."""
    found = [Cluster(category, district, street, n) for (category, district, street), n in current.items()
             if street and n >= rule.cluster_min]
    return sorted(found, key=lambda c: (-c.count, c.category, c.district, c.street))
