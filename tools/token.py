"""Print a bearer token for local use: `make token ROLE=operator [UNIT=city.environment]`.

Roles: operator, unit_handler, unit_leader (need a unit), supervisor, admin, subscriber.
Uses JWT_SECRET, or outside production the local secret in .data/ that `make run` also uses.

The unit must be one of config/units.yaml (HOTLINE_CONFIG_DIR), and only the unit roles take one: a
token for a unit that does not exist would be refused by nothing and see nothing, which is confusing
to debug. A unit created later through `PUT /v1/units/{id}` is not in the file: pass
`--unit-not-in-config` for it.
"""
from __future__ import annotations

import argparse
import sys

from gateway.app import jwt_secret
from gateway.auth import mint
from hotline_common.actors import ROLES, UNIT_LEADER, UNIT_ROLES
from hotline_common.config_files import read_yaml
from hotline_common.settings import Settings


def default_user(role: str, unit: str | None) -> str:
    if role == UNIT_LEADER and unit:
        return f"{unit}.leader"  # the unit's main leader in config/units.yaml
    if unit:
        return f"{unit}.contact"
    return f"{role}.1"


def configured_units(config_dir) -> list[str]:
    return [u["id"] for u in read_yaml(config_dir, "units.yaml").get("units", [])]


def check_pairing(role: str, unit: str | None, known: list[str], *, unit_not_in_config: bool = False) -> str | None:
    """Why this role/unit pair cannot have a token (None when it can)."""
    if role in UNIT_ROLES:
        if not unit:
            return f"role {role} needs a unit: UNIT=<one of {', '.join(known)}>"
        if unit not in known and not unit_not_in_config:
            return (f"no unit {unit!r} in config/units.yaml; known units: {', '.join(known)} "
                    "(for a unit created through PUT /v1/units, add --unit-not-in-config)")
    elif unit:
        return f"role {role} acts for the whole city, not for a unit: leave UNIT out (unit roles: {', '.join(UNIT_ROLES)})"
    return None


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--role", required=True, choices=ROLES)
    parser.add_argument("--unit", default=None, help="unit id, for unit_handler and unit_leader")
    parser.add_argument("--user", default=None, help="user id (default: derived from role and unit)")
    parser.add_argument("--hours", type=int, default=12)
    parser.add_argument("--unit-not-in-config", action="store_true",
                        help="the unit was created through the API and is not in config/units.yaml")
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    refused = check_pairing(args.role, args.unit, configured_units(settings.config_dir),
                            unit_not_in_config=args.unit_not_in_config)
    if refused:
        print(f"error: {refused}", file=sys.stderr)
        return 2
    try:
        token = mint(jwt_secret(settings), settings.jwt_issuer, role=args.role,
                     user_id=args.user or default_user(args.role, args.unit), unit_id=args.unit,
                     ttl_seconds=args.hours * 3600)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(token)
    return 0


if __name__ == "__main__":
    sys.exit(main())
