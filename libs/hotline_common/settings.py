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
    log_level: str = "INFO"
    log_json: bool = True

    @property
    def production(self) -> bool:
        return self.environment == "production"

    def db_name(self, service: str) -> str:
        return f"{self.db_prefix}{service}"

    @classmethod
    def from_env(cls, environ: dict | None = None) -> "Settings":
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
            log_level=env.get("LOG_LEVEL", defaults.log_level),
            log_json=_bool(env.get("LOG_JSON", "1")),
        )
