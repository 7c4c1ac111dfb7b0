"""Helpers shared by intake's unit tests (no tests here): the app over fakes, requests, and sample
events of the services intake listens to, built from their published classes."""
from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

from hotline_common.actors import Actor
from hotline_common.catalog import load_catalog
from hotline_common.dispatch import request
from hotline_common.events import envelope
from hotline_common.messages import ActorRef, Event
from hotline_common.testing import FixedClock, RecordingOutbox, at
from services.escalation import events as esc
from services.intake.domain import CallbackPolicy
from services.intake.fakes import FakeIntakeStore
from services.intake.handlers import HANDLERS, Intake
from services.routing import events as rt
from services.sla import events as sla

CONFIG = Path(__file__).resolve().parents[2] / "config"
CATALOG = load_catalog(CONFIG)
NOW = at("2026-11-27T02:00:00Z")          # 10:00 in Beijing
OPERATOR = Actor("op1", "operator")
ADMIN = Actor("ad1", "admin")
SUPERVISOR = Actor("s1", "supervisor")
SUBSCRIBER = Actor("x1", "subscriber")
HANDLER = Actor("u1", "unit_handler", "city.environment")
OTHER_UNIT = Actor("u2", "unit_handler", "city.housing")
UNIT_REF = ActorRef(user_id="u1", role="unit_handler", unit_id="city.environment")


def noise_complaint(**overrides: Any) -> dict:
    body = {"channel": "phone", "type": "complain", "category": "noise.neighbourhood", "district": "tiedong",
            "address": "铁东区胜利南路88号", "citizen": {"name": "张女士", "phone": "13800001234"},
            "content": "楼下烧烤店每天夜里12点后仍然噪音扰民"}
    body.update(overrides)
    return body


def make_app(max_unreached_attempts: int = 3) -> Intake:
    clock = FixedClock(NOW)
    outbox = RecordingOutbox("intake", clock)
    return Intake(store=FakeIntakeStore(outbox), clock=clock, catalog=CATALOG, number_prefix="AS",
                  callback_policy=CallbackPolicy(max_unreached_attempts=max_unreached_attempts))


def execute(app: Intake, name: str, actor: Actor = OPERATOR, **req: Any) -> dict:
    return HANDLERS.execute(app, name, request(**req), actor)


def register(app: Intake, actor: Actor = OPERATOR, idempotency_key: str | None = None, **overrides: Any) -> dict:
    return execute(app, "register", actor, body=noise_complaint(**overrides), idempotency_key=idempotency_key)


def ticket(app: Intake, key: str, actor: Actor = OPERATOR) -> dict:
    return execute(app, "get_ticket", actor, params={"key": key})


# -- other services' events ------------------------------------------------------------------------

_ids = itertools.count(1)


def deliver(app: Intake, event: Event, event_id: str | None = None, time=None):
    """React to `event` as the subscriber would: wrapped in its CloudEvent."""
    env = envelope(event, source_service=event.SOURCE, time=time or NOW, event_id=event_id or f"evt-{next(_ids)}")
    return HANDLERS.react(app, env)


def envelope_of(event: Event, event_id: str = "evt-x") -> dict:
    return envelope(event, source_service=event.SOURCE, time=NOW, event_id=event_id)


def state(status: str = "dispatched", *, lead: tuple[str, str] | None = ("city.environment", "市环保局"),
          co_units: tuple[tuple[str, str, str], ...] = (), round: int = 1, dispatch_no: int = 1,
          first_responsible: bool = True) -> rt.AssignmentState:
    return rt.AssignmentState(
        status=status, lead_unit=rt.LeadUnit(id=lead[0], name=lead[1]) if lead else None,
        first_responsible=first_responsible,
        co_units=[rt.CoUnitState(unit_id=u, unit_name=n, status=s) for u, n, s in co_units],
        dispatch_no=dispatch_no, round=round)


ROUTING_FIELDS: dict[type, dict[str, Any]] = {
    rt.TicketDispatched: dict(type="complain", category="noise.neighbourhood", district="tiedong", unit_name="市环保局",
                              co_units=[], first_responsible=True, rule_id="noise", manual=False, dispatch_no=1,
                              dispatched_at="2026-11-27T02:00:01.000Z", previous_unit=None, unit_leaders=["l1"]),
    rt.TicketAwaitingDispatch: dict(reason="没有匹配的派单规则"),
    rt.AssignmentAccepted: {},
    rt.AssignmentReviewed: dict(reviewer="l1", reviewer_title="局长"),
    rt.TicketReplied: dict(reply_no="AS20261127000001-01", result="solved", contacted_citizen=True, contributions=[],
                           co_units_pending=[], replied_at="2026-11-28T02:00:00.000Z"),
    rt.ReturnRequested: dict(reason="不属于本单位职责范围", first_responsible=False),
    rt.ReturnApproved: dict(returning_unit="city.environment", note="同意退单"),
    rt.ReturnRejected: dict(returning_unit="city.environment", note="属于本单位职责", first_responsible=True),
    rt.AssignmentRefused: dict(refusing_unit="city.environment", category="noise.neighbourhood", reason="拒不受理"),
    rt.CounitAdded: dict(co_unit="city.housing", co_unit_name="市住建局", task="核查施工许可"),
    rt.CounitAccepted: dict(co_unit="city.housing", co_unit_name="市住建局", reason=None, first_responsible=False),
    rt.CounitDeclined: dict(co_unit="city.housing", co_unit_name="市住建局", reason="不属于本单位职责",
                            first_responsible=False),
    rt.CounitContributed: dict(co_unit="city.housing", co_unit_name="市住建局"),
    rt.AssignmentReopened: dict(reason="unsatisfied", round=2, working_days=5, type="complain"),
    rt.AssignmentWithdrawn: dict(previous_unit="city.environment", main_ticket_id="t-main",
                                 main_number="AS20261127000009"),
}


def routing(cls: type, ticket_id: str, number: str = "AS20261127000001", *, seq: int = 1,
            st: rt.AssignmentState | None = None, units: tuple[str, ...] = ("city.environment",),
            **fields: Any) -> Event:
    st = st or state()
    return cls(ticket_id=ticket_id, number=number, unit_id=st.lead_unit.id if st.lead_unit else None,
               at="2026-11-27T02:00:01.000Z", actor=UNIT_REF, seq=seq, state=st, units=list(units),
               **{**ROUTING_FIELDS[cls], **fields})


SLA_FIELDS: dict[type, dict[str, Any]] = {
    sla.DeadlineSet: {},
    sla.DeadlineDueSoon: {},
    sla.DeadlineOverdue: {},
    sla.DeadlineStillOverdue: dict(working_days_overdue=2),
    sla.DeadlineMet: dict(replied_at="2026-12-01T02:00:00.000Z"),
    sla.DeadlineMissed: dict(replied_at="2026-12-30T02:00:00.000Z"),
    sla.DeadlineExtended: dict(extension_id="x1", extended_working_days=4, previous_due_date="2026-12-25"),
    sla.DeadlineChanged: dict(previous_due_date="2026-12-24", reason="calendar"),
    sla.ExtensionRequested: dict(extension_id="x1", requested_working_days=4, reason="需要协调多个部门"),
    sla.ExtensionRejected: dict(extension_id="x1", note="理由不充分"),
}


def deadline(cls: type, ticket_id: str, number: str = "AS20261127000001", *, seq: int = 1, state: str = "running",
             extended_days: int = 0, provisional: bool = False, **fields: Any) -> Event:
    return cls(ticket_id=ticket_id, number=number, unit_id="city.environment", type="complain", dispatch_no=1,
               round=1, state=state, started_at="2026-11-27T02:00:01.000Z", working_days=20,
               extended_days=extended_days, due_date="2026-12-25", due_at="2026-12-25T15:59:59.999Z",
               provisional=provisional, provisional_years=[2027] if provisional else [],
               actor=ActorRef(user_id="system", role="system"), seq=seq, **{**SLA_FIELDS[cls], **fields})


CASE = dict(case_id="c1", case_no="DB202611270001", trigger="overdue_ignored", trigger_label="超期不办理",
            state="open", seq=1)


def escalation(cls: type, ticket_id: str | None, number: str = "AS20261127000001", **fields: Any) -> Event:
    ref = dict(ticket_id=ticket_id, number=number)
    system = ActorRef(user_id="system", role="system")
    samples: dict[type, dict[str, Any]] = {
        esc.ReminderSent: dict(**ref, unit_id="city.environment", n=1, kind="auto", working_days_overdue=1, note="",
                               message="请尽快办理", at="2026-11-27T02:00:01.000Z", actor=system, seq=1),
        esc.SupervisionOpened: dict(**ref, unit_id="city.environment", **CASE, actor=system, detail="催办两次仍未办理"),
        esc.ReinvestigationOrdered: dict(**ref, unit_id="city.environment", **{**CASE, "state": "reinvestigating"},
                                         actor=ActorRef(user_id="s1", role="supervisor"), order=1,
                                         instructions="重新调查", working_days=5),
        esc.SupervisionClosed: dict(**ref, unit_id="city.environment", **{**CASE, "state": "closed"},
                                    actor=ActorRef(user_id="s1", role="supervisor"), conclusion="已整改"),
        esc.VerificationRequired: dict(**ref, unit_id="city.environment", task_id="v1", reason="key_ticket",
                                       at="2026-11-27T02:00:01.000Z"),
        esc.VerificationFiled: dict(**ref, unit_id="city.environment", task_id="v1", reason="unsatisfied",
                                    inspector="王强", inspected_at="2026-11-27T02:00:00.000Z",
                                    responsibility="施工方", at="2026-11-27T02:00:01.000Z", actor=UNIT_REF),
        esc.AccountabilityRecorded: dict(record_id="r1", kind="evasion", kind_label="推诿扯皮",
                                         unit_id="city.environment", person=None,
                                         ticket_id=ticket_id, number=number if ticket_id else None, case_id=None,
                                         automatic=False, at="2026-11-27T02:00:01.000Z",
                                         actor=ActorRef(user_id="s1", role="supervisor")),
    }
    return cls(**{**samples[cls], **fields})


def replied(app: Intake, **overrides: Any) -> dict:
    """A ticket dispatched to city.environment and replied by it: ready for the callback."""
    created = register(app, **overrides)
    deliver(app, routing(rt.TicketDispatched, created["id"], created["number"], seq=1))
    deliver(app, routing(rt.TicketReplied, created["id"], created["number"], seq=2, st=state("replied")))
    return ticket(app, created["number"])
