#!/bin/sh
# Measures "tap to verified status p95 <= 100 ms through the real pcscd on
# loopback" with bench_tap: a deployment with the demo data (SQLite, or
# PostgreSQL under scripts/pg-harness.sh), a blank virtual PIV card issued as
# 张秀英's welfare card and its 9E certificate registered, a kiosk enrolled,
# huimin-server running on 127.0.0.1, and bench_tap inside huimin-rig (a
# private pcscd with the virtual card), under /usr/bin/time -v when present
# for the client's max RSS.
#
#   bench/bench_tap.sh [BUILD_DIR [ROUNDS [sqlite|postgres]]]
#       (default build/release, 300 rounds, sqlite; a release build)
#
# Everything lives in a temporary folder inside BUILD_DIR, removed at the end.
# Exit status: 0 target met, 1 target missed, 2 the set-up failed.
set -u

SRC=$(cd "$(dirname "$0")/.." && pwd)
SELF="$SRC/bench/bench_tap.sh"

if [ "${1:-}" = --inner ]; then
    # Inside huimin-rig: BIN, WORK, ROUNDS and BACKEND come from the outer run.
    ADMIN="$BIN/server/admin/huimin-admin"
    SERVER="$BIN/server/huimin-server"
    D="$WORK/deploy"
    K="$D/kiosks/kiosk-a"
    SERVER_PID=
    fail() { echo "bench_tap.sh: $*" >&2; exit 2; }
    # shellcheck disable=SC2317  # reached through the trap
    cleanup() {
        [ -n "$SERVER_PID" ] && kill -TERM "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID"
    }
    trap cleanup EXIT
    set -- init --dir "$D" --name "富川瑶族自治县民政局"
    [ "$BACKEND" = postgres ] &&
        set -- "$@" --backend postgres --conninfo "${HUIMIN_PG_CONNINFO:?no PostgreSQL}"
    out=$("$ADMIN" "$@" 2>&1) || fail "init: $out"
    awk '/^\[/ { sec = $0 } sec == "[server]" && /^[ \t]*listen[ \t]*=/ { print "listen = 127.0.0.1:0"; next }
         { print }' "$D/huimin.conf" >"$D/huimin.conf.new" && mv "$D/huimin.conf.new" "$D/huimin.conf"
    grep -q '^listen = 127.0.0.1:0' "$D/huimin.conf" || fail "no [server] listen in huimin.conf"
    for kind in programmes residents entitlements payments; do
        out=$("$ADMIN" import "$kind" --dir "$D" --file "$SRC/fixtures/deploy/$kind.csv" 2>&1) ||
            fail "import $kind: $out"
    done
    out=$("$ADMIN" enroll-kiosk --dir "$D" --id kiosk-a --name "富川 1号机" --office fc-01 2>&1) ||
        fail "enroll-kiosk: $out"
    out=$("$BIN/tools/huimin-issue" card --dir "$D/pki" --name "张秀英" \
        --welfare-no WF3301060000123 --pin 135790 2>&1) || fail "issuance: $out"
    "$BIN/tools/huimin-card" cert --key 9e --out "$WORK/9e.pem" >/dev/null 2>&1 ||
        fail "huimin-card cert --key 9e"
    out=$("$ADMIN" register-card --dir "$D" --cert "$WORK/9e.pem" 2>&1) || fail "register-card: $out"
    "$SERVER" --config "$D/huimin.conf" --port-file "$D/ports" 2>>"$D/server.log" &
    SERVER_PID=$!
    i=0
    while [ ! -s "$D/ports" ]; do
        kill -0 "$SERVER_PID" 2>/dev/null || { cat "$D/server.log" >&2; fail "no server"; }
        i=$((i + 1))
        [ $i -lt 300 ] || fail "the server did not listen within 30 s"
        sleep 0.1
    done
    PORT=$(sed -n 1p "$D/ports")
    echo "bench_tap.sh: $BACKEND deployment, card issued and registered, server on port $PORT"
    set -- "$BIN/bench/bench_tap" "$K" "https://localhost:$PORT" "$ROUNDS" "$D/pki/issuer-ca.pem"
    if [ -x /usr/bin/time ]; then
        /usr/bin/time -v -o "$WORK/time.txt" "$@"
        st=$?
        rss=$(sed -n 's/.*Maximum resident set size (kbytes): *//p' "$WORK/time.txt")
        echo "  bench_tap (the kiosk client) max RSS per /usr/bin/time: ${rss:-?} KiB"
    else
        "$@"
        st=$?
    fi
    # The server's memory afterwards, for comparison.
    srss=$(sed -n 's/^VmHWM:[ \t]*//p' "/proc/$SERVER_PID/status" 2>/dev/null)
    echo "  huimin-server peak RSS: ${srss:-?}"
    exit $st
fi

b=${1:-build/release}
if [ -d "$b" ]; then
    BIN=$(cd "$b" && pwd)
elif [ -d "$SRC/$b" ]; then
    BIN=$(cd "$SRC/$b" && pwd)
else
    echo "bench_tap.sh: no build folder $b" >&2
    exit 2
fi
ROUNDS=${2:-300}
BACKEND=${3:-sqlite}
for f in bench/bench_tap tools/huimin-rig tools/huimin-issue tools/huimin-card server/huimin-server \
    server/admin/huimin-admin; do
    [ -x "$BIN/$f" ] || { echo "bench_tap.sh: build $BIN/$f first" >&2; exit 2; }
done
case "$BACKEND" in
sqlite | postgres) ;;
*) echo "usage: bench/bench_tap.sh [BUILD_DIR [ROUNDS [sqlite|postgres]]]" >&2; exit 2 ;;
esac
WORK=$(mktemp -d "$BIN/bench-tap.XXXXXX") || exit 2
trap 'rm -rf "$WORK"' EXIT
cp "$SRC/fixtures/cards/piv-blank.json" "$WORK/card.json"
export BIN WORK ROUNDS BACKEND
if [ "$BACKEND" = postgres ]; then
    "$SRC/scripts/pg-harness.sh" -- "$BIN/tools/huimin-rig" --card "$WORK/card.json" -- \
        "$SELF" --inner
else
    "$BIN/tools/huimin-rig" --card "$WORK/card.json" -- "$SELF" --inner
fi
