#!/bin/sh
# Fails when C code calls a function the project bans because it cannot be
# used safely with untrusted lengths: sprintf, vsprintf, strcpy, strcat, strtok,
# atoi, atol, gets. Use snprintf, hm_strlcpy, strtok_r, hm_parse_* instead.
set -eu
root="${1:-$(cd "$(dirname "$0")/.." && pwd)}"
cd "$root"
files=$(git ls-files -co --exclude-standard -- '*.c' '*.h' 2>/dev/null || find . -path ./build -prune -o \( -name '*.c' -o -name '*.h' \) -print)
[ -n "$files" ] || { echo "check-banned: no C files found under $root" >&2; exit 1; }
pattern='(^|[^A-Za-z0-9_.>])(sprintf|vsprintf|strcpy|strcat|strtok|atoi|atol|gets)[[:space:]]*\('
# Comments and string literals are not calls: strip // comments and "..." first.
# shellcheck disable=SC2086
hits=$(for f in $files; do
    [ -f "$f" ] || continue
    sed -e 's://.*$::' -e 's/"\([^"\\]\|\\.\)*"/""/g' "$f" | grep -nE "$pattern" | sed "s|^|$f:|" || true
done)
if [ -n "$hits" ]; then
    echo "check-banned: banned calls found:"
    echo "$hits"
    exit 1
fi
echo "check-banned: no banned calls in $(echo "$files" | wc -w) files"
