#!/bin/sh
# The card office's flow with our command-line tools through a private pcscd:
# create the issuer CA, issue a blank PIV card to a resident, check it is
# genuine, revoke it, and see the check fail with the revocation named.
set -u
BIN=${HUIMIN_BINARY_DIR:?run under ctest}
SRC=${HUIMIN_SOURCE_DIR:?run under ctest}
HI="$BIN/tools/huimin-issue"
HC="$BIN/tools/huimin-card"
fail() { echo "FAIL: $*"; exit 1; }

if [ "${1:-}" != inner ]; then
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    cp "$SRC/fixtures/cards/piv-blank.json" "$work/card.json"
    "$HI" ca --dir "$work/pki" --name "Test Issuer CA" >/dev/null || fail "ca"
    [ "$(stat -c %a "$work/pki/issuer-ca.key")" = 600 ] || fail "the CA key is not 0600"
    "$HI" ca --dir "$work/pki" 2>/dev/null && fail "a second ca replaced the first"
    "$HI" card --dir "$work/pki" --name X 2>/dev/null; [ $? -eq 1 ] || fail "missing --welfare-no accepted"
    export WORK="$work"
    exec "$BIN/tools/huimin-rig" --card "$work/card.json" -- "$0" inner
fi

out=$("$HI" card --dir "$WORK/pki" --name "王建国" --welfare-no WF3301060000456 --pin 135790) ||
    fail "issuance: $out"
echo "$out"
echo "$out" | grep -q '"puk":"[0-9]\{8\}"' || fail "no PUK in the issuance output"
serial=$(echo "$out" | sed 's/.*"9e":\([0-9]*\).*/\1/')
out=$("$HC" verify --ca "$WORK/pki/issuer-ca.pem" --crl "$WORK/pki/issuer.crl") || fail "genuine card: $out"
echo "$out" | grep -q "The card is genuine" || fail "verify: $out"
out=$("$HC" info) || fail "info: $out"
echo "$out" | grep -q "王建国" || fail "info has no holder: $out"
"$HC" pin verify --pin 135790 >/dev/null || fail "the new PIN does not work"
"$HI" revoke --dir "$WORK/pki" --serial "$serial" >/dev/null || fail "revoke"
out=$("$HC" verify --ca "$WORK/pki/issuer-ca.pem" --crl "$WORK/pki/issuer.crl")
[ $? -eq 4 ] || fail "revoked card: exit status not 4: $out"
echo "$out" | grep -q "revocation *FAILED *the card has been revoked" || fail "revocation not named: $out"
echo "issuance, verification and revocation work"
