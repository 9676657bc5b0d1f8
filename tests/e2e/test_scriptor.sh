#!/bin/sh
# Interoperability: scriptor (pcsc-tools), a program that is not ours, talks
# to our virtual card through the same private pcscd as a real PC/SC card.
set -u
BIN=${HUIMIN_BINARY_DIR:?run under ctest}
SRC=${HUIMIN_SOURCE_DIR:?run under ctest}

if [ "${1:-}" != inner ]; then
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    cp "$SRC/fixtures/cards/test-card.json" "$work/card.json"
    exec "$BIN/tools/huimin-rig" --card "$work/card.json" -- "$0" inner
fi

out=$(printf '%s\n' "00 A4 04 00 08 F0 48 55 49 4D 49 4E 54" "00 06 00 00 03 11 22 33 00" \
    "00 B0 00 00 00" | scriptor -r "Huimin Virtual Reader 00 00" 2>&1)
rc=$?
echo "$out"
[ $rc -eq 0 ] || { echo "FAIL: scriptor exited $rc"; exit 1; }
echo "$out" | grep -q "Using T=" || { echo "FAIL: scriptor did not connect"; exit 1; }
echo "$out" | grep -q "< 90 00 : Normal processing" || { echo "FAIL: SELECT not answered 9000"; exit 1; }
echo "$out" | grep -q "< 11 22 33 90 00" || { echo "FAIL: echo not answered"; exit 1; }
echo "$out" | grep -q "< 6D 00" || { echo "FAIL: unknown INS not answered 6D00"; exit 1; }
echo "scriptor talked to the virtual card"
