"""Inspect and replay a service's dead-letter queue.

    python -m tools.deadletters list routing          # what is there, with the error of each
    python -m tools.deadletters replay routing        # after the fix: send them to the service again

Replayed events go straight back into the service's inbox queue with a fresh attempt count. The
service's inbox makes a replay harmless if an event had in fact been applied.
"""
from __future__ import annotations

import argparse
import json
import sys

from kombu import Connection, Queue

from hotline_common import serialization  # noqa: F401  the cloudevents content type
from hotline_common.settings import Settings
from hotline_common.subscriber import dead_queue_name, inbox_queue_name


def take(amqp_uri: str, service: str, limit: int, ack: bool):
    """Messages of the dead-letter queue, with a function to settle each (ack or requeue)."""
    with Connection(amqp_uri) as conn:
        channel = conn.channel()
        queue = Queue(dead_queue_name(service), durable=True)(channel)
        taken = []
        for _ in range(limit):
            message = queue.get(no_ack=False)
            if message is None:
                break
            taken.append(message)
        yield conn, taken
        for message in taken:
            message.ack() if ack else message.requeue()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=["list", "replay"])
    parser.add_argument("service", help="intake, routing, sla, escalation or bulletin")
    parser.add_argument("--limit", type=int, default=1000)
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    replay = args.action == "replay"
    count = 0
    for conn, messages in take(settings.amqp_uri, args.service, args.limit, ack=replay):
        producer = conn.Producer()
        for message in messages:
            headers = message.headers or {}
            try:
                body = json.loads(message.body)
            except (TypeError, ValueError):
                body = None
            summary = {"id": (body or {}).get("id"), "type": (body or {}).get("type"),
                       "reason": headers.get("x-hotline-reason", "rejected by the broker"),
                       "error": headers.get("x-hotline-error"), "attempts": headers.get("x-hotline-attempts")}
            print(json.dumps(summary, ensure_ascii=False))
            if replay:
                if body is None:
                    print("  not JSON: left out of the replay", file=sys.stderr)
                    continue
                producer.publish(body, exchange="", routing_key=inbox_queue_name(args.service),
                                 serializer="cloudevents", delivery_mode=2)
            count += 1
    print(f"{'replayed' if replay else 'listed'} {count} message(s) of {dead_queue_name(args.service)}",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
