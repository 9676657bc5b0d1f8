#!/bin/sh
# Fails when a C source or header differs from what .clang-format asks for.
# Usage: check-format.sh [SOURCE_DIR]   (with --fix, rewrites the files instead)
set -eu
fix=0
if [ "${1:-}" = "--fix" ]; then fix=1; shift; fi
root="${1:-$(cd "$(dirname "$0")/.." && pwd)}"
cd "$root"
files=$(git ls-files -co --exclude-standard -- '*.c' '*.h' 2>/dev/null || find . -path ./build -prune -o \( -name '*.c' -o -name '*.h' \) -print)
[ -n "$files" ] || { echo "check-format: no C files found under $root" >&2; exit 1; }
if [ $fix -eq 1 ]; then
    # shellcheck disable=SC2086
    clang-format -i $files
    exit 0
fi
n=$(echo "$files" | wc -w)
# One clang-format process for all files; it names every file that differs.
# shellcheck disable=SC2086
out=$(clang-format --dry-run --Werror $files 2>&1) || true
bad=$(printf '%s\n' "$out" | sed -n 's/^\([^:]*\):[0-9]*:[0-9]*: error: code should be clang-formatted.*/\1/p' | sort -u)
if [ -n "$bad" ] || [ -n "$out" ]; then
    for f in $bad; do
        echo "check-format: $f is not formatted (run scripts/check-format.sh --fix)"
    done
    [ -n "$bad" ] || printf '%s\n' "$out"
    echo "check-format: FAILED"
    exit 1
fi
echo "check-format: $n files formatted correctly"
