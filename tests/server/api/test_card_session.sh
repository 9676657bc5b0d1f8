#!/bin/sh
# A real card session through the real pcscd: a blank virtual PIV card is
# issued as a welfare card by the deployment's issuer CA (huimin-issue),
# registered with its PUK sealed (huimin-admin), then a kiosk asks the server
# for a challenge, the card signs it with its 9E key (huimin-card, no PIN),
# and the server checks the evidence again and opens a signed session. The
# same card after 'revoke-card' is refused.
set -u
. "${HUIMIN_SOURCE_DIR:?run under ctest}/tests/server/lib/server-lib.sh"
HI="$BIN/tools/huimin-issue"
HC="$BIN/tools/huimin-card"

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
out=$("$ADMIN" init --dir "$D" --name "杭州市上城区民政局" 2>&1) || fail "init: $out"
conf_set "$D/huimin.conf" server listen 127.0.0.1:0
"$ADMIN" enroll-kiosk --dir "$D" --id kiosk-a --name "上城区 1号机" --office sc-01 >/dev/null ||
    fail "enroll-kiosk"

out=$("$HI" card --dir "$D/pki" --name "张秀英" --welfare-no WF3301060000123 --pin 135790) ||
    fail "issuance: $out"
puk=$(echo "$out" | sed -n 's/.*"puk":"\([0-9]\{8\}\)".*/\1/p')
serial=$(echo "$out" | sed 's/.*"9e":\([0-9]*\).*/\1/')
[ -n "$puk" ] && [ -n "$serial" ] || fail "issuance output: $out"
"$HC" cert --key 9e --out "$WORK/9e.pem" >/dev/null || fail "huimin-card cert --key 9e"
out=$(echo "$puk" | "$ADMIN" register-card --dir "$D" --cert "$WORK/9e.pem" --puk-stdin 2>&1) ||
    fail "register-card: $out"
echo "$out" | grep -q "PUK sealed" || fail "register-card did not seal the PUK: $out"
echo "$out" | grep -q "$puk" && fail "register-card printed the PUK"
out=$(echo "$puk" | "$ADMIN" register-card --dir "$D" --cert "$WORK/9e.pem" --puk-stdin 2>&1)
[ $? -eq 3 ] || fail "a card registered twice: $out"
if command -v sqlite3 >/dev/null; then
    sqlite3 "$D/huimin.db" "SELECT hex(sealed_puk) FROM cards" | grep -qi "$(printf '%s' "$puk" | od -An -tx1 | tr -d ' \n')" &&
        fail "the PUK is stored in the clear"
fi
echo "card issued, registered, PUK sealed"

start_server "$D"
URL="https://localhost:$PORT"
b64url_file() { base64 -w0 <"$1" | tr '+/' '-_' | tr -d '='; }
openssl x509 -in "$WORK/9e.pem" -outform DER -out "$WORK/9e.der"

tap() { # tap: a fresh challenge, signed by the card, sent as evidence
    r=$(kcurl "$D" kiosk-a -X POST -H 'Content-Type: application/json' \
        -d '{"purpose":"card-session"}' "$URL/v1/nonces")
    echo "$r" | tail -1 | grep -q "^HTTP 201" || fail "nonce: $r"
    nonce=$(jws_payload "$(echo "$r" | head -1)" | sed -n 's/.*"nonce":"\([A-Za-z0-9_-]*\)".*/\1/p')
    printf '%s' "$nonce" >"$WORK/nonce"
    "$HC" sign --key 9e --in "$WORK/nonce" --out "$WORK/sig.der" >/dev/null ||
        fail "the card did not sign the challenge"
    printf '{"nonce":"%s","card":{"cert":"%s","alg":17,"signature":"%s"}}' "$nonce" \
        "$(b64url_file "$WORK/9e.der")" "$(b64url_file "$WORK/sig.der")" >"$WORK/ev.json"
    kcurl "$D" kiosk-a -X POST -H 'Content-Type: application/json' --data-binary @"$WORK/ev.json" \
        "$URL/v1/card-sessions"
}
out=$(tap)
echo "$out" | tail -1 | grep -q "^HTTP 201 application/jose" || fail "card session: $out"
tok=$(echo "$out" | head -1)
jws_verify_openssl "$tok" "$D/kiosks/kiosk-a/signing.pem" || fail "the session does not verify"
jws_payload "$tok" | grep -q "\"card_serial\":\"$serial\"" || fail "session: $(jws_payload "$tok")"
jws_payload "$tok" | grep -q '"holder":"张秀英"' || fail "session holder: $(jws_payload "$tok")"
echo "tap through pcscd: the server verified the card's 9E signature over its own nonce"

"$ADMIN" revoke-card --dir "$D" --serial "$serial" --reason "reported lost" >/dev/null ||
    fail "revoke-card"
out=$(tap)
echo "$out" | grep -q '"code":"card_revoked"' || fail "a revoked card opened a session: $out"
echo "$out" | grep -q '挂失' || fail "no Chinese message for the revoked card: $out"
echo "revoked card: refused"
stop_server
"$ADMIN" audit verify --dir "$D" >/dev/null || fail "audit verify"
echo "PASS: card session through pcscd"
