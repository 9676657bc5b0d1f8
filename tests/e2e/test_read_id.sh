#!/bin/sh
# Staff checking ID cards by hand with huimin-card read-id through a private
# pcscd: a genuine card shows the holder with the ID number masked and passes
# every check; a cloned chip fails Active Authentication by name; wrong MRZ
# numbers are "access denied, check the numbers"; bad arguments are usage errors.
set -u
BIN=${HUIMIN_BINARY_DIR:?run under ctest}
HI="$BIN/tools/huimin-issue"
HC="$BIN/tools/huimin-card"
fail() { echo "FAIL: $*"; exit 1; }

if [ "${1:-}" != inner ]; then
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    "$HI" id-fixtures --dir "$work" >/dev/null || fail "id-fixtures"
    [ -f "$work/trust/csca.pem" ] && [ -f "$work/trust/csca.crl" ] || fail "no trust store"
    [ "$(stat -c %a "$work/zhang-td1-aa.pem")" = 600 ] || fail "the chip key is not 0600"
    export WORK="$work"
    exec "$BIN/tools/huimin-rig" --card "$work/zhang-td1.json" --card "$work/clone-aa.json" -- "$0" inner
fi

ZHANG="--doc HA1234567 --birth 560312 --expiry 360312"

# A genuine ID card, as staff see it.
out=$("$HC" read-id --reader 0 $ZHANG --csca "$WORK/trust" --face "$WORK/face.jpg" 2>&1) ||
    fail "genuine card: exit $?: $out"
echo "$out"
echo "$out" | grep -q "张秀英 (ZHANG XIUYING)" || fail "no name"
echo "$out" | grep -q "Citizen ID   110\*\*\*\*\*\*\*\*\*\*\*0025" || fail "ID number not masked"
echo "$out" | grep -q "110102195603120025" && fail "the full ID number was shown without --show-id"
echo "$out" | grep -q "Born         1956-03-12" || fail "no birth date"
for check in sod-signature csca-chain ds-validity revocation dg1-hash dg2-hash dg11-hash \
    dg14-hash dg15-hash active-auth; do
    echo "$out" | grep -q "^  $check *passed" || fail "$check did not pass"
done
echo "$out" | grep -q "The document is genuine." || fail "not called genuine"
[ "$(head -c 3 "$WORK/face.jpg" | od -An -tx1 | tr -d ' ')" = ffd8ff ] || fail "face is not a JPEG"

out=$("$HC" read-id --reader 0 $ZHANG --csca "$WORK/trust" --show-id) || fail "--show-id"
echo "$out" | grep -q "Citizen ID   110102195603120025" || fail "--show-id did not show it"

out=$("$HC" read-id --reader 0 $ZHANG --csca "$WORK/trust" --json) || fail "--json"
echo "$out" | grep -q '"genuine":true' || fail "json: $out"
echo "$out" | grep -q '"citizen_id":"110\*\*\*\*\*\*\*\*\*\*\*0025"' || fail "json ID not masked: $out"
echo "$out" | grep -q '"check":"active-auth","result":"passed"' || fail "json checks: $out"

# Without a trust store the chain cannot be checked, so it is not genuine.
out=$("$HC" read-id --reader 0 $ZHANG)
[ $? -eq 4 ] || fail "no --csca: exit status not 4"
echo "$out" | grep -q "csca-chain *not checked *no CSCA trust store" || fail "no --csca: $out"
echo "$out" | grep -q "NOT shown to be genuine: csca-chain was not checked" || fail "no --csca verdict: $out"

# A clone: the data copied to a chip without the original key.
out=$("$HC" read-id --reader 1 --doc HB0000003 --birth 750909 --expiry 300909 --csca "$WORK/trust")
[ $? -eq 4 ] || fail "clone: exit status not 4: $out"
echo "$out" | grep -q "^  active-auth *FAILED" || fail "clone: active-auth not named: $out"
echo "$out" | grep -q "NOT shown to be genuine: active-auth" || fail "clone verdict: $out"

# Wrong numbers: the chip refuses; the message says what to do.
out=$("$HC" read-id --reader 0 --doc HA1234567 --birth 560313 --expiry 360312 2>&1)
[ $? -eq 3 ] || fail "wrong MRZ: exit status not 3: $out"
echo "$out" | grep -q "access denied, check the numbers" || fail "wrong MRZ message: $out"
out=$("$HC" read-id --reader 0 --doc HA1234567 --birth 560313 --expiry 360312 --json 2>/dev/null)
echo "$out" | grep -q '"code":"access-denied"' || fail "wrong MRZ json: $out"

# Usage errors: exit 1 and a sentence.
out=$("$HC" read-id --reader 0 --doc HA1234567 2>&1); [ $? -eq 1 ] || fail "missing dates accepted"
echo "$out" | grep -q "needs --doc NUMBER --birth YYMMDD --expiry YYMMDD" || fail "usage: $out"
out=$("$HC" read-id --reader 0 --doc HA1234567 --birth 5603 --expiry 360312 2>&1)
[ $? -eq 1 ] || fail "short date accepted"
out=$("$HC" read-id --reader 0 $ZHANG --csca /nonexistent 2>&1); [ $? -eq 1 ] || fail "bad --csca"
echo "$out" | grep -q "cannot use '/nonexistent' as the CSCA trust store" || fail "bad --csca: $out"

echo "read-id shows, masks and verifies; clones, wrong numbers and bad arguments are named"
