#!/bin/sh
# huimin-gen end to end on SQLite: 2000 synthetic residents in a fresh
# deployment, checked with the sqlite3 command line (counts, citizen IDs,
# amounts, statuses); every generated row passes huimin-admin import's own
# checks (exported to CSV and imported into a second deployment); the same
# seed gives the same rows and another seed other rows; one audit record per
# run and the audit log verifies; the demo fixtures still import into a
# generated deployment; a deployment without programmes, or generated once
# already, is refused with nothing written.
set -u
. "${HUIMIN_SOURCE_DIR:?run under ctest}/tests/server/lib/server-lib.sh"
GEN="$BIN/bench/huimin-gen"
FX="$SRC/fixtures/deploy"
N=2000
TODAY=2026-12-01

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
command -v sqlite3 >/dev/null || fail "the sqlite3 command line is needed (apt-get install sqlite3)"
[ -x "$GEN" ] || fail "$GEN is not built"

# deploy NAME: a fresh deployment with the demo programmes; prints its folder.
deploy() {
    d="$work/$1"
    out=$("$ADMIN" init --dir "$d" --name "富川瑶族自治县民政局" 2>&1) || fail "init $1: $out"
    out=$("$ADMIN" import programmes --dir "$d" --file "$FX/programmes.csv" 2>&1) ||
        fail "import programmes into $1: $out"
    echo "$d"
}
sql() { sqlite3 "$1/huimin.db" "$2"; }
# gen DIR ARGS...: runs huimin-gen; output in $out, status in $rc.
gen() {
    d=$1
    shift
    out=$("$GEN" --dir "$d" "$@" 2>&1)
    rc=$?
}
# digest DIR: a hash of every generated row of the three tables.
digest() {
    {
        sql "$1" "SELECT * FROM residents WHERE id LIKE 'G%' ORDER BY id"
        sql "$1" "SELECT * FROM entitlements WHERE id LIKE 'GE%' ORDER BY id"
        sql "$1" "SELECT * FROM payments WHERE id LIKE 'GP%' ORDER BY id"
    } | sha256sum | cut -d' ' -f1
}

# ---- refused: no programmes yet -------------------------------------------------
E="$work/empty"
out=$("$ADMIN" init --dir "$E" 2>&1) || fail "init empty: $out"
gen "$E" --residents 10
[ "$rc" -eq 3 ] || fail "no programmes: exit $rc, want 3: $out"
case "$out" in *"import programmes"*) ;; *) fail "no programmes: no hint to import them: $out" ;; esac
[ "$(sql "$E" 'SELECT COUNT(*) FROM residents')" = 0 ] || fail "no programmes: residents written"
gen "$E" --residents 0
[ "$rc" -eq 1 ] || fail "--residents 0: exit $rc, want 1"
gen "$E" --residents 10 --region 45112
[ "$rc" -eq 1 ] || fail "--region 45112: exit $rc, want 1"

# ---- one run --------------------------------------------------------------------
A=$(deploy a)
gen "$A" --residents $N --seed 7 --today $TODAY
[ "$rc" -eq 0 ] || fail "huimin-gen: exit $rc: $out"
printf '%s\n' "$out" | grep -q "^Generated $N residents" || fail "no summary: $out"
printf '%s\n' "$out" | grep -q 'rows/s' || fail "no rate in the summary: $out"
printf '%s\n' "$out" | grep -q '^Database (sqlite): .* bytes' || fail "no database size: $out"

[ "$(sql "$A" 'SELECT COUNT(*) FROM residents')" = $N ] || fail "not $N residents"
pays=$(sql "$A" 'SELECT COUNT(*) FROM payments')
[ "$pays" -ge 15000 ] && [ "$pays" -le 25000 ] || fail "$pays payments, want 15000..25000"
ents=$(sql "$A" 'SELECT COUNT(*) FROM entitlements')
[ "$ents" -ge $N ] && [ "$ents" -le $((2 * N)) ] || fail "$ents entitlements, want $N..$((2 * N))"

# Citizen IDs: 18 characters, unique, the birth date inside them, the region's code.
[ "$(sql "$A" 'SELECT COUNT(DISTINCT citizen_id), MIN(length(citizen_id)), MAX(length(citizen_id)) FROM residents')" = "$N|18|18" ] ||
    fail "citizen IDs not unique 18-character numbers"
[ "$(sql "$A" "SELECT COUNT(*) FROM residents WHERE substr(citizen_id, 7, 8) != replace(birth_date, '-', '') OR substr(citizen_id, 1, 6) != '451123' OR region_code != '451123'")" = 0 ] ||
    fail "a citizen ID disagrees with its birth date or region"
# The MOD 11-2 check character, computed here independently of cardlib.
bad=$(sql "$A" 'SELECT citizen_id FROM residents' | awk '
    BEGIN { split("7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2", w, " "); chk = "10X98765432" }
    { s = 0; for (i = 1; i <= 17; i++) s += substr($0, i, 1) * w[i]
      if (substr(chk, s % 11 + 1, 1) != substr($0, 18, 1)) n++ }
    END { print n + 0 }')
[ "$bad" = 0 ] || fail "$bad citizen IDs with a wrong check character"
[ "$(sql "$A" "SELECT COUNT(DISTINCT welfare_no) = COUNT(welfare_no) FROM residents")" = 1 ] ||
    fail "welfare numbers not unique"
[ "$(sql "$A" "SELECT COUNT(*) FROM residents WHERE id NOT LIKE 'G%' OR (welfare_no IS NOT NULL AND welfare_no NOT LIKE 'WG%')")" = 0 ] ||
    fail "a generated key without its G / WG prefix"
# Many elderly: at least half aged 60 or more, and everyone 80+ has the 高龄津贴.
[ "$(sql "$A" "SELECT SUM(birth_date <= '1966-12-01') * 2 >= COUNT(*) FROM residents")" = 1 ] ||
    fail "fewer than half the residents are 60 or older"

# Money: integer fen, positive, on every row; statuses from the enums.
[ "$(sql "$A" "SELECT COUNT(*) FROM payments WHERE typeof(amount_fen) != 'integer' OR amount_fen <= 0")" = 0 ] ||
    fail "a payment amount is not a positive integer"
[ "$(sql "$A" "SELECT COUNT(*) FROM entitlements WHERE typeof(amount_fen) != 'integer' OR amount_fen <= 0")" = 0 ] ||
    fail "an entitlement amount is not a positive integer"
[ "$(sql "$A" "SELECT COUNT(*) FROM payments WHERE status NOT BETWEEN 1 AND 5 OR (status = 1) != (paid_date IS NULL)")" = 0 ] ||
    fail "a payment status or paid_date is wrong"
# Mostly paid or confirmed, a few disputed or returned, scheduled for the coming month only.
[ "$(sql "$A" "SELECT SUM(status IN (2, 3)) * 100 >= 85 * COUNT(*) AND SUM(status IN (4, 5)) > 0 AND SUM(status IN (4, 5)) * 100 < 3 * COUNT(*) FROM payments")" = 1 ] ||
    fail "payment statuses are not mostly paid/confirmed with a few disputed/returned"
[ "$(sql "$A" "SELECT COUNT(DISTINCT period) FROM payments WHERE status = 1")" = 1 ] ||
    fail "scheduled payments for more than one month"
[ "$(sql "$A" "SELECT MIN(period) || ' ' || MAX(period) FROM payments")" = "2025-12 2026-12" ] ||
    fail "payments outside 2025-12..2026-12: $(sql "$A" 'SELECT MIN(period), MAX(period) FROM payments')"
# Every amount at a programme's standard (a yearly one paid monthly), or a fallback for none.
[ "$(sql "$A" "SELECT COUNT(*) FROM entitlements e JOIN programmes p ON p.code = e.programme WHERE p.standard_fen IS NOT NULL AND e.amount_fen != CASE p.period WHEN 'year' THEN p.standard_fen / 12 ELSE p.standard_fen END")" = 0 ] ||
    fail "an entitlement is not at its programme's standard"
[ "$(sql "$A" "SELECT COUNT(*) FROM payments y JOIN entitlements e ON e.id = y.entitlement_id WHERE y.amount_fen != e.amount_fen")" = 0 ] ||
    fail "a payment differs from its entitlement's amount"
[ "$(sql "$A" "SELECT COUNT(*) FROM residents r WHERE birth_date <= '1946-12-01' AND NOT EXISTS (SELECT 1 FROM entitlements e WHERE e.resident_id = r.id AND e.programme = 'elderly-allowance')")" = 0 ] ||
    fail "a resident aged 80+ without the 高龄津贴"

# One audit record for the run; the log verifies.
[ "$(sql "$A" "SELECT COUNT(*) FROM audit WHERE action = 'gen.synthetic'")" = 1 ] ||
    fail "not one gen.synthetic audit record"
out=$("$ADMIN" audit verify --dir "$A" 2>&1) || fail "audit verify: $out"

# ---- every generated row passes huimin-admin import's checks --------------------
X="$work/csv"
mkdir -p "$X"
csv() { sqlite3 -csv -header "$A/huimin.db" "$1" >"$X/$2"; }
yuan="printf('%d.%02d', amount_fen / 100, amount_fen % 100) AS amount"
csv "SELECT id, citizen_id, name, COALESCE(welfare_no, '') AS welfare_no, birth_date, region_code,
        trim(CASE WHEN flags & 1 THEN 'tap_only;' ELSE '' END || CASE WHEN flags & 2 THEN 'voice;' ELSE '' END
             || CASE WHEN flags & 4 THEN 'large_text' ELSE '' END, ';') AS flags, COALESCE(phone, '') AS phone
     FROM residents ORDER BY id" residents.csv
csv "SELECT id, resident_id, programme, $yuan, period, start_date, COALESCE(end_date, '') AS end_date,
        CASE status WHEN 1 THEN 'active' WHEN 2 THEN 'phase_out' WHEN 3 THEN 'suspended' ELSE 'stopped' END
        AS status, reason FROM entitlements ORDER BY id" entitlements.csv
csv "SELECT id, entitlement_id, period, $yuan, channel, account_masked AS account,
        COALESCE(paid_date, '') AS paid_date,
        CASE status WHEN 1 THEN 'scheduled' WHEN 2 THEN 'paid' WHEN 3 THEN 'confirmed'
        WHEN 4 THEN 'disputed' ELSE 'returned' END AS status FROM payments ORDER BY id" payments.csv
C=$(deploy check)
for k in residents entitlements payments; do
    out=$("$ADMIN" import $k --dir "$C" --file "$X/$k.csv" 2>&1) ||
        fail "generated $k do not pass import's checks: $(printf '%s\n' "$out" | head -5)"
done
[ "$(sql "$C" 'SELECT COUNT(*), SUM(amount_fen) FROM payments')" = "$(sql "$A" 'SELECT COUNT(*), SUM(amount_fen) FROM payments')" ] ||
    fail "the re-imported payments differ"

# ---- the same seed: the same rows; another seed: others ---------------------------
B=$(deploy b)
gen "$B" --residents $N --seed 7 --today $TODAY --chunk 333 --rows-per-insert 7 --quiet
[ "$rc" -eq 0 ] || fail "second run: exit $rc: $out"
q='SELECT SUM(amount_fen), COUNT(*) FROM payments'
[ "$(sql "$A" "$q")" = "$(sql "$B" "$q")" ] || fail "same seed, other payments: $(sql "$A" "$q") vs $(sql "$B" "$q")"
[ "$(digest "$A")" = "$(digest "$B")" ] || fail "same seed and day, other rows (chunk sizes must not matter)"
S=$(deploy s)
gen "$S" --residents $N --seed 8 --today $TODAY --quiet
[ "$rc" -eq 0 ] || fail "seed 8: exit $rc: $out"
[ "$(digest "$A")" != "$(digest "$S")" ] || fail "seeds 7 and 8 gave the same rows"

# ---- generated once already: refused, nothing written ------------------------------
before=$(sql "$A" 'SELECT COUNT(*) FROM payments')
gen "$A" --residents 10 --seed 9
[ "$rc" -eq 3 ] || fail "second generation into one deployment: exit $rc, want 3: $out"
[ "$(sql "$A" 'SELECT COUNT(*) FROM payments')" = "$before" ] || fail "the refused run wrote rows"

# ---- the demo data still imports into a generated deployment (no key clashes) -------
for k in residents entitlements payments; do
    out=$("$ADMIN" import $k --dir "$A" --file "$FX/$k.csv" 2>&1) || fail "import demo $k: $out"
done
[ "$(sql "$A" 'SELECT COUNT(*) FROM residents')" = $((N + 12)) ] || fail "demo residents not imported"
out=$("$ADMIN" audit verify --dir "$A" 2>&1) || fail "audit verify after the demo import: $out"

echo "PASS: huimin-gen ($N residents, $ents entitlements, $pays payments)"
