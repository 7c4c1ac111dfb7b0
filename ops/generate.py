"""Dashboards and alerting as code: writes the Grafana dashboards and the k8s monitoring manifests.

    .venv/bin/python -m ops.generate          # rewrite the generated files
    .venv/bin/python -m ops.generate --check  # exit 1 if a generated file is out of date

Sources (edit these):        this file (the dashboards), ops/prometheus/rules/hotline.rules.yml (alerts).
Generated (never by hand):   ops/grafana/dashboards/*.json, k8s/monitoring/grafana-dashboards.yaml,
                             k8s/monitoring/prometheus-rule.yaml.
tests/unit/test_ops.py checks that the generated files are up to date, that every query names a
metric the code exports, and runs promtool over the rules.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import yaml

from tools.services import SERVICES

REPO = Path(__file__).resolve().parents[1]
DASHBOARDS = REPO / "ops/grafana/dashboards"
RULES = REPO / "ops/prometheus/rules/hotline.rules.yml"
K8S = REPO / "k8s/monitoring"

DS = {"type": "prometheus", "uid": "${datasource}"}
P = "cn.gov.12345."                    # event type prefix
Q = '"'                                # a PromQL string quote, inside f-strings
APP_SERVICES = list(SERVICES)          # the event-driven services (tools/services.py)
NOT_API = 'route!~"/healthz|/readyz|/metrics"'


# -- panel builders --------------------------------------------------------------------------------
def target(expr: str, legend: str = "", ref: str = "A", instant: bool = False) -> dict:
    t = {"refId": ref, "datasource": DS, "expr": expr, "legendFormat": legend or "__auto", "range": not instant,
         "instant": instant}
    return t


def _targets(queries) -> list[dict]:
    out = []
    for i, q in enumerate(queries):
        expr, legend = (q, "") if isinstance(q, str) else q
        out.append(target(expr, legend, ref=chr(ord("A") + i)))
    return out


def timeseries(title: str, description: str, queries, unit: str = "short", stack: bool = False,
               w: int = 12, h: int = 8) -> dict:
    return {
        "type": "timeseries", "title": title, "description": description, "datasource": DS,
        "targets": _targets(queries), "_size": (w, h),
        "fieldConfig": {"defaults": {"unit": unit, "min": 0, "custom": {
            "drawStyle": "line", "lineWidth": 1, "fillOpacity": 10, "showPoints": "never",
            "stacking": {"mode": "normal" if stack else "none", "group": "A"}}}, "overrides": []},
        "options": {"legend": {"displayMode": "table", "placement": "bottom", "calcs": ["lastNotNull", "max"]},
                    "tooltip": {"mode": "multi", "sort": "desc"}},
    }


def stat(title: str, description: str, expr: str, unit: str = "short", thresholds=None, w: int = 6, h: int = 4,
         today: bool = False, decimals: int | None = None) -> dict:
    steps = [{"color": "green", "value": None}] + [{"color": c, "value": v} for v, c in (thresholds or [])]
    panel = {
        "type": "stat", "title": title, "description": description, "datasource": DS,
        "targets": [target(expr, instant=True)], "_size": (w, h),
        "fieldConfig": {"defaults": {"unit": unit, "thresholds": {"mode": "absolute", "steps": steps},
                                     "color": {"mode": "thresholds"}}, "overrides": []},
        "options": {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                    "colorMode": "background", "graphMode": "none", "textMode": "value", "justifyMode": "auto"},
    }
    if decimals is not None:
        panel["fieldConfig"]["defaults"]["decimals"] = decimals
    if today:  # "today so far" in the dashboard's timezone (Asia/Shanghai), whatever the time picker says
        panel["timeFrom"] = "now/d"
        panel["hideTimeOverride"] = False
    return panel


def bars(title: str, description: str, expr: str, legend: str, unit: str = "short", w: int = 8, h: int = 10,
         thresholds=None) -> dict:
    steps = [{"color": "green", "value": None}] + [{"color": c, "value": v} for v, c in (thresholds or [])]
    return {
        "type": "bargauge", "title": title, "description": description, "datasource": DS,
        "targets": [target(expr, legend, instant=True)], "_size": (w, h),
        "fieldConfig": {"defaults": {"unit": unit, "min": 0, "thresholds": {"mode": "absolute", "steps": steps},
                                     "color": {"mode": "thresholds"}}, "overrides": []},
        "options": {"orientation": "horizontal", "displayMode": "basic", "showUnfilled": True,
                    "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False}},
    }


def row(title: str) -> dict:
    return {"type": "row", "title": title, "collapsed": False, "panels": [], "_size": (24, 1)}


def rate(metric: str, selector: str = "", by: str = "", window: str = "$__rate_interval") -> str:
    inner = f"rate({metric}{{{selector}}}[{window}])" if selector else f"rate({metric}[{window}])"
    return f"sum by ({by}) ({inner})" if by else f"sum({inner})"


def quantile(q: float, metric: str, selector: str, by: str = "", window: str = "$__rate_interval") -> str:
    keys = f"{by}, le" if by else "le"
    return f"histogram_quantile({q}, sum by ({keys}) (rate({metric}_bucket{{{selector}}}[{window}])))"


def published(service: str, short_type: str) -> str:
    return f'hotline_outbox_published_total{{service="{service}", type="{P}{short_type}"}}'


# -- layout and dashboard --------------------------------------------------------------------------
def layout(panels: list[dict]) -> list[dict]:
    """Place panels left to right, wrapping at 24 columns; a row starts a new line."""
    x = y = line_h = 0
    out = []
    for pid, panel in enumerate(panels, start=1):
        w, h = panel.pop("_size")
        if panel["type"] == "row" or x + w > 24:
            x, y, line_h = 0, y + line_h, 0
        panel = {"id": pid, "gridPos": {"h": h, "w": w, "x": x, "y": y}, **panel}
        out.append(panel)
        x += w
        line_h = max(line_h, h)
        if panel["type"] == "row":
            x, y, line_h = 0, y + h, 0
    return out


def datasource_variable() -> dict:
    return {"name": "datasource", "label": "Data source", "type": "datasource", "query": "prometheus",
            "current": {}, "hide": 0, "refresh": 1, "regex": "", "options": [], "includeAll": False, "multi": False}


def service_variable() -> dict:
    options = [{"text": "All", "value": "$__all", "selected": True}] + [
        {"text": s, "value": s, "selected": False} for s in APP_SERVICES]
    return {"name": "service", "label": "Service", "type": "custom", "query": ",".join(APP_SERVICES),
            "includeAll": True, "multi": True, "allValue": ".+", "hide": 0, "options": options,
            "current": {"text": ["All"], "value": ["$__all"], "selected": True}}


def dashboard(uid: str, title: str, description: str, panels: list[dict], variables=(), time_from="now-6h",
              links=True) -> dict:
    return {
        "uid": uid, "title": title, "description": description, "tags": ["hotline12345"],
        "timezone": "Asia/Shanghai", "editable": True, "graphTooltip": 1, "refresh": "30s",
        "schemaVersion": 39, "version": 1, "time": {"from": time_from, "to": "now"},
        "annotations": {"list": []},
        "links": [{"title": "12345 dashboards", "type": "dashboards", "tags": ["hotline12345"], "asDropdown": True,
                   "includeVars": False, "keepTime": True}] if links else [],
        "templating": {"list": [datasource_variable(), *variables]},
        "panels": layout(panels),
    }


# -- the four dashboards ---------------------------------------------------------------------------
HOPS = (("routing", "ticket.registered", "registered → routing"),
        ("sla", "ticket.dispatched", "dispatched → sla"),
        ("intake", "deadline.set", "deadline set → intake view"))


def lag_hops(q: float, window: str = "$__rate_interval") -> list[str]:
    """Each hop from registration to the ticket's view showing its deadline: the lag of the event the
    next service handles."""
    return [quantile(q, "hotline_event_lag_seconds", f'service="{s}", type="{P}{t}"', window=window)
            for s, t, _ in HOPS]


def end_to_end(q: float, window: str = "$__rate_interval") -> str:
    return " + ".join(f"({h})" for h in lag_hops(q, window))


def pipeline() -> dict:
    per_min = [(f'{rate("hotline_outbox_published_total", f"service={Q}{s}{Q}, type={Q}{P}{t}{Q}")} * 60', label)
               for s, t, label in (("intake", "ticket.registered", "registered"),
                                   ("routing", "ticket.dispatched", "dispatched"),
                                   ("sla", "deadline.set", "deadline set"))]
    return dashboard("hotline-pipeline", "12345 · Pipeline",
                     "Tickets flowing register → dispatch → deadline set, and how long it takes.", [
        stat("Registered, last hour", "ticket.registered events published by intake in the last hour",
             f"sum(increase({published('intake', 'ticket.registered')}[1h]))", decimals=0),
        stat("Dispatched, last hour", "ticket.dispatched events published by routing in the last hour",
             f"sum(increase({published('routing', 'ticket.dispatched')}[1h]))", decimals=0),
        stat("Deadlines set, last hour", "deadline.set events published by sla in the last hour",
             f"sum(increase({published('sla', 'deadline.set')}[1h]))", decimals=0),
        stat("End-to-end lag p95", "Registration until the ticket's view shows its deadline: the sum of the three "
             "hops' p95 lag over 5 minutes (an upper estimate)",
             end_to_end(0.95, "5m"), unit="s", thresholds=[(10, "orange"), (60, "red")]),
        timeseries("Tickets per minute", "Events published per minute at each step of the happy path. The three "
                   "lines lie on top of each other when the pipeline keeps up.", per_min, unit="short"),
        timeseries("End-to-end lag: registered → deadline visible",
                   "Sum over the hops of each event's lag (from its time to the end of its handling): routing "
                   "handles ticket.registered, sla ticket.dispatched, intake deadline.set.",
                   [(end_to_end(0.95), "p95"), (end_to_end(0.5), "p50")]
                   + [(h, f"hop p95: {hop[2]}") for h, hop in zip(lag_hops(0.95), HOPS, strict=True)],
                   unit="s"),
        row("Backlogs"),
        timeseries("Events waiting in each inbox", "Ready messages on hotline.<service>.inbox (RabbitMQ). A line "
                   "that keeps rising is a service falling behind (alert HotlineInboxGrowing).",
                   [('sum by (queue) (rabbitmq_queue_messages_ready{queue=~"hotline\\\\..+\\\\.inbox"})', "{{queue}}")],
                   w=8),
        timeseries("Dead letters", "Messages waiting in hotline.<service>.dead (alert HotlineDeadLetters); "
                   "replay with tools/deadletters.py after the cause is fixed.",
                   [('sum by (queue) (rabbitmq_queue_messages_ready{queue=~"hotline\\\\..+\\\\.dead"})', "{{queue}}")],
                   w=8),
        timeseries("Outbox lag", "Age of the oldest event each service has written but not yet published "
                   "(alert HotlineOutboxLag over 60 s).",
                   [("max by (service) (hotline_outbox_oldest_age_seconds)", "{{service}}")], unit="s", w=8),
        row("Throughput"),
        timeseries("Events handled per second", "By consuming service, all outcomes",
                   [(rate("hotline_events_handled_total", by="service"), "{{service}}")], unit="ops", stack=True),
        timeseries("Deadline timers fired per minute", "sla's timers: due soon, overdue, still overdue",
                   [(f'{rate("hotline_timers_fired_total", by="kind")} * 60', "{{kind}}")]),
        row("Outside deliveries (notify)"),
        timeseries("Webhook attempts per minute", "By outcome: delivered; failed (retried later); dead (no "
                   "attempts left: in the subscription's dead-letter list)",
                   [(f'{rate("hotline_webhook_attempts_total", by="outcome")} * 60', "{{outcome}}")], w=8),
        timeseries("Webhook attempt p95", "Duration of one delivery attempt",
                   [(quantile(0.95, "hotline_webhook_attempt_seconds", "", ""), "p95")], unit="s", w=8),
        timeseries("Notices to units' contacts per minute", "SMS notices by kind and outcome; subscriptions "
                   "disabled after a failure streak",
                   [(f'{rate("hotline_notices_total", by="kind, outcome")} * 60', "{{kind}} {{outcome}}"),
                    (f'{rate("hotline_webhook_subscriptions_disabled_total")} * 60', "subscriptions disabled")], w=8),
    ])


def services() -> dict:
    sel = 'service=~"$service"'
    return dashboard("hotline-services", "12345 · Services",
                     "Each event-driven service: what it handles, retries, dead-letters, how fast, how far behind, "
                     "and how many replicas run.", [
        timeseries("Events handled per second", "By service and outcome (applied, duplicate, no_change, ok)",
                   [(rate("hotline_events_handled_total", sel, "service, outcome"), "{{service}} {{outcome}}")],
                   unit="ops"),
        timeseries("Handler latency", "p50 and p95 of the time one event's handler takes",
                   [(quantile(0.95, "hotline_event_handler_seconds", sel, "service"), "{{service}} p95"),
                    (quantile(0.5, "hotline_event_handler_seconds", sel, "service"), "{{service}} p50")], unit="s"),
        timeseries("Retried per second", "Events parked for a delayed retry (a transient error: store or broker "
                   "down, a lost race, an event ahead of its cause)",
                   [(rate("hotline_events_retried_total", sel, "service, type"), "{{service}} {{type}}")], unit="ops",
                   w=8),
        timeseries("Dead-lettered per second", "Events sent to hotline.<service>.dead, by reason (poison, bug, "
                   "exhausted, decode)",
                   [(rate("hotline_events_dead_lettered_total", sel, "service, reason"), "{{service}} {{reason}}")],
                   unit="ops", w=8),
        timeseries("Handler bugs", "Unexpected exceptions in a reaction (retried, then dead-lettered as a bug), "
                   "in the last 5 minutes",
                   [(f"sum by (service, type, error) (increase(hotline_event_handler_bugs_total{{{sel}}}[5m]))",
                     "{{service}} {{type}} {{error}}")], w=8),
        timeseries("No change per second", "Events whose reaction could not apply to the current state (acked, "
                   "nothing changed)",
                   [(rate("hotline_events_no_change_total", sel, "service, type"), "{{service}} {{type}}")],
                   unit="ops", w=8),
        timeseries("Inbox depth", "Ready messages on hotline.<service>.inbox (RabbitMQ)",
                   [('sum by (queue) (rabbitmq_queue_messages_ready{queue=~"hotline.($service).inbox"})',
                     "{{queue}}")], w=8),
        timeseries("Outbox lag", "Age of the oldest event written but not yet published",
                   [(f"max by (service) (hotline_outbox_oldest_age_seconds{{{sel}}})", "{{service}}")], unit="s",
                   w=8),
        timeseries("Replicas", "Processes Prometheus scrapes successfully, per service",
                   [(f"count by (service) (up{{{sel}}} == 1)", "{{service}}")], w=8),
        timeseries("Consumers on the inbox", "Consumers RabbitMQ counts on hotline.<service>.inbox (0: alert "
                   "HotlineNoConsumer)",
                   [('sum by (queue) (rabbitmq_queue_consumers{queue=~"hotline.($service).inbox"})', "{{queue}}")],
                   w=8),
        timeseries("Events published per second", "Events each service's outbox relay published with a broker "
                   "confirm",
                   [(rate("hotline_outbox_published_total", sel, "service"), "{{service}}")], unit="ops", w=8),
        timeseries("Handler latency p95 by event type", "The ten slowest reactions",
                   [(f"topk(10, {quantile(0.95, 'hotline_event_handler_seconds', sel, 'service, type')})",
                     "{{service}} {{type}}")], unit="s"),
        timeseries("Event lag p95 by service", "From an event's time until this service finished handling it: "
                   "the outbox relay, the broker queue and the handler",
                   [(quantile(0.95, "hotline_event_lag_seconds", sel, "service"), "{{service}}")], unit="s"),
    ], variables=[service_variable()])


def gateway() -> dict:
    api = NOT_API
    return dashboard("hotline-gateway", "12345 · Gateway", "The HTTP API: rate, errors and latency by route.", [
        stat("Requests per second", "API requests (health and metrics excluded)",
             rate("hotline_http_requests_total", api, window="5m"), unit="reqps"),
        stat("5xx ratio", "Share of API requests answered 5xx over 5 minutes (alert HotlineGateway5xx over 5 %)",
             f'{rate("hotline_http_requests_total", api + ", status=~" + Q + "5.." + Q, window="5m")} '
             f'/ {rate("hotline_http_requests_total", api, window="5m")}',
             unit="percentunit", thresholds=[(0.01, "orange"), (0.05, "red")]),
        stat("Create p99", "POST /v1/tickets p99 latency over 5 minutes (alert HotlineCreateLatencyHigh over 1 s)",
             quantile(0.99, "hotline_http_request_seconds", 'route="/v1/tickets", method="POST"', window="5m"),
             unit="s", thresholds=[(0.5, "orange"), (1, "red")]),
        stat("Gateway replicas", "Gateway processes Prometheus scrapes successfully",
             'count(up{service="gateway"} == 1)'),
        timeseries("Requests per second by route", "By route template and method",
                   [(rate("hotline_http_requests_total", api, "route, method"), "{{method}} {{route}}")],
                   unit="reqps"),
        timeseries("Responses by status", "All API responses, by status code",
                   [(rate("hotline_http_requests_total", api, "status"), "{{status}}")], unit="reqps", stack=True),
        timeseries("Errors by route (5xx)", "Our failures: 500 a bug, 503 a service unreachable, 504 an RPC timeout",
                   [(rate("hotline_http_requests_total", api + ', status=~"5.."', "route, method, status"),
                     "{{status}} {{method}} {{route}}")], unit="reqps"),
        timeseries("Client errors by route (4xx)", "Refusals: validation, authentication, not found, conflicts",
                   [(rate("hotline_http_requests_total", api + ', status=~"4.."', "route, method, status"),
                     "{{status}} {{method}} {{route}}")], unit="reqps"),
        timeseries("Latency p95 by route", "",
                   [(quantile(0.95, "hotline_http_request_seconds", api, "route, method"), "{{method}} {{route}}")],
                   unit="s"),
        timeseries("Latency p99 by route", "",
                   [(quantile(0.99, "hotline_http_request_seconds", api, "route, method"), "{{method}} {{route}}")],
                   unit="s"),
    ])


def business() -> dict:
    def units(metric: str) -> str:
        return f"sort_desc(max by (unit) ({metric}))"

    def total(metric: str) -> str:
        return f"sum(max by (unit) ({metric}))"

    def today(short_type: str, service: str) -> str:
        return f"round(sum(increase({published(service, short_type)}[$__range])))"

    overdue_day = 'sum(increase(hotline_timers_fired_total{kind="overdue"}[1d]))'
    return dashboard("hotline-business", "12345 · Business",
                     "The hotline as the office sees it: open, overdue and due-today tickets by unit; today's "
                     "reminders and supervision cases. Days are Beijing days.", [
        stat("Open tickets", "Tickets a unit is handling now (deadline clock running)", total("hotline_open_tickets"),
             decimals=0),
        stat("Overdue", "Past their deadline, not yet replied", total("hotline_overdue_tickets"),
             thresholds=[(1, "orange"), (100, "red")], decimals=0),
        stat("Due today", "Deadline at the end of today, not yet replied", total("hotline_due_today_tickets"),
             thresholds=[(1, "yellow")], decimals=0),
        stat("Registered today", "Tickets registered since midnight (Beijing)", today("ticket.registered", "intake"),
             today=True, decimals=0),
        stat("Reminders today", "催办 sent since midnight (reminder.sent)", today("reminder.sent", "escalation"),
             today=True, decimals=0, w=6),
        stat("Supervision cases today", "督办 cases opened since midnight (supervision.opened)",
             today("supervision.opened", "escalation"), today=True, decimals=0, thresholds=[(1, "orange")], w=6),
        stat("Provisional deadlines, 24 h", "Deadlines counted with weekends only: a year without holiday data "
             "(alert HotlineProvisionalDeadlines)", "sum(increase(hotline_provisional_deadlines_total[1d]))",
             thresholds=[(1, "red")], decimals=0, w=6),
        stat("Holiday data through", "Every year from this one through this year has official holiday data "
             "(alert HotlineHolidayCalendarMissing in December)", "max(hotline_calendar_official_through_year)",
             decimals=0, w=6),
        bars("Open tickets by unit", "", units("hotline_open_tickets"), "{{unit}}"),
        bars("Overdue by unit", "", units("hotline_overdue_tickets"), "{{unit}}", thresholds=[(1, "red")]),
        bars("Due today by unit", "", units("hotline_due_today_tickets"), "{{unit}}", thresholds=[(1, "orange")]),
        timeseries("Overdue tickets by unit", "The ten units with the most overdue tickets",
                   [("topk(10, max by (unit) (hotline_overdue_tickets))", "{{unit}}")]),
        timeseries("Gone overdue per day, against last week",
                   "Tickets that went overdue in the preceding 24 hours, now and a week earlier "
                   "(alert HotlineOverdueSurge above 1.5 times)",
                   [(overdue_day, "last 24 h"),
                    ('sum(increase(hotline_timers_fired_total{kind="overdue"}[1d] offset 1w))', "a week earlier")]),
    ], time_from="now-7d")


BUILDERS = {"pipeline": pipeline, "services": services, "gateway": gateway, "business": business}


# -- k8s manifests ---------------------------------------------------------------------------------
HEADER = "# Generated by `python -m ops.generate` from {src}: do not edit by hand.\n"


class _Dumper(yaml.SafeDumper):
    """Multi-line strings (PromQL, descriptions) as literal blocks, as they read in the rules file."""


def _str(dumper, value: str):
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def dump(doc) -> str:
    return yaml.dump(doc, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=1 << 20)


def render_dashboards() -> dict[str, str]:
    return {f"{name}.json": json.dumps(build(), indent=2, ensure_ascii=False) + "\n"
            for name, build in BUILDERS.items()}


def render_configmap(dashboards: dict[str, str]) -> str:
    doc = {"apiVersion": "v1", "kind": "ConfigMap",
           "metadata": {"name": "hotline-grafana-dashboards",
                        # Grafana's dashboard sidecar (kube-prometheus-stack) loads ConfigMaps with this label
                        "labels": {"grafana_dashboard": "1"},
                        "annotations": {"grafana_folder": "12345 hotline"}},
           # compact JSON: kubectl's client-side apply keeps a copy in an annotation limited to 256 KiB
           "data": {name: json.dumps(json.loads(text), separators=(",", ":"), ensure_ascii=False)
                    for name, text in sorted(dashboards.items())}}
    return HEADER.format(src="ops/generate.py") + dump(doc)


def render_prometheus_rule() -> str:
    rules = yaml.safe_load(RULES.read_text())
    doc = {"apiVersion": "monitoring.coreos.com/v1", "kind": "PrometheusRule",
           "metadata": {"name": "hotline12345",
                        # the Prometheus operator picks up rules by label; kube-prometheus-stack's default is
                        # `release: <its release name>`: add that label in an overlay if yours selects on it
                        "labels": {"app.kubernetes.io/name": "hotline12345", "role": "alert-rules"}},
           "spec": {"groups": rules["groups"]}}
    return HEADER.format(src="ops/prometheus/rules/hotline.rules.yml") + dump(doc)


def outputs() -> dict[Path, str]:
    dashboards = render_dashboards()
    out = {DASHBOARDS / name: text for name, text in dashboards.items()}
    out[K8S / "grafana-dashboards.yaml"] = render_configmap(dashboards)
    out[K8S / "prometheus-rule.yaml"] = render_prometheus_rule()
    return out


def stale() -> list[Path]:
    return [p for p, text in outputs().items() if not p.exists() or p.read_text(encoding="utf-8") != text]


def main(argv: list[str]) -> int:
    if "--check" in argv:
        out_of_date = stale()
        for p in out_of_date:
            print(f"out of date: {p.relative_to(REPO)} (run: python -m ops.generate)")
        return 1 if out_of_date else 0
    for path, text in outputs().items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
