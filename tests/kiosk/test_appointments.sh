#!/bin/sh
# Marriage-registration appointments end to end through the real pcscd: the
# virtual ID cards of 李娜 (reader 0) and 王建国 (reader 1) from
# `huimin-issue id-fixtures`, a demo deployment (offices, special dates and
# marital records imported) whose CSCA store holds the fixtures' CSCA, a kiosk
# enrolled at hz-hall and huimin-server running. huimin-client opens both
# parties' ID sessions (BAC, PA and AA over the server's nonce, checked at the
# kiosk and again on the server; ID numbers only ever shown masked), lists the
# offices and the availability, books a slot (the signed ticket as a QR code
# PNG that huimin-verify reads and verifies; altered, it is not genuine), sees
# it with 'mine', is refused a second booking, the same person twice and an
# office that does not serve the couple's provinces, cancels (the place is
# free at once, a second cancel answers the same), books again, reschedules
# and, with the server's clock on the appointment's day, checks in with the
# ticket; an answer altered in transit is refused. Then a cloned ID card:
# refused by the kiosk before its evidence is sent (csca_dir), and by the
# server (id_not_genuine, active-auth) from a kiosk without a CSCA store.
#
# Until the server has the appointment endpoints (issue 8, server side) the
# test SKIPS (exit 77, ctest's SKIP_RETURN_CODE): only when the server answers
# 404 to POST /v1/id-sessions. Anything else that goes wrong fails.
# Usage: test_appointments.sh [sqlite|postgres]
set -u
. "${HUIMIN_SOURCE_DIR:?run under ctest}/tests/server/lib/server-lib.sh"
HI="$BIN/tools/huimin-issue"
HV="$BIN/tools/huimin-verify"
KC="$BIN/kiosk/client/huimin-client"
SKIP=77

if [ "${1:-}" != inner ] && [ "${1:-}" != clone ]; then
    BACKEND=${1:-sqlite}
    case "$BACKEND" in
    sqlite) ;;
    postgres) : "${HUIMIN_PG_CONNINFO:?no PostgreSQL (run under scripts/pg-harness.sh)}" ;;
    *) fail "usage: test_appointments.sh [sqlite|postgres]" ;;
    esac
    for tool in zbarimg sha256sum; do
        command -v "$tool" >/dev/null 2>&1 || fail "$tool is missing (scripts/install-deps.sh)"
    done
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    "$HI" id-fixtures --dir "$work/ids" >/dev/null || fail "huimin-issue id-fixtures"
    export WORK="$work" BACKEND
    "$BIN/tools/huimin-rig" --card "$work/ids/li-td1.json" --card "$work/ids/wang-td1.json" \
        -- "$0" inner
    st=$?
    [ $st -eq 0 ] || exit $st
    # A cloned ID card (its data on a chip without the original key) on the same deployment.
    "$BIN/tools/huimin-rig" --card "$work/ids/clone-aa.json" -- "$0" clone
    exit $?
fi

if [ "$1" = clone ]; then
    SERVER_PID=
    trap '[ -n "$SERVER_PID" ] && kill -9 "$SERVER_PID" 2>/dev/null' EXIT
    D="$WORK/deploy"
    K="$D/kiosks/kiosk-a"
    start_server "$D"
    kcc() { "$KC" id-session --config "$K/client.conf" --server "https://localhost:$PORT" \
        --reader 0 --doc HB0000003 --birth 750909 --expiry 300909 "$@"; }
    # With a CSCA store the kiosk finds it before the evidence is sent: call staff.
    out=$(kcc 2>&1)
    [ $? -eq 4 ] || fail "a clone with csca_dir: $out"
    echo "$out" | grep -q "证件未通过本机核验（active-auth），未发送任何数据，请联系工作人员" ||
        fail "the clone is not named at the kiosk: $out"
    echo "$out" | grep -q "110\*\{11\}0082\|110108197509090082" && fail "an ID number is shown: $out"
    echo "a cloned ID card at a kiosk with a CSCA store: refused before sending (exit 4):"
    echo "$out" | sed 's/^/  | /'
    # Without one it is sent, and the server refuses it by name.
    grep -v '^csca_dir' "$K/client.conf" >"$K/nocsca.conf"
    out=$("$KC" id-session --config "$K/nocsca.conf" --server "https://localhost:$PORT" \
        --reader 0 --doc HB0000003 --birth 750909 --expiry 300909 2>&1)
    [ $? -eq 3 ] || fail "a clone without csca_dir: $out"
    echo "$out" | grep -q "(server code id_not_genuine," || fail "not id_not_genuine: $out"
    echo "$out" | grep -q "detail: .*active-auth" || fail "the failed check is not named: $out"
    echo "the same clone at a kiosk without a CSCA store: the server refuses it: id_not_genuine"
    stop_server
    echo "PASS: a cloned ID card is refused at the kiosk and by the server"
    exit 0
fi

SERVER_PID=
trap '[ -n "$SERVER_PID" ] && kill -9 "$SERVER_PID" 2>/dev/null' EXIT
D="$WORK/deploy"
K="$D/kiosks/kiosk-a"
demo_deployment "$D" "$BACKEND"
# The server's CSCA store ([trust] csca_dir, pki/csca by default) holds the fixtures' CSCA.
mkdir -p "$D/pki/csca"
cp "$WORK/ids/trust/csca.pem" "$WORK/ids/trust/csca.crl" "$D/pki/csca/" || fail "CSCA store"
"$ADMIN" enroll-kiosk --dir "$D" --id kiosk-a --name "贺州 1号机" --office hz-hall >/dev/null ||
    fail "enroll-kiosk"
start_server "$D"

# --- Skip (not pass) while the server has no ID sessions. ---------------------------
probe=$(kcurl "$D" kiosk-a -X POST -H 'Content-Type: application/json' -d '{}' \
    "https://localhost:$PORT/v1/id-sessions" 2>&1)
if echo "$probe" | grep -q '^HTTP 404 '; then
    echo "SKIP: huimin-server answers 404 to POST /v1/id-sessions: the appointment endpoints"
    echo "      (issue 8, server side) are not there yet; nothing was tested."
    stop_server
    exit $SKIP
fi
echo "$probe" | grep -q '^HTTP 000' && fail "the server did not answer: $probe"

cat >"$K/client.conf" <<CONF
# huimin-client's configuration for kiosk-a (paths relative to this file)
server = https://localhost:$PORT
cert = kiosk.pem
key = kiosk.key
cacert = server-ca.pem
signing_cert = signing.pem
kiosk = kiosk-a
journal = journal.db
csca_dir = ../../pki/csca
CONF
kcx() { cmd=$1; shift; "$KC" "$cmd" --config "$K/client.conf" --server "https://localhost:$PORT" "$@"; }
# jget KEY JSON: the string or number of "KEY" in one-line JSON.
jget() { echo "$2" | sed -n "s/.*\"$1\":\"\{0,1\}\([^\",}]*\).*/\1/p" | head -1; }
# refused OUT CODE: OUT (of an exit 3) names CODE and shows the server's Chinese message.
refused() {
    echo "$1" | grep -q "(server code $2," || fail "not refused with $2: $1"
    echo "$1" | grep -B2 "(server code $2," | head -1 | LC_ALL=C grep -q '[^ -~]' ||
        fail "no Chinese message for $2: $1"
}
no_full_ids() {
    for id in 320102199208170046 330106199005150034; do
        echo "$1" | grep -q "$id" && fail "a full ID number is shown: $1"
    done
    return 0
}
LI="--doc HA2468013 --birth 920817 --expiry 420817"
WANG="--doc HA7654321 --birth 900515 --expiry 400515"

# --- ID sessions --------------------------------------------------------------------
out=$(kcx id-session --reader 0 $LI 2>&1) || fail "id-session (李娜): $out"
no_full_ids "$out"
echo "$out" | grep -q "姓名 Name *李娜" || fail "no name: $out"
echo "$out" | grep -q "320\*\{11\}0046" || fail "no masked ID: $out"
echo "$out" | grep -q "女 female" || fail "not female: $out"
echo "$out" | grep -q "1992-08-17" || fail "no birth date: $out"
echo "$out" | grep -q "江苏省 Jiangsu (32)" || fail "no province: $out"
echo "id-session 李娜:"
echo "$out" | sed 's/^/  | /'
out=$(kcx id-session --reader 1 $WANG --json 2>&1) || fail "id-session (王建国): $out"
no_full_ids "$out"
B=$(jget id_session "$out")
[ -n "$B" ] || fail "no id_session: $out"
echo "$out" | grep -q '"sex":"M"' || fail "not male: $out"
out=$(kcx id-session --reader 0 $LI --json 2>&1) || fail "id-session --json (李娜): $out"
A=$(jget id_session "$out")
[ -n "$A" ] && [ "$A" != "$B" ] || fail "no second id_session: $out"
echo "id sessions: 李娜 $A, 王建国 $B (verified at the kiosk and on the server)"

# Wrong MRZ numbers: the chip refuses, nothing is asked of the server.
out=$(kcx id-session --reader 0 --doc HA2468013 --birth 920818 --expiry 420817 2>&1)
[ $? -eq 3 ] || fail "wrong MRZ numbers: $out"
echo "$out" | grep -q "请核对证件号码" || fail "wrong MRZ message: $out"
echo "wrong MRZ numbers: refused by the chip (exit 3)"

# --- offices and availability ---------------------------------------------------------
out=$(kcx offices 2>&1) || fail "offices: $out"
echo "$out" | grep -q "hz-hall  贺州市八步区婚姻登记处" || fail "offices: $out"
echo "$out" | grep -q "结婚登记 marriage registration" || fail "offices: no service names: $out"
echo "offices: $(echo "$out" | grep -c '^  [a-z]')"

# From the day after tomorrow: a place tomorrow may start within cancel_until_hours (24 h) of
# now, and the test cancels what it books.
from=$(TZ=UTC-8 date -d '+2 days' +%F)
# slot_free OUT DATE SLOT: the free places of the slot in availability output.
slot_free() {
    echo "$1" | awk -v d="$2" -v s="$3" '$1 == d { on = 1; next } /^  [0-9]/ { on = 0 }
        on && index($1, s "-") == 1 { print $3; exit }'
}
avail() { kcx availability --office hz-hall --service marriage --from "$from" --days 14 2>&1; }
out=$(avail) || fail "availability: $out"
echo "$out" | grep -q "signed by the server, verified" || fail "availability: $out"
# The first day with a free slot (a normal day opens book_ahead_days before it).
pick=$(echo "$out" | awk '/^  [0-9]/ { d = $1; next }
    d != "" && $2 == "余" && $3 > 0 { split($1, t, "-"); print d, t[1]; exit }')
DATE=${pick% *}
SLOT=${pick#* }
[ -n "$pick" ] && [ -n "$DATE" ] && [ -n "$SLOT" ] || fail "no free slot in 14 days: $out"
F0=$(slot_free "$out" "$DATE" "$SLOT")
echo "availability: $DATE $SLOT has $F0 free"

# --- refusals before any booking -------------------------------------------------------
out=$(kcx book --service marriage --office hz-hall --date "$DATE" --slot "$SLOT" \
    --party "$A" --party "$A" 2>&1)
[ $? -eq 3 ] || fail "the same person twice: $out"
refused "$out" same_person
echo "the same ID session twice: same_person"
out=$(kcx book --service marriage --office fc-hall --date "$DATE" --slot "$SLOT" \
    --party "$A" --party "$B" 2>&1)
[ $? -eq 3 ] || fail "fc-hall for a couple from 32 and 33: $out"
refused "$out" office_not_competent
echo "an office without cross-province registration: office_not_competent"

# --- book ---------------------------------------------------------------------------------
out=$(kcx book --service marriage --office hz-hall --date "$DATE" --slot "$SLOT" \
    --party "$A" --party "$B" --qr "$WORK/t1.png" --ticket-out "$WORK/t1.tok" 2>&1) ||
    fail "book: $out"
no_full_ids "$out"
T1=$(echo "$out" | sed -n 's/^  预约编号 Ticket *//p')
[ ${#T1} -eq 16 ] || fail "no ticket id: $out"
echo "$out" | grep -q "当事人 Party 1 *李娜  320\*\{11\}0046" || fail "ticket party 1: $out"
echo "$out" | grep -q "当事人 Party 2 *王建国  330\*\{11\}0034" || fail "ticket party 2: $out"
[ -s "$WORK/t1.png" ] && [ -s "$WORK/t1.tok" ] || fail "no ticket files"
[ "$(zbarimg --raw -q "$WORK/t1.png" 2>/dev/null | tr -d '\n' | sha256sum)" = \
    "$(tr -d '\n' <"$WORK/t1.tok" | sha256sum)" ] || fail "the QR code is not the ticket"
echo "booked: ticket $T1 (QR code $WORK/t1.png)"
out=$(avail) || fail "availability: $out"
[ "$(slot_free "$out" "$DATE" "$SLOT")" = $((F0 - 1)) ] || fail "the place is not taken: $out"

# huimin-verify reads the ticket from its QR code and says what it proves.
hv() { "$HV" --cert "$K/signing.pem" --ca "$D/pki/root-ca.pem" "$@"; }
out=$(hv --png "$WORK/t1.png" 2>&1) || fail "huimin-verify --png: $out"
no_full_ids "$out"
echo "$out" | grep -q "结婚登记 / marriage registration" || fail "huimin-verify: service: $out"
echo "$out" | grep -q "登记处   Office       hz-hall" || fail "huimin-verify: office: $out"
echo "$out" | grep -q "日期     Date         $DATE" || fail "huimin-verify: date: $out"
echo "$out" | grep -q "时段     Slot         $SLOT" || fail "huimin-verify: slot: $out"
echo "$out" | grep -q "李娜  320\*\{11\}0046" || fail "huimin-verify: party: $out"
echo "$out" | grep -q "^Genuine: this ticket" || fail "huimin-verify: not genuine: $out"
echo "huimin-verify: the ticket's QR code is genuine:"
echo "$out" | sed -n '/^惠民/,/^  签发/p' | sed 's/^/  | /'
# Altered (another date, the signature kept): not genuine.
tok=$(cat "$WORK/t1.tok")
p2=$(jws_payload "$tok" | sed "s/\"d\":\"$DATE\"/\"d\":\"2099-01-01\"/" | openssl base64 -A |
    tr '+/' '-_' | tr -d '=')
out=$(hv "$(echo "$tok" | cut -d. -f1).$p2.$(echo "$tok" | cut -d. -f3)" 2>&1)
[ $? -eq 4 ] || fail "an altered ticket was accepted: $out"
echo "$out" | grep -q "^NOT genuine: the signature does not match" || fail "altered: $out"
echo "an altered ticket: NOT genuine (exit 4)"

# --- mine, and no second booking ---------------------------------------------------------
out=$(kcx mine --id-session "$A" 2>&1) || fail "mine: $out"
echo "$out" | grep -q "$T1  $DATE $SLOT  hz-hall .*已预约 booked" || fail "mine: $out"
out=$(HUIMIN_CLIENT_TEST_TAMPER_ANSWER=/v1/appointments/mine kcx mine --id-session "$A" 2>&1)
[ $? -eq 4 ] || fail "an altered answer was accepted: $out"
out=$(kcx book --service marriage --office hz-hall --date "$DATE" --slot "$SLOT" \
    --party "$A" --party "$B" 2>&1)
[ $? -eq 3 ] || fail "a second booking: $out"
refused "$out" active_booking_exists
echo "mine: $T1 booked; a second booking: active_booking_exists; an altered answer: exit 4"

# --- cancel frees the place at once; book again ---------------------------------------------
out=$(kcx cancel --ticket "$T1" --id-session "$B" 2>&1) || fail "cancel: $out"
echo "$out" | grep -q "预约已取消" || fail "cancel: $out"
out=$(kcx cancel --ticket "$T1" --id-session "$B" --json 2>&1) || fail "cancel again: $out"
echo "$out" | grep -q '"status":"cancelled"' || fail "cancel again: $out"
out=$(avail) || fail "availability: $out"
[ "$(slot_free "$out" "$DATE" "$SLOT")" = "$F0" ] || fail "the place is not free again: $out"
out=$(kcx mine --id-session "$A" --json 2>&1) || fail "mine: $out"
echo "$out" | grep -q "\"status\":\"cancelled\",\"sv\":\"marriage\",\"t\":\"$T1\"" ||
    fail "not cancelled in mine: $out"
echo "cancelled: the place is free again at once; cancelling again answers the same"

out=$(kcx book --service marriage --office hz-hall --date "$DATE" --slot "$SLOT" \
    --party "$A" --party "$B" --json 2>&1) || fail "book again: $out"
T2=$(jget ticket "$out")
[ ${#T2} -eq 16 ] && [ "$T2" != "$T1" ] || fail "book again: $out"
echo "booked again: ticket $T2"

# --- reschedule -----------------------------------------------------------------------------
out=$(avail) || fail "availability: $out"
pick2=$(echo "$out" | awk -v d0="$DATE" -v s0="$SLOT" '/^  [0-9]/ { d = $1; next }
    d != "" && $2 == "余" && $3 > 0 { split($1, t, "-"); if (d != d0 || t[1] != s0) {
    print d, t[1]; exit } }')
DATE2=${pick2% *}
SLOT2=${pick2#* }
[ -n "$pick2" ] || fail "no other free slot: $out"
out=$(kcx reschedule --ticket "$T2" --id-session "$A" --party "$B" --date "$DATE2" --slot "$SLOT2" \
    --ticket-out "$WORK/t3.tok" --json 2>&1) || fail "reschedule: $out"
T3=$(jget ticket "$out")
[ ${#T3} -eq 16 ] && [ "$T3" != "$T2" ] || fail "reschedule: $out"
out=$(kcx mine --id-session "$A" --json 2>&1) || fail "mine: $out"
echo "$out" | grep -q "\"t\":\"$T2\"" || fail "the old ticket is not listed: $out"
echo "$out" | grep -q "\"status\":\"rescheduled\",\"sv\":\"marriage\",\"t\":\"$T2\"" ||
    fail "the old ticket is not rescheduled: $out"
out=$(hv --file "$WORK/t3.tok" 2>&1) || fail "huimin-verify the new ticket: $out"
echo "$out" | grep -q "日期     Date         $DATE2" || fail "the new ticket's date: $out"
echo "rescheduled: $T2 -> $T3 ($DATE2 $SLOT2)"

# --- check in -----------------------------------------------------------------------------
out=$(kcx check-in --ticket-file "$WORK/t3.tok" 2>&1)
[ $? -eq 3 ] || fail "a check-in before the day: $out"
refused "$out" not_today
stop_server
# The server's clock on the appointment's day, 08:00 Beijing time.
off=$(($(date -d "$DATE2 08:00 +0800" +%s) - $(date +%s)))
export HUIMIN_SERVER_TEST_CLOCK_OFFSET=$off
start_server "$D"
unset HUIMIN_SERVER_TEST_CLOCK_OFFSET
out=$(kcx check-in --ticket-file "$WORK/t3.tok" 2>&1) || fail "check-in: $out"
echo "$out" | grep -q "签到成功" || fail "check-in: $out"
echo "check-in: refused before the day (not_today); on the day: $(echo "$out" | sed 's/ Checked.*//')"

stop_server
"$ADMIN" audit verify --dir "$D" >/dev/null || fail "audit verify"
echo "PASS: marriage-registration appointments through huimin-client and pcscd"
