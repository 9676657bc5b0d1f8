#!/bin/sh
# The appointment part of the interim demo (run by demo.sh inside huimin-rig, with two
# virtual ID cards in readers 0 and 1, on the deployment demo-server.sh left in
# HUIMIN_DEMO_DEPLOY): 李娜 and 王建国 read their ID cards at the kiosk (BAC, Passive
# and Active Authentication over the server's nonce, all checked again by the server),
# book the first free place for 结婚登记, and the ticket's QR code is checked offline.
set -eu
B=${1:-build/release}
D=${HUIMIN_DEMO_DEPLOY:?the deployment demo-server.sh made}
K="$D/kiosks/kiosk-fc-01"
work=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"' EXIT
say() { printf '\n== %s\n' "$*"; }
jget() { echo "$2" | sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p" | head -1; }

"$B/server/huimin-server" --config "$D/huimin.conf" --port-file "$work/ports" 2>"$work/server.log" &
pid=$!
i=0
while [ ! -s "$work/ports" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
port=$(sed -n 1p "$work/ports")
KC="$B/kiosk/client/huimin-client"
kca() { cmd=$1; shift; "$KC" "$cmd" --config "$K/client.conf" --server "https://localhost:$port" "$@"; }

say "婚姻登记预约: 李娜 and 王建国 read their ID cards (the MRZ numbers open the chip)"
ja=$(kca id-session --reader 0 --doc HA2468013 --birth 920817 --expiry 420817 --json || true)
jb=$(kca id-session --reader 1 --doc HA7654321 --birth 900515 --expiry 400515 --json || true)
SA=$(jget id_session "$ja")
SB=$(jget id_session "$jb")
for j in "$ja" "$jb"; do
    echo "  $(jget name "$j")  $(jget id_masked "$j")  $(jget sex "$j")  $(jget birth "$j")"
done
say "The first free place at 贺州市八步区婚姻登记处 (跨省通办: she is from 江苏, he from 浙江)"
from=$(TZ=UTC-8 date -d '+1 day' +%F)
avail=$(kca availability --office hz-hall --service marriage --from "$from" --days 14 || true)
echo "$avail" | head -8
pick=$(echo "$avail" | awk '/^  [0-9]/ { d = $1; next }
    d != "" && $2 == "余" && $3 > 0 { split($1, t, "-"); print d, t[1]; exit }')
if [ -n "$SA" ] && [ -n "$SB" ] && [ -n "$pick" ]; then
    say "They book it: the signed ticket, as a QR code"
    kca book --service marriage --office hz-hall --date "${pick% *}" --slot "${pick#* }" \
        --party "$SA" --party "$SB" --qr "$work/ticket.png" || true
    if [ -s "$work/ticket.png" ]; then
        say "The registry checks the ticket offline (huimin-verify, from the QR code's PNG)"
        "$B/tools/huimin-verify" --cert "$K/signing.pem" --ca "$D/pki/root-ca.pem" \
            --png "$work/ticket.png" || true
    fi
fi

say "The audit log (huimin-admin audit verify, after the server stops)"
kill "$pid"
wait "$pid" || true
pid=
"$B/server/admin/huimin-admin" audit verify --dir "$D"
