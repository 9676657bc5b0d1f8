#!/bin/sh
# huimin-admin import end to end: the demo fixtures import cleanly in order; a
# file with bad rows reports exactly those lines and imports nothing; every
# kind of bad value is a row error; file-level problems refuse the file; the
# citizen ID never appears unmasked; the audit log still verifies.
# Usage: test_import.sh [sqlite|postgres] (postgres needs HUIMIN_PG_CONNINFO,
# as scripts/pg-harness.sh sets it).
set -u
. "${HUIMIN_SOURCE_DIR:?run under ctest}/tests/server/lib/server-lib.sh"
BACKEND=${1:-sqlite}
FX="$SRC/fixtures/deploy"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
D="$work/deploy"
T="$work/csv"
mkdir -p "$T"

set -- init --dir "$D" --name "富川瑶族自治县民政局"
if [ "$BACKEND" = postgres ]; then
    set -- "$@" --backend postgres --conninfo "${HUIMIN_PG_CONNINFO:?no PostgreSQL}"
fi
out=$("$ADMIN" "$@" 2>&1) || fail "huimin-admin init: $out"

# sql QUERY: one value from the deployment's database.
sql() {
    if [ "$BACKEND" = postgres ]; then
        psql "$HUIMIN_PG_CONNINFO" -X -A -t -q -c "$1"
    else
        sqlite3 "$D/huimin.db" "$1"
    fi
}
counts() {
    echo "$(sql 'SELECT COUNT(*) FROM programmes') $(sql 'SELECT COUNT(*) FROM residents')" \
        "$(sql 'SELECT COUNT(*) FROM entitlements') $(sql 'SELECT COUNT(*) FROM payments')" \
        "$(sql 'SELECT COUNT(*) FROM audit')"
}
# imp KIND FILE [ARGS...]: runs the import; output in $out, status in $rc.
imp() {
    k=$1
    f=$2
    shift 2
    out=$("$ADMIN" import "$k" --dir "$D" --file "$f" "$@" 2>&1)
    rc=$?
    printf '%s\n' "$out" >>"$work/all-output"
}
# expect_rows KIND FILE LINE...: exit 3, exactly those lines reported, nothing imported.
expect_rows() {
    k=$1
    f=$2
    shift 2
    before=$(counts)
    imp "$k" "$f"
    [ "$rc" -eq 3 ] || fail "$k $(basename "$f"): exit $rc, want 3: $out"
    got=$(printf '%s\n' "$out" | sed -n "s/^$(basename "$f"):\([0-9]*\): .*/\1/p" | sort -n -u |
        tr '\n' ' ')
    [ "$got" = "$* " ] || fail "$k $(basename "$f"): lines '$got', want '$* ': $out"
    [ "$(counts)" = "$before" ] || fail "$k $(basename "$f"): something was imported: $out"
}
# expect_msg TEXT: the last import's output holds TEXT.
expect_msg() {
    printf '%s\n' "$out" | grep -qF -- "$1" || fail "want '$1' in: $out"
}

# ---- schema, and a dry run -----------------------------------------------------
# Migration 2 brought the tables imports fill; later migrations add others.
[ "$(sql 'SELECT MAX(version) FROM schema_version')" -ge 2 ] || fail "schema version is below 2"
[ "$(sql "SELECT COUNT(*) FROM schema_version WHERE version = 2")" = 1 ] || fail "migration 2 missing"
imp programmes "$FX/programmes.csv" --dry-run
[ "$rc" -eq 0 ] || fail "dry run: $out"
expect_msg "Checked 16 programmes"
[ "$(sql 'SELECT COUNT(*) FROM programmes')" = 0 ] || fail "the dry run wrote rows"
imp residents "$FX/residents.csv" --dry-run
[ "$rc" -eq 0 ] || fail "residents dry run: $out"
# References must be in the database: entitlements before residents are refused.
imp entitlements "$FX/entitlements.csv" --dry-run
[ "$rc" -eq 3 ] || fail "entitlements without residents: exit $rc"
expect_msg "entitlements.csv:2: no resident R000001"

# ---- the fixtures, in order ----------------------------------------------------
for k in programmes residents entitlements payments; do
    imp $k "$FX/$k.csv"
    [ "$rc" -eq 0 ] || fail "import $k: exit $rc: $out"
    expect_msg "Imported"
done
[ "$(counts)" = "16 12 20 94 4" ] || fail "counts after the fixtures: $(counts)"
[ "$(sql "SELECT amount_fen FROM entitlements WHERE id = 'E000005'")" = 43333 ] ||
    fail "433.33 yuan is not 43333 fen"
[ "$(sql "SELECT standard_fen FROM programmes WHERE code = 'dibao-urban'")" = 75000 ] ||
    fail "the urban dibao standard"
[ "$(sql "SELECT COUNT(*) FROM programmes WHERE standard_fen IS NULL")" = 7 ] ||
    fail "programmes without a standard"
[ "$(sql "SELECT flags FROM residents WHERE id = 'R000004'")" = 7 ] || fail "resident flags"
[ "$(sql "SELECT citizen_id FROM residents WHERE id = 'R000001'")" = 110102195603120025 ] ||
    fail "the citizen ID is stored"
[ "$(sql "SELECT COUNT(*) FROM residents WHERE welfare_no IS NULL")" = 1 ] ||
    fail "a resident without a card has no welfare_no"
[ "$(sql "SELECT COUNT(*) FROM payments WHERE account_masked LIKE '%0000000%'")" = 0 ] ||
    fail "a full account number was stored"
[ "$(sql "SELECT account_masked FROM payments WHERE id = 'P-E000001-202601'")" = '****1234' ] ||
    fail "the account is masked"
[ "$(sql "SELECT COUNT(*) FROM payments WHERE status = 1 AND paid_date IS NULL")" = 2 ] ||
    fail "scheduled payments"
[ "$(sql "SELECT COUNT(*) FROM audit WHERE action = 'import.payments' AND subject = 'payments.csv' AND detail LIKE '%\"rows\":94%' AND actor LIKE 'admin:%'")" = 1 ] ||
    fail "the import's audit record: $(sql "SELECT detail FROM audit WHERE action = 'import.payments'")"
sha=$(sha256sum "$FX/payments.csv" | cut -d' ' -f1)
[ "$(sql "SELECT COUNT(*) FROM audit WHERE detail LIKE '%$sha%'")" = 1 ] ||
    fail "the audit record has the file's SHA-256"

# ---- importing the same file again: every row refused, nothing changes ------------
expect_rows residents "$FX/residents.csv" 2 3 4 5 6 7 8 9 10 11 12 13
expect_msg "residents.csv:2: resident R000001 exists already"
expect_msg "12 of 12 rows in residents.csv are bad; nothing was imported"

# ---- 3 bad rows among good ones ------------------------------------------------
cat >"$T/payments.csv" <<'EOF'
id,entitlement_id,period,amount,channel,account,paid_date,status
N1,E000001,2026-12,750.00,bank,****1234,,scheduled
N2,E000003,2026-12,80,sscard,****5678,,scheduled
N3,E000004,2026-12,12.345,sscard,****5678,,scheduled
N4,E000008,2026-11,565.00,sscard,****3344,2026-11-10,paid
N5,E000009,2026-12,560.00,sscard,****3344,2026-02-30,paid
N6,E000010,2026-12,975.00,bank,****0101,,scheduled
N7,E999999,2026-12,975.00,bank,****0101,,scheduled
EOF
expect_rows payments "$T/payments.csv" 4 6 8
expect_msg "payments.csv:4: amount '12.345' has more than two decimals"
expect_msg "payments.csv:6: paid_date '2026-02-30' is not a date YYYY-MM-DD that exists"
expect_msg "payments.csv:8: no entitlement E999999"
expect_msg "3 of 7 rows in payments.csv are bad"
# The same file without them imports.
sed -e '/^N3,/d' -e '/^N5,/d' -e '/^N7,/d' "$T/payments.csv" >"$T/payments-good.csv"
imp payments "$T/payments-good.csv"
[ "$rc" -eq 0 ] || fail "the good payments: $out"
[ "$(sql 'SELECT COUNT(*) FROM payments')" = 98 ] || fail "98 payments"

# ---- bad amounts ----------------------------------------------------------------
H="id,resident_id,programme,amount,period,start_date,end_date,status,reason"
{
    echo "$H"
    echo "X1,R000001,temporary,1.234,once,2026-11-01,,active,"
    echo "X2,R000001,temporary,-5,once,2026-11-01,,active,"
    echo "X3,R000001,temporary,1e3,once,2026-11-01,,active,"
    echo "X4,R000001,temporary,\"12,5\",once,2026-11-01,,active,"
    echo "X5,R000001,temporary,,once,2026-11-01,,active,"
    echo "X6,R000001,temporary,0,once,2026-11-01,,active,"
    echo "X7,R000001,temporary,500.5,once,2026-11-01,,active,"
} >"$T/entitlements.csv"
expect_rows entitlements "$T/entitlements.csv" 2 3 4 5 6 7
expect_msg "entitlements.csv:2: amount '1.234' has more than two decimals"
expect_msg "entitlements.csv:3: amount '-5' is negative"
expect_msg "entitlements.csv:4: amount '1e3' is not an amount in yuan"
expect_msg "entitlements.csv:5: amount '12,5' is not an amount in yuan"
expect_msg "entitlements.csv:6: amount '' is empty"
expect_msg "entitlements.csv:7: amount is 0"

# ---- bad dates, an unknown programme, status rules --------------------------------
{
    echo "$H"
    echo "Y1,R000001,temporary,10,once,2026-02-30,,active,"
    echo "Y2,R000001,no-such-programme,10,once,2026-01-01,,active,"
    echo "Y3,R000001,temporary,10,once,2026-05-01,2026-04-01,active,"
    echo "Y4,R000001,temporary,10,once,2026-05-01,,stopped,"
    echo "Y5,R000001,temporary,10,fortnight,2026-05-01,,active,"
    echo "Y6,R000404,temporary,10,once,2026-05-01,,active,"
    echo "Y7,R000001,temporary,10,once,2026-05-01,,active,"
} >"$T/entitlements.csv"
expect_rows entitlements "$T/entitlements.csv" 2 3 4 5 6 7
expect_msg "entitlements.csv:2: start_date '2026-02-30' is not a date YYYY-MM-DD that exists"
expect_msg "entitlements.csv:3: no programme no-such-programme"
expect_msg "entitlements.csv:4: end_date 2026-04-01 is before start_date 2026-05-01"
expect_msg "entitlements.csv:5: status stopped needs an end_date"
expect_msg "entitlements.csv:5: status stopped needs a reason"
expect_msg "entitlements.csv:6: period 'fortnight' is not month, year or once"
expect_msg "entitlements.csv:7: no resident R000404"

# ---- residents: check digit, duplicates within the file, masking ------------------
RH="id,citizen_id,name,welfare_no,birth_date,region_code,flags,phone"
{
    echo "$RH"
    echo "R100001,110101200001010010,测试甲,WF4511230100001,2000-01-01,451123,,"
    echo "R100002,110101200001010021,测试乙,WF4511230100002,2000-01-01,451123,,"
    echo "R100003,110101200001010029,测试丙,WF4511230100003,2000-01-01,451123,,"
    echo "R100001,110101200001010037,测试丁,WF4511230100004,2000-01-01,451123,,"
    echo "R100005,110101200001010029,测试戊,WF4511230100005,2000-01-01,451123,,"
    echo "R100006,110101200001010045,测试己,WF4511230100006,2000-01-02,451123,,"
    echo "R100007,110101200001010053,测试庚,WF4511230100007,2000-01-01,451123,sing,"
    echo "R100008,110102195603120025,张秀英,WF4511230100008,1956-03-12,451123,,"
} >"$T/residents.csv"
expect_rows residents "$T/residents.csv" 3 5 6 7 8 9
expect_msg "residents.csv:3: citizen ID 110***********0021 has a wrong check digit"
expect_msg "residents.csv:5: id R100001 is on line 2 already"
expect_msg "residents.csv:6: citizen ID 110***********0029 is on line 4 already"
expect_msg "residents.csv:7: birth_date 2000-01-02 is not the birth date in citizen ID 110***********0045"
expect_msg "residents.csv:8: flag 'sing' is not tap_only, voice or large_text"
expect_msg "residents.csv:9: resident with citizen ID 110***********0025 exists already"

# ---- file-level refusals -------------------------------------------------------------
printf '%s\n' "id,citizen_id,name,welfare_no,birth_date,region_code,flags" \
    "R200001,110101200001010019,测试,,2000-01-01,451123," >"$T/missing.csv"
before=$(counts)
imp residents "$T/missing.csv"
[ "$rc" -eq 3 ] || fail "a missing column: exit $rc: $out"
expect_msg "missing.csv:1: missing column 'phone'"
expect_msg "refused as a whole; nothing was imported"
printf '%s\n' "$RH,nickname" "R200001,110101200001010019,测试,,2000-01-01,451123,,,x" >"$T/unknown.csv"
imp residents "$T/unknown.csv"
[ "$rc" -eq 3 ] || fail "an unknown column: exit $rc: $out"
expect_msg "unknown.csv:1: unknown column 'nickname'"
truncate -s 17M "$T/big.csv"
imp residents "$T/big.csv"
[ "$rc" -eq 3 ] || fail "an oversized file: exit $rc: $out"
expect_msg "the largest import is"
printf '%s\n' "$RH" 'R200001,"110101200001010019,测试,,2000-01-01,451123,,' >"$T/quote.csv"
imp residents "$T/quote.csv"
[ "$rc" -eq 3 ] || fail "an unclosed quote: exit $rc: $out"
[ "$(counts)" = "$before" ] || fail "a refused file imported something"
imp residents "$work/no-such.csv"
[ "$rc" -eq 1 ] || fail "a missing file: exit $rc"
"$ADMIN" import people --dir "$D" --file "$FX/residents.csv" >/dev/null 2>&1
[ $? -eq 1 ] || fail "an unknown KIND is a usage error"

# ---- a BOM, CRLF line ends, quoted fields with commas and line breaks -------------------
{ printf '\357\273\277'; printf '%s\r\n' "$RH" \
    'R300001,110101200001010010,"欧阳, 娜",WF4511230300001,2000-01-01,451123,"tap_only; voice",' \
    '"R300002",110101200001010029,"多行' \
    '名字",,2000-01-01,451123,,"+86 774-0000000"'; } >"$T/bom.csv"
imp residents "$T/bom.csv"
[ "$rc" -eq 0 ] || fail "a BOM+CRLF file: exit $rc: $out"
[ "$(sql "SELECT name FROM residents WHERE id = 'R300001'")" = "欧阳, 娜" ] ||
    fail "the quoted name with a comma: $(sql "SELECT name FROM residents WHERE id = 'R300001'")"
[ "$(sql "SELECT flags FROM residents WHERE id = 'R300001'")" = 3 ] || fail "flags with a space"
[ "$(sql "SELECT COUNT(*) FROM residents WHERE id = 'R300002' AND phone = '+86 774-0000000'")" = 1 ] ||
    fail "the row after the multi-line field"
# A bad row after a multi-line field is reported where it starts.
printf '%s\r\n' "$RH" '"R300003",110101200001010037,"两行' '名字",,2000-01-01,451123,,' \
    'R300004,110101200001010045,四,,2000-02-30,451123,,' >"$T/crlf.csv"
expect_rows residents "$T/crlf.csv" 4

# ---- the citizen ID never appears unmasked ------------------------------------------------
for id in 110102195603120025 110101200001010021 110101200001010029 110101200001010045; do
    if grep -q "$id" "$work/all-output"; then
        fail "citizen ID $id appeared unmasked in huimin-admin's output"
    fi
done

# ---- the audit log ----------------------------------------------------------------------
out=$("$ADMIN" audit verify --dir "$D" 2>&1) || fail "audit verify: $out"
echo "$out" | grep -q "verifies: 6 records" || fail "audit verify: $out"
echo "PASS: import ($BACKEND)"
