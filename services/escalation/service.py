"""The escalation nameko service: thin entrypoints over `handlers.Escalation`."""
from __future__ import annotations

from hotline_common.actors import Actor
from hotline_common.config_files import read_yaml
from hotline_common.events import T
from hotline_common.providers import UseCases
from hotline_common.service_base import ServiceBase, command
from hotline_common.subscriber import subscribe

from .domain import ReminderPolicy
from .handlers import Escalation
from .store import EscalationStore


def build(database, outbox, settings, clock) -> Escalation:
    config = read_yaml(settings.config_dir, "escalation.yaml")
    reminders = config.get("reminders", {})
    policy = ReminderPolicy(
        first_at_overdue=bool(reminders.get("first_at_overdue", True)),
        second_after_working_days=int(reminders.get("second_after_working_days", 2)),
        escalate_after_working_days=int(reminders.get("escalate_after_working_days", 3)),
        reinvestigation_working_days=int(config.get("reinvestigation_working_days", 10)))
    return Escalation(EscalationStore(database, outbox), clock, policy)


class EscalationService(ServiceBase):
    name = "escalation"
    app = UseCases(build)

    @subscribe(T.DEADLINE_SET, T.DEADLINE_EXTENDED, T.DEADLINE_CHANGED)
    def watch_deadline(self, event):
        self.app.watch(event)

    @subscribe(T.DEADLINE_OVERDUE, T.DEADLINE_STILL_OVERDUE)
    def overdue(self, event):
        self.app.overdue(event)

    @subscribe(T.DEADLINE_MET, T.DEADLINE_MISSED)
    def replied(self, event):
        self.app.replied(event)

    @subscribe(T.TICKET_CHALLENGED, T.COUNIT_DECLINED, T.FIRST_RESPONSIBLE_REFUSED, T.TICKET_REPLIED)
    def triggered(self, event):
        self.app.triggered(event)

    @subscribe(T.TICKET_REOPENED, T.TICKET_MARKED_KEY)
    def verification_needed(self, event):
        self.app.require_verification(event)

    @command
    def remind(self, key, body, actor):
        return self.app.remind(key, body, Actor.from_dict(actor))

    @command
    def report(self, key, body, actor):
        return self.app.report(key, body, Actor.from_dict(actor))

    @command
    def list_cases(self, query, actor):
        return self.app.list_cases(query, Actor.from_dict(actor))

    @command
    def get_case(self, case_id, actor):
        return self.app.get_case(case_id, Actor.from_dict(actor))

    @command
    def order_reinvestigation(self, case_id, body, actor):
        return self.app.order_reinvestigation(case_id, body, Actor.from_dict(actor))

    @command
    def close_case(self, case_id, body, actor):
        return self.app.close_case(case_id, body, Actor.from_dict(actor))

    @command
    def file_verification(self, key, body, actor):
        return self.app.file_verification(key, body, Actor.from_dict(actor))

    @command
    def verifications(self, key, actor):
        return self.app.verifications(key, Actor.from_dict(actor))

    @command
    def record_accountability(self, body, actor):
        return self.app.record_accountability(body, Actor.from_dict(actor))

    @command
    def list_accountability(self, query, actor):
        return self.app.list_accountability(query, Actor.from_dict(actor))
