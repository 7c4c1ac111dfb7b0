"""Issue 16, operations: the dashboards ask only for metrics the code exports, the alert rules pass
promtool (syntax, and unit tests with cases that fire and cases that stay quiet), every alert has a
runbook, and the files docker compose and k8s ship are the ones in ops/.

promtool comes from Debian's `prometheus` package (ops/ensure-promtool.sh installs it); without it
the promtool tests skip and say so."""
from __future__ import annotations

import ast
import json
import math
import re
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import falcon
import falcon.testing
import jsonschema
import kubernetes_validate
import pytest
import yaml
from prometheus_client import REGISTRY, CollectorRegistry

from hotline_common import metrics
from hotline_common.events import ALL_TYPES
from ops import generate
from tools.services import SERVICES

REPO = Path(__file__).resolve().parents[2]
RULES = REPO / "ops/prometheus/rules/hotline.rules.yml"
RULE_TESTS = sorted((REPO / "ops/prometheus/tests").glob("*.test.yml"))
DASHBOARD_FILES = sorted((REPO / "ops/grafana/dashboards").glob("*.json"))
K8S_VERSION = "1.30.0"
PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(
    PROMTOOL is None,
    reason="!!! promtool NOT INSTALLED: the alert rules were NOT checked. Run ops/ensure-promtool.sh "
           "(Debian's prometheus package) !!!")

# Metrics the dashboards and alerts read that our code does not define: RabbitMQ's own exporter
# (rabbitmq_prometheus plugin, /metrics/per-object), and the `up` series Prometheus writes per target.
RABBITMQ_EXPORTER = {"rabbitmq_queue_messages_ready", "rabbitmq_queue_consumers"}
PROMETHEUS_BUILTIN = {"up"}
EXTERNAL = RABBITMQ_EXPORTER | PROMETHEUS_BUILTIN

# Grafana's variables, replaced by a value of the right shape before a query is parsed
GRAFANA_VARIABLES = {"$__rate_interval": "1m", "$__range": "1d", "$__interval": "1m", "${datasource}": "x",
                     "$service": "intake"}


# -- what the code exports -------------------------------------------------------------------------
CONSTRUCTORS = {"Counter", "Gauge", "Histogram", "Summary", "Info", "Enum"}


def metric_definitions() -> dict[str, str]:
    """name -> kind, for every prometheus_client metric constructed in the product's code (a call of
    Counter/Gauge/Histogram/... imported from prometheus_client, with a literal name), plus the
    business gauges TicketGauges serves."""
    found: dict[str, str] = {}
    for folder in ("libs", "services", "gateway", "tools"):
        for path in (REPO / folder).rglob("*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            imported = {alias.asname or alias.name for node in ast.walk(tree)
                        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("prometheus_client")
                        for alias in node.names if alias.name in CONSTRUCTORS}
            for node in ast.walk(tree):
                if not (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)
                        and isinstance(node.args[0].value, str)):
                    continue
                func = node.func
                name = func.id if isinstance(func, ast.Name) else None
                if name in imported:
                    found[node.args[0].value] = name
    for name, _, _ in metrics.TicketGauges.FAMILIES:
        found[name] = "Gauge"
    return found


def exported_names() -> set[str]:
    """The series names Prometheus sees for those definitions."""
    out = set()
    for name, kind in metric_definitions().items():
        if kind == "Counter":
            base = name[: -len("_total")] if name.endswith("_total") else name
            out |= {base + "_total", base + "_created"}
        elif kind == "Histogram":
            out |= {name + "_bucket", name + "_sum", name + "_count", name + "_created"}
        elif kind == "Summary":
            out |= {name, name + "_sum", name + "_count", name + "_created"}
        else:
            out.add(name)
    return out


# -- what the dashboards and rules ask for ---------------------------------------------------------
PROMQL_WORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "offset", "bool", "and", "or",
                "unless", "inf", "nan", "atan2"}
_CLAUSE = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")


def substitute(expr: str) -> str:
    for var, value in sorted(GRAFANA_VARIABLES.items(), key=lambda kv: -len(kv[0])):
        expr = expr.replace(var, value)
    return expr


def metric_names_in(expr: str) -> set[str]:
    """The metric names a PromQL expression selects (functions, keywords, label names, label values
    and durations are not)."""
    text = substitute(expr)
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', text)          # string literals (label values, regexes)
    text = re.sub(r"\{[^}]*\}", "", text)                     # label matchers
    text = re.sub(r"\[[^\]]*\]", "", text)                    # ranges and subqueries
    text = _CLAUSE.sub("", text)                              # by (...), on (...), group_left (...)
    names = set()
    for m in re.finditer(r"(?<![\w.:])([A-Za-z_:][A-Za-z0-9_:]*)(?![\w:])(\s*\()?", text):
        word, call = m.group(1), m.group(2)
        if call or word in PROMQL_WORDS:
            continue
        names.add(word)
    return names


def dashboards() -> dict[str, dict]:
    return {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in DASHBOARD_FILES}


def dashboard_queries(board: dict) -> list[tuple[str, str]]:
    """(where, PromQL) for every panel target and every query variable."""
    out = []
    for panel in board["panels"]:
        for t in panel.get("targets", []):
            out.append((f"{board['uid']} / {panel['title']} / {t['refId']}", t["expr"]))
    for var in board.get("templating", {}).get("list", []):
        if var.get("type") == "query":
            query = var["query"]["query"] if isinstance(var["query"], dict) else var["query"]
            inner = re.match(r"label_values\((.*),\s*\w+\)$", query)
            out.append((f"{board['uid']} / variable {var['name']}", inner.group(1) if inner else query))
    return out


def rule_exprs() -> list[tuple[str, str]]:
    doc = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    return [(rule.get("alert") or rule.get("record"), rule["expr"]) for g in doc["groups"] for rule in g["rules"]]


def alerts() -> list[dict]:
    doc = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    return [rule for g in doc["groups"] for rule in g["rules"] if "alert" in rule]


# -- the extractor itself ----------------------------------------------------------------------------
def test_metric_names_are_read_out_of_promql():
    expr = ('label_replace(max by (queue) (rabbitmq_queue_messages_ready{queue=~"hotline\\\\..+\\\\.dead"}), '
            '"service", "$1", "queue", "hotline\\\\.(.+)\\\\.dead") > 0 and on() '
            'sum(increase(hotline_timers_fired_total{kind="overdue"}[1d] offset 1w)) '
            '/ ignoring(le) histogram_quantile(0.99, sum by (le) (rate(x_bucket[$__rate_interval]))) '
            '+ scalar(year(vector(time() + 28800))) + count(up{service=~"$service"} == 1)')
    assert metric_names_in(expr) == {"rabbitmq_queue_messages_ready", "hotline_timers_fired_total", "x_bucket", "up"}


def test_the_code_defines_the_metrics_the_registry_holds():
    """The AST scan finds every hotline metric this process registered (it would miss a renamed import)."""
    registered = {m.name for m in REGISTRY.collect() if m.name.startswith("hotline_")}
    defined = set(metric_definitions())
    missing = {n for n in registered if n not in defined and n + "_total" not in defined}
    assert not missing, f"registered but not found by the scan: {missing}"
    assert "hotline_events_handled_total" in defined and "hotline_http_request_seconds" in defined


# -- dashboards ---------------------------------------------------------------------------------------
def test_generated_files_are_up_to_date():
    stale = [str(p.relative_to(REPO)) for p in generate.stale()]
    assert not stale, f"run `python -m ops.generate`: out of date: {stale}"


def test_there_is_a_dashboard_for_the_pipeline_services_gateway_and_business():
    boards = dashboards()
    assert set(boards) == {"pipeline", "services", "gateway", "business"}
    titles = {name: {p["title"] for p in b["panels"]} for name, b in boards.items()}
    assert {"Tickets per minute", "End-to-end lag: registered → deadline visible"} <= titles["pipeline"]
    assert {"Events handled per second", "Retried per second", "Dead-lettered per second", "Handler latency",
            "Inbox depth", "Outbox lag", "Replicas", "Handler bugs", "No change per second"} <= titles["services"]
    assert {"Requests per second by route", "Errors by route (5xx)", "Latency p99 by route"} <= titles["gateway"]
    assert {"Open tickets by unit", "Overdue", "Due today", "Reminders today",
            "Supervision cases today"} <= titles["business"]


@pytest.mark.parametrize("name", [p.stem for p in DASHBOARD_FILES])
def test_every_dashboard_query_names_a_metric_the_code_exports(name):
    known = exported_names() | EXTERNAL
    queries = dashboard_queries(dashboards()[name])
    assert queries
    for where, expr in queries:
        names = metric_names_in(expr)
        assert names, f"{where}: no metric in {expr!r}"
        unknown = names - known
        assert not unknown, f"{where}: {sorted(unknown)} not exported by the code (nor listed as external)"


def test_every_alert_names_a_metric_the_code_exports():
    known = exported_names() | EXTERNAL
    for alert, expr in rule_exprs():
        names = metric_names_in(expr)
        assert names and names <= known, f"{alert}: {sorted(names - known)} unknown"


def test_every_hotline_metric_is_on_a_dashboard():
    """A metric nobody can see is noise: each one the code defines has a panel."""
    used = {n for board in dashboards().values() for _, expr in dashboard_queries(board)
            for n in metric_names_in(expr)}
    for name, kind in metric_definitions().items():
        if not name.startswith("hotline_"):
            continue
        series = {"Counter": {name if name.endswith("_total") else name + "_total"},
                  "Histogram": {name + "_bucket", name + "_count", name + "_sum"}}.get(kind, {name})
        assert series & used, f"{name} is exported but no dashboard panel shows it"


def test_label_values_in_queries_exist():
    routes = set(yaml.safe_load((REPO / "openapi.yaml").read_text(encoding="utf-8"))["paths"])
    services = set(SERVICES) | {"gateway"}
    exprs = [e for b in dashboards().values() for _, e in dashboard_queries(b)] + [e for _, e in rule_exprs()]
    for expr in exprs:
        for value in re.findall(r'\btype="([^"]+)"', expr):
            assert value in ALL_TYPES, f"no event type {value}"
        for value in re.findall(r'\bservice="([^"]+)"', expr):
            assert value in services, f"no service {value}"
        for value in re.findall(r'\broute="([^"]+)"', expr):
            assert value in routes, f"no route {value} in openapi.yaml"
        for value in re.findall(r'\bkind="([^"]+)"', expr):
            assert value in {"due_soon", "overdue", "still_overdue"}, f"no timer kind {value}"


@pytest.mark.parametrize("name", [p.stem for p in DASHBOARD_FILES])
def test_dashboards_are_well_formed(name):
    board = dashboards()[name]
    assert board["uid"] == f"hotline-{name}" and board["timezone"] == "Asia/Shanghai"
    assert board["templating"]["list"][0]["type"] == "datasource"
    ids = [p["id"] for p in board["panels"]]
    assert len(ids) == len(set(ids))
    for panel in board["panels"]:
        pos = panel["gridPos"]
        assert pos["x"] >= 0 and pos["x"] + pos["w"] <= 24 and pos["h"] > 0, panel["title"]
        if panel["type"] == "row":
            continue
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, panel["title"]
        assert panel["targets"] and all(t["datasource"] == panel["datasource"] for t in panel["targets"])
    # no two panels overlap
    cells = set()
    for panel in board["panels"]:
        pos = panel["gridPos"]
        mine = {(x, y) for x in range(pos["x"], pos["x"] + pos["w"]) for y in range(pos["y"], pos["y"] + pos["h"])}
        assert not (cells & mine), f"{panel['title']} overlaps another panel"
        cells |= mine


@needs_promtool
def test_dashboard_queries_are_valid_promql(tmp_path):
    """Each query, its Grafana variables filled in, as a recording rule: promtool parses it."""
    rules = [{"record": f"dashboard:query_{i}", "expr": substitute(expr)}
             for i, (_, expr) in enumerate(q for b in dashboards().values() for q in dashboard_queries(b))]
    path = tmp_path / "dashboards.rules.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}))
    result = subprocess.run([PROMTOOL, "check", "rules", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


# -- alert rules --------------------------------------------------------------------------------------
EXPECTED_ALERTS = {
    "HotlineDeadLetters",            # a dead-letter queue not empty
    "HotlineInboxGrowing",           # an inbox growing for 10 minutes
    "HotlineOutboxLag",              # outbox lag over a minute
    "HotlineNoConsumer",             # a service with no consumer on its queue
    "HotlineGateway5xx",             # the gateway's 5xx rate
    "HotlineCreateLatencyHigh",      # create latency p99
    "HotlineOverdueSurge",           # overdue tickets surging against last week
    "HotlineHolidayCalendarMissing",  # next year's calendar still missing after 1 December
    "HotlineProvisionalDeadlines",   # deadlines computed without holiday data
}


def test_the_alerts_the_issue_asks_for_exist_with_severity_and_runbook():
    found = {a["alert"]: a for a in alerts()}
    assert set(found) == EXPECTED_ALERTS
    for name, alert in found.items():
        assert alert["labels"]["severity"] in {"page", "ticket"}, name
        assert {"summary", "description", "runbook"} <= set(alert["annotations"]), name
        assert alert["annotations"]["runbook"] == f"README.md#{name.lower()}", name


def test_every_alert_has_a_runbook_section_in_the_readme():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "\n## Runbook\n" in readme
    runbook = readme.split("\n## Runbook\n", 1)[1]
    runbook = re.split(r"\n## (?!#)", runbook, maxsplit=1)[0]
    for name in EXPECTED_ALERTS:
        match = re.search(rf"\n### {name}\n(.*?)(?=\n### |\Z)", runbook, re.S)
        assert match, f"README Runbook has no section ### {name}"
        body = match.group(1)
        assert "**What it means.**" in body and "**What to do.**" in body, name


def test_every_alert_has_promtool_cases_that_fire_and_that_stay_quiet():
    fires, quiet = set(), set()
    for path in RULE_TESTS:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert doc["rule_files"] == ["../rules/hotline.rules.yml"], path.name
        for case in doc["tests"]:
            for check in case.get("alert_rule_test", []):
                (fires if check.get("exp_alerts") else quiet).add(check["alertname"])
    assert fires == EXPECTED_ALERTS, f"no firing case for {EXPECTED_ALERTS - fires}"
    assert quiet == EXPECTED_ALERTS, f"no quiet case for {EXPECTED_ALERTS - quiet}"


@needs_promtool
def test_alert_rules_pass_promtool_check():
    result = subprocess.run([PROMTOOL, "check", "rules", str(RULES)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(rule_exprs())} rules found" in result.stdout


@needs_promtool
def test_alert_rules_pass_promtool_unit_tests():
    """Cases that fire and cases that stay quiet (ops/prometheus/tests/*.test.yml), files in parallel."""
    runs = [(p, subprocess.Popen([PROMTOOL, "test", "rules", p.name], cwd=p.parent, stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, text=True)) for p in RULE_TESTS]
    failures = []
    for path, proc in runs:
        out, _ = proc.communicate(timeout=170)
        if proc.returncode != 0 or "SUCCESS" not in out:
            failures.append(f"{path.name}:\n{out}")
    assert not failures, "\n".join(failures)


# -- what compose and k8s ship ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def compose():
    return yaml.safe_load((REPO / "docker-compose.yml").read_text())


def test_compose_runs_prometheus_and_grafana_provisioned_from_ops(compose):
    services = compose["services"]
    mounts = {name: {m.split(":")[1]: m.split(":")[0] for m in services[name]["volumes"] if m.startswith("./")}
              for name in ("prometheus", "grafana")}
    for name, by_target in mounts.items():
        for source in by_target.values():
            assert (REPO / source).exists(), f"{name} mounts {source}, which does not exist"
    assert mounts["prometheus"]["/etc/prometheus/prometheus.yml"] == "./ops/prometheus/prometheus.yml"
    assert mounts["prometheus"]["/etc/prometheus/rules"] == "./ops/prometheus/rules"
    assert mounts["grafana"]["/etc/grafana/provisioning"] == "./ops/grafana/provisioning"
    provider = yaml.safe_load((REPO / "ops/grafana/provisioning/dashboards/hotline.yml").read_text())
    assert mounts["grafana"][provider["providers"][0]["options"]["path"]] == "./ops/grafana/dashboards"
    config = yaml.safe_load((REPO / "ops/prometheus/prometheus.yml").read_text())
    assert config["rule_files"] == ["/etc/prometheus/rules/*.yml"]


def test_prometheus_scrapes_every_service_the_gateway_and_rabbitmq_queues():
    config = yaml.safe_load((REPO / "ops/prometheus/prometheus.yml").read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert set(jobs["hotline-services"]["dns_sd_configs"][0]["names"]) == set(SERVICES)
    assert jobs["hotline-gateway"]["dns_sd_configs"][0]["names"] == ["gateway"]
    assert jobs["rabbitmq"]["metrics_path"] == "/metrics/per-object"  # per-queue series
    for job in ("hotline-services", "hotline-gateway"):
        assert any(r.get("target_label") == "service" for r in jobs[job]["relabel_configs"]), job


@needs_promtool
def test_prometheus_config_passes_promtool():
    result = subprocess.run([PROMTOOL, "check", "config", "--syntax-only", str(REPO / "ops/prometheus/prometheus.yml")],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def monitoring_documents() -> dict[str, dict]:
    """kind -> document, and "PodMonitor/<name>" for each PodMonitor."""
    base = REPO / "k8s/monitoring"
    kustomization = yaml.safe_load((base / "kustomization.yaml").read_text())
    docs = {}
    for name in kustomization["resources"]:
        (doc,) = list(yaml.safe_load_all((base / name).read_text()))
        key = f"PodMonitor/{doc['metadata']['name']}" if doc["kind"] == "PodMonitor" else doc["kind"]
        assert key not in docs, key
        docs[key] = doc
    return docs


# The Prometheus operator's CRDs are not in kubernetes-validate's schemas: the fields we use, checked here.
STRINGS = {"type": "object", "additionalProperties": {"type": "string"}}
RULE = {"type": "object", "required": ["expr"], "additionalProperties": False,
        "properties": {"alert": {"type": "string"}, "record": {"type": "string"}, "expr": {"type": "string"},
                       "for": {"type": "string"}, "labels": STRINGS, "annotations": STRINGS}}
GROUP = {"type": "object", "required": ["name", "rules"], "additionalProperties": False,
         "properties": {"name": {"type": "string"}, "interval": {"type": "string"},
                        "rules": {"type": "array", "minItems": 1, "items": RULE}}}
RELABELING = {"type": "object", "additionalProperties": False,
              "properties": {"sourceLabels": {"type": "array", "items": {"type": "string"}},
                             "targetLabel": {"type": "string"}, "replacement": {"type": "string"},
                             "regex": {"type": "string"}, "action": {"type": "string"}}}
POD_ENDPOINT = {"type": "object", "additionalProperties": False,
                "properties": {"port": {"type": "string"}, "path": {"type": "string"},
                               "interval": {"type": "string"}, "honorLabels": {"type": "boolean"},
                               "relabelings": {"type": "array", "items": RELABELING}}}
OPERATOR_SCHEMAS = {
    "PrometheusRule": {
        "type": "object", "required": ["apiVersion", "kind", "metadata", "spec"],
        "properties": {"apiVersion": {"const": "monitoring.coreos.com/v1"},
                       "metadata": {"type": "object", "required": ["name"]},
                       "spec": {"type": "object", "required": ["groups"], "additionalProperties": False,
                                "properties": {"groups": {"type": "array", "minItems": 1, "items": GROUP}}}}},
    "PodMonitor": {
        "type": "object", "required": ["apiVersion", "kind", "metadata", "spec"],
        "properties": {"apiVersion": {"const": "monitoring.coreos.com/v1"},
                       "metadata": {"type": "object", "required": ["name"]},
                       "spec": {"type": "object", "required": ["selector", "podMetricsEndpoints"],
                                "properties": {"selector": {"type": "object", "required": ["matchLabels"]},
                                               "podMetricsEndpoints": {"type": "array", "minItems": 1,
                                                                       "items": POD_ENDPOINT}}}}},
}


def test_k8s_monitoring_manifests_are_valid():
    docs = monitoring_documents()
    assert set(docs) == {"ConfigMap", "PrometheusRule", "PodMonitor/hotline12345", "PodMonitor/hotline12345-rabbitmq"}
    kubernetes_validate.validate(docs["ConfigMap"], K8S_VERSION, strict=True)
    for doc in docs.values():
        if doc["apiVersion"].startswith("monitoring.coreos.com/"):
            jsonschema.validate(doc, OPERATOR_SCHEMAS[doc["kind"]])
    overlay = yaml.safe_load((REPO / "k8s/overlays/production/kustomization.yaml").read_text())
    assert "../../monitoring" in overlay["resources"]


def test_k8s_ships_the_same_dashboards_and_rules():
    docs = monitoring_documents()
    shipped = {name: json.loads(text) for name, text in docs["ConfigMap"]["data"].items()}
    assert shipped == {p.name: json.loads(p.read_text(encoding="utf-8")) for p in DASHBOARD_FILES}
    assert docs["ConfigMap"]["metadata"]["labels"]["grafana_dashboard"] == "1"
    rules = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    assert docs["PrometheusRule"]["spec"]["groups"] == rules["groups"]
    services = docs["PodMonitor/hotline12345"]["spec"]
    assert services["podMetricsEndpoints"][0]["port"] == "http" and services["podMetricsEndpoints"][0]["path"] == "/metrics"
    assert services["selector"]["matchLabels"] == {"app.kubernetes.io/part-of": "hotline12345"}
    broker = docs["PodMonitor/hotline12345-rabbitmq"]["spec"]
    assert broker["podMetricsEndpoints"][0]["path"] == "/metrics/per-object"  # per-queue series
    cluster = next(d for d in yaml.safe_load_all((REPO / "k8s/base/rabbitmq.yaml").read_text())
                   if d["kind"] == "RabbitmqCluster")
    assert broker["selector"]["matchLabels"]["app.kubernetes.io/name"] == cluster["metadata"]["name"]


@needs_promtool
def test_the_prometheus_rule_passes_promtool(tmp_path):
    path = tmp_path / "k8s.rules.yml"
    path.write_text(yaml.safe_dump({"groups": monitoring_documents()["PrometheusRule"]["spec"]["groups"]}))
    result = subprocess.run([PROMTOOL, "check", "rules", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_ensure_promtool_script_never_starts_the_server():
    script = (REPO / "ops/ensure-promtool.sh").read_text()
    assert "apt-get install -y -qq --no-install-recommends prometheus" in script
    assert "policy-rc.d" in script and "exit 101" in script
    result = subprocess.run(["bash", "-n", str(REPO / "ops/ensure-promtool.sh")], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


# -- the metrics added for the dashboards behave ------------------------------------------------------
def sample(name: str, labels: dict) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_http_metrics_count_by_route_template_and_status():
    class Ticket:
        def on_get(self, req, resp, key):
            if key == "boom":
                raise falcon.HTTPServiceUnavailable()
            resp.media = {"key": key}

    class Refuse:  # like the gateway's middleware: authentication after routing, body size before
        def process_request(self, req, resp):
            if req.get_header("X-Too-Large"):
                raise falcon.HTTPContentTooLarge()

        def process_resource(self, req, resp, resource, params):
            if req.get_header("X-Refuse"):
                raise falcon.HTTPUnauthorized()

    app = falcon.App(middleware=[metrics.HttpMetrics(), Refuse()])
    app.add_route("/test-ops/tickets/{key}", Ticket())
    client = falcon.testing.TestClient(app)
    route = "/test-ops/tickets/{key}"
    before = {s: sample("hotline_http_requests_total", {"route": route, "method": "GET", "status": s})
              for s in ("200", "503", "401")}
    count_before = sample("hotline_http_request_seconds_count", {"route": route, "method": "GET"})
    unrouted = {s: sample("hotline_http_requests_total", {"route": "unrouted", "method": "GET", "status": s})
                for s in ("404", "413")}

    assert client.simulate_get("/test-ops/tickets/a").status_code == 200
    assert client.simulate_get("/test-ops/tickets/b").status_code == 200
    assert client.simulate_get("/test-ops/tickets/boom").status_code == 503
    assert client.simulate_get("/test-ops/tickets/c", headers={"X-Refuse": "1"}).status_code == 401
    assert client.simulate_get("/nowhere/at/all").status_code == 404
    assert client.simulate_get("/test-ops/tickets/d", headers={"X-Too-Large": "1"}).status_code == 413

    after = {s: sample("hotline_http_requests_total", {"route": route, "method": "GET", "status": s})
             for s in ("200", "503", "401")}
    assert {s: after[s] - before[s] for s in after} == {"200": 2, "503": 1, "401": 1}
    assert sample("hotline_http_request_seconds_count", {"route": route, "method": "GET"}) - count_before == 4
    assert {s: sample("hotline_http_requests_total", {"route": "unrouted", "method": "GET", "status": s}) - n
            for s, n in unrouted.items()} == {"404": 1, "413": 1}
    # the raw path never becomes a label value
    assert not any(s.labels.get("route", "").startswith("/test-ops/tickets/a")
                   for m in REGISTRY.collect() for s in m.samples)


def test_observe_handled_records_duration_and_lag_on_the_services_clock():
    import time
    labels = {"service": "test-ops", "type": "cn.gov.12345.ticket.registered"}
    count = sample("hotline_event_handler_seconds_count", labels)
    lag_sum = sample("hotline_event_lag_seconds_sum", labels)
    event_time = datetime(2030, 1, 1, 8, 0, tzinfo=UTC)  # a test clock far from the wall clock
    metrics.observe_handled("test-ops", {"type": labels["type"], "time": "2030-01-01T08:00:00.000Z"},
                            time.monotonic() - 0.2, now=event_time + timedelta(seconds=3))
    assert sample("hotline_event_handler_seconds_count", labels) == count + 1
    assert sample("hotline_event_handler_seconds_sum", labels) >= 0.2
    assert sample("hotline_event_lag_seconds_sum", labels) - lag_sum == pytest.approx(3.0)
    # a clock behind the event (another process's cache after a jump) never records a negative lag
    metrics.observe_handled("test-ops", {"type": labels["type"], "time": "2030-01-01T08:00:00Z"},
                            time.monotonic(), now=event_time - timedelta(seconds=5))
    assert sample("hotline_event_lag_seconds_bucket", {**labels, "le": "0.05"}) >= 1


def test_outbox_age_is_read_at_scrape_time():
    class Outbox:
        def __init__(self):
            self.doc, self.fail = None, False

        def find_one(self, query, projection, sort):
            assert sort == [("at", 1)]
            if self.fail:
                raise ConnectionError("store down")
            return self.doc

    outbox = Outbox()
    metrics.watch_outbox("test-ops", outbox)
    labels = {"service": "test-ops"}
    assert REGISTRY.get_sample_value("hotline_outbox_oldest_age_seconds", labels) == 0.0
    outbox.doc = {"at": datetime.now(UTC).replace(tzinfo=None) - timedelta(seconds=90)}  # Mongo: naive UTC
    assert 89 <= REGISTRY.get_sample_value("hotline_outbox_oldest_age_seconds", labels) < 120
    outbox.fail = True
    assert math.isnan(REGISTRY.get_sample_value("hotline_outbox_oldest_age_seconds", labels))


def test_calendar_coverage_is_the_last_year_of_an_unbroken_run():
    assert metrics.last_official_year(range(2004, 2027), 2026) == 2026
    assert metrics.last_official_year([*range(2004, 2027), 2028], 2026) == 2026   # 2027 missing
    assert metrics.last_official_year(range(2004, 2028), 2026) == 2027
    assert metrics.last_official_year(range(2004, 2026), 2026) == 2025            # this year missing
    metrics.record_calendar("test-ops", range(2004, 2028), 2026)
    assert REGISTRY.get_sample_value("hotline_calendar_official_through_year", {"service": "test-ops"}) == 2027


def test_ticket_gauges_read_the_store_at_most_once_per_ttl():
    calls = []

    def compute():
        calls.append(1)
        if len(calls) == 3:
            raise ConnectionError("store down")
        return [{"unit": "city.environment", "open": 7, "overdue": 2, "due_today": 1},
                {"unit": "district.a", "open": 3, "overdue": 0, "due_today": 0}]

    gauges = metrics.TicketGauges()
    registry = CollectorRegistry()
    registry.register(gauges)
    assert registry.get_sample_value("hotline_open_tickets", {"unit": "city.environment"}) is None  # not bound
    gauges.bind(compute, ttl=3600)
    assert registry.get_sample_value("hotline_open_tickets", {"unit": "city.environment"}) == 7
    assert registry.get_sample_value("hotline_overdue_tickets", {"unit": "city.environment"}) == 2
    assert registry.get_sample_value("hotline_due_today_tickets", {"unit": "district.a"}) == 0
    assert len(calls) == 1  # three reads above, one query
    gauges.bind(compute, ttl=0)
    assert registry.get_sample_value("hotline_open_tickets", {"unit": "district.a"}) == 3
    assert registry.get_sample_value("hotline_open_tickets", {"unit": "district.a"}) is None  # store down: absent


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-q"]))
