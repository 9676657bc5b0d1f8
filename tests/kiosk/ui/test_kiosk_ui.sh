#!/bin/sh
# The touch front end end to end, headless: a demo deployment, huimin-server, a private pcscd
# with a virtual welfare card issued as 张秀英's, and huimin-kiosk --headless --script. The
# card is put on the reader, her status is shown, a wrong PIN shows the tries left, the right
# one confirms a payment and the receipt's QR code in the screenshot is read by zbarimg and
# verified by huimin-verify; removing the card returns home with none of her data drawn. A card
# pulled while it is read gets placement help and is read when put back. Then
# the network "fails" after the card signed (the client's test hook): the banner is shown and
# the confirmation waits in the journal until huimin-client sync delivers it. Last, an idle
# visit is offered more time and then wiped.
set -u
. "${HUIMIN_SOURCE_DIR:?run under ctest}/tests/server/lib/server-lib.sh"
HI="$BIN/tools/huimin-issue"
HC="$BIN/tools/huimin-card"
HV="$BIN/tools/huimin-verify"
VC="$BIN/fixtures/huimin-vcard"
KC="$BIN/kiosk/client/huimin-client"
KIOSK="$BIN/kiosk/ui/huimin-kiosk"

if [ "${1:-}" != inner ]; then
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    cp "$SRC/fixtures/cards/piv-blank.json" "$work/card0.json"
    export WORK="$work"
    "$BIN/tools/huimin-rig" --card "$work/card0.json" -- "$0" inner
    exit $?
fi

SERVER_PID=
trap '[ -n "$SERVER_PID" ] && kill -9 "$SERVER_PID" 2>/dev/null' EXIT
D="$WORK/deploy"
K="$D/kiosks/kiosk-a"
OUT="${HUIMIN_KIOSK_UI_OUT:-$WORK/out}"
mkdir -p "$OUT"
demo_deployment "$D" sqlite
"$ADMIN" enroll-kiosk --dir "$D" --id kiosk-a --name "富川 1号机" --office fc-01 >/dev/null ||
    fail "enroll-kiosk"
out=$("$HI" card --dir "$D/pki" --name "张秀英" --welfare-no WF3301060000123 --pin 135790) ||
    fail "issuance: $out"
"$HC" cert --key 9e --out "$WORK/9e.pem" >/dev/null || fail "huimin-card cert"
out=$("$ADMIN" register-card --dir "$D" --cert "$WORK/9e.pem" 2>&1) || fail "register-card: $out"
start_server "$D"
cat >"$K/client.conf" <<CONF
server = https://localhost:$PORT
cert = kiosk.pem
key = kiosk.key
cacert = server-ca.pem
signing_cert = signing.pem
kiosk = kiosk-a
journal = journal.db
issuer_ca = ../../pki/issuer-ca.pem
CONF
"$VC" --send "$HUIMIN_RIG_DIR/card0.sock" remove >/dev/null || fail "remove the card"

# kiosk NAME SCRIPT [ARGS...]: runs the kiosk headless on SCRIPT; shots in $OUT/NAME, text in
# $OUT/NAME.txt.
kiosk() {
    name=$1 script=$2
    shift 2
    "$KIOSK" --headless --config "$K/client.conf" --script "$script" --shots "$OUT/$name" \
        --dump-text "$OUT/$name.txt" --max-seconds 150 "$@" 2>"$OUT/$name.log"
    st=$?
    [ $st -eq 0 ] || { cat "$OUT/$name.log"; fail "huimin-kiosk ($name) exited $st"; }
}
# after_home NAME: the frames from the first home screen after the receipt/queued screen on.
after_home() {
    awk '/^frame .*screen=(receipt|queued|idle)/ { seen = 1 } seen && /^frame .*screen=home/ { on = 1 } on' \
        "$OUT/$1.txt"
}

# --- status, a wrong PIN, the right PIN, the receipt, the card removed ----------------------
cat >"$WORK/confirm.script" <<'S'
wait screen home 20s
card insert welfare 0
wait screen status 30s
shot status
touch 确认领取 confirm-*
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
shot after-remove
S
kiosk confirm "$WORK/confirm.script"
for s in status pin-wrong receipt after-remove 001-home; do
    [ -s "$OUT/confirm/$s.png" ] || fail "no screenshot $s.png: $(ls "$OUT/confirm")"
done
grep -q "张秀英" "$OUT/confirm.txt" || fail "the status did not name her"
grep -q "750.00 元" "$OUT/confirm.txt" || fail "no amount in yuan drawn"
grep -q "WF3\*\*\*\*\*\*\*\*0123" "$OUT/confirm.txt" || fail "no masked welfare number"
grep -q "WF3301060000123" "$OUT/confirm.txt" && fail "the full welfare number was drawn"
grep -q "还可以再试 2 次" "$OUT/confirm.txt" || fail "a wrong PIN did not show the tries left"
grep -q "135790" "$OUT/confirm.txt" "$OUT/confirm.log" && fail "the PIN was drawn or logged"
token=$(zbarimg -q --raw "$OUT/confirm/receipt.png" 2>/dev/null | head -1)
[ -n "$token" ] || fail "zbarimg read no QR code in the receipt screenshot"
out=$("$HV" --cert "$K/signing.pem" --ca "$D/pki/root-ca.pem" "$token" 2>&1) ||
    fail "huimin-verify does not verify the receipt from the screenshot: $out"
echo "$out" | grep -q "750.00" || fail "the receipt is not for 750.00 yuan: $out"
rest=$(after_home confirm)
[ -n "$rest" ] || fail "no home frame after the receipt"
echo "$rest" | head -1 | grep -q "session=0" || fail "data still held after removal: $rest"
echo "$rest" | grep -q "张秀英" && fail "her name was drawn after the card was removed"
echo "$rest" | grep -q "750.00" && fail "an amount was drawn after the card was removed"
echo "confirm: status, wrong PIN (2 tries left), receipt QR read by zbarimg and verified; removal wiped"

# --- the network fails after the card signed: banner, queued in the journal ---------------------
cat >"$WORK/queued.script" <<'S'
wait screen home 20s
card insert welfare 0
wait screen status 30s
touch confirm-*
wait screen pin 5s
type 135790
key enter
wait screen queued 30s
wait text 服务器暂时连不上 5s
shot queued
card remove 0
wait screen home 10s
shot home-banner
S
HUIMIN_KIOSK_TEST_DROP=1 kiosk queued "$WORK/queued.script"
[ -s "$OUT/queued/queued.png" ] || fail "no queued screenshot"
after_home queued | grep -q "服务器暂时连不上" || fail "no offline banner on the home screen"
"$KC" journal --config "$K/client.conf" | grep -q pending || fail "nothing pending in the journal"
out=$("$KC" sync --config "$K/client.conf" --json 2>&1) || fail "sync: $out"
echo "$out" | grep -q '"delivered":1' || fail "sync did not deliver the queued confirmation: $out"
echo "queued: the banner shown, the confirmation kept in the journal and delivered by sync"

# --- the card pulled while it is read: what to do, then put back, then read ---------------------
cat >"$WORK/pulled.script" <<'S'
wait screen home 20s
card insert welfare 0
rig 0 pull-after 4
wait screen card-error 30s
wait text 卡片被移开了 5s
shot pulled
card insert welfare 0
wait screen status 30s
card remove 0
wait screen home 10s
S
kiosk pulled "$WORK/pulled.script"
grep -q "请把卡片重新平放在读卡区" "$OUT/pulled.txt" || fail "no placement help after the card was pulled"
echo "pulled: the card taken away while read: placement help, then read when put back"

# --- idle: more time first, then the session is wiped ---------------------------------------
cat >"$WORK/idle.script" <<'S'
wait screen home 20s
card insert welfare 0
wait screen status 30s
advance 61s
wait screen idle 5s
shot idle
touch more-time
wait screen status 5s
advance 61s
wait screen idle 5s
advance 31s
wait screen home 5s
shot wiped
card remove 0
S
kiosk idle "$WORK/idle.script"
after_home idle | head -1 | grep -q "session=0" || fail "the idle timeout did not wipe"
after_home idle | grep -q "张秀英" && fail "her name was drawn after the idle timeout"
grep -q "您还需要更多时间吗" "$OUT/idle.txt" || fail "no more-time question"
echo "idle: more time offered, then the session wiped"

# --- 长辈模式 with voice guidance, then 没有收到: a dispute through the server, then 好差评 ---------
cat >"$WORK/dispute.script" <<'S'
wait screen home 20s
touch elder
card insert welfare 0
wait screen status 30s
shot status-elder
touch repeat
touch dispute-*
wait screen dispute 5s
touch reason-not_received
wait screen dispute-confirm 5s
shot dispute-confirm
touch submit
wait screen disputed 30s
wait text 登记号 5s
shot disputed
touch done
wait screen rating 10s
shot rating
touch rate-5
wait screen thanks 5s
card remove 0
S
# The idle run ended by taking the card away: let pcscd see it gone before the next kiosk looks.
sleep 2
kiosk dispute "$WORK/dispute.script" --speech-wav "$OUT/dispute.wav"
grep "^speech " "$OUT/dispute.txt" | grep -q "每月七百五十元" ||
    fail "the status's amounts were not spoken: $(grep '^speech ' "$OUT/dispute.txt")"
[ "$(grep -c '^speech .*每月七百五十元' "$OUT/dispute.txt")" -ge 2 ] || fail "重复 did not say it again"
grep "^speech " "$OUT/dispute.txt" | grep -q "张秀英" && fail "her name was spoken aloud"
[ "$(head -c 4 "$OUT/dispute.wav")" = RIFF ] || fail "no WAV written"
[ "$(dd if="$OUT/dispute.wav" bs=1 skip=8 count=4 2>/dev/null)" = WAVE ] || fail "not a WAV"
size=$(wc -c <"$OUT/dispute.wav")
[ "$size" -gt 441000 ] || fail "the WAV holds less than 10 s of speech ($size bytes)"
dispute=$(grep -o "登记号：[A-Za-z0-9_-]*" "$OUT/dispute.txt" | head -1)
[ -n "$dispute" ] && [ "$dispute" != "登记号：" ] || fail "no dispute number shown"
grep -q "工作人员会尽快和您联系" "$OUT/dispute.txt" || fail "the disputed screen does not say staff follow up"
grep -q "rating 5 of 5" "$OUT/dispute.log" || fail "the rating was not kept in the log"
echo "voice+dispute: amounts spoken into a ${size}-byte WAV, $dispute recorded, rated 5"

stop_server
echo "PASS: huimin-kiosk headless through pcscd and huimin-server"
