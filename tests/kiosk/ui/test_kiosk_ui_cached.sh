#!/bin/sh
# The server unreachable at a tap, end to end and headless: a demo deployment, huimin-server, the
# rig with 张秀英's welfare card (reader 0) and a second welfare card that has never been tapped
# (reader 1). Her tap with the server up shows her status, which the kiosk keeps (one row in the
# journal database's status_cache, never logged). The server is killed; her next tap is checked
# at the kiosk (issuer CA) and shows that kept status with its "as of" time and the offline
# banner, without 确认领取 / 没有收到, and 长辈模式 says the time aloud. Her card removed: home, with
# nothing of her drawn. The other card, with nothing kept, gets the plain "cannot reach the
# server" message.
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
    cp "$SRC/fixtures/cards/piv-blank.json" "$work/card1.json"
    export WORK="$work"
    # The second card starts off the reader, so the first issuance finds hers alone.
    "$BIN/tools/huimin-rig" --card "$work/card0.json" --card "$work/card1.json" \
        --card-arg --removed -- "$0" inner
    exit $?
fi

SERVER_PID=
trap '[ -n "$SERVER_PID" ] && kill -9 "$SERVER_PID" 2>/dev/null' EXIT
D="$WORK/deploy"
K="$D/kiosks/kiosk-a"
OUT="${HUIMIN_KIOSK_UI_OUT:-$WORK/out}/cached"
mkdir -p "$OUT"
demo_deployment "$D" sqlite
"$ADMIN" enroll-kiosk --dir "$D" --id kiosk-a --name "富川 1号机" --office fc-01 >/dev/null ||
    fail "enroll-kiosk"
out=$("$HI" card --dir "$D/pki" --name "张秀英" --welfare-no WF3301060000123 --pin 135790) ||
    fail "issuance: $out"
"$HC" cert --key 9e --out "$WORK/9e.pem" >/dev/null || fail "huimin-card cert"
out=$("$ADMIN" register-card --dir "$D" --cert "$WORK/9e.pem" 2>&1) || fail "register-card: $out"
# The second card: issued by the same issuer, never tapped at this kiosk.
"$VC" --send "$HUIMIN_RIG_DIR/card0.sock" remove >/dev/null || fail "remove her card"
"$VC" --send "$HUIMIN_RIG_DIR/card1.sock" insert >/dev/null || fail "insert the second card"
# pcscd sees the swap within a moment: the issuance waits for it.
i=0
until out=$("$HI" card --dir "$D/pki" --name "李明" --welfare-no WF3301060000456 --pin 246802 2>&1)
do
    i=$((i + 1))
    [ $i -lt 20 ] || fail "issuance of the second card: $out"
    sleep 0.5
done
"$VC" --send "$HUIMIN_RIG_DIR/card1.sock" remove >/dev/null || fail "remove the second card"
# Until pcscd has seen both readers empty: a kiosk started before would find a card that is
# going away on reader 2 (and show the "card moved" screen instead of waiting for hers).
i=0
until "$HC" list --json | grep -q '"index":0,[^}]*"card":false.*"index":1,[^}]*"card":false'; do
    i=$((i + 1))
    [ $i -lt 50 ] || fail "pcscd still sees a card: $("$HC" list)"
    sleep 0.2
done
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
status_cache_hours = 24
CONF

# kiosk NAME SCRIPT [ARGS...]: the kiosk headless on SCRIPT; shots in $OUT/NAME, text in
# $OUT/NAME.txt.
kiosk() {
    name=$1 script=$2
    shift 2
    "$KIOSK" --headless --config "$K/client.conf" --script "$script" --shots "$OUT/$name" \
        --dump-text "$OUT/$name.txt" --max-seconds 200 "$@" 2>"$OUT/$name.log"
    st=$?
    [ $st -eq 0 ] || { tail -30 "$OUT/$name.log"; fail "huimin-kiosk ($name) exited $st"; }
}
# frames NAME SCREEN: every frame of that screen (its header line and its strings).
frames() {
    awk -v want="screen=$2 " '/^frame / { on = index($0 " ", want) > 0 } on' "$OUT/$1.txt"
}

# --- the server up: her status, kept -------------------------------------------------------
cat >"$WORK/up.script" <<'S'
wait screen home 20s
card insert welfare 0
wait screen status 30s
shot status
card remove 0
wait screen home 10s
S
kiosk up "$WORK/up.script"
grep -q "张秀英" "$OUT/up.txt" || fail "the status did not name her"
rows=$(sqlite3 "$K/journal.db" "SELECT count(*) FROM status_cache") || fail "no status_cache"
[ "$rows" = 1 ] || fail "$rows statuses kept, not 1"
as_of=$(sqlite3 "$K/journal.db" "SELECT verified_at FROM status_cache")
token=$(sqlite3 "$K/journal.db" "SELECT token FROM status_cache")
case $token in eyJ*.*.*) ;; *) fail "what is kept is not a JWS" ;; esac
grep -q "eyJ" "$OUT/up.log" && fail "the kept status (a token) was logged"
[ "$(stat -c %a "$K/journal.db")" = 600 ] || fail "the journal database is not private"
echo "up: her status shown and kept (as of $as_of)"

# --- the server gone: her kept status, marked with its time ----------------------------------
kill -9 "$SERVER_PID"
wait "$SERVER_PID" 2>/dev/null
SERVER_PID=
when=$(date -d "@$as_of" "+%-m月%-d日 %H:%M")
cat >"$WORK/down.script" <<'S'
wait screen home 20s
touch elder
card insert welfare 0
wait screen status 60s
wait text 下面是 5s
shot cached
card remove 0
wait screen home 10s
shot after-remove
S
kiosk down "$WORK/down.script" --speech-wav "$OUT/down.wav"
st=$(frames down status)
[ -n "$st" ] || fail "no status frame with the server down"
echo "$st" | grep -q "服务器暂时连不上。下面是 $when 的信息，可能已有变化。" ||
    fail "no as-of line for $when: $(echo "$st" | grep 下面是)"
echo "$st" | grep -q "服务器暂时连不上：确认先保存在本机" || fail "no offline banner"
echo "$st" | grep -q "张秀英" || fail "the kept status did not name her"
echo "$st" | grep -q "750.00 元" || fail "the kept status shows no amount"
echo "$st" | grep -q "确认领取要连上服务器才能办" || fail "no note that confirming needs the server"
echo "$st" | grep -qx "  确认领取" && fail "a 确认领取 button on a kept status"
echo "$st" | grep -qx "  没有收到" && fail "a 没有收到 button on a kept status"
grep "^speech " "$OUT/down.txt" | grep -q "下面是 $when 的信息" ||
    fail "长辈模式 did not say the as-of time: $(grep '^speech ' "$OUT/down.txt")"
grep -q "eyJ" "$OUT/down.log" && fail "the kept status (a token) was logged"
rest=$(awk '/^frame .*screen=status/ { seen = 1 } seen && /^frame .*screen=home/ { on = 1 } on' \
    "$OUT/down.txt")
[ -n "$rest" ] || fail "no home frame after her card was removed"
echo "$rest" | head -1 | grep -q "session=0" || fail "data still held after removal: $rest"
echo "$rest" | grep -q "张秀英" && fail "her name was drawn after the card was removed"
echo "$rest" | grep -q "元" && fail "an amount was drawn after the card was removed"
echo "$rest" | grep -q "WF3\*" && fail "her masked number was drawn after the card was removed"
echo "down: her kept status as of $when with the banner, no confirm button, said aloud; removal wiped"

# --- a card with nothing kept: the plain offline message ---------------------------------------
cat >"$WORK/other.script" <<'S'
wait screen home 20s
card insert welfare 1
wait screen card-error 60s
wait text 暂时连不上服务器 5s
shot other
card remove 1
wait screen home 10s
S
kiosk other "$WORK/other.script"
grep -q "请稍后再试；如需帮助，请呼叫工作人员。" "$OUT/other.txt" || fail "no offline help"
frames other status | grep -q . && fail "a status was shown for a card never tapped"
grep -q "张秀英\|李明\|下面是" "$OUT/other.txt" && fail "someone's data was drawn for the other card"
echo "other: a card never tapped gets the plain offline message"
echo "PASS: a kept status while the server is unreachable"
