# Shell helpers for the server's end-to-end tests (sourced, POSIX sh):
# a deployment made with huimin-admin, a running huimin-server, curl with a
# kiosk's certificate, and JWS checks with the openssl command line (an
# implementation that is not ours).
BIN=${HUIMIN_BINARY_DIR:?run under ctest}
SRC=${HUIMIN_SOURCE_DIR:?run under ctest}
ADMIN="$BIN/server/admin/huimin-admin"
SERVER="$BIN/server/huimin-server"

fail() { echo "FAIL: $*"; exit 1; }

# conf_set FILE SECTION KEY VALUE: sets KEY in [SECTION], adding it if absent.
conf_set() {
    awk -v sec="[$2]" -v key="$3" -v val="$4" '
        function emit() { if (insec && !done) { print key " = " val; done = 1 } }
        /^\[/ { emit(); insec = ($0 == sec) }
        insec && $0 ~ "^[ \t]*" key "[ \t]*=" { print key " = " val; done = 1; next }
        { print }
        END { emit() }' "$1" >"$1.new" && mv "$1.new" "$1"
}

# demo_deployment DIR BACKEND: huimin-admin init (on PostgreSQL at
# $HUIMIN_PG_CONNINFO when BACKEND is postgres), listening on a free port, with
# the demo data of fixtures/deploy imported (benefits, then the marriage
# registries, their closures and special dates, and the marital records).
demo_deployment() {
    dd_dir=$1
    if [ "$2" = postgres ]; then
        out=$("$ADMIN" init --dir "$dd_dir" --name "富川瑶族自治县民政局" --backend postgres \
            --conninfo "${HUIMIN_PG_CONNINFO:?no PostgreSQL}" 2>&1) || fail "init ($2): $out"
    else
        out=$("$ADMIN" init --dir "$dd_dir" --name "富川瑶族自治县民政局" 2>&1) || fail "init: $out"
    fi
    conf_set "$dd_dir/huimin.conf" server listen 127.0.0.1:0
    for kind in programmes residents entitlements payments offices office-days marriages; do
        out=$("$ADMIN" import "$kind" --dir "$dd_dir" --file "$SRC/fixtures/deploy/$kind.csv" 2>&1) ||
            fail "import $kind: $out"
    done
}

# start_server DIR: starts huimin-server on DIR/huimin.conf in the background;
# sets SERVER_PID, PORT (TLS) and OPS (plain, loopback).
start_server() {
    rm -f "$1/ports"
    "$SERVER" --config "$1/huimin.conf" --port-file "$1/ports" 2>>"$1/server.log" &
    SERVER_PID=$!
    i=0
    while [ ! -s "$1/ports" ]; do
        kill -0 "$SERVER_PID" 2>/dev/null || { cat "$1/server.log"; fail "the server did not start"; }
        i=$((i + 1)); [ $i -lt 300 ] || fail "the server did not listen within 30 s"
        sleep 0.1
    done
    PORT=$(sed -n 1p "$1/ports")
    OPS=$(sed -n 2p "$1/ports")
}

# stop_server: SIGTERM, then waits; fails if the server does not exit 0.
stop_server() {
    kill -TERM "$SERVER_PID" 2>/dev/null || return 0
    wait "$SERVER_PID"
    st=$?
    SERVER_PID=
    [ $st -eq 0 ] || fail "the server exited with status $st on SIGTERM"
}

# kcurl DIR KIOSK ARGS...: curl as an enrolled kiosk (client certificate,
# pinned server CA); prints the body, then a last line "HTTP <code> <content-type>".
kcurl() {
    d=$1; k=$2; shift 2
    curl -sS --max-time 20 --cacert "$d/kiosks/$k/server-ca.pem" --cert "$d/kiosks/$k/kiosk.pem" \
        --key "$d/kiosks/$k/kiosk.key" -w '\nHTTP %{http_code} %{content_type}\n' "$@"
}

# b64url_decode: standard input (base64url, no padding) to bytes on standard output.
b64url_decode() {
    s=$(tr -d '\n' | tr '_-' '/+')
    case $((${#s} % 4)) in 2) s="$s==" ;; 3) s="$s=" ;; esac
    printf '%s' "$s" | base64 -d
}

# jws_payload TOKEN: the decoded payload.
jws_payload() { printf '%s' "$1" | cut -d. -f2 | b64url_decode; }

# jws_verify_openssl TOKEN CERT: verifies an ES256 JWS with the openssl command
# line: the r||s signature becomes a DER ECDSA-Sig-Value (asn1parse -genconf).
jws_verify_openssl() {
    t=$1; cert=$2; w=$(mktemp -d)
    hdr=$(printf '%s' "$t" | cut -d. -f1 | b64url_decode)
    case "$hdr" in *'"alg":"ES256"'*) ;; *) rm -rf "$w"; echo "header is not ES256: $hdr"; return 1 ;; esac
    printf '%s' "$t" | cut -d. -f1-2 | tr -d '\n' >"$w/input"
    hex=$(printf '%s' "$t" | cut -d. -f3 | b64url_decode | od -An -v -tx1 | tr -d ' \n')
    [ ${#hex} -eq 128 ] || { rm -rf "$w"; echo "signature is not 64 bytes"; return 1; }
    printf 'asn1=SEQUENCE:sig\n[sig]\nr=INTEGER:0x%s\ns=INTEGER:0x%s\n' \
        "$(echo "$hex" | cut -c1-64)" "$(echo "$hex" | cut -c65-128)" >"$w/sig.conf"
    openssl asn1parse -genconf "$w/sig.conf" -out "$w/sig.der" -noout >/dev/null || { rm -rf "$w"; return 1; }
    openssl x509 -in "$cert" -pubkey -noout >"$w/pub.pem"
    openssl dgst -sha256 -verify "$w/pub.pem" -signature "$w/sig.der" "$w/input" >/dev/null 2>&1
    r=$?
    rm -rf "$w"
    return $r
}
