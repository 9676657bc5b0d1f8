#!/bin/sh
# Runs a command against a private, throwaway PostgreSQL server, so tests need
# no running cluster and leave nothing behind:
#
#   scripts/pg-harness.sh -- CMD [ARGS...]
#
# The server lives in a fresh temporary folder, listens only on a Unix socket
# in that folder (no TCP), keeps fsync on, and has a role and a database both
# named huimin. CMD sees HUIMIN_PG_CONNINFO; its exit status is the script's.
# The server is stopped and the folder removed however CMD ends, also on
# Ctrl-C. As root (CI), the server runs as the postgres user.
#   PG_BINDIR  the folder with initdb and pg_ctl (default: the newest
#              /usr/lib/postgresql/*/bin)
set -eu

usage() {
    echo "usage: scripts/pg-harness.sh -- CMD [ARGS...]" >&2
    exit 2
}
if [ $# -lt 2 ] || [ "$1" != "--" ]; then
    usage
fi
shift

bindir="${PG_BINDIR:-}"
if [ -z "$bindir" ]; then
    # The newest installed major version (the glob sorts 9 after 15, so compare).
    best=0
    for d in /usr/lib/postgresql/*/bin; do
        v=${d#/usr/lib/postgresql/}
        v=${v%/bin}
        case "$v" in *[!0-9]* | "") continue ;; esac
        if [ -x "$d/initdb" ] && [ "$v" -gt "$best" ]; then
            best=$v
            bindir=$d
        fi
    done
fi
if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
    echo "pg-harness: initdb not found (looked in ${bindir:-/usr/lib/postgresql/*/bin})." >&2
    echo "pg-harness: install the server with: apt-get install postgresql" >&2
    exit 127
fi

# The socket path must stay short (sun_path holds 107 bytes), hence /tmp.
dir=$(mktemp -d /tmp/huimin-pg.XXXXXX)
port=5432
started=0
child=""

if [ "$(id -u)" -eq 0 ]; then
    chown postgres:postgres "$dir"
    as_pg() { runuser -u postgres -- "$@"; }
else
    as_pg() { "$@"; }
fi
chmod 700 "$dir"

# shellcheck disable=SC2317  # reached through the traps
cleanup() {
    status=$?
    trap - EXIT INT TERM HUP
    # Interrupted while CMD runs: stop it first, it holds connections.
    if [ -n "$child" ] && kill -0 "$child" 2>/dev/null; then
        kill -TERM "$child" 2>/dev/null || true
        wait "$child" 2>/dev/null || true
    fi
    if [ "$started" -eq 1 ]; then
        as_pg "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 ||
            echo "pg-harness: pg_ctl stop failed; see $dir/server.log" >&2
    fi
    rm -rf "$dir"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

if ! as_pg "$bindir/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --no-locale \
    >"$dir/initdb.log" 2>&1; then
    echo "pg-harness: initdb failed:" >&2
    cat "$dir/initdb.log" >&2
    exit 1
fi
as_pg sh -c "cat >> '$dir/data/postgresql.conf'" <<EOF
# pg-harness: a private server on a Unix socket only, durable as production.
listen_addresses = ''
unix_socket_directories = '$dir'
port = $port
fsync = on
synchronous_commit = on
max_connections = 100
EOF

started=1
if ! as_pg "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start >/dev/null; then
    echo "pg-harness: the server did not start:" >&2
    cat "$dir/server.log" >&2
    exit 1
fi
as_pg "$bindir/psql" -h "$dir" -p $port -U postgres -d postgres -q -v ON_ERROR_STOP=1 \
    -c "CREATE ROLE huimin LOGIN" -c "CREATE DATABASE huimin OWNER huimin" >/dev/null

HUIMIN_PG_CONNINFO="host=$dir port=$port dbname=huimin user=huimin"
export HUIMIN_PG_CONNINFO

# CMD runs in the background so that a signal to this script is handled at
# once (a shell runs traps only between commands); stdin stays CMD's.
set +e
exec 3<&0
"$@" 0<&3 3<&- &
child=$!
wait "$child"
status=$?
child=""
set -e
exit $status
