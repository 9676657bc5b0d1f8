#!/bin/sh
# The kiosk client end to end through the real pcscd: a blank virtual PIV card
# issued as 张秀英's welfare card, a deployment with the demo data, the
# card's 9E certificate registered, a kiosk enrolled and huimin-server
# running. huimin-client shows her status (verified), confirms a payment with
# the PIN (a receipt; again: the same receipt), refuses a wrong PIN without
# sending anything, and keeps a confirmation signed while "the network failed"
# in its journal across restarts until 'sync' delivers it exactly once.
set -u
. "${HUIMIN_SOURCE_DIR:?run under ctest}/tests/server/lib/server-lib.sh"
HI="$BIN/tools/huimin-issue"
HC="$BIN/tools/huimin-card"
KC="$BIN/kiosk/client/huimin-client"

if [ "${1:-}" != inner ]; then
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    cp "$SRC/fixtures/cards/piv-blank.json" "$work/card.json"
    export WORK="$work"
    "$BIN/tools/huimin-rig" --card "$work/card.json" -- "$0" inner
    exit $?
fi

SERVER_PID=
trap '[ -n "$SERVER_PID" ] && kill -9 "$SERVER_PID" 2>/dev/null' EXIT
D="$WORK/deploy"
K="$D/kiosks/kiosk-a"
out=$("$ADMIN" init --dir "$D" --name "富川瑶族自治县民政局" 2>&1) || fail "init: $out"
conf_set "$D/huimin.conf" server listen 127.0.0.1:0
for kind in programmes residents entitlements payments; do
    out=$("$ADMIN" import "$kind" --dir "$D" --file "$SRC/fixtures/deploy/$kind.csv" 2>&1) ||
        fail "import $kind: $out"
done
"$ADMIN" enroll-kiosk --dir "$D" --id kiosk-a --name "富川 1号机" --office fc-01 >/dev/null ||
    fail "enroll-kiosk"
for f in kiosk.pem kiosk.key server-ca.pem signing.pem; do
    [ -s "$K/$f" ] || fail "enroll-kiosk made no $K/$f"
done
out=$("$HI" card --dir "$D/pki" --name "张秀英" --welfare-no WF3301060000123 --pin 135790) ||
    fail "issuance: $out"
"$HC" cert --key 9e --out "$WORK/9e.pem" >/dev/null || fail "huimin-card cert --key 9e"
out=$("$ADMIN" register-card --dir "$D" --cert "$WORK/9e.pem" 2>&1) || fail "register-card: $out"
echo "deployment ready: data imported, card issued and registered, kiosk enrolled"

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
count() { sqlite3 "$D/huimin.db" "SELECT count(*) FROM confirmations WHERE payment_id = '$1'"; }

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

# --- confirm with the PIN -------------------------------------------------------
out=$(kcx confirm --payment P-E000001-202611 --pin 135790 --json 2>&1) || fail "confirm: $out"
receipt=$(echo "$out" | sed -n 's/.*"receipt":"\([A-Za-z0-9_-]*\)".*/\1/p')
[ -n "$receipt" ] || fail "no receipt: $out"
echo "$out" | grep -q '"proof":"pin"' || fail "receipt proof: $out"
token=$(echo "$out" | sed -n 's/.*"token":"\([A-Za-z0-9_.-]*\)".*/\1/p')
jws_verify_openssl "$token" "$K/signing.pem" || fail "the receipt does not verify with openssl"
[ "$(count P-E000001-202611)" = 1 ] || fail "the server has no confirmation"
echo "confirm with the PIN: receipt $receipt (verified with openssl too)"

out=$(kcx confirm --payment P-E000001-202611 --pin 135790 --json 2>&1) || fail "confirm again: $out"
echo "$out" | grep -q "\"receipt\":\"$receipt\"" || fail "again: another receipt: $out"
echo "$out" | grep -q '"again":true' || fail "again: not reported as a repeat: $out"
[ "$(count P-E000001-202611)" = 1 ] || fail "the server has two confirmations"
echo "confirm again: the same receipt, still one confirmation on the server"

# Another journal (a new statement) for the confirmed payment: refused, with the stored receipt.
out=$(kcx confirm --payment P-E000001-202611 --pin 135790 --journal "$WORK/other.db" 2>&1)
[ $? -eq 3 ] || fail "a second statement for a confirmed payment was not refused: $out"
echo "$out" | grep -q "already_confirmed" || fail "no already_confirmed: $out"
echo "$out" | grep -q "$receipt" || fail "the stored receipt is not shown: $out"
echo "a different statement for a confirmed payment: already_confirmed, receipt $receipt"

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
