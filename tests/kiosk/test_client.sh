#!/bin/sh
# The kiosk client end to end through the real pcscd: two blank virtual PIV
# cards issued as 张秀英's (reader 0) and 王建国's (reader 1, tap-only)
# welfare cards, a deployment with the demo data on SQLite or PostgreSQL, the
# cards' 9E certificates registered, a kiosk enrolled and huimin-server
# running. huimin-client shows her status (verified; an answer altered in
# transit or signed by another key is refused), confirms a payment with the
# PIN (a receipt that huimin-verify and openssl verify, as text and from its
# QR code; again: the same receipt), is refused another resident's payment, a
# payment not yet paid, a statement altered after signing and a tap without
# the PIN for her, confirms his payment with a tap, refuses a wrong PIN
# without sending anything, and keeps a confirmation signed while "the
# network failed" in its journal across restarts until 'sync' delivers it
# exactly once.
# Usage: test_client.sh [sqlite|postgres]
# (postgres needs HUIMIN_PG_CONNINFO, as scripts/pg-harness.sh sets it).
set -u
. "${HUIMIN_SOURCE_DIR:?run under ctest}/tests/server/lib/server-lib.sh"
HI="$BIN/tools/huimin-issue"
HC="$BIN/tools/huimin-card"
HV="$BIN/tools/huimin-verify"
KC="$BIN/kiosk/client/huimin-client"

if [ "${1:-}" != inner ]; then
    BACKEND=${1:-sqlite}
    case "$BACKEND" in
    sqlite) ;;
    postgres) : "${HUIMIN_PG_CONNINFO:?no PostgreSQL (run under scripts/pg-harness.sh)}" ;;
    *) fail "usage: test_client.sh [sqlite|postgres]" ;;
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
K="$D/kiosks/kiosk-a"
demo_deployment "$D" "$BACKEND"
"$ADMIN" enroll-kiosk --dir "$D" --id kiosk-a --name "富川 1号机" --office fc-01 >/dev/null ||
    fail "enroll-kiosk"
for f in kiosk.pem kiosk.key server-ca.pem signing.pem; do
    [ -s "$K/$f" ] || fail "enroll-kiosk made no $K/$f"
done
readers=$("$HC" readers) || fail "huimin-card readers: $readers"
R0=$(echo "$readers" | sed -n 's/^0: //p')
R1=$(echo "$readers" | sed -n 's/^1: //p')
if [ -z "$R0" ] || [ -z "$R1" ]; then fail "not two readers: $readers"; fi
out=$("$HI" card --dir "$D/pki" --reader "$R0" --name "张秀英" --welfare-no WF3301060000123 \
    --pin 135790) || fail "issuance (张秀英): $out"
out=$("$HI" card --dir "$D/pki" --reader "$R1" --name "王建国" --welfare-no WF3301060000456 \
    --pin 246801) || fail "issuance (王建国): $out"
for r in 0 1; do
    "$HC" cert --reader $r --key 9e --out "$WORK/9e-$r.pem" >/dev/null ||
        fail "huimin-card cert --reader $r --key 9e"
    out=$("$ADMIN" register-card --dir "$D" --cert "$WORK/9e-$r.pem" 2>&1) ||
        fail "register-card $r: $out"
done
echo "deployment ready ($BACKEND): data imported, two cards issued and registered, kiosk enrolled"

start_server "$D"
cat >"$K/client.conf" <<CONF
# huimin-client's configuration for kiosk-a (paths relative to this file)
server = https://localhost:$PORT
cert = kiosk.pem
key = kiosk.key
cacert = server-ca.pem
signing_cert = signing.pem
kiosk = kiosk-a
journal = journal.db
issuer_ca = ../../pki/issuer-ca.pem
CONF
[ -s "$D/pki/issuer-ca.pem" ] || fail "no issuer CA in $D/pki"
kcx() { cmd=$1; shift; "$KC" "$cmd" --config "$K/client.conf" --server "https://localhost:$PORT" "$@"; }
# count P: the server's confirmations of payment P.
count() {
    q="SELECT count(*) FROM confirmations WHERE payment_id = '$1'"
    if [ "$BACKEND" = postgres ]; then
        psql "$HUIMIN_PG_CONNINFO" -XtAq -c "$q"
    else
        sqlite3 "$D/huimin.db" "$q"
    fi
}
# zh OUT: the server's Chinese message in a refusal huimin-client printed (two lines above
# its code).
zh() { echo "$1" | grep -B2 "(server code " | head -1 | sed 's/^ *//'; }
# refused OUT CODE: exit 3 was checked; OUT names CODE and shows the server's Chinese message.
refused() {
    echo "$1" | grep -q "(server code $2," || fail "not refused with $2: $1"
    zh "$1" | LC_ALL=C grep -q '[^ -~]' || fail "no Chinese message for $2: $1"
}

# --- status --------------------------------------------------------------------
out=$(kcx status 2>&1) || fail "status: $out"
echo "$out" | grep -q "张秀英" || fail "status does not name her: $out"
echo "$out" | grep -q "城市最低生活保障" || fail "status shows no entitlement: $out"
echo "$out" | grep -q "P-E000001-202611" || fail "status shows no payment: $out"
echo "$out" | grep -q "verified" || fail "status not verified: $out"
out=$(kcx status --json 2>&1) || fail "status --json: $out"
echo "$out" | grep -q '"verified":true' || fail "status --json: $out"
echo "$out" | grep -q '"awaiting_confirmation":\[[^]]*"P-E000001-202611"' ||
    fail "P-E000001-202611 is not awaiting confirmation: $out"
echo "$out" | grep -q "110102195603120025" && fail "the status shows a full citizen ID"
echo "status: 张秀英's entitlements and payments, signed and verified"

# An answer that does not verify with the pinned signing certificate is refused.
out=$(kcx status --signing-cert "$K/kiosk.pem" 2>&1)
[ $? -eq 4 ] || fail "an answer signed by another key was accepted: $out"
echo "$out" | grep -qi "signature" || fail "no reason for the refusal: $out"
echo "answers signed by another key: refused (exit 4)"

# A status answer altered in transit (one byte of the JWS payload) is refused.
out=$(HUIMIN_CLIENT_TEST_TAMPER_ANSWER=/v1/status kcx status 2>&1)
[ $? -eq 4 ] || fail "an altered status answer was accepted: $out"
echo "$out" | grep -qi "signature" || fail "no reason for the refusal: $out"
echo "$out" | grep -q "城市最低生活保障" && fail "the altered status was shown: $out"
echo "a status altered in transit: refused (exit 4)"

# --- confirm with the PIN -------------------------------------------------------
out=$(kcx confirm --payment P-E000001-202611 --pin 135790 --json 2>&1) || fail "confirm: $out"
receipt=$(echo "$out" | sed -n 's/.*"receipt":"\([A-Za-z0-9_-]*\)".*/\1/p')
[ -n "$receipt" ] || fail "no receipt: $out"
echo "$out" | grep -q '"proof":"pin"' || fail "receipt proof: $out"
token=$(echo "$out" | sed -n 's/.*"token":"\([A-Za-z0-9_.-]*\)".*/\1/p')
jws_verify_openssl "$token" "$K/signing.pem" || fail "the receipt does not verify with openssl"
[ "$(count P-E000001-202611)" = 1 ] || fail "the server has no confirmation"
echo "confirm with the PIN: receipt $receipt (verified with openssl too)"

# huimin-verify, as text and from a PNG of its QR code; an altered receipt is not genuine.
hv() { "$HV" --cert "$K/signing.pem" --ca "$D/pki/root-ca.pem" "$@"; }
for how in text png; do
    if [ $how = png ]; then
        qrencode -o "$WORK/r.png" "$token" || fail "qrencode"
        out=$(hv --png "$WORK/r.png" 2>&1)
    else
        out=$(hv "$token" 2>&1)
    fi
    [ $? -eq 0 ] || fail "huimin-verify ($how) does not verify the receipt: $out"
    echo "$out" | grep -q "750.00" || fail "huimin-verify ($how) names no amount in yuan: $out"
    echo "$out" | grep -q "WF3\*\{8\}0123" || fail "huimin-verify ($how): no masked number: $out"
    echo "$out" | grep -q "WF3301060000123" && fail "huimin-verify ($how) shows the number: $out"
    echo "$out" | grep -qF -- "$receipt" || fail "huimin-verify ($how) names another receipt: $out"
done
p2=$(printf '%s' "$token" | cut -d. -f2)
c=$(printf '%s' "$p2" | cut -c5)
[ "$c" = B ] && n=C || n=B
bad="$(printf '%s' "$token" | cut -d. -f1).$(printf '%s' "$p2" | cut -c1-4)$n$(printf '%s' "$p2" |
    cut -c6-).$(printf '%s' "$token" | cut -d. -f3)"
out=$(hv "$bad" 2>&1)
[ $? -eq 4 ] || fail "huimin-verify accepted an altered receipt: $out"
jws_verify_openssl "$bad" "$K/signing.pem" && fail "openssl accepted an altered receipt"
echo "huimin-verify: the receipt verifies as text and from its QR code; altered: exit 4"

out=$(kcx confirm --payment P-E000001-202611 --pin 135790 --json 2>&1) || fail "confirm again: $out"
echo "$out" | grep -q "\"receipt\":\"$receipt\"" || fail "again: another receipt: $out"
echo "$out" | grep -q '"again":true' || fail "again: not reported as a repeat: $out"
[ "$(count P-E000001-202611)" = 1 ] || fail "the server has two confirmations"
echo "confirm again: the same receipt, still one confirmation on the server"

# Another journal (a new statement) for the confirmed payment: refused, with the stored receipt.
out=$(kcx confirm --payment P-E000001-202611 --pin 135790 --journal "$WORK/other.db" 2>&1)
[ $? -eq 3 ] || fail "a second statement for a confirmed payment was not refused: $out"
echo "$out" | grep -q "already_confirmed" || fail "no already_confirmed: $out"
echo "$out" | grep -qF -- "$receipt" || fail "the stored receipt is not shown: $out"
echo "a different statement for a confirmed payment: already_confirmed, receipt $receipt"

# A receipt altered in transit: refused (exit 4), the entry stays pending; the
# next attempt gets the very same receipt and the server still has one.
out=$(HUIMIN_CLIENT_TEST_TAMPER_ANSWER=/v1/confirmations kcx confirm --payment P-E000002-202610 \
    --pin 135790 2>&1)
[ $? -eq 4 ] || fail "an altered receipt was accepted: $out"
kcx journal | grep -q "pending.*P-E000002-202610" || fail "not kept pending: $(kcx journal)"
[ "$(count P-E000002-202610)" = 1 ] || fail "the server did not record it"
out=$(kcx confirm --payment P-E000002-202610 --pin 135790 --json 2>&1) || fail "after: $out"
echo "$out" | grep -q '"again":true' || fail "after an altered receipt: not the stored one: $out"
t2=$(echo "$out" | sed -n 's/.*"token":"\([A-Za-z0-9_.-]*\)".*/\1/p')
jws_verify_openssl "$t2" "$K/signing.pem" || fail "the receipt does not verify with openssl"
kcx journal | grep -q "delivered.*P-E000002-202610" || fail "not delivered: $(kcx journal)"
[ "$(count P-E000002-202610)" = 1 ] || fail "two confirmations of P-E000002-202610"
echo "a receipt altered in transit: refused (exit 4); the retry got the stored receipt"

# --- refusals with a reason -------------------------------------------------------
# 王建国's payment while 张秀英's card is on the reader.
out=$(kcx confirm --payment P-E000004-202611 --amount-fen 8000 --period 2026-11 --pin 135790 2>&1)
[ $? -eq 3 ] || fail "another resident's payment: $out"
refused "$out" payment_not_yours
[ "$(count P-E000004-202611)" = 0 ] || fail "another resident's payment was confirmed"
kcx journal | grep -q "refused.*P-E000004-202611" || fail "not refused in the journal: $(kcx journal)"
echo "another resident's payment: payment_not_yours: $(zh "$out")"

# A scheduled payment, not yet paid.
out=$(kcx confirm --payment P-E000001-202612 --pin 135790 2>&1)
[ $? -eq 3 ] || fail "a payment not yet paid: $out"
refused "$out" payment_not_paid
[ "$(count P-E000001-202612)" = 0 ] || fail "a scheduled payment was confirmed"
echo "a payment not yet paid: payment_not_paid: $(zh "$out")"

# A statement altered after the card signed it: refused for good, not pending forever.
out=$(HUIMIN_CLIENT_TEST_ALTER=1 kcx confirm --payment P-E000002-202609 --pin 135790 2>&1)
[ $? -eq 3 ] || fail "an altered statement: $out"
case "$out" in
*"server code signature_invalid"* | *"server code statement_invalid"*) ;;
*) fail "an altered statement was not refused as invalid: $out" ;;
esac
zh "$out" | LC_ALL=C grep -q '[^ -~]' || fail "no Chinese message: $out"
kcx journal | grep -q "refused.*P-E000002-202609" || fail "not refused in the journal: $(kcx journal)"
kcx journal | grep -q "pending.*P-E000002-202609" && fail "left pending: $(kcx journal)"
[ "$(count P-E000002-202609)" = 0 ] || fail "an altered statement was confirmed"
echo "a statement altered after signing: $(echo "$out" | sed -n 's/.*(server code \([a-z_]*\).*/\1/p'): $(zh "$out"); marked refused"
# Then, unaltered, it is confirmed: a refused entry does not block the payment.
out=$(kcx confirm --payment P-E000002-202609 --pin 135790 --json 2>&1) || fail "after: $out"
echo "$out" | grep -q '"again":false' || fail "after the refusal: $out"
[ "$(count P-E000002-202609)" = 1 ] || fail "P-E000002-202609 not confirmed"

# --- tap-only: 王建国's card on reader 1, no PIN ------------------------------------
out=$(kcx status --reader 1 --json 2>&1) || fail "status (王建国): $out"
echo "$out" | grep -q '"tap_only":true' || fail "王建国 is not tap-only: $out"
out=$(kcx confirm --reader 1 --tap --payment P-E000003-202611 --json 2>&1 </dev/null) ||
    fail "confirm --tap (王建国): $out"
echo "$out" | grep -q '"proof":"tap"' || fail "tap receipt proof: $out"
t3=$(echo "$out" | sed -n 's/.*"token":"\([A-Za-z0-9_.-]*\)".*/\1/p')
jws_payload "$t3" | grep -q '"m":"tap"' || fail "the receipt does not say tap: $(jws_payload "$t3")"
jws_payload "$t3" | grep -q '"w":"WF3301060000456"' || fail "not his receipt: $(jws_payload "$t3")"
jws_verify_openssl "$t3" "$K/signing.pem" || fail "the tap receipt does not verify with openssl"
hv "$t3" >/dev/null || fail "huimin-verify: the tap receipt"
[ "$(count P-E000003-202611)" = 1 ] || fail "the server has no tap confirmation"
echo "tap-only 王建国: confirmed with a tap (9E, no PIN), receipt \"m\":\"tap\""
out=$(kcx confirm --tap --payment P-E000002-202611 2>&1 </dev/null)
[ $? -eq 3 ] || fail "a tap for 张秀英: $out"
refused "$out" pin_required
[ "$(count P-E000002-202611)" = 0 ] || fail "a tap confirmed 张秀英's payment"
echo "a tap for 张秀英 (not tap-only): pin_required: $(zh "$out")"

# --- a wrong PIN ------------------------------------------------------------------
out=$(kcx confirm --payment P-E000001-202609 --pin 000000 2>&1)
[ $? -eq 3 ] || fail "a wrong PIN: $out"
echo "$out" | grep -q "tries left" || fail "no tries left shown: $out"
echo "$out" | grep -q "Nothing was sent" || fail "not said that nothing was sent: $out"
kcx journal | grep -q P-E000001-202609 && fail "a wrong PIN left a journal entry"
[ "$(count P-E000001-202609)" = 0 ] || fail "a wrong PIN confirmed a payment"
echo "$out" | grep -q 135790 && fail "the PIN was printed"
echo "wrong PIN: $(echo "$out" | grep -o '[0-9]* tries left'), nothing sent"

# --- offline: the network fails after the card signed ----------------------------------
out=$(HUIMIN_CLIENT_TEST_DROP=1 "$KC" confirm --config "$K/client.conf" \
    --server "https://localhost:$PORT" --payment P-E000001-202610 2>&1 <<PIN
135790
PIN
)
[ $? -eq 2 ] || fail "a dropped confirmation did not exit 2: $out"
echo "$out" | grep -q "QUEUED" || fail "not said that it is queued: $out"
kcx journal | grep -q "pending.*P-E000001-202610" || fail "not in the journal: $(kcx journal)"
[ "$(count P-E000001-202610)" = 0 ] || fail "the dropped confirmation reached the server"
echo "offline: the signed confirmation is queued in the journal:"
echo "$out" | sed 's/^/  | /'

stop_server
out=$(kcx sync 2>&1)
[ $? -eq 2 ] || fail "sync without a server: $out"
kcx journal | grep -q "pending.*P-E000001-202610" || fail "lost after a failed sync: $(kcx journal)"
echo "sync while the server is down: still pending (exit 2)"

start_server "$D"
# A client restart (a new process) still has it; the server is back on a new port.
out=$(kcx sync --json 2>&1) || fail "sync: $out"
echo "$out" | grep -q '"delivered":1' || fail "sync did not deliver: $out"
echo "$out" | grep -q '"pending":0' || fail "sync left entries: $out"
echo "$out" | grep -q '"refused":0' || fail "sync sent refused entries again: $out"
[ "$(count P-E000001-202610)" = 1 ] || fail "the server does not have exactly one confirmation"
kcx journal | grep -q "delivered.*P-E000001-202610.*receipt" || fail "not marked: $(kcx journal)"
out=$(kcx sync --json 2>&1) || fail "sync again: $out"
echo "$out" | grep -q '"delivered":0' || fail "sync again sent something: $out"
[ "$(count P-E000001-202610)" = 1 ] || fail "two confirmations after syncing twice"
out=$(kcx status --json 2>&1) || fail "status after sync: $out"
echo "$out" | grep -q '"awaiting_confirmation":\[[^]]*"P-E000001-202610"' &&
    fail "P-E000001-202610 still awaiting after sync: $out"
echo "back online: sync delivered it exactly once; syncing again sends nothing"

# --- dispute -------------------------------------------------------------------------
out=$(kcx dispute --payment P-E000001-202609 --reason not_received 2>&1) || fail "dispute: $out"
echo "$out" | grep -q "Dispute .* opened for payment P-E000001-202609" || fail "dispute: $out"
echo "dispute: opened (verified)"

stop_server
"$ADMIN" audit verify --dir "$D" >/dev/null || fail "audit verify"
echo "PASS: kiosk client through pcscd"
