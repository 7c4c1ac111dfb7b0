"""The console's JavaScript modules, unit-tested in headless Chromium (no stack): the repository is
served over HTTP on the loopback (ES modules do not load from file://) and tests/browser/js/runner.html
runs tests/browser/js/*.test.js against console/js/."""
import functools
import http.server
import threading
import time

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.e2e


class _Quiet(http.server.SimpleHTTPRequestHandler):
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map, ".js": "text/javascript"}

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def repo_server():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(REPO)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def test_console_modules(driver, repo_server):
    driver.get(repo_server + "/tests/browser/js/runner.html")
    deadline = time.monotonic() + 30
    results = None
    while time.monotonic() < deadline:
        results = driver.execute_script("return window.__results || null")
        if results and results.get("done"):
            break
        time.sleep(0.2)
    assert results and results.get("done"), "the JavaScript tests did not finish"
    failures = "\n".join(f"{f['name']}: {f['error']}" for f in results["failed"])
    assert not results["failed"], failures
    assert results["passed"] >= 20, results
