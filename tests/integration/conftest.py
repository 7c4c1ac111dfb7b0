"""Integration fixtures: services in nameko containers on a throwaway vhost and database."""
from datetime import datetime

import pytest
from nameko.standalone.rpc import ClusterRpcProxy

import hotline_common.service_base  # noqa: F401  typed RPC errors
from hotline_common.clock import ClockState, utcnow
from hotline_common.providers import save_clock_state
from hotline_common.settings import Settings
from tests.support import EventTap
from tools.services import service_class
from tools.topology import declare_all

OPERATOR = {"user_id": "operator.1", "role": "operator"}


@pytest.fixture
def amqp_uri(rabbit_config):
    return rabbit_config["AMQP_URI"]


@pytest.fixture
def nameko_config(rabbit_config, service_env):
    return {"AMQP_URI": rabbit_config["AMQP_URI"], "WEB_SERVER_ADDRESS": "127.0.0.1:0", "max_workers": 10}


@pytest.fixture
def stack(runner_factory, nameko_config):
    """start(*names): declare the topology, start those services, return the runner."""
    def start(*names):
        declare_all(nameko_config["AMQP_URI"])
        runner = runner_factory(nameko_config, *[service_class(n) for n in names])
        runner.start()
        return runner
    return start


@pytest.fixture
def rpc(nameko_config):
    with ClusterRpcProxy(nameko_config, timeout=15) as proxy:
        yield proxy


@pytest.fixture
def tap(amqp_uri):
    declare_all(amqp_uri)
    tap = EventTap(amqp_uri).start()
    yield tap
    tap.stop()


@pytest.fixture
def set_clock(service_env):
    """Set the whole system's (controllable) clock: set_clock(datetime, running=False)."""
    def set_(at: datetime, running: bool = False):
        save_clock_state(Settings.from_env(), ClockState.set_to(at, utcnow(), running=running))
    return set_


def noise_complaint(**overrides):
    body = {"channel": "phone", "type": "complain", "category": "noise.neighbourhood", "district": "tiedong",
            "address": "铁东区胜利南路88号", "citizen": {"name": "张女士", "phone": "13800001234"},
            "content": "楼下烧烤店每天夜里12点后仍然噪音扰民"}
    body.update(overrides)
    return body
