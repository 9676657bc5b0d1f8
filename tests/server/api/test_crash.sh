#!/bin/sh
# Crash test: kiosks write a stream of records (test ID sessions: a row and an
# audit record each, HUIMIN_SERVER_TEST_ID_SESSIONS) while the server is killed
# with SIGKILL; after a restart every write the server had acknowledged is there,
# and the audit chain verifies. (Staff calls were the stream until issue 9: a
# kiosk's calls within 120 s are now one call.)
# Usage: test_crash.sh [sqlite|postgres] (postgres needs HUIMIN_PG_CONNINFO).
set -u
. "${HUIMIN_SOURCE_DIR:?run under ctest}/tests/server/lib/server-lib.sh"
BACKEND=${1:-sqlite}

work=$(mktemp -d)
SERVER_PID=
cleanup() {
    [ -n "$SERVER_PID" ] && kill -9 "$SERVER_PID" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
D="$work/deploy"
set -- init --dir "$D"
[ "$BACKEND" = postgres ] && set -- "$@" --backend postgres --conninfo "${HUIMIN_PG_CONNINFO:?no PostgreSQL}"
out=$("$ADMIN" "$@" 2>&1) || fail "huimin-admin init: $out"
conf_set "$D/huimin.conf" server listen 127.0.0.1:0
conf_set "$D/huimin.conf" audit checkpoint_every 50
"$ADMIN" enroll-kiosk --dir "$D" --id kiosk-a --name "上城区 1号机" --office sc-01 >/dev/null ||
    fail "enroll-kiosk"
export HUIMIN_SERVER_TEST_ID_SESSIONS=1
start_server "$D"
URL="https://localhost:$PORT"
K="$D/kiosks/kiosk-a"

# One writer: rounds of 20 POSTs on one keep-alive connection, each answer
# followed by its status, until the server goes away.
writer() {
    urls=""
    for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do urls="$urls $URL/v1/test/id-sessions"; done
    while :; do
        # shellcheck disable=SC2086
        curl -sS --max-time 20 --cacert "$K/server-ca.pem" --cert "$K/kiosk.pem" --key "$K/kiosk.key" \
            -H 'Content-Type: application/json' -d '{"citizen_id":"110102195603120025","name":"崩溃测试"}' \
            -w '\n%{http_code}\n' $urls >>"$work/w$1.out" 2>>"$work/w$1.err" || break
    done
}
for w in 1 2 3 4 5 6; do writer $w & done

# Let acknowledged writes pile up, then kill the server mid-stream.
i=0
while [ "$(cat "$work"/w*.out 2>/dev/null | grep -c '^201$')" -lt 300 ] && [ $i -lt 300 ]; do
    sleep 0.1; i=$((i + 1))
done
kill -9 "$SERVER_PID"
wait "$SERVER_PID" 2>/dev/null
SERVER_PID=
wait # the writers stop when their connections fail

# Acknowledged = a signed answer followed by 201. Collect their ids.
for f in "$work"/w*.out; do
    awk 'prev ~ /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/ && $0 == "201" { print prev } { prev = $0 }' "$f"
done >"$work/acked.jws"
n=$(wc -l <"$work/acked.jws")
[ "$n" -ge 300 ] || fail "only $n writes were acknowledged before the kill"
while read -r t; do jws_payload "$t" | sed -n 's/.*"id_session":"\([A-Za-z0-9_-]*\)".*/\1/p'; echo; done \
    <"$work/acked.jws" | grep . | sort -u >"$work/acked.ids"
[ "$(wc -l <"$work/acked.ids")" -eq "$n" ] || fail "acknowledged answers without a unique id"
echo "$n writes acknowledged before SIGKILL"

# Restart (on a new port: the database recovers) and look for every one of them.
start_server "$D"
sql() {
    if [ "$BACKEND" = postgres ]; then
        psql -X -q -t -A "$HUIMIN_PG_CONNINFO" -c "$1"
    else
        sqlite3 "$D/huimin.db" "$1"
    fi
}
in_list=$(sed "s/.*/'&'/" "$work/acked.ids" | paste -sd, -)
found=$(sql "SELECT COUNT(*) FROM id_sessions WHERE kiosk_id = 'kiosk-a' AND id IN ($in_list)")
[ "$found" = "$n" ] || fail "after the restart only $found of $n acknowledged writes are there"
echo "after the restart all $n acknowledged writes are there"
stop_server
out=$("$ADMIN" audit verify --dir "$D" 2>&1)
[ $? -eq 0 ] || fail "the audit chain does not verify after the crash: $out"
echo "audit: $out"
echo "PASS: crash test ($BACKEND)"
