"""Prometheus metrics shared by the services (each process exposes its own /metrics).

What the dashboards and alerts in ops/ read, and where each metric is recorded: ops/README.md."""
import math
import threading
import time
from datetime import UTC, datetime

from prometheus_client import Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import REGISTRY

EVENTS_HANDLED = Counter("hotline_events_handled_total", "Events handled", ["service", "type", "outcome"])
EVENTS_DEAD_LETTERED = Counter("hotline_events_dead_lettered_total", "Events sent to the dead-letter queue",
                               ["service", "type", "reason"])
EVENTS_RETRIED = Counter("hotline_events_retried_total", "Events scheduled for a delayed retry",
                         ["service", "type"])
OUTBOX_PUBLISHED = Counter("hotline_outbox_published_total", "Events published with a broker confirm",
                           ["service", "type"])
PROVISIONAL_DEADLINES = Counter("hotline_provisional_deadlines_total",
                                "Deadlines computed over a year without official calendar data", ["year"])
TIMERS_FIRED = Counter("hotline_timers_fired_total", "Deadline timers fired", ["kind"])
EVENTS_NO_CHANGE = Counter("hotline_events_no_change_total",
                           "Events whose reaction could not apply to the current state (acked, nothing changed)",
                           ["service", "type"])
HANDLER_BUGS = Counter("hotline_event_handler_bugs_total",
                       "Event reactions that raised an unexpected error (a bug: retried, then dead-lettered)",
                       ["service", "type", "error"])

# -- for the dashboards and alerts in ops/ (issue 16)
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
LAG_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0, 3600.0)

HANDLER_SECONDS = Histogram("hotline_event_handler_seconds",
                            "Time one event's handler took (worker start to result), whatever its outcome",
                            ["service", "type"], buckets=LATENCY_BUCKETS)
EVENT_LAG_SECONDS = Histogram("hotline_event_lag_seconds",
                              "From an event's time to the moment a consumer finished handling it: outbox "
                              "relay, broker queue and handler (read on the services' clock)",
                              ["service", "type"], buckets=LAG_BUCKETS)
OUTBOX_OLDEST_AGE = Gauge("hotline_outbox_oldest_age_seconds",
                          "Age of the oldest event still waiting in the service's outbox (0 when empty), "
                          "read from the store when Prometheus scrapes", ["service"])
HTTP_REQUESTS = Counter("hotline_http_requests_total", "Gateway HTTP requests answered, by route template",
                        ["route", "method", "status"])
HTTP_SECONDS = Histogram("hotline_http_request_seconds", "Gateway HTTP request latency, by route template",
                         ["route", "method"], buckets=LATENCY_BUCKETS)
CALENDAR_OFFICIAL_THROUGH = Gauge("hotline_calendar_official_through_year",
                                  "The last year Y such that every year from the current one through Y has "
                                  "official holiday data; deadlines past Y are provisional", ["service"],
                                  multiprocess_mode="max")


def observe_handled(service: str, event: dict, started: float, now: datetime) -> None:
    """After an event's handler returned or raised: its duration (`started` = time.monotonic() when
    the worker was spawned) and the event's lag (`now` from the service's clock, which also stamped
    the event, so a test clock moved forward does not show as lag)."""
    event_type = event.get("type", "unknown")
    HANDLER_SECONDS.labels(service, event_type).observe(max(0.0, time.monotonic() - started))
    try:
        at = datetime.fromisoformat(str(event["time"]).replace("Z", "+00:00"))
    except (KeyError, ValueError):
        return
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    EVENT_LAG_SECONDS.labels(service, event_type).observe(max(0.0, (now - at).total_seconds()))


def watch_outbox(service: str, outbox_collection) -> None:
    """Export the age of the oldest staged event in `outbox_collection`, read at scrape time (one
    indexed `find_one` on `at`). NaN when the store cannot be read: the panel shows a gap, and the
    store's own alerts say why."""
    def oldest_age() -> float:
        try:
            doc = outbox_collection.find_one({}, {"at": 1}, sort=[("at", 1)])
        except Exception:  # the store is down; a scrape must still answer
            return math.nan
        if not doc or doc.get("at") is None:
            return 0.0
        at = doc["at"] if doc["at"].tzinfo else doc["at"].replace(tzinfo=UTC)
        return max(0.0, (datetime.now(UTC) - at).total_seconds())
    OUTBOX_OLDEST_AGE.labels(service).set_function(oldest_age)


def last_official_year(official_years, this_year: int) -> int:
    """The last year Y such that every year from `this_year` through Y is official (this_year - 1 if
    even this year is not)."""
    years = set(official_years)
    year = this_year
    while year in years:
        year += 1
    return year - 1


def record_calendar(service: str, official_years, this_year: int) -> None:
    CALENDAR_OFFICIAL_THROUGH.labels(service).set(last_official_year(official_years, this_year))


class HttpMetrics:
    """Falcon middleware: counts and times every request by route template (`/v1/tickets/{key}`,
    never the raw path: bounded label values). Put it first, so a request refused by a later
    middleware is counted too: after routing (401 in `process_resource`) under its route, before
    routing (413 in `process_request`) or on no route (404) as `unrouted`."""

    def process_request(self, req, resp):
        req.context._metrics_started = time.perf_counter()

    def process_response(self, req, resp, resource, req_succeeded):
        started = getattr(req.context, "_metrics_started", None)
        route = req.uri_template or "unrouted"
        status = resp.status_code if hasattr(resp, "status_code") else int(str(resp.status).split()[0])
        HTTP_REQUESTS.labels(route, req.method, str(status)).inc()
        if started is not None:
            HTTP_SECONDS.labels(route, req.method).observe(time.perf_counter() - started)


class TicketGauges:
    """The business gauges, read from the owning service's store when Prometheus scrapes, at most
    once per `ttl` seconds (several replicas each report the same numbers: dashboards take `max`).

    `compute()` returns rows `{"unit": unit_id, "open": n, "overdue": n, "due_today": n}`."""

    FAMILIES = (
        ("hotline_open_tickets", "open", "Tickets a unit is handling now (its deadline clock is running)"),
        ("hotline_overdue_tickets", "overdue", "Tickets past their deadline and not yet replied, by unit"),
        ("hotline_due_today_tickets", "due_today",
         "Tickets whose deadline is the end of today (Asia/Shanghai), not yet replied, by unit"),
    )

    def __init__(self):
        self.compute = None
        self.ttl = 60.0
        self._rows: list[dict] | None = None
        self._read_at = -math.inf
        self._lock = threading.Lock()
        self._registered = False

    def bind(self, compute, ttl: float = 60.0) -> None:
        with self._lock:
            self.compute, self.ttl, self._read_at = compute, ttl, -math.inf

    def describe(self):
        return [GaugeMetricFamily(name, doc, labels=["unit"]) for name, _, doc in self.FAMILIES]

    def collect(self):
        rows = self._current()
        if rows is None:
            return
        for name, key, doc in self.FAMILIES:
            family = GaugeMetricFamily(name, doc, labels=["unit"])
            for row in rows:
                family.add_metric([str(row.get("unit") or "none")], float(row.get(key) or 0))
            yield family

    def _current(self) -> list[dict] | None:
        with self._lock:
            if self.compute is None:
                return None
            if time.monotonic() - self._read_at >= self.ttl:
                try:
                    self._rows = list(self.compute())
                except Exception:  # the store is down: no numbers rather than stale ones
                    self._rows = None
                self._read_at = time.monotonic()
            return self._rows


TICKET_GAUGES = TicketGauges()


def watch_tickets(compute, ttl: float = 60.0) -> None:
    """Serve the business gauges on this process's /metrics from `compute` (see TicketGauges). A second
    call (a service container restarted in the same process) replaces the first."""
    TICKET_GAUGES.bind(compute, ttl)
    with TICKET_GAUGES._lock:
        if not TICKET_GAUGES._registered:
            REGISTRY.register(TICKET_GAUGES)
            TICKET_GAUGES._registered = True
