"""The contract as strict as the server (issue 10): schemathesis against the live stack, every
operation of openapi.yaml, both directions, bounded to about two minutes.

- no 5xx (not_a_server_error);
- no schema-valid request refused (positive_data_acceptance) and no schema-invalid one accepted
  (negative_data_rejection): the spec's constraints are the server's;
- the answers are the spec's (status_code_conformance, content_type_conformance,
  response_schema_conformance).

Admin's token for most operations. A co-unit's operations act for one unit (the gateway refuses any
other before it reads the body), so they get that unit's people's token and its id as the path's
`unit_id`. What the contract cannot say (configuration, state, combinations of parameters) and the
operations fuzzed in one direction only are in EXCEPTIONS below, each with its reason: the one place
for them.

Afterwards, with the admin token having sent a few thousand requests, nothing is stuck: every
dead-letter queue of the stack's vhost is empty and no queue is still retrying.
"""
from __future__ import annotations

import json
import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import wait_for

# hypothesis loads its plugins' entry points on import; trio's breaks under eventlet's monkey-patching
os.environ.setdefault("HYPOTHESIS_NO_PLUGINS", "1")

REPO = Path(__file__).resolve().parents[2]
SPEC = REPO / "openapi.yaml"
BUDGET_SECONDS = 120       # the whole schemathesis run, all operations
MAX_EXAMPLES = 4           # per operation and phase (the coverage phase adds its boundary cases)
WORKERS = 1                # one at a time: under the tests' eventlet monkey-patching, schemathesis' worker
                           # threads would be green threads sharing hypothesis' (unpatched) thread-local state
UNIT = "city.environment"  # the unit whose people act on the co-unit routes


@dataclass(frozen=True)
class Exception_:
    reason: str
    mode: str = "all"                  # "negative": only schema-invalid requests are sent
    refusable: frozenset[str] = frozenset()  # fields a schema-valid request may still be refused for (422)
    fresh_idempotency_key: bool = False
    fresh_path_id: str | None = None   # this path parameter never names an existing thing (-> 404)
    body_defaults: tuple[tuple[str, object], ...] = ()  # set in a schema-valid body that lacks them


def exception(reason: str, *, mode: str = "all", refusable: tuple[str, ...] = (),
              fresh_idempotency_key: bool = False, fresh_path_id: str | None = None,
              body_defaults: dict | None = None) -> Exception_:
    return Exception_(reason, mode, frozenset(refusable), fresh_idempotency_key, fresh_path_id,
                      tuple((body_defaults or {}).items()))


CREATES = ("a creating POST: the same Idempotency-Key with another body is refused (422) by design; "
           "each generated request gets a key of its own")

# ---- THE exception list: every operation not fuzzed as it stands, and why ---------------------------
EXCEPTIONS: dict[str, Exception_] = {
    # test-environment tools and reference data: only requests the server must refuse are sent (a
    # schema-invalid one it accepted is still the failure reported); their schema-valid paths are the
    # subject of test_sla, test_followup and test_unit_workflow
    "PUT /v1/clock": exception(
        "a forced jump backwards stamps new events before the ones they follow, under the rest of the run "
        "and the dead-letter check after it", mode="negative"),
    "POST /v1/clock/advance": exception(
        "up to 10 years forward in one request, under the rest of the run", mode="negative"),
    "PUT /v1/calendar/{year}": exception(
        "replaces a year's official holidays (open deadlines recomputed) and must name days of that year, "
        "which OpenAPI cannot state", mode="negative"),
    "PUT /v1/units/{unit_id}": exception(
        "creates or rewrites units of the directory (random leaders for real units)", mode="negative",
        fresh_path_id="unit_id"),
    "PUT /v1/routing-rules/{rule_id}": exception(
        "a rule for a real category sends the run's tickets to a random unit", mode="negative",
        fresh_path_id="rule_id"),
    "POST /v1/subscriptions": exception(
        "subscribes random URLs: the stack would then deliver every event to hosts on the internet",
        mode="negative"),
    "POST /v1/bulletins": exception(
        "renders and numbers a bulletin (HTML, PDF): seconds each on a busy machine, a 503 when the RPC "
        "times out", mode="negative"),
    # the fuzz learns ids from earlier answers: here the path names nothing that exists (404 once the body
    # is validated), the seeded entry stays
    "POST /v1/knowledge/{entry_id}/retire": exception(
        "a retired seed entry turns every later registration citing it (which the fuzz learns to do) into a "
        "422 by rule (state)", fresh_path_id="entry_id"),
    # what the contract cannot say: configuration and state, checked by the services (422 naming the field)
    "POST /v1/tickets": exception(
        "category and district are codes of config/catalog.yaml (configuration, not contract); what each "
        "disposition needs besides (issue 12: an emergency line to transfer to, a reason, the entry a direct "
        "answer cites, the ticket merged into or followed up) is a combination OpenAPI cannot state; " + CREATES,
        refusable=("category", "district", "referred_to", "reason", "key_ticket", "knowledge_entry_id",
                   "merge_into", "follow_up_of"), fresh_idempotency_key=True,
        # and the calls it registers are sorted out at intake (closed, 非受理范围) unless the request says
        # otherwise: a dispatched one starts routing, a deadline and its timers for every generated call,
        # load that slows the run down and that the dead-letter check after it would wait for
        body_defaults={"disposition": "out_of_scope", "reason": "非受理范围（接口契约测试）"}),
    "GET /v1/duplicates": exception(
        "a draft call is named by its content, caller's phone, or category and district: one of them "
        "(a combination of parameters)", refusable=("content",)),
    "POST /v1/knowledge": exception(
        "unit_id names a unit of the directory and category a code of config/catalog.yaml (configuration); "
        "title, answer and source have minimum lengths once trimmed; valid_until is not before valid_from",
        refusable=("unit_id", "category", "title", "answer", "source", "valid_until")),
    "PUT /v1/knowledge/{entry_id}": exception(
        "the rules of POST /v1/knowledge (the unit and category are configuration)",
        refusable=("unit_id", "category", "title", "answer", "source", "valid_until")),
    "POST /v1/accountability": exception(
        "ticket_id and number, when both are given, must name the same ticket (state); " + CREATES,
        refusable=("number",), fresh_idempotency_key=True),
    "GET /v1/tickets": exception("cursor is an opaque token a previous page returned", refusable=("cursor",)),
    "GET /v1/events": exception(
        "after is an opaque cursor a previous page returned; types are event types of docs/asyncapi.yaml",
        refusable=("after", "types")),
    "GET /v1/statistics": exception(
        "a period is `period` (with `at`) or `from`/`to`, not both, and names a real period (2026-W53 does "
        "not exist); measures are the counters bulletin keeps: combinations and calendars OpenAPI cannot state",
        refusable=("period", "measures")),
    "GET /v1/hotspots": exception("the period rules of GET /v1/statistics", refusable=("period",)),
    "GET /v1/assessment": exception("the period rules of GET /v1/statistics", refusable=("period",)),
    "GET /v1/assessment/inputs": exception("the period must name a real period", refusable=("period",)),
    "POST /v1/assessment/inputs": exception(
        "the period must name a real period; part is one of config/assessment.yaml's manual parts",
        refusable=("period", "part")),
}
# -----------------------------------------------------------------------------------------------------

UNIT_OPERATIONS = "/v1/tickets/{key}/co-units/{unit_id}/"
CHECKS = ("not_a_server_error", "status_code_conformance", "content_type_conformance",
          "response_schema_conformance", "negative_data_rejection", "positive_data_acceptance")


def build_schema(base_url: str, tokens: dict[str, str], *, max_examples: int = MAX_EXAMPLES,
                 budget: int = BUDGET_SECONDS, only: str | None = None):
    import schemathesis

    config = schemathesis.Config.from_dict({
        "base-url": base_url,
        "workers": WORKERS,
        "continue-on-failure": True,
        "max-time": budget,
        "request-timeout": 30,
        "suppress-health-check": ["all"],
        "cache": {"enabled": False},   # nothing written into the repository (.schemathesis/)
        "generation": {"max-examples": max_examples, "no-shrink": True, "deterministic": True,
                       "database": "none", "allow-x00": False, "codec": "utf-8"},
        # every operation's boundary cases first (coverage), then random ones (fuzzing) while time is left
        "phases": {"examples": {"enabled": True},
                   "coverage": {"enabled": True, "unexpected-methods": ["patch"]},
                   "fuzzing": {"enabled": True, "generation": {"max-examples": max_examples}},
                   "stateful": {"enabled": False}},
        "checks": {"enabled": False, **{name: {"enabled": True} for name in CHECKS},
                   # a request line too long for the gateway's HTTP server is refused too (414, documented)
                   "negative_data_rejection": {"enabled": True, "expected-statuses": [
                       "400", "401", "403", "404", "405", "406", "409", "413", "414", "415", "422", "428", "429"]}},
        "operations": [{"include-name": label, "generation": {"mode": e.mode}}
                       for label, e in EXCEPTIONS.items() if e.mode != "all"],
    })
    schema = schemathesis.openapi.from_path(SPEC, config=config)
    schema = schema.exclude(path=["/healthz", "/readyz", "/metrics"])  # not the API (and /metrics is text)
    if only:
        schema = schema.include(path_regex=only)

    @schema.auth()
    class Tokens:
        def get(self, case, ctx):
            return tokens["unit"] if case.operation.path.startswith(UNIT_OPERATIONS) else tokens["admin"]

        def set(self, case, data, ctx):
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}

    @schema.hook
    def filter_case(ctx, case):
        """A negative-only operation gets no schema-valid request, whatever the phase."""
        e = EXCEPTIONS.get(case.operation.label)
        mode = case.meta.generation.mode if case.meta is not None else None
        return not (e and e.mode == "negative" and mode is not None and mode.is_positive)

    @schema.hook
    def map_case(ctx, case):
        if case.operation.path.startswith(UNIT_OPERATIONS) and case.path_parameters:
            case.path_parameters = {**case.path_parameters, "unit_id": UNIT}
        e = EXCEPTIONS.get(case.operation.label)
        if e and e.fresh_path_id and case.path_parameters and e.fresh_path_id in case.path_parameters:
            case.path_parameters = {**case.path_parameters, e.fresh_path_id: f"fuzz-{uuid.uuid4().hex[:12]}"}
        positive = case.meta is not None and case.meta.generation.mode.is_positive
        if e and e.body_defaults and positive and isinstance(case.body, dict) and \
                case.body.get("disposition", "dispatch") == "dispatch":
            case.body = {**case.body, **dict(e.body_defaults)}
        key = (case.headers or {}).get("Idempotency-Key")
        if e and e.fresh_idempotency_key and isinstance(key, str) and _valid_key(key):
            case.headers = {**case.headers, "Idempotency-Key": f"fuzz-{uuid.uuid4().hex}"}
        return case
    return schema


def _valid_key(key: str) -> bool:
    return 1 <= len(key) <= 200 and all(0x21 <= ord(c) <= 0x7e for c in key)


def refused_for_refusable_fields(label: str, response) -> bool:
    """A 422 naming only fields the contract cannot judge (EXCEPTIONS' `refusable`)."""
    e = EXCEPTIONS.get(label)
    if e is None or not e.refusable or response is None or response.status_code != 422:
        return False
    try:
        errors = json.loads(response.content or b"{}").get("errors") or {}
    except ValueError:
        return False
    return bool(errors) and set(errors) <= e.refusable


def operations(only: str | None = None) -> set[str]:
    """Every operation of openapi.yaml the fuzz covers ("METHOD /path")."""
    import re

    import yaml
    paths = yaml.safe_load(SPEC.read_text())["paths"]
    return {f"{method.upper()} {path}" for path, item in paths.items() for method in item
            if method in ("get", "put", "post", "delete", "patch") and path.startswith("/v1/")
            and (only is None or re.search(only, path))}


def run(base_url: str, tokens: dict[str, str], **kw) -> tuple[list[str], int, int]:
    """(failures as text, requests sent, refusals excused by EXCEPTIONS); an operation the run did not
    reach in time is a failure too."""
    from schemathesis import engine
    from schemathesis.engine import events

    schema = build_schema(base_url, tokens, **kw)
    failures: list[str] = []
    sent = excused = 0
    per_phase: dict[tuple[str, str], int] = {}
    for event in engine.from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            recorder = event.recorder
            sent += len(recorder.interactions)
            per_phase[(event.phase.value, recorder.label)] = per_phase.get((event.phase.value, recorder.label), 0) + \
                len(recorder.interactions)
            for case_id, checks in recorder.checks.items():
                for check in checks:
                    if check.failure_info is None:
                        continue
                    interaction = recorder.interactions.get(case_id)
                    answer = interaction.response if interaction else None
                    if check.name == "positive_data_acceptance" and refused_for_refusable_fields(recorder.label, answer):
                        excused += 1
                        continue
                    body = (answer.content or b"")[:400].decode("utf-8", "replace") if answer else ""
                    failures.append(f"{recorder.label} [{check.name}] -> {answer.status_code if answer else None}: "
                                    f"{check.failure_info.failure.title}\n    {check.failure_info.code_sample}"
                                    f"\n    <- {body}")
        elif isinstance(event, events.NonFatalError):
            failures.append(f"{event.label}: error {event.info.title}: {event.info.message}")
        elif isinstance(event, events.FatalError):
            failures.append(f"fatal: {event.exception!r}")
    reached = {label for (phase, label), n in per_phase.items() if n}
    failures += [f"{label}: not exercised (the time budget ran out first?)"
                 for label in sorted(operations(kw.get("only")) - reached)]
    if os.environ.get("FUZZ_STATS"):
        for (phase, label), n in sorted(per_phase.items()):
            print(f"  {phase:10} {n:5} {label}")
    return failures, sent, excused


# -- RabbitMQ: nothing stuck -----------------------------------------------------------------------------

def queue_depths(vhost: str) -> dict[str, int]:
    """Messages (ready and unacknowledged) of every queue of the vhost, by name."""
    from tests.stack import _mgmt
    response = _mgmt("GET", f"queues/{vhost.replace('/', '%2F')}?columns=name,messages")
    assert response.status_code == 200, response.text
    return {q["name"]: int(q.get("messages") or 0) for q in response.json()}


def settled(vhost: str) -> dict[str, int] | None:
    """The queues' depths once no service queue holds anything (inboxes handled, nothing waiting in a
    retry queue); None while they still do. The management API's counts lag a few seconds."""
    depths = queue_depths(vhost)
    busy = {name: n for name, n in depths.items() if n and name.startswith("hotline.") and not name.endswith(".dead")}
    return None if busy else depths


@pytest.fixture(scope="module")
def fuzzed(running_stack):
    """One schemathesis run for the tests below: (failures, requests sent, refusals excused, seconds)."""
    tokens = {"admin": running_stack.token("admin", user="admin.fuzz"),
              "unit": running_stack.token("unit_handler", UNIT)}
    started = time.monotonic()
    failures, sent, excused = run(running_stack.url, tokens)
    return failures, sent, excused, time.monotonic() - started


@pytest.mark.timeout(BUDGET_SECONDS + 480)  # the first e2e test may also start the stack
def test_the_contract_is_as_strict_as_the_server(fuzzed):
    failures, sent, excused, took = fuzzed
    assert sent > 300, f"the fuzz sent only {sent} requests"
    assert not failures, f"{len(failures)} contract failures ({sent} requests, {excused} excused):\n" + \
        "\n".join(failures[:80])
    assert took < BUDGET_SECONDS + 60, f"the fuzz took {took:.0f}s"


@pytest.mark.timeout(BUDGET_SECONDS + 240)
def test_after_the_fuzz_no_dead_letter_and_nothing_still_retrying(running_stack, fuzzed):
    """After thousands of requests with an admin token (records naming tickets that exist or not, events
    about tickets a service never saw, ...): every dead-letter queue empty, no queue still retrying."""
    vhost = running_stack.amqp_uri.rsplit("/", 1)[1]
    time.sleep(6)  # the management API's statistics interval (5 s): counts of now, not of before the fuzz
    depths = wait_for(lambda: settled(vhost), 90, interval=2, message="the services' queues to drain")
    dead = {name: n for name, n in depths.items() if name.endswith(".dead")}
    assert len(dead) >= 5, f"no dead-letter queues found: wrong vhost? {sorted(depths)}"
    assert not any(dead.values()), f"dead letters after the fuzz: {dead}"
    assert not any(n for name, n in depths.items() if name.endswith(".retry")), depths


if __name__ == "__main__":  # python -m tests.e2e.test_contract_fuzz URL DATA_DIR [MAX_EXAMPLES] [PATH_REGEX]
    import sys

    from gateway.auth import local_secret, mint
    url, data_dir = sys.argv[1], Path(sys.argv[2])
    secret = local_secret(data_dir)
    found, count, excused_ = run(url, {
        "admin": mint(secret, "hotline-12345", role="admin", user_id="admin.fuzz"),
        "unit": mint(secret, "hotline-12345", role="unit_handler", user_id=f"{UNIT}.contact", unit_id=UNIT)},
        max_examples=int(sys.argv[3]) if len(sys.argv) > 3 else MAX_EXAMPLES,
        only=sys.argv[4] if len(sys.argv) > 4 else None,
        budget=int(sys.argv[5]) if len(sys.argv) > 5 else BUDGET_SECONDS)
    print(f"{count} requests, {len(found)} failures, {excused_} excused")
    print("\n".join(found))
