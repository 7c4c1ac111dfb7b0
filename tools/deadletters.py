"""Inspect and replay a service's dead-letter queue.

    python -m tools.deadletters list routing                 # what is there, with the error of each
    python -m tools.deadletters replay routing               # after the fix: send them to the service again
    python -m tools.deadletters replay routing --id EVENT_ID # only these

Replayed events go straight back into the service's inbox queue with a fresh attempt count, each
published with a publisher confirm before its dead letter is acknowledged. The service's inbox makes a
replay harmless if an event had in fact been applied.

Nothing is deleted that was not replayed: a dead letter whose body is not a CloudEvent (bytes that are
not JSON, a JSON array, an object without `id` and `type`) is listed as it is and stays in the queue,
as does everything `list` shows. Uses AMQP_URI (an administrator: it reads the dead-letter queue and
publishes into the inbox).
"""
from __future__ import annotations

import argparse
import json
import sys

from kombu import Connection

from hotline_common import serialization  # noqa: F401  the cloudevents content type
from hotline_common.settings import Settings
from hotline_common.subscriber import dead_queue_name, inbox_queue_name

PREVIEW = 200


def decode(raw) -> tuple[object | None, str | None]:
    """(the JSON value of a body, or None; why it could not be read, or None)."""
    if isinstance(raw, (bytes, bytearray, memoryview)):
        try:
            raw = bytes(raw).decode("utf-8")
        except UnicodeDecodeError:
            return None, "not UTF-8"
    try:
        return json.loads(raw), None
    except (TypeError, ValueError) as exc:
        return None, f"not JSON ({exc.__class__.__name__})"


def as_event(value) -> dict | None:
    """The body as a CloudEvent that can be replayed, or None."""
    if isinstance(value, dict) and isinstance(value.get("id"), str) and isinstance(value.get("type"), str):
        return value
    return None


def preview(raw) -> str:
    if isinstance(raw, (bytes, bytearray, memoryview)):
        return bytes(raw)[:PREVIEW].decode("utf-8", errors="backslashreplace")
    return str(raw)[:PREVIEW]


def summary(message, value, problem: str | None) -> dict:
    headers = message.headers or {}
    deaths = headers.get("x-death") or []
    broker_reason = deaths[0].get("reason") if deaths and isinstance(deaths[0], dict) else None
    if isinstance(broker_reason, bytes):
        broker_reason = broker_reason.decode(errors="replace")
    event = as_event(value)
    out = {"id": event.get("id") if event else None, "type": event.get("type") if event else None,
           "reason": headers.get("x-hotline-reason") or (f"rejected by the broker ({broker_reason})"
                                                         if broker_reason else "rejected by the broker"),
           "error": headers.get("x-hotline-error"), "attempts": headers.get("x-hotline-attempts")}
    if event is None:
        out["unreadable"] = problem or f"not a CloudEvent (a JSON {type(value).__name__})"
        out["body"] = preview(message.body)
    return out


def run(amqp_uri: str, service: str, action: str, limit: int, ids=None, out=None, err=None) -> dict:
    """List or replay up to `limit` dead letters. Every message is held unacknowledged until the end:
    replayed ones are then acknowledged (after their copy was confirmed), all others requeued."""
    out = out or sys.stdout
    err = err or sys.stderr
    replay = action == "replay"
    wanted = set(ids or ())
    counts = {"listed": 0, "replayed": 0, "kept": 0}
    with Connection(amqp_uri, transport_options={"confirm_publish": True}) as conn:
        channel = conn.channel()
        producer = conn.Producer(channel=conn.channel())
        held, replayed = [], []
        try:
            for _ in range(limit):
                message = channel.basic_get(dead_queue_name(service), no_ack=False)
                if message is None:
                    break
                held.append(message)
                value, problem = decode(message.body)
                info = summary(message, value, problem)
                print(json.dumps(info, ensure_ascii=False, default=str), file=out)
                counts["listed"] += 1
                event = as_event(value)
                if not replay:
                    continue
                if event is None:
                    print(f"  {info.get('unreadable')}: left in {dead_queue_name(service)}", file=err)
                    continue
                if wanted and event["id"] not in wanted:
                    continue
                producer.publish(event, exchange="", routing_key=inbox_queue_name(service),
                                 serializer="cloudevents", delivery_mode=2)   # confirmed before it returns
                replayed.append(message)
        finally:
            replayed_tags = {m.delivery_tag for m in replayed}
            for message in held:
                if message.delivery_tag in replayed_tags:
                    channel.basic_ack(message.delivery_tag)
                else:
                    channel.basic_reject(message.delivery_tag, requeue=True)
    counts["replayed"] = len(replayed)
    counts["kept"] = counts["listed"] - counts["replayed"]
    return counts


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=["list", "replay"])
    parser.add_argument("service", help="intake, routing, sla, escalation or bulletin")
    parser.add_argument("--limit", type=int, default=1000)
    parser.add_argument("--id", action="append", dest="ids", help="replay only the event(s) with this id")
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    counts = run(settings.amqp_uri, args.service, args.action, args.limit, args.ids)
    queue = dead_queue_name(args.service)
    if args.action == "replay":
        print(f"replayed {counts['replayed']} message(s) of {queue}; {counts['kept']} left in it", file=sys.stderr)
    else:
        print(f"listed {counts['listed']} message(s) of {queue} (all left in it)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
