"""Declare every exchange, queue and binding before any service publishes (DESIGN §4).

An event published before its consumer's queue exists is dropped by the broker; running this first
(`make run` does, docker compose and k8s run it as a one-shot job) closes that gap. Each service
also declares its own part when it starts; declaring twice is harmless.

    python -m tools.topology            # uses AMQP_URI
"""
from __future__ import annotations

import sys

from kombu import Connection

from hotline_common.outbox import declare_publisher_topology
from hotline_common.settings import Settings
from hotline_common.subscriber import service_queues, subscribed_types

from .services import SERVICES, service_class


def declare_all(amqp_uri: str) -> dict[str, list[str]]:
    declared = {}
    with Connection(amqp_uri, connect_timeout=10) as conn:
        channel = conn.channel()
        for name in SERVICES:
            declare_publisher_topology(channel, name)
            types = subscribed_types(service_class(name))
            for queue in service_queues(name, types):
                queue(channel).declare()
            declared[name] = types
    return declared


def main() -> int:
    settings = Settings.from_env()
    declared = declare_all(settings.amqp_uri)
    for name, types in declared.items():
        print(f"{name}: {len(types)} event types bound")
    return 0


if __name__ == "__main__":
    sys.exit(main())
