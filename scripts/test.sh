#!/bin/sh
# The README's test command: installs what is missing, builds Huimin three times
# (Debug; ASan+UBSan; Release with _FORTIFY_SOURCE, as the demo builds it) and
# runs every test in each build.
# Options: --quick  only the Debug build;  -L LABEL  only tests with that label.
set -eu
cd "$(dirname "$0")/.."

presets="debug asan release"
ctest_args=""
while [ $# -gt 0 ]; do
    case "$1" in
    --quick) presets="debug" ;;
    -L) shift; ctest_args="$ctest_args -L $1" ;;
    *) echo "usage: scripts/test.sh [--quick] [-L label]" >&2; exit 2 ;;
    esac
    shift
done

scripts/install-deps.sh

jobs=$(nproc 2>/dev/null || echo 2)
status=0
for preset in $presets; do
    echo "==> $preset: configure and build"
    cmake --preset "$preset" >/dev/null
    cmake --build --preset "$preset" -j "$jobs"
    echo "==> $preset: test"
    # shellcheck disable=SC2086
    if ! ctest --preset "$preset" -j "$jobs" $ctest_args; then
        status=1
    fi
done
if [ $status -ne 0 ]; then
    echo "==> FAILED: see the test output above"
fi
exit $status
