"""Bearer JWT authentication (DESIGN §6): the token names the caller's role and unit.

The gateway only authenticates; the services authorise with the actor it passes them.
"""
from __future__ import annotations

import time
import uuid
from pathlib import Path

import jwt

from hotline_common.actors import ROLES, UNIT_ROLES

ALGORITHM = "HS256"


class InvalidToken(Exception):
    pass


class TokenVerifier:
    def __init__(self, secret: str, issuer: str):
        if not secret:
            raise ValueError("a JWT secret is required")
        self.secret = secret
        self.issuer = issuer

    def actor(self, token: str) -> dict:
        try:
            claims = jwt.decode(token, self.secret, algorithms=[ALGORITHM], issuer=self.issuer,
                                options={"require": ["exp", "sub", "iss"]})
        except jwt.PyJWTError as exc:
            raise InvalidToken(str(exc)) from None
        role = claims.get("role")
        if role not in ROLES:
            raise InvalidToken(f"unknown role {role!r}")
        if role in UNIT_ROLES and not claims.get("unit_id"):
            raise InvalidToken("a unit role needs unit_id")
        return {"user_id": claims["sub"], "role": role, "unit_id": claims.get("unit_id"),
                "name": claims.get("name")}


def mint(secret: str, issuer: str, *, role: str, user_id: str, unit_id: str | None = None,
         name: str | None = None, ttl_seconds: int = 12 * 3600) -> str:
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    if role in UNIT_ROLES and not unit_id:
        raise ValueError(f"role {role} needs a unit")
    now = int(time.time())
    claims = {"sub": user_id, "role": role, "iss": issuer, "iat": now, "exp": now + ttl_seconds,
              "jti": uuid.uuid4().hex}
    if unit_id:
        claims["unit_id"] = unit_id
    if name:
        claims["name"] = name
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def local_secret(data_dir: Path) -> str:
    """Outside production: a random secret kept in .data/, shared by `make run` and `make token`."""
    path = Path(data_dir) / "jwt-secret"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(uuid.uuid4().hex + uuid.uuid4().hex)
        path.chmod(0o600)
    return path.read_text().strip()
