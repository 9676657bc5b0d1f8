#!/bin/sh
# huimin-server end to end, as a kiosk and an operator would meet it, with
# outside tools only: curl for HTTPS with client certificates, the openssl
# command line to make a card and to verify the server's JWS signatures.
# Usage: test_server.sh [sqlite|postgres] [pem|pkcs11]
# (postgres needs HUIMIN_PG_CONNINFO, as scripts/pg-harness.sh sets it).
set -u
. "${HUIMIN_SOURCE_DIR:?run under ctest}/tests/server/lib/server-lib.sh"
BACKEND=${1:-sqlite}
KEY=${2:-pem}

work=$(mktemp -d)
SERVER_PID=
cleanup() {
    [ -n "$SERVER_PID" ] && kill -9 "$SERVER_PID" 2>/dev/null
    [ -n "${SLOW_PID:-}" ] && kill -9 "$SLOW_PID" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
D="$work/deploy"

# ---- a deployment -----------------------------------------------------------
set -- init --dir "$D" --name "杭州市上城区民政局"
if [ "$BACKEND" = postgres ]; then
    set -- "$@" --backend postgres --conninfo "${HUIMIN_PG_CONNINFO:?no PostgreSQL}"
fi
if [ "$KEY" = pkcs11 ]; then
    export SOFTHSM2_CONF="$work/softhsm2.conf"
    mkdir -p "$work/tokens"
    printf 'directories.tokendir = %s\nobjectstore.backend = file\n' "$work/tokens" >"$SOFTHSM2_CONF"
    softhsm2-util --init-token --free --label huimin-signing --pin 246810 --so-pin 13579135 \
        >/dev/null || fail "softhsm2-util --init-token"
    printf '246810\n' >"$work/pin"
    chmod 600 "$work/pin"
    set -- "$@" --pkcs11 --module /usr/lib/softhsm/libsofthsm2.so --token huimin-signing \
        --pin-file "$work/pin"
fi
out=$("$ADMIN" "$@" 2>&1) || fail "huimin-admin init: $out"
C="$D/huimin.conf"
conf_set "$C" server listen 127.0.0.1:0
conf_set "$C" server ops_listen 127.0.0.1:0
conf_set "$C" server read_timeout 2
# Short enough to see one expire, long enough to be used on a loaded machine (3 s was not).
conf_set "$C" session nonce_ttl 8
for k in kiosk-a kiosk-b kiosk-r; do
    out=$("$ADMIN" enroll-kiosk --dir "$D" --id $k --name "上城区民政服务大厅 $k" --office sc-01 2>&1) ||
        fail "enroll-kiosk $k: $out"
done
"$ADMIN" revoke-kiosk --dir "$D" --id kiosk-r --reason "stolen" >/dev/null || fail "revoke-kiosk"
SIGNING="$D/kiosks/kiosk-a/signing.pem"
out=$("$ADMIN" kiosks --dir "$D") || fail "kiosks: $out"
echo "$out" | grep -q "^kiosk-a *active" || fail "kiosks does not list kiosk-a as active: $out"
echo "$out" | grep -q "^kiosk-r *revoked" || fail "kiosks does not list kiosk-r as revoked: $out"

# A kiosk certificate from a CA that is not the deployment's.
O="$work/other"
mkdir -p "$O"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$O/ca.key" \
    -out "$O/ca.pem" -subj "/CN=Other CA" -days 30 2>/dev/null || fail "other CA"
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$O/k.key" \
    -out "$O/k.csr" -subj "/CN=kiosk-a" 2>/dev/null &&
    openssl x509 -req -in "$O/k.csr" -CA "$O/ca.pem" -CAkey "$O/ca.key" -set_serial 7 -days 30 \
        -out "$O/k.pem" 2>/dev/null || fail "other client certificate"

# A welfare card's 9E key and certificate from the deployment's issuer CA, as
# huimin-issue would make them on a card (here in files: the server only ever
# sees the evidence, and checks it as it would a card's).
mkcard() { # mkcard NAME HOLDER WELFARE_NO SERIAL
    openssl ecparam -name prime256v1 -genkey -noout -out "$work/$1.key" 2>/dev/null
    openssl req -new -utf8 -key "$work/$1.key" -out "$work/$1.csr" \
        -subj "/O=杭州市民政局/CN=$2/serialNumber=$3" 2>/dev/null
    printf 'keyUsage=critical,digitalSignature\n' >"$work/card.ext"
    openssl x509 -req -in "$work/$1.csr" -CA "$D/pki/issuer-ca.pem" -CAkey "$D/pki/issuer-ca.key" \
        -set_serial "$4" -days 365 -extfile "$work/card.ext" -out "$work/$1.pem" 2>/dev/null ||
        fail "card certificate $1"
}
mkcard zhang 张秀英 WF3301060000123 4242
mkcard wang 王建国 WF3301060000456 4243
mkcard ghost 李娜 WF3301060000789 4244 # genuine but never registered
for c in zhang wang; do
    out=$("$ADMIN" register-card --dir "$D" --cert "$work/$c.pem" 2>&1) || fail "register-card $c: $out"
done

start_server "$D"
URL="https://localhost:$PORT"

# ---- admission: mutual TLS and the kiosk registry --------------------------
curl -sS --max-time 10 --cacert "$D/kiosks/kiosk-a/server-ca.pem" "$URL/v1/jwks" >/dev/null 2>&1
st=$?
[ $st -ne 0 ] || fail "a client without a certificate was served"
echo "no client certificate: refused (curl exit $st)"
curl -sS --max-time 10 --cacert "$D/kiosks/kiosk-a/server-ca.pem" --cert "$O/k.pem" \
    --key "$O/k.key" "$URL/v1/jwks" >/dev/null 2>&1
st=$?
[ $st -ne 0 ] || fail "a certificate from another CA was served"
echo "certificate from another CA: refused (curl exit $st)"
out=$(kcurl "$D" kiosk-r "$URL/v1/revocations")
echo "$out" | tail -1 | grep -q "^HTTP 403" || fail "revoked kiosk not refused: $out"
echo "$out" | grep -q '"code":"kiosk_revoked"' || fail "revoked kiosk: no kiosk_revoked code: $out"
echo "$out" | grep -q '终端已被停用' || fail "revoked kiosk: no Chinese message: $out"
echo "revoked kiosk certificate: 403 kiosk_revoked"

# ---- signed answers, verified with openssl --------------------------------
out=$(kcurl "$D" kiosk-a "$URL/v1/signing-cert")
echo "$out" | tail -1 | grep -q "^HTTP 200" || fail "signing-cert: $out"
echo "$out" | sed '$d' | openssl x509 -noout 2>/dev/null || fail "signing-cert is not PEM"
fp_pub=$(echo "$out" | sed '$d' | openssl x509 -noout -fingerprint -sha256)
fp_pin=$(openssl x509 -in "$SIGNING" -noout -fingerprint -sha256)
[ "$fp_pub" = "$fp_pin" ] || fail "the published signing certificate differs from the one the kiosk pins"
out=$(kcurl "$D" kiosk-a "$URL/v1/jwks")
echo "$out" | grep -q '"kty":"EC"' || fail "jwks: $out"
out=$(kcurl "$D" kiosk-r "$URL/v1/jwks")
echo "$out" | grep -q '"kty":"EC"' || fail "the JWKS is not public: $out"

nonce_for() { # nonce_for KIOSK -> prints the nonce; checks the signed answer
    r=$(kcurl "$D" "$1" -X POST -H 'Content-Type: application/json' \
        -d '{"purpose":"card-session"}' "$URL/v1/nonces")
    echo "$r" | tail -1 | grep -q "^HTTP 201 application/jose" || fail "nonce for $1: $r"
    tok=$(echo "$r" | head -1)
    jws_verify_openssl "$tok" "$SIGNING" || fail "the nonce answer does not verify with openssl"
    jws_payload "$tok" | sed -n 's/.*"nonce":"\([A-Za-z0-9_-]*\)".*/\1/p'
}
n1=$(nonce_for kiosk-a)
[ ${#n1} -eq 43 ] || fail "nonce has ${#n1} characters, not 43"
echo "signed nonce answer verifies with openssl dgst"
# An answer altered in transit does not verify.
r=$(kcurl "$D" kiosk-a -X POST -H 'Content-Type: application/json' -d '{"purpose":"card-session"}' \
    "$URL/v1/nonces" | head -1)
h=$(echo "$r" | cut -d. -f1)
p=$(jws_payload "$r" | sed 's/"kiosk":"kiosk-a"/"kiosk":"kiosk-b"/' | base64 -w0 | tr '+/' '-_' | tr -d '=')
s=$(echo "$r" | cut -d. -f3)
jws_verify_openssl "$h.$p.$s" "$SIGNING" && fail "an altered answer verified"
echo "altered answer: does not verify"

b64url_file() { base64 -w0 <"$1" | tr '+/' '-_' | tr -d '='; }
session() { # session KIOSK NONCE CARD [SIGNING_KEY] -> body + HTTP line
    printf '%s' "$2" | openssl dgst -sha256 -sign "$work/${4:-$3}.key" -out "$work/sig.der"
    openssl x509 -in "$work/$3.pem" -outform DER -out "$work/cert.der"
    printf '{"nonce":"%s","card":{"cert":"%s","alg":17,"signature":"%s"}}' "$2" \
        "$(b64url_file "$work/cert.der")" "$(b64url_file "$work/sig.der")" >"$work/session.json"
    kcurl "$D" "$1" -X POST -H 'Content-Type: application/json' --data-binary @"$work/session.json" \
        "$URL/v1/card-sessions"
}

# ---- card sessions over fresh nonces --------------------------------------
out=$(session kiosk-a "$n1" zhang)
echo "$out" | tail -1 | grep -q "^HTTP 201 application/jose" || fail "card session: $out"
tok=$(echo "$out" | head -1)
jws_verify_openssl "$tok" "$SIGNING" || fail "the session answer does not verify"
jws_payload "$tok" | grep -q '"welfare_no":"WF3301060000123"' || fail "session payload: $(jws_payload "$tok")"
jws_payload "$tok" | grep -q '"holder":"张秀英"' || fail "session holder: $(jws_payload "$tok")"
echo "card session opened over a fresh nonce; signed answer verifies"

out=$(session kiosk-a "$n1" zhang)
echo "$out" | grep -q '"code":"nonce_used"' || fail "a nonce used twice was accepted: $out"
echo "nonce used twice: nonce_used"

n2=$(nonce_for kiosk-a)
out=$(session kiosk-b "$n2" zhang)
echo "$out" | grep -q '"code":"nonce_other_kiosk"' || fail "a nonce from another kiosk: $out"
out=$(session kiosk-a "$n2" zhang)
echo "$out" | tail -1 | grep -q "^HTTP 201" || fail "the refused attempt from kiosk-b burnt kiosk-a's nonce: $out"
echo "nonce from another kiosk: nonce_other_kiosk (and the nonce still works for its kiosk)"

out=$(session kiosk-a "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" zhang)
echo "$out" | grep -q '"code":"nonce_unknown"' || fail "an invented nonce: $out"

n3=$(nonce_for kiosk-a)
out=$(session kiosk-a "$n3" zhang wang) # signed with another card's key
echo "$out" | grep -q '"code":"card_not_genuine"' || fail "a forged signature was accepted: $out"
echo "$out" | grep -q 'possession' || fail "the refusal does not name the failed check: $out"
echo "forged card signature: card_not_genuine (possession)"
out=$(session kiosk-a "$n3" ghost)
echo "$out" | grep -q '"code":"card_not_registered"' || fail "an unregistered card: $out"
"$ADMIN" revoke-card --dir "$D" --serial 4243 --reason "reported lost" >/dev/null || fail "revoke-card"
n4=$(nonce_for kiosk-a)
out=$(session kiosk-a "$n4" wang)
echo "$out" | grep -q '"code":"card_revoked"' || fail "a revoked card was accepted: $out"
echo "unregistered card: card_not_registered; revoked card: card_revoked"
out=$(kcurl "$D" kiosk-a "$URL/v1/revocations")
tok=$(echo "$out" | head -1)
jws_verify_openssl "$tok" "$SIGNING" || fail "the revocation list does not verify"
jws_payload "$tok" | grep -q '"revoked":\["4243"\]' || fail "revocation list: $(jws_payload "$tok")"
echo "signed revocation list names the revoked card"

n5=$(nonce_for kiosk-a)
sleep 9
out=$(session kiosk-a "$n5" zhang)
echo "$out" | grep -q '"code":"nonce_expired"' || fail "an expired nonce was accepted: $out"
echo "expired nonce: nonce_expired"

# ---- bad requests get clear 4xx answers, and the server keeps serving ------
post() { kcurl "$D" kiosk-a -X POST "$@" "$URL/v1/nonces"; }
out=$(post -H 'Content-Type: application/json' -d '{"purpose":')
echo "$out" | tail -1 | grep -q "^HTTP 400" && echo "$out" | grep -q '"code":"bad_json"' ||
    fail "malformed JSON: $out"
out=$(post -H 'Content-Type: text/plain' -d '{"purpose":"card-session"}')
echo "$out" | tail -1 | grep -q "^HTTP 415" || fail "wrong content type: $out"
out=$(post -H 'Content-Type: application/json' -d '["card-session"]')
echo "$out" | tail -1 | grep -q "^HTTP 400" || fail "a JSON array body: $out"
out=$(post -H 'Content-Type: application/json' -d '{"purpose":"card-session","purpose":"x"}')
echo "$out" | tail -1 | grep -q "^HTTP 400" || fail "duplicate keys: $out"
out=$(post -H 'Content-Type: application/json' -d '{"purpose":"lottery"}')
echo "$out" | tail -1 | grep -q "^HTTP 400" && echo "$out" | grep -q '"code":"bad_request"' ||
    fail "an unknown purpose: $out"
head -c 200000 /dev/zero | tr '\0' 'a' >"$work/big"
out=$(post -H 'Content-Type: application/json' --data-binary @"$work/big")
echo "$out" | tail -1 | grep -q "^HTTP 413" || fail "an oversized body: $(echo "$out" | tail -1)"
out=$(kcurl "$D" kiosk-a "$URL/v1/nothing-here")
echo "$out" | tail -1 | grep -q "^HTTP 404" || fail "unknown path: $out"
out=$(kcurl "$D" kiosk-a "$URL/v1/nonces")
echo "$out" | tail -1 | grep -q "^HTTP 405" || fail "GET on a POST resource: $out"
echo "malformed JSON 400, wrong type 415, oversized 413, unknown 404, wrong method 405"

# A slow client: half a request line, then silence.
(printf 'POST /v1/nonces HTTP/1.1\r\nHost: x\r\n'; sleep 6) |
    openssl s_client -quiet -connect 127.0.0.1:"$PORT" -cert "$D/kiosks/kiosk-a/kiosk.pem" \
        -key "$D/kiosks/kiosk-a/kiosk.key" -CAfile "$D/kiosks/kiosk-a/server-ca.pem" \
        >"$work/slow.out" 2>/dev/null &
SLOW_PID=$!
sleep 0.5
n6=$(nonce_for kiosk-a)
[ ${#n6} -eq 43 ] || fail "not served while a slow client waited"
i=0
while kill -0 $SLOW_PID 2>/dev/null && [ $i -lt 45 ]; do sleep 0.1; i=$((i + 1)); done
kill -0 $SLOW_PID 2>/dev/null && fail "the server did not cut off a slow client within 4.5 s"
SLOW_PID=
echo "slow client: cut off after the read timeout while others were served"

# A kiosk revoked while the server runs is refused within seconds.
"$ADMIN" revoke-kiosk --dir "$D" --id kiosk-b >/dev/null || fail "revoke kiosk-b"
sleep 2.5
out=$(kcurl "$D" kiosk-b "$URL/v1/revocations")
echo "$out" | grep -q '"code":"kiosk_revoked"' || fail "a kiosk revoked at run time was served: $out"
echo "kiosk revoked at run time: refused"

# ---- operations -------------------------------------------------------------
out=$(curl -sS --max-time 10 "http://127.0.0.1:$OPS/v1/health") || fail "health on the ops listener"
echo "$out" | grep -q '"status":"ok"' || fail "health: $out"
out=$(curl -sS --max-time 10 "http://127.0.0.1:$OPS/metrics") || fail "metrics"
echo "$out" | grep -q '^huimin_signatures_total [1-9]' || fail "metrics: no signature count"
echo "$out" | grep -q '^huimin_storage_commits_total [1-9]' || fail "metrics: no commit count"
echo "$out" | grep -q 'huimin_api_errors_total{code="nonce_used"} 1' || fail "metrics: nonce_used"
out=$(curl -sS --max-time 10 "http://127.0.0.1:$OPS/v1/signing-cert") || fail "signing-cert on ops"
echo "$out" | openssl x509 -noout 2>/dev/null || fail "signing-cert on the ops listener: $out"
out=$(curl -sS --max-time 10 "http://127.0.0.1:$OPS/v1/nonces" -X POST -H 'Content-Type: application/json' \
    -d '{"purpose":"card-session"}')
echo "$out" | grep -q '"code":"client_certificate_required"' || fail "nonces without TLS: $out"
echo "health, Prometheus metrics and the signing certificate on the ops listener; nothing else"
grep -q "$n1" "$D/server.log" && fail "a nonce reached the log"

stop_server
out=$("$ADMIN" audit verify --dir "$D" 2>&1)
st=$?
[ $st -eq 0 ] || fail "audit verify after a clean stop (exit $st): $out"
echo "$out" | grep -q "checkpoint" || fail "audit verify reports no checkpoint: $out"
echo "audit chain verifies: $out"
echo "PASS: huimin-server end to end ($BACKEND, $KEY key)"
