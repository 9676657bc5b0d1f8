#!/bin/sh
# Demo mode (huimin-kiosk --demo-cards), headless through the real pcscd: a demo deployment,
# two welfare cards issued (张秀英 with PIN 135790, and 陈桂兰, whom the bureau flagged for
# 长辈模式), 李娜's ID card, and a demo-cards file with their keys. A script presses the keys:
# 张秀英's key shows her status (750.00); 陈桂兰's key takes hers away (home, nothing held)
# and shows 陈桂兰's in 长辈模式 (565.00); key 0 takes the card away (home, session=0); the
# ID card's key puts 李娜's card on the second reader, where 我的预约 reads it with her MRZ
# numbers, and 0 takes it away again. The strip's texts (keys, labels, in Chinese and then in
# English) are in --dump-text. A bad demo-cards file, or one naming a slot the rig lacks, is
# refused with file:line and what to do.
set -u
. "${HUIMIN_SOURCE_DIR:?run under ctest}/tests/server/lib/server-lib.sh"
HI="$BIN/tools/huimin-issue"
HC="$BIN/tools/huimin-card"
VC="$BIN/fixtures/huimin-vcard"
KIOSK="$BIN/kiosk/ui/huimin-kiosk"

if [ "${1:-}" != inner ]; then
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    "$HI" id-fixtures --dir "$work/ids" >/dev/null || fail "huimin-issue id-fixtures"
    cp "$SRC/fixtures/cards/piv-blank.json" "$work/slot0.json"
    export WORK="$work"
    # Slot 0 for the welfare cards, slot 1 for the ID card (emptied before the kiosk starts).
    "$BIN/tools/huimin-rig" --card "$work/slot0.json" --card "$work/ids/zhang-td1.json" \
        -- "$0" inner
    exit $?
fi

SERVER_PID=
trap '[ -n "$SERVER_PID" ] && kill -9 "$SERVER_PID" 2>/dev/null' EXIT
D="$WORK/deploy"
K="$D/kiosks/kiosk-a"
OUT="${HUIMIN_KIOSK_UI_OUT:-$WORK/out}/demo"
mkdir -p "$OUT"
demo_deployment "$D" sqlite
mkdir -p "$D/pki/csca"
cp "$WORK/ids/trust/csca.pem" "$WORK/ids/trust/csca.crl" "$D/pki/csca/" || fail "CSCA store"
"$ADMIN" enroll-kiosk --dir "$D" --id kiosk-a --name "富川 1号机" --office fc-01 >/dev/null ||
    fail "enroll-kiosk"
"$VC" --send "$HUIMIN_RIG_DIR/card1.sock" remove >/dev/null || fail "remove card 1"

# issue FILE NAME WELFARE-NO PIN: a blank card put on slot 0, issued and registered.
issue() {
    cp "$SRC/fixtures/cards/piv-blank.json" "$1"
    # Off, and pcscd told so (it polls the reader), before the next card goes down.
    "$VC" --send "$HUIMIN_RIG_DIR/card0.sock" remove >/dev/null || fail "remove the card"
    sleep 1
    out=$("$VC" --send "$HUIMIN_RIG_DIR/card0.sock" swap "$1") || fail "swap $1: $out"
    sleep 1
    i=0
    while :; do
        out=$("$HI" card --dir "$D/pki" --name "$2" --welfare-no "$3" --pin "$4" 2>&1) && break
        st=$? # 2: no card yet (pcscd polls the reader)
        if [ $st -ne 2 ] || [ $i -ge 20 ]; then fail "issuance of $2: $out"; fi
        i=$((i + 1))
        sleep 0.5
    done
    "$HC" cert --key 9e --out "$WORK/9e.pem" >/dev/null || fail "huimin-card cert ($2)"
    out=$("$ADMIN" register-card --dir "$D" --cert "$WORK/9e.pem" 2>&1) || fail "register-card: $out"
}
issue "$WORK/zhang.json" 张秀英 WF3301060000123 135790
issue "$WORK/chen.json" 陈桂兰 WF4511230000022 246810
"$VC" --send "$HUIMIN_RIG_DIR/card0.sock" remove >/dev/null || fail "remove the card"

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
csca_dir = ../../pki/csca
CONF
# Card files relative to the demo-cards file's folder, one absolute.
cat >"$WORK/demo-cards" <<CARDS
# key slot card label | English label
1 0 zhang.json 张秀英 · 福利卡 · PIN 135790 | Zhang Xiuying · welfare card · PIN 135790
F2 0 chen.json 陈桂兰 · 福利卡 · 长辈模式，放卡即可 | Chen Guilan · welfare card · tap only
3 1 $WORK/ids/li-td1.json 李娜 · 身份证 · HA2468013 · 920817 · 420817 | Li Na · ID card · HA2468013 · 920817 · 420817
CARDS

cat >"$WORK/demo.script" <<'S'
wait screen home 20s
shot home
demo 1
wait screen status 30s
wait text 750.00 10s
shot status-zhang
# 陈桂兰's key: 张秀英's card comes off first (her data wiped), then 陈桂兰's goes down.
key F2
wait text 565.00 30s
shot status-chen
demo 0
wait screen home 10s
shot home-after-0
# The ID card's key: 李娜's card on the second reader, read for 我的预约 with her MRZ numbers.
touch mine
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
key F3
wait screen m-mine 60s
shot mine
key F10
touch home
wait screen home 10s
shot home-after-id
# The strip follows the language.
touch lang
wait text Demo 5s
shot home-en
S
"$KIOSK" --headless --config "$K/client.conf" --demo-cards "$WORK/demo-cards" \
    --script "$WORK/demo.script" --shots "$OUT/shots" --dump-text "$OUT/demo.txt" \
    --max-seconds 150 2>"$OUT/demo.log"
st=$?
[ $st -eq 0 ] || { cat "$OUT/demo.log"; fail "huimin-kiosk --demo-cards exited $st"; }
T="$OUT/demo.txt"

# frames SCREEN-PATTERN: the text of the frames whose description matches.
frames() { awk -v p="$1" '/^frame / { on = ($0 ~ p) } on' "$T"; }
frames "screen=status .*elder=0" | grep -q "750.00" || fail "no status of 张秀英 (750.00) in normal mode"
frames "screen=status .*elder=1" | grep -q "565.00" || fail "no status of 陈桂兰 (565.00) in 长辈模式"
frames "screen=status .*elder=1" | grep -q "750.00" && fail "陈桂兰's status shows 张秀英's amount"
# Between the two statuses the kiosk was home with nothing held: the swap took the card off.
awk '/^frame .*screen=status .*elder=0/ { z = 1 } z && /^frame .*screen=home .*session=0/ { h = 1 }
     h && /^frame .*screen=status .*elder=1/ { ok = 1 } END { exit !ok }' "$T" ||
    fail "陈桂兰's key did not take 张秀英's card away first (no home, session=0 between)"
# Key 0: home, session=0, no card.
awk '/^frame .*screen=status .*elder=1/ { s = 1 } s && /^frame .*screen=home / { print; exit }' "$T" |
    grep -q "session=0 .*card=0" || fail "key 0 did not take the card away (home, session=0, card=0)"
# The ID card: read on the second reader (我的预约 reached with 李娜's ID session), then taken away.
frames "screen=m-mine" | grep -q . || fail "李娜's ID card was not read (no m-mine)"
grep "^frame .*screen=m-mine .*card=1" "$T" >/dev/null || fail "the ID card was not on the reader"
grep "^frame .*screen=m-mine .*card=0" "$T" >/dev/null || fail "key F10 did not take the ID card away"
grep "^frame .*screen=home" "$T" | tail -1 | grep -q "session=0" || fail "not home with session=0 at the end"
grep -q "kiosk: demo: card 3 on reader slot 1" "$OUT/demo.log" || fail "the ID card's move was not logged"
for s in home status-zhang status-chen home-after-0 mine home-after-id home-en; do
    [ -s "$OUT/shots/$s.png" ] || fail "no screenshot $s"
done
# The strip: keys and labels, in Chinese, then in English once the language changed.
for t in 演示模式 F1 F2 F3 F10 "张秀英 · 福利卡 · PIN 135790" "李娜 · 身份证 · HA2468013 · 920817 · 420817" \
    取走所有卡片 "1号读卡器" "2号读卡器" "1号读卡器 · 卡已放上" "2号读卡器 · 卡已放上"; do
    grep -qF "  $t" "$T" || fail "the strip lacks '$t'"
done
for t in "Demo mode" "Zhang Xiuying · welfare card · PIN 135790" "Take every card away" "reader 2"; do
    frames "lang=en" | grep -qF "  $t" || fail "the English strip lacks '$t'"
done
frames "lang=en" | grep -qF "  张秀英 · 福利卡" && fail "the English strip shows the Chinese label"
grep -q "920817" "$OUT/demo.log" && fail "MRZ numbers in the log"
echo "demo keys: 张秀英's status, 陈桂兰's in 长辈模式 after a swap, 0 home, 李娜's ID card read"

# --- refused: a bad line, a slot the rig lacks, outside the rig, with --fake -----------------
printf '1 0 zhang.json 张秀英\n4 9 zhang.json 谁\n' >"$WORK/bad-cards"
out=$("$KIOSK" --headless --config "$K/client.conf" --demo-cards "$WORK/bad-cards" 2>&1) &&
    fail "a bad demo-cards file was accepted"
echo "$out" | grep -q "bad-cards:2: the slot is" || fail "no file:line for a bad slot: $out"
printf '1 0 zhang.json 张秀英\n5 2 chen.json 陈桂兰\n' >"$WORK/slot2-cards"
out=$("$KIOSK" --headless --config "$K/client.conf" --demo-cards "$WORK/slot2-cards" 2>&1) &&
    fail "a slot the rig lacks was accepted"
echo "$out" | grep -q "line 2: the rig has no virtual card in slot 2" || fail "slot 2: $out"
out=$(env -u HUIMIN_RIG_DIR "$KIOSK" --headless --config "$K/client.conf" \
    --demo-cards "$WORK/demo-cards" 2>&1) && fail "demo mode outside the rig was accepted"
echo "$out" | grep -q "inside huimin-rig" || fail "outside the rig: $out"
out=$("$KIOSK" --headless --fake --demo-cards "$WORK/demo-cards" 2>&1) &&
    fail "--fake with --demo-cards was accepted"
echo "$out" | grep -q "not with --fake" || fail "--fake: $out"
printf 'wait screen home 20s\ndemo 7\n' >"$WORK/nokey.script"
"$KIOSK" --headless --config "$K/client.conf" --demo-cards "$WORK/demo-cards" \
    --script "$WORK/nokey.script" --max-seconds 60 2>"$OUT/nokey.log"
st=$?
[ $st -eq 3 ] || fail "a demo key without a card: exit $st, not 3"
grep -q "script line 2: no demo card with key 7" "$OUT/nokey.log" || fail "demo 7: $(cat "$OUT/nokey.log")"
echo "refused: a bad line (file:line), a missing slot, outside the rig, --fake, an unknown key"

stop_server
echo "PASS: demo mode's keys put the demo cards down and take them away, the strip lists them"
