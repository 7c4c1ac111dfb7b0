"""Routing's use cases: `handler(app, command, actor)` for each RPC, `reaction(app, received)` for each
event it consumes, and `HANDLERS`, the one table the nameko entrypoints are generated from."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from hotline_common.actors import ADMIN, OPERATOR, SUPERVISOR, SYSTEM_ACTOR, Actor
from hotline_common.catalog import Catalog
from hotline_common.dispatch import Handlers, Outcome, Received
from hotline_common.errors import NotFound, NotYet, StaleVersion, TransientError
from hotline_common.messages import Event, to_jsonable
from hotline_common.mongo import retrying
from services.escalation.events import ReinvestigationOrdered, VerificationFiled
from services.intake.events import TicketMarkedKey, TicketMerged, TicketRegistered, TicketReopened, TicketUnmerged

from . import commands as c
from . import domain
from .domain import Assignment

Decision = Callable[[Assignment], tuple[Assignment, list[Event]]]


@dataclass
class Routing:
    """The ports the use cases work with."""
    store: Any     # store.RoutingStore, or fakes.MemoryRoutingStore in tests
    clock: Any     # .now() -> an aware UTC datetime
    catalog: Catalog


# -- reactions ---------------------------------------------------------------------------------------

def route_registered(app: Routing, received: Received[TicketRegistered]) -> bool | Outcome:
    """R3, R6: a registered ticket goes to the unit its rules name (or waits for an operator). Only a
    ticket intake registered for dispatch: a direct answer, a merged call (并单) and the calls sorted out
    at intake (transferred, referred, out of scope, malicious) never reach a unit (issue 12)."""
    e = received.event
    if e.disposition != "dispatch":
        return Outcome.NO_CHANGE
    ticket = domain.TicketFacts(e.ticket_id, e.number, e.type, e.category, e.district, e.key_ticket)
    rules, units = app.store.directory()
    a, events = domain.route_new_ticket(ticket, now=app.clock.now(), actor=SYSTEM_ACTOR, rules=rules, units=units)
    return bool(app.store.add_assignment(a, events, cause=received.id))


def reopen_unsatisfied(app: Routing, received: Received[TicketReopened]) -> bool | Outcome:
    """R10: the citizen was unsatisfied; the unit handles the ticket again, verification first."""
    if received.event.reason != "unsatisfied":
        return Outcome.NO_CHANGE
    cmd = c.Reopen(reason="unsatisfied")
    return _react(app, received.event.ticket_id, received.id, lambda a: domain.reopen(
        a, cmd, now=app.clock.now(), actor=SYSTEM_ACTOR))


def reopen_for_reinvestigation(app: Routing, received: Received[ReinvestigationOrdered]) -> bool:
    """R15: the supervision centre ordered a re-investigation, within its working days."""
    cmd = c.Reopen(reason="reinvestigation", working_days=received.event.working_days)
    return _react(app, received.event.ticket_id, received.id, lambda a: domain.reopen(
        a, cmd, now=app.clock.now(), actor=SYSTEM_ACTOR))


def key_ticket(app: Routing, received: Received[TicketMarkedKey]) -> bool:
    """R10: a key ticket's reply waits for an on-site verification."""
    cmd = c.RequireVerification(reason="key_ticket")
    return _react(app, received.event.ticket_id, received.id, lambda a: domain.require_verification(
        a, cmd, now=app.clock.now(), actor=SYSTEM_ACTOR))


def verification_filed(app: Routing, received: Received[VerificationFiled]) -> bool:
    cmd = c.RecordVerification()
    return _react(app, received.event.ticket_id, received.id, lambda a: domain.verification_filed(
        a, cmd, now=app.clock.now(), actor=SYSTEM_ACTOR))


def withdraw_merged(app: Routing, received: Received[TicketMerged]) -> bool | Outcome:
    """并单 after registration: the merged ticket's own dispatch is withdrawn (its unit no longer has it;
    sla stops its clock). Merged as it was registered, it never had one."""
    e = received.event
    if e.at_registration:
        return Outcome.NO_CHANGE
    cmd = c.Withdraw(merge_no=e.merge_no, main_ticket_id=e.main_ticket_id, main_number=e.main_number)
    return _react(app, e.ticket_id, received.id, lambda a: domain.withdraw(
        a, cmd, now=app.clock.now(), actor=SYSTEM_ACTOR))


def route_unmerged(app: Routing, received: Received[TicketUnmerged]) -> bool:
    """Unmerged: the ticket is routed on its own, like a newly registered one; one merged as it was
    registered gets its first assignment now."""
    e = received.event
    cmd = c.Reinstate(merge_no=e.merge_no)
    if app.store.get_assignment(e.ticket_id) is None:
        facts = domain.TicketFacts(e.ticket_id, e.number, e.type, e.category, e.district, e.key_ticket)
        rules, units = app.store.directory()
        fresh = replace(domain.new_assignment(facts, now=app.clock.now()), merge_no=e.merge_no)
        a, events = domain.route(fresh, now=app.clock.now(), actor=SYSTEM_ACTOR, rules=rules, units=units,
                                 kind="unmerged")
        return bool(app.store.add_assignment(a, events, cause=received.id))
    rules, units = app.store.directory()
    return _react(app, e.ticket_id, received.id, lambda a: domain.reinstate(
        a, cmd, now=app.clock.now(), actor=SYSTEM_ACTOR, rules=rules, units=units))


def _react(app: Routing, ticket_id: str, cause: str, decide: Decision) -> bool:
    """Apply one event's decision to the ticket's assignment, once (the event id is the `cause`)."""
    def attempt() -> bool:
        a = app.store.get_assignment(ticket_id)
        if a is None:
            raise NotYet(f"no assignment for {ticket_id} yet")
        state, events = decide(a)
        return bool(app.store.save(state, events, cause=cause))
    try:
        return bool(retrying(attempt))
    except StaleVersion as exc:  # still racing other writers: the subscriber retries later
        raise TransientError(f"the assignment of {ticket_id} kept changing: {exc.detail}") from exc


# -- reading an assignment (the unit's work on a ticket) ---------------------------------------------

def get_assignment(app: Routing, cmd: c.GetAssignment, actor: Actor) -> dict:
    return present(_visible(app, cmd.key, actor))


def _visible(app: Routing, key: str, actor: Actor) -> Assignment:
    a = app.store.get_assignment(key)
    if a is None or not domain.can_see(a, actor):
        raise NotFound(f"ticket {key} not found")  # another unit's ticket is not found either
    return a


def _run(app: Routing, key: str, actor: Actor, expected_version: int | None, decide: Decision) -> dict:
    """Load, check the caller's If-Match, decide, save with optimistic concurrency; without an
    If-Match a race with another writer is decided again on the fresh state."""
    def attempt() -> dict:
        a = _visible(app, key, actor)
        if expected_version is not None and expected_version != a.version:
            raise StaleVersion(f"the ticket's assignment is at version {a.version}, not {expected_version}",
                               {"current_version": a.version})
        state, events = decide(a)
        app.store.save(state, events)
        return present(replace(state, version=a.version + 1))
    return attempt() if expected_version is not None else retrying(attempt)


# -- the hotline office ------------------------------------------------------------------------------

def manual_dispatch(app: Routing, cmd: c.Dispatch, actor: Actor) -> dict:
    actor.require(OPERATOR, ADMIN)
    _, units = app.store.directory()
    return _run(app, cmd.key, actor, cmd.expected_version, lambda a: domain.manual_dispatch(
        a, cmd, now=app.clock.now(), actor=actor, units=units))


def decide_return(app: Routing, cmd: c.DecideReturn, actor: Actor) -> dict:
    actor.require(OPERATOR, ADMIN)
    rules, units = app.store.directory()
    return _run(app, cmd.key, actor, cmd.expected_version, lambda a: domain.decide_return(
        a, cmd, now=app.clock.now(), actor=actor, rules=rules, units=units))


def redispatch(app: Routing, cmd: c.Redispatch, actor: Actor) -> dict:
    """改派 before sign-for (issue 12)."""
    actor.require(OPERATOR, ADMIN)
    _, units = app.store.directory()
    return _run(app, cmd.key, actor, cmd.expected_version, lambda a: domain.redispatch(
        a, cmd, now=app.clock.now(), actor=actor, units=units))


def pass_down(app: Routing, cmd: c.PassDown, actor: Actor) -> dict:
    """下派: a district to one of its street offices (issue 12)."""
    _, units = app.store.directory()
    return _run(app, cmd.key, actor, cmd.expected_version, lambda a: domain.pass_down(
        a, cmd, now=app.clock.now(), actor=actor, units=units))


# -- the lead unit (R4, R5, R6, R9) ------------------------------------------------------------------

def accept(app: Routing, cmd: c.Accept, actor: Actor) -> dict:
    return _run(app, cmd.key, actor, cmd.expected_version, lambda a: domain.accept(
        a, cmd, now=app.clock.now(), actor=actor))


def review(app: Routing, cmd: c.Review, actor: Actor) -> dict:
    return _run(app, cmd.key, actor, cmd.expected_version, lambda a: domain.review(
        a, cmd, now=app.clock.now(), actor=actor, unit=_unit(app, a.lead_unit)))


def reply(app: Routing, cmd: c.Reply, actor: Actor) -> dict:
    return _run(app, cmd.key, actor, cmd.expected_version, lambda a: domain.reply(
        a, cmd, now=app.clock.now(), actor=actor))


def request_return(app: Routing, cmd: c.RequestReturn, actor: Actor) -> dict:
    return _run(app, cmd.key, actor, cmd.expected_version, lambda a: domain.request_return(
        a, cmd, now=app.clock.now(), actor=actor))


def add_co_unit(app: Routing, cmd: c.AddCoUnit, actor: Actor) -> dict:
    _, units = app.store.directory()
    return _run(app, cmd.key, actor, cmd.expected_version, lambda a: domain.add_co_unit(
        a, cmd, now=app.clock.now(), actor=actor, units=units))


# -- a co-unit (R6, R14) -----------------------------------------------------------------------------

def co_unit_accept(app: Routing, cmd: c.CoUnitAccept, actor: Actor) -> dict:
    domain.require_own_unit(cmd.unit_id, actor)
    return _run(app, cmd.key, actor, cmd.expected_version, lambda a: domain.co_unit_accept(
        a, cmd, now=app.clock.now(), actor=actor))


def co_unit_decline(app: Routing, cmd: c.CoUnitDecline, actor: Actor) -> dict:
    domain.require_own_unit(cmd.unit_id, actor)
    return _run(app, cmd.key, actor, cmd.expected_version, lambda a: domain.co_unit_decline(
        a, cmd, now=app.clock.now(), actor=actor))


def co_unit_contribute(app: Routing, cmd: c.CoUnitContribute, actor: Actor) -> dict:
    domain.require_own_unit(cmd.unit_id, actor)
    return _run(app, cmd.key, actor, cmd.expected_version, lambda a: domain.co_unit_contribute(
        a, cmd, now=app.clock.now(), actor=actor))


def _unit(app: Routing, unit_id: str | None) -> dict:
    unit = app.store.unit(unit_id) if unit_id is not None else None
    if unit is None:
        raise NotFound(f"unit {unit_id} not found")
    return unit


# -- the units directory (R3) ------------------------------------------------------------------------

def list_units(app: Routing, cmd: c.ListUnits, actor: Actor) -> dict:
    return {"items": [present_unit(u) for u in app.store.units()]}


def get_unit(app: Routing, cmd: c.GetUnit, actor: Actor) -> dict:
    """Any signed-in role reads the directory: units look each other up to organise co-units."""
    unit = _unit(app, cmd.unit_id)
    return {**present_unit(unit), "returns": app.store.return_counts(cmd.unit_id)}


def put_unit(app: Routing, cmd: c.PutUnit, actor: Actor) -> dict:
    actor.require(ADMIN)
    unit = cmd.unit()
    domain.check_unit(unit)
    domain.check_parent(cmd.unit_id, unit, {u["_id"]: u for u in app.store.units()})
    app.store.put_unit(cmd.unit_id, unit)
    return present_unit({**unit, "_id": cmd.unit_id})


# -- routing rules (R6: data, changeable without a code change) --------------------------------------

def list_rules(app: Routing, cmd: c.ListRules, actor: Actor) -> dict:
    actor.require(OPERATOR, ADMIN, SUPERVISOR)
    return {"items": [present_rule(r) for r in app.store.rules()]}


def put_rule(app: Routing, cmd: c.PutRule, actor: Actor) -> dict:
    actor.require(ADMIN)
    rule = domain.Rule(id=cmd.rule_id, category=cmd.category, lead_unit=cmd.lead_unit, district=cmd.district,
                       co_units=tuple(cmd.co_units), first_responsible=cmd.first_responsible)
    domain.check_rule(rule, categories=app.catalog.categories, districts=app.catalog.districts,
                      units={u["_id"]: u for u in app.store.units()})
    app.store.put_rule(rule)
    return present_rule(rule.to_dict())


def delete_rule(app: Routing, cmd: c.DeleteRule, actor: Actor) -> dict:
    actor.require(ADMIN)
    if not app.store.delete_rule(cmd.rule_id):
        raise NotFound(f"rule {cmd.rule_id} not found")
    return {"deleted": cmd.rule_id}


# -- what the RPCs answer ----------------------------------------------------------------------------

def present(a: Assignment) -> dict:
    """The assignment as the API shows it: its fields, `state` as events carry it, and `version`
    (the ETag a caller sends back as If-Match)."""
    view: dict = to_jsonable(a)
    view["state"] = to_jsonable(domain.public_state(a))
    return view


def present_unit(unit: dict) -> dict:
    view = {k: v for k, v in unit.items() if k != "_id"}
    view["id"] = unit["_id"]
    return view


def present_rule(rule: dict) -> dict:
    return {k: v for k, v in rule.items() if k != "_id"} | {"id": rule.get("id") or rule.get("_id")}


HANDLERS = Handlers(
    service="routing",
    commands={
        "get_assignment": (c.GetAssignment, get_assignment),
        "manual_dispatch": (c.Dispatch, manual_dispatch),
        "accept": (c.Accept, accept),
        "review": (c.Review, review),
        "reply": (c.Reply, reply),
        "request_return": (c.RequestReturn, request_return),
        "decide_return": (c.DecideReturn, decide_return),
        c.Redispatch.NAME: (c.Redispatch, redispatch),
        c.PassDown.NAME: (c.PassDown, pass_down),
        "add_co_unit": (c.AddCoUnit, add_co_unit),
        "co_unit_accept": (c.CoUnitAccept, co_unit_accept),
        "co_unit_decline": (c.CoUnitDecline, co_unit_decline),
        "co_unit_contribute": (c.CoUnitContribute, co_unit_contribute),
        "list_units": (c.ListUnits, list_units),
        "get_unit": (c.GetUnit, get_unit),
        "put_unit": (c.PutUnit, put_unit),
        "list_rules": (c.ListRules, list_rules),
        "put_rule": (c.PutRule, put_rule),
        "delete_rule": (c.DeleteRule, delete_rule),
    },
    events={
        TicketRegistered: route_registered,
        TicketReopened: reopen_unsatisfied,
        ReinvestigationOrdered: reopen_for_reinvestigation,
        TicketMarkedKey: key_ticket,
        VerificationFiled: verification_filed,
        TicketMerged: withdraw_merged,
        TicketUnmerged: route_unmerged,
    },
)
