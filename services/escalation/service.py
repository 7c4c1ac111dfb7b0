"""The escalation nameko service: entrypoints generated from `handlers.HANDLERS`."""
from __future__ import annotations

from hotline_common.config_files import read_yaml
from hotline_common.dispatch import entrypoints
from hotline_common.providers import UseCases
from hotline_common.service_base import ServiceBase

from .domain import ReminderPolicy
from .handlers import HANDLERS, Escalation
from .store import EscalationStore


def policy_from(config: dict) -> ReminderPolicy:
    """config/escalation.yaml (R13, R15)."""
    reminders = config.get("reminders", {})
    default = ReminderPolicy()  # the defaults live there, once
    return ReminderPolicy(
        first_at_overdue=bool(reminders.get("first_at_overdue", default.first_at_overdue)),
        second_after_working_days=int(reminders.get("second_after_working_days",
                                                    default.second_after_working_days)),
        escalate_after_working_days=int(reminders.get("escalate_after_working_days",
                                                      default.escalate_after_working_days)),
        reinvestigation_working_days=int(config.get("reinvestigation_working_days",
                                                    default.reinvestigation_working_days)))


def build(database, outbox, settings, clock) -> Escalation:
    return Escalation(store=EscalationStore(database, outbox), clock=clock,
                      policy=policy_from(read_yaml(settings.config_dir, "escalation.yaml")))


@entrypoints(HANDLERS)
class EscalationService(ServiceBase):
    name = "escalation"
    app = UseCases(build)
