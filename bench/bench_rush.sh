#!/bin/sh
# A special-date rush (5月20日) against marriage-registration booking: BENCH_COUPLES distinct
# couples (default 3000) race for one day with BENCH_CAPACITY places per slot (default 24,
# 13 slots: 312 places) at one registry, through BENCH_SERVERS huimin-server processes
# (default 2) on one PostgreSQL, or one on SQLite. Every couple sends its booking once,
# split over the servers (bench_https, --bodies-file, BENCH_CONNECTIONS per server, default
# 64); the first BENCH_TWICE couples (default 200) send it to every server, as couples who
# tap twice do. Prints attempts/s, the bookings made and checks with SQL that exactly the
# capacity is booked, no slot is over capacity and nobody has two active bookings.
#
# ID sessions are opened with the server's test hook (HUIMIN_SERVER_TEST_ID_SESSIONS=1):
# reading thousands of ID cards would measure pcscd, not the booking.
#
#   scripts/pg-harness.sh -- bench/bench_rush.sh [BUILD_DIR]   (default build/release)
#   BENCH_BACKENDS=sqlite bench/bench_rush.sh [BUILD_DIR]
#
# Exit: 0 the rush ended exactly at capacity without overbooking, 1 not, 2 set-up failed.
set -u
export LC_ALL=C

SRC=$(cd "$(dirname "$0")/.." && pwd)
COUPLES=${BENCH_COUPLES:-3000}
CAPACITY=${BENCH_CAPACITY:-24}
SERVERS=${BENCH_SERVERS:-2}
CONNS=${BENCH_CONNECTIONS:-64}
TWICE=${BENCH_TWICE:-200}
BACKENDS=${BENCH_BACKENDS:-postgres}

b=${1:-build/release}
[ -d "$b" ] || b="$SRC/$b"
BIN=$(cd "$b" 2>/dev/null && pwd) || { echo "no build folder $1"; exit 2; }
ADMIN="$BIN/server/admin/huimin-admin"
SERVER="$BIN/server/huimin-server"
BENCH="$BIN/bench/bench_https"
PREP="$BIN/bench/bench_prep"

run_backend() {
    BACKEND=$1
    [ "$BACKEND" = sqlite ] && SERVERS=1
    work=$(mktemp -d "$BIN/bench-rush.XXXXXX") || exit 2
    PIDS=""
    cleanup() {
        for p in $PIDS; do kill -TERM "$p" 2>/dev/null; done
        for p in $PIDS; do wait "$p" 2>/dev/null; done
        [ -n "${BENCH_KEEP:-}" ] || rm -rf "$work"
    }
    trap cleanup EXIT
    setup_fail() { echo "$BACKEND: set-up failed: $*"; exit 2; }
    note() { echo "$BACKEND: $*  ($(date +%T))" >&2; }
    sql() {
        if [ "$BACKEND" = postgres ]; then
            psql -X -q -t -A "$HUIMIN_PG_CONNINFO" -c "$1"
        else
            sqlite3 "$D/huimin.db" "$1"
        fi
    }
    conf_set() {
        awk -v sec="[$2]" -v key="$3" -v val="$4" '
            function emit() { if (insec && !done) { print key " = " val; done = 1 } }
            /^\[/ { emit(); insec = ($0 == sec) }
            insec && $0 ~ "^[ \t]*" key "[ \t]*=" { print key " = " val; done = 1; next }
            { print }
            END { emit() }' "$1" >"$1.new" && mv "$1.new" "$1"
    }

    D="$work/deploy"
    set -- init --dir "$D" --name "惠民 bench"
    [ "$BACKEND" = postgres ] &&
        set -- "$@" --backend postgres --conninfo "${HUIMIN_PG_CONNINFO:?run under scripts/pg-harness.sh}"
    out=$("$ADMIN" "$@" 2>&1) || setup_fail "init: $out"
    conf_set "$D/huimin.conf" server listen 127.0.0.1:0
    conf_set "$D/huimin.conf" server drain_timeout 2
    conf_set "$D/huimin.conf" session session_ttl 3600
    "$ADMIN" enroll-kiosk --dir "$D" --id kiosk-rush --name "rush" --office rush-hall >/dev/null ||
        setup_fail "enroll-kiosk"
    K="$D/kiosks/kiosk-rush"
    printf 'id,name,region,cross_province,services,hours,slot_minutes,capacity\nrush-hall,富川瑶族自治县婚姻登记处,451123,yes,marriage,"mon-fri 08:30-12:00,14:30-17:30",30,2\n' \
        >"$work/offices.csv"
    printf 'office_id,date,kind,capacity,hours,opens_at,note\nrush-hall,2027-05-20,special,%s,,2027-05-13 00:00,5月20日\n' \
        "$CAPACITY" >"$work/days.csv"
    "$ADMIN" import offices --dir "$D" --file "$work/offices.csv" >/dev/null || setup_fail "offices"
    "$ADMIN" import office-days --dir "$D" --file "$work/days.csv" >/dev/null || setup_fail "days"
    places=$((13 * CAPACITY))

    # The clock at 2027-05-13 00:10 Beijing time: booking for 2027-05-20 is open.
    export HUIMIN_SERVER_TEST_ID_SESSIONS=1
    export HUIMIN_SERVER_TEST_CLOCK_OFFSET=$((1810137600 + 600 - $(date +%s)))
    URLS=""
    s=1
    while [ $s -le "$SERVERS" ]; do
        cp "$D/huimin.conf" "$D/huimin$s.conf"
        "$SERVER" --config "$D/huimin$s.conf" --port-file "$work/ports$s" 2>>"$work/server$s.log" &
        PIDS="$PIDS $!"
        i=0
        while [ ! -s "$work/ports$s" ]; do
            i=$((i + 1)); [ $i -lt 200 ] || setup_fail "server $s did not listen"
            sleep 0.1
        done
        URLS="$URLS https://127.0.0.1:$(sed -n 1p "$work/ports$s")"
        s=$((s + 1))
    done
    set -- $URLS
    TLS="--cert $K/kiosk.pem --key $K/kiosk.key --cacert $K/server-ca.pem"

    note "opening $((2 * COUPLES)) ID sessions (test hook)"
    awk -v n="$COUPLES" 'BEGIN {
        split("7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2", w, " "); c = "10X98765432"
        for (i = 0; i < n; i++)
            for (s = 1; s <= 2; s++) {
                y = 1960 + int(i / 336) % 40; m = 1 + int(i / 28) % 12; d = 1 + i % 28
                id = sprintf("451123%04d%02d%02d%02d%d", y, m, d, int(i / 13440), s == 1 ? 1 : 2)
                t = 0; for (k = 1; k <= 17; k++) t += substr(id, k, 1) * w[k]
                printf "{\"citizen_id\":\"%s%s\",\"name\":\"%s%d\"}\n", id, substr(c, t % 11 + 1, 1), s == 1 ? "M" : "F", i
            }
    }' >"$work/sess.bodies"
    # shellcheck disable=SC2086
    "$BENCH" --url "$1/v1/test/id-sessions" $TLS --method POST --content-type application/json \
        --bodies-file "$work/sess.bodies" --connections 32 --expect-status 201 --duration 120 \
        --responses-file "$work/sess.out" >"$work/sess.log" || setup_fail "sessions: $(cat "$work/sess.log")"
    "$PREP" jws-field name id_session <"$work/sess.out" >"$work/sessions.tsv" || setup_fail "sessions"
    [ "$(wc -l <"$work/sessions.tsv")" = $((2 * COUPLES)) ] || setup_fail "not every session opened"

    SLOTS="08:30 09:00 09:30 10:00 10:30 11:00 11:30 14:30 15:00 15:30 16:00 16:30 17:00"
    awk -F'\t' -v slots="$SLOTS" -v n="$COUPLES" -v servers="$SERVERS" -v twice="$TWICE" -v dir="$work" '
        { sess[$1] = $2 }
        END {
            ns = split(slots, s, " ")
            for (i = 0; i < n; i++) {
                b = sprintf("{\"service\":\"marriage\",\"office\":\"rush-hall\",\"date\":\"2027-05-20\",\"slot\":\"%s\",\"parties\":[\"%s\",\"%s\"]}",
                    s[(i * 7) % ns + 1], sess["M" i], sess["F" i])
                for (k = 1; k <= servers; k++)
                    if (i < twice || i % servers == k - 1)
                        print b > (dir "/rush" k ".bodies")
            }
        }' "$work/sessions.tsv"
    attempts=$(cat "$work"/rush*.bodies | wc -l)
    note "the rush: $attempts attempts by $COUPLES couples for $places places, $SERVERS server(s)"
    t0=$(date +%s.%N)
    k=1
    bpids=""
    for u in $URLS; do
        # shellcheck disable=SC2086
        "$BENCH" --url "$u/v1/appointments" $TLS --method POST --content-type application/json \
            --bodies-file "$work/rush$k.bodies" --connections "$CONNS" --expect-status 201 \
            --duration 60 --responses-file "$work/rush$k.out" >"$work/rush$k.log" 2>&1 &
        bpids="$bpids $!"
        k=$((k + 1))
    done
    for p in $bpids; do wait "$p"; done
    t1=$(date +%s.%N)
    booked=$(cat "$work"/rush*.out | grep -c .)
    rate=$(awk -v a="$attempts" -v t0="$t0" -v t1="$t1" 'BEGIN { printf "%.0f", a / (t1 - t0) }')
    secs=$(awk -v t0="$t0" -v t1="$t1" 'BEGIN { printf "%.2f", t1 - t0 }')
    stored=$(sql "SELECT COALESCE(SUM(booked), 0) FROM slot_counts WHERE office_id = 'rush-hall'")
    over=$(sql "SELECT COUNT(*) FROM slot_counts WHERE booked > capacity")
    appts=$(sql "SELECT COUNT(*) FROM appointments WHERE office_id = 'rush-hall' AND status = 'booked'")
    twice_active=$(sql "SELECT COUNT(*) FROM (SELECT person FROM appointment_parties WHERE active = 1 GROUP BY person, service HAVING COUNT(*) > 1) t")
    echo "$BACKEND, $SERVERS server(s): $attempts attempts in $secs s = $rate attempts/s; booked $booked (201), $appts stored, slots say $stored; capacity $places"
    echo "  slots over capacity: $over; persons with two active bookings: $twice_active"
    for k in $(seq 1 "$SERVERS"); do sed -n 's/^/  server '"$k"': /p' "$work/rush$k.log" | grep -E "requests|throughput|latency" ; done
    ok=0
    [ "$booked" = "$places" ] && [ "$appts" = "$places" ] && [ "$stored" = "$places" ] &&
        [ "$over" = 0 ] && [ "$twice_active" = 0 ] || ok=1
    [ $ok = 0 ] && echo "  OK: exactly the capacity booked, nothing overbooked" ||
        echo "  FAILED: the booking count or a constraint is wrong"
    trap - EXIT
    cleanup
    return $ok
}

status=0
for be in $BACKENDS; do
    ( run_backend "$be" ) || status=$?
done
exit $status
