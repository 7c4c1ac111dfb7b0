#!/usr/bin/env bash
# Make sure RabbitMQ answers on AMQP_URI (default amqp://guest:guest@localhost:5672/).
# Local broker down: start it. Not installed, root on Debian/Ubuntu: install it with apt first.
# Tests also need the management API (nameko's test fixtures make a throwaway vhost through it):
# when the broker is local, the rabbitmq_management plugin is enabled.
set -euo pipefail
uri=${AMQP_URI:-amqp://guest:guest@localhost:5672/}
read -r host port < <(python3 - "$uri" <<'PY'
import sys, urllib.parse
u = urllib.parse.urlparse(sys.argv[1])
print(u.hostname or "localhost", u.port or 5672)
PY
)
reachable() { timeout 2 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null; }
local_host() { [[ "$host" == localhost || "$host" == 127.0.0.1 || "$host" == ::1 ]]; }

wait_for() {  # host port seconds
  for _ in $(seq 1 "$3"); do reachable "$1" "$2" && return 0; sleep 1; done
  return 1
}

if ! reachable "$host" "$port"; then
  if ! local_host; then
    echo "error: RabbitMQ is not reachable at $host:$port (AMQP_URI). Start it there, or unset AMQP_URI to use a local one." >&2
    exit 1
  fi
  if ! command -v rabbitmq-server >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      echo "RabbitMQ is not installed; installing it with apt-get ..."
      DEBIAN_FRONTEND=noninteractive apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq rabbitmq-server >/dev/null
    else
      echo "error: RabbitMQ is not running on $host:$port and is not installed." >&2
      echo "       Install it (Debian/Ubuntu: sudo apt-get install rabbitmq-server) or set AMQP_URI." >&2
      exit 1
    fi
  fi
  echo "starting rabbitmq-server ..."
  (rabbitmq-server -detached >/dev/null 2>&1 || service rabbitmq-server start >/dev/null 2>&1) || true
  if ! wait_for "$host" "$port" 90; then
    echo "error: rabbitmq-server did not come up on $host:$port within 90 s" >&2
    exit 1
  fi
fi

if local_host && ! reachable "$host" 15672 && command -v rabbitmq-plugins >/dev/null 2>&1; then
  rabbitmq-plugins enable rabbitmq_management >/dev/null 2>&1 || true
  wait_for "$host" 15672 30 || echo "warning: the RabbitMQ management API did not come up; integration tests need it" >&2
fi
echo "RabbitMQ is up at $host:$port"
