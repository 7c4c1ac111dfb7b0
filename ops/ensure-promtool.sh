#!/usr/bin/env bash
# Make sure `promtool` (Debian's `prometheus` package) is on PATH, for tests/unit/test_ops.py:
# `promtool check rules` and `promtool test rules` over ops/prometheus/.
# Installed with apt-get when missing and we are root on Debian/Ubuntu; the Prometheus server that
# comes with the package is NOT started (a temporary policy-rc.d refuses service starts during the
# install, and the unit is stopped and disabled in case systemd started it anyway).
set -euo pipefail

if command -v promtool >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "warning: promtool is missing and cannot be installed here (needs root and apt-get);" >&2
  echo "         install Debian's 'prometheus' package; the alert-rule tests will be skipped." >&2
  exit 0
fi

echo "promtool is not installed; installing Debian's prometheus package (the server is not started) ..."
policy=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\n# ops/ensure-promtool.sh: no service starts while prometheus installs\nexit 101\n' >"$policy"
  chmod 755 "$policy"
  created_policy=1
fi
cleanup() { if [ "$created_policy" = 1 ]; then rm -f "$policy"; fi; }
trap cleanup EXIT

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends prometheus >/dev/null

# belt and braces: if an init system started the server anyway, stop it and keep it off
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  systemctl disable --now prometheus >/dev/null 2>&1 || true
elif [ -x /etc/init.d/prometheus ]; then
  /etc/init.d/prometheus stop >/dev/null 2>&1 || true
fi

command -v promtool >/dev/null 2>&1 || { echo "error: installed prometheus but promtool is not on PATH" >&2; exit 1; }
promtool --version 2>&1 | head -1
