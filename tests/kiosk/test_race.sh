#!/bin/sh
# Two kiosks confirming the same payment at the same moment produce exactly
# one confirmation, through the real pcscd: two blank virtual PIV cards both
# issued as 张秀英's welfare card (reader 0 and reader 1), a deployment with
# the demo data on SQLite or PostgreSQL, both cards' 9E certificates
# registered, kiosk-a and kiosk-b enrolled (each with its own journal) and
# huimin-server running. For each of her paid payments, huimin-client confirm
# runs as kiosk-a (reader 0) and kiosk-b (reader 1) at once; then the server
# has exactly one confirmation, the payment is confirmed, one client got the
# receipt and the other the same receipt or already_confirmed naming it.
# Usage: test_race.sh [sqlite|postgres]
# (postgres needs HUIMIN_PG_CONNINFO, as scripts/pg-harness.sh sets it).
set -u
. "${HUIMIN_SOURCE_DIR:?run under ctest}/tests/server/lib/server-lib.sh"
HI="$BIN/tools/huimin-issue"
HC="$BIN/tools/huimin-card"
KC="$BIN/kiosk/client/huimin-client"

if [ "${1:-}" != inner ]; then
    BACKEND=${1:-sqlite}
    case "$BACKEND" in
    sqlite) ;;
    postgres) : "${HUIMIN_PG_CONNINFO:?no PostgreSQL (run under scripts/pg-harness.sh)}" ;;
    *) fail "usage: test_race.sh [sqlite|postgres]" ;;
    esac
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    cp "$SRC/fixtures/cards/piv-blank.json" "$work/card0.json"
    cp "$SRC/fixtures/cards/piv-blank.json" "$work/card1.json"
    export WORK="$work" BACKEND
    "$BIN/tools/huimin-rig" --card "$work/card0.json" --card "$work/card1.json" -- "$0" inner
    exit $?
fi

SERVER_PID=
trap '[ -n "$SERVER_PID" ] && kill -9 "$SERVER_PID" 2>/dev/null' EXIT
D="$WORK/deploy"
demo_deployment "$D" "$BACKEND"
for k in a b; do
    "$ADMIN" enroll-kiosk --dir "$D" --id kiosk-$k --name "富川 $k 号机" --office fc-01 >/dev/null ||
        fail "enroll-kiosk kiosk-$k"
    for f in kiosk.pem kiosk.key server-ca.pem signing.pem; do
        [ -s "$D/kiosks/kiosk-$k/$f" ] || fail "enroll-kiosk made no $D/kiosks/kiosk-$k/$f"
    done
done
readers=$("$HC" readers) || fail "huimin-card readers: $readers"
R0=$(echo "$readers" | sed -n 's/^0: //p')
R1=$(echo "$readers" | sed -n 's/^1: //p')
if [ -z "$R0" ] || [ -z "$R1" ]; then fail "not two readers: $readers"; fi
PIN0=135790
PIN1=246801
out=$("$HI" card --dir "$D/pki" --reader "$R0" --name "张秀英" --welfare-no WF3301060000123 \
    --pin $PIN0) || fail "issuance (张秀英, card 0): $out"
out=$("$HI" card --dir "$D/pki" --reader "$R1" --name "张秀英" --welfare-no WF3301060000123 \
    --pin $PIN1) || fail "issuance (张秀英, card 1): $out"
for r in 0 1; do
    "$HC" cert --reader $r --key 9e --out "$WORK/9e-$r.pem" >/dev/null ||
        fail "huimin-card cert --reader $r --key 9e"
    out=$("$ADMIN" register-card --dir "$D" --cert "$WORK/9e-$r.pem" 2>&1) ||
        fail "register-card $r: $out"
done
echo "deployment ready ($BACKEND): data imported, two cards of 张秀英 issued and registered, two kiosks enrolled"

start_server "$D"
[ -s "$D/pki/issuer-ca.pem" ] || fail "no issuer CA in $D/pki"
for k in a b; do
    cat >"$D/kiosks/kiosk-$k/client.conf" <<CONF
# huimin-client's configuration for kiosk-$k (paths relative to this file)
server = https://localhost:$PORT
cert = kiosk.pem
key = kiosk.key
cacert = server-ca.pem
signing_cert = signing.pem
kiosk = kiosk-$k
journal = journal.db
issuer_ca = ../../pki/issuer-ca.pem
CONF
done
# kcx KIOSK CMD ARGS...: huimin-client as kiosk-KIOSK.
kcx() {
    k=$1 cmd=$2; shift 2
    "$KC" "$cmd" --config "$D/kiosks/kiosk-$k/client.conf" --server "https://localhost:$PORT" "$@"
}
# sql Q: one query on the server's database.
sql() {
    if [ "$BACKEND" = postgres ]; then
        psql "$HUIMIN_PG_CONNINFO" -XtAq -c "$1"
    else
        sqlite3 "$D/huimin.db" "$1"
    fi
}
count() { sql "SELECT count(*) FROM confirmations WHERE payment_id = '$1'"; }
status() { sql "SELECT status FROM payments WHERE id = '$1'"; }
token_of() { sed -n 's/.*"token":"\([A-Za-z0-9_.-]*\)".*/\1/p' "$1"; }
receipt_of() { sed -n 's/.*"receipt":"\([A-Za-z0-9_-]*\)".*/\1/p' "$1"; }

# --- the race: each round one of her paid payments, both kiosks at once ------------
PAYMENTS=$(awk -F, '$2 ~ /^E00000[12]$/ && $8 == "paid" { print $1 }' \
    "$SRC/fixtures/deploy/payments.csv")
n=$(echo "$PAYMENTS" | wc -l)
[ "$n" -ge 6 ] || fail "fewer than 6 paid payments of 张秀英 in the fixtures: $PAYMENTS"
for p in $PAYMENTS; do
    [ "$(count "$p")" = 0 ] || fail "$p is confirmed before the race"
    [ "$(status "$p")" = 2 ] || fail "$p is not paid before the race: $(status "$p")"
done
rounds=0 both=0 refused=0
for p in $PAYMENTS; do
    a="$WORK/$p-a" b="$WORK/$p-b"
    kcx a confirm --payment "$p" --reader 0 --pin $PIN0 --json --verbose >"$a.out" 2>"$a.err" &
    pa=$!
    kcx b confirm --payment "$p" --reader 1 --pin $PIN1 --json --verbose >"$b.out" 2>"$b.err" &
    pb=$!
    wait $pa; ea=$?
    wait $pb; eb=$?
    what="$p: kiosk-a exit $ea: $(cat "$a.out" "$a.err"); kiosk-b exit $eb: $(cat "$b.out" "$b.err")"
    c=$(count "$p")
    [ "$c" = 1 ] || fail "$c confirmations of $p after the race; $what"
    [ "$(status "$p")" = 3 ] || fail "$p is not confirmed (status $(status "$p")); $what"
    if [ $ea -eq 0 ] && [ $eb -eq 0 ]; then
        ta=$(token_of "$a.out") tb=$(token_of "$b.out")
        [ -n "$ta" ] && [ "$ta" = "$tb" ] || fail "two different receipts; $what"
        both=$((both + 1))
        res="both: the same receipt $(receipt_of "$a.out")"
    else
        [ $ea -eq 0 ] || [ $eb -eq 0 ] || fail "neither client got a receipt; $what"
        if [ $ea -eq 0 ]; then win=a lose=b el=$eb; else win=b lose=a el=$ea; fi
        [ $el -eq 3 ] || fail "kiosk-$lose exit $el, not 3 (refused); $what"
        # (not w or l: jws_verify_openssl sets w)
        wf="$WORK/$p-$win" lf="$WORK/$p-$lose"
        t=$(token_of "$wf.out")
        [ -n "$t" ] || fail "kiosk-$win exit 0 without a receipt; $what"
        jws_verify_openssl "$t" "$D/kiosks/kiosk-$win/signing.pem" ||
            fail "kiosk-$win's receipt does not verify with openssl; $what"
        grep -q "(server code already_confirmed," "$lf.err" ||
            fail "kiosk-$lose refused without already_confirmed; $what"
        grep -qF -- "$t" "$lf.err" || fail "kiosk-$lose's already_confirmed names another receipt; $what"
        refused=$((refused + 1))
        res="kiosk-$win got receipt $(receipt_of "$wf.out"), kiosk-$lose already_confirmed"
    fi
    rounds=$((rounds + 1))
    echo "round $rounds, $p: one confirmation; $res"
done
echo "$rounds rounds: exactly one confirmation each ($refused already_confirmed, $both the same receipt twice)"

stop_server
"$ADMIN" audit verify --dir "$D" >/dev/null || fail "audit verify"
echo "PASS: two kiosks racing on the same payment"
