#!/bin/sh
# huimin-kiosk --render-all: every screen in zh/en x normal/长辈模式 as a PNG, no text shrunk
# to fit, no message missing, and the sample receipt's QR code readable by zbarimg.
set -u
BIN=${HUIMIN_BINARY_DIR:?run under ctest}
fail() { echo "FAIL: $*"; exit 1; }
out=${HUIMIN_KIOSK_UI_OUT:-$(mktemp -d)}
rm -rf "$out/render-all"
res=$("$BIN/kiosk/ui/huimin-kiosk" --render-all "$out/render-all" 2>"$out/render-all.log") ||
    { cat "$out/render-all.log"; fail "render-all: $res"; }
echo "$res"
echo "$res" | grep -q "text shrunk to fit: 0; missing messages: 0" || fail "$res"
n=$(ls "$out/render-all" | wc -l)
[ "$n" -eq 248 ] || fail "$n screenshots, not 248"
zbarimg -q --raw "$out/render-all/zh-elder-receipt.png" 2>/dev/null | grep -q '^eyJ' ||
    fail "the receipt's QR code is not readable"
zbarimg -q --raw "$out/render-all/zh-elder-m-ticket.png" 2>/dev/null | grep -q '^eyJ' ||
    fail "the ticket's QR code is not readable"
grep "first frame" "$out/render-all.log"
[ -n "${HUIMIN_KIOSK_UI_OUT:-}" ] || rm -rf "$out"
echo "PASS: render-all"
