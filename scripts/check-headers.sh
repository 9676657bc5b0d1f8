#!/bin/sh
# Fails when a .c file does not open with a comment saying why it exists.
set -eu
root="${1:-$(cd "$(dirname "$0")/.." && pwd)}"
cd "$root"
files=$(git ls-files -co --exclude-standard -- '*.c' 2>/dev/null || find . -path ./build -prune -o -name '*.c' -print)
bad=0
for f in $files; do
    [ -f "$f" ] || continue
    if ! head -n 1 "$f" | grep -q '^/\*'; then
        echo "check-headers: $f does not open with a comment on why it exists"
        bad=1
    fi
done
[ $bad -eq 0 ] || exit 1
echo "check-headers: every .c file opens with its reason"
