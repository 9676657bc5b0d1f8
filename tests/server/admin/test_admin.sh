#!/bin/sh
# huimin-admin as an operator uses it: create a deployment, check its PKI with the openssl CLI,
# enroll and revoke kiosks, refuse to overwrite anything, name a broken configuration line,
# verify the audit log (and see a tampered one fail), and issue a welfare card from the
# deployment's issuer CA with huimin-issue through a private pcscd.
set -u
BIN=${HUIMIN_BINARY_DIR:?run under ctest}
SRC=${HUIMIN_SOURCE_DIR:?run under ctest}
HA="$BIN/server/admin/huimin-admin"
HI="$BIN/tools/huimin-issue"
HC="$BIN/tools/huimin-card"
RIG="$BIN/tools/huimin-rig"
fail() { echo "FAIL: $*"; exit 1; }

# The card step runs inside huimin-rig (see the end); everything else runs first.
if [ "${1:-}" = inner ]; then
    D="$2"
    out=$("$HI" card --dir "$D/pki" --name "王建国" --welfare-no WF3301060000456 --pin 135790) ||
        fail "huimin-issue card with the deployment's issuer CA: $out"
    out=$("$HC" verify --ca "$D/pki/issuer-ca.pem" --crl "$D/pki/issuer.crl") ||
        fail "the card issued from the deployment does not verify: $out"
    echo "$out" | grep -q "The card is genuine" || fail "verify: $out"
    echo "huimin-issue issued a genuine card from the deployment's issuer CA"
    exit 0
fi

[ -x "$HA" ] || fail "$HA is not built"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
D="$work/deploy"
# A listing with modes and checksums, to see that a refused command changed nothing.
snapshot() { (cd "$1" && find . -printf '%p %m %s\n' | sort && find . -type f -exec md5sum {} + | sort); }

# ---- usage -------------------------------------------------------------------
"$HA" >/dev/null 2>&1; [ $? -eq 1 ] || fail "no arguments: exit status not 1"
"$HA" frobnicate --dir "$D" >/dev/null 2>&1; [ $? -eq 1 ] || fail "unknown command: not 1"
"$HA" init >/dev/null 2>&1; [ $? -eq 1 ] || fail "init without --dir: not 1"
"$HA" --help | grep -q "惠民" || fail "the usage text does not name 惠民"
"$HA" init --dir "$D" --host "bad,host" >/dev/null 2>&1; [ $? -eq 1 ] || fail "a bad --host: not 1"
"$HA" init --dir "$D" --backend postgres >/dev/null 2>&1; [ $? -eq 1 ] ||
    fail "postgres without --conninfo: not 1"
[ -e "$D" ] && fail "a refused init left $D behind"
# A database that cannot be reached: exit 2, and the folder is taken away again.
"$HA" init --dir "$D" --backend postgres --conninfo "host=$work/no-pg dbname=huimin" \
    >/dev/null 2>&1; rc=$?
[ $rc -eq 2 ] || fail "init with an unreachable database: exit status $rc, not 2"
[ -e "$D" ] && fail "a failed init left $D behind"

# ---- init --------------------------------------------------------------------
out=$("$HA" init --dir "$D" --name "杭州市民政局" --host huimin.example.cn --host 10.0.0.5) ||
    fail "init: $out"
echo "$out"
echo "$out" | grep -q "enroll-kiosk" || fail "init does not say what to do next"
for f in huimin.conf huimin.db pki/root-ca.pem pki/issuer-ca.pem pki/issuer.crl pki/kiosk-ca.pem \
    pki/server-tls.pem pki/signing.pem; do
    [ -s "$D/$f" ] || fail "init did not create $f"
done
for k in root-ca issuer-ca kiosk-ca server-tls signing; do
    [ "$(stat -c %a "$D/pki/$k.key")" = 600 ] || fail "pki/$k.key is not 0600"
done
[ "$(stat -c %a "$D/pki/seal.key")" = 600 ] || fail "pki/seal.key is not 0600"
[ "$(stat -c %s "$D/pki/seal.key")" = 32 ] || fail "pki/seal.key is not 32 bytes"
[ "$(stat -c %a "$D/pki")" = 700 ] || fail "pki/ is not 0700"
[ "$(stat -c %a "$D/huimin.conf")" = 600 ] || fail "huimin.conf is not 0600"
[ -d "$D/pki/csca" ] || fail "no pki/csca folder"
[ -z "$(ls -A "$D/pki/csca")" ] || fail "pki/csca is not empty"

# Every certificate chains to the root, with the purpose it is for.
P="$D/pki"
for c in root-ca issuer-ca kiosk-ca signing; do
    openssl verify -CAfile "$P/root-ca.pem" "$P/$c.pem" >/dev/null || fail "$c.pem does not verify"
done
openssl verify -CAfile "$P/root-ca.pem" -purpose sslserver "$P/server-tls.pem" >/dev/null ||
    fail "server-tls.pem is not a TLS server certificate under the root"
openssl verify -CAfile "$P/root-ca.pem" -untrusted "$P/issuer-ca.pem" \
    "$P/issuer-ca.pem" >/dev/null || fail "issuer-ca.pem with its chain"
san=$(openssl x509 -in "$P/server-tls.pem" -noout -ext subjectAltName) || fail "no SAN"
for want in "DNS:localhost" "IP Address:127.0.0.1" "DNS:huimin.example.cn" "IP Address:10.0.0.5"; do
    echo "$san" | grep -q "$want" || fail "the TLS certificate has no $want: $san"
done
openssl x509 -in "$P/server-tls.pem" -noout -ext extendedKeyUsage | grep -q "TLS Web Server" ||
    fail "the TLS certificate has no serverAuth"
openssl x509 -in "$P/root-ca.pem" -noout -ext basicConstraints,keyUsage | grep -q "CA:TRUE" ||
    fail "the root is not a CA"
openssl x509 -in "$P/signing.pem" -noout -ext keyUsage | grep -q "Digital Signature" ||
    fail "the signing certificate has no digitalSignature"
openssl crl -in "$P/issuer.crl" -noout -CAfile "$P/issuer-ca.pem" 2>&1 | grep -q "verify OK" ||
    fail "issuer.crl is not signed by the issuer CA"
# huimin-issue finds its CA there and refuses to replace it.
"$HI" ca --dir "$P" >/dev/null 2>&1 && fail "huimin-issue ca replaced the deployment's issuer CA"

# ---- init refuses a folder that is not empty, and changes nothing -------------
before=$(snapshot "$D")
"$HA" init --dir "$D" >/dev/null 2>&1; rc=$?
[ $rc -eq 3 ] || fail "init into an existing deployment: exit status $rc, not 3"
[ "$before" = "$(snapshot "$D")" ] || fail "a refused init changed the deployment"
mkdir "$work/other" && echo notes >"$work/other/notes.txt"
"$HA" init --dir "$work/other" >/dev/null 2>&1; [ $? -eq 3 ] || fail "init into a non-empty folder"
[ "$(ls -A "$work/other")" = notes.txt ] || fail "a refused init wrote into a non-empty folder"

# ---- kiosks ------------------------------------------------------------------
out=$("$HA" enroll-kiosk --dir "$D" --id kiosk-hz-001 --name "上城区民政服务大厅 1号机" \
    --office "上城区") || fail "enroll-kiosk: $out"
K="$D/kiosks/kiosk-hz-001"
for f in kiosk.pem kiosk.key server-ca.pem signing.pem; do
    [ -s "$K/$f" ] || fail "enroll-kiosk did not write $f"
done
[ "$(stat -c %a "$K/kiosk.key")" = 600 ] || fail "kiosk.key is not 0600"
openssl verify -CAfile "$P/root-ca.pem" -untrusted "$P/kiosk-ca.pem" -purpose sslclient \
    "$K/kiosk.pem" >/dev/null || fail "the kiosk certificate does not chain to the root"
openssl verify -CAfile "$P/root-ca.pem" -untrusted "$K/kiosk.pem" -purpose sslclient \
    "$K/kiosk.pem" >/dev/null || fail "kiosk.pem does not carry its chain"
openssl verify -CAfile "$K/server-ca.pem" -purpose sslserver "$P/server-tls.pem" >/dev/null ||
    fail "the kiosk's server-ca.pem does not accept the server's TLS certificate"
cmp -s "$K/signing.pem" "$P/signing.pem" || fail "the kiosk's signing.pem is not the signing cert"
openssl x509 -in "$K/kiosk.pem" -noout -subject | grep -q "CN = kiosk-hz-001" ||
    fail "the kiosk certificate's CN is not its id"
openssl x509 -in "$K/kiosk.pem" -noout -ext extendedKeyUsage | grep -q "TLS Web Client" ||
    fail "the kiosk certificate has no clientAuth"
fp=$(openssl x509 -in "$K/kiosk.pem" -noout -fingerprint -sha256 | sed 's/.*=//; s/://g' |
    tr 'A-F' 'a-f')
echo "$out" | grep -q "$fp" || fail "enroll-kiosk did not print the certificate's fingerprint"
[ "$(sqlite3 "$D/huimin.db" "SELECT cert_sha256 FROM kiosks WHERE id = 'kiosk-hz-001'")" = "$fp" ] ||
    fail "the registry does not hold the certificate's fingerprint"

before=$(snapshot "$D/kiosks")
"$HA" enroll-kiosk --dir "$D" --id kiosk-hz-001 --name X --office Y >/dev/null 2>&1; rc=$?
[ $rc -eq 3 ] || fail "enroll-kiosk with a taken id: exit status $rc, not 3"
[ "$before" = "$(snapshot "$D/kiosks")" ] || fail "a refused enroll-kiosk changed kiosks/"
# Without the folder the database still refuses the id, and nothing is left behind.
mv "$K" "$work/kiosk-hz-001.saved"
"$HA" enroll-kiosk --dir "$D" --id kiosk-hz-001 --name X --office Y >/dev/null 2>&1; rc=$?
[ $rc -eq 3 ] || fail "enroll-kiosk of an id the database holds: exit status $rc, not 3"
[ -z "$(ls -A "$D/kiosks")" ] || fail "a refused enroll-kiosk left files: $(ls -A "$D/kiosks")"
mv "$work/kiosk-hz-001.saved" "$K"
"$HA" enroll-kiosk --dir "$D" --id "../escape" --name X --office Y >/dev/null 2>&1
[ $? -eq 1 ] || fail "a kiosk id with a path in it was accepted"
"$HA" enroll-kiosk --dir "$D" --id kiosk-hz-002 --name "2号机" --office "上城区" >/dev/null ||
    fail "a second kiosk"
[ "$(sqlite3 "$D/huimin.db" "SELECT count(*) FROM kiosks")" = 2 ] || fail "two kiosks expected"

out=$("$HA" revoke-kiosk --dir "$D" --id kiosk-hz-001 --reason "stolen") || fail "revoke: $out"
[ "$(sqlite3 "$D/huimin.db" "SELECT status FROM kiosks WHERE id = 'kiosk-hz-001'")" = 2 ] ||
    fail "the revoked kiosk is not revoked in the database"
[ "$(sqlite3 "$D/huimin.db" "SELECT status FROM kiosks WHERE id = 'kiosk-hz-002'")" = 1 ] ||
    fail "revoking one kiosk touched another"
"$HA" revoke-kiosk --dir "$D" --id kiosk-hz-001 >/dev/null || fail "revoking twice is not ok"
"$HA" revoke-kiosk --dir "$D" --id kiosk-nope >/dev/null 2>&1; [ $? -eq 3 ] ||
    fail "revoking an unknown kiosk: not 3"

# ---- audit -------------------------------------------------------------------
out=$("$HA" audit verify --dir "$D") || fail "audit verify: $out"
echo "$out" | grep -q "verifies" || fail "audit verify: $out"
"$HA" audit --dir "$D" >/dev/null 2>&1; [ $? -eq 1 ] || fail "'audit' without 'verify': not 1"
cp "$D/huimin.db" "$work/tampered.db"
sqlite3 "$D/huimin.db" "UPDATE audit SET subject = 'kiosk-evil' WHERE seq = 1" ||
    fail "cannot tamper with the audit table"
out=$("$HA" audit verify --dir "$D"); rc=$?
[ $rc -eq 4 ] || fail "a tampered audit log: exit status $rc, not 4: $out"
echo "$out" | grep -q "record 1" || fail "the tampered record is not named: $out"
cp "$work/tampered.db" "$D/huimin.db"

# ---- a broken configuration names its line -----------------------------------
cp "$D/huimin.conf" "$work/huimin.conf.good"
sed -i 's/^io_threads =/io_thread =/' "$D/huimin.conf"
line=$(grep -n '^io_thread =' "$D/huimin.conf" | cut -d: -f1)
out=$("$HA" revoke-kiosk --dir "$D" --id kiosk-hz-002 2>&1); rc=$?
[ $rc -eq 2 ] || fail "a broken configuration: exit status $rc, not 2"
echo "$out" | grep -q "huimin.conf:$line: unknown key 'io_thread' in \[server\]" ||
    fail "the typo is not named with its line ($line): $out"
cp "$work/huimin.conf.good" "$D/huimin.conf"
"$HA" audit verify --dir "$work/nowhere" >/dev/null 2>&1; [ $? -eq 2 ] ||
    fail "a folder without a deployment: not 2"

# ---- the server accepts what init made (when it is built) ---------------------
SERVER="$BIN/server/huimin-server"
if [ -x "$SERVER" ]; then
    "$SERVER" --config "$D/huimin.conf" --check || fail "huimin-server --check on the deployment"
fi

# ---- the signing key in a PKCS#11 token (SoftHSM2) -----------------------------
if command -v softhsm2-util >/dev/null && [ -f /usr/lib/softhsm/libsofthsm2.so ]; then
    mkdir -p "$work/hsm/tokens"
    printf 'directories.tokendir = %s/hsm/tokens\nobjectstore.backend = file\n' "$work" \
        >"$work/hsm/softhsm2.conf"
    export SOFTHSM2_CONF="$work/hsm/softhsm2.conf"
    softhsm2-util --init-token --free --label huimin-test --pin 246810 --so-pin 13579135 \
        >/dev/null || fail "softhsm2-util --init-token"
    echo 246810 >"$work/hsm/pin" && chmod 600 "$work/hsm/pin"
    T="$work/deploy-token"
    out=$("$HA" init --dir "$T" --pkcs11 --module /usr/lib/softhsm/libsofthsm2.so \
        --token huimin-test --pin-file "$work/hsm/pin" 2>&1) || fail "init --pkcs11: $out"
    [ -e "$T/pki/signing.key" ] && fail "init --pkcs11 wrote a signing key file"
    grep -q '^kind = pkcs11$' "$T/huimin.conf" || fail "the configuration does not say pkcs11"
    grep -q '^module = /usr/lib/softhsm/libsofthsm2.so$' "$T/huimin.conf" ||
        fail "the module path is not kept as given"
    openssl verify -CAfile "$T/pki/root-ca.pem" "$T/pki/signing.pem" >/dev/null ||
        fail "the token key's certificate does not verify"
    "$HA" enroll-kiosk --dir "$T" --id kiosk-t1 --name T --office T >/dev/null ||
        fail "enroll-kiosk in the token deployment"
    "$HA" audit verify --dir "$T" >/dev/null || fail "audit verify in the token deployment"
    if [ -x "$SERVER" ]; then
        "$SERVER" --config "$T/huimin.conf" --check || fail "huimin-server --check (pkcs11)"
    fi
    # The label is taken now: a second deployment on the same token is refused, and leaves nothing.
    "$HA" init --dir "$work/deploy-token2" --pkcs11 --module /usr/lib/softhsm/libsofthsm2.so \
        --token huimin-test --pin-file "$work/hsm/pin" >/dev/null 2>&1; rc=$?
    [ $rc -eq 3 ] || fail "init --pkcs11 with a taken key label: exit status $rc, not 3"
    [ -e "$work/deploy-token2" ] && fail "a refused init --pkcs11 left its folder"
    "$HA" init --dir "$work/deploy-token3" --pkcs11 --module /usr/lib/softhsm/libsofthsm2.so \
        --token no-such-token --pin-file "$work/hsm/pin" >/dev/null 2>&1; rc=$?
    [ $rc -eq 2 ] || fail "init --pkcs11 with a missing token: exit status $rc, not 2"
    unset SOFTHSM2_CONF
else
    echo "SKIP: SoftHSM2 is not installed; the PKCS#11 step is skipped"
fi

# ---- a welfare card from the deployment's issuer CA (needs the rig) -----------
if [ -x "$RIG" ] && [ -x "$HI" ] && [ -x "$HC" ]; then
    cp "$SRC/fixtures/cards/piv-blank.json" "$work/card.json"
    "$RIG" --card "$work/card.json" -- "$0" inner "$D" || fail "the card step"
else
    echo "SKIP: huimin-rig, huimin-issue or huimin-card not built; card step skipped"
fi
echo "huimin-admin: init, PKI, kiosks, audit and configuration errors work"
