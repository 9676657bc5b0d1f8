#!/bin/sh
# Interoperability of our ES256 tokens with the openssl CLI (and, with the key
# in SoftHSM2, with OpenSC's pkcs11-tool), in both directions: openssl
# verifies what we sign, and we verify what openssl and pkcs11-tool sign.
#   interop.sh path/to/jws_tool
set -eu
tool=${1:?usage: interop.sh JWS_TOOL}
root=${HUIMIN_SOURCE_DIR:-$(cd "$(dirname "$0")/../../.." && pwd)}
module=${HUIMIN_P11_MODULE:-/usr/lib/softhsm/libsofthsm2.so}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/hs-interop-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"

fail() { echo "interop: FAIL: $*" >&2; exit 1; }

# ---- Conversions between JWS r||s and DER ECDSA-Sig-Value -------------------

# base64url without padding <-> bytes.
b64url_dec() {
    s=$(printf %s "$1" | tr '_-' '/+')
    case $((${#s} % 4)) in
    2) s="$s==" ;;
    3) s="$s=" ;;
    1) fail "impossible base64url length" ;;
    esac
    printf %s "$s" | base64 -d
}
b64url_enc() { base64 -w0 | tr '/+' '_-' | tr -d '='; }

# One DER INTEGER (hex) from an unsigned big-endian value (hex): leading zero
# bytes go, and a 00 comes back when the high bit is set (DER is two's complement).
der_int() {
    h=$1
    while [ ${#h} -gt 2 ] && [ "${h#00}" != "$h" ]; do h=${h#00}; done
    case $h in [89abcdef]*) h=00$h ;; esac
    printf '02%02x%s' $((${#h} / 2)) "$h"
}
# SEQUENCE { r, s } (hex) from 128 hex digits of r||s. Short-form lengths
# suffice: at most 2 * 35 bytes for P-256.
raw_to_der() {
    r=$(printf %s "$1" | cut -c1-64)
    s=$(printf %s "$1" | cut -c65-128)
    body=$(der_int "$r")$(der_int "$s")
    printf '30%02x%s' $((${#body} / 2)) "$body"
}
# r||s (128 hex digits) from a DER signature file, through openssl asn1parse.
der_to_raw() {
    out=
    for v in $(openssl asn1parse -inform DER -in "$1" | sed -n 's/.*INTEGER *://p'); do
        v=$(printf %s "$v" | tr 'A-F' 'a-f')
        while [ ${#v} -gt 64 ] && [ "${v#00}" != "$v" ]; do v=${v#00}; done
        while [ ${#v} -lt 64 ]; do v=0$v; done
        out=$out$v
    done
    [ ${#out} -eq 128 ] || fail "der_to_raw: not two 32-byte integers"
    printf %s "$out"
}

# The converter's edge cases, checked against values worked out by hand.
z30=000000000000000000000000000000000000000000000000000000000000
o30=111111111111111111111111111111111111111111111111111111111111
[ "$(der_int "0000${o30}")" = "021e${o30}" ] || fail "der_int strips leading zeros"
[ "$(der_int "00${o30}80")" = "021f${o30}80" ] || fail "der_int strips one leading zero"
[ "$(der_int "0080${z30}")" = "02200080${z30}" ] || fail "der_int keeps 00 before a high bit"
[ "$(der_int "ff01${z30}")" = "022100ff01${z30}" ] || fail "der_int adds 00 before a high bit"
[ "$(der_int "0000${z30}")" = 020100 ] || fail "der_int of zero"
[ "$(raw_to_der "0000${o30}ff01${z30}")" = "3043021e${o30}022100ff01${z30}" ] ||
    fail "raw_to_der"
# And openssl's parser reads back what we write.
for v in "0000${o30}" "80${z30}01" "7f${z30}01" "0001${z30}"; do
    raw_to_der "$v$v" | xxd -r -p > t.der
    [ "$(der_to_raw t.der)" = "$v$v" ] || fail "raw_to_der/der_to_raw round trip for $v"
done

# ---- A PEM key and certificate made by the openssl CLI ---------------------

openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out key.pem 2>/dev/null
openssl req -x509 -new -key key.pem -subj /CN=huimin-interop -days 2 -out cert.pem 2>/dev/null
openssl x509 -in cert.pem -pubkey -noout > pub.pem

# check_with_openssl TOKEN PUBKEY: openssl must accept the token's signature
# over its signing input and refuse it over a changed input.
check_with_openssl() {
    token=$1 pub=$2
    h=${token%%.*}
    rest=${token#*.}
    p=${rest%%.*}
    s=${rest#*.}
    [ "$s" != "$rest" ] || fail "token without three parts"
    printf '%s.%s' "$h" "$p" > input.txt
    raw=$(b64url_dec "$s" | xxd -p -c 256)
    [ ${#raw} -eq 128 ] || fail "signature is not 64 bytes"
    raw_to_der "$raw" | xxd -r -p > sig.der
    openssl dgst -sha256 -verify "$pub" -signature sig.der input.txt > out.txt 2>&1 ||
        fail "openssl does not verify our token: $(cat out.txt)"
    grep -q "Verified OK" out.txt || fail "openssl: $(cat out.txt)"
    printf '%s.%sx' "$h" "$p" > input.txt
    if openssl dgst -sha256 -verify "$pub" -signature sig.der input.txt > /dev/null 2>&1; then
        fail "openssl verified a changed input"
    fi
}

# Enough signatures that r and s with the high bit set (half of them) and
# without (the other half) both occur.
i=0
while [ $i -lt 24 ]; do
    printf '{"i":%d,"office":"民政局"}' $i > payload.json
    token=$("$tool" sign --key key.pem --cert cert.pem --payload-file payload.json --typ JWT)
    check_with_openssl "$token" pub.pem
    printf '%s\n' "$token" > token.txt
    "$tool" verify --cert cert.pem --token-file token.txt > got.txt || fail "jws_tool verify"
    [ "$(cat got.txt)" = "$(cat payload.json)" ] || fail "payload round trip"
    i=$((i + 1))
done
echo "interop: openssl verified 24 tokens signed with the PEM key"

# The other way: openssl signs our signing input, we verify the token.
i=0
while [ $i -lt 8 ]; do
    printf '{"by":"openssl","i":%d}' $i > payload.json
    token=$("$tool" sign --key key.pem --cert cert.pem --payload-file payload.json)
    h=${token%%.*}
    rest=${token#*.}
    p=${rest%%.*}
    printf '%s.%s' "$h" "$p" > input.txt
    openssl dgst -sha256 -sign key.pem -out osig.der input.txt
    s=$(der_to_raw osig.der | xxd -r -p | b64url_enc)
    printf '%s.%s.%s\n' "$h" "$p" "$s" > token.txt
    "$tool" verify --cert cert.pem --token-file token.txt > /dev/null ||
        fail "we do not verify openssl's signature"
    i=$((i + 1))
done
# ... and refuse it under another certificate.
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out other.pem 2>/dev/null
openssl req -x509 -new -key other.pem -subj /CN=other -days 2 -out other.crt 2>/dev/null
if "$tool" verify --cert other.crt --token-file token.txt > /dev/null 2>&1; then
    fail "verified under the wrong certificate"
fi
echo "interop: we verified 8 tokens signed by openssl"

# The JWKS carries the certificate in x5c (standard base64 of the DER).
"$tool" jwks --key key.pem --cert cert.pem > jwks.json
x5c=$(openssl x509 -in cert.pem -outform DER | base64 -w0)
grep -q "\"x5c\":\[\"$x5c\"\]" jwks.json || fail "x5c is not the certificate"
kid=$(openssl x509 -in cert.pem -pubkey -noout | openssl pkey -pubin -outform DER |
    openssl dgst -sha256 -binary | b64url_enc)
grep -q "\"kid\":\"$kid\"" jwks.json || fail "kid is not base64url(SHA-256(SPKI))"
echo "interop: JWKS x5c and kid agree with openssl"

# ---- The key in SoftHSM2 ---------------------------------------------------

if ! command -v softhsm2-util > /dev/null || [ ! -e "$module" ]; then
    echo "interop: SoftHSM2 not installed; PKCS#11 part skipped"
    exit 0
fi
SOFTHSM2_CONF=$(sh "$root/scripts/softhsm-harness.sh" "$tmp/hsm" huimin-test 123456 12345678)
export SOFTHSM2_CONF
HUIMIN_P11_PIN=123456
export HUIMIN_P11_PIN
"$tool" keygen --pkcs11 "$module" --token huimin-test --label huimin-jws --out spki.der
if "$tool" keygen --pkcs11 "$module" --token huimin-test --label huimin-jws --out x.der \
    2> /dev/null; then
    fail "keygen made a second key under one label"
fi
openssl pkey -pubin -inform DER -in spki.der -out p11pub.pem
# A certificate for the token's key, issued by a CA made here: the request is
# signed by the CA key and -force_pubkey puts the token's key in.
openssl req -x509 -new -key other.pem -subj /CN=huimin-test-ca -days 2 -out ca.crt 2>/dev/null
openssl req -new -key other.pem -subj /CN=huimin-p11 -out p11.csr 2>/dev/null
openssl x509 -req -in p11.csr -CA ca.crt -CAkey other.pem -force_pubkey p11pub.pem \
    -set_serial 7 -days 2 -out p11.crt 2>/dev/null

i=0
while [ $i -lt 12 ]; do
    printf '{"hsm":true,"i":%d}' $i > payload.json
    token=$("$tool" sign --pkcs11 "$module" --token huimin-test --label huimin-jws \
        --cert p11.crt --payload-file payload.json --typ JWT)
    check_with_openssl "$token" p11pub.pem
    i=$((i + 1))
done
echo "interop: openssl verified 12 tokens signed in SoftHSM2"

# OpenSC sees the key as generated: sensitive, never extractable.
pkcs11-tool --module "$module" --token-label huimin-test --login --pin 123456 \
    --list-objects --type privkey > objects.txt 2>&1
grep -q "label: *huimin-jws" objects.txt || fail "pkcs11-tool does not list the key"
grep -q "never extractable" objects.txt || fail "the key is extractable: $(cat objects.txt)"

# pkcs11-tool signs our signing input (CKM_ECDSA over its SHA-256, r||s), we verify.
printf '{"by":"pkcs11-tool"}' > payload.json
token=$("$tool" sign --pkcs11 "$module" --token huimin-test --label huimin-jws \
    --cert p11.crt --payload-file payload.json)
h=${token%%.*}
rest=${token#*.}
p=${rest%%.*}
printf '%s.%s' "$h" "$p" | openssl dgst -sha256 -binary > digest.bin
pkcs11-tool --module "$module" --token-label huimin-test --login --pin 123456 --sign \
    -m ECDSA --label huimin-jws -i digest.bin -o p11sig.raw > /dev/null 2>&1 ||
    fail "pkcs11-tool cannot sign"
[ "$(wc -c < p11sig.raw)" -eq 64 ] || fail "pkcs11-tool's signature is not r||s"
printf '%s.%s.%s\n' "$h" "$p" "$(b64url_enc < p11sig.raw)" > token.txt
"$tool" verify --cert p11.crt --token-file token.txt > /dev/null ||
    fail "we do not verify pkcs11-tool's signature"
echo "interop: pkcs11-tool sees the key and we verify its signature"
echo "interop: PASS"
