#!/bin/sh
# The README's demo command: installs what is missing, builds Huimin and runs
# the demo, each part with a private pcscd and virtual cards: cards read
# through cardlib; huimin-server with the 富川 demo deployment answering a
# welfare card's tap, status and a confirmation through huimin-client; a
# marriage-registration appointment booked with two ID cards; and last the
# kiosk, huimin-kiosk, in demo mode: in a window where keys put the demo
# residents' cards and ID cards on the readers (or, with no display, in a
# window under Xvfb driven by a script, with screenshots in ./demo-shots).
set -eu
cd "$(dirname "$0")/.."

scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc 2>/dev/null || echo 2)"
# The card path through a private pcscd.
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
# The kiosk in demo mode, on a demo deployment of its own: keys put the demo residents'
# welfare cards (reader slot 0) and the couple's ID cards (slot 1) on the readers.
cp fixtures/cards/piv-blank.json "$work/kiosk-card.json"
build/release/tools/huimin-rig --card "$work/kiosk-card.json" --card "$work/ids/wang-td1.json" -- \
    scripts/demo-kiosk.sh build/release
