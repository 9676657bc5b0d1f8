#!/bin/sh
# The kiosk part of the demo (run by demo.sh inside huimin-rig, with a blank PIV card in
# reader 0): a demo deployment, the card issued as 张秀英's welfare card (PIN 135790),
# huimin-server, and huimin-kiosk. With a display the kiosk opens in a window with her
# card on the reader (click the buttons; type the PIN on the pad or the keyboard; close the
# window to end). Without one it runs headless through a script (her status, a wrong PIN,
# the right one, the receipt's QR code, the card taken away) and leaves a screenshot of
# every screen in HUIMIN_DEMO_SHOTS (default ./demo-shots).
set -eu
B=${1:-build/release}
SRC=$(cd "$(dirname "$0")/.." && pwd)
ADMIN="$B/server/admin/huimin-admin"
work=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"' EXIT
say() { printf '\n== %s\n' "$*"; }
D="$work/deploy"

say "The kiosk (huimin-kiosk): a demo deployment and 张秀英's welfare card on the reader"
"$ADMIN" init --dir "$D" --name "富川瑶族自治县民政局" >/dev/null
sed -i 's/^listen = .*/listen = 127.0.0.1:0/' "$D/huimin.conf"
for kind in programmes residents entitlements payments offices office-days marriages; do
    "$ADMIN" import $kind --dir "$D" --file "$SRC/fixtures/deploy/$kind.csv" >/dev/null
done
"$ADMIN" enroll-kiosk --dir "$D" --id kiosk-fc-01 --name "富川县民政服务大厅 1号机" \
    --office fc-01 >/dev/null
K="$D/kiosks/kiosk-fc-01"
"$B/tools/huimin-issue" card --dir "$D/pki" --name "张秀英" --welfare-no WF3301060000123 \
    --pin 135790 >/dev/null
"$B/tools/huimin-card" cert --key 9e --out "$work/9e.pem" >/dev/null
"$ADMIN" register-card --dir "$D" --cert "$work/9e.pem" >/dev/null
"$B/server/huimin-server" --config "$D/huimin.conf" --port-file "$work/ports" 2>"$work/server.log" &
pid=$!
i=0
while [ ! -s "$work/ports" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
port=$(sed -n 1p "$work/ports")
cat >"$K/client.conf" <<CONF
server = https://localhost:$port
cert = kiosk.pem
key = kiosk.key
cacert = server-ca.pem
signing_cert = signing.pem
kiosk = kiosk-fc-01
journal = journal.db
issuer_ca = ../../pki/issuer-ca.pem
CONF
KIOSK="$B/kiosk/ui/huimin-kiosk"

if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] && [ -z "${HUIMIN_DEMO_HEADLESS:-}" ]; then
    echo "A window opens: 张秀英's card is on the reader (PIN 135790). Close it to finish."
    "$KIOSK" --config "$K/client.conf" --size 540x960 --dpi 51 || true
else
    shots=${HUIMIN_DEMO_SHOTS:-$PWD/demo-shots}
    rm -rf "$shots"
    mkdir -p "$shots"
    # The card off the reader, and pcscd told so, before the kiosk starts: the script puts it down.
    "$B/fixtures/huimin-vcard" --send "$HUIMIN_RIG_DIR/card0.sock" remove >/dev/null
    sleep 1
    cat >"$work/demo.script" <<'S'
wait screen home 20s
shot home
card insert welfare 0
wait screen status 30s
shot status
touch confirm-*
wait screen pin 5s
type 000000
touch pin-ok
wait text 还可以再试 30s
shot pin-wrong
type 135790
touch pin-ok
wait screen receipt 30s
shot receipt
card remove 0
wait screen home 10s
shot after-card-removed
S
    echo "No display: the kiosk runs headless through a script; screenshots go to $shots"
    if "$KIOSK" --headless --config "$K/client.conf" --script "$work/demo.script" \
        --shots "$shots" --max-seconds 120 2>"${HUIMIN_DEMO_KIOSK_LOG:-$work/kiosk.log}"; then
        ls "$shots" | sed 's/^/  /'
        if command -v zbarimg >/dev/null; then
            say "The receipt's QR code, read from the screenshot and checked (zbarimg, huimin-verify)"
            token=$(zbarimg -q --raw "$shots/receipt.png" 2>/dev/null | head -1)
            "$B/tools/huimin-verify" --cert "$K/signing.pem" --ca "$D/pki/root-ca.pem" "$token" |
                tail -4 || true
        fi
    else
        tail -5 "$work/kiosk.log"
    fi
fi
kill "$pid"
wait "$pid" || true
pid=
