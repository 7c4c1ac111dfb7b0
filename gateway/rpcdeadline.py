"""An RPC timeout that is a deadline (issue 9).

nameko's standalone proxy waits for its reply with `drain_events(timeout=RPC timeout)` in a loop
until the reply with its correlation id arrives. Every other message on the thread's reply queue
ends one wait and starts a fresh one: a late reply to an earlier call that timed out (the service
was slow, answered after the gateway gave up) restarts the clock. When services are slow, late
replies are common, so a call could wait many times RPC_TIMEOUT_SECONDS (the chaos run saw requests
unanswered after 20 s with a 10 s RPC timeout). Here the wait for one call never exceeds the RPC
timeout in total; then it raises nameko's RpcTimeout, which the gateway answers 503 + Retry-After.
"""
from __future__ import annotations

import time

from amqp.exceptions import ConnectionError as AmqpConnectionError
from nameko.exceptions import RpcTimeout
from nameko.standalone.rpc import PollingQueueConsumer, SingleThreadedReplyListener


class DeadlineQueueConsumer(PollingQueueConsumer):
    def get_message(self, correlation_id, deadline=None):
        if deadline is None and self.timeout is not None:
            deadline = time.monotonic() + self.timeout
        try:
            while correlation_id not in self.replies:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    raise TimeoutError("no reply before the RPC deadline")
                self.consumer.connection.drain_events(timeout=remaining)
            body, message = self.replies.pop(correlation_id)
            self.provider.handle_message(body, message)
        except TimeoutError:
            event = self.provider._reply_events.pop(correlation_id)
            event.send_exception(RpcTimeout(self.timeout))
            self._setup_consumer()   # a socket timeout leaves the connection unusable
        except (OSError, AmqpConnectionError):
            # as nameko: reconnect and wait again (within the same deadline); if reconnecting
            # fails, the error bubbles up
            self._setup_consumer()
            self.get_message(correlation_id, deadline)
        except KeyboardInterrupt as exc:
            event = self.provider._reply_events.pop(correlation_id)
            event.send_exception(exc)
            self._setup_consumer()


class DeadlineReplyListener(SingleThreadedReplyListener):
    """The reply listener of `ClusterRpcProxy(..., reply_listener_cls=DeadlineReplyListener)`."""

    def __init__(self, timeout=None):
        super().__init__(timeout=timeout)
        self.queue_consumer = DeadlineQueueConsumer(timeout=timeout)
