#!/usr/bin/env bash
# Starts PostgreSQL, MariaDB and Redis on loopback when they are installed but not running
# (the start commands of shared/design.md). Does nothing for a service that answers already.
set -uo pipefail

up() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_up() { for _ in $(seq 1 30); do up "$1" && return 0; sleep 1; done; echo "$2 did not come up on port $1" >&2; return 1; }

if ! up 5432 && command -v pg_ctlcluster >/dev/null; then
  echo "starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start && wait_up 5432 PostgreSQL
fi
if ! up 3306 && [ -x /usr/sbin/mariadbd ]; then
  echo "starting MariaDB"
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd && wait_up 3306 MariaDB
fi
if ! up 6379 && command -v redis-server >/dev/null; then
  echo "starting Redis"
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log && wait_up 6379 Redis
fi
for port in 5432 3306 6379; do up "$port" && echo "port $port answers" || echo "port $port does NOT answer"; done
exit 0
