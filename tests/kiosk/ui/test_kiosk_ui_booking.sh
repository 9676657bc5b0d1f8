#!/bin/sh
# 婚姻登记预约 at the touch front end, end to end and headless: a demo deployment (offices and
# special dates imported, the id-fixtures' CSCA in the server's store), huimin-server, the rig
# with 李娜's (reader 0) and 王建国's (reader 1) virtual ID cards, and huimin-kiosk --script. The
# couple chooses 结婚登记, hz-hall, the first day with places and its first free slot; each
# types the MRZ numbers on the keypad (a wrong number first: the chip refuses, they type again)
# and puts the card down; the summary shows masked ID numbers only; the booking's ticket QR code
# in the screenshot is read by zbarimg and verified by huimin-verify. A second booking of the
# same couple is refused with the server's message and what to do next. Then 我的预约 with
# 李娜's card lists it and 改约 moves it (王建国 reads his card too; a day, a slot, the summary, a
# new ticket whose QR code huimin-verify verifies); 我的预约 cancels the new one after asking,
# and huimin-client sees the old one rescheduled and the new one cancelled. Last, 呼叫工作人员
# on the home screen reaches the hall's queue (huimin-admin exceptions).
set -u
. "${HUIMIN_SOURCE_DIR:?run under ctest}/tests/server/lib/server-lib.sh"
HI="$BIN/tools/huimin-issue"
HV="$BIN/tools/huimin-verify"
VC="$BIN/fixtures/huimin-vcard"
KC="$BIN/kiosk/client/huimin-client"
KIOSK="$BIN/kiosk/ui/huimin-kiosk"

if [ "${1:-}" != inner ]; then
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    "$HI" id-fixtures --dir "$work/ids" >/dev/null || fail "huimin-issue id-fixtures"
    export WORK="$work"
    "$BIN/tools/huimin-rig" --card "$work/ids/li-td1.json" --card "$work/ids/wang-td1.json" \
        -- "$0" inner
    exit $?
fi

SERVER_PID=
trap '[ -n "$SERVER_PID" ] && kill -9 "$SERVER_PID" 2>/dev/null' EXIT
D="$WORK/deploy"
K="$D/kiosks/kiosk-a"
OUT="${HUIMIN_KIOSK_UI_OUT:-$WORK/out}/booking"
mkdir -p "$OUT"
demo_deployment "$D" sqlite
# The kiosk offers days from tomorrow, whose first places start within 24 hours of now for most
# of the day; this test cancels what it books, so no cancellation deadline here (the deadline
# itself is tested in e2e_appointments_*).
conf_set "$D/huimin.conf" marriage cancel_until_hours 0
mkdir -p "$D/pki/csca"
cp "$WORK/ids/trust/csca.pem" "$WORK/ids/trust/csca.crl" "$D/pki/csca/" || fail "CSCA store"
"$ADMIN" enroll-kiosk --dir "$D" --id kiosk-a --name "贺州 1号机" --office hz-hall >/dev/null ||
    fail "enroll-kiosk"
start_server "$D"
cat >"$K/client.conf" <<CONF
server = https://localhost:$PORT
cert = kiosk.pem
key = kiosk.key
cacert = server-ca.pem
signing_cert = signing.pem
kiosk = kiosk-a
journal = journal.db
csca_dir = ../../pki/csca
CONF
# The couple holds their cards until they are asked for them.
for n in 0 1; do
    "$VC" --send "$HUIMIN_RIG_DIR/card$n.sock" remove >/dev/null || fail "remove card $n"
done
sleep 1

# kiosk NAME SCRIPT: the kiosk headless on SCRIPT; shots in $OUT/NAME, text in $OUT/NAME.txt.
kiosk() {
    "$KIOSK" --headless --config "$K/client.conf" --script "$2" --shots "$OUT/$1" \
        --dump-text "$OUT/$1.txt" --max-seconds 150 2>"$OUT/$1.log"
    st=$?
    [ $st -eq 0 ] || { cat "$OUT/$1.log"; fail "huimin-kiosk ($1) exited $st"; }
}
no_full_ids() {
    for id in 320102199208170046 330106199005150034; do
        grep -q "$id" "$@" && fail "a full ID number in $*"
    done
    return 0
}

# --- book: service, office, day, slot, two ID cards, summary, ticket ------------------------
cat >"$WORK/book.script" <<'S'
wait screen home 20s
touch marriage
wait screen m-service 20s
touch svc-marriage
wait screen m-office 30s
# 富川 first: it does not serve a couple from Jiangsu and Zhejiang (office_not_competent).
touch office-fc-hall
wait screen m-date 30s
shot date
touch day-*
wait screen m-slot 20s
shot slot
touch slot-*
wait screen m-mrz 20s
# 李娜 types a wrong birth date first: the chip refuses the numbers, nothing is sent.
touch mk-H
touch mk-A
type 2468013
touch mk-next
type 920818
touch mk-next
type 420817
touch mk-next
wait screen m-idcard 20s
card insert id 0
wait text 号码和证件对不上 30s
shot mrz-wrong
touch mk-H
touch mk-A
type 2468013
key enter
type 920817
key enter
type 420817
key enter
wait screen m-idcard 20s
# Her card is still on the reader: 读卡 reads it again.
touch read-card
wait text 第2位申请人 60s
shot mrz-2
card remove 0
touch mk-H
touch mk-A
type 7654321
key enter
type 900515
key enter
type 400515
key enter
wait screen m-idcard 20s
card insert id 1
wait screen m-summary 60s
shot summary
touch book
wait screen m-refused 30s
shot refused-office
# 重新选择 goes back to the offices; the couple's cards need not be read again.
touch choose-again
wait screen m-office 20s
touch office-hz-hall
wait screen m-date 30s
touch day-*
wait screen m-slot 20s
touch slot-*
wait screen m-summary 20s
touch book
wait screen m-ticket 30s
shot ticket
touch done
wait screen rating 10s
touch rate-5
wait screen thanks 20s
card remove 1
S
kiosk book "$WORK/book.script"
no_full_ids "$OUT/book.txt" "$OUT/book.log"
grep -q "320\*\{11\}0046" "$OUT/book.txt" || fail "no masked ID for 李娜 on the summary"
grep -q "330\*\{11\}0034" "$OUT/book.txt" || fail "no masked ID for 王建国"
grep -q "贺州市八步区婚姻登记处" "$OUT/book.txt" || fail "the office was not named"
grep -q "2468013\|920817" "$OUT/book.log" && fail "MRZ numbers were logged"
token=$(zbarimg -q --raw "$OUT/book/ticket.png" 2>/dev/null | head -1)
[ -n "$token" ] || fail "zbarimg read no QR code in the ticket screenshot"
out=$("$HV" --cert "$K/signing.pem" --ca "$D/pki/root-ca.pem" "$token" 2>&1) ||
    fail "huimin-verify does not verify the ticket from the screenshot: $out"
echo "$out" | grep -q "^Genuine: this ticket" || fail "the ticket is not genuine: $out"
echo "$out" | grep -q "结婚登记 / marriage registration" || fail "not a marriage ticket: $out"
echo "$out" | grep -q "登记处   Office       hz-hall" || fail "not at hz-hall: $out"
echo "$out" | grep -q "李娜  320\*\{11\}0046" || fail "李娜 not on the ticket: $out"
grep -q "office_not_competent" "$OUT/book.log" || fail "fc-hall was not refused as office_not_competent"
awk '/screen=m-refused/ { on = 1 } /screen=m-office/ { on = 0 } on' "$OUT/book.txt" |
    grep -q "请选择能办理您业务的登记处" || fail "the refusal does not say to choose another office"
T=$(grep -o "预约号：[A-Za-z0-9_-]*" "$OUT/book.txt" | head -1 | sed 's/预约号：//')
[ -n "$T" ] || fail "no booking number shown"
echo "booked at the kiosk: ticket $T, its QR code read by zbarimg and genuine for huimin-verify"

# --- the same couple again: refused with the server's message and what to do ----------------
cat >"$WORK/again.script" <<'S'
wait screen home 20s
touch marriage
wait screen m-service 20s
touch svc-marriage
wait screen m-office 30s
touch office-hz-hall
wait screen m-date 30s
touch day-*
wait screen m-slot 20s
touch slot-*
wait screen m-mrz 20s
touch mk-H
touch mk-A
type 2468013
key enter
type 920817
key enter
type 420817
key enter
wait screen m-idcard 20s
card insert id 0
wait screen m-mrz 60s
card remove 0
touch mk-H
touch mk-A
type 7654321
key enter
type 900515
key enter
type 400515
key enter
wait screen m-idcard 20s
card insert id 1
wait screen m-summary 60s
touch book
wait screen m-refused 30s
shot refused
touch home
wait screen home 20s
card remove 1
S
kiosk again "$WORK/again.script"
grep -q "我的预约" "$OUT/again.txt" || fail "the refusal does not point to 我的预约"
awk '/screen=m-refused/ { on = 1 } on' "$OUT/again.txt" | LC_ALL=C grep -q '[^ -~]' ||
    fail "no Chinese message on the refusal"
grep -q "active_booking_exists" "$OUT/again.log" || fail "not refused as active_booking_exists"
echo "a second booking of the couple: the server's message and 我的预约 as the next step"

# --- 改约: 李娜's card, the list, 王建国's card, a new day and slot, a new ticket -------------
cat >"$WORK/resched.script" <<'S'
wait screen home 20s
touch mine
wait screen m-mrz 20s
touch mk-H
touch mk-A
type 2468013
key enter
type 920817
key enter
type 420817
key enter
wait screen m-idcard 20s
card insert id 0
wait screen m-mine 60s
touch resched-*
wait screen m-mrz 20s
wait text 另一位申请人 20s
shot resched-mrz
card remove 0
touch mk-H
touch mk-A
type 7654321
key enter
type 900515
key enter
type 400515
key enter
wait screen m-idcard 20s
card insert id 1
wait screen m-date 60s
touch day-*
wait screen m-slot 20s
touch slot-*
wait screen m-summary 20s
wait text 确认改约 20s
shot resched-summary
touch reschedule
wait screen m-ticket 30s
wait text 改约成功 20s
shot resched-ticket
touch done
wait screen rating 10s
card remove 1
S
kiosk resched "$WORK/resched.script"
no_full_ids "$OUT/resched.txt" "$OUT/resched.log"
grep -q "原来：" "$OUT/resched.txt" || fail "the summary does not show the old appointment"
token=$(zbarimg -q --raw "$OUT/resched/resched-ticket.png" 2>/dev/null | head -1)
[ -n "$token" ] || fail "zbarimg read no QR code in the new ticket's screenshot"
out=$("$HV" --cert "$K/signing.pem" --ca "$D/pki/root-ca.pem" "$token" 2>&1) ||
    fail "huimin-verify does not verify the new ticket: $out"
echo "$out" | grep -q "^Genuine: this ticket" || fail "the new ticket is not genuine: $out"
echo "$out" | grep -q "王建国  330\*\{11\}0034" || fail "王建国 not on the new ticket: $out"
T2=$(awk '/screen=m-ticket/ { on = 1 } on' "$OUT/resched.txt" | grep -o "预约号：[A-Za-z0-9_-]*" |
    head -1 | sed 's/预约号：//')
[ -n "$T2" ] && [ "$T2" != "$T" ] || fail "no new booking number after 改约 ($T2, was $T)"
echo "改约 at the kiosk: $T moved, new ticket $T2 read by zbarimg and genuine for huimin-verify"

# --- 我的预约: 李娜's card, the list, cancel after asking ------------------------------------
cat >"$WORK/mine.script" <<'S'
wait screen home 20s
touch mine
wait screen m-mrz 20s
touch mk-H
touch mk-A
type 2468013
key enter
type 920817
key enter
type 420817
key enter
wait screen m-idcard 20s
card insert id 0
wait screen m-mine 60s
shot mine
touch cancel-*
wait screen m-cancel 20s
shot cancel
touch cancel-yes
wait screen m-cancelled 30s
shot cancelled
touch done
wait screen rating 10s
card remove 0
S
kiosk mine "$WORK/mine.script"
no_full_ids "$OUT/mine.txt" "$OUT/mine.log"
grep -q "已预约" "$OUT/mine.txt" || fail "the booking was not listed as booked"
grep -q "预约已经取消" "$OUT/mine.txt" || fail "no cancellation shown"
# huimin-client's view of the same person: the appointment is cancelled.
"$VC" --send "$HUIMIN_RIG_DIR/card0.sock" insert >/dev/null || fail "insert card 0"
sleep 1
out=$("$KC" id-session --config "$K/client.conf" --reader 0 --doc HA2468013 --birth 920817 \
    --expiry 420817 --json 2>&1) || fail "id-session: $out"
A=$(echo "$out" | sed -n 's/.*"id_session":"\([^"]*\)".*/\1/p')
out=$("$KC" mine --config "$K/client.conf" --id-session "$A" 2>&1) || fail "mine: $out"
echo "$out" | grep "$T2" | grep -q "cancelled" || fail "the new ticket is not cancelled: $out"
echo "$out" | grep "$T" | grep -q "rescheduled" || fail "the old ticket is not rescheduled: $out"
echo "我的预约: listed, cancelled after asking; huimin-client sees $T rescheduled, $T2 cancelled"

# --- 呼叫工作人员: the call reaches the hall's queue with the kiosk and the screen ------------
cat >"$WORK/staff.script" <<'S'
wait screen home 20s
touch staff
wait screen staff 20s
wait text 已通知工作人员，请在这里稍候 30s
shot staff
touch home
wait screen home 20s
S
kiosk staff "$WORK/staff.script"
grep -q "位居民在等工作人员" "$OUT/staff.txt" || fail "the staff screen does not say how many wait"
out=$("$ADMIN" exceptions --dir "$D" 2>&1) || fail "huimin-admin exceptions: $out"
echo "$out" | grep -q "呼叫工作人员" || fail "no staff call in the hall's queue: $out"
echo "$out" | grep -q "贺州 1号机" || fail "the staff call does not name the kiosk: $out"
echo "$out" | grep -q "Screen *home" || fail "the staff call does not name the screen: $out"
echo "呼叫工作人员: the call is in huimin-admin exceptions with the kiosk and the screen"

stop_server
echo "PASS: 婚姻登记预约 and 我的预约 at the kiosk through pcscd and huimin-server"
