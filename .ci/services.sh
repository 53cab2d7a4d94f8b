#!/usr/bin/env bash
# Make sure the services the integration tests use answer on 127.0.0.1:
# PostgreSQL (5432, user postgres, trust auth) and Redis (6379).
# Start each one when it is installed but not running; fail with a clear message when missing.
set -u

wait_for() {  # wait_for NAME CHECK-COMMAND...
  local name=$1; shift
  for _ in $(seq 1 30); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 1
  done
  echo "error: $name did not come up within 30 s" >&2
  return 1
}

pg_up() { pg_isready -h 127.0.0.1 -p 5432 -U postgres -q; }
redis_up() { [ "$(redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null)" = "PONG" ]; }

if ! command -v pg_isready >/dev/null 2>&1 || ! command -v psql >/dev/null 2>&1; then
  echo "error: PostgreSQL is not installed (no pg_isready/psql). Install it (Debian: apt-get install postgresql)" \
       "and make it accept user postgres on 127.0.0.1:5432 with trust auth." >&2
  exit 1
fi
if ! pg_up; then
  if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
    version=$(ls /etc/postgresql | sort -V | tail -n 1)
    echo "starting PostgreSQL $version ..."
    pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
    wait_for PostgreSQL pg_up || exit 1
  else
    echo "error: PostgreSQL is installed but not running on 127.0.0.1:5432, and no cluster to start was found" >&2
    exit 1
  fi
fi

if ! command -v redis-server >/dev/null 2>&1 || ! command -v redis-cli >/dev/null 2>&1; then
  echo "error: Redis is not installed (no redis-server/redis-cli). Install it (Debian: apt-get install redis-server)." >&2
  exit 1
fi
if ! redis_up; then
  echo "starting Redis ..."
  mkdir -p /var/lib/redis /var/log/redis 2>/dev/null || true
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log || true
  wait_for Redis redis_up || exit 1
fi
echo "services: PostgreSQL and Redis answer on 127.0.0.1"
