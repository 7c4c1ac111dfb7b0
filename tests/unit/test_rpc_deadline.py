"""The gateway's RPC timeout is a deadline (issue 9): late replies to earlier calls that timed out must
not restart the wait (nameko's standalone proxy restarts it on every message, so when services were
slow a call waited far longer than RPC_TIMEOUT_SECONDS and clients got no answer at all)."""
import threading
import time
from types import SimpleNamespace

from nameko.exceptions import RpcTimeout
from nameko.standalone.rpc import ConsumeEvent, PollingQueueConsumer

from gateway.rpcdeadline import DeadlineQueueConsumer, DeadlineReplyListener


def consumer(cls, timeout: float):
    """A reply consumer whose queue gets a late reply (for another call) every 0.1 s, never ours."""
    c = cls(timeout=timeout)
    c.provider = SimpleNamespace(_reply_events={}, handle_message=lambda body, message: None)
    c.reconnections = 0

    def drain_events(timeout=None):
        time.sleep(min(0.1, timeout) if timeout is not None else 0.1)
        if timeout is not None and timeout <= 0.1:
            raise TimeoutError()
        c.on_message({"result": "late"}, SimpleNamespace(properties={"correlation_id": "an-earlier-call"}))

    def setup_consumer():
        c.reconnections += 1
    c.consumer = SimpleNamespace(connection=SimpleNamespace(drain_events=drain_events))
    c._setup_consumer = setup_consumer
    return c


def wait_for_reply(c, correlation_id="ours"):
    event = ConsumeEvent(c, correlation_id)
    c.provider._reply_events[correlation_id] = event
    started = time.monotonic()
    c.get_message(correlation_id)
    return event, time.monotonic() - started


def test_late_replies_do_not_extend_the_wait():
    c = consumer(DeadlineQueueConsumer, timeout=0.5)
    event, waited = wait_for_reply(c)
    assert isinstance(event.exception, RpcTimeout)
    assert waited < 1.0
    assert c.reconnections == 1       # the timed-out connection is set up again, as nameko does


def test_nameko_alone_would_wait_as_long_as_late_replies_keep_coming():
    c = consumer(PollingQueueConsumer, timeout=0.5)
    finished = threading.Event()
    threading.Thread(target=lambda: (wait_for_reply(c), finished.set()), daemon=True).start()
    assert not finished.wait(1.5)     # three times the timeout, still waiting
    c.consumer.connection.drain_events = lambda timeout=None: (_ for _ in ()).throw(TimeoutError())
    assert finished.wait(2)


def test_our_reply_is_delivered_before_the_deadline():
    c = consumer(DeadlineQueueConsumer, timeout=2.0)
    delivered = []
    c.provider.handle_message = lambda body, message: delivered.append(body)
    c.replies["ours"] = ({"result": "ok"}, object())
    event, _ = wait_for_reply(c)
    assert delivered == [{"result": "ok"}] and event.exception is None


def test_the_gateway_proxy_uses_the_deadline_listener():
    assert isinstance(DeadlineReplyListener(timeout=1.0).queue_consumer, DeadlineQueueConsumer)
    from pathlib import Path

    from gateway import rpc
    assert "reply_listener_cls=DeadlineReplyListener" in Path(rpc.__file__).read_text()
