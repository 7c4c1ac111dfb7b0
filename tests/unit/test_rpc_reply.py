"""An RPC whose reply cannot be sent (the broker died while the command ran) must not kill the service
(issue 9: in the chaos run's broker kill, intake exited because nameko's reply publish raised in the
worker's result handler, which nameko treats as fatal for the container)."""
from types import SimpleNamespace

import pytest
from kombu.exceptions import OperationalError

from hotline_common.service_base import Command


class DeadBroker:
    def __init__(self):
        self.acked = []
        self.queue_consumer = SimpleNamespace(ack_message=self.acked.append)

    def handle_result(self, message, result, exc_info):
        raise OperationalError("[Errno 111] ECONNREFUSED")


def entrypoint() -> Command:
    command = Command(expected_exceptions=())
    command.method_name = "register"
    command.rpc_consumer = DeadBroker()
    return command


def test_a_reply_that_cannot_be_sent_does_not_raise_and_the_request_is_settled():
    command = entrypoint()
    message = object()
    result = command.handle_result(message, None, {"number": "AS20261128000001"}, None)
    assert result == ({"number": "AS20261128000001"}, None)
    assert command.rpc_consumer.acked == [message]   # applied: acked if the channel still works


def test_a_failed_command_whose_reply_cannot_be_sent_does_not_raise_either():
    command = entrypoint()
    try:
        raise ValueError("boom")
    except ValueError as exc:
        exc_info = (type(exc), exc, exc.__traceback__)
    assert command.handle_result(object(), None, None, exc_info) == (None, exc_info)


def test_a_dead_channel_for_the_ack_too_is_left_to_the_broker():
    command = entrypoint()

    def ack(message):
        raise OperationalError("channel closed")
    command.rpc_consumer.queue_consumer.ack_message = ack
    assert command.handle_result(object(), None, {"ok": True}, None) == ({"ok": True}, None)


def test_other_errors_still_surface():
    command = entrypoint()

    def broken(message, result, exc_info):
        raise TypeError("not a broker problem")
    command.rpc_consumer.handle_result = broken
    with pytest.raises(TypeError):
        command.handle_result(object(), None, {}, None)
