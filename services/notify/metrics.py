"""notify's Prometheus metrics (served on /metrics with the rest)."""
from __future__ import annotations

from prometheus_client import Counter, Histogram

WEBHOOK_ATTEMPTS = Counter("hotline_webhook_attempts_total", "Webhook delivery attempts by outcome "
                           "(delivered; failed and to be retried; dead: no attempts left)", ["outcome"])
WEBHOOK_SECONDS = Histogram("hotline_webhook_attempt_seconds", "Duration of one webhook delivery attempt",
                            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0))
WEBHOOK_DISABLED = Counter("hotline_webhook_subscriptions_disabled_total",
                           "Subscriptions disabled after a long failure streak")
NOTICES = Counter("hotline_notices_total", "Notices to units' contacts by kind and outcome "
                  "(sent; retry: an attempt failed, another follows; failed)", ["kind", "outcome"])
