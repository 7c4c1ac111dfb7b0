"""Who may publish what on the broker (issue 9): one RabbitMQ user per service, one for the gateway,
one per external subscriber, with permissions that let each do its own job and nothing else.

* A service (`hotline-<svc>`) writes only its own exchange `<svc>.events` (which the broker binds into
  `hotline.events`), its own queues `hotline.<svc>.*` (inbox, retry, dead letters, and the direct
  exchange `hotline.<svc>.park` in front of retry and dead letters), its RPC queue `rpc-<svc>`, and
  RPC replies on `nameko-rpc`. Topic permissions narrow the shared topic exchanges: on
  `hotline.events` it may bind (read) but never publish (write needs a routing key matching a
  pattern that matches nothing); on `nameko-rpc` it may publish only replies (a reply's routing
  key is the caller's reply-queue uuid), so it cannot call another service either.
* The gateway (`hotline-gateway`) may only call services: publish `<svc>.<method>` on `nameko-rpc`
  and declare and read its own reply queues `rpc.reply-*`.
* An external subscriber (`sub-<name>`) may only declare, bind to `hotline.events` and read queues
  named `ext.<name>.*`. It may write nothing at all.
* The admin user (topology job, dead-letter tools, operators) may do everything.

Two broker operations need `write` where one would not expect it: binding `hotline.events` to
`<svc>.events` (exchange-to-exchange, done by each service's outbox relay) needs write on the
destination `hotline.events`, hence the topic permission that forbids publishing there. A service
never writes `amq.default` (which would let it put a message straight into any queue): the
subscriber parks retries and dead letters through the service's own `hotline.<svc>.park` exchange
(see DEFAULT_EXCHANGE_WRITE).

`make run` provisions these users with `rabbitmqctl import_definitions` when the broker is local
(tools/stack.py); docker compose loads config/rabbitmq/definitions.json; k8s loads a Secret made by
`k8s-secrets` below.

    python -m tools.brokerusers definitions --dev > config/rabbitmq/definitions.json
    python -m tools.brokerusers k8s-secrets [--subscriber cityportal] | kubectl apply -n hotline12345 -f -
    python -m tools.brokerusers provision [--subscriber NAME]     # what `make run` does, on AMQP_URI
"""
from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote, unquote, urlparse, urlunparse

from .services import SERVICES

GATEWAY = "gateway"
ADMIN_USER = "hotline-admin"
HOTLINE_EXCHANGE = "hotline.events"
RPC_EXCHANGE = "nameko-rpc"
UUID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
NOTHING = "^(?!)$"   # a routing-key pattern no key matches (PCRE: an always-failing look-ahead)
SUBSCRIBER_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,40}$")

# Write on `amq.default` would let a service put a message straight into another service's inbox. The
# subscriber (libs/hotline_common/subscriber.py) publishes retries and dead letters through the
# service's own park exchange `hotline.<svc>.park`, so no service needs it (issue 9).
DEFAULT_EXCHANGE_WRITE = False


def _alternatives(*names: str, patterns: tuple[str, ...] = ()) -> str:
    return "^(" + "|".join([re.escape(n) for n in names] + list(patterns)) + ")$"


def service_user(service: str, vhost: str = "/") -> str:
    return _scoped(f"hotline-{service}", vhost)


def subscriber_user(name: str, vhost: str = "/") -> str:
    return _scoped(f"sub-{name}", vhost)


def subscriber_prefix(name: str) -> str:
    """The queue-name prefix an external subscriber may use."""
    return f"ext.{name}."


def _scoped(user: str, vhost: str) -> str:
    # users are per broker, permissions per vhost: a run on a throwaway vhost gets its own users
    return user if vhost == "/" else f"{user}.{vhost}"


def service_permissions(service: str) -> dict:
    own = [f"{service}.events", HOTLINE_EXCHANGE, RPC_EXCHANGE, f"rpc-{service}"]
    own_patterns = (rf"rpc\.reply-{re.escape(service)}-.*", rf"hotline\.{re.escape(service)}\..*")
    write = own + (["amq.default"] if DEFAULT_EXCHANGE_WRITE else [])
    return {"configure": _alternatives(*own, patterns=own_patterns),
            "write": _alternatives(*write, patterns=own_patterns),
            "read": _alternatives(*own, patterns=own_patterns)}


def service_topic_permissions(service: str) -> list[dict]:
    return [
        # bind the inbox (read), never publish: events reach hotline.events only through <svc>.events
        {"exchange": HOTLINE_EXCHANGE, "write": NOTHING, "read": ".*"},
        # answer RPCs (the reply's routing key is the caller's reply-queue uuid); bind its RPC queue
        # ("<svc>.*") and, should it ever call another service, its own reply queue (a uuid)
        {"exchange": RPC_EXCHANGE, "write": f"^{UUID}$",
         "read": "^(" + re.escape(f"{service}.*") + f"|{UUID})$"},
    ]


def gateway_permissions() -> dict:
    own = _alternatives(RPC_EXCHANGE, patterns=(r"rpc\.reply-.*",))
    return {"configure": own, "write": own, "read": own}


def gateway_topic_permissions() -> list[dict]:
    services = "|".join(re.escape(s) for s in SERVICES)
    return [{"exchange": RPC_EXCHANGE, "write": rf"^({services})\.[A-Za-z_][A-Za-z0-9_]*$", "read": f"^{UUID}$"}]


def subscriber_permissions(name: str) -> dict:
    prefix = re.escape(subscriber_prefix(name)) + ".*"
    return {"configure": f"^{prefix}$", "write": f"^{prefix}$",
            "read": _alternatives(HOTLINE_EXCHANGE, patterns=(prefix,))}


def subscriber_topic_permissions(name: str) -> list[dict]:
    return [{"exchange": HOTLINE_EXCHANGE, "write": NOTHING, "read": ".*"}]


def password_hash(password: str, salt: bytes | None = None) -> str:
    """RabbitMQ's rabbit_password_hashing_sha256: base64(salt + sha256(salt + password))."""
    salt = os.urandom(4) if salt is None else salt
    return base64.b64encode(salt + hashlib.sha256(salt + password.encode()).digest()).decode()


def roles(subscribers=()) -> list[tuple[str, str]]:
    """(kind, name) of every user but the admin: each service, the gateway, each subscriber."""
    return [("service", s) for s in SERVICES] + [("gateway", GATEWAY)] + [("subscriber", n) for n in subscribers]


def user_name(kind: str, name: str, vhost: str = "/") -> str:
    if kind == "subscriber":
        return subscriber_user(name, vhost)
    return service_user(name, vhost)


def definitions(vhost: str, passwords: dict, subscribers=(), admin: str | None = None,
                include_vhost: bool = True) -> dict:
    """RabbitMQ definitions (users, vhost, permissions, topic permissions) for `rabbitmqctl
    import_definitions` or `load_definitions`. `passwords` maps user name -> password; `admin`, when
    given, is an administrator user (its password in `passwords` too)."""
    for name in subscribers:
        if not SUBSCRIBER_NAME.match(name):
            raise ValueError(f"subscriber name {name!r}: lowercase letters, digits, '-' and '_' only")
    users, permissions, topic = [], [], []
    for kind, name in roles(subscribers):
        user = user_name(kind, name, vhost)
        if kind == "service":
            perms, topics = service_permissions(name), service_topic_permissions(name)
        elif kind == "gateway":
            perms, topics = gateway_permissions(), gateway_topic_permissions()
        else:
            perms, topics = subscriber_permissions(name), subscriber_topic_permissions(name)
        users.append({"name": user, "password_hash": password_hash(passwords[user]),
                      "hashing_algorithm": "rabbit_password_hashing_sha256", "tags": []})
        permissions.append({"user": user, "vhost": vhost, **perms})
        topic.extend({"user": user, "vhost": vhost, **t} for t in topics)
    if admin:
        users.append({"name": admin, "password_hash": password_hash(passwords[admin]),
                      "hashing_algorithm": "rabbit_password_hashing_sha256", "tags": ["administrator"]})
        permissions.append({"user": admin, "vhost": vhost, "configure": ".*", "write": ".*", "read": ".*"})
    out = {"users": users, "permissions": permissions, "topic_permissions": topic}
    if include_vhost:
        out["vhosts"] = [{"name": vhost}]
    return out


def uri_for(amqp_uri: str, user: str, password: str) -> str:
    parts = urlparse(amqp_uri)
    host = parts.hostname or "localhost"
    netloc = f"{quote(user, safe='')}:{quote(password, safe='')}@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunparse(parts._replace(netloc=netloc))


def vhost_of(amqp_uri: str) -> str:
    path = urlparse(amqp_uri).path
    return unquote(path[1:]) if len(path) > 1 else "/"


def new_password() -> str:
    return secrets.token_urlsafe(24)


# -- make run: provision on a local broker with rabbitmqctl

class ProvisionError(RuntimeError):
    pass


def is_local(amqp_uri: str) -> bool:
    return (urlparse(amqp_uri).hostname or "localhost") in ("localhost", "127.0.0.1", "::1")


def rabbitmqctl(node: str | None = None) -> list[str]:
    exe = shutil.which("rabbitmqctl")
    if exe is None:
        raise ProvisionError("rabbitmqctl is not installed here")
    return [exe] + (["-n", node] if node else [])


def load_passwords(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def save_passwords(path: Path, passwords: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(passwords, out, indent=2)
    os.replace(temporary, path)


def passwords_file(data_dir: Path) -> Path:
    return Path(data_dir) / "broker-users.json"


def provision(amqp_uri: str, data_dir: Path, subscribers=(), node: str | None = None,
              timeout: float = 30.0) -> dict:
    """Create or update the users on the broker of `amqp_uri` (its vhost) with rabbitmqctl; returns
    {"intake": uri, ..., "gateway": uri, "subscriber:<name>": uri}. Idempotent: passwords are kept in
    <data_dir>/broker-users.json (mode 600) and re-imported each time. ProvisionError when it cannot."""
    if not is_local(amqp_uri):
        raise ProvisionError("the broker is not local (AMQP_URI names another host)")
    command = rabbitmqctl(node)
    vhost = vhost_of(amqp_uri)
    path = passwords_file(data_dir)
    stored = load_passwords(path)
    passwords = dict(stored.get(vhost, {}))
    for kind, name in roles(subscribers):
        passwords.setdefault(user_name(kind, name, vhost), new_password())
    stored[vhost] = passwords
    save_passwords(path, stored)
    defs = definitions(vhost, passwords, subscribers, include_vhost=False)
    try:
        result = subprocess.run(command + ["-q", "import_definitions"], input=json.dumps(defs), text=True,
                                capture_output=True, timeout=60)
    except subprocess.TimeoutExpired:
        raise ProvisionError("rabbitmqctl import_definitions timed out") from None
    if result.returncode != 0:
        raise ProvisionError(f"rabbitmqctl import_definitions failed: {(result.stderr or result.stdout).strip()[:300]}")
    uris = {}
    for kind, name in roles(subscribers):
        user = user_name(kind, name, vhost)
        uris[name if kind != "subscriber" else f"subscriber:{name}"] = uri_for(amqp_uri, user, passwords[user])
    _wait_until_usable(list(uris.values()), timeout)  # the import is asynchronous
    return uris


def _wait_until_usable(uris: list[str], timeout: float) -> None:
    from kombu import Connection
    deadline = time.monotonic() + timeout
    for uri in uris:
        while True:
            try:
                with Connection(uri, connect_timeout=3) as conn:
                    conn.ensure_connection(max_retries=1)
                break
            except Exception as exc:
                if time.monotonic() > deadline:
                    raise ProvisionError(f"a provisioned user cannot log in: {exc}") from None
                time.sleep(0.3)


def remove(amqp_uri: str, subscribers=(), node: str | None = None) -> None:
    """Delete the users of a (throwaway) vhost; best effort."""
    vhost = vhost_of(amqp_uri)
    command = rabbitmqctl(node)
    running = [subprocess.Popen(command + ["-q", "delete_user", user_name(kind, name, vhost)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
               for kind, name in roles(subscribers)]   # at once: each rabbitmqctl starts an Erlang VM
    for process in running:
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()


def stored_uris(amqp_uri: str, data_dir: Path, subscribers=()) -> dict:
    """The URIs `provision` made, read back from the data dir (for tools next to a running stack)."""
    vhost = vhost_of(amqp_uri)
    passwords = load_passwords(passwords_file(data_dir)).get(vhost, {})
    out = {}
    for kind, name in roles(subscribers):
        user = user_name(kind, name, vhost)
        if user in passwords:
            out[name if kind != "subscriber" else f"subscriber:{name}"] = uri_for(amqp_uri, user, passwords[user])
    return out


# -- compose and k8s

DEV_PASSWORD_NOTE = ("development passwords (each user's password is its name): for docker compose on "
                     "one machine only; `k8s-secrets` makes random ones")


def dev_definitions(subscribers=("example",)) -> dict:
    names = [user_name(k, n) for k, n in roles(subscribers)] + [ADMIN_USER]
    defs = definitions("/", {n: n for n in names}, subscribers, admin=ADMIN_USER)
    # deterministic output for a file kept in git: the same salt each time
    for user in defs["users"]:
        user["password_hash"] = password_hash(user["name"], salt=hashlib.sha256(user["name"].encode()).digest()[:4])
    return defs


def k8s_secrets(subscribers=(), namespace: str | None = None, host: str = "rabbitmq", vhost: str = "/") -> str:
    """Two Secrets: the broker's definitions (random passwords) and each process's AMQP URI."""
    import yaml
    names = [user_name(k, n, vhost) for k, n in roles(subscribers)] + [ADMIN_USER]
    passwords = {n: new_password() for n in names}
    defs = definitions(vhost, passwords, subscribers, admin=ADMIN_USER)
    base = f"amqp://x@{host}:5672/" + ("" if vhost == "/" else quote(vhost, safe=""))
    uris = {"AMQP_URI_ADMIN": uri_for(base, ADMIN_USER, passwords[ADMIN_USER])}
    for kind, name in roles(subscribers):
        user = user_name(kind, name, vhost)
        key = f"AMQP_URI_{name.upper().replace('-', '_')}" if kind != "subscriber" else \
            f"AMQP_URI_SUB_{name.upper().replace('-', '_')}"
        uris[key] = uri_for(base, user, passwords[user])
    meta = {"namespace": namespace} if namespace else {}
    docs = [
        {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
         "metadata": {"name": "hotline-rabbitmq-definitions", **meta},
         "stringData": {"definitions.json": json.dumps(defs, indent=2)}},
        {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
         "metadata": {"name": "hotline-amqp", **meta}, "stringData": uris},
    ]
    return yaml.safe_dump_all(docs, sort_keys=False)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="action", required=True)
    d = sub.add_parser("definitions", help="print definitions.json")
    d.add_argument("--dev", action="store_true", help=DEV_PASSWORD_NOTE)
    d.add_argument("--subscriber", action="append", default=None)
    k = sub.add_parser("k8s-secrets", help="print the two Secrets for k8s, with random passwords")
    k.add_argument("--subscriber", action="append", default=[])
    k.add_argument("--namespace")
    k.add_argument("--host", default="rabbitmq")
    p = sub.add_parser("provision", help="create the users on the local broker of AMQP_URI (rabbitmqctl)")
    p.add_argument("--subscriber", action="append", default=[])
    p.add_argument("--node", help="rabbitmqctl -n NODE")
    args = parser.parse_args(argv)
    if args.action == "definitions":
        if not args.dev:
            parser.error("only --dev definitions are printed (fixed passwords); use k8s-secrets for real ones")
        print(json.dumps(dev_definitions(tuple(args.subscriber or ("example",))), indent=2))
    elif args.action == "k8s-secrets":
        print(k8s_secrets(tuple(args.subscriber), args.namespace, args.host), end="")
    else:
        from hotline_common.settings import Settings
        settings = Settings.from_env()
        uris = provision(settings.amqp_uri, settings.data_dir, tuple(args.subscriber), args.node)
        for name, uri in uris.items():
            print(f"{name}: {urlparse(uri).username}")
        print(f"passwords in {passwords_file(settings.data_dir)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
