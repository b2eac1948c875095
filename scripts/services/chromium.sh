#!/usr/bin/env bash
# Debian's Chromium for the browser tests (tests/browser/); Playwright drives it, never a browser
# Playwright would download.
#
#   scripts/services/chromium.sh up       install the Debian package `chromium` if missing; idempotent
#   scripts/services/chromium.sh status   exit 0 if the browser runs
#   scripts/services/chromium.sh path     print the browser's path
set -euo pipefail

BROWSER=${EDUPULSE_CHROMIUM:-/usr/bin/chromium}

up() {
    if [[ -x $BROWSER ]]; then return 0; fi
    echo "chromium: installing the Debian package chromium" >&2
    local sudo=""
    [[ $(id -u) -eq 0 ]] || sudo="sudo"
    $sudo apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
        chromium fonts-dejavu-core >&2
    status
}

status() {
    "$BROWSER" --headless --no-sandbox --disable-gpu --version >/dev/null 2>&1
}

case ${1:-up} in
    up) up ;;
    status) status ;;
    path) echo "$BROWSER" ;;
    *) echo "usage: $0 up|status|path" >&2; exit 2 ;;
esac
