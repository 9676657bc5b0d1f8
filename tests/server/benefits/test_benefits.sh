#!/bin/sh
# Benefits end to end (issue 7) with outside tools only: a deployment with the
# demo data imported, software welfare cards made with the openssl command
# line (9E and 9C keys and certificates from the issuer CA), curl as two
# kiosks. Checks the signed status (with openssl), confirmations with their
# receipts (exactly once, retries, every refusal), tap-only policy, disputes,
# and a race: pairs of kiosks confirming the same payments at the same moment,
# through two huimin-server processes on one database, give exactly one
# confirmation per payment.
# Usage: test_benefits.sh [sqlite|postgres]  (postgres: under scripts/pg-harness.sh)
set -u
. "${HUIMIN_SOURCE_DIR:?run under ctest}/tests/server/lib/server-lib.sh"
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
F="$SRC/fixtures/deploy"

# ---- a deployment with the demo data --------------------------------------------
demo_deployment "$D" "$BACKEND"
for k in kiosk-a kiosk-b; do
    "$ADMIN" enroll-kiosk --dir "$D" --id $k --name "富川 $k" --office fc-01 >/dev/null ||
        fail "enroll-kiosk $k"
done
SIGNING="$D/kiosks/kiosk-a/signing.pem"

sql() {
    if [ "$BACKEND" = postgres ]; then
        psql -X -q -t -A "$HUIMIN_PG_CONNINFO" -c "$1"
    else
        sqlite3 "$D/huimin.db" "$1"
    fi
}

# Software cards: NAME HOLDER WELFARE_NO SERIAL [CA] (the issuer CA unless another is named).
mkcard() {
    ca=${5:-$D/pki/issuer-ca}
    openssl ecparam -name prime256v1 -genkey -noout -out "$work/$1.key" 2>/dev/null
    openssl req -new -utf8 -key "$work/$1.key" -out "$work/$1.csr" \
        -subj "/O=富川瑶族自治县民政局/CN=$2/serialNumber=$3" 2>/dev/null
    printf 'keyUsage=critical,digitalSignature\n' >"$work/card.ext"
    openssl x509 -req -in "$work/$1.csr" -CA "$ca.pem" -CAkey "$ca.key" -set_serial "$4" \
        -days 365 -extfile "$work/card.ext" -out "$work/$1.pem" 2>/dev/null || fail "certificate $1"
    openssl x509 -in "$work/$1.pem" -outform DER -out "$work/$1.der"
}
mkcard zhang9e 张秀英 WF3301060000123 5001
mkcard zhang9c 张秀英 WF3301060000123 5101
mkcard wang9e 王建国 WF3301060000456 5002
mkcard wang9c 王建国 WF3301060000456 5102
mkcard li9e 李娜 WF3301060000789 5004
mkcard li9c 李娜 WF3301060000789 5104
mkcard wang9e2 王建国 WF3301060000456 5003 # genuine 9E, never registered
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$work/other.key" \
    -out "$work/other.pem" -subj "/CN=Other CA" -days 30 2>/dev/null || fail "other CA"
mkcard forged9c 张秀英 WF3301060000123 5105 "$work/other"
for c in zhang9e wang9e li9e; do
    out=$("$ADMIN" register-card --dir "$D" --cert "$work/$c.pem" 2>&1) || fail "register-card $c: $out"
done

start_server "$D"
URL="https://localhost:$PORT"
# A second server process on the same database (another port), as a city runs several.
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

b64url_file() { base64 -w0 <"$1" | tr '+/' '-_' | tr -d '='; }
b64url_str() { printf '%s' "$1" | base64 -w0 | tr '+/' '-_' | tr -d '='; }
post() { # post KIOSK PATH FILE [URL]
    kcurl "$D" "$1" -X POST -H 'Content-Type: application/json' --data-binary @"$3" "${4:-$URL}$2"
}
body() { echo "$1" | sed '$d'; }
http() { echo "$1" | tail -1 | cut -d' ' -f2; }
expect() { # expect OUT CODE [ERROR_CODE] WHAT
    [ "$(http "$1")" = "$2" ] || fail "$4: expected HTTP $2: $1"
    [ -z "$3" ] || echo "$1" | grep -q "\"code\":\"$3\"" || fail "$4: expected $3: $1"
}
nonce() { # nonce KIOSK PURPOSE [URL]
    printf '{"purpose":"%s"}' "$2" >"$work/np.json"
    r=$(post "$1" /v1/nonces "$work/np.json" "${3:-$URL}")
    [ "$(http "$r")" = 201 ] || fail "nonce: $r"
    jws_payload "$(body "$r")" | sed -n 's/.*"nonce":"\([A-Za-z0-9_-]*\)".*/\1/p'
}
session() { # session KIOSK CARD [URL] -> session id
    n=$(nonce "$1" card-session "${3:-$URL}")
    printf '%s' "$n" | openssl dgst -sha256 -sign "$work/$2.key" -out "$work/ss.der"
    printf '{"nonce":"%s","card":{"cert":"%s","alg":17,"signature":"%s"}}' "$n" \
        "$(b64url_file "$work/$2.der")" "$(b64url_file "$work/ss.der")" >"$work/cs.json"
    r=$(post "$1" /v1/card-sessions "$work/cs.json" "${3:-$URL}")
    [ "$(http "$r")" = 201 ] || fail "card session: $r"
    jws_payload "$(body "$r")" | sed -n 's/.*"session":"\([A-Za-z0-9_-]*\)".*/\1/p'
}
status() { # status KIOSK SESSION -> the whole answer
    printf '{"session":"%s"}' "$2" >"$work/st.json"
    post "$1" /v1/status "$work/st.json"
}
# statement KIOSK NONCE PAYMENT AMOUNT PERIOD WELFARE_NO [TIME]: canonical bytes to stdout
statement() {
    printf '{"amount_fen":%s,"kiosk":"%s","nonce":"%s","payment":"%s","period":"%s","time":%s,"typ":"huimin-confirmation","v":1,"welfare_no":"%s"}' \
        "$4" "$1" "$2" "$3" "$5" "${7:-$(date +%s)}" "$6"
}
# confirm_req OUT SESSION STMT_FILE KEY CARD [SIGNED_FILE]: writes the request to OUT; the card
# signs SIGNED_FILE (default: the statement itself). SESSION "null" for a journal delivery.
confirm_req() {
    openssl dgst -sha256 -sign "$work/$5.key" -out "$1.sig" "${6:-$3}"
    s=$2; [ "$s" = null ] || s="\"$s\""
    printf '{"session":%s,"statement":"%s","key":"%s","cert":"%s","signature":"%s"}' "$s" \
        "$(b64url_file "$3")" "$4" "$(b64url_file "$work/$5.der")" "$(b64url_file "$1.sig")" >"$1"
}

ZS=$(session kiosk-a zhang9e)
[ ${#ZS} -eq 43 ] || fail "no session for 张秀英: $ZS"
WS=$(session kiosk-a wang9e)
LS=$(session kiosk-a li9e)

# ---- status ---------------------------------------------------------------------
out=$(status kiosk-a "$ZS")
expect "$out" 200 "" "status"
echo "$out" | tail -1 | grep -q "application/jose" || fail "status is not a JWS: $out"
tok=$(body "$out")
jws_verify_openssl "$tok" "$SIGNING" || fail "the status does not verify with openssl"
printf '%s' "$tok" | cut -d. -f1 | b64url_decode | grep -q '"typ":"huimin-status"' ||
    fail "status typ"
p=$(jws_payload "$tok")
has() { echo "$p" | grep -qF -- "$1" || fail "status lacks $1: $p"; }
has '"resident":{"id":"R000001","name":"张秀英","tap_only":false,"welfare_no":"WF3301060000123"}'
has '"kiosk":"kiosk-a"'
has "\"session\":\"$ZS\""
has '{"amount_fen":75000,"end":null,"id":"E000001","period":"month","programme":"dibao-urban","programme_name":"城市最低生活保障","reason":"","start":"2021-01-01","status":"active"}'
has '{"amount_fen":5340,"end":"2026-12-31","id":"E000002","period":"month","programme":"price-subsidy","programme_name":"价格临时补贴","reason":"物价上涨联动","start":"2026-09-01","status":"active"}'
has '{"account":"****1234","amount_fen":75000,"channel":"bank","entitlement":"E000001","id":"P-E000001-202611","paid_date":"2026-11-10","period":"2026-11","programme":"dibao-urban","programme_name":"城市最低生活保障","status":"paid"}'
has '"id":"P-E000001-202604","paid_date":"2026-04-10","period":"2026-04","programme":"dibao-urban","programme_name":"城市最低生活保障","status":"disputed"}'
has '"next_payment":{"amount_fen":75000,"id":"P-E000001-202612","period":"2026-12","programme":"dibao-urban","programme_name":"城市最低生活保障","status":"scheduled"}'
# The year's total from the CSV (paid, confirmed, disputed), and 841020 fen in 2026.
y=$(date +%Y)
total=$(awk -F, -v y="$y" '($2=="E000001"||$2=="E000002") && substr($3,1,4)==y &&
    ($8=="paid"||$8=="confirmed"||$8=="disputed") { split($4,a,"."); t += a[1]*100 + substr(a[2]"00",1,2) }
    END { printf "%d", t }' "$F/payments.csv")
[ "$y" != 2026 ] || [ "$total" = 841020 ] || fail "the CSV's 2026 total is $total, not 841020"
has "\"year_total_fen\":$total"
if [ "$(date +%Y-%m)" = 2026-12 ]; then
    has '"awaiting_confirmation":["P-E000001-202611","P-E000002-202611","P-E000001-202610","P-E000002-202610","P-E000001-202609","P-E000002-202609"]'
    n=$(echo "$p" | grep -o '"channel":' | wc -l)
    [ "$n" = 15 ] || fail "status lists $n payments, not the 15 of 2026-01..2026-12"
    echo "$p" | grep -q '"payments":\[{"account":"\*\*\*\*1234","amount_fen":75000,"channel":"bank","entitlement":"E000001","id":"P-E000001-202612","paid_date":null' ||
        fail "payments are not newest first: $p"
fi
echo "$p" | grep -q 'P-E000001-202512' && fail "status lists a payment older than 12 months"
h=$(echo "$tok" | cut -d. -f1)
alt=$(printf '%s' "$p" | sed 's/"amount_fen":75000/"amount_fen":95000/' | base64 -w0 | tr '+/' '-_' | tr -d '=')
jws_verify_openssl "$h.$alt.$(echo "$tok" | cut -d. -f3)" "$SIGNING" && fail "an altered status verified"
out=$(status kiosk-a "$WS")
jws_payload "$(body "$out")" | grep -q '"tap_only":true,"welfare_no":"WF3301060000456"' ||
    fail "王建国 is tap-only: $out"
echo "status: signed (openssl verifies), entitlements, payments, year total $total fen; altered: refused"

out=$(status kiosk-b "$ZS")
expect "$out" 403 session_other_kiosk "status from another kiosk"
out=$(status kiosk-a "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
expect "$out" 403 session_unknown "status of an unknown session"
# Sessions written straight into the database: one past its expiry, and one for a welfare
# number no resident holds (the card registry and the residents are imported apart).
now=$(date +%s)
XS=XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX NS=NNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNN
sql "INSERT INTO card_sessions (id, kiosk_id, cert_serial, welfare_no, created_at, expires_at)
     VALUES ('$XS', 'kiosk-a', '01', 'WF3301060000123', $((now - 400)), $((now - 100))),
            ('$NS', 'kiosk-a', '02', 'WF9999999999999', $now, $((now + 300)))" >/dev/null ||
    fail "test sessions not written"
out=$(status kiosk-a "$XS")
expect "$out" 403 session_expired "status of an expired session"
out=$(status kiosk-b "$XS")
expect "$out" 403 session_other_kiosk "status of another kiosk's expired session"
out=$(status kiosk-a "$NS")
expect "$out" 404 resident_unknown "status of a session whose welfare number has no resident"
printf '{"session":7}' >"$work/bad.json"
out=$(post kiosk-a /v1/status "$work/bad.json")
expect "$out" 400 bad_request "status without a session id"
echo "status: another kiosk's session, an unknown one, an expired one, one without a resident, a malformed request: refused"

# ---- confirmations --------------------------------------------------------------
n=$(nonce kiosk-a confirm)
statement kiosk-a "$n" P-E000001-202611 75000 2026-11 WF3301060000123 >"$work/s1"
confirm_req "$work/c1.json" "$ZS" "$work/s1" 9c zhang9c
out=$(post kiosk-a /v1/confirmations "$work/c1.json")
expect "$out" 201 "" "confirmation"
r1=$(body "$out")
jws_verify_openssl "$r1" "$SIGNING" || fail "the receipt does not verify with openssl"
printf '%s' "$r1" | cut -d. -f1 | b64url_decode | grep -q '"typ":"huimin-receipt"' || fail "receipt typ"
rp=$(jws_payload "$r1")
sha=$(openssl dgst -sha256 -binary "$work/s1" | base64 -w0 | tr '+/' '-_' | tr -d '=' | cut -c1-22)
echo "$rp" | grep -q "^{\"a\":75000,\"iat\":[0-9]*,\"k\":\"kiosk-a\",\"m\":\"pin\",\"p\":\"P-E000001-202611\",\"pd\":\"2026-11\",\"r\":\"[A-Za-z0-9_-]\{16\}\",\"s\":\"$sha\",\"w\":\"WF3301060000123\"}$" ||
    fail "receipt payload: $rp"
out=$(post kiosk-a /v1/confirmations "$work/c1.json")
expect "$out" 200 "" "the same confirmation again"
[ "$(body "$out")" = "$r1" ] || fail "a retry got another receipt"
confirm_req "$work/c1j.json" null "$work/s1" 9c zhang9c
out=$(post kiosk-a /v1/confirmations "$work/c1j.json")
[ "$(http "$out")" = 200 ] && [ "$(body "$out")" = "$r1" ] || fail "journal re-delivery: $out"
[ "$(sql "SELECT status FROM payments WHERE id = 'P-E000001-202611'")" = 3 ] ||
    fail "the payment is not confirmed in the database"
[ "$(sql "SELECT proof || ' ' || key_ref FROM confirmations WHERE payment_id = 'P-E000001-202611'")" = "pin 9c" ] ||
    fail "stored proof"
echo "confirmation: 201 with a receipt openssl verifies; retry and journal re-delivery: the same token"

# Another statement for the confirmed payment: 409 with the stored receipt.
n=$(nonce kiosk-a confirm)
statement kiosk-a "$n" P-E000001-202611 75000 2026-11 WF3301060000123 >"$work/s2"
confirm_req "$work/c2.json" "$ZS" "$work/s2" 9c zhang9c
out=$(post kiosk-a /v1/confirmations "$work/c2.json")
expect "$out" 409 already_confirmed "a second statement for a confirmed payment"
echo "$out" | grep -qF "\"detail\":\"$r1\"" || fail "already_confirmed without the receipt: $out"
# ... and that nonce is still unused: it confirms another payment.
statement kiosk-a "$n" P-E000002-202611 5340 2026-11 WF3301060000123 >"$work/s3"
confirm_req "$work/c3.json" "$ZS" "$work/s3" 9c zhang9c
out=$(post kiosk-a /v1/confirmations "$work/c3.json")
expect "$out" 201 "" "a refused statement burnt its nonce"
# Nonce used twice, for another payment.
statement kiosk-a "$n" P-E000002-202610 5340 2026-10 WF3301060000123 >"$work/s4"
confirm_req "$work/c4.json" "$ZS" "$work/s4" 9c zhang9c
out=$(post kiosk-a /v1/confirmations "$work/c4.json")
expect "$out" 409 nonce_used "a nonce used twice"
echo "another statement for a confirmed payment: 409 already_confirmed with the receipt; nonce reuse: nonce_used"

try() { # try WHAT HTTP CODE KIOSK SESSION KEY CARD PAYMENT AMOUNT PERIOD WELFARE [PURPOSE]
    nn=$(nonce "$4" "${12:-confirm}")
    statement "$4" "$nn" "$8" "$9" "${10}" "${11}" >"$work/t.stmt"
    confirm_req "$work/t.json" "$5" "$work/t.stmt" "$6" "$7"
    out=$(post "$4" /v1/confirmations "$work/t.json")
    expect "$out" "$2" "$3" "$1"
}
try "another resident's payment" 403 payment_not_yours kiosk-a "$ZS" 9c zhang9c \
    P-E000003-202611 8000 2026-11 WF3301060000123
try "a scheduled payment" 409 payment_not_paid kiosk-a "$ZS" 9c zhang9c \
    P-E000001-202612 75000 2026-12 WF3301060000123
try "a returned payment" 409 payment_not_paid kiosk-a "$LS" 9c li9c \
    P-E000005-202607 43333 2026-07 WF3301060000789
try "an unknown payment" 404 payment_unknown kiosk-a "$ZS" 9c zhang9c \
    P-NOPE 75000 2026-10 WF3301060000123
try "a wrong amount" 400 statement_invalid kiosk-a "$ZS" 9c zhang9c \
    P-E000001-202610 75001 2026-10 WF3301060000123
try "9E of a resident who is not tap-only" 403 pin_required kiosk-a "$ZS" 9e zhang9e \
    P-E000001-202610 75000 2026-10 WF3301060000123
try "王建国's 9C for 张秀英's statement" 403 card_not_genuine kiosk-a "$ZS" 9c wang9c \
    P-E000001-202610 75000 2026-10 WF3301060000123
try "a certificate from another CA" 403 card_not_genuine kiosk-a "$ZS" 9c forged9c \
    P-E000001-202610 75000 2026-10 WF3301060000123
try "an unregistered 9E" 403 card_not_registered kiosk-a "$WS" 9e wang9e2 \
    P-E000003-202610 8000 2026-10 WF3301060000456
try "a card-session nonce" 409 nonce_unknown kiosk-a "$ZS" 9c zhang9c \
    P-E000001-202610 75000 2026-10 WF3301060000123 card-session
try "another welfare number than the session's" 400 statement_invalid kiosk-a "$ZS" 9c wang9c \
    P-E000003-202611 8000 2026-11 WF3301060000456
try "another kiosk's session" 403 session_other_kiosk kiosk-b "$ZS" 9c zhang9c \
    P-E000001-202610 75000 2026-10 WF3301060000123
# Signed, then altered (the time: still canonical) -> the signature fails.
n=$(nonce kiosk-a confirm)
t=$(date +%s)
statement kiosk-a "$n" P-E000001-202610 75000 2026-10 WF3301060000123 "$t" >"$work/signed"
statement kiosk-a "$n" P-E000001-202610 75000 2026-10 WF3301060000123 $((t + 1)) >"$work/sent"
confirm_req "$work/alt.json" "$ZS" "$work/sent" 9c zhang9c "$work/signed"
out=$(post kiosk-a /v1/confirmations "$work/alt.json")
expect "$out" 403 signature_invalid "a statement altered after signing"
# Non-canonical: a space, then unsorted keys (each signed as sent).
sed 's/,"kiosk"/, "kiosk"/' "$work/signed" >"$work/nc1"
confirm_req "$work/nc1.json" "$ZS" "$work/nc1" 9c zhang9c
out=$(post kiosk-a /v1/confirmations "$work/nc1.json")
expect "$out" 400 statement_invalid "a statement with whitespace"
sed 's/^{"amount_fen":75000,\("kiosk":"kiosk-a",\)/{\1"amount_fen":75000,/' "$work/signed" >"$work/nc2"
cmp -s "$work/nc2" "$work/signed" && fail "the unsorted statement is the sorted one"
confirm_req "$work/nc2.json" "$ZS" "$work/nc2" 9c zhang9c
out=$(post kiosk-a /v1/confirmations "$work/nc2.json")
expect "$out" 400 statement_invalid "a statement with unsorted keys"
sed 's/,"v":1/,"v":1,"x":0/' "$work/signed" >"$work/nc3"
confirm_req "$work/nc3.json" "$ZS" "$work/nc3" 9c zhang9c
out=$(post kiosk-a /v1/confirmations "$work/nc3.json")
expect "$out" 400 statement_invalid "a statement with an extra member"
# The untouched statement still works with its nonce (nothing above used it).
confirm_req "$work/ok.json" "$ZS" "$work/signed" 9c zhang9c
out=$(post kiosk-a /v1/confirmations "$work/ok.json")
expect "$out" 201 "" "the signed statement after the refusals"
echo "refused: another's payment, scheduled/returned/unknown payment, wrong amount, 9E without tap-only,"
echo "  another card or CA, card-session nonce, another kiosk's session, altered or non-canonical statement"

# Tap-only: 王建国 confirms with 9E, no PIN; a journal delivery (session null) with 9C.
try "王建国 with 9E" 201 "" kiosk-a "$WS" 9e wang9e P-E000003-202611 8000 2026-11 WF3301060000456
jws_verify_openssl "$(body "$out")" "$SIGNING" || fail "the tap receipt does not verify"
jws_payload "$(body "$out")" | grep -q '"m":"tap"' || fail "tap receipt: $(jws_payload "$(body "$out")")"
try "a journal delivery" 201 "" kiosk-a null 9c wang9c P-E000003-202610 8000 2026-10 WF3301060000456
jws_payload "$(body "$out")" | grep -q '"m":"pin"' || fail "journal receipt"
echo "tap-only resident: 201 with \"m\":\"tap\"; journal delivery without a session: 201"

# The server remembers certificates it verified (certcache.c); a CRL that
# changes afterwards must still bite: 王建国's 9C was just verified and cached.
try "王建国's cached 9C before the CRL" 201 "" kiosk-a null 9c wang9c P-E000004-202611 8000 2026-11 \
    WF3301060000456
"$BIN/tools/huimin-issue" revoke --dir "$D/pki" --serial 5102 >/dev/null || fail "huimin-issue revoke"
sleep 1.2 # the cache looks at the trust files at most once a second
try "王建国's 9C after its serial went on the CRL" 403 card_revoked kiosk-a null 9c wang9c \
    P-E000004-202610 8000 2026-10 WF3301060000456
echo "a cached card certificate put on the CRL afterwards: card_revoked"

# ---- disputes -------------------------------------------------------------------
printf '{"session":"%s","payment":"P-E000001-202609","reason":"not_received","note":"银行卡没有收到"}' "$ZS" >"$work/d.json"
out=$(post kiosk-a /v1/disputes "$work/d.json")
expect "$out" 201 "" "dispute"
dt=$(body "$out")
jws_verify_openssl "$dt" "$SIGNING" || fail "the dispute answer does not verify"
dp=$(jws_payload "$dt")
echo "$dp" | grep -q '"dispute":"[A-Za-z0-9_-]\{16\}",.*"payment":"P-E000001-202609","reason":"not_received","status":"open"' ||
    fail "dispute payload: $dp"
did=$(echo "$dp" | sed -n 's/.*"dispute":"\([^"]*\)".*/\1/p')
out=$(post kiosk-a /v1/disputes "$work/d.json")
expect "$out" 200 "" "the same dispute again"
jws_payload "$(body "$out")" | grep -q "\"dispute\":\"$did\"" || fail "a retried dispute made another"
[ "$(sql "SELECT COUNT(*) FROM exceptions WHERE kind = 'dispute' AND subject = '$did' AND status = 'open'")" = 1 ] ||
    fail "no exception for the staff"
out=$(status kiosk-a "$ZS")
jws_payload "$(body "$out")" | grep -q '"id":"P-E000001-202609","paid_date":"2026-09-10","period":"2026-09","programme":"dibao-urban","programme_name":"城市最低生活保障","status":"disputed"' ||
    fail "status does not show the dispute"
printf '{"session":"%s","payment":"P-E000001-202612","reason":"other"}' "$ZS" >"$work/d2.json"
out=$(post kiosk-a /v1/disputes "$work/d2.json")
expect "$out" 409 payment_not_paid "a dispute of a scheduled payment"
printf '{"session":"%s","payment":"P-E000003-202609","reason":"other"}' "$ZS" >"$work/d3.json"
out=$(post kiosk-a /v1/disputes "$work/d3.json")
expect "$out" 403 payment_not_yours "a dispute of another's payment"
printf '{"session":"%s","payment":"P-E000001-202608","reason":"lottery"}' "$ZS" >"$work/d4.json"
out=$(post kiosk-a /v1/disputes "$work/d4.json")
expect "$out" 400 bad_request "a dispute with an unknown reason"
try "confirming a disputed payment" 409 payment_not_paid kiosk-a "$ZS" 9c zhang9c \
    P-E000001-202609 75000 2026-09 WF3301060000123
echo "dispute: 201 signed, retry 200 with the same id, an exception queued, status shows disputed"

# ---- the race: two kiosks, two server processes, one payment each time -------------
N=30
{
    echo "id,entitlement_id,period,amount,channel,account,paid_date,status"
    i=0
    while [ $i -lt $N ]; do
        m=$((i % 12 + 1)); yy=$((2023 + i / 12))
        printf 'P-RACE-%02d,E000001,%d-%02d,750.00,bank,****1234,%d-%02d-10,paid\n' $i $yy $m $yy $m
        i=$((i + 1))
    done
} >"$work/race.csv"
out=$("$ADMIN" import payments --dir "$D" --file "$work/race.csv" 2>&1) || fail "import race: $out"
SB=$(session kiosk-b zhang9e "$URL2")
mkdir -p "$work/race"
i=0
while [ $i -lt $N ]; do
    id=$(printf 'P-RACE-%02d' $i)
    per=$(printf '%d-%02d' $((2023 + i / 12)) $((i % 12 + 1)))
    na=$(nonce kiosk-a confirm)
    nb=$(nonce kiosk-b confirm "$URL2")
    statement kiosk-a "$na" $id 75000 $per WF3301060000123 >"$work/race/$i.a.stmt"
    statement kiosk-b "$nb" $id 75000 $per WF3301060000123 >"$work/race/$i.b.stmt"
    confirm_req "$work/race/$i.a" "$ZS" "$work/race/$i.a.stmt" 9c zhang9c
    confirm_req "$work/race/$i.b" "$SB" "$work/race/$i.b.stmt" 9c zhang9c
    i=$((i + 1))
done
i=0
while [ $i -lt $N ]; do
    post kiosk-a /v1/confirmations "$work/race/$i.a" >"$work/race/$i.a.out" &
    post kiosk-b /v1/confirmations "$work/race/$i.b" "$URL2" >"$work/race/$i.b.out" &
    i=$((i + 1))
done
wait_for_curls() {
    for j in $(seq 0 $((N - 1))); do
        for s in a b; do
            k=0
            while [ "$(tail -1 "$work/race/$j.$s.out" 2>/dev/null | cut -c1-4)" != HTTP ]; do
                k=$((k + 1)); [ $k -lt 300 ] || fail "race request $j.$s did not finish"
                sleep 0.1
            done
        done
    done
}
wait_for_curls
i=0
while [ $i -lt $N ]; do
    a=$(cat "$work/race/$i.a.out"); b=$(cat "$work/race/$i.b.out")
    ha=$(http "$a"); hb=$(http "$b")
    if [ "$ha" = 201 ] && [ "$hb" = 409 ]; then win=$a; lose=$b
    elif [ "$hb" = 201 ] && [ "$ha" = 409 ]; then win=$b; lose=$a
    else fail "race $i: not one 201 and one 409: $a / $b"; fi
    echo "$lose" | grep -q '"code":"already_confirmed"' || fail "race $i: the loser got $lose"
    echo "$lose" | grep -qF "\"detail\":\"$(body "$win")\"" || fail "race $i: the loser's receipt is not the winner's: $win / $lose"
    i=$((i + 1))
done
bad=$(sql "SELECT p.id FROM payments p LEFT JOIN confirmations c ON c.payment_id = p.id WHERE p.id LIKE 'P-RACE-%' GROUP BY p.id HAVING COUNT(c.payment_id) <> 1 OR MIN(p.status) <> 3")
[ -z "$bad" ] || fail "payments without exactly one confirmation: $bad"
[ "$(sql "SELECT COUNT(*) FROM confirmations WHERE payment_id LIKE 'P-RACE-%'")" = $N ] ||
    fail "not $N confirmations"
[ "$(sql "SELECT COUNT(*) FROM audit WHERE action = 'payment.confirm' AND subject LIKE 'P-RACE-%'")" = $N ] ||
    fail "not $N audit records"
echo "race: $N payments, each confirmed at once from two kiosks through two servers: exactly one"
echo "  confirmation each; every loser got 409 already_confirmed with the winner's receipt"

kill -TERM "$PID2" && wait "$PID2" || fail "the second server did not stop cleanly"
PID2=
stop_server
out=$("$ADMIN" audit verify --dir "$D" 2>&1) || fail "audit verify: $out"
echo "PASS: benefits end to end ($BACKEND)"
