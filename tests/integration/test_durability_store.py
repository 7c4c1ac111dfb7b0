"""Durable by default (issue 9): an acknowledged write survives `kill -9` of the embedded store as
`make run` starts it, and writes ask for a majority unless the URI says otherwise."""
import signal
import socket
import subprocess
import time

import pytest
from pymongo import MongoClient

from hotline_common.mongo import client
from tests.conftest import free_port
from tools.stack import embedded_mongo_argv, embedded_uri


def start_store(path, port, env):
    process = subprocess.Popen(embedded_mongo_argv(env, port, path), stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return process
        time.sleep(0.05)
    process.kill()
    pytest.fail("the embedded store did not start")


def acknowledged_writes_after_a_kill(tmp_path, env) -> tuple[int, int]:
    port = free_port()
    process = start_store(tmp_path / "mongo", port, env)
    uri = embedded_uri(port)
    writer = MongoClient(uri, w="majority")
    acknowledged = 0
    try:
        for i in range(400):
            writer.durability.tickets.insert_one({"_id": i, "payload": "x" * 500})
            acknowledged += 1
        process.send_signal(signal.SIGKILL)   # right after the last acknowledgement
        process.wait(10)
    finally:
        writer.close()
        if process.poll() is None:
            process.kill()
    process = start_store(tmp_path / "mongo", port, env)
    try:
        reader = MongoClient(uri)
        kept = reader.durability.tickets.count_documents({})
        reader.close()
    finally:
        process.terminate()
        process.wait(10)
    return acknowledged, kept


def test_an_acknowledged_write_survives_kill_9_of_the_embedded_store(tmp_path):
    acknowledged, kept = acknowledged_writes_after_a_kill(tmp_path, {})
    assert kept == acknowledged, f"{acknowledged - kept} acknowledged writes lost"


def test_writes_ask_for_a_majority_unless_the_uri_says_otherwise(mongo_uri, monkeypatch):
    monkeypatch.delenv("MONGO_WRITE_CONCERN", raising=False)
    assert client(mongo_uri).write_concern.document == {"w": "majority"}
    assert client(mongo_uri + "&w=1").write_concern.document == {"w": 1}
    assert client(mongo_uri, write_concern="").write_concern.document == {}
    # the embedded server accepts it (and the store's writes work with it)
    client(mongo_uri).durability_wc.things.insert_one({"ok": True})
    client(mongo_uri).drop_database("durability_wc")
