"""gateway/console.py without a browser or a stack: the files under /console, the catalogue, and the
development sign-in endpoint (refused in production)."""
import falcon
import falcon.testing
import jwt
import pytest

from gateway import problems
from gateway.auth import TokenVerifier
from gateway.console import mount
from hotline_common.settings import Settings
from tests.conftest import REPO

SECRET = "s" * 40


def client(environment="test", prefix=""):
    app = falcon.App()
    app.req_options.strip_url_path_trailing_slash = True
    problems.install(app)
    mount(app, Settings(environment=environment, jwt_secret=SECRET, config_dir=REPO / "config"), SECRET)
    return falcon.testing.TestClient(app, headers={}), prefix


def test_index_and_files_are_served_without_a_token_with_a_strict_policy():
    c, _ = client()
    index = c.simulate_get("/console")
    assert index.status_code == 200 and index.headers["content-type"].startswith("text/html")
    assert '<base href="/console/">' in index.text and 'src="js/app.js"' in index.text
    assert "script-src 'self'" in index.headers["content-security-policy"]
    assert c.simulate_get("/console/").status_code == 200
    script = c.simulate_get("/console/js/app.js")
    assert script.status_code == 200 and script.headers["content-type"].startswith("text/javascript")
    assert c.simulate_get("/console/console.css").headers["content-type"].startswith("text/css")
    again = c.simulate_get("/console/js/app.js", headers={"If-None-Match": script.headers["etag"]})
    assert again.status_code == 304


def test_the_index_names_its_base_behind_a_path_prefix():
    c, _ = client()
    index = c.simulate_get("/console", extras={"SCRIPT_NAME": "/hotline"})
    assert '<base href="/hotline/console/">' in index.text


@pytest.mark.parametrize("path", ["/console/../openapi.yaml", "/console/js/../../gateway/console.py",
                                  "/console/nothing.js", "/console/.hidden", "/console/js"])
def test_nothing_outside_console_or_missing_is_served(path):
    c, _ = client()
    assert c.simulate_get(path).status_code == 404


def test_the_catalogue_for_the_forms():
    c, _ = client()
    data = c.simulate_get("/console/catalog.json").json
    assert data["categories"]["noise.neighbourhood"] == "社会生活噪音"
    assert data["districts"]["tiedong"] == "铁东区" and data["channels"]["phone"] == "12345电话"


def test_dev_token_mints_a_token_the_gateway_accepts():
    c, _ = client()
    answer = c.simulate_post("/console/dev-token", json={"role": "unit_leader", "unit_id": "city.environment",
                                                          "user_id": "city.environment.leader", "name": "周海"})
    assert answer.status_code == 200 and answer.headers["cache-control"] == "no-store"
    actor = TokenVerifier(SECRET, "hotline-12345").actor(answer.json["access_token"])
    assert actor == {"user_id": "city.environment.leader", "role": "unit_leader", "unit_id": "city.environment",
                     "name": "周海"}
    city = c.simulate_post("/console/dev-token", json={"role": "operator", "unit_id": "ignored", "user_id": "op"})
    assert jwt.decode(city.json["access_token"], SECRET, algorithms=["HS256"], issuer="hotline-12345").get("unit_id") is None


def test_dev_token_names_the_bad_fields():
    c, _ = client()
    answer = c.simulate_post("/console/dev-token", json={"role": "unit_handler", "user_id": "", "x": 1})
    assert answer.status_code == 422 and answer.headers["content-type"] == "application/problem+json"
    assert set(answer.json["errors"]) == {"unit_id", "user_id", "x"}
    assert c.simulate_post("/console/dev-token", json={"role": "root", "user_id": "a"}).json["errors"]["role"]


def test_no_dev_token_in_production():
    c, _ = client("production")
    for method in ("GET", "POST"):
        answer = c.simulate_request(method, "/console/dev-token", json={"role": "admin", "user_id": "a"})
        assert answer.status_code == 404
    assert c.simulate_get("/console").status_code == 200   # the console itself is there


def test_the_console_needs_no_change_to_the_api():
    """Every /v1 path the console calls is in openapi.yaml (the API is the only authority)."""
    import re

    import yaml
    spec = yaml.safe_load((REPO / "openapi.yaml").read_text())
    optional = {"/v1/bulletins", "/v1/hotspots", "/v1/assessment"}  # shown only when the API offers them
    called = set()
    for js in (REPO / "console").rglob("*.js"):
        text = re.sub(r"\$\{[^{}]*\}", "*", js.read_text())  # what the console fills in
        called.update(m.group(1).rstrip("/") for m in re.finditer(r"[`'](/v1/[^`'?]*)", text))
    assert "/v1/tickets" in called and "/v1/supervision-cases" in called

    def offered(path):  # "*" (a value the console fills in) stands for any one segment
        pattern = re.compile("^" + "/".join("[^/]+" if s == "*" else re.escape(s) for s in path.split("/")) + "$")
        return any(pattern.match(p) for p in spec["paths"])
    missing = sorted(p for p in called if not offered(p) and not any(p.startswith(o) for o in optional))
    assert not missing, f"the console calls paths openapi.yaml does not have: {missing}"
