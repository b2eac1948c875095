#!/usr/bin/env bash
# pgvector, the PostgreSQL extension of the scale-out tutor index, built from source.
#
#   scripts/services/pgvector.sh          install it into the newest local PostgreSQL if missing; idempotent
#
# Debian 12 ships no pgvector package, so the extension's source (the release's tagged tree,
# as the Go module proxy serves it) is downloaded once into ~/.cache/edupulse/pgvector,
# checked against the pinned sha256, built with the server's own headers
# (postgresql-server-dev-N at the installed server's version, so nothing is upgraded or
# restarted) and installed next to the server: vector.so, vector.control and its SQL
# scripts. `CREATE EXTENSION vector` then works in any database of that server; a running
# server needs no restart. postgres.sh up calls it.
set -euo pipefail

VERSION=0.8.1
SHA256=27b90e9b742744798466ea632cd29de81d6d55003e16e006e403f116d36ae922
URL=https://proxy.golang.org/github.com/pgvector/pgvector/@v/v$VERSION.zip
CACHE=${EDUPULSE_CACHE_DIR:-$HOME/.cache/edupulse}/pgvector
ZIP=$CACHE/pgvector-v$VERSION.zip

say() { echo "pgvector: $*" >&2; }

as_root() {
    if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi
}

server_major() {
    local dir
    dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
    [[ -n $dir ]] || { say "no PostgreSQL under /usr/lib/postgresql: run scripts/services/postgres.sh up first"; exit 1; }
    basename "$(dirname "$dir")"
}

installed() {
    # The control file of this version in the server's extension directory.
    grep -qs "default_version = '$VERSION'" "$1/extension/vector.control"
}

dev_headers() {
    # The server-dev package at exactly the installed server's version: a newer one would
    # pull a server upgrade (and a restart of the running server) along with it.
    local major=$1 version
    [[ -s /usr/include/postgresql/$major/server/postgres.h ]] && return 0
    version=$(dpkg-query -W -f='${Version}' "postgresql-$major")
    say "installing postgresql-server-dev-$major=$version (headers only)"
    as_root apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends \
        "postgresql-server-dev-$major=$version" make gcc unzip >&2
}

fetch() {
    mkdir -p "$CACHE"
    if [[ ! -s $ZIP ]]; then
        say "downloading $URL"
        curl -fsSL --retry 3 -o "$ZIP.part" "$URL"
        mv "$ZIP.part" "$ZIP"
    fi
    if ! echo "$SHA256  $ZIP" | sha256sum -c --quiet - >/dev/null 2>&1; then
        rm -f "$ZIP"
        say "the download's sha256 is not $SHA256: removed it; run again, or check $URL"
        exit 1
    fi
}

build() {
    local pg_config=$1 work src status=0
    work=$(mktemp -d)
    src="$work/github.com/pgvector/pgvector@v$VERSION"
    say "building $VERSION against $("$pg_config" --version)"
    unzip -q "$ZIP" -d "$work" && make -s -C "$src" PG_CONFIG="$pg_config" >&2 \
        && as_root make -s -C "$src" PG_CONFIG="$pg_config" install >&2 || status=$?
    rm -rf "$work"
    return "$status"
}

main() {
    local major pg_config
    major=$(server_major)
    pg_config=/usr/lib/postgresql/$major/bin/pg_config
    if [[ -x $pg_config ]] && installed "$("$pg_config" --sharedir)"; then
        return 0
    fi
    dev_headers "$major"
    fetch
    build "$pg_config"
    installed "$("$pg_config" --sharedir)" || { say "the build did not install vector.control $VERSION"; exit 1; }
    say "installed $VERSION into PostgreSQL $major"
}

main "$@"
