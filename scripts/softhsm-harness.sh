#!/bin/sh
# Makes a private SoftHSM2 token for a test: a softhsm2.conf and a token
# directory under DIR, and one initialised token. Prints the path of the
# configuration; export it as SOFTHSM2_CONF before loading the module.
#   softhsm-harness.sh DIR [LABEL [PIN [SO_PIN]]]
set -eu
dir=${1:?usage: softhsm-harness.sh DIR [LABEL [PIN [SO_PIN]]]}
label=${2:-huimin-test}
pin=${3:-123456}
so_pin=${4:-12345678}
mkdir -p "$dir/tokens"
cat > "$dir/softhsm2.conf" <<CONF
directories.tokendir = $dir/tokens
objectstore.backend = file
log.level = ERROR
CONF
SOFTHSM2_CONF="$dir/softhsm2.conf" softhsm2-util --init-token --free --label "$label" \
    --pin "$pin" --so-pin "$so_pin" >/dev/null
echo "$dir/softhsm2.conf"
