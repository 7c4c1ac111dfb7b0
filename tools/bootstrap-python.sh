#!/usr/bin/env bash
# Create the virtualenv with Python 3.11. On a fresh Debian/Ubuntu as root, install what venv needs.
set -euo pipefail
python=${1:-python3}
venv=${2:-.venv}
[ -x "$venv/bin/python" ] && exit 0

if ! command -v "$python" >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq && apt-get install -y -qq python3 python3-venv python3-pip >/dev/null
  else
    echo "error: $python not found; install Python 3.11" >&2; exit 1
  fi
fi
version=$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
if [ "$version" != "3.11" ]; then
  echo "error: $python is Python $version; this project pins Python 3.11 (set PYTHON=python3.11)" >&2
  exit 1
fi
if ! "$python" -m venv "$venv" 2>/dev/null; then
  rm -rf "$venv"
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing python3.11-venv with apt-get ..."
    apt-get update -qq && apt-get install -y -qq python3.11-venv >/dev/null
    "$python" -m venv "$venv"
  else
    echo "error: '$python -m venv' failed; install the venv module (Debian: apt-get install python3.11-venv)" >&2
    exit 1
  fi
fi
