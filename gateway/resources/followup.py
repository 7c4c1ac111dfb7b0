"""After the reply and when tickets are ignored (R10, R11, R13-R15, R17): callbacks, key tickets,
reminders, supervision cases, on-site verification, accountability."""
from __future__ import annotations

from .endpoint import Endpoint, act, query, send


def add_routes(app, rpc) -> None:
    routes = {
        "/v1/tickets/{key}/callbacks": {"post": send("intake", "callback")},                # 回访 (R11)
        "/v1/tickets/{key}/key-ticket": {"post": send("intake", "mark_key")},               # 重点问题件 (R10)
        "/v1/tickets/{key}/reminders": {"post": send("escalation", "remind")},              # 催办 (R13)
        "/v1/tickets/{key}/supervision": {"post": send("escalation", "report")},            # 报督办 (R14)
        "/v1/tickets/{key}/verification": {"get": act("escalation", "verifications"),       # 现场核查 (R10)
                                           "post": send("escalation", "file_verification")},
        "/v1/supervision-cases": {"get": query("escalation", "list_cases")},
        "/v1/supervision-cases/{case_id}": {"get": act("escalation", "get_case")},
        "/v1/supervision-cases/{case_id}/reinvestigation": {"post": send("escalation", "order_reinvestigation")},
        "/v1/supervision-cases/{case_id}/close": {"post": send("escalation", "close_case")},
        "/v1/accountability": {"get": query("escalation", "list_accountability"),           # R17
                               "post": send("escalation", "record_accountability", status=201)},
    }
    for path, calls in routes.items():
        app.add_route(path, Endpoint(rpc, **calls))
