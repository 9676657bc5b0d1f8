#!/bin/sh
# A slow server at the touch front end, end to end and headless: huimin-server holds every answer
# to a kiosk (its test hook HUIMIN_SERVER_TEST_DELAY_MS), the rig has 张秀英's welfare card, and
# huimin-kiosk runs a script whose "advance" moves the kiosk's injected clock while the server
# still holds the answer. Reading the status: after a few seconds the screen says it takes longer
# than usual with the seconds waited, a little later it offers 取消; 取消 says nothing was done,
# and the status that arrives afterwards is dropped (her name is never drawn). Waiting instead,
# the status comes; the confirmation after the PIN says it is kept and delivered, offers no
# 取消, and ends with the receipt.
set -u
. "${HUIMIN_SOURCE_DIR:?run under ctest}/tests/server/lib/server-lib.sh"
HI="$BIN/tools/huimin-issue"
HC="$BIN/tools/huimin-card"
VC="$BIN/fixtures/huimin-vcard"
KIOSK="$BIN/kiosk/ui/huimin-kiosk"
DELAY_MS=4000

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
OUT="${HUIMIN_KIOSK_UI_OUT:-$WORK/out}/slow"
mkdir -p "$OUT"
demo_deployment "$D" sqlite
"$ADMIN" enroll-kiosk --dir "$D" --id kiosk-a --name "富川 1号机" --office fc-01 >/dev/null ||
    fail "enroll-kiosk"
out=$("$HI" card --dir "$D/pki" --name "张秀英" --welfare-no WF3301060000123 --pin 135790) ||
    fail "issuance: $out"
"$HC" cert --key 9e --out "$WORK/9e.pem" >/dev/null || fail "huimin-card cert"
out=$("$ADMIN" register-card --dir "$D" --cert "$WORK/9e.pem" 2>&1) || fail "register-card: $out"
export HUIMIN_SERVER_TEST_DELAY_MS=$DELAY_MS
start_server "$D"
unset HUIMIN_SERVER_TEST_DELAY_MS
grep -q "HUIMIN_SERVER_TEST_DELAY_MS" "$D/server.log" ||
    fail "the server did not announce its test delay (no HUIMIN_SERVER_TEST_DELAY_MS hook?)"
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

kiosk() {
    "$KIOSK" --headless --config "$K/client.conf" --script "$2" --shots "$OUT/$1" \
        --dump-text "$OUT/$1.txt" --max-seconds 150 2>"$OUT/$1.log"
    st=$?
    [ $st -eq 0 ] || { cat "$OUT/$1.log"; fail "huimin-kiosk ($1) exited $st"; }
}
# frames NAME SCREEN: the text of the frames drawn on SCREEN.
frames() {
    awk -v s="screen=$2 " '/^frame / { on = index($0, s) > 0 } on' "$OUT/$1.txt"
}

# --- reading the status, abandoned: nothing was done, the late answer is dropped -------------
# (Reading takes three requests, each held DELAY_MS: the script is long done before it comes.)
cat >"$WORK/cancel.script" <<'S'
wait screen home 20s
card insert welfare 0
wait screen reading 10s
advance 5s
wait text 比平时慢一些 5s
shot slow
advance 6s
wait text 不想再等 5s
shot slow-cancel
touch wait-cancel
wait screen card-error 5s
wait text 什么都没有办理 5s
shot cancelled
# The status arrives meanwhile (three held answers): it must not be shown.
sleep 16s
shot after
card remove 0
wait screen home 10s
S
kiosk cancel "$WORK/cancel.script"
frames cancel reading | grep -q "已经等了" || fail "the slow read did not show the seconds waited"
frames cancel card-error | grep -q "已停止等待" || fail "取消 did not say the wait was stopped"
grep -q "张秀英" "$OUT/cancel.txt" && fail "the status that came after 取消 was drawn"
grep -q "screen=status" "$OUT/cancel.txt" && fail "the kiosk went to the status after 取消"
grep -q "stopped waiting" "$OUT/cancel.log" || fail "the kiosk did not log the abandoned wait"
echo "a slow read: 'slower than usual' with the seconds, 取消 says nothing was done, the late"
echo "status is dropped"

# --- waiting it out: the status, then a confirmation that offers no 取消 ----------------------
cat >"$WORK/wait.script" <<'S'
wait screen home 20s
card insert welfare 0
wait screen reading 10s
advance 5s
wait text 比平时慢一些 5s
wait screen status 60s
touch confirm-*
wait screen pin 5s
type 135790
touch pin-ok
wait screen confirming 10s
advance 30s
wait text 这次确认会保存在本机 5s
shot confirming-slow
wait screen receipt 60s
shot receipt
card remove 0
wait screen home 10s
S
kiosk wait "$WORK/wait.script"
grep -q "张秀英" "$OUT/wait.txt" || fail "the slow status was not shown"
frames wait confirming | grep -q "比平时慢一些" || fail "the slow confirmation did not say so"
frames wait confirming | grep -qx "  取消" && fail "取消 was offered on a confirmation"
grep -q "screen=receipt" "$OUT/wait.txt" || fail "no receipt after the slow confirmation"
echo "a slow confirmation: kept and delivered, no 取消, the receipt"

stop_server
echo "PASS: the slow server's progress and 取消 at the kiosk against huimin-server"
