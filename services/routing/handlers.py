"""Routing use cases: (command, ports) -> result. Events go out through the store's outbox."""
from __future__ import annotations

from hotline_common.actors import ADMIN, OPERATOR, SUPERVISOR, SYSTEM_ACTOR, Actor
from hotline_common.catalog import Catalog
from hotline_common.errors import NotFound, StaleVersion
from hotline_common.mongo import retrying
from hotline_common.validation import load

from . import domain
from . import schemas as s


class Routing:
    def __init__(self, store, clock, catalog: Catalog):
        self.store = store
        self.clock = clock
        self.catalog = catalog

    # -- R3, R6: a registered ticket goes to the unit its rules name
    def route_registered(self, event: dict) -> bool:
        ticket = domain.TicketFacts.from_event(event["data"])
        rules, units = self.store.directory()
        routed = domain.route_new_ticket(ticket, rules, units, self.clock.now(), SYSTEM_ACTOR)
        return bool(self.store.add_assignment(routed.assignment, routed.events, cause=event["id"]))

    # -- handling again, verification (R10, R15)
    def reopen(self, event: dict) -> bool:
        data = event["data"]
        if event["type"].endswith("reopened") and data.get("reason") != "unsatisfied":
            return False
        reason = "unsatisfied" if event["type"].endswith("reopened") else "reinvestigation"
        working_days = data.get("working_days") if reason == "reinvestigation" else None
        return self._react(data["ticket_id"], event["id"], lambda a: domain.reopen(
            a, reason, working_days, self.clock.now(), SYSTEM_ACTOR))

    def key_ticket(self, event: dict) -> bool:
        return self._react(event["data"]["ticket_id"], event["id"],
                           lambda a: (domain.require_verification(a, "key_ticket"), []))

    def verification_filed(self, event: dict) -> bool:
        return self._react(event["data"]["ticket_id"], event["id"], lambda a: (domain.verification_filed(a), []))

    def _react(self, ticket_id: str, cause: str, decide) -> bool:
        assignment = self.store.get_assignment(ticket_id)
        if assignment is None:
            raise NotFound(f"no assignment for {ticket_id} yet")  # retried
        state, events = decide(assignment)
        return bool(self.store.save(state, events, version=assignment["version"], cause=cause))

    # -- reading an assignment (the unit's work on a ticket)
    def get(self, key: str, actor: Actor) -> dict:
        return present(self._visible(key, actor))

    def _visible(self, key: str, actor: Actor) -> dict:
        assignment = self.store.get_assignment(key)
        if assignment is None or not domain.can_see(assignment, actor):
            raise NotFound(f"ticket {key} not found")  # another unit's ticket is not found either
        return assignment

    def _run(self, key: str, actor: Actor, expected_version: int | None, decide) -> dict:
        """Load, check the caller's If-Match, decide, save with optimistic concurrency; without an
        If-Match a race with another writer is decided again on the fresh state."""
        def attempt():
            assignment = self._visible(key, actor)
            if expected_version is not None and expected_version != assignment["version"]:
                raise StaleVersion(f"the ticket's assignment is at version {assignment['version']}, "
                                   f"not {expected_version}", {"current_version": assignment["version"]})
            state, events = decide(assignment)
            self.store.save(state, events, version=assignment["version"])
            return present({**state, "version": assignment["version"] + 1})
        return attempt() if expected_version is not None else retrying(attempt)

    # -- the hotline office
    def manual_dispatch(self, key, body, actor, expected_version=None) -> dict:
        actor.require(OPERATOR, ADMIN)
        cmd = load(s.DISPATCH, body)
        _, units = self.store.directory()
        return self._run(key, actor, expected_version, lambda a: domain.manual_dispatch(
            a, cmd["unit_id"], cmd["co_units"], cmd["first_responsible"], cmd["note"], units,
            self.clock.now(), actor))

    def decide_return(self, key, body, actor, expected_version=None) -> dict:
        actor.require(OPERATOR, ADMIN)
        cmd = load(s.RETURN_DECISION, body)
        rules, units = self.store.directory()
        return self._run(key, actor, expected_version, lambda a: domain.decide_return(
            a, cmd["approve"], cmd["note"], cmd["redispatch_to"], rules, units, self.clock.now(), actor))

    # -- the lead unit (R4, R5, R9)
    def accept(self, key, body, actor, expected_version=None) -> dict:
        return self._run(key, actor, expected_version, lambda a: domain.accept(a, actor, self.clock.now()))

    def review(self, key, body, actor, expected_version=None) -> dict:
        cmd = load(s.REVIEW, body)
        return self._run(key, actor, expected_version, lambda a: domain.review(
            a, cmd["instructions"], actor, self._unit(a["lead_unit"]), self.clock.now()))

    def reply(self, key, body, actor, expected_version=None) -> dict:
        cmd = load(s.REPLY, body)
        return self._run(key, actor, expected_version, lambda a: domain.reply(a, cmd, actor, self.clock.now()))

    def request_return(self, key, body, actor, expected_version=None) -> dict:
        cmd = load(s.RETURN, body)
        return self._run(key, actor, expected_version, lambda a: domain.request_return(
            a, cmd["reason"], actor, self.clock.now()))

    def add_co_unit(self, key, body, actor, expected_version=None) -> dict:
        cmd = load(s.CO_UNIT, body)
        _, units = self.store.directory()
        return self._run(key, actor, expected_version, lambda a: domain.add_co_unit(
            a, cmd["unit_id"], cmd["task"], units, actor, self.clock.now()))

    # -- a co-unit (R6, R14)
    def co_unit_accept(self, key, body, actor, expected_version=None) -> dict:
        return self._run(key, actor, expected_version, lambda a: domain.co_unit_answer(
            a, True, "", actor, self.clock.now()))

    def co_unit_decline(self, key, body, actor, expected_version=None) -> dict:
        cmd = load(s.DECLINE, body)
        return self._run(key, actor, expected_version, lambda a: domain.co_unit_answer(
            a, False, cmd["reason"], actor, self.clock.now()))

    def co_unit_contribute(self, key, body, actor, expected_version=None) -> dict:
        cmd = load(s.CONTRIBUTION, body)
        return self._run(key, actor, expected_version, lambda a: domain.co_unit_contribute(
            a, cmd["content"], actor, self.clock.now()))

    def _unit(self, unit_id: str) -> dict:
        unit = self.store.unit(unit_id)
        if unit is None:
            raise NotFound(f"unit {unit_id} not found")
        return unit

    # -- the units directory (R3)
    def list_units(self, actor: Actor) -> dict:
        return {"items": [present_unit(u, actor) for u in self.store.units()]}

    def get_unit(self, unit_id: str, actor: Actor) -> dict:
        """Any signed-in role reads the directory: units look each other up to organise co-units."""
        unit = self._unit(unit_id)
        return {**present_unit(unit, actor), "returns": self.store.return_counts(unit_id)}

    def put_unit(self, unit_id: str, body: dict, actor: Actor) -> dict:
        actor.require(ADMIN)
        unit = load(s.UNIT, body)
        domain.check_unit(unit)
        self.store.put_unit(unit_id, unit)
        return present_unit({**unit, "_id": unit_id}, actor)

    # -- routing rules (R6: data, changeable without a code change)
    def list_rules(self, actor: Actor) -> dict:
        actor.require(OPERATOR, ADMIN, SUPERVISOR)
        return {"items": [present_rule(r) for r in self.store.rules()]}

    def put_rule(self, rule_id: str, body: dict, actor: Actor) -> dict:
        actor.require(ADMIN)
        rule = domain.Rule.from_dict({**load(s.RULE, body), "id": rule_id})
        domain.check_rule(rule, self.catalog.categories, self.catalog.districts,
                          {u["_id"]: u for u in self.store.units()})
        self.store.put_rule(rule.to_dict())
        return present_rule(rule.to_dict())

    def delete_rule(self, rule_id: str, actor: Actor) -> dict:
        actor.require(ADMIN)
        if not self.store.delete_rule(rule_id):
            raise NotFound(f"rule {rule_id} not found")
        return {"deleted": rule_id}


def present(a: dict) -> dict:
    view = {k: v for k, v in a.items() if k not in ("_id", "inbox", "event_ids")}
    view["ticket_id"] = a["_id"]
    view["state"] = domain.public_state(a)
    return view


def present_unit(unit: dict, actor: Actor) -> dict:
    view = {k: v for k, v in unit.items() if k != "_id"}
    view["id"] = unit["_id"]
    return view


def present_rule(rule: dict) -> dict:
    return {k: v for k, v in rule.items() if k != "_id"} | {"id": rule.get("id") or rule.get("_id")}
