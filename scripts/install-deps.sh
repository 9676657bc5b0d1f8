#!/bin/sh
# The one list of Debian packages Huimin needs to build, test and run the demo.
# Idempotent: when everything is present it only runs dpkg-query and exits.
# Run as root, or as a user who may use sudo.
set -eu

PACKAGES="
build-essential
cmake
ninja-build
pkg-config
git
clang
libclang-rt-14-dev
clang-format
ca-certificates
libpcsclite-dev
pcscd
vsmartcard-vpcd
pcsc-tools
opensc
libssl-dev
zlib1g-dev
libjpeg62-turbo-dev
openssl
libcmocka-dev
libjansson-dev
libcjose-dev
libevent-dev
libcurl4-openssl-dev
curl
libsqlite3-dev
sqlite3
libpq-dev
libcsv-dev
postgresql
libp11-kit-dev
softhsm2
libqrencode-dev
zbar-tools
libsdl2-dev
libsdl2-ttf-dev
libsdl2-image-dev
fonts-noto-cjk
fontconfig
espeak-ng
libespeak-ng-dev
xvfb
xauth
util-linux
procps
iproute2
wrk
libzbar-dev
libpng-dev
qrencode
"

missing=""
for p in $PACKAGES; do
    if ! dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
        missing="$missing $p"
    fi
done

if [ -z "$missing" ]; then
    echo "install-deps: all $(echo $PACKAGES | wc -w) packages present"
    exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
    SUDO=""
elif command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
else
    echo "install-deps: missing packages:$missing" >&2
    echo "install-deps: run this script as root (or install sudo) so it can install them" >&2
    exit 1
fi

echo "install-deps: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
# shellcheck disable=SC2086
$SUDO apt-get install -y -q --no-install-recommends $missing

# A package's maintainer script may start a system pcscd; tests never use it
# (each test starts its own in a private mount namespace), so leave it alone.
echo "install-deps: done"
