"""The one configuration mechanism: environment variables.

Every process (service, gateway, launcher, tool) builds a `Settings` from its environment.
Nothing else reads `os.environ`.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]

ENVIRONMENTS = ("production", "development", "test")


class SettingsError(ValueError):
    pass


def _bool(value: str) -> bool:
    return value.strip().lower() in ("1", "true", "yes", "on")


QUEUE_TYPES = ("quorum", "classic")


def _queue_type(value: str) -> str:
    if value not in QUEUE_TYPES:
        raise SettingsError(f"QUEUE_TYPE must be one of {QUEUE_TYPES}, not {value!r}")
    return value


def _replicas(value: str) -> tuple[tuple[str, int], ...]:
    """REPLICAS, e.g. "routing=3,sla=2": how many processes `make run` starts for a service (1 each
    unless named). The format and the counts are checked here, the names by `replica_counts`."""
    counts: dict[str, int] = {}
    for part in (p.strip() for p in value.split(",")):
        if not part:
            continue
        name, sep, count = (x.strip() for x in part.partition("="))
        if not sep or not name:
            raise SettingsError(f"REPLICAS: {part!r} is not <service>=<count> (e.g. REPLICAS=routing=3,sla=2)")
        if name in counts:
            raise SettingsError(f"REPLICAS names {name!r} twice")
        try:
            number = int(count)
        except ValueError:
            raise SettingsError(f"REPLICAS: the count of {name!r} must be a whole number, not {count!r}") from None
        if number < 1:
            raise SettingsError(f"REPLICAS: {name!r} needs at least 1 replica, not {number}")
        counts[name] = number
    return tuple(sorted(counts.items()))


@dataclass(frozen=True)
class Settings:
    environment: str = "development"
    amqp_uri: str = "amqp://guest:guest@localhost:5672/"
    mongo_uri: str = "mongodb://127.0.0.1:27017/?retryWrites=false"  # the embedded server (tools/stack.py)
    db_prefix: str = "hotline_"
    config_dir: Path = REPO_ROOT / "config"
    data_dir: Path = REPO_ROOT / ".data"   # local runs only: embedded store, dev JWT secret
    # "system" reads the wall clock; "controllable" lets an admin set the time of the whole system.
    clock_mode: str = "system"
    timezone: str = "Asia/Shanghai"
    ticket_number_prefix: str = "AS"
    ticket_number_block: int = 20
    jwt_secret: str = ""
    jwt_issuer: str = "hotline-12345"
    rpc_timeout_seconds: float = 10.0
    timer_interval_seconds: float = 1.0
    outbox_sweep_seconds: float = 5.0
    event_max_attempts: int = 8
    event_retry_base_ms: int = 500
    # durability (issue 9): queue type of the inbox, retry and dead-letter queues ("quorum" survives
    # a broker node; "classic" for brokers without quorum queues), a redelivery cap on quorum inboxes
    # (a second guard against loops), and the MongoDB write concern applied unless MONGO_URI sets w=
    queue_type: str = "quorum"
    queue_delivery_limit: int = 20
    mongo_write_concern: str = "majority"
    log_level: str = "INFO"
    log_json: bool = True
    # traces (issue 16): the OTLP/HTTP collector's base URL (spans go to <url>/v1/traces); empty: off
    otel_exporter_otlp_endpoint: str = ""
    # the gateway's limits (issue 10): bodies, JSON nesting, slow bodies, rate limits per worker
    gateway_max_body_bytes: int = 1024 * 1024
    gateway_max_json_depth: int = 32
    gateway_body_timeout_seconds: float = 10.0
    gateway_rate_limit_token: str = "6000/60"      # requests/seconds per token subject; "off" disables
    gateway_rate_limit_address: str = "12000/60"   # requests/seconds per client address
    # `make run` (tools/stack.py): processes per service, ((name, count), ...); unnamed services run one
    replicas: tuple[tuple[str, int], ...] = ()

    @property
    def production(self) -> bool:
        return self.environment == "production"

    def db_name(self, service: str) -> str:
        return f"{self.db_prefix}{service}"

    def replica_counts(self, services) -> dict[str, int]:
        """Processes per service, for every one of `services` (in their order); a name in REPLICAS
        that is not one of them is an error."""
        unknown = sorted(set(dict(self.replicas)) - set(services))
        if unknown:
            hint = " (the gateway scales with GATEWAY_WORKERS)" if "gateway" in unknown else ""
            raise SettingsError(f"REPLICAS names unknown service(s) {', '.join(unknown)}{hint}; "
                                f"the services are {', '.join(services)}")
        return {name: dict(self.replicas).get(name, 1) for name in services}

    @classmethod
    def from_env(cls, environ: dict | None = None) -> Settings:
        env = os.environ if environ is None else environ
        defaults = cls()
        environment = env.get("HOTLINE_ENV", defaults.environment)
        if environment not in ENVIRONMENTS:
            raise SettingsError(f"HOTLINE_ENV must be one of {ENVIRONMENTS}, not {environment!r}")
        clock_mode = env.get("CLOCK_MODE", defaults.clock_mode)
        if clock_mode not in ("system", "controllable"):
            raise SettingsError(f"CLOCK_MODE must be system or controllable, not {clock_mode!r}")
        if environment == "production" and clock_mode != "system":
            raise SettingsError("CLOCK_MODE=controllable is refused in production")
        jwt_secret = env.get("JWT_SECRET", "")
        if environment == "production" and len(jwt_secret) < 32:
            raise SettingsError("JWT_SECRET of at least 32 characters is required in production")
        return cls(
            environment=environment,
            amqp_uri=env.get("AMQP_URI", defaults.amqp_uri),
            mongo_uri=env.get("MONGO_URI", defaults.mongo_uri),
            db_prefix=env.get("MONGO_DB_PREFIX", defaults.db_prefix),
            config_dir=Path(env.get("HOTLINE_CONFIG_DIR", str(defaults.config_dir))),
            data_dir=Path(env.get("HOTLINE_DATA_DIR", str(defaults.data_dir))),
            clock_mode=clock_mode,
            timezone=env.get("HOTLINE_TIMEZONE", defaults.timezone),
            ticket_number_prefix=env.get("TICKET_NUMBER_PREFIX", defaults.ticket_number_prefix),
            ticket_number_block=int(env.get("TICKET_NUMBER_BLOCK", defaults.ticket_number_block)),
            jwt_secret=jwt_secret,
            rpc_timeout_seconds=float(env.get("RPC_TIMEOUT_SECONDS", defaults.rpc_timeout_seconds)),
            timer_interval_seconds=float(env.get("TIMER_INTERVAL_SECONDS", defaults.timer_interval_seconds)),
            outbox_sweep_seconds=float(env.get("OUTBOX_SWEEP_SECONDS", defaults.outbox_sweep_seconds)),
            event_max_attempts=int(env.get("EVENT_MAX_ATTEMPTS", defaults.event_max_attempts)),
            event_retry_base_ms=int(env.get("EVENT_RETRY_BASE_MS", defaults.event_retry_base_ms)),
            queue_type=_queue_type(env.get("QUEUE_TYPE", defaults.queue_type)),
            queue_delivery_limit=int(env.get("QUEUE_DELIVERY_LIMIT", defaults.queue_delivery_limit)),
            mongo_write_concern=env.get("MONGO_WRITE_CONCERN", defaults.mongo_write_concern),
            log_level=env.get("LOG_LEVEL", defaults.log_level),
            log_json=_bool(env.get("LOG_JSON", "1")),
            otel_exporter_otlp_endpoint=env.get("OTEL_EXPORTER_OTLP_ENDPOINT", defaults.otel_exporter_otlp_endpoint),
            gateway_max_body_bytes=int(env.get("GATEWAY_MAX_BODY_BYTES", defaults.gateway_max_body_bytes)),
            gateway_max_json_depth=int(env.get("GATEWAY_MAX_JSON_DEPTH", defaults.gateway_max_json_depth)),
            gateway_body_timeout_seconds=float(env.get("GATEWAY_BODY_TIMEOUT_SECONDS",
                                                       defaults.gateway_body_timeout_seconds)),
            gateway_rate_limit_token=env.get("GATEWAY_RATE_LIMIT_TOKEN", defaults.gateway_rate_limit_token),
            gateway_rate_limit_address=env.get("GATEWAY_RATE_LIMIT_ADDRESS", defaults.gateway_rate_limit_address),
            replicas=_replicas(env.get("REPLICAS", "")),
        )
