#!/bin/sh
# Marriage-registration appointments end to end (issue 8), on SQLite (one server) or
# PostgreSQL (two server processes on one database, two ports):
#  - real ID cards: virtual eMRTD cards read through a private pcscd (huimin-rig) by
#    id_evidence with the server's nonce, sent to POST /v1/id-sessions and verified again
#    by the server against its CSCA store: genuine cards open sessions (masked numbers);
#    a replayed nonce, a forged (tampered DG1), cloned (Active Authentication), expired
#    Document Signer and expired document are refused by code;
#  - the rules: the same card for both parties, under age, already married, an office that
#    does not serve the couple's provinces, booking before a special date's window opens;
#  - a rush: COUPLES distinct couples (ID sessions from the test hook) racing through
#    bench_https for 2027-05-20 with 104 places, some couples twice and on both servers:
#    exactly the capacity booked, no slot over capacity, nobody with two active bookings,
#    counted with SQL;
#  - cancelling frees the place and another couple takes it at once; rescheduling; check-in;
#  - tickets verify with openssl, altered ones do not; every change is audited and
#    huimin-admin audit verify passes; no full ID number in answers, logs or the database.
# The server's clock is moved (HUIMIN_SERVER_TEST_CLOCK_OFFSET) to 2027-05-13 00:10, when
# booking for 2027-05-20 opens.
# Usage: test_appointments.sh [sqlite|postgres]  (postgres: under scripts/pg-harness.sh)
set -u
. "${HUIMIN_SOURCE_DIR:?run under ctest}/tests/server/lib/server-lib.sh"
EVID="$BIN/tests/server/appointments/id_evidence"
RIG="$BIN/tools/huimin-rig"
BENCH="$BIN/bench/bench_https"
PREP="$BIN/bench/bench_prep"
COUPLES=${APPT_COUPLES:-420}

# ---- inside huimin-rig: read cards for the outer script ------------------------------
# read JOB...: JOB is READER:DOC:BIRTH:EXPIRY:NAME; a nonce from the server (kiosk-a), then
# the card in READER read with it into $OUT/NAME.json.
if [ "${1:-}" = read ]; then
    shift
    for job in "$@"; do
        IFS=: read -r reader doc birth expiry name <<EOF
$job
EOF
        r=$(kcurl "$D" kiosk-a -X POST -H 'Content-Type: application/json' \
            -d '{"purpose":"id-card"}' "$URL/v1/nonces")
        n=$(jws_payload "$(echo "$r" | sed '$d')" | sed -n 's/.*"nonce":"\([A-Za-z0-9_-]*\)".*/\1/p')
        [ ${#n} -eq 43 ] || fail "no id-card nonce: $r"
        "$EVID" --reader "$reader" --doc "$doc" --birth "$birth" --expiry "$expiry" --nonce "$n" \
            >"$OUT/$name.json" || fail "reading $name"
    done
    exit 0
fi

BACKEND=${1:-sqlite}
work=$(mktemp -d)
SERVER_PID=
PID2=
cleanup() {
    [ -n "$SERVER_PID" ] && kill -9 "$SERVER_PID" 2>/dev/null
    [ -n "$PID2" ] && kill -9 "$PID2" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
D="$work/deploy"
export D OUT="$work/ev"
mkdir -p "$OUT"

sql() {
    if [ "$BACKEND" = postgres ]; then
        psql -X -q -t -A "$HUIMIN_PG_CONNINFO" -c "$1"
    else
        sqlite3 "$D/huimin.db" "$1"
    fi
}

# ---- a deployment with the demo data and the test CSCA ------------------------------
demo_deployment "$D" "$BACKEND"
"$ADMIN" enroll-kiosk --dir "$D" --id kiosk-a --name "富川婚姻登记处 1号机" --office fc-hall \
    >/dev/null || fail "enroll-kiosk a"
"$ADMIN" enroll-kiosk --dir "$D" --id kiosk-b --name "八步区婚姻登记处 1号机" --office hz-hall \
    >/dev/null || fail "enroll-kiosk b"
SIGNING="$D/kiosks/kiosk-a/signing.pem"
"$BIN/tools/huimin-issue" id-fixtures --dir "$work/id" >/dev/null || fail "id-fixtures"
cp "$work/id/trust/"* "$D/pki/csca/" || fail "CSCA into the deployment"
conf_set "$D/huimin.conf" session session_ttl 3600
[ "$(sql "SELECT COUNT(*) FROM offices")" = 2 ] || fail "offices not imported"
[ "$(sql "SELECT COUNT(*) FROM marriages")" = 7 ] || fail "marital records not imported"
sql "SELECT person FROM marriages" | grep -q '^[0-9]\{17\}[0-9X]$' && fail "a full ID number is stored in marriages"

# ---- the imports refuse bad files whole, with line numbers and masked numbers ------------
cat >"$work/offices-bad.csv" <<'CSV'
id,name,region,cross_province,services,hours,slot_minutes,capacity
x-hall,某婚姻登记处,451123,no,marriage,"mon-fri 8:30-12:00",30,2
y-hall,某婚姻登记处,451123,maybe,marriage;wedding,"mon-fri 08:30-12:00",3,0
fc-hall,重复,451123,no,marriage,"mon-fri 08:30-12:00",30,2
CSV
out=$("$ADMIN" import offices --dir "$D" --file "$work/offices-bad.csv" 2>&1)
[ $? -eq 3 ] || fail "a bad offices file was not refused: $out"
echo "$out" | grep -q "offices-bad.csv:2: hours: position 10: expected a time HH:MM" || fail "offices line 2: $out"
echo "$out" | grep -q "offices-bad.csv:3: cross_province 'maybe' is not yes or no" || fail "offices line 3: $out"
echo "$out" | grep -q "offices-bad.csv:3: service 'wedding' is not" || fail "offices line 3 service: $out"
echo "$out" | grep -q "offices-bad.csv:3: slot_minutes '3' is not a whole number from 5 to 240" || fail "slot: $out"
echo "$out" | grep -q "offices-bad.csv:4: office fc-hall exists already" || fail "offices line 4: $out"
cat >"$work/days-bad.csv" <<'CSV'
office_id,date,kind,capacity,hours,opens_at,note
no-hall,2027-06-01,closed,,,,
fc-hall,2027-06-02,closed,5,,,
fc-hall,2027-06-03,special,10,,2027-06-04 00:00,
fc-hall,2027-05-20,special,10,,,
CSV
out=$("$ADMIN" import office-days --dir "$D" --file "$work/days-bad.csv" 2>&1)
[ $? -eq 3 ] || fail "a bad office-days file was not refused: $out"
echo "$out" | grep -q "days-bad.csv:2: no office no-hall" || fail "days line 2: $out"
echo "$out" | grep -q "days-bad.csv:3: a closed day has no capacity" || fail "days line 3: $out"
echo "$out" | grep -q "days-bad.csv:4: opens_at 2027-06-04 00:00 is not before the end of 2027-06-03" ||
    fail "days line 4: $out"
echo "$out" | grep -q "days-bad.csv:5: office day fc-hall on 2027-05-20 exists already" || fail "days line 5: $out"
cat >"$work/marriages-bad.csv" <<'CSV'
citizen_id,status,spouse_citizen_id,hukou_region,divorce_application_date
451123199001010015,single,,451123,
451123198807220014,single,,451123,
45112319930808004X,married,,451123,
45112319930808004X,widowed,451123198807220014,,
CSV
out=$("$ADMIN" import marriages --dir "$D" --file "$work/marriages-bad.csv" 2>&1)
[ $? -eq 3 ] || fail "a bad marriages file was not refused: $out"
echo "$out" | grep -q "marriages-bad.csv:2: citizen_id 451\*\*\*\*\*\*\*\*\*\*\*0015 has a wrong check digit" ||
    fail "marriages line 2: $out"
echo "$out" | grep -q "marriages-bad.csv:3: marital record of citizen ID 451\*\*\*\*\*\*\*\*\*\*\*0014 exists already" ||
    fail "marriages line 3: $out"
echo "$out" | grep -q "marriages-bad.csv:4: status married needs spouse_citizen_id" || fail "marriages line 4: $out"
echo "$out" | grep -q "marriages-bad.csv:5: citizen ID 451\*\*\*\*\*\*\*\*\*\*\*004X is on line 4 already" ||
    fail "marriages dup: $out"
echo "$out" | grep -q "marriages-bad.csv:5: spouse_citizen_id is only for status married" ||
    fail "marriages line 5: $out"
echo "$out" | grep -q "451123199001010015\|45112319930808004X\|451123198807220014" &&
    fail "a full ID number in import messages: $out"
printf 'citizen_id,status,spouse_citizen_id,hukou_region,divorce_application_date\n45112319930808004X,single,,,\n' \
    >"$work/m-ok.csv"
out=$("$ADMIN" import marriages --dir "$D" --file "$work/m-ok.csv" --dry-run 2>&1) || fail "dry run: $out"
echo "$out" | grep -q "Checked 1 marriages" || fail "dry run: $out"
[ "$(sql "SELECT COUNT(*) FROM offices")" = 2 ] && [ "$(sql "SELECT COUNT(*) FROM office_days")" = 13 ] &&
    [ "$(sql "SELECT COUNT(*) FROM marriages")" = 7 ] || fail "a refused import or a dry run wrote rows"
echo "imports: bad offices, office days and marital records refused whole, by line, numbers masked"

# Booking for 2027-05-20 opens 2027-05-13 00:00 Beijing time (unix 1810137600).
T0=$((1810137600 + 600))
export HUIMIN_SERVER_TEST_ID_SESSIONS=1
export HUIMIN_SERVER_TEST_CLOCK_OFFSET=$((T0 - $(date +%s)))
start_server "$D"
URL="https://localhost:$PORT"
export URL
URL2=$URL
if [ "$BACKEND" = postgres ]; then
    cp "$D/huimin.conf" "$D/huimin2.conf"
    "$SERVER" --config "$D/huimin2.conf" --port-file "$D/ports2" 2>>"$D/server2.log" &
    PID2=$!
    i=0
    while [ ! -s "$D/ports2" ]; do
        kill -0 "$PID2" 2>/dev/null || { cat "$D/server2.log"; fail "the second server did not start"; }
        i=$((i + 1)); [ $i -lt 300 ] || fail "the second server did not listen"
        sleep 0.1
    done
    URL2="https://localhost:$(sed -n 1p "$D/ports2")"
fi

post() { # post KIOSK PATH FILE [URL]
    kcurl "$D" "$1" -X POST -H 'Content-Type: application/json' --data-binary @"$3" "${4:-$URL}$2"
}
postj() { # postj KIOSK PATH JSON [URL]
    printf '%s' "$3" >"$work/req.json"
    post "$1" "$2" "$work/req.json" "${4:-$URL}"
}
body() { echo "$1" | sed '$d'; }
http() { echo "$1" | tail -1 | cut -d' ' -f2; }
expect() { # expect OUT CODE [ERROR_CODE] WHAT
    [ "$(http "$1")" = "$2" ] || fail "$4: expected HTTP $2: $1"
    [ -z "$3" ] || echo "$1" | grep -q "\"code\":\"$3\"" || fail "$4: expected $3: $1"
}
field() { jws_payload "$(body "$1")" | sed -n "s/.*\"$2\":\"\([^\"]*\)\".*/\1/p"; }
hook_session() { # hook_session CITIZEN_ID NAME [KIOSK] -> ID session
    r=$(postj "${3:-kiosk-a}" /v1/test/id-sessions "{\"citizen_id\":\"$1\",\"name\":\"$2\"}")
    [ "$(http "$r")" = 201 ] || fail "test ID session for $2: $r"
    field "$r" id_session
}
book() { # book KIOSK SERVICE OFFICE DATE SLOT SESSION [SESSION2] -> answer
    p="\"$6\""; [ -n "${7:-}" ] && p="$p,\"$7\""
    postj "$1" /v1/appointments \
        "{\"service\":\"$2\",\"office\":\"$3\",\"date\":\"$4\",\"slot\":\"$5\",\"parties\":[$p]}"
}

# ---- ID cards through pcscd ------------------------------------------------------------
C="$work/id"
"$RIG" --card "$C/wang-td1.json" --card "$C/li-td1.json" -- "$0" read \
    0:HA7654321:900515:400515:wang 1:HA2468013:920817:420817:li || fail "reading wang and li"
"$RIG" --card "$C/zhang-td1.json" --card "$C/tampered-dg1.json" -- "$0" read \
    0:HA1234567:560312:360312:zhang1 0:HA1234567:560312:360312:zhang2 \
    1:HB0000001:600101:300101:tampered || fail "reading zhang and the tampered card"
"$RIG" --card "$C/clone-aa.json" --card "$C/expired-ds.json" -- "$0" read \
    0:HB0000003:750909:300909:clone 1:HB0000004:800303:300303:expired || fail "reading clone, expired"

out=$(post kiosk-a /v1/id-sessions "$OUT/wang.json")
expect "$out" 201 "" "王建国's ID card"
jws_verify_openssl "$(body "$out")" "$SIGNING" || fail "the ID session does not verify"
p=$(jws_payload "$(body "$out")")
echo "$p" | grep -q '"birth":"1990-05-15",.*"id_masked":"330\*\*\*\*\*\*\*\*\*\*\*0034",.*"kiosk":"kiosk-a","name":"王建国","province":"33","sex":"M"}$' ||
    fail "ID session payload: $p"
echo "$out" | grep -q 330106199005150034 && fail "the full ID number is in the answer"
WANG=$(field "$out" id_session)
out=$(post kiosk-a /v1/id-sessions "$OUT/wang.json")
expect "$out" 409 nonce_used "the same evidence again (a nonce replay)"
out=$(post kiosk-b /v1/id-sessions "$OUT/li.json")
expect "$out" 409 nonce_other_kiosk "李娜's evidence from another kiosk"
out=$(post kiosk-a /v1/id-sessions "$OUT/li.json")
expect "$out" 201 "" "李娜's ID card (the refusal above left the nonce unused)"
LI=$(field "$out" id_session)
out=$(post kiosk-a /v1/id-sessions "$OUT/tampered.json")
expect "$out" 403 id_not_genuine "a forged card (DG1 altered)"
echo "$out" | grep -q '"detail":"dg1-hash"' || fail "forged: not dg1-hash: $out"
out=$(post kiosk-a /v1/id-sessions "$OUT/clone.json")
expect "$out" 403 id_not_genuine "a cloned chip"
echo "$out" | grep -q '"detail":"active-auth"' || fail "clone: not active-auth: $out"
out=$(post kiosk-a /v1/id-sessions "$OUT/expired.json")
expect "$out" 403 id_not_genuine "an expired Document Signer"
echo "$out" | grep -q '"detail":"ds-validity"' || fail "expired DS: not ds-validity: $out"
sed 's/"aa_signature":"[A-Za-z0-9_-]*"/"aa_signature":"AAAA"/' "$OUT/zhang2.json" >"$OUT/bad-aa.json"
out=$(post kiosk-a /v1/id-sessions "$OUT/bad-aa.json")
expect "$out" 403 id_not_genuine "a made-up AA signature"
out=$(post kiosk-a /v1/id-sessions "$OUT/zhang1.json")
expect "$out" 201 "" "张秀英's ID card"
Z1=$(field "$out" id_session)
out=$(post kiosk-a /v1/id-sessions "$OUT/zhang2.json")
expect "$out" 201 "" "张秀英's ID card read again"
Z2=$(field "$out" id_session)
echo "ID cards: genuine ones open sessions (masked); replay, forged, cloned, expired DS: refused"

# ---- the rules --------------------------------------------------------------------------
out=$(book kiosk-a marriage hz-hall 2027-05-20 09:00 "$Z1" "$Z2")
expect "$out" 400 same_person "the same card for both parties"
out=$(book kiosk-a marriage hz-hall 2027-05-20 09:00 "$Z1" "$Z1")
expect "$out" 400 same_person "the same ID session twice"
out=$(book kiosk-a marriage fc-hall 2027-05-20 09:00 "$WANG" "$LI")
expect "$out" 403 office_not_competent "Zhejiang and Jiangsu at a registry without 跨省通办"
echo "$out" | grep -q '"message":"[^"]*' || fail "no Chinese message: $out"
out=$(book kiosk-a marriage hz-hall 2027-05-20 09:00 "$WANG" "$LI")
expect "$out" 201 "" "王建国 and 李娜 at a cross-province registry"
WL=$(body "$out")
jws_verify_openssl "$WL" "$SIGNING" || fail "the ticket does not verify with openssl"
printf '%s' "$WL" | cut -d. -f1 | b64url_decode | grep -q '"typ":"huimin-ticket"' || fail "ticket typ"
tp=$(jws_payload "$WL")
echo "$tp" | grep -q '^{"d":"2027-05-20","iat":[0-9]*,"m":\["330\*\*\*\*\*\*\*\*\*\*\*0034","320\*\*\*\*\*\*\*\*\*\*\*0046"\],"n":\["王建国","李娜"\],"o":"hz-hall","sl":"09:00","sv":"marriage","t":"[A-Za-z0-9_-]\{16\}"}$' ||
    fail "ticket payload: $tp"
WLT=$(echo "$tp" | sed 's/.*"t":"\([^"]*\)".*/\1/')
alt=$(printf '%s' "$tp" | sed 's/"sl":"09:00"/"sl":"09:30"/' | base64 -w0 | tr '+/' '-_' | tr -d '=')
jws_verify_openssl "$(echo "$WL" | cut -d. -f1).$alt.$(echo "$WL" | cut -d. -f3)" "$SIGNING" &&
    fail "an altered ticket verified"
out=$(book kiosk-a marriage hz-hall 2027-05-20 09:30 "$WANG" "$LI")
expect "$out" 409 active_booking_exists "a second booking of the same couple"

M_YOUNG=$(hook_session 451123200601010011 少年甲)   # born 2006-01-01: 21 on 2027-05-20
F_SINGLE=$(hook_session 451123199103040028 盘小燕)
M_SINGLE=$(hook_session 451123198807220014 覃志强)
M_MARRIED=$(hook_session 451123198501100036 已婚男)
out=$(book kiosk-a marriage fc-hall 2027-05-20 10:00 "$M_YOUNG" "$F_SINGLE")
expect "$out" 409 under_age "a man of 21"
echo "$out" | grep -q '22' || fail "under_age does not say the age: $out"
out=$(book kiosk-a marriage fc-hall 2027-05-20 10:00 "$M_MARRIED" "$F_SINGLE")
expect "$out" 409 already_married "a married man"
out=$(book kiosk-a marriage fc-hall 2027-08-08 09:00 "$M_SINGLE" "$F_SINGLE")
expect "$out" 409 booking_not_open "七夕 before its window opens"
echo "$out" | grep -q '"detail":"1817049600"' || fail "booking_not_open without opens_at: $out"
out=$(book kiosk-a marriage fc-hall 2027-05-19 09:00 "$M_SINGLE" "$F_SINGLE")
[ "$(http "$out")" = 201 ] || fail "an ordinary day: $out"
M_FREE=$(hook_session 451123198606060317 黄建军)
F_FREE=$(hook_session 451123198808080324 莫丽华)
out=$(book kiosk-a marriage fc-hall 2027-06-09 09:00 "$M_FREE" "$F_FREE")
expect "$out" 409 office_closed "a closed day (端午节)"
out=$(book kiosk-a marriage fc-hall 2027-05-19 09:10 "$M_FREE" "$F_FREE")
expect "$out" 400 no_such_slot "a time that is no slot's start"
out=$(postj kiosk-a /v1/test/id-sessions '{"citizen_id":"451123199103040029","name":"x"}')
expect "$out" 400 id_unreadable "a citizen ID with a wrong check digit"
out=$(postj kiosk-a /v1/availability '{"office":"fc-hall","service":"marriage","from":"2027-05-20","days":1}')
expect "$out" 200 "" "availability"
jws_payload "$(body "$out")" | grep -q '"date":"2027-05-20","opens_at":1810137600,"slots":\[{"capacity":8,"end":"09:00","free":8,"start":"08:30"}' ||
    fail "availability payload: $(jws_payload "$(body "$out")")"
echo "rules: same card twice, not competent, under age, married, not open yet, closed: refused"

# ---- the rush ---------------------------------------------------------------------------
# Couples i = 0..COUPLES-1: a man and a woman of Fuchuan with made-up, valid numbers.
ids() { # ids FIRST COUNT: "citizen_id<tab>name" lines, men then women
    awk -v first="$1" -v n="$2" 'BEGIN {
        split("7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2", w, " "); c = "10X98765432"
        for (i = first; i < first + n; i++)
            for (s = 1; s <= 2; s++) {
                y = 1975 + int(i / 336); m = 1 + int(i / 28) % 12; d = 1 + i % 28
                id = sprintf("451123%04d%02d%02d%02d%d", y, m, d, 50 + int(i / 1000), s == 1 ? 7 : 8)
                t = 0; for (k = 1; k <= 17; k++) t += substr(id, k, 1) * w[k]
                printf "%s%s\t%s%d\n", id, substr(c, t % 11 + 1, 1), s == 1 ? "新郎" : "新娘", i
            }
    }'
}
ids 0 $((COUPLES + 1)) >"$work/people.tsv"
awk -F'\t' '{ printf "{\"citizen_id\":\"%s\",\"name\":\"%s\"}\n", $1, $2 }' "$work/people.tsv" \
    >"$work/sess.bodies"
"$BENCH" --url "$URL/v1/test/id-sessions" --cert "$D/kiosks/kiosk-a/kiosk.pem" \
    --key "$D/kiosks/kiosk-a/kiosk.key" --cacert "$D/kiosks/kiosk-a/server-ca.pem" --method POST \
    --content-type application/json --bodies-file "$work/sess.bodies" --connections 8 \
    --expect-status 201 --duration 120 --responses-file "$work/sess.out" >"$work/sess.log" ||
    fail "ID sessions for the rush: $(cat "$work/sess.log")"
"$PREP" jws-field name id_session <"$work/sess.out" | sort >"$work/sessions.tsv" ||
    fail "session answers"
[ "$(wc -l <"$work/sessions.tsv")" = $((2 * (COUPLES + 1))) ] || fail "not every rush session opened"
# One booking a couple; slots in turn, so every one of the 13 slots sees many couples; the
# first 40 couples try twice (on both servers), as impatient couples tap twice.
SLOTS="08:30 09:00 09:30 10:00 10:30 11:00 11:30 14:30 15:00 15:30 16:00 16:30 17:00"
awk -F'\t' -v slots="$SLOTS" -v n="$COUPLES" '
    { sess[$1] = $2 }
    END {
        ns = split(slots, s, " ")
        for (i = 0; i < n; i++) {
            b = sprintf("{\"service\":\"marriage\",\"office\":\"fc-hall\",\"date\":\"2027-05-20\",\"slot\":\"%s\",\"parties\":[\"%s\",\"%s\"]}",
                s[i % ns + 1], sess["新郎" i], sess["新娘" i])
            if (i % 2 == 0) print b > "/dev/stderr"; else print b
            if (i < 40) { if (i % 2 == 0) print b; else print b > "/dev/stderr" }
        }
    }' "$work/sessions.tsv" >"$work/rush.b" 2>"$work/rush.a"
rush() { # rush URL BODIES OUT
    "$BENCH" --url "$1/v1/appointments" --cert "$D/kiosks/kiosk-a/kiosk.pem" \
        --key "$D/kiosks/kiosk-a/kiosk.key" --cacert "$D/kiosks/kiosk-a/server-ca.pem" \
        --method POST --content-type application/json --bodies-file "$2" --connections 16 \
        --expect-status 201 --duration 120 --responses-file "$3" >"$3.log" 2>&1
}
rush "$URL" "$work/rush.a" "$work/rush.a.out" &
ra=$!
rush "$URL2" "$work/rush.b" "$work/rush.b.out" &
rb=$!
wait $ra
wait $rb
grep -h "requests\|errors\|status" "$work/rush.a.out.log" "$work/rush.b.out.log" | head -8
CAP=104
booked=$(cat "$work/rush.a.out" "$work/rush.b.out" | grep -c .)
[ "$booked" = $CAP ] || fail "$booked bookings answered 201, not the capacity $CAP"
[ "$(sql "SELECT SUM(booked) FROM slot_counts WHERE office_id = 'fc-hall' AND day = '2027-05-20'")" = $CAP ] ||
    fail "slot_counts do not add up to $CAP"
[ "$(sql "SELECT COUNT(*) FROM slot_counts WHERE booked > capacity")" = 0 ] || fail "a slot is over capacity"
[ "$(sql "SELECT COUNT(*) FROM slot_counts WHERE office_id = 'fc-hall' AND day = '2027-05-20' AND booked = 8")" = 13 ] ||
    fail "not every slot is full"
[ "$(sql "SELECT COUNT(*) FROM appointments WHERE office_id = 'fc-hall' AND day = '2027-05-20' AND status = 'booked'")" = $CAP ] ||
    fail "not $CAP booked appointments"
bad=$(sql "SELECT a.slot FROM appointments a WHERE a.office_id = 'fc-hall' AND a.day = '2027-05-20' AND a.status = 'booked' GROUP BY a.slot HAVING COUNT(*) <> (SELECT booked FROM slot_counts s WHERE s.office_id = 'fc-hall' AND s.day = '2027-05-20' AND s.slot = a.slot)")
[ -z "$bad" ] || fail "appointments and slot counts differ in slots $bad"
dup=$(sql "SELECT person FROM appointment_parties WHERE active = 1 GROUP BY person, service HAVING COUNT(*) > 1")
[ -z "$dup" ] || fail "persons with two active bookings: $dup"
[ "$(sql "SELECT COUNT(*) FROM audit WHERE action = 'appointment.book' AND subject IN (SELECT id FROM appointments WHERE day = '2027-05-20' AND office_id = 'fc-hall')")" = $CAP ] ||
    fail "not one audit record per booking"
echo "rush: $COUPLES couples (+40 twice) for $CAP places on $([ "$BACKEND" = postgres ] && echo "two servers" || echo "one server"): exactly $CAP booked, no slot over, nobody twice"

# ---- cancel, and another couple takes the place at once --------------------------------
T=$(sql "SELECT id FROM appointments WHERE office_id = 'fc-hall' AND day = '2027-05-20' AND slot = '10:00' AND status = 'booked' ORDER BY id LIMIT 1")
PT=$(sql "SELECT s.id FROM id_sessions s JOIN appointment_parties p ON p.person = s.person WHERE p.appointment_id = '$T' ORDER BY s.id LIMIT 1")
[ -n "$T" ] && [ -n "$PT" ] || fail "no appointment to cancel"
out=$(postj kiosk-a /v1/appointments/cancel "{\"ticket\":\"$T\",\"id_session\":\"$WANG\"}")
expect "$out" 403 not_your_appointment "cancelling another couple's appointment"
LM=$(grep "^新郎$COUPLES	" "$work/sessions.tsv" | cut -f2)
LF=$(grep "^新娘$COUPLES	" "$work/sessions.tsv" | cut -f2)
out=$(book kiosk-a marriage fc-hall 2027-05-20 10:00 "$LM" "$LF")
expect "$out" 409 slot_full "a full slot"
out=$(postj kiosk-a /v1/appointments/cancel "{\"ticket\":\"$T\",\"id_session\":\"$PT\"}")
expect "$out" 200 "" "cancel"
jws_payload "$(body "$out")" | grep -q "\"status\":\"cancelled\",\"t\":\"$T\"" || fail "cancel answer"
[ "$(sql "SELECT booked FROM slot_counts WHERE office_id = 'fc-hall' AND day = '2027-05-20' AND slot = '10:00'")" = 7 ] ||
    fail "cancelling did not free the place"
out=$(book kiosk-a marriage fc-hall 2027-05-20 10:00 "$LM" "$LF")
expect "$out" 201 "" "the freed place, at once"
out=$(postj kiosk-a /v1/appointments/cancel "{\"ticket\":\"$T\",\"id_session\":\"$PT\"}")
expect "$out" 200 "" "cancelling again"
[ "$(sql "SELECT booked FROM slot_counts WHERE office_id = 'fc-hall' AND day = '2027-05-20' AND slot = '10:00'")" = 8 ] ||
    fail "the slot is not full again"
echo "cancel: the place freed, the next couple booked it at once; cancelling twice: the same answer"

# ---- reschedule, my appointments, check-in -----------------------------------------------
out=$(postj kiosk-a /v1/appointments/reschedule "{\"ticket\":\"$WLT\",\"parties\":[\"$WANG\",\"$LI\"],\"date\":\"2027-05-20\",\"slot\":\"10:30\"}")
expect "$out" 201 "" "reschedule"
jws_payload "$(body "$out")" | grep -q '"sl":"10:30"' || fail "the new ticket"
[ "$(sql "SELECT status FROM appointments WHERE id = '$WLT'")" = rescheduled ] || fail "old status"
[ "$(sql "SELECT SUM(booked) FROM slot_counts WHERE office_id = 'hz-hall' AND day = '2027-05-20'")" = 1 ] ||
    fail "rescheduling did not free the old place"
out=$(postj kiosk-a /v1/appointments/mine "{\"id_session\":\"$WANG\"}")
expect "$out" 200 "" "my appointments"
jws_payload "$(body "$out")" | grep -q '"sl":"10:30","status":"booked","sv":"marriage"' ||
    fail "mine: $(jws_payload "$(body "$out")")"
jws_payload "$(body "$out")" | grep -q "\"status\":\"rescheduled\",\"sv\":\"marriage\",\"t\":\"$WLT\"" ||
    fail "mine lacks the rescheduled one"
# Today (2027-05-13, a Thursday) at hz-hall, checked in at its kiosk.
CM=$(hook_session 451123198206010062 寡居女 kiosk-b)
CF=$(hook_session 451123197909180055 离异男 kiosk-b)
out=$(book kiosk-b marriage hz-hall 2027-05-13 14:30 "$CF" "$CM")
expect "$out" 201 "" "a booking for today"
TODAY=$(body "$out")
printf '{"ticket":"%s"}' "$TODAY" >"$work/ci.json"
out=$(post kiosk-a /v1/check-ins "$work/ci.json")
expect "$out" 409 other_office "checking in at another registry's kiosk"
printf '{"ticket":"%s"}' "$WL" >"$work/ci2.json"
out=$(post kiosk-b /v1/check-ins "$work/ci2.json")
expect "$out" 409 "" "checking in with a replaced ticket"
out=$(post kiosk-b /v1/check-ins "$work/ci.json")
expect "$out" 200 "" "check-in"
jws_payload "$(body "$out")" | grep -q '"status":"checked_in"' || fail "check-in answer"
printf '{"ticket":"%s.x"}' "$TODAY" >"$work/ci3.json"
out=$(post kiosk-b /v1/check-ins "$work/ci3.json")
expect "$out" 400 ticket_invalid "an altered ticket at check-in"
echo "reschedule: new ticket, old place freed; mine; check-in at the registry's kiosk on the day"

# ---- no-shows: once 5·20 is over, the appointments nobody came to are marked -------------
[ -z "$PID2" ] || { kill -TERM "$PID2" && wait "$PID2" || fail "the second server did not stop cleanly"; PID2=; }
stop_server
missed() { sql "SELECT COUNT(*) FROM appointments WHERE status = 'booked' AND day <= '2027-05-20'"; }
n_missed=$(missed)
n_parties=$(sql "SELECT COUNT(*) FROM appointment_parties p JOIN appointments a ON a.id = p.appointment_id WHERE a.status = 'booked' AND a.day <= '2027-05-20' AND p.active = 1")
[ "$n_missed" -gt 100 ] && [ "$n_parties" -ge "$n_missed" ] || fail "no booked appointments to miss ($n_missed)"
[ "$(sql "SELECT COUNT(*) FROM no_shows")" = 0 ] || fail "no-shows before any day passed"
export HUIMIN_SERVER_TEST_CLOCK_OFFSET=$(($(date -u -d '2027-05-21 01:00' +%s) - $(date +%s)))
start_server "$D"
i=0
while [ "$(missed)" != 0 ]; do
    i=$((i + 1))
    [ $i -lt 150 ] || fail "$(missed) appointments of 5·20 still booked on 5·21: $(tail -3 "$D/server.log")"
    sleep 0.1
done
[ "$(sql "SELECT COUNT(*) FROM appointments WHERE status = 'no_show'")" = "$n_missed" ] ||
    fail "not every missed appointment became a no-show"
[ "$(sql "SELECT COUNT(*) FROM no_shows")" = "$n_parties" ] ||
    fail "not one no-show row per party"
[ "$(sql "SELECT COUNT(*) FROM audit WHERE action = 'appointment.no_show'")" = "$n_missed" ] ||
    fail "no-shows not audited"
[ "$(sql "SELECT COUNT(*) FROM appointment_parties p JOIN appointments a ON a.id = p.appointment_id WHERE a.status = 'no_show' AND p.active = 1")" = 0 ] ||
    fail "a no-show still holds an active booking"
# Checked in on its day: not a no-show.
[ "$(sql "SELECT COUNT(*) FROM appointments WHERE status = 'checked_in'")" = 1 ] || fail "the check-in was lost"
stop_server
echo "no-shows: $n_missed appointments of 5·20 marked on 5·21 ($n_parties persons), audited"

# ---- an expired document (the clock after its expiry, before its signer's) --------------
export HUIMIN_SERVER_TEST_CLOCK_OFFSET=$((2095948800 - $(date +%s))) # 2036-06-02
start_server "$D"
URL="https://localhost:$PORT"
export URL
"$RIG" --card "$C/zhang-td1.json" -- "$0" read 0:HA1234567:560312:360312:zhang-late ||
    fail "reading zhang again"
out=$(post kiosk-a /v1/id-sessions "$OUT/zhang-late.json")
expect "$out" 403 id_expired "an ID card past its expiry (2036-03-12)"
stop_server
echo "an expired ID card: id_expired"

# ---- the audit log and what is never written -------------------------------------------
out=$("$ADMIN" audit verify --dir "$D" 2>&1) || fail "audit verify: $out"
n_book=$(sql "SELECT COUNT(*) FROM audit WHERE action = 'appointment.book'")
n_appt=$(sql "SELECT COUNT(*) FROM appointments WHERE replaces IS NULL")
[ "$n_book" = "$n_appt" ] || fail "$n_book booking audit records for $n_appt bookings"
[ "$(sql "SELECT COUNT(*) FROM audit WHERE action = 'appointment.cancel'")" = \
  "$(sql "SELECT COUNT(*) FROM appointments WHERE status = 'cancelled'")" ] || fail "cancel audit"
[ "$(sql "SELECT COUNT(*) FROM audit WHERE action = 'appointment.reschedule'")" = 1 ] || fail "reschedule audit"
[ "$(sql "SELECT COUNT(*) FROM audit WHERE action = 'appointment.check_in'")" = 1 ] || fail "check-in audit"
[ "$(sql "SELECT COUNT(*) FROM audit WHERE action = 'id.session'")" = 4 ] || fail "ID session audit"
for id in 330106199005150034 320102199208170046 110102195603120025 451123198501100036 \
    "$(head -1 "$work/people.tsv" | cut -f1)"; do
    grep -q "$id" "$D"/server*.log && fail "a full ID number in the server log"
    [ "$(sql "SELECT COUNT(*) FROM audit WHERE detail LIKE '%$id%' OR subject LIKE '%$id%'")" = 0 ] ||
        fail "a full ID number in the audit log"
    [ "$(sql "SELECT COUNT(*) FROM appointment_parties WHERE id_masked LIKE '%$id%' OR person LIKE '%$id%'")" = 0 ] ||
        fail "a full ID number in appointment_parties"
done
echo "audit: the chain verifies; one record per booking, cancellation, reschedule, check-in;"
echo "  no full ID number in the logs, the audit log or the bookings"
