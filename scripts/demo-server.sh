#!/bin/sh
# The server part of the interim demo (run by demo.sh inside huimin-rig, with a
# blank PIV card in the reader): a demo deployment with the 富川 demo data,
# the blank card issued as 张秀英's welfare card and registered, huimin-server
# running, and a kiosk's tap: a challenge from the server, signed by the card,
# checked again by the server, answered with a signed session; then the kiosk
# client shows her benefits, she confirms a payment with her PIN, and the
# receipt's QR code is checked offline with huimin-verify. With HUIMIN_DEMO_IDS the
# ID cards' CSCA goes into the deployment, for demo-appointments.sh.
set -eu
B=${1:-build/release}
SRC=$(cd "$(dirname "$0")/.." && pwd)
ADMIN="$B/server/admin/huimin-admin"
work=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"' EXIT
say() { printf '\n== %s\n' "$*"; }
b64url() { base64 -w0 | tr '+/' '-_' | tr -d '='; }
payload() { cut -d. -f2 | tr '_-' '/+' | awk '{ n = length($0) % 4; s = $0; if (n == 2) s = s "=="; if (n == 3) s = s "="; print s }' | base64 -d; echo; }
# HUIMIN_DEMO_DEPLOY: keep the deployment there for the next part of the demo.
D=${HUIMIN_DEMO_DEPLOY:-$work/deploy}

say "A deployment (huimin-admin init), the demo data imported, a kiosk enrolled"
"$ADMIN" init --dir "$D" --name "富川瑶族自治县民政局" >/dev/null
# A free port for the demo; a real deployment keeps 8443.
sed -i 's/^listen = .*/listen = 127.0.0.1:0/' "$D/huimin.conf"
for kind in programmes residents entitlements payments offices office-days marriages; do
    "$ADMIN" import $kind --dir "$D" --file "$SRC/fixtures/deploy/$kind.csv"
done
"$ADMIN" enroll-kiosk --dir "$D" --id kiosk-fc-01 --name "富川县民政服务大厅 1号机" --office fc-01 |
    head -1
K="$D/kiosks/kiosk-fc-01"
# The ID cards' CSCA (huimin-issue id-fixtures, made by demo.sh) in the server's store.
if [ -n "${HUIMIN_DEMO_IDS:-}" ]; then
    mkdir -p "$D/pki/csca"
    cp "$HUIMIN_DEMO_IDS/trust/csca.pem" "$HUIMIN_DEMO_IDS/trust/csca.crl" "$D/pki/csca/"
fi

say "The blank card in the reader issued as 张秀英's welfare card (huimin-issue) and registered"
out=$("$B/tools/huimin-issue" card --dir "$D/pki" --name "张秀英" --welfare-no WF3301060000123 --pin 135790)
puk=$(echo "$out" | sed -n 's/.*"puk":"\([0-9]*\)".*/\1/p')
"$B/tools/huimin-card" cert --key 9e --out "$work/9e.pem" >/dev/null
echo "$puk" | "$ADMIN" register-card --dir "$D" --cert "$work/9e.pem" --puk-stdin

say "huimin-server"
"$B/server/huimin-server" --config "$D/huimin.conf" --port-file "$work/ports" 2>"$work/server.log" &
pid=$!
i=0
while [ ! -s "$work/ports" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
port=$(sed -n 1p "$work/ports")
echo "listening on 127.0.0.1:$port (mutual TLS; the kiosk's certificate is in $K)"
kc() { curl -sS --cacert "$K/server-ca.pem" --cert "$K/kiosk.pem" --key "$K/kiosk.key" "$@"; }

say "A tap: the kiosk asks for a challenge, the card signs it with its 9E key (no PIN)"
tok=$(kc -X POST -H 'Content-Type: application/json' -d '{"purpose":"card-session"}' \
    "https://localhost:$port/v1/nonces")
echo "signed answer (JWS): $(echo "$tok" | cut -c1-60)…"
nonce=$(echo "$tok" | payload | sed -n 's/.*"nonce":"\([A-Za-z0-9_-]*\)".*/\1/p')
printf '%s' "$nonce" >"$work/nonce"
"$B/tools/huimin-card" sign --key 9e --in "$work/nonce" --out "$work/sig.der" >/dev/null
printf '{"nonce":"%s","card":{"cert":"%s","alg":17,"signature":"%s"}}' "$nonce" \
    "$(openssl x509 -in "$work/9e.pem" -outform DER | b64url)" "$(b64url <"$work/sig.der")" \
    >"$work/ev.json"
say "The server checks the card again and opens a session (its signed answer, decoded)"
kc -X POST -H 'Content-Type: application/json' --data-binary @"$work/ev.json" \
    "https://localhost:$port/v1/card-sessions" | payload
say "The same evidence again: the challenge was single-use"
kc -X POST -H 'Content-Type: application/json' --data-binary @"$work/ev.json" \
    "https://localhost:$port/v1/card-sessions"
echo
say "The kiosk client (huimin-client): 张秀英's status, verified"
cat >"$K/client.conf" <<CONF
server = https://localhost:$port
cert = kiosk.pem
key = kiosk.key
cacert = server-ca.pem
signing_cert = signing.pem
kiosk = kiosk-fc-01
journal = journal.db
issuer_ca = ../../pki/issuer-ca.pem
csca_dir = ../../pki/csca
CONF
KC="$B/kiosk/client/huimin-client"
"$KC" status --config "$K/client.conf" || true
say "She confirms that November's 低保 reached her: PIN, signature on the card, receipt"
if out=$("$KC" confirm --config "$K/client.conf" --payment P-E000001-202611 --pin 135790 --json); then
    receipt=$(echo "$out" | sed -n 's/.*"token":"\([A-Za-z0-9_.-]*\)".*/\1/p' | head -1)
    echo "receipt (JWS, fits a QR code): $(echo "$receipt" | cut -c1-60)…"
    if [ -n "$receipt" ] && command -v qrencode >/dev/null; then
        qrencode -o "$work/receipt.png" "$receipt"
        say "Anyone can check the receipt offline (huimin-verify, from the QR code's PNG)"
        "$B/tools/huimin-verify" --cert "$K/signing.pem" --ca "$D/pki/root-ca.pem" \
            --png "$work/receipt.png" || true
    fi
else
    echo "$out"
fi

say "The audit log (huimin-admin audit verify, after the server stops)"
kill "$pid"
wait "$pid" || true
pid=
"$ADMIN" audit verify --dir "$D"
say "Done. The server by hand: see the README, section \"The server\""
