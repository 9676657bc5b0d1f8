#!/bin/sh
# Measures huimin-server against its throughput targets on this machine, with
# bench_https (mutual TLS, keep-alive), on SQLite and, when scripts/pg-harness.sh
# can start a private PostgreSQL, on PostgreSQL:
#   signed answers  GET  /v1/revocations, 64 connections, 10 s   target >= 12000/s (200)
#   durable writes  POST /v1/nonces,      128 connections, 10 s  target >=  8000/s (201)
# A run meets its target when its rate of expected answers reaches it with no
# error and no reconnect (keep-alive held). One summary line a run.
#
#   bench/bench_server.sh [BUILD_DIR]      (default build/release; a release build)
#
# Environment: BENCH_THREADS (bench_https threads, default 1: the client shares
# the machine's 2 cores with the server and needs little), BENCH_DURATION (s).
# Everything lives in a temporary folder inside BUILD_DIR (a real disk, so
# SQLite's fsync costs what it costs), removed at the end; the whole script is
# bounded to under 2 minutes. Exit status: 0 every target met, 1 some target
# missed, 2 the set-up failed.
set -u

SRC=$(cd "$(dirname "$0")/.." && pwd)
SELF="$SRC/bench/bench_server.sh"
THREADS=${BENCH_THREADS:-1}
DURATION=${BENCH_DURATION:-10}

# The build folder: as given (relative to the current folder), else relative to the source.
resolve_build() {
    b=${1:-build/release}
    if [ -d "$b" ]; then
        (cd "$b" && pwd)
    elif [ -d "$SRC/$b" ]; then
        (cd "$SRC/$b" && pwd)
    else
        echo "$b"
    fi
}

# ---- one backend: bench_server.sh --run sqlite|postgres BUILD_DIR ------------
# (for postgres, run under scripts/pg-harness.sh, which sets HUIMIN_PG_CONNINFO)
run_backend() {
    BACKEND=$1
    BIN=$2
    ADMIN="$BIN/server/admin/huimin-admin"
    SERVER="$BIN/server/huimin-server"
    BENCH="$BIN/bench/bench_https"
    # Only what we need from tests/server/lib/server-lib.sh (which wants ctest's variables).
    conf_set() {
        awk -v sec="[$2]" -v key="$3" -v val="$4" '
            function emit() { if (insec && !done) { print key " = " val; done = 1 } }
            /^\[/ { emit(); insec = ($0 == sec) }
            insec && $0 ~ "^[ \t]*" key "[ \t]*=" { print key " = " val; done = 1; next }
            { print }
            END { emit() }' "$1" >"$1.new" && mv "$1.new" "$1"
    }

    work=$(mktemp -d "$BIN/bench-server.XXXXXX") || exit 2
    SERVER_PID=
    cleanup() {
        if [ -n "$SERVER_PID" ]; then
            kill -TERM "$SERVER_PID" 2>/dev/null
            i=0
            while kill -0 "$SERVER_PID" 2>/dev/null && [ "$i" -lt 50 ]; do
                sleep 0.1
                i=$((i + 1))
            done
            kill -9 "$SERVER_PID" 2>/dev/null
            wait "$SERVER_PID" 2>/dev/null
            SERVER_PID=
        fi
        rm -rf "$work"
    }
    trap cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    setup_fail() {
        echo "$BACKEND: set-up failed: $*"
        exit 2
    }

    D="$work/deploy"
    set -- init --dir "$D" --name "惠民 bench"
    if [ "$BACKEND" = postgres ]; then
        set -- "$@" --backend postgres --conninfo "${HUIMIN_PG_CONNINFO:?no PostgreSQL}"
    fi
    out=$("$ADMIN" "$@" 2>&1) || setup_fail "huimin-admin init: $out"
    C="$D/huimin.conf"
    conf_set "$C" server listen 127.0.0.1:0
    conf_set "$C" server ops_listen 127.0.0.1:0
    conf_set "$C" server drain_timeout 2
    out=$("$ADMIN" enroll-kiosk --dir "$D" --id kiosk-bench --name "bench kiosk" --office bench 2>&1) ||
        setup_fail "huimin-admin enroll-kiosk: $out"
    K="$D/kiosks/kiosk-bench"

    "$SERVER" --config "$C" --port-file "$work/ports" 2>>"$work/server.log" &
    SERVER_PID=$!
    i=0
    while [ ! -s "$work/ports" ]; do
        if ! kill -0 "$SERVER_PID" 2>/dev/null; then
            SERVER_PID=
            tail -5 "$work/server.log"
            setup_fail "the server did not start"
        fi
        i=$((i + 1))
        [ $i -lt 200 ] || setup_fail "the server did not listen within 20 s"
        sleep 0.1
    done
    PORT=$(sed -n 1p "$work/ports")
    # A challenge is a durable write of its own (staff calls were, until a kiosk's calls
    # within 120 s became one call).
    printf '{"purpose":"card-session"}' >"$work/nonce.json"

    status=0
    # bench NAME TARGET CONNECTIONS EXPECT PATH [bench_https options...]
    bench() {
        name=$1 target=$2 conns=$3 expect=$4 path=$5
        shift 5
        url="https://127.0.0.1:$PORT$path"
        set -- --url "$url" --cert "$K/kiosk.pem" --key "$K/kiosk.key" --cacert "$K/server-ca.pem" \
            --expect-status "$expect" "$@"
        # A short probe first, so a broken endpoint says why at once.
        if ! probe=$(timeout 20 "$BENCH" "$@" --connections 1 --requests 20 --timeout 5 --json 2>&1); then
            printf '%-8s %-15s %s: probe failed (%s)  NOT MET\n' "$BACKEND" "$name" "$path" \
                "$(printf '%s' "$probe" | sed -n 's/.*"first_error":"\([^"]*\)".*/\1/p;s/^bench_https: \(.*\)/\1/p' | head -1)"
            status=1
            return
        fi
        json=$(timeout $((DURATION + 30)) "$BENCH" "$@" --connections "$conns" --threads "$THREADS" \
            --duration "$DURATION" --json 2>/dev/null)
        get() { printf '%s' "$json" | sed -n "s/.*\"$1\":\([0-9.]*\).*/\1/p"; }
        rps=$(get rps) errors=$(get total) reconnects=$(get reconnects)
        if [ -z "$rps" ]; then
            printf '%-8s %-15s %s: bench_https gave no result  NOT MET\n' "$BACKEND" "$name" "$path"
            status=1
            return
        fi
        verdict=MET
        why=
        if ! awk -v r="$rps" -v t="$target" 'BEGIN { exit !(r >= t) }'; then
            verdict="NOT MET"
            why=" (too slow)"
        fi
        if [ "$errors" != 0 ]; then
            verdict="NOT MET"
            why=" ($errors errors: $(printf '%s' "$json" | sed -n 's/.*"errors":{\([^}]*\)}.*/\1/p' |
                tr -d '"' | tr ',' ' '))"
        elif [ "$reconnects" != 0 ]; then
            verdict="NOT MET"
            why=" (keep-alive broke: $reconnects reconnects)"
        fi
        printf '%-8s %-15s %-4s %-20s %3s conns: %8.0f/s (target >= %s)  p50 %s p99 %s max %s ms  %s%s\n' \
            "$BACKEND" "$name" "$(printf '%s' "$json" | sed -n 's/.*"method":"\([A-Z]*\)".*/\1/p')" \
            "$path" "$conns" "$rps" "$target" "$(get p50)" "$(get p99)" "$(get max)" "$verdict" "$why"
        [ "$verdict" = MET ] || status=1
    }

    bench "signed answers" 12000 64 200 /v1/revocations
    bench "durable writes" 8000 128 201 /v1/nonces --method POST \
        --body-file "$work/nonce.json" --content-type application/json
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
        echo "$BACKEND: the server died during the runs:"
        tail -5 "$work/server.log"
        SERVER_PID=
        status=1
    fi
    exit $status
}

if [ "${1:-}" = --run ]; then
    run_backend "$2" "$3"
fi

# ---- main ---------------------------------------------------------------------
BIN=$(resolve_build "${1:-}")
missing=
for f in server/admin/huimin-admin server/huimin-server bench/bench_https; do
    [ -x "$BIN/$f" ] || missing="$missing $f"
done
if [ -n "$missing" ]; then
    echo "bench_server: not built in $BIN:$missing" >&2
    echo "bench_server: cmake --preset release && cmake --build build/release" >&2
    exit 2
fi
if [ "$(nproc)" != 2 ]; then
    echo "bench_server: note: the targets are for a 2-core machine; this one has $(nproc)"
fi

overall=0
# Each backend is bounded on its own (set-up, two runs, stop): well under 2 minutes in all.
timeout -k 5 $((2 * DURATION + 30)) sh "$SELF" --run sqlite "$BIN"
st=$?
case $st in
0) ;;
124 | 137) echo "sqlite: timed out"; overall=1 ;;
*) overall=$st ;;
esac
if [ -f "$SRC/scripts/pg-harness.sh" ]; then
    timeout -k 5 $((2 * DURATION + 40)) sh "$SRC/scripts/pg-harness.sh" -- sh "$SELF" --run postgres "$BIN"
    st=$?
    case $st in
    0) ;;
    127) echo "postgres skipped: no PostgreSQL server installed (apt-get install postgresql)" ;;
    124 | 137) echo "postgres: timed out"; overall=1 ;;
    *) [ $overall -ne 0 ] || overall=$st ;;
    esac
else
    echo "postgres skipped: no scripts/pg-harness.sh"
fi
exit $overall
