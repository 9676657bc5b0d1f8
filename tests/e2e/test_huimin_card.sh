#!/bin/sh
# huimin-card as a script would use it, through a private pcscd and a virtual
# card: listing, identification, APDUs, events, exit codes and error messages.
set -u
BIN=${HUIMIN_BINARY_DIR:?run under ctest}
SRC=${HUIMIN_SOURCE_DIR:?run under ctest}
HC="$BIN/tools/huimin-card"
VC="$BIN/fixtures/huimin-vcard"
FAILS=0

fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }
# expect CODE PATTERN CMD...: runs CMD, checks its exit code and that its
# output (stdout and stderr) matches the grep pattern.
expect() {
    want=$1 pat=$2
    shift 2
    out=$("$@" 2>&1)
    got=$?
    [ "$got" -eq "$want" ] || fail "$* exited $got, expected $want: $out"
    printf '%s\n' "$out" | grep -q -- "$pat" || fail "$* printed no '$pat': $out"
}

if [ "${1:-}" != inner ]; then
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    cp "$SRC/fixtures/cards/test-card.json" "$work/card.json"
    # The service is down: a clear message and exit 2.
    expect 2 "Start the smart-card service" env PCSCLITE_CSOCK_NAME="$work/none" "$HC" list
    expect 2 '"code":"CL_E_NO_SERVICE"' env PCSCLITE_CSOCK_NAME="$work/none" "$HC" list --json
    # Usage errors need no service.
    expect 1 "unknown command 'frobnicate'" "$HC" frobnicate
    expect 1 "not hex bytes" "$HC" apdu zz
    expect 1 "not a valid command APDU" "$HC" apdu 00A4040008F0
    expect 1 "unknown option" "$HC" list --bogus
    expect 0 "Exit status" "$HC" --help
    expect 0 "T=1" "$HC" atr "3B F8 13 00 00 81 31 FE 15 59 75 62 69 6B 65 79 34 D4"
    expect 3 "malformed" "$HC" atr "3B 88 80 01 48 55 49 4D 49 4E 54 31 3A"
    [ "$FAILS" -eq 0 ] || exit 1
    exec "$BIN/tools/huimin-rig" --card "$work/card.json" -- "$0" inner
fi

CTL="$HUIMIN_RIG_DIR/card0.sock"
R0="Huimin Virtual Reader 00 00"

expect 0 '"name":"Huimin Virtual Reader 00 00","card":true' "$HC" list --json
expect 0 '"name":"Huimin Virtual Reader 00 01","card":false' "$HC" list --json
expect 0 "HUIMINT1" "$HC" list
expect 0 '"applications":\["test"\]' "$HC" identify --json
expect 0 "test   Huimin test card                 present" "$HC" identify
# An APDU pair: select the test applet, echo three bytes.
expect 0 "< AA BB CC" "$HC" apdu 00A4040008F04855494D494E5400 0006000003AABBCC00
expect 0 '"response":"AA BB CC","sw":"9000"' "$HC" --json apdu -r "$R0" \
    00A4040008F04855494D494E5400 0006000003AABBCC00
# 300 bytes through GET RESPONSE, and an extended-length answer.
out=$("$HC" --json apdu 00A4040008F04855494D494E5400 00CA012C00)
echo "$out" | grep -q '"sw":"9000"' || fail "GET RESPONSE: $out"
len=$(echo "$out" | sed 's/.*"response":"\([^"]*\)".*/\1/' | wc -w)
[ "$len" -eq 300 ] || fail "expected 300 bytes through GET RESPONSE, got $len"
expect 0 "SW 9000" "$HC" apdu 00A4040008F04855494D494E5400 00CA0000000400
# The card answers with an error: exit 3, the SW and its meaning shown.
expect 3 "SW 6D00: instruction not supported" "$HC" apdu 00B0000000
# Raw mode leaves 61xx to the caller.
expect 0 "SW 61" "$HC" apdu --raw 00A4040008F04855494D494E5400 00CA012C00
# No card in slot 1, a reader that does not exist.
expect 2 "Place the card on the reader" "$HC" identify -r 1
expect 2 "no reader 'Nope'" "$HC" identify --reader Nope
expect 2 "no reader '7'" "$HC" apdu -r 7 00A40400
# The card is pulled after the first APDU: a clear card-removed error.
"$VC" --send "$CTL" pull-after 1 >/dev/null || fail "pull-after"
expect 2 "taken away" "$HC" apdu 00A4040008F04855494D494E5400 0006000003AABBCC00
"$VC" --send "$CTL" insert >/dev/null || fail "insert"
# --wait: the card comes back while huimin-card waits.
"$VC" --send "$CTL" remove >/dev/null || fail "remove"
(sleep 1; "$VC" --send "$CTL" insert >/dev/null) &
expect 0 '"applications":\["test"\]' "$HC" identify --json --wait 10
wait
# watch: present readers and card first, then a removal and an insertion.
"$HC" watch --json --count 5 --timeout 20 > "$HUIMIN_RIG_DIR/events" &
watcher=$!
sleep 1
"$VC" --send "$CTL" remove >/dev/null || fail "remove for watch"
sleep 0.5
"$VC" --send "$CTL" insert >/dev/null || fail "insert for watch"
wait $watcher || fail "watch exited $?"
events=$(sed 's/.*"event":"\([a-z-]*\)".*/\1/' "$HUIMIN_RIG_DIR/events" | tr '\n' ' ')
case "$events" in
*card-inserted*card-removed\ card-inserted\ ) ;;
*) fail "watch saw: $events" ;;
esac
grep -q '"atr":{"hex":"3B 88 80 01 48 55 49 4D 49 4E 54 31 72"' "$HUIMIN_RIG_DIR/events" ||
    fail "no ATR in the insertion event"

[ "$FAILS" -eq 0 ] && echo "all huimin-card checks passed"
[ "$FAILS" -eq 0 ]
