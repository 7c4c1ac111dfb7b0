"""The console in front of a running gateway that does not serve it yet: a small WSGI server that
serves /console with gateway.console (the same code the gateway mounts) and passes every other request
to the gateway unchanged. The browser tests use it only when the stack's gateway answers 404 on
/console; it also serves manual checks: `python -m tests.browser.console_host UPSTREAM DATA_DIR [PORT]`.
"""
from __future__ import annotations

import sys
import threading
from pathlib import Path
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import falcon
import requests

from gateway import problems
from gateway.auth import local_secret
from gateway.console import mount
from hotline_common.settings import Settings

HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailers",
              "transfer-encoding", "upgrade", "content-length", "content-encoding"}


class Passthrough:
    def __init__(self, upstream: str):
        self.upstream = upstream.rstrip("/")
        self.http = requests.Session()

    def __call__(self, req, resp, **_):
        headers = {k: v for k, v in req.headers.items() if k.lower() not in HOP_BY_HOP | {"host"}}
        answer = self.http.request(req.method, self.upstream + req.relative_uri, headers=headers,
                                   data=req.bounded_stream.read() or None, timeout=30, allow_redirects=False)
        resp.status = falcon.code_to_http_status(answer.status_code)
        for key, value in answer.headers.items():
            if key.lower() not in HOP_BY_HOP:
                resp.set_header(key, value)
        resp.data = answer.content


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _Quiet(WSGIRequestHandler):
    def log_message(self, *args):
        pass


def console_host(upstream: str, data_dir: Path, environment: str = "test") -> falcon.App:
    settings = Settings(environment=environment, data_dir=Path(data_dir))
    app = falcon.App()
    app.req_options.strip_url_path_trailing_slash = True
    problems.install(app)
    mount(app, settings, local_secret(Path(data_dir)))
    app.add_sink(Passthrough(upstream), prefix=r"^/(?!console(/|$))")
    return app


def serve(upstream: str, data_dir: Path, port: int = 0, environment: str = "test"):
    """Start in a daemon thread; returns (server, url)."""
    server = make_server("127.0.0.1", port, console_host(upstream, data_dir, environment),
                         server_class=_Server, handler_class=_Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}"


if __name__ == "__main__":
    upstream, data_dir = sys.argv[1], Path(sys.argv[2])
    port = int(sys.argv[3]) if len(sys.argv) > 3 else 8080
    server, url = serve(upstream, data_dir, port, environment="development")
    print(f"console: {url}/console  (API passed to {upstream})", flush=True)
    threading.Event().wait()
