"""A small chaos run in `make test` (issue 9): a RabbitMQ node and a stack of its own, 200 tickets over
HTTP at 10 a second, the embedded store killed with kill -9, then (on a fresh stack) the broker killed
and restarted 10 s later. Nothing answered 2xx may be lost, nothing may be registered, dispatched or
timed twice, no request answered 5xx may leave a ticket behind, the gateway answers nothing but
200/201/503 (and 429) while the store or the broker is down, and no step needs a hand.
`make chaos` runs the full table (every fault, 3,000 tickets at 25/s each).

The rate is a little over what the whole stack takes end to end on two cores with the durable
embedded store (6-8 tickets/s, bench/README.md): the gateway sheds the rest with 503 and Retry-After,
the clients retry, and the short backlog drains within the settle time. It takes about two minutes on
an idle machine, up to four when the machine is loaded."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tools.chaos import RABBITMQ_BIN

REPO = Path(__file__).resolve().parents[2]
TICKETS = 200


@pytest.mark.timeout(600)
@pytest.mark.skipif(not (RABBITMQ_BIN / "rabbitmq-server").exists(), reason="RabbitMQ is not installed here")
def test_store_kill_and_broker_kill_lose_nothing_and_duplicate_nothing(tmp_path):
    out = tmp_path / "chaos.json"
    run = subprocess.run([sys.executable, "-m", "tools.chaos", "--only", "store,broker", "-n", str(TICKETS),
                          "--rate", "10", "--settle", "60", "--json", str(out)],
                         cwd=REPO, capture_output=True, text=True, timeout=570)
    report = run.stdout[-6000:] + run.stderr[-3000:]
    assert out.exists(), report
    results = {r["experiment"]: r for r in json.loads(out.read_text())}
    assert set(results) == {"store", "broker"}, report
    for name, r in results.items():
        assert r["posted"] == TICKETS, report
        assert r["lost"] == 0, f"{name}: {r['lost']} lost\n{report}"
        assert r["duplicates"] == 0, f"{name}: {r['duplicates']} duplicates\n{report}"
        assert r["ghosts"] == 0, f"{name}: {r['ghosts']} tickets for requests answered 5xx\n{report}"
        assert r["unclean_answers"] == {}, f"{name}: answers other than 200/201/503: {r['unclean_answers']}\n{report}"
        # a reset kept-alive connection is no answer; the client retries it with its key (tools/chaos.py)
        assert r["connection_resets"] <= TICKETS // 100, f"{name}: {r['connection_resets']} connection resets\n{report}"
        assert r["manual_steps"] == [], f"{name}: {r['manual_steps']}\n{report}"
        assert r["through"] == r["accepted"], f"{name}: not everything accepted came through\n{report}"
    assert run.returncode == 0, report
