#!/bin/sh
# The interim demo (run by demo.sh inside huimin-rig): what huimin-card sees of
# the virtual card, a card taken away and tapped again while watching, and an
# ID card read and verified.
set -eu
B=${1:-build/release}
CTL="$HUIMIN_RIG_DIR/card0.sock"
say() { printf '\n== %s\n' "$*"; }

say "Readers and cards (huimin-card list)"
"$B/tools/huimin-card" list
say "What the card is (huimin-card identify)"
"$B/tools/huimin-card" identify
say "Raw APDUs (huimin-card apdu): select the test application, echo three bytes (惠 in UTF-8)"
"$B/tools/huimin-card" apdu 00A4040008F04855494D494E5400 0006000003E683A000
say "Events (huimin-card watch): the card is taken away and tapped again"
"$B/tools/huimin-card" watch --count 6 --timeout 10 &
watcher=$!
sleep 1
"$B/fixtures/huimin-vcard" --send "$CTL" remove >/dev/null
sleep 1
"$B/fixtures/huimin-vcard" --send "$CTL" insert >/dev/null
wait $watcher
if [ -n "${HUIMIN_DEMO_IDS:-}" ]; then
    say "An ID card in the second reader (huimin-card read-id): BAC with the MRZ numbers, then Passive and Active Authentication"
    "$B/tools/huimin-card" read-id --reader 1 --doc HA1234567 --birth 560312 --expiry 360312 \
        --csca "$HUIMIN_DEMO_IDS/trust" || true
    say "The same card with a wrong date of birth"
    "$B/tools/huimin-card" read-id --reader 1 --doc HA1234567 --birth 560313 --expiry 360312 || true
fi
say "Try the cards yourself: build/release/tools/huimin-rig --card fixtures/cards/test-card.json"
