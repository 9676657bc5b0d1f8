#!/bin/sh
# huimin-verify as hall staff use it: a receipt signed by a test deployment key
# (jws_tool) is checked as text, from stdin, as a QR code PNG and as a
# screenshot-like PNG, against a certificate, a JWKS and the deployment root;
# then altered, foreign, expired and garbage tokens, a PNG without a code and
# a wrong root must each fail with their own exit status and sentence.
# Appointment tickets likewise: what one proves (service in Chinese and
# English, office, date, slot, names, masked IDs) as text and from its QR
# code; an altered, foreign or incomplete ticket is not genuine.
set -u
BIN=${HUIMIN_BINARY_DIR:?run under ctest}
HV="$BIN/tools/huimin-verify"
JT="$BIN/tests/server/sign/jws_tool"
fail() { echo "FAIL: $*"; exit 1; }

for tool in openssl qrencode zbarimg sha256sum; do
    command -v "$tool" >/dev/null 2>&1 || fail "$tool is missing (scripts/install-deps.sh installs it)"
done
[ -x "$HV" ] || fail "no $HV: build the huimin-verify target"
[ -x "$JT" ] || fail "no $JT: build the jws_tool target"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work" || fail "cd $work"

# run WANT CMD...: runs CMD, keeps its stdout+stderr in $out, checks its exit status.
run() {
    want=$1
    shift
    out=$("$@" 2>&1)
    rc=$?
    [ "$rc" -eq "$want" ] || fail "exit status $rc, not $want: $*
$out"
}
has() { printf '%s\n' "$out" | grep -q -- "$1" || fail "output lacks '$1': $out"; }
hasnt() { printf '%s\n' "$out" | grep -q -- "$1" && fail "output has '$1': $out"; }
b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }
sha() { tr -d '\n' | sha256sum | cut -d' ' -f1; }

# --- A test deployment: a root, a signing certificate under it, and strangers.
key() { openssl ecparam -name prime256v1 -genkey -noout -out "$1" 2>/dev/null || fail "key $1"; }
root() { # root NAME CN
    key "$1.key"
    openssl req -x509 -new -key "$1.key" -subj "/O=Huimin Test/CN=$2" -days 3650 \
        -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
        -out "$1.pem" 2>/dev/null || fail "root $1"
}
printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n' >sign.ext
signing() { # signing NAME ROOT CN
    key "$1.key"
    openssl req -new -key "$1.key" -subj "/O=Huimin Test/CN=$3" -out "$1.csr" 2>/dev/null || fail "csr $1"
    openssl x509 -req -in "$1.csr" -CA "$2.pem" -CAkey "$2.key" -CAcreateserial -days 365 \
        -extfile sign.ext -out "$1.pem" 2>/dev/null || fail "certificate $1"
}
root root "Huimin Test Root"
root other-root "Another Deployment Root"
signing sign root "Huimin Signing"
signing other other-root "Another Signing"
# An expired signing certificate under the right root (openssl ca takes explicit dates).
mkdir ca && : >ca/index.txt && echo 1000 >ca/serial
printf '[ca]\ndefault_ca=d\n[d]\ndatabase=ca/index.txt\nnew_certs_dir=ca\nserial=ca/serial\ndefault_md=sha256\npolicy=p\n[p]\ncommonName=supplied\norganizationName=optional\n' >ca.cnf
key old.key
openssl req -new -key old.key -subj "/O=Huimin Test/CN=Old Signing" -out old.csr 2>/dev/null || fail "old csr"
openssl ca -batch -config ca.cnf -cert root.pem -keyfile root.key -in old.csr -out old.pem \
    -startdate 20200101000000Z -enddate 20210101000000Z -extfile sign.ext -notext >/dev/null 2>&1 ||
    fail "expired certificate"

W=WF3301060000123
W_MASKED='WF3\*\*\*\*\*\*\*\*0123'
IAT=$(date +%s)
IAT_UTC=$(TZ=UTC0 date -d "@$IAT" '+%Y-%m-%d %H:%M:%S')
receipt='{"a":75000,"iat":'$IAT',"k":"kiosk-a","m":"pin","p":"P-E000001-202611","pd":"2026-11","r":"R000001","s":"q1w2e3r4t5y6u7i8o9p0as","w":"'$W'"}'
printf '%s' "$receipt" >receipt.json
sign() { # sign KEYNAME PAYLOAD_FILE TYP > token
    "$JT" sign --key "$1.key" --cert "$1.pem" --payload-file "$2" --typ "$3" || fail "jws_tool sign $*"
}
sign sign receipt.json huimin-receipt >r.tok
tok=$(cat r.tok)

# --- Genuine, as text: amount in yuan, welfare number masked, local time, proof.
run 0 env TZ=UTC0 "$HV" --cert sign.pem --ca root.pem "$tok"
has "750.00 元"
has "$W_MASKED"
hasnt "$W"
has "$IAT_UTC"
has "confirmed with the card and its PIN"
has "凭卡和密码确认"
has "root *passed"
has "^Genuine"
run 0 "$HV" --cert sign.pem --show-id "$tok"
has "$W"
has "root *not checked"
run 0 "$HV" --cert sign.pem --ca root.pem --json "$tok"
has '"genuine":true'
has '"amount_yuan":"750.00"'
has '"amount_fen":75000'
hasnt "$W"
run 0 sh -c "\"$HV\" --cert sign.pem - <r.tok"
has "750.00"
# A token wrapped over lines (pasted from an e-mail) is the same token.
printf '%s\n' "$tok" | fold -w 60 >wrapped.tok
run 0 "$HV" --cert sign.pem --file wrapped.tok

# A tap-only confirmation names its policy.
printf '%s' "$receipt" | sed 's/"m":"pin"/"m":"tap"/' >tap.json
run 0 "$HV" --cert sign.pem "$(sign sign tap.json huimin-receipt)"
has "confirmed by tapping the card (tap-only policy)"

# --- As a QR code: what we read is what zbarimg reads, and is the token.
qrencode -o r.png "$tok" || fail "qrencode"
want_sha=$(printf '%s' "$tok" | sha)
zbar_sha=$(zbarimg --raw -q r.png 2>/dev/null | sha)
[ "$zbar_sha" = "$want_sha" ] || fail "zbarimg reads another token from r.png"
run 0 "$HV" --cert sign.pem --ca root.pem --png r.png
has "750.00"
has "$W_MASKED"
run 0 "$HV" --cert sign.pem --json --png r.png
has "\"token_sha256\":\"$want_sha\""
has '"source":"png"'

# A screenshot-like picture: the code scaled, off-centre on a larger canvas with
# other things on it. ImageMagick when it is here, else python3, else big modules
# and a wide margin from qrencode itself.
if convert -version 2>/dev/null | grep -q "^Version: ImageMagick"; then
    convert r.png -filter point -resize 400% -background '#f0f0f0' -gravity northwest \
        -splice 90x300 -extent 720x1280 -fill '#2050a0' -draw 'rectangle 0,0 720,120' shot.png ||
        fail "convert"
elif command -v python3 >/dev/null 2>&1; then
    qrencode -t ASCII -m 2 "$tok" >qr.txt || fail "qrencode ASCII"
    python3 - qr.txt shot.png <<'EOF' || fail "python3 screenshot"
import struct, sys, zlib
rows = [l.rstrip("\n") for l in open(sys.argv[1])]
mods = [[l[i:i + 2] == "##" for i in range(0, len(l), 2)] for l in rows]
W, H, S, X0, Y0 = 720, 1280, 6, 110, 380
px = bytearray(b"\xf0\xf0\xf0" * W * H)
def put(x, y, c):
    px[(y * W + x) * 3:(y * W + x) * 3 + 3] = c
for y in range(0, 120):
    for x in range(W):
        put(x, y, b"\x20\x50\xa0")
for my, row in enumerate(mods):
    for mx, dark in enumerate(row):
        for dy in range(S):
            for dx in range(S):
                put(X0 + mx * S + dx, Y0 + my * S + dy, b"\x10\x10\x10" if dark else b"\xff\xff\xff")
raw = b"".join(b"\x00" + bytes(px[y * W * 3:(y + 1) * W * 3]) for y in range(H))
def chunk(t, d):
    return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
open(sys.argv[2], "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", W, H, 8, 2, 0, 0, 0))
                              + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b""))
EOF
else
    qrencode -s 8 -m 8 -o shot.png "$tok" || fail "qrencode -s 8"
fi
[ "$(zbarimg --raw -q shot.png 2>/dev/null | sha)" = "$want_sha" ] || fail "zbarimg cannot read shot.png"
run 0 "$HV" --cert sign.pem --json --png shot.png
has "\"token_sha256\":\"$want_sha\""
qrencode -s 8 -m 8 -o big.png "$tok" || fail "qrencode -s 8"
run 0 "$HV" --cert sign.pem --png big.png

# --- With the JWKS the server publishes, the key found by the token's kid.
"$JT" jwks --key sign.key --cert sign.pem >jwks.json || fail "jws_tool jwks"
"$JT" jwks --key other.key --cert other.pem >other-jwks.json || fail "jws_tool jwks other"
run 0 "$HV" --jwks jwks.json --ca root.pem "$tok"
has "750.00"
run 4 "$HV" --jwks other-jwks.json "$tok"
has "is not in other-jwks.json"
has "^NOT genuine"

# --- Not genuine: each failure says which.
# The payload changed (the amount), the signature kept.
forged=$(printf '%s' "$receipt" | sed 's/"a":75000/"a":7500000/' | b64url)
altered=$(echo "$tok" | cut -d. -f1).$forged.$(echo "$tok" | cut -d. -f3)
run 4 "$HV" --cert sign.pem "$altered"
has "the signature does not match: the token was altered or not made by this deployment"
hasnt "75000.00"
# Signed by another key.
run 4 "$HV" --cert sign.pem "$(sign other receipt.json huimin-receipt)"
has "the signature does not match"
has "it names the key"
# The right signature, checked against another deployment's root.
run 4 "$HV" --cert sign.pem --ca other-root.pem "$tok"
has "not from this deployment's root"
run 4 "$HV" --cert other.pem --ca root.pem "$(sign other receipt.json huimin-receipt)"
has "root *FAILED"
# An expired signing certificate.
run 4 "$HV" --cert old.pem --ca root.pem "$(sign old receipt.json huimin-receipt)"
has "expired on 2021-01-01"
# Garbage text.
run 4 "$HV" --cert sign.pem "hello, this is not a receipt"
has "not a signed Huimin token"
run 4 "$HV" --cert sign.pem "aGVsbG8.d29ybGQ.eA"
has "not a signed Huimin token"

# --- Inputs that cannot be read.
echo "iVBORw0KGgoAAAANSUhEUgAAAKAAAABaCAAAAAAarQKOAAAAW0lEQVR42u3YRxEAAAjAMPwrwxXIYFyqIO9GLS8AAQEBAQEBAQEBAQEBAQEBAQGfAXMmQEBAQEBAQEBAQEBAQEBAQMALQPsNEBAQEBAQEBAQEBAQEBAQEPACsAFl/yVvT7NPegAAAABJRU5ErkJggg==" |
    openssl base64 -d -A >blank.png
run 2 "$HV" --cert sign.pem --png blank.png
has "no QR code found in blank.png"
run 2 "$HV" --cert sign.pem --png receipt.json
has "not a PNG image"
run 2 "$HV" --cert sign.pem --png missing.png
has "cannot open missing.png"
run 2 "$HV" --cert sign.pem --file r.png
has "give it with --png"
run 2 "$HV" --cert missing.pem "$tok"
run 2 "$HV" --cert receipt.json "$tok"
has "no PEM certificate"
run 2 "$HV" --cert sign.pem --ca missing.pem "$tok"
run 2 "$HV" --jwks receipt.json "$tok"
has "not a JWKS"
run 2 "$HV" --json --cert sign.pem --png blank.png
has '"error":{"code":"input"'

# --- Usage.
run 1 "$HV" "$tok"
has "say which key to check with"
run 1 "$HV" --cert sign.pem
has "no token"
run 1 "$HV" --cert sign.pem --jwks jwks.json "$tok"
run 1 "$HV" --cert sign.pem --png r.png "$tok"
run 1 "$HV" --cert sign.pem --bogus "$tok"
has "unknown option '--bogus'"
run 0 "$HV" --help
has "Exit status"

# --- Appointment tickets (docs/API.md, typ huimin-ticket), as the server makes them.
ticket='{"d":"2027-05-20","iat":'$IAT',"m":["110***********0025","330***********0034"],"n":["张秀英","王建国"],"o":"fc-hall","sl":"09:00","sv":"marriage","t":"AbCdEfGhIjKlMnOp"}'
printf '%s' "$ticket" >ticket.json
sign sign ticket.json huimin-ticket >t.tok
ttok=$(cat t.tok)
run 0 env TZ=UTC0 "$HV" --cert sign.pem --ca root.pem "$ttok"
has "appointment ticket"
has "预约编号 Ticket *AbCdEfGhIjKlMnOp"
has "结婚登记 / marriage registration"
has "登记处 *Office *fc-hall"
has "日期 *Date *2027-05-20"
has "时段 *Slot *09:00"
has "Party 1 *张秀英  110\*\{11\}0025"
has "Party 2 *王建国  330\*\{11\}0034"
has "$IAT_UTC"
has "证明：张秀英（110\*\{11\}0025）与 王建国"
has "It proves: an appointment AbCdEfGhIjKlMnOp for marriage registration at office fc-hall on 2027-05-20 at 09:00"
has "root *passed"
has "^Genuine: this ticket"
run 0 "$HV" --cert sign.pem --json "$ttok"
has '"genuine":true'
has '"typ":"huimin-ticket"'
has '"service_zh":"结婚登记"'
has '"parties":\[{"name":"张秀英","id_masked":"110\*\{11\}0025"},{"name":"王建国"'
# As a QR code.
qrencode -o t.png "$ttok" || fail "qrencode ticket"
run 0 "$HV" --cert sign.pem --ca root.pem --png t.png
has "Read from the QR code in t.png"
has "结婚登记 / marriage registration"
# A re-issue names one party.
printf '{"d":"2027-06-01","iat":%s,"m":["110***********0025"],"n":["张秀英"],"o":"fc-hall","sl":"14:30","sv":"reissue","t":"ZZZZZZZZZZZZZZZZ"}' "$IAT" >reissue.json
run 0 "$HV" --cert sign.pem "$(sign sign reissue.json huimin-ticket)"
has "补领婚姻登记证 / re-issue of a marriage certificate"
has "Party 1 *张秀英"
hasnt "Party 2"
# Altered: another date, the signature kept. Not genuine, and the false date is not shown.
forged=$(printf '%s' "$ticket" | sed 's/2027-05-20/2027-05-21/' | b64url)
altered_t=$(echo "$ttok" | cut -d. -f1).$forged.$(echo "$ttok" | cut -d. -f3)
run 4 "$HV" --cert sign.pem --ca root.pem "$altered_t"
has "^NOT genuine: the signature does not match: the token was altered or not made by this deployment"
has "不可信"
hasnt "2027-05-21"
run 4 "$HV" --cert sign.pem --json "$altered_t"
has '"code":"signature"'
# One character of the signature changed.
sig=$(echo "$ttok" | cut -d. -f3)
c1=$(printf '%s' "$sig" | cut -c1)
[ "$c1" = A ] && r1=B || r1=A
run 4 "$HV" --cert sign.pem "$(echo "$ttok" | cut -d. -f1-2).$r1$(printf '%s' "$sig" | cut -c2-)"
has "the signature does not match"
# Signed by another deployment's key.
run 4 "$HV" --cert sign.pem "$(sign other ticket.json huimin-ticket)"
has "the signature does not match"
# Signed, but not a whole ticket: a missing slot, or one name for a marriage.
printf '%s' "$ticket" | sed 's/,"sl":"09:00"//' >noslot.json
run 4 "$HV" --cert sign.pem "$(sign sign noslot.json huimin-ticket)"
has "'sl' is missing"
printf '%s' "$ticket" | sed 's/,"王建国"//' >oneparty.json
run 4 "$HV" --cert sign.pem "$(sign sign oneparty.json huimin-ticket)"
has "not a whole ticket"
# A full ID number in a ticket (it never should be) is still shown masked.
printf '%s' "$ticket" | sed 's/110\*\{11\}0025/110102195603120025/' >fullid.json
run 0 "$HV" --cert sign.pem "$(sign sign fullid.json huimin-ticket)"
has "110\*\{11\}0025"
hasnt "110102195603120025"
# A ticket with an expiry: checked when present.
now=$(date +%s)
printf '%s' "$ticket" | sed "s/^{/{\"exp\":$((now - 60)),/" >old-ticket.json
run 4 "$HV" --cert sign.pem "$(sign sign old-ticket.json huimin-ticket)"
has "the ticket expired at"
printf '%s' "$ticket" | sed "s/^{/{\"exp\":$((now + 3600)),/" >new-ticket.json
run 0 "$HV" --cert sign.pem "$(sign sign new-ticket.json huimin-ticket)"
has "expiry *passed"
printf '{"hello":"world"}' >other.json
run 0 "$HV" --cert sign.pem --json "$(sign sign other.json huimin-other)"
has '"payload":{"hello":"world"}'
# A receipt without its amount is signed but not a receipt.
printf '{"iat":%s,"k":"kiosk-a","m":"pin","p":"P","pd":"2026-11","r":"R","s":"x","w":"%s"}' "$IAT" "$W" >short.json
run 4 "$HV" --cert sign.pem "$(sign sign short.json huimin-receipt)"
has "'a' is missing"

echo "huimin-verify: genuine, altered, foreign, expired and unreadable receipts and tickets all answer as they should"
