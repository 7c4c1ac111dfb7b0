"""In-memory twin of `store.RoutingStore` for fast tests (tests/contract runs one suite on both)."""
from __future__ import annotations

import copy
from collections.abc import Iterable

from hotline_common.config_files import read_yaml
from hotline_common.mongo import BOOKKEEPING, Applied
from hotline_common.testing import MemoryAggregates

from .domain import Assignment, Rule
from .store import count_returns, from_doc, to_doc, unit_doc


class MemoryRoutingStore:
    """Assignments as documents in `MemoryAggregates` (converted by store.py's `to_doc`/`from_doc`);
    units and rules in dicts. The directory is always current (no cache to refresh)."""

    def __init__(self, outbox, units: Iterable[dict] = (), rules: Iterable[dict] = ()):
        self.assignments = MemoryAggregates("assignments", outbox, unique=("number",))
        self._units: dict[str, dict] = {}
        self._rules: dict[str, dict] = {}
        for unit in units:
            self._units[unit["id"]] = {"_id": unit["id"], **unit_doc(unit)}
        for rule in rules:
            self.put_rule(Rule.from_dict(rule))

    def ensure_indexes(self) -> None:
        pass

    def ping(self) -> None:
        pass

    def seed(self, config_dir) -> None:
        if not self._units:
            for unit in read_yaml(config_dir, "units.yaml")["units"]:
                self._units[unit["id"]] = {"_id": unit["id"], **unit_doc(unit)}
        if not self._rules:
            for rule in read_yaml(config_dir, "routing-rules.yaml")["rules"]:
                self.put_rule(Rule.from_dict(rule))

    # -- the directory
    def directory(self) -> tuple[list[Rule], dict]:
        rules = [Rule.from_dict(d) for d in self.rules()]
        units = {k: copy.deepcopy(u) for k, u in self._units.items() if u.get("active", True)}
        return rules, units

    def units(self) -> list[dict]:
        return [copy.deepcopy(self._units[k]) for k in sorted(self._units)]

    def unit(self, unit_id: str) -> dict | None:
        unit = self._units.get(unit_id)
        return copy.deepcopy(unit) if unit is not None else None

    def put_unit(self, unit_id: str, unit: dict) -> None:
        self._units[unit_id] = {"_id": unit_id, **copy.deepcopy(unit)}

    def rules(self) -> list[dict]:
        return [copy.deepcopy(d) for d in sorted(self._rules.values(), key=lambda d: d["position"])]

    def put_rule(self, rule: Rule) -> None:
        existing = self._rules.get(rule.id)
        position = existing["position"] if existing else len(self._rules)
        self._rules[rule.id] = {"_id": rule.id, **rule.to_dict(), "position": position}

    def delete_rule(self, rule_id: str) -> bool:
        return self._rules.pop(rule_id, None) is not None

    def return_counts(self, unit_id: str) -> dict:
        return count_returns(self.assignments.find(), unit_id)

    # -- assignments
    def add_assignment(self, a: Assignment, events: Iterable, *, cause: str) -> Applied:
        return self.assignments.insert(to_doc(a), events, cause=cause)

    def get_assignment(self, key: str) -> Assignment | None:
        doc = self.assignments.get(key) or self.assignments.find_one({"number": key})
        return from_doc(doc) if doc is not None else None

    def save(self, a: Assignment, events: Iterable, *, cause: str | None = None) -> Applied:
        changes = {k: v for k, v in to_doc(a).items() if k not in BOOKKEEPING}
        return self.assignments.update(a.ticket_id, changes, events, version=a.version, cause=cause)
