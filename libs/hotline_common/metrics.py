"""Prometheus metrics shared by the services (each process exposes its own /metrics)."""
from prometheus_client import Counter

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
