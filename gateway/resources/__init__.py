"""Falcon resources: `route.RouteResource` serves every route of gateway/routes.py; `health` has the
gateway's own /healthz, /readyz and /metrics."""
