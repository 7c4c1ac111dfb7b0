"""Print a bearer token for local use: `make token ROLE=operator [UNIT=city.environment]`.

Roles: operator, unit_handler, unit_leader (need a unit), supervisor, admin, subscriber.
Uses JWT_SECRET, or outside production the local secret in .data/ that `make run` also uses.
"""
from __future__ import annotations

import argparse
import sys

from gateway.app import jwt_secret
from gateway.auth import mint
from hotline_common.actors import ROLES, UNIT_LEADER
from hotline_common.settings import Settings


def default_user(role: str, unit: str | None) -> str:
    if role == UNIT_LEADER and unit:
        return f"{unit}.leader"  # the unit's main leader in config/units.yaml
    if unit:
        return f"{unit}.contact"
    return f"{role}.1"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--role", required=True, choices=ROLES)
    parser.add_argument("--unit", default=None, help="unit id, for unit_handler and unit_leader")
    parser.add_argument("--user", default=None, help="user id (default: derived from role and unit)")
    parser.add_argument("--hours", type=int, default=12)
    args = parser.parse_args(argv)
    settings = Settings.from_env()
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
