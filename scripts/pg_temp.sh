#!/usr/bin/env bash
# A throwaway PostgreSQL server for the tests and benchmarks: 127.0.0.1 only, in a
# temporary directory of its own on a free port, durability off (test data only), so two
# runs on one machine never touch each other's server.
#   URL=$(scripts/pg_temp.sh start)   -> prints the DATABASE_URL
#   scripts/pg_temp.sh socket "$URL"  -> the same server's URL through its Unix socket
#   scripts/pg_temp.sh stop "$URL"    -> stops that server and deletes its folder
set -euo pipefail
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -n "$bin" ] || { echo "PostgreSQL is not installed (make pg-deps)" >&2; exit 1; }

as_pg() {  # initdb and the server refuse to run as root
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

dir_for_port() { echo "${TMPDIR:-/tmp}/aftersales-pg-$1"; }

case "${1:-start}" in
start)
  port=${PG_TEMP_PORT:-$(free_port)}
  dir=$(dir_for_port "$port")
  [ -e "$dir" ] && { echo "$dir exists: is a server already running on port $port?" >&2; exit 1; }
  mkdir -p "$dir"
  [ "$(id -u)" = 0 ] && chown postgres "$dir"
  as_pg "$bin/initdb" -D "$dir/data" -U postgres -A trust --no-sync -E UTF8 >/dev/null
  as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -o \
    "-h 127.0.0.1 -p $port -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" \
    start >/dev/null
  as_pg "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres aftersales
  echo "postgresql+psycopg://postgres@127.0.0.1:$port/aftersales"
  ;;
socket)
  # a client on this machine reaches the server through its Unix socket (in the server's
  # folder) without the loopback TCP stack: less CPU per round trip on both sides
  url=${2:-${TEST_DATABASE_URL:-${DATABASE_URL:-}}}
  port=$(sed -n 's#.*@127\.0\.0\.1:\([0-9]*\)/.*#\1#p' <<<"$url")
  [ -n "$port" ] || { echo "usage: $0 socket URL (the URL that start printed)" >&2; exit 2; }
  echo "postgresql+psycopg://postgres@/aftersales?host=$(dir_for_port "$port")&port=$port"
  ;;
stop)
  url=${2:-${TEST_DATABASE_URL:-${DATABASE_URL:-}}}
  port=$(sed -n 's#.*@127\.0\.0\.1:\([0-9]*\)/.*#\1#p' <<<"$url")
  [ -n "$port" ] || { echo "usage: $0 stop URL (the URL that start printed)" >&2; exit 2; }
  dir=$(dir_for_port "$port")
  if [ -f "$dir/data/postmaster.pid" ]; then as_pg "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null; fi
  rm -rf "$dir"
  ;;
*)
  echo "usage: $0 start | socket URL | stop URL" >&2; exit 2
  ;;
esac
