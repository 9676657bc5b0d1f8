#!/bin/sh
# The kiosk under faults, end to end and headless: a demo deployment, huimin-server, the rig with
# 张秀英's welfare card (reader 0; 王建国's ID card at the end) and 李娜's ID card (reader 1), and
# huimin-kiosk --script, whose "rig pcscd ..." steps restart, stop, unplug and plug the real pcscd
# through huimin-rig's rig.sock. A card pulled on the status screen, on the PIN pad with digits typed, while the
# confirmation is signed, on the dispute screens and on 好差评 leaves nothing of her: home (or the
# rating she may still give), session=0 in the frame line and none of her name, amounts or masked
# number drawn afterwards. An ID card pulled while it is read in 婚姻登记预约 asks for it again
# and shows nobody's data; the couple walking away is wiped by the idle timeout. The reader
# unplugged shows 读卡器未连接 and wipes the visit; plugged back, a tap reads. pcscd restarted while
# idle: the next tap reads; restarted or stopped in the middle of a flow: the visit is wiped, and
# the card that lay on the reader through it is not read again until it is put down again.
set -u
. "${HUIMIN_SOURCE_DIR:?run under ctest}/tests/server/lib/server-lib.sh"
HI="$BIN/tools/huimin-issue"
HC="$BIN/tools/huimin-card"
VC="$BIN/fixtures/huimin-vcard"
KIOSK="$BIN/kiosk/ui/huimin-kiosk"

if [ "${1:-}" != inner ]; then
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    cp "$SRC/fixtures/cards/piv-blank.json" "$work/card0.json"
    "$HI" id-fixtures --dir "$work/ids" >/dev/null || fail "huimin-issue id-fixtures"
    export WORK="$work"
    # The ID card starts off the reader, so the issuance below finds the welfare card alone.
    "$BIN/tools/huimin-rig" --card "$work/card0.json" --card "$work/ids/li-td1.json" \
        --card-arg --removed -- "$0" inner
    exit $?
fi

SERVER_PID=
trap '[ -n "$SERVER_PID" ] && kill -9 "$SERVER_PID" 2>/dev/null' EXIT
D="$WORK/deploy"
OUT="${HUIMIN_KIOSK_UI_OUT:-$WORK/out}/faults"
mkdir -p "$OUT"
RIG="$HUIMIN_RIG_DIR/rig.sock"

# The rig's control socket itself: status, and a clear error for a command it does not know.
out=$("$VC" --send "$RIG" status) || fail "rig.sock status: $out"
[ "$out" = "ok pcscd=running reader=plugged" ] || fail "rig.sock status said: $out"
out=$("$VC" --send "$RIG" unplug-everything) && fail "rig.sock took an unknown command: $out"
echo "$out" | grep -q "^error: unknown command 'unplug-everything' (restart-pcscd" ||
    fail "rig.sock's error does not say what it takes: $out"

demo_deployment "$D" sqlite
conf_set "$D/huimin.conf" marriage cancel_until_hours 0
mkdir -p "$D/pki/csca"
cp "$WORK/ids/trust/csca.pem" "$WORK/ids/trust/csca.crl" "$D/pki/csca/" || fail "CSCA store"
"$ADMIN" enroll-kiosk --dir "$D" --id kiosk-a --name "富川 1号机" --office fc-01 >/dev/null ||
    fail "enroll-kiosk"
out=$("$HI" card --dir "$D/pki" --name "张秀英" --welfare-no WF3301060000123 --pin 135790) ||
    fail "issuance: $out"
"$HC" cert --key 9e --out "$WORK/9e.pem" >/dev/null || fail "huimin-card cert"
out=$("$ADMIN" register-card --dir "$D" --cert "$WORK/9e.pem" 2>&1) || fail "register-card: $out"
start_server "$D"
K="$D/kiosks/kiosk-a"
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
"$VC" --send "$HUIMIN_RIG_DIR/card0.sock" remove >/dev/null || fail "remove the card"

# kiosk NAME SCRIPT: the kiosk headless on SCRIPT; shots in $OUT/NAME, text in $OUT/NAME.txt.
kiosk() {
    "$KIOSK" --headless --config "$K/client.conf" --script "$2" --shots "$OUT/$1" \
        --dump-text "$OUT/$1.txt" --max-seconds 240 2>"$OUT/$1.log"
    st=$?
    [ $st -eq 0 ] || { tail -30 "$OUT/$1.log"; fail "huimin-kiosk ($1) exited $st"; }
}
# after NAME FROM TO [UNTIL]: the frames from the first TO screen after the first FROM screen
# on (up to the next UNTIL screen, if given).
after() {
    awk -v from="screen=$2 " -v to="screen=$3 " -v until="screen=${4:-none} " '
        /^frame / && index($0 " ", from) { seen = 1 }
        on && /^frame / && index($0 " ", until) { exit }
        seen && /^frame / && index($0 " ", to) { on = 1 }
        on' "$OUT/$1.txt"
}
# wiped NAME FROM TO [UNTIL]: after FROM, the first TO frame holds no session and no frame from
# there on (up to UNTIL) draws her name, an amount or her masked welfare number.
wiped() {
    rest=$(after "$1" "$2" "$3" "${4:-none}")
    [ -n "$rest" ] || fail "$1: no $3 frame after $2"
    echo "$rest" | head -1 | grep -q "session=0" || fail "$1: data still held on $3: $(echo "$rest" | head -1)"
    echo "$rest" | grep -q "张秀英" && fail "$1: her name was drawn after the fault"
    echo "$rest" | grep -q "元" && fail "$1: an amount was drawn after the fault"
    echo "$rest" | grep -q "WF3\*" && fail "$1: her masked number was drawn after the fault"
    return 0
}
# want NAME: whether to run that part (HUIMIN_FAULTS_ONLY=NAME runs one, for debugging).
want() {
    [ -z "${HUIMIN_FAULTS_ONLY:-}" ] || [ "$HUIMIN_FAULTS_ONLY" = "$1" ]
}
# shot_ok NAME SHOT: the screenshot was written.
shot_ok() {
    [ -s "$OUT/$1/$2.png" ] || fail "$1: no screenshot $2.png: $(ls "$OUT/$1")"
}

# --- the card pulled on each screen of the welfare flows ---------------------------------------
if want status; then
cat >"$WORK/status.script" <<'S'
wait screen home 30s
card insert welfare 0
wait screen status 60s
shot status
card remove 0
wait screen home 20s
shot home
S
kiosk status "$WORK/status.script"
grep -q "张秀英" "$OUT/status.txt" || fail "status: her status was not shown first"
wiped status status home
shot_ok status home
echo "status: the card pulled on the status screen: home, wiped"
fi

if want pin; then
cat >"$WORK/pin.script" <<'S'
wait screen home 30s
card insert welfare 0
wait screen status 60s
touch confirm-*
wait screen pin 10s
type 1357
shot pin
card remove 0
wait screen home 20s
shot home
S
kiosk pin "$WORK/pin.script"
wiped pin pin home
shot_ok pin home
echo "pin: the card pulled with four digits typed: home, wiped"
fi

# The card goes at the first APDU of the confirmation (the signature): home, nothing confirmed.
if want confirming; then
cat >"$WORK/confirming.script" <<'S'
wait screen home 30s
card insert welfare 0
wait screen status 60s
touch confirm-*
wait screen pin 10s
type 135790
rig 0 pull-after 0
touch pin-ok
wait screen home 60s
shot home
S
kiosk confirming "$WORK/confirming.script"
grep -q "screen=confirming" "$OUT/confirming.txt" || fail "confirming: the confirmation never started"
wiped confirming confirming home
grep -q "screen=receipt" "$OUT/confirming.txt" && fail "confirming: a receipt without the card"
echo "confirming: the card pulled while it signed: home, wiped, no receipt"
fi

if want dispute; then
cat >"$WORK/dispute.script" <<'S'
wait screen home 30s
card insert welfare 0
wait screen status 60s
touch dispute-*
wait screen dispute 10s
shot dispute
card remove 0
wait screen home 20s
card insert welfare 0
wait screen status 60s
touch dispute-*
wait screen dispute 10s
touch reason-not_received
wait screen dispute-confirm 10s
shot dispute-confirm
card remove 0
wait screen home 20s
shot home
S
kiosk dispute "$WORK/dispute.script"
wiped dispute dispute home reading
wiped dispute dispute-confirm home
echo "dispute: the card pulled on the reasons and on the confirmation: home, wiped"
fi

# 好差评 comes after the visit was wiped; taking the card away there is what most residents do, so
# the rating stays for her to give (or skip) and holds nothing of her.
if want rating; then
cat >"$WORK/rating.script" <<'S'
wait screen home 30s
card insert welfare 0
wait screen status 60s
touch dispute-*
wait screen dispute 10s
touch reason-wrong_amount
wait screen dispute-confirm 10s
touch submit
wait screen disputed 60s
touch done
wait screen rating 20s
card remove 0
sleep 1s
wait screen rating 5s
shot rating
touch rate-4
wait screen thanks 10s
advance 6s
wait screen home 10s
S
kiosk rating "$WORK/rating.script"
rest=$(after rating rating rating)
echo "$rest" | grep "^frame" | grep -vq "session=0" && fail "rating: data held on the rating screen"
echo "$rest" | grep -q "张秀英\|元\|WF3\*" && fail "rating: her data was drawn on 好差评"
grep -q "rating 4 of 5" "$OUT/rating.log" || fail "rating: the rating after the card left was lost"
echo "rating: the card taken away on 好差评: nothing of her held or drawn, the rating still given"
fi

# --- pcscd restarted while idle: the next tap reads ---------------------------------------------
if want restart-idle; then
cat >"$WORK/restart-idle.script" <<'S'
wait screen home 30s
rig pcscd restart-pcscd
card insert welfare 0
wait screen status 60s
card remove 0
wait screen home 20s
rig pcscd stop-pcscd
wait text 读卡器未连接 30s
shot stopped
rig pcscd start-pcscd
card insert welfare 0
wait screen status 60s
card remove 0
wait screen home 20s
S
kiosk restart-idle "$WORK/restart-idle.script"
[ "$(grep -c "^frame .*screen=status" "$OUT/restart-idle.txt")" -ge 2 ] ||
    fail "restart-idle: a tap after the restarts was not read"
grep -q "请联系工作人员" "$OUT/restart-idle.txt" || fail "restart-idle: pcscd stopped: no word on what to do"
echo "restart-idle: after a pcscd restart and a stop/start, the next tap reads"
fi

# --- pcscd restarted, stopped, the reader unplugged in the middle of a flow -----------------------
if want restart-pin; then
cat >"$WORK/restart-pin.script" <<'S'
wait screen home 30s
card insert welfare 0
wait screen status 60s
touch confirm-*
wait screen pin 10s
type 1357
rig pcscd restart-pcscd
wait screen card-error 30s
shot after-restart
wait text 读卡器刚刚恢复 60s
shot settled
touch retry
wait screen status 60s
card remove 0
wait screen home 20s
S
kiosk restart-pin "$WORK/restart-pin.script"
wiped restart-pin pin card-error reading
awk '/screen=pin/ { p = 1 } p && /^frame .*screen=status/ { exit } p' "$OUT/restart-pin.txt" |
    grep "^frame" | grep -v "screen=pin" | grep -vq "session=0" &&
    fail "restart-pin: data held between the restart and the retry"
echo "restart-pin: pcscd restarted on the PIN pad: wiped; the card still there is read on 重试 only"
fi

if want unplug; then
cat >"$WORK/unplug.script" <<'S'
wait screen home 30s
card insert welfare 0
wait screen status 60s
rig pcscd unplug
wait text 读卡器未连接 30s
shot unplugged
touch home
wait screen home 10s
wait text 读卡器未连接 10s
shot home-unplugged
rig pcscd plug
wait screen card-error 30s
shot plugged
card remove 0
wait screen home 20s
card insert welfare 0
wait screen status 60s
card remove 0
wait screen home 20s
S
kiosk unplug "$WORK/unplug.script"
wiped unplug status card-error reading
rest=$(after unplug status card-error | awk '/^frame .*screen=status/ { exit } { print }')
echo "$rest" | grep "^frame" | grep -vq "session=0" && fail "unplug: data held while unplugged"
echo "$rest" | grep -q "张秀英\|元\|WF3\*" && fail "unplug: her data drawn while unplugged"
after unplug status home | grep -q "请联系工作人员" || fail "unplug: home does not say the reader is missing"
shot_ok unplug home-unplugged
echo "unplug: 读卡器未连接 with what to do, the visit wiped; plugged back, a tap reads"
fi

# --- 婚姻登记预约: an ID card pulled while it is read ---------------------------------------------
if want idcard; then
cat >"$WORK/idcard.script" <<'S'
wait screen home 30s
touch marriage
wait screen m-service 10s
touch svc-marriage
wait screen m-office 60s
touch office-hz-hall
wait screen m-date 60s
touch day-*
wait screen m-slot 10s
touch slot-*
wait screen m-mrz 10s
touch mk-H
touch mk-A
type 2468013
key enter
type 920817
key enter
type 420817
key enter
wait screen m-idcard 10s
rig 1 pull-after 2
card insert id 1
wait text 证件被移开了 60s
shot pulled
card insert id 1
wait text 第2位申请人 60s
shot party2
card remove 1
touch mk-H
touch mk-A
type 7654321
key enter
type 900515
key enter
type 400515
key enter
wait screen m-idcard 10s
# 王建国's card (on reader 0 now) is cut off at its third command.
rig 0 pull-after 2
card insert id 0
wait text 证件被移开了 60s
shot pulled2
advance 121s
wait screen idle 10s
advance 31s
wait screen home 10s
shot home
S
# The welfare card's part is over: reader 0's virtual card becomes 王建国's ID card, off the
# reader, and the kiosk starts once pcscd sees it gone.
out=$("$VC" --send "$HUIMIN_RIG_DIR/card0.sock" swap "$WORK/ids/wang-td1.json") || fail "swap: $out"
"$VC" --send "$HUIMIN_RIG_DIR/card0.sock" remove >/dev/null || fail "remove card 0"
i=0
while "$HC" list 2>/dev/null | grep -A1 "Reader 00 00" | grep -q "card present"; do
    i=$((i + 1)); [ $i -lt 300 ] || fail "pcscd still shows a card on reader 0 after 60 s"
    sleep 0.2
done
kiosk idcard "$WORK/idcard.script"
# From each pull until the card is read (or the visit ends), nobody's name or ID number is drawn.
for pull in 1 2; do
    awk -v n=$pull '/证件被移开了/ { k++ } k == n && /^frame/ && !/screen=m-idcard/ { exit } k == n' \
        "$OUT/idcard.txt" | grep -q "李娜\|王建国\|\*\*\*\*" && fail "idcard: data drawn after pull $pull"
done
grep -q "李娜" "$OUT/idcard.txt" && fail "idcard: 李娜's name drawn before the summary"
rest=$(after idcard idle home)
echo "$rest" | head -1 | grep -q "session=0" || fail "idcard: the couple's data kept after the idle timeout"
grep -q "320102199208170046\|330106199005150034" "$OUT/idcard.txt" "$OUT/idcard.log" &&
    fail "idcard: a full ID number drawn or logged"
# The document numbers are drawn as they are typed, and nowhere else.
awk '/^frame/ { mrz = /screen=m-mrz/ } !mrz' "$OUT/idcard.txt" | grep -q "2468013\|7654321" &&
    fail "idcard: a document number drawn after it was typed"
grep -q "2468013\|7654321" "$OUT/idcard.log" && fail "idcard: a document number logged"
echo "idcard: an ID card pulled while read asks for it again (numbers kept, nothing shown); idle wipes"
fi

stop_server
echo "PASS: huimin-kiosk under faults: cards pulled in every flow, pcscd restarted and stopped, the reader unplugged"
