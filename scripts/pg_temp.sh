#!/usr/bin/env bash
# A throwaway PostgreSQL server for the tests and benchmarks: 127.0.0.1 only, in a
# temporary directory, durability off (test data only).
#   scripts/pg_temp.sh start   -> prints the DATABASE_URL
#   scripts/pg_temp.sh stop
set -euo pipefail
dir=${PG_TEMP_DIR:-/tmp/aftersales-pg}
port=${PG_TEMP_PORT:-55432}
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -n "$bin" ] || { echo "PostgreSQL is not installed (make pg-deps)" >&2; exit 1; }

as_pg() {  # initdb and the server refuse to run as root
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "${1:-start}" in
start)
  if [ -f "$dir/data/postmaster.pid" ]; then as_pg "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true; fi
  rm -rf "$dir" && mkdir -p "$dir"
  [ "$(id -u)" = 0 ] && chown postgres "$dir"
  as_pg "$bin/initdb" -D "$dir/data" -U postgres -A trust --no-sync -E UTF8 >/dev/null
  as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -o \
    "-h 127.0.0.1 -p $port -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" \
    start >/dev/null
  as_pg "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres aftersales
  echo "postgresql+psycopg://postgres@127.0.0.1:$port/aftersales"
  ;;
stop)
  if [ -f "$dir/data/postmaster.pid" ]; then as_pg "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null; fi
  rm -rf "$dir"
  ;;
*)
  echo "usage: $0 start|stop" >&2; exit 2
  ;;
esac
