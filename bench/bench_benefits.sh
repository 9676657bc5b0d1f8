#!/bin/sh
# Measures the benefits endpoints against the project's targets, with bench_https
# (mutual TLS, keep-alive), on SQLite and, under scripts/pg-harness.sh, PostgreSQL:
#   signed status answers  POST /v1/status, 64 connections, 10 s         target >= 12000/s (200)
#                          (the card holders' sessions in turn, BENCH_CARDS of them)
#   durable confirmations  POST /v1/confirmations, 128 connections      target >=  8000/s (201)
# The deployment holds huimin-gen data (BENCH_GEN residents, default 20000). For
# BENCH_CARDS residents (default 2500) with paid payments, bench_prep makes software
# 9E and 9C cards from D/pki/issuer-ca, the 9E cards are registered (huimin-admin
# register-card), card sessions are opened (nonces fetched and signed), then one
# confirm nonce per paid payment is fetched and bench_prep writes one signed
# confirmation per payment (live, with the resident's session; BENCH_JOURNAL=1:
# journal deliveries, "session": null). bench_https sends each body once; the
# run ends when they run out (at most BENCH_CONFIRMS, default 30000). Afterwards
# the confirmations in the database must be exactly the 201 answers, and
# huimin-admin audit verify must pass.
#
#   bench/bench_benefits.sh [BUILD_DIR]      (default build/release; a release build)
#
# Each line also gives the server's CPU time per answer (user + system, from /proc), which
# varies much less than the rate when other work shares the machine, and the run ends with
# the certificate cache's hits and misses.
#
# Environment: BENCH_THREADS (bench_https threads, default 1), BENCH_DURATION (s, status),
# BENCH_BACKENDS ("sqlite postgres"), BENCH_PERF=PREFIX (perf record of the confirmation run:
# PREFIX.BACKEND.data and a report in PREFIX.BACKEND.txt, made with BENCH_PERF_ARGS, default
# "--children --sort sym"; BENCH_PERF_FREQ samples a second, default 300), BENCH_SYSCALLS=1 (system calls and context switches an answer in the
# first 5 s of the run, perf stat), BENCH_PROBE_RUN (the run these two watch: status or confirm,
# default confirm), BENCH_SERVER_ENV (a command prefix for the server, say "env LD_PRELOAD=..."). Exit: 0 every target met, 1 missed, 2 set-up failed.
set -u
export LC_ALL=C # sort and join agree on the order

SRC=$(cd "$(dirname "$0")/.." && pwd)
SELF="$SRC/bench/bench_benefits.sh"
THREADS=${BENCH_THREADS:-1}
DURATION=${BENCH_DURATION:-10}
GEN=${BENCH_GEN:-20000}
CARDS=${BENCH_CARDS:-2500}
CONFIRMS=${BENCH_CONFIRMS:-30000}
JOURNAL=${BENCH_JOURNAL:-0}
BACKENDS=${BENCH_BACKENDS:-sqlite postgres}

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

run_backend() {
    BACKEND=$1
    BIN=$2
    ADMIN="$BIN/server/admin/huimin-admin"
    SERVER="$BIN/server/huimin-server"
    BENCH="$BIN/bench/bench_https"
    PREP="$BIN/bench/bench_prep"
    HGEN="$BIN/bench/huimin-gen"
    conf_set() {
        awk -v sec="[$2]" -v key="$3" -v val="$4" '
            function emit() { if (insec && !done) { print key " = " val; done = 1 } }
            /^\[/ { emit(); insec = ($0 == sec) }
            insec && $0 ~ "^[ \t]*" key "[ \t]*=" { print key " = " val; done = 1; next }
            { print }
            END { if (!done) { if (!insec) print sec; print key " = " val } }' "$1" >"$1.new" && mv "$1.new" "$1"
    }
    work=$(mktemp -d "$BIN/bench-benefits.XXXXXX") || exit 2
    SERVER_PID=
    stop_server() {
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
    }
    cleanup() {
        stop_server
        [ -n "${BENCH_KEEP:-}" ] || rm -rf "$work"
    }
    trap cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    setup_fail() {
        echo "$BACKEND: set-up failed: $*"
        [ -f "$work/server.log" ] && tail -5 "$work/server.log"
        exit 2
    }
    note() { echo "$BACKEND: $*  ($(date +%T))" >&2; }
    # The server's CPU time so far (user + system, clock ticks): per answer it says what a
    # request costs, which varies far less than the rate when other work shares the machine.
    cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$SERVER_PID/stat" 2>/dev/null || echo 0; }
    TCK=$(getconf CLK_TCK)

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
    conf_set "$C" session nonce_ttl 3600
    conf_set "$C" session session_ttl 3600
    [ -z "${BENCH_HANDLERS:-}" ] || conf_set "$C" server handler_threads "$BENCH_HANDLERS"
    out=$("$ADMIN" enroll-kiosk --dir "$D" --id kiosk-bench --name "bench kiosk" --office bench 2>&1) ||
        setup_fail "huimin-admin enroll-kiosk: $out"
    K="$D/kiosks/kiosk-bench"
    out=$("$ADMIN" import programmes --dir "$D" --file "$SRC/fixtures/deploy/programmes.csv" 2>&1) ||
        setup_fail "import programmes: $out"
    note "huimin-gen --residents $GEN"
    out=$("$HGEN" --dir "$D" --residents "$GEN" 2>&1) || setup_fail "huimin-gen: $out"

    sql() {
        if [ "$BACKEND" = postgres ]; then
            psql -X -q -t -A -F "	" "$HUIMIN_PG_CONNINFO" -c "$1"
        else
            sqlite3 -separator "	" "$D/huimin.db" "$1"
        fi
    }
    # The residents with a card number and paid payments (status 2), most paid first.
    sql "SELECT r.welfare_no, r.name FROM residents r JOIN entitlements e ON e.resident_id = r.id
         JOIN payments py ON py.entitlement_id = e.id
         WHERE py.status = 2 AND r.welfare_no IS NOT NULL AND r.id LIKE 'G%'
         GROUP BY r.welfare_no, r.name ORDER BY COUNT(*) DESC, r.welfare_no LIMIT $CARDS" \
        >"$work/residents.tsv" || setup_fail "no residents"
    nres=$(wc -l <"$work/residents.tsv")
    [ "$nres" -gt 0 ] || setup_fail "no resident with paid payments"
    mkdir "$work/cards"
    note "making $nres x 2 software cards"
    "$PREP" cards --ca "$D/pki/issuer-ca.pem" --ca-key "$D/pki/issuer-ca.key" --org "惠民 bench" \
        --out "$work/cards" --serial-base 700000 <"$work/residents.tsv" || setup_fail "bench_prep cards"
    note "registering $nres 9E cards"
    cut -f1 "$work/residents.tsv" | while read -r w; do
        "$ADMIN" register-card --dir "$D" --cert "$work/cards/$w.9e.pem" >/dev/null 2>>"$work/reg.err" ||
            echo "$w" >>"$work/reg.fail"
    done
    [ ! -s "$work/reg.fail" ] || setup_fail "register-card: $(head -3 "$work/reg.err")"

    ${BENCH_SERVER_ENV:-} "$SERVER" --config "$C" --port-file "$work/ports" 2>>"$work/server.log" &
    SERVER_PID=$!
    i=0
    while [ ! -s "$work/ports" ]; do
        if ! kill -0 "$SERVER_PID" 2>/dev/null; then
            SERVER_PID=
            setup_fail "the server did not start"
        fi
        i=$((i + 1))
        [ $i -lt 200 ] || setup_fail "the server did not listen within 20 s"
        sleep 0.1
    done
    PORT=$(sed -n 1p "$work/ports")
    URL="https://127.0.0.1:$PORT"
    TLS="--cert $K/kiosk.pem --key $K/kiosk.key --cacert $K/server-ca.pem"

    # fetch PURPOSE COUNT OUT: COUNT nonces, one a line.
    fetch() {
        printf '{"purpose":"%s"}' "$1" >"$work/np.json"
        # shellcheck disable=SC2086
        "$BENCH" --url "$URL/v1/nonces" $TLS --method POST --body-file "$work/np.json" \
            --content-type application/json --expect-status 201 --connections 32 \
            --requests "$2" --duration 120 --responses-file "$work/np.out" >"$work/np.log" ||
            setup_fail "fetching $1 nonces: $(cat "$work/np.log")"
        "$PREP" jws-field nonce <"$work/np.out" >"$3" || setup_fail "nonce answers"
        [ "$(wc -l <"$3")" = "$2" ] || setup_fail "$(wc -l <"$3") $1 nonces, not $2"
    }
    note "opening $nres card sessions"
    fetch card-session "$nres" "$work/cs-nonces"
    cut -f1 "$work/residents.tsv" | paste - "$work/cs-nonces" |
        "$PREP" session-bodies --cards "$work/cards" >"$work/cs-bodies" || setup_fail "session bodies"
    # shellcheck disable=SC2086
    "$BENCH" --url "$URL/v1/card-sessions" $TLS --method POST --bodies-file "$work/cs-bodies" \
        --expect-status 201 --connections 32 --duration 120 --responses-file "$work/cs.out" \
        >"$work/cs.log" || setup_fail "card sessions: $(cat "$work/cs.log")"
    "$PREP" jws-field welfare_no session <"$work/cs.out" | sort >"$work/sessions.tsv" ||
        setup_fail "session answers"
    [ "$(wc -l <"$work/sessions.tsv")" = "$nres" ] || setup_fail "not $nres sessions"

    # Every paid payment of those residents (at most CONFIRMS), with its resident's session.
    sql "SELECT r.welfare_no, py.id, py.amount_fen, py.period FROM payments py
         JOIN entitlements e ON e.id = py.entitlement_id JOIN residents r ON r.id = e.resident_id
         WHERE py.status = 2 AND r.welfare_no IS NOT NULL AND r.id LIKE 'G%'" |
        sort >"$work/paid-all.tsv"
    join -t "	" "$work/sessions.tsv" "$work/paid-all.tsv" | head -n "$CONFIRMS" >"$work/paid.tsv"
    npay=$(wc -l <"$work/paid.tsv")
    [ "$npay" -gt 0 ] || setup_fail "no paid payments of the card holders"
    note "fetching $npay confirm nonces"
    fetch confirm "$npay" "$work/cf-nonces"
    note "signing $npay statements"
    # W SESSION NONCE PAYMENT AMOUNT PERIOD, each resident's card loaded once a line when it
    # changes; then the bodies shuffled, the same way each run (awk's rand with a fixed seed),
    # so that one resident's payments are not confirmed in a burst: a card signs one statement
    # at a time, at one kiosk. (shuf --random-source=/dev/zero, used before, leaves the order
    # as it is, and twelve confirmations of one card arrived together.)
    paste "$work/paid.tsv" "$work/cf-nonces" |
        awk -F "	" -v OFS="	" -v j="$JOURNAL" '{ print $1, (j == 1 ? "null" : $2), $6, $3, $4, $5 }' |
        "$PREP" confirm-bodies --cards "$work/cards" --kiosk kiosk-bench |
        awk 'BEGIN { srand(20261202) } { printf "%.9f\t%s\n", rand(), $0 }' | sort -k1,1 | cut -f2- \
        >"$work/cf-bodies" || setup_fail "confirmation bodies"
    [ "$(wc -l <"$work/cf-bodies")" = "$npay" ] || setup_fail "not $npay confirmation bodies"
    before=$(sql "SELECT COUNT(*) FROM confirmations")
    # The status run asks for every card holder's status in turn (not one resident's again
    # and again): each answer is read from the database, written and signed afresh.
    cut -f2 "$work/sessions.tsv" | awk '{ printf "{\"session\":\"%s\"}\n", $1 }' >"$work/status.bodies"

    status=0
    report() { # NAME TARGET CONNS JSON
        rj=$4
        get() { printf '%s' "$rj" | sed -n "s/.*\"$1\":\([0-9.]*\).*/\1/p"; }
        rps=$(get rps) errors=$(get total) reconnects=$(get reconnects)
        verdict=MET why=
        if [ -z "$rps" ]; then
            verdict="NOT MET" why=" (no result)"
            rps=0
        elif ! awk -v r="$rps" -v t="$2" 'BEGIN { exit !(r >= t) }'; then
            verdict="NOT MET" why=" (too slow)"
        fi
        if [ -n "$errors" ] && [ "$errors" != 0 ]; then
            verdict="NOT MET" why=" ($errors errors: $(printf '%s' "$rj" | sed -n 's/.*"status":{\([^}]*\)}.*/\1/p'))"
        elif [ -n "$reconnects" ] && [ "$reconnects" != 0 ]; then
            verdict="NOT MET" why=" (keep-alive broke: $reconnects reconnects)"
        fi
        cpu=$(awk -v t="$((CPU1 - CPU0))" -v n="$(get ok)" -v hz="$TCK" \
            'BEGIN { if (n > 0) printf "%.0f", t * 1e6 / hz / n; else print "?" }')
        # The load generator's CPU (the children's line of the subshell's times).
        ccpu=$(awk -v n="$(get ok)" 'function s(t) { split(t, a, "m"); sub("s", "", a[2]); return a[1] * 60 + a[2] }
            NR == 2 { if (n > 0) printf "%.0f", (s($1) + s($2)) * 1e6 / n; else print "?" }' "$work/times" 2>/dev/null)
        printf '%-8s %-22s %3s conns: %8.0f/s (target >= %s) n %s  p50 %s p95 %s p99 %s max %s ms  server CPU %s us/answer (client %s)  %s%s\n' \
            "$BACKEND" "$1" "$3" "$rps" "$2" "$(get ok)" "$(get p50)" "$(get p95)" "$(get p99)" \
            "$(get max)" "$cpu" "${ccpu:-?}" "$verdict" "$why"
        [ "$verdict" = MET ] || status=1
    }
    # perf record / perf stat of the run BENCH_PROBE_RUN names (status or confirm).
    probe_start() {
        PERF_PID= STAT_PID=
        [ "${BENCH_PROBE_RUN:-confirm}" = "$1" ] || return 0
        if [ -n "${BENCH_PERF:-}" ]; then
            perf record --call-graph dwarf,16384 -F "${BENCH_PERF_FREQ:-300}" -o "$work/perf.data" -p "$SERVER_PID" -- sleep 8 >/dev/null 2>&1 &
            PERF_PID=$!
        fi
        if [ -n "${BENCH_SYSCALLS:-}" ]; then
            perf stat -x, -e context-switches,syscalls:sys_enter_fdatasync,syscalls:sys_enter_pread64,syscalls:sys_enter_pwrite64,syscalls:sys_enter_futex,syscalls:sys_enter_read,syscalls:sys_enter_write,syscalls:sys_enter_epoll_wait,syscalls:sys_enter_sendto,syscalls:sys_enter_recvfrom,syscalls:sys_enter_poll \
                -o "$work/perf-stat.csv" -p "$SERVER_PID" -- sleep 5 >/dev/null 2>&1 &
            STAT_PID=$!
        fi
    }
    probe_end() {
        [ -z "$PERF_PID" ] || wait "$PERF_PID"
        if [ -n "$STAT_PID" ]; then
            wait "$STAT_PID"
            # Events in the first 5 s of the run, per answer at the run's rate.
            awk -F, -v b="$BACKEND" -v r="$rps" '$1 ~ /^[0-9]+$/ { printf "%s: %-36s %8.2f an answer\n", b, $3, $1 / (r * 5) }' "$work/perf-stat.csv"
        fi
        PERF_PID= STAT_PID=
    }
    note "status run"
    probe_start status
    CPU0=$(cpu_ticks)
    # shellcheck disable=SC2086
    json=$(timeout $((DURATION + 30)) "$BENCH" --url "$URL/v1/status" $TLS --method POST \
        --bodies-file "$work/status.bodies" --cycle --content-type application/json --expect-status 200 \
        --connections 64 --threads "$THREADS" --duration "$DURATION" --json 2>/dev/null; times >"$work/times")
    CPU1=$(cpu_ticks)
    report "signed status answers" 12000 64 "$json"
    probe_end
    probe_start confirm
    note "confirmation run ($npay bodies)"
    CPU0=$(cpu_ticks)
    # shellcheck disable=SC2086
    json=$(timeout 150 "$BENCH" --url "$URL/v1/confirmations" $TLS --method POST \
        --bodies-file "$work/cf-bodies" --expect-status 201 --connections 128 \
        --threads "$THREADS" --duration 120 --json 2>/dev/null; times >"$work/times")
    CPU1=$(cpu_ticks)
    mode=live
    [ "$JOURNAL" != 1 ] || mode=journal
    report "confirmations ($mode)" 8000 128 "$json"
    probe_end
    # How often a card certificate was found verified (the rest were verified in full).
    OPS=$(sed -n 2p "$work/ports")
    [ -z "$OPS" ] || curl -s "http://127.0.0.1:$OPS/metrics" |
        awk -v b="$BACKEND" '/^huimin_certcache_(hits|misses)_total/ { sub("huimin_certcache_", ""); sub("_total", ""); m = m " " $1 " " $2 }
            /^huimin_storage_writes_total/ { w = $2 } /^huimin_storage_commits_total/ { c = $2 }
            /^huimin_storage_commit_seconds_total/ { s = $2 }
            END { if (m != "") print b ": certificate cache since start:" m
                  if (c > 0) printf "%s: storage since start: %d writes in %d commits (%.1f a commit, %.0f us a commit)\n", b, w, c, w / c, s * 1e6 / c }'
    [ -z "${BENCH_PERF:-}" ] || cp "$work/perf.data" "${BENCH_PERF}.$BACKEND.data"
    [ -z "${BENCH_PERF:-}" ] || perf report -i "$work/perf.data" ${BENCH_PERF_ARGS:---children --sort sym} --stdio -g none \
        --percent-limit 1 2>/dev/null | grep -v "^$" | head -150 >"${BENCH_PERF}.$BACKEND.txt"
    ok=$(printf '%s' "$json" | sed -n 's/.*"ok":\([0-9]*\).*/\1/p')
    after=$(sql "SELECT COUNT(*) FROM confirmations")
    confirmed=$(sql "SELECT COUNT(*) FROM confirmations WHERE kiosk_id = 'kiosk-bench'")
    if [ $((after - before)) = "${ok:-x}" ] && [ "$confirmed" = "$ok" ]; then
        echo "$BACKEND: database: $((after - before)) new confirmations = $ok answers 201"
    else
        echo "$BACKEND: database: $((after - before)) new confirmations but $ok answers 201  FAILED"
        status=1
    fi
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
        echo "$BACKEND: the server died during the runs:"
        tail -5 "$work/server.log"
        SERVER_PID=
        status=1
    fi
    stop_server
    if out=$("$ADMIN" audit verify --dir "$D" 2>&1); then
        echo "$BACKEND: audit verify: $(printf '%s' "$out" | tail -1)"
    else
        echo "$BACKEND: audit verify FAILED: $out"
        status=1
    fi
    exit $status
}

if [ "${1:-}" = --run ]; then
    run_backend "$2" "$3"
fi

BIN=$(resolve_build "${1:-}")
missing=
for f in server/admin/huimin-admin server/huimin-server bench/bench_https bench/bench_prep bench/huimin-gen; do
    [ -x "$BIN/$f" ] || missing="$missing $f"
done
if [ -n "$missing" ]; then
    echo "bench_benefits: not built in $BIN:$missing" >&2
    exit 2
fi
[ "$(nproc)" = 2 ] || echo "bench_benefits: note: the targets are for a 2-core machine; this one has $(nproc)"
overall=0
for b in $BACKENDS; do
    if [ "$b" = sqlite ]; then
        timeout -k 5 600 sh "$SELF" --run sqlite "$BIN"
    else
        timeout -k 5 600 sh "$SRC/scripts/pg-harness.sh" -- sh "$SELF" --run postgres "$BIN"
    fi
    st=$?
    case $st in
    0) ;;
    124 | 137) echo "$b: timed out"; overall=1 ;;
    *) [ $overall -ne 0 ] || overall=$st ;;
    esac
done
exit $overall
