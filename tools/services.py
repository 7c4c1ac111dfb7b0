"""The services, in one place: name -> nameko class path (the five of the notice, and notify, which
delivers to the outside: webhooks and notices to units' contacts)."""
from __future__ import annotations

import importlib

SERVICES = {
    "intake": "services.intake.service:IntakeService",
    "routing": "services.routing.service:RoutingService",
    "sla": "services.sla.service:SlaService",
    "escalation": "services.escalation.service:EscalationService",
    "bulletin": "services.bulletin.service:BulletinService",
    "notify": "services.notify.service:NotifyService",
}


def service_class(name: str):
    module, _, cls = SERVICES[name].partition(":")
    return getattr(importlib.import_module(module), cls)
