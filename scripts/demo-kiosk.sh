#!/bin/sh
# The kiosk part of the demo (run by demo.sh inside huimin-rig with two virtual cards, any
# cards: the demo puts its own in their slots): a demo deployment, three demo residents'
# welfare cards issued (张秀英, PIN 135790; 陈桂兰, whom the bureau flagged for 长辈模式;
# 刘福生, PIN 112233), the ID cards of 李娜 and 王建国 (a couple who can book a marriage
# registration), huimin-server, and huimin-kiosk in demo mode: keys F1..F5 put a card on the
# reader, F10 takes the cards away, and a strip beside the kiosk's screen lists them.
# With a display the kiosk opens in a window (close it to end). Without one it runs in a
# window under Xvfb (SDL's x11 driver), driven by a script that presses the demo keys:
# 张秀英's status, a wrong PIN, the right one and the receipt; 陈桂兰 in 长辈模式; a marriage
# booking with the two ID cards and its ticket. The screenshots go to HUIMIN_DEMO_SHOTS
# (default ./demo-shots) and the receipt's and ticket's QR codes are read back with zbarimg
# and checked with huimin-verify. Where Xvfb cannot start it runs headless (SDL offscreen),
# and says so. HUIMIN_DEMO_HEADLESS=1 takes the no-display path even with a display,
# HUIMIN_DEMO_HEADLESS=offscreen goes straight to SDL offscreen.
set -eu
B=${1:-build/release}
SRC=$(cd "$(dirname "$0")/.." && pwd)
ADMIN="$B/server/admin/huimin-admin"
VC="$B/fixtures/huimin-vcard"
KIOSK="$B/kiosk/ui/huimin-kiosk"
RIG=${HUIMIN_RIG_DIR:?run inside huimin-rig (see scripts/demo.sh)}
work=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"' EXIT
say() { printf '\n== %s\n' "$*"; }
D="$work/deploy"

say "The kiosk (huimin-kiosk) in demo mode: a demo deployment, the demo residents' cards"
"$ADMIN" init --dir "$D" --name "富川瑶族自治县民政局" >/dev/null
sed -i 's/^listen = .*/listen = 127.0.0.1:0/' "$D/huimin.conf"
for kind in programmes residents entitlements payments offices office-days marriages; do
    "$ADMIN" import $kind --dir "$D" --file "$SRC/fixtures/deploy/$kind.csv" >/dev/null
done
"$ADMIN" enroll-kiosk --dir "$D" --id kiosk-fc-01 --name "富川县民政服务大厅 1号机" \
    --office fc-01 >/dev/null
K="$D/kiosks/kiosk-fc-01"
# The ID cards (their files refer to their keys beside them: the folder is copied whole).
if [ -n "${HUIMIN_DEMO_IDS:-}" ]; then
    cp -r "$HUIMIN_DEMO_IDS" "$work/ids"
else
    "$B/tools/huimin-issue" id-fixtures --dir "$work/ids" >/dev/null
fi
mkdir -p "$D/pki/csca"
cp "$work/ids/trust/csca.pem" "$work/ids/trust/csca.crl" "$D/pki/csca/"

# Slot 0 takes the welfare cards, slot 1 (when the rig has one) the ID cards.
ids=0
[ -S "$RIG/card1.sock" ] && ids=1
for s in 0 $ids; do "$VC" --send "$RIG/card$s.sock" remove >/dev/null; done
sleep 1
mkdir -p "$work/cards"
# issue FILE NAME WELFARE-NO PIN: a blank card on slot 0, issued and registered.
issue() {
    cp "$SRC/fixtures/cards/piv-blank.json" "$work/cards/$1"
    "$VC" --send "$RIG/card0.sock" swap "$work/cards/$1" >/dev/null
    sleep 1
    i=0
    until "$B/tools/huimin-issue" card --dir "$D/pki" --name "$2" --welfare-no "$3" \
        --pin "$4" >/dev/null 2>"$work/issue.err"; do
        # 2: no card yet (pcscd polls the reader); anything else is an error.
        st=$?
        if [ $st -ne 2 ] || [ $i -ge 20 ]; then cat "$work/issue.err"; return 1; fi
        i=$((i + 1))
        sleep 0.5
    done
    "$B/tools/huimin-card" cert --key 9e --out "$work/9e.pem" >/dev/null
    "$ADMIN" register-card --dir "$D" --cert "$work/9e.pem" >/dev/null
    "$VC" --send "$RIG/card0.sock" remove >/dev/null
    sleep 1
    echo "  $2's welfare card ($3) issued and registered"
}
issue zhang.json 张秀英 WF3301060000123 135790
issue chen.json 陈桂兰 WF4511230000022 246810
issue liu.json 刘福生 WF4511230000033 112233

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
csca_dir = ../../pki/csca
CONF
# The demo-cards file: KEY SLOT CARD-FILE 中文标签 | English label (kiosk/ui/src/demo.h).
cat >"$work/demo-cards" <<CARDS
1 0 cards/zhang.json 张秀英 · 福利卡 · 密码 135790 | Zhang Xiuying, welfare card, PIN 135790
2 0 cards/chen.json 陈桂兰 · 福利卡 · 长辈模式 | Chen Guilan, welfare card, elder mode
3 0 cards/liu.json 刘福生 · 福利卡 · 密码 112233 | Liu Fusheng, welfare card, PIN 112233
4 $ids ids/li-td1.json 李娜 · 身份证：号码 HA2468013，出生 920817，有效期 420817 | Li Na, ID card: no. HA2468013, born 920817, expires 420817
5 $ids ids/wang-td1.json 王建国 · 身份证：号码 HA7654321，出生 900515，有效期 400515 | Wang Jianguo, ID card: no. HA7654321, born 900515, expires 400515
CARDS
cat <<KEYS
The demo's keys (also on the strip beside the kiosk's screen; a click on an entry works too):
  F1  张秀英's welfare card (PIN 135790)        F4  李娜's ID card  (HA2468013 920817 420817)
  F2  陈桂兰's welfare card (长辈模式)           F5  王建国's ID card (HA7654321 900515 400515)
  F3  刘福生's welfare card (PIN 112233)        F10 take the cards away
  The MRZ numbers are typed on the kiosk's keypad (H and A on its letter keys).
KEYS
KARGS="--config $K/client.conf --size 540x960 --dpi 51 --demo-cards $work/demo-cards"

if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] && [ -z "${HUIMIN_DEMO_HEADLESS:-}" ]; then
    echo "A window opens. Close it to finish."
    # shellcheck disable=SC2086
    "$KIOSK" $KARGS || true
else
    shots=${HUIMIN_DEMO_SHOTS:-$PWD/demo-shots}
    rm -rf "$shots"
    mkdir -p "$shots"
    cat >"$work/demo.script" <<'S'
wait screen home 20s
shot demo-01-home
# F1: 张秀英's card on the reader: her status, a wrong PIN, the right one, the receipt.
demo 1
wait screen status 30s
shot demo-02-status
touch confirm-*
wait screen pin 5s
type 000000
touch pin-ok
wait text 还可以再试 30s
shot demo-03-pin-wrong
type 135790
touch pin-ok
wait screen receipt 30s
shot demo-04-receipt
# F2: her card comes off (the kiosk wipes her visit), 陈桂兰's goes down: 长辈模式.
demo 2
wait text 565.00 30s
shot demo-05-status-elder
# F10: the card taken away.
demo 0
wait screen home 10s
shot demo-06-home
# 结婚登记 for 李娜 and 王建国 at 贺州 (跨省通办: she is from 江苏, he from 浙江).
touch marriage
wait screen m-service 5s
touch svc-marriage
wait screen m-office 30s
touch office-hz-hall
wait screen m-date 30s
touch day-*
wait screen m-slot 5s
touch slot-*
wait screen m-mrz 5s
touch mk-H
touch mk-A
type 2468013
key enter
type 920817
key enter
type 420817
key enter
wait screen m-idcard 5s
shot demo-07-idcard
demo 4
wait text 第2位申请人 60s
touch mk-H
touch mk-A
type 7654321
key enter
type 900515
key enter
type 400515
key enter
wait screen m-idcard 5s
demo 5
wait screen m-summary 60s
shot demo-08-summary
touch book
wait screen m-ticket 30s
shot demo-09-ticket
touch done
wait screen rating 10s
touch rate-5
wait screen thanks 5s
demo 0
wait screen home 30s
shot demo-10-home
# The strip follows the kiosk's language.
touch lang
wait text Demo 5s
shot demo-11-home-en
S
    log=${HUIMIN_DEMO_KIOSK_LOG:-$work/kiosk.log}
    how=
    if [ "${HUIMIN_DEMO_HEADLESS:-}" != offscreen ] && command -v xvfb-run >/dev/null &&
        xvfb-run -a -s "-screen 0 1280x1024x24" true >/dev/null 2>&1; then
        how="in a window under Xvfb (SDL's x11 video driver)"
        run() {
            # shellcheck disable=SC2086
            SDL_VIDEODRIVER=x11 xvfb-run -a -s "-screen 0 1280x1024x24" "$KIOSK" $KARGS "$@"
        }
    else
        how="headless (SDL offscreen): Xvfb could not start here"
        [ "${HUIMIN_DEMO_HEADLESS:-}" = offscreen ] && how="headless (SDL offscreen), as asked"
        # shellcheck disable=SC2086
        run() { "$KIOSK" --headless $KARGS "$@"; }
    fi
    echo "No display: the kiosk runs $how, a script presses the demo keys;"
    echo "screenshots go to $shots"
    if run --script "$work/demo.script" --shots "$shots" --speech-wav "$shots/speech.wav" \
        --max-seconds 240 2>"$log"; then
        for f in "$shots"/demo-*; do echo "  ${f##*/}"; done
        if command -v zbarimg >/dev/null; then
            for q in demo-04-receipt demo-09-ticket; do
                say "The QR code of $q.png, read from the screenshot and checked (zbarimg, huimin-verify)"
                token=$(zbarimg -q --raw "$shots/$q.png" 2>/dev/null | head -1)
                "$B/tools/huimin-verify" --cert "$K/signing.pem" --ca "$D/pki/root-ca.pem" \
                    "$token" | tail -6 || true
            done
        fi
    else
        echo "The kiosk's script did not finish; the end of its log:"
        tail -5 "$log"
    fi
fi
kill "$pid"
wait "$pid" || true
pid=
