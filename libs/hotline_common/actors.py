"""Who is acting: the caller context every command carries (role, user, unit), and role rules.

The gateway authenticates (JWT) and passes this context over RPC; the services authorise with it,
so object-level rules (a unit sees only its own tickets) live next to the data they protect.
"""
from __future__ import annotations

from dataclasses import dataclass

from .errors import Forbidden

OPERATOR = "operator"          # 政府热线管理办公室 (hotline office)
UNIT_HANDLER = "unit_handler"  # 承办单位经办人
UNIT_LEADER = "unit_leader"    # 承办单位主要领导 / 分管领导
SUPERVISOR = "supervisor"      # 市民诉求督办中心
ADMIN = "admin"
SUBSCRIBER = "subscriber"      # external system reading events
SYSTEM = "system"              # the services themselves (timers, rules)

ROLES = (OPERATOR, UNIT_HANDLER, UNIT_LEADER, SUPERVISOR, ADMIN, SUBSCRIBER)
UNIT_ROLES = (UNIT_HANDLER, UNIT_LEADER)
CITY_ROLES = (OPERATOR, SUPERVISOR, ADMIN)  # see every ticket


@dataclass(frozen=True)
class Actor:
    user_id: str
    role: str
    unit_id: str | None = None
    name: str | None = None

    @property
    def is_unit(self) -> bool:
        return self.role in UNIT_ROLES

    def require(self, *roles: str) -> Actor:
        if self.role not in roles:
            raise Forbidden(f"role {self.role} may not do this; allowed: {', '.join(roles)}")
        return self

    def unit_scope(self, requested: str | None) -> str | None:
        """Which unit's records a listing shows: a unit's people see their own unit's, whatever they
        ask for; the city roles see the unit they ask for (or all); other roles see nothing."""
        if self.is_unit:
            return self.unit_id
        self.require(*CITY_ROLES)
        return requested

    def to_dict(self) -> dict:
        return {"user_id": self.user_id, "role": self.role, "unit_id": self.unit_id}

    @classmethod
    def from_dict(cls, data: dict | None) -> Actor:
        data = data or {}
        role = data.get("role")
        if role not in ROLES + (SYSTEM,):
            raise Forbidden(f"unknown role {role!r}")
        if role in UNIT_ROLES and not data.get("unit_id"):
            raise Forbidden("a unit role needs a unit_id")
        return cls(user_id=str(data.get("user_id") or "anonymous"), role=role,
                   unit_id=data.get("unit_id"), name=data.get("name"))


SYSTEM_ACTOR = Actor(user_id="system", role=SYSTEM)
