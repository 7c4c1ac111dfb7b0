"""notify's configuration: policies and templates from config/ (data), endpoints and secrets from the
environment (never from a file in the repository).

Environment (all optional):
  NOTIFY_ALLOWED_HOSTS        comma-separated hosts, addresses or CIDRs a webhook may target although
                              they are not public (SSRF allow-list), e.g. `127.0.0.1` for tests and
                              `make run`; empty in production
  NOTIFY_SMS_PROVIDER         `log` (development: the text goes to the log) or `http` (an SMS gateway)
  NOTIFY_SMS_URL              the gateway's send endpoint (http provider)
  NOTIFY_SMS_APP_KEY          the gateway's app key and secret (the request is signed with the secret)
  NOTIFY_SMS_APP_SECRET
  NOTIFY_WEBHOOK_RETRY_SCHEDULE, NOTIFY_SMS_RETRY_SCHEDULE
                              comma-separated seconds overriding the schedules of config/notify.yaml
                              (tests and demos)

This is the one place notify reads its environment, beside `hotline_common.settings.Settings`
(which gives it the store, the broker, the clock and TIMER_INTERVAL_SECONDS, its polling interval).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from hotline_common.config_files import read_yaml
from hotline_common.settings import SettingsError

from .domain import AllowList, RetryPolicy, Template, UnitContact, WebhookPolicy, designated_contact

KINDS = ("reminder", "supervision", "reinvestigation", "extension_granted", "extension_rejected")
PROVIDERS = ("log", "http")
CLAIM_ROUNDS = 4   # a replica claims at most this many rounds of a subscription's in-flight bound at once


@dataclass(frozen=True)
class SmsGatewaySettings:
    url: str = ""
    app_key: str = ""
    app_secret: str = ""
    timeout_seconds: float = 5.0
    sign_name: str = ""


@dataclass(frozen=True)
class NotifySettings:
    webhooks: WebhookPolicy
    notices: RetryPolicy
    allow: AllowList = AllowList()
    webhook_timeout_seconds: float = 5.0
    max_concurrent: int = 32
    max_in_flight_per_subscription: int = 8
    probe_after_failures: int = 10
    claim_seconds: float = 60.0
    sms_provider: str = "log"
    sms: SmsGatewaySettings = field(default_factory=SmsGatewaySettings)
    templates: dict[str, Template] = field(default_factory=dict)

    @classmethod
    def load(cls, config_dir: Path, environ: dict | None = None) -> NotifySettings:
        env = os.environ if environ is None else environ
        config = read_yaml(config_dir, "notify.yaml")
        hooks, notices = config.get("webhooks", {}), config.get("notices", {})
        webhook_schedule = _schedule(env.get("NOTIFY_WEBHOOK_RETRY_SCHEDULE"), hooks.get("retry_schedule_seconds"))
        sms_schedule = _schedule(env.get("NOTIFY_SMS_RETRY_SCHEDULE"), notices.get("retry_schedule_seconds"))
        policy = WebhookPolicy(
            retry=RetryPolicy(webhook_schedule),
            disable_after_failures=int(hooks.get("disable_after_failures", 100)),
            disable_after=timedelta(hours=float(hooks.get("disable_after_hours", 24))),
            delivered_retention=timedelta(days=float(hooks.get("delivered_retention_days", 14))),
            dead_retention=timedelta(days=float(hooks.get("dead_letter_retention_days", 30))),
            max_subscriptions_per_owner=int(hooks.get("max_subscriptions_per_owner", 20)))
        provider = env.get("NOTIFY_SMS_PROVIDER", notices.get("provider", "log"))
        if provider not in PROVIDERS:
            raise SettingsError(f"NOTIFY_SMS_PROVIDER must be one of {PROVIDERS}, not {provider!r}")
        gateway = notices.get("http", {})
        sms = SmsGatewaySettings(url=env.get("NOTIFY_SMS_URL", gateway.get("url", "")),
                                 app_key=env.get("NOTIFY_SMS_APP_KEY", ""),
                                 app_secret=env.get("NOTIFY_SMS_APP_SECRET", ""),
                                 timeout_seconds=float(gateway.get("timeout_seconds", 5)),
                                 sign_name=str(gateway.get("sign_name", "")))
        if provider == "http" and not (sms.url and sms.app_key and sms.app_secret):
            raise SettingsError("NOTIFY_SMS_PROVIDER=http needs NOTIFY_SMS_URL, NOTIFY_SMS_APP_KEY and "
                                "NOTIFY_SMS_APP_SECRET")
        timeout, claim = float(hooks.get("timeout_seconds", 5)), float(hooks.get("claim_seconds", 60))
        if claim < CLAIM_ROUNDS * 2 * timeout + 5:   # each attempt ends within 2 x timeout (senders._deadline)
            raise SettingsError(f"webhooks.claim_seconds must exceed {CLAIM_ROUNDS} x 2 x timeout_seconds + 5 s, "
                                "or a claim could expire while its batch is still being sent")
        return cls(webhooks=policy, notices=RetryPolicy(sms_schedule),
                   allow=AllowList.parse(env.get("NOTIFY_ALLOWED_HOSTS", "")),
                   webhook_timeout_seconds=timeout,
                   max_concurrent=int(hooks.get("max_concurrent", 32)),
                   max_in_flight_per_subscription=int(hooks.get("max_in_flight_per_subscription", 8)),
                   probe_after_failures=int(hooks.get("probe_after_failures", 10)),
                   claim_seconds=claim,
                   sms_provider=provider, sms=sms, templates=load_templates(config_dir))


def load_templates(config_dir: Path) -> dict[str, Template]:
    """config/notify-templates.yaml: one template per kind of notice (checked at start)."""
    raw = read_yaml(config_dir, "notify-templates.yaml").get("templates", {})
    missing = [k for k in KINDS if k not in raw]
    if missing:
        raise SettingsError(f"config/notify-templates.yaml lacks templates for {', '.join(missing)}")
    return {kind: Template(template_id=str(raw[kind]["template_id"]), text=str(raw[kind]["text"])) for kind in KINDS}


def _schedule(override: str | None, configured) -> tuple[float, ...]:
    if override:
        values = tuple(float(v) for v in override.split(",") if v.strip())
    else:
        values = tuple(float(v) for v in (configured or ()))
    if not values or any(v < 0 for v in values):
        raise SettingsError("a retry schedule is a non-empty list of seconds >= 0")
    return values


def load_units(config_dir: Path) -> dict[str, UnitContact]:
    """Units' designated contacts from config/units.yaml, read once at start. No event tells of a unit
    changed through the admin API (PUT /v1/units/{id}: routing publishes nothing for it), so such a
    change reaches notify at its next start."""
    return {u["id"]: designated_contact(u) for u in read_yaml(config_dir, "units.yaml").get("units", [])}
