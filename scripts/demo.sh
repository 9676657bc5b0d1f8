#!/bin/sh
# The README's demo command: installs what is missing, builds Huimin and runs
# the demo deployment. Until the kiosk exists it runs the furthest end-to-end
# path there is: a private pcscd with virtual cards, read through cardlib, and
# huimin-server with a demo deployment answering a welfare card's tap.
set -eu
cd "$(dirname "$0")/.."

scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc 2>/dev/null || echo 2)"
# The demo: a private pcscd with the demo residents' virtual cards.
if [ -x build/release/tools/huimin-demo ]; then
    exec build/release/tools/huimin-demo "$@"
fi
# Until the kiosk exists (issue 9): the card path through a private pcscd.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp fixtures/cards/test-card.json "$work/card.json"
build/release/tools/huimin-issue id-fixtures --dir "$work/ids" >/dev/null
export HUIMIN_DEMO_IDS="$work/ids"
build/release/tools/huimin-rig --card "$work/card.json" --card "$work/ids/zhang-td1.json" -- \
    scripts/demo-cards.sh build/release
# The server: a demo deployment, a blank card issued as a welfare card, a tap.
cp fixtures/cards/piv-blank.json "$work/welfare.json"
export HUIMIN_DEMO_DEPLOY="$work/deploy"
build/release/tools/huimin-rig --card "$work/welfare.json" -- scripts/demo-server.sh build/release
# Appointments on the same deployment: two ID cards in the readers.
build/release/tools/huimin-rig --card "$work/ids/li-td1.json" --card "$work/ids/wang-td1.json" -- \
    scripts/demo-appointments.sh build/release
