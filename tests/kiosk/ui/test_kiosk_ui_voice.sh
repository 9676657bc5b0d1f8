#!/bin/sh
# Voice guidance headless with the fake backend: a resident the bureau flagged tap_only taps her
# card, 长辈模式 comes on by itself, the status screen's amounts are said in Chinese words
# (七百五十元) into a WAV, 重复 says them again, and 长辈模式 goes with her card.
set -u
BIN=${HUIMIN_BINARY_DIR:?run under ctest}
fail() { echo "FAIL: $*"; exit 1; }
out=${HUIMIN_KIOSK_UI_OUT:-$(mktemp -d)}/voice
rm -rf "$out"
mkdir -p "$out"
cat >"$out/voice.script" <<'S'
wait screen home 10s
card insert welfare 0
wait screen status 10s
shot status
touch repeat
sleep 300ms
card remove 0
wait screen home 5s
S
"$BIN/kiosk/ui/huimin-kiosk" --headless --fake --fake-tap-only --script "$out/voice.script" \
    --shots "$out/shots" --dump-text "$out/voice.txt" --speech-wav "$out/voice.wav" \
    --max-seconds 60 2>"$out/voice.log" || { cat "$out/voice.log"; fail "huimin-kiosk exited $?"; }
grep -q "^frame .*screen=status .*elder=1" "$out/voice.txt" || fail "长辈模式 did not come on"
grep -q "^frame .*screen=home .*elder=0" "$out/voice.txt" || fail "长辈模式 did not go with her"
n=$(grep -c "^speech .*城市最低生活保障，每月七百五十元" "$out/voice.txt")
[ "$n" -eq 2 ] || fail "the amounts were said $n times, not twice (once, then 重复)"
grep "^speech " "$out/voice.txt" | grep -q "张秀英" && fail "her name was said aloud"
[ "$(head -c 4 "$out/voice.wav")" = RIFF ] || fail "no WAV"
size=$(wc -c <"$out/voice.wav")
[ "$size" -gt 441000 ] || fail "the WAV holds under 10 s of speech ($size bytes)"
grep -q "speech written to" "$out/voice.log" || fail "the WAV was not reported"
echo "PASS: 长辈模式 on for a tap_only resident, amounts spoken ($size-byte WAV), 重复 works"
