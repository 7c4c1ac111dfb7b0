"""Escalation's use cases and reactions: reminders, supervision cases, verification, accountability.

Commands are `handler(app, command, actor)`, reactions `reaction(app, received)`; `HANDLERS` at
the end is the one table the nameko entrypoints are generated from.
"""
from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from hotline_common.actors import ADMIN, OPERATOR, SUPERVISOR, SYSTEM_ACTOR, Actor
from hotline_common.clock import set_causal_floor
from hotline_common.dispatch import Handlers, Outcome, Received
from hotline_common.errors import Conflict, NotFound, NotYet, StaleVersion, TransientError
from hotline_common.messages import to_jsonable
from hotline_common.mongo import retrying
from hotline_common.timeutil import as_utc, local_date
from services.intake.events import TicketChallenged, TicketMarkedKey, TicketRegistered, TicketReopened
from services.routing.events import AssignmentRefused, CounitDeclined, TicketReplied
from services.sla.events import (
    DeadlineChanged,
    DeadlineEvent,
    DeadlineExtended,
    DeadlineMet,
    DeadlineMissed,
    DeadlineOverdue,
    DeadlineSet,
    DeadlineStillOverdue,
)

from . import commands as c
from . import domain
from .domain import Case, Opening, TicketRef, VerificationTask, Watch

STEP = timedelta(milliseconds=1)  # the resolution of event times


@dataclass
class Escalation:
    """The ports the use cases work with."""
    store: Any   # store.EscalationStore, or fakes.MemoryEscalationStore
    clock: Any   # hotline_common.clock: the process's (causal) clock, the same one the outbox stamps with
    policy: domain.ReminderPolicy = domain.ReminderPolicy()


def _after(app: Escalation, last: datetime | None) -> datetime:
    """Now, but later than `last` (what this change follows: the previous reminder, the case).

    After a clock jump every tick sla fires carries the same time, and a worker's clock may still
    lag behind it (its cached view of the controllable clock), so reminder 2, the case and its
    accountability record could all be stamped alike and a ticket's timeline (sorted by time) could
    show them in any order. Raising the worker's causal floor stamps this change's events (the
    outbox reads the same clock) at least one tick of event time after `last`."""
    now = app.clock.now()
    if last is None:
        return now
    floor = as_utc(last).replace(microsecond=as_utc(last).microsecond // 1000 * 1000) + STEP
    if now < floor:
        set_causal_floor(floor)
        return floor
    return now


def _again(attempt: Callable[[], Any]) -> Any:
    """A reaction's load-decide-save, again on a fresh read while other writers win the race; if they
    keep winning, the subscriber retries the event later (a StaleVersion reaching `Handlers.react`
    would count as "no change" and the event would be lost)."""
    try:
        return retrying(attempt)
    except StaleVersion as exc:
        raise TransientError(f"lost the race for the same aggregate repeatedly: {exc.detail}") from exc


# -- views (the JSON answers, unchanged from before the typed aggregates) -------------------------------

def _renamed(view: dict, key: str) -> dict:
    view["id"] = view.pop(key)
    return view


def case_view(case: Case, now: datetime) -> dict:
    view = _renamed(to_jsonable(case), "case_id")
    del view["event_seq"]
    if view["closed_by"] is None:
        del view["closed_by"]
    view["trigger_label"] = case.trigger_label
    age = as_utc(now) - as_utc(case.opened_at)
    view["age_hours"] = round(age.total_seconds() / 3600, 1)
    view["age_days"] = age.days
    return view


def task_view(task: VerificationTask) -> dict:
    return _renamed(to_jsonable(task), "task_id")


def record_view(record: domain.AccountabilityRecord) -> dict:
    view = _renamed(to_jsonable(record), "record_id") | {"kind_label": record.kind_label}
    del view["request_hash"]
    return view


def _saved(aggregate: Any) -> Any:
    """The aggregate as a versioned save left it (for answers)."""
    return replace(aggregate, version=aggregate.version + 1)


# -- following deadlines (sla's events) -------------------------------------------------------------------

def _watch(app: Escalation, event: DeadlineEvent) -> Watch:
    watch = app.store.watch(event.ticket_id)
    if watch is None:
        raise NotYet(f"no watch for {event.number} yet: its deadline.set is on its way")
    return watch


def _follow(app: Escalation, received: Received, rule: Callable) -> bool:
    event = received.event

    def attempt() -> bool:
        watch = app.store.watch(event.ticket_id)
        updated, events = rule(watch, event, now=app.clock.now(), actor=SYSTEM_ACTOR)
        if watch is None:
            applied = app.store.add_watch(updated, events, cause=received.id)
        else:
            applied = updated != watch and app.store.save_watch(updated, events, cause=received.id)
        if watch is None or not applied:  # a task waiting for a unit came before the ticket's first
            # deadline (a key ticket from its registration; one that comes later reads the watch
            # itself), or this is a redelivery and the first attempt may have stopped before this
            _assign_pending_tasks(app, updated, cause=received.id)
        return applied
    return _again(attempt)


def deadline_set(app: Escalation, received: Received[DeadlineSet]) -> bool:
    """Watch the unit's deadline; a new dispatch or round starts afresh."""
    return _follow(app, received, domain.follow_deadline)


def deadline_changed(app: Escalation, received: Received[DeadlineChanged]) -> bool:
    """The calendar moved the same deadline: the reminders sent stay."""
    return _follow(app, received, domain.follow_deadline)


def deadline_extended(app: Escalation, received: Received[DeadlineExtended]) -> bool:
    """An extension is a new deadline: its reminders start from none."""
    return _follow(app, received, domain.extend_deadline)


def _tick(app: Escalation, received: Received[DeadlineOverdue] | Received[DeadlineStillOverdue]) -> bool | Outcome:
    def attempt() -> bool | Outcome:
        watch = _watch(app, received.event)
        now = _after(app, watch.last_at)
        updated, events = domain.on_overdue(watch, received.event, now=now, actor=SYSTEM_ACTOR, policy=app.policy)
        if domain.escalates(watch, updated):
            # the case and the record first (idempotent by their ids), then the watch that remembers them
            case = _open(app, domain.overdue_opening(updated), now=now, actor=SYSTEM_ACTOR)
            record, recorded = domain.ignored_reminders(updated, case, now=_after(app, case.opened_at),
                                                        actor=SYSTEM_ACTOR)
            app.store.add_record(record, recorded)
        if updated == watch:
            return Outcome.NO_CHANGE
        return app.store.save_watch(updated, events, cause=received.id)
    return _again(attempt)


def deadline_overdue(app: Escalation, received: Received[DeadlineOverdue]) -> bool | Outcome:
    """The deadline passed without a reply: the first reminder (R13)."""
    return _tick(app, received)


def deadline_still_overdue(app: Escalation, received: Received[DeadlineStillOverdue]) -> bool | Outcome:
    """Another working day late: the second reminder, then the supervision centre (R13)."""
    return _tick(app, received)


def _stop(app: Escalation, received: Received[DeadlineMet] | Received[DeadlineMissed]) -> bool | Outcome:
    def attempt() -> bool | Outcome:
        watch = _watch(app, received.event)
        updated, events = domain.stop_watch(watch, received.event, now=app.clock.now(), actor=SYSTEM_ACTOR)
        if updated == watch:
            return Outcome.NO_CHANGE
        return app.store.save_watch(updated, events, cause=received.id)
    return _again(attempt)


def deadline_met(app: Escalation, received: Received[DeadlineMet]) -> bool | Outcome:
    """Replied in time: no more reminders for this clock."""
    return _stop(app, received)


def deadline_missed(app: Escalation, received: Received[DeadlineMissed]) -> bool | Outcome:
    """Replied late: no more reminders for this clock either."""
    return _stop(app, received)


# -- supervision cases (R13, R14, R15) -----------------------------------------------------------------

def _open(app: Escalation, opening: Opening, *, now: datetime, actor: Actor) -> Case:
    """Open the case `opening` names, once (a redelivery or a retry finds it)."""
    existing = app.store.case(opening.case_id)
    if existing is not None:
        return existing
    case_no = app.store.next_case_no(f"{local_date(now):%Y%m%d}")
    case, events = domain.open_case(opening, case_no=case_no, now=now, actor=actor)
    if not app.store.add_case(case, events):
        return app.store.case(opening.case_id) or case
    return replace(case, version=1)


def ticket_challenged(app: Escalation, received: Received[TicketChallenged]) -> bool:
    """当事人对反馈结果提出合理质疑 (R14)."""
    _open(app, domain.challenge_opening(received.event, cause=received.id), now=app.clock.now(), actor=SYSTEM_ACTOR)
    return True


def counit_declined(app: Escalation, received: Received[CounitDeclined]) -> bool:
    """协办单位不接受协办 (R6, R14)."""
    _open(app, domain.declined_opening(received.event, cause=received.id), now=app.clock.now(), actor=SYSTEM_ACTOR)
    return True


def assignment_refused(app: Escalation, received: Received[AssignmentRefused]) -> bool:
    """第一责任主体无正当理由拒不受理 (R5, R14)."""
    _open(app, domain.refused_opening(received.event, cause=received.id), now=app.clock.now(), actor=SYSTEM_ACTOR)
    return True


def ticket_replied(app: Escalation, received: Received[TicketReplied]) -> bool:
    """Co-units that had not contributed by the reply are not cooperating (R14); a case under
    re-investigation records the reply and waits for the centre's conclusion (R15)."""
    event = received.event
    now = app.clock.now()
    for opening in domain.not_cooperating_openings(event, cause=received.id):
        _open(app, opening, now=now, actor=SYSTEM_ACTOR)
    for found in app.store.cases_for(event.ticket_id, domain.CaseState.REINVESTIGATING):
        def attempt(case_id: str = found.case_id) -> None:
            case = _case(app, case_id)
            updated, events = domain.follow_reply(case, event, now=now, actor=SYSTEM_ACTOR)
            if updated != case:
                app.store.save_case(updated, events, cause=received.id)
        _again(attempt)
    return True


def remind(app: Escalation, cmd: c.Remind, actor: Actor) -> dict:
    def attempt() -> dict:
        watch = app.store.watch(cmd.key)
        if watch is None:
            raise NotFound(f"ticket {cmd.key} has no deadline to remind about")
        updated, events = domain.manual_reminder(watch, cmd, now=_after(app, watch.last_at), actor=actor)
        app.store.save_watch(updated, events)
        return {"ticket_id": updated.ticket_id, "number": updated.number,
                "reminders": [to_jsonable(r) for r in updated.reminders]}
    return retrying(attempt)


def report(app: Escalation, cmd: c.Report, actor: Actor) -> dict:
    """An operator reports inadequate investigation or improper handling (R14)."""
    opening = domain.report_opening(app.store.watch(cmd.key), cmd, case_id=f"report:{uuid.uuid4().hex[:12]}",
                                    actor=actor)
    now = app.clock.now()
    return case_view(_open(app, opening, now=now, actor=actor), now)


def list_cases(app: Escalation, cmd: c.ListCases, actor: Actor) -> dict:
    actor.require(SUPERVISOR, OPERATOR, ADMIN)
    now = app.clock.now()
    return {"items": [case_view(case, now) for case in app.store.list_cases(cmd.state, cmd.unit, cmd.limit)]}


def _case(app: Escalation, case_id: str) -> Case:
    case = app.store.case(case_id)
    if case is None:
        raise NotFound(f"case {case_id} not found")
    return case


def get_case(app: Escalation, cmd: c.GetCase, actor: Actor) -> dict:
    actor.require(SUPERVISOR, OPERATOR, ADMIN)
    return case_view(_case(app, cmd.case_id), app.clock.now())


def _change_case(app: Escalation, case_id: str, decide: Callable) -> dict:
    def attempt() -> dict:
        case = _case(app, case_id)
        now = app.clock.now()
        updated, events = decide(case, now)
        app.store.save_case(updated, events)
        return case_view(_saved(updated), now)
    return retrying(attempt)


def order_reinvestigation(app: Escalation, cmd: c.OrderReinvestigation, actor: Actor) -> dict:
    return _change_case(app, cmd.case_id, lambda case, now: domain.order_reinvestigation(
        case, cmd, now=now, actor=actor, policy=app.policy))


def close_case(app: Escalation, cmd: c.CloseCase, actor: Actor) -> dict:
    return _change_case(app, cmd.case_id, lambda case, now: domain.close_case(case, cmd, now=now, actor=actor))


# -- on-site verification (R10) ------------------------------------------------------------------------

def _assign_pending_tasks(app: Escalation, watch: Watch, *, cause: str) -> None:
    """Tasks created before the ticket had a unit (a key ticket from its registration) get the unit
    whose deadline runs now."""
    for task in app.store.tasks_for(watch.ticket_id):
        updated, events = domain.assign_unit(task, watch, now=app.clock.now(), actor=SYSTEM_ACTOR)
        if updated != task:
            app.store.save_task(updated, events, cause=cause)


def _require_verification(app: Escalation, received: Received, ticket: TicketRef,
                          reason: domain.VerificationReason) -> bool:
    if ticket.unit_id is None and (watch := app.store.watch(ticket.ticket_id)) is not None:
        ticket = replace(ticket, unit_id=watch.unit_id)
    task, events = domain.require_verification(ticket, reason, task_id=f"{reason}:{received.id}",
                                               now=app.clock.now())
    applied = app.store.add_task(task, events)
    if task.unit_id is None and (watch := app.store.watch(ticket.ticket_id)) is not None:
        _again(lambda: _assign_pending_tasks(app, watch, cause=received.id))  # its deadline came meanwhile
    return applied


def ticket_reopened(app: Escalation, received: Received[TicketReopened]) -> bool:
    """不满意件: the citizen was unsatisfied; the unit verifies on site before it replies again (R10)."""
    event = received.event
    return _require_verification(app, received, TicketRef(ticket_id=event.ticket_id, number=event.number,
                                                          unit_id=event.unit_id), "unsatisfied")


def ticket_marked_key(app: Escalation, received: Received[TicketMarkedKey]) -> bool:
    """重点问题件 marked by an operator (R10)."""
    event = received.event
    return _require_verification(app, received, TicketRef(ticket_id=event.ticket_id, number=event.number,
                                                           unit_id=event.unit_id), "key_ticket")


def ticket_registered(app: Escalation, received: Received[TicketRegistered]) -> bool | Outcome:
    """A ticket registered as a key ticket needs its verification like one marked later (R10); its
    unit is not known yet: the task gets it when the unit's deadline arrives."""
    event = received.event
    if not event.key_ticket:
        return Outcome.NO_CHANGE
    return _require_verification(app, received, TicketRef(ticket_id=event.ticket_id, number=event.number,
                                                           unit_id=None), "key_ticket")


def file_verification(app: Escalation, cmd: c.FileVerification, actor: Actor) -> dict:
    watch = app.store.watch(cmd.key)
    ticket_id = watch.ticket_id if watch else cmd.key

    def attempt() -> dict:
        task = app.store.pending_task(ticket_id)
        if task is None:
            raise Conflict("no on-site verification is waiting for this ticket")
        updated, events = domain.file_verification(task, cmd, now=app.clock.now(), actor=actor)
        app.store.save_task(updated, events)
        return task_view(_saved(updated))
    return retrying(attempt)


def verifications(app: Escalation, cmd: c.ListVerifications, actor: Actor) -> dict:
    """R10 tasks of a ticket. A unit sees those of a ticket it handles; for any other ticket the
    answer is 404, as on every other sub-resource (a unit must not learn which tickets exist)."""
    watch = app.store.watch(cmd.key)
    tasks = app.store.tasks_for(watch.ticket_id if watch else cmd.key)
    if actor.is_unit:
        tasks = [t for t in tasks if t.unit_id == actor.unit_id]
        if not tasks and (watch is None or watch.unit_id != actor.unit_id):
            raise NotFound(f"ticket {cmd.key} not found")
    return {"items": [task_view(t) for t in tasks]}


# -- accountability (R17) ----------------------------------------------------------------------------

def record_accountability(app: Escalation, cmd: c.RecordAccountability, actor: Actor) -> dict:
    """A record is valid on its own; one that names a ticket (by id or number) or a case names one
    escalation knows, with the ticket's id and number both (so the ticket's timeline shows it). A
    repeat under the same Idempotency-Key (a redelivered RPC, a client's retry) gets the first back."""
    actor.require(*domain.RECORDERS)
    if cmd.idempotency_key:
        record_id = domain.record_id_for(actor, cmd.idempotency_key)
        previous = app.store.record(record_id)
    else:
        record_id, previous = uuid.uuid4().hex[:12], None
    ticket = case = None
    if previous is None:
        named = cmd.ticket_id or cmd.number
        if named:
            ticket = app.store.ticket(named)
            if ticket is None:
                raise NotFound(f"ticket {named} not found")
        case = _case(app, cmd.case_id) if cmd.case_id else None
    record, events = domain.record_accountability(previous, cmd, record_id=record_id, ticket=ticket, case=case,
                                                  now=app.clock.now(), actor=actor)
    if events and not app.store.add_record(record, events):   # the same key, at the same time
        record, events = domain.record_accountability(app.store.record(record_id), cmd, record_id=record_id,
                                                      ticket=ticket, case=case, now=app.clock.now(), actor=actor)
    return record_view(replace(record, version=record.version or 1)) | {"created": bool(events)}


def list_accountability(app: Escalation, cmd: c.ListAccountability, actor: Actor) -> dict:
    records = app.store.list_records(actor.unit_scope(cmd.unit), cmd.limit)
    return {"items": [record_view(r) for r in records]}


HANDLERS = Handlers(
    service="escalation",
    commands={
        c.Remind.NAME: (c.Remind, remind),
        c.Report.NAME: (c.Report, report),
        c.ListCases.NAME: (c.ListCases, list_cases),
        c.GetCase.NAME: (c.GetCase, get_case),
        c.OrderReinvestigation.NAME: (c.OrderReinvestigation, order_reinvestigation),
        c.CloseCase.NAME: (c.CloseCase, close_case),
        c.FileVerification.NAME: (c.FileVerification, file_verification),
        c.ListVerifications.NAME: (c.ListVerifications, verifications),
        c.RecordAccountability.NAME: (c.RecordAccountability, record_accountability),
        c.ListAccountability.NAME: (c.ListAccountability, list_accountability),
    },
    events={
        DeadlineSet: deadline_set,
        DeadlineExtended: deadline_extended,
        DeadlineChanged: deadline_changed,
        DeadlineOverdue: deadline_overdue,
        DeadlineStillOverdue: deadline_still_overdue,
        DeadlineMet: deadline_met,
        DeadlineMissed: deadline_missed,
        TicketChallenged: ticket_challenged,
        TicketReopened: ticket_reopened,
        TicketMarkedKey: ticket_marked_key,
        TicketRegistered: ticket_registered,
        CounitDeclined: counit_declined,
        AssignmentRefused: assignment_refused,
        TicketReplied: ticket_replied,
    },
)
