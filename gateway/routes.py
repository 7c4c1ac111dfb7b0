"""Every route of the public API, in one table: which RPC answers it and what it takes.

A route is data: method, path, the service and command (the service's handler table names the same
command: tests/unit/test_routes.py checks both ways), whether the JSON body is required, optional or
not read, whether the query string is the input, whether If-Match is honoured, the success status,
and the options a few routes need:

- `creates`: the POST makes something new. It always carries an idempotency identity: the client's
  `Idempotency-Key`, or one the gateway makes (`gw-<uuid>`) when the client sends none. A redelivered
  RPC (a service killed after it committed, the broker redelivering the request to its successor)
  then finds what the first delivery made instead of making it twice. The key is echoed in the
  `Idempotency-Key` response header, also on a 503: the request may have been applied after all
  (the broker died after the service committed but before its reply reached the gateway), and a
  retry with that key finds it (200, `Idempotent-Replayed: true`) instead of making a
  second one. A request still queued when the gateway gives up is never applied later: its message
  expires in the broker after the RPC timeout (gateway/rpc.py); only one already being handled can
  still commit, and that is the case the echoed key is for.
- `status=201`: 201 with `Location` (when the route names one) when the command says it `created`
  the thing; 200 when it already existed (a repeat of a client's key: `Idempotent-Replayed: true`).
- `formats`: the command can answer a file (CSV, XLSX, HTML, PDF: bulletin's base64 envelope); the
  client asks with `?format=` or an `Accept` naming the media type, and gets the bytes with their
  `Content-Type` and `Content-Disposition`.
- `compose`: a function `(rpc, result, actor) -> result` that completes the answer with another
  service's (the ticket view gets the working days left from sla's clock).

`gateway.resources.RouteResource` serves every route of this table; there is no other way to wire
one (besides /healthz, /readyz and /metrics, which are the gateway's own).
"""
from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass

from nameko.exceptions import RpcTimeout, UnknownService

from hotline_common.dispatch import request
from hotline_common.errors import HotlineError

log = logging.getLogger(__name__)

REQUIRED, OPTIONAL, NONE = "required", "optional", "none"


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    service: str
    command: str
    body: str = NONE             # REQUIRED | OPTIONAL | NONE (the body is not read)
    query: bool = False          # the query string is the command's input (listings)
    status: int = 200
    if_match: bool = False       # If-Match: "<version>" becomes the command's expected version
    creates: bool = False        # see the module's docstring
    location: str | None = None  # Location of what was created, formatted with the result
    link: str | None = None      # query parameter that takes the result's next_cursor (Link: rel="next")
    acting_unit: str | None = None  # path parameter that must be the caller's own unit
    formats: tuple[str, ...] = ()   # file formats the command renders (?format= or Accept); answered as files
    compose: Callable | None = None

    @property
    def params(self) -> list[str]:
        return re.findall(r"\{(\w+)", self.path)

    @property
    def template(self) -> str:
        """The path as openapi.yaml writes it (no field converters)."""
        return re.sub(r"\{(\w+):[^}]*\}", r"{\1}", self.path)


def with_working_days_left(rpc, view: dict, actor) -> dict:
    """The ticket view (intake) with the time left in working days (sla) while its clock runs; the
    view still answers without the countdown when sla cannot say."""
    deadline = view.get("deadline")
    if deadline and deadline.get("state", "running") == "running":
        try:
            clock = rpc.call("sla", "deadline", request(params={"key": view["id"]}), actor)
            deadline["working_days_left"] = clock.get("working_days_left")
        except (RpcTimeout, UnknownService, HotlineError, OSError) as exc:
            log.info("ticket %s answered without working_days_left: %s", view.get("id"), type(exc).__name__)
    return view


def _routes() -> list[Route]:
    t = "/v1/tickets/{key}"
    unit_command = dict(service="routing", body=REQUIRED, if_match=True)
    co_unit = dict(unit_command, acting_unit="unit_id")
    return [
        # intake: the ticket (R1), callbacks (R11), key tickets (R10)
        Route("POST", "/v1/tickets", "intake", "register", body=REQUIRED, status=201, creates=True,
              location="/v1/tickets/{id}"),
        Route("GET", "/v1/tickets", "intake", "list_tickets", query=True, link="cursor"),
        Route("GET", t, "intake", "get_ticket", compose=with_working_days_left),
        Route("POST", f"{t}/callbacks", "intake", "callback", body=REQUIRED),               # 回访
        Route("POST", f"{t}/key-ticket", "intake", "mark_key", body=REQUIRED),             # 重点问题件
        # intake: personal data (PIPL, issue 10): a unit's recorded reveal of a citizen's contact, the
        # hotline office's list of reveals, the retention policy applied now (intake's timer applies it too)
        Route("POST", f"{t}/contact-reveals", "intake", "reveal_contact", body=REQUIRED, status=201, creates=True),
        Route("GET", "/v1/contact-reveals", "intake", "list_reveals", query=True),
        Route("POST", "/v1/retention/apply", "intake", "apply_retention"),
        # intake: the front desk (issue 12): merging (并单), duplicate candidates, the knowledge base (R19)
        Route("POST", f"{t}/merge", "intake", "merge", body=REQUIRED),                       # 并单
        Route("POST", f"{t}/unmerge", "intake", "unmerge", body=REQUIRED),
        Route("GET", f"{t}/duplicates", "intake", "duplicate_candidates", query=True),
        Route("GET", "/v1/duplicates", "intake", "duplicate_candidates", query=True),       # of a draft call
        Route("GET", "/v1/knowledge", "intake", "search_knowledge", query=True),
        Route("POST", "/v1/knowledge", "intake", "create_knowledge", body=REQUIRED, status=201,
              location="/v1/knowledge/{id}"),
        Route("GET", "/v1/knowledge/entries", "intake", "list_knowledge", query=True),
        Route("GET", "/v1/knowledge/{entry_id}", "intake", "get_knowledge"),
        Route("PUT", "/v1/knowledge/{entry_id}", "intake", "update_knowledge", body=REQUIRED, if_match=True),
        Route("POST", "/v1/knowledge/{entry_id}/approve", "intake", "approve_knowledge", body=OPTIONAL,
              if_match=True),
        Route("POST", "/v1/knowledge/{entry_id}/retire", "intake", "retire_knowledge", body=REQUIRED,
              if_match=True),
        # routing: the unit's work on a ticket (R3-R6, R9); ETag = the assignment's version
        Route("GET", f"{t}/assignment", "routing", "get_assignment"),
        Route("POST", f"{t}/dispatch", command="manual_dispatch", **unit_command),        # 人工派单
        Route("POST", f"{t}/redispatch", command="redispatch", **unit_command),           # 改派
        Route("POST", f"{t}/pass-down", command="pass_down", **unit_command),             # 下派
        Route("POST", f"{t}/accept", command="accept", **{**unit_command, "body": OPTIONAL}),  # 签收
        Route("POST", f"{t}/review", command="review", **unit_command),                   # 阅批
        Route("POST", f"{t}/reply", command="reply", **unit_command),                     # 答复
        Route("POST", f"{t}/returns", command="request_return", **unit_command),          # 退单
        Route("POST", f"{t}/returns/decision", command="decide_return", **unit_command),  # 退单审核
        Route("POST", f"{t}/co-units", command="add_co_unit", **unit_command),            # 协办单位
        Route("POST", f"{t}/co-units/{{unit_id}}/accept", command="co_unit_accept", **{**co_unit, "body": OPTIONAL}),
        Route("POST", f"{t}/co-units/{{unit_id}}/decline", command="co_unit_decline", **co_unit),
        Route("POST", f"{t}/co-units/{{unit_id}}/contribution", command="co_unit_contribute", **co_unit),
        # routing: the units directory (R3) and routing rules (R6)
        Route("GET", "/v1/units", "routing", "list_units"),
        Route("GET", "/v1/units/{unit_id}", "routing", "get_unit"),
        Route("PUT", "/v1/units/{unit_id}", "routing", "put_unit", body=REQUIRED),
        Route("GET", "/v1/routing-rules", "routing", "list_rules"),
        Route("PUT", "/v1/routing-rules/{rule_id}", "routing", "put_rule", body=REQUIRED),
        Route("DELETE", "/v1/routing-rules/{rule_id}", "routing", "delete_rule"),
        # sla: deadlines, extensions (R7, R8), the work calendar, the shared clock
        Route("GET", f"{t}/deadline", "sla", "deadline"),
        Route("POST", f"{t}/extensions", "sla", "request_extension", body=REQUIRED),
        Route("POST", f"{t}/extensions/decision", "sla", "decide_extension", body=REQUIRED),
        Route("GET", "/v1/extensions", "sla", "list_extensions", query=True),
        Route("GET", "/v1/calendar/{year:int(min=2000, max=2100)}", "sla", "calendar_year"),
        Route("PUT", "/v1/calendar/{year:int(min=2000, max=2100)}", "sla", "put_calendar_year", body=REQUIRED),
        Route("POST", "/v1/calendar/reload", "sla", "reload_calendar"),
        Route("GET", "/v1/clock", "sla", "get_clock"),
        Route("PUT", "/v1/clock", "sla", "set_clock", body=REQUIRED),
        Route("POST", "/v1/clock/advance", "sla", "advance_clock", body=REQUIRED),
        # escalation: reminders, supervision, verification, accountability (R10, R13-R15, R17)
        Route("POST", f"{t}/reminders", "escalation", "remind", body=OPTIONAL),             # 催办
        Route("POST", f"{t}/supervision", "escalation", "report", body=REQUIRED),           # 报督办
        Route("GET", f"{t}/verification", "escalation", "verifications"),                   # 现场核查
        Route("POST", f"{t}/verification", "escalation", "file_verification", body=REQUIRED),
        Route("GET", "/v1/supervision-cases", "escalation", "list_cases", query=True),
        Route("GET", "/v1/supervision-cases/{case_id}", "escalation", "get_case"),
        Route("POST", "/v1/supervision-cases/{case_id}/reinvestigation", "escalation", "order_reinvestigation",
              body=REQUIRED),
        Route("POST", "/v1/supervision-cases/{case_id}/close", "escalation", "close_case", body=REQUIRED),
        Route("GET", "/v1/accountability", "escalation", "list_accountability", query=True),
        Route("POST", "/v1/accountability", "escalation", "record_accountability", body=REQUIRED, status=201,
              creates=True),
        # bulletin: the replayable feed (D5), statistics (R2), hot spots (R12), the bulletin (R16),
        # the assessment (R18)
        Route("GET", "/v1/events", "bulletin", "feed", query=True),
        Route("GET", "/v1/statistics", "bulletin", "statistics", query=True, formats=("csv", "xlsx")),
        Route("GET", "/v1/hotspots", "bulletin", "hotspots", query=True, formats=("csv",)),
        Route("GET", "/v1/bulletins", "bulletin", "list_bulletins", query=True),
        Route("POST", "/v1/bulletins", "bulletin", "publish_bulletin", body=REQUIRED, status=201,
              location="/v1/bulletins/{id}"),
        Route("GET", "/v1/bulletins/{bulletin_id}", "bulletin", "get_bulletin", query=True, formats=("html", "pdf")),
        Route("GET", "/v1/assessment", "bulletin", "assessment", query=True, formats=("xlsx",)),
        Route("GET", "/v1/assessment/inputs", "bulletin", "assessment_inputs", query=True),
        Route("POST", "/v1/assessment/inputs", "bulletin", "put_assessment_input", body=REQUIRED),
        # notify: webhook subscriptions of external systems, their delivery log and dead letters
        Route("POST", "/v1/subscriptions", "notify", "create_subscription", body=REQUIRED, status=201,
              creates=True, location="/v1/subscriptions/{id}"),
        Route("GET", "/v1/subscriptions", "notify", "list_subscriptions"),
        Route("GET", "/v1/subscriptions/{subscription_id}", "notify", "get_subscription"),
        Route("DELETE", "/v1/subscriptions/{subscription_id}", "notify", "delete_subscription"),
        Route("GET", "/v1/subscriptions/{subscription_id}/deliveries", "notify", "list_deliveries", query=True,
              link="cursor"),
        Route("GET", "/v1/subscriptions/{subscription_id}/dead-letters", "notify", "list_dead_letters", query=True,
              link="cursor"),
        Route("POST", "/v1/subscriptions/{subscription_id}/dead-letters/replay", "notify", "replay_dead_letters",
              body=OPTIONAL),
    ]


ROUTES: list[Route] = _routes()

# Commands of the services' handler tables that no route serves, each with the reason.
INTERNAL: dict[tuple[str, str], str] = {
    ("intake", "progress_lookup"): "GET /v1/progress is served by gateway/progress.py: public (no token), with its "
                                   "own limit on misses per address (issue 15)",
}


def by_path(routes: list[Route] = ROUTES) -> dict[str, dict[str, Route]]:
    """{path: {method: route}}, in the table's order."""
    out: dict[str, dict[str, Route]] = {}
    for route in routes:
        methods = out.setdefault(route.path, {})
        if route.method in methods:
            raise ValueError(f"{route.method} {route.path} is in the table twice")
        methods[route.method] = route
    return out
