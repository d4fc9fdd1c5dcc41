#!/usr/bin/env bash
# A throwaway PostgreSQL for the tests, on a free loopback port in a temporary folder.
#
#   eval "$(.ci/postgres.sh start)"     # exports RESEARCH_AGENT_TEST_POSTGRES_URI and RA_PG_DIR
#   .ci/postgres.sh stop "$RA_PG_DIR"   # stops it and removes the folder
#
# Installs the Debian `postgresql` package when no server binaries are found (as root only).
# The server never runs as root (postgres refuses to): as root it runs as `nobody`.
# Everything but the final `export` lines goes to stderr, so `eval` sees only those.
set -euo pipefail

bindir() {
    local found
    found=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
    if [ -z "$found" ] && command -v pg_ctl >/dev/null && command -v initdb >/dev/null; then
        found=$(dirname "$(command -v initdb)")
    fi
    echo "$found"
}

as_server_user() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u nobody -- "$@"
    else
        "$@"
    fi
}

start() {
    local bin
    bin=$(bindir)
    if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
        if [ "$(id -u)" != 0 ]; then
            echo "postgres.sh: no PostgreSQL server found; install it: apt-get install -y postgresql" >&2
            exit 1
        fi
        echo "postgres.sh: installing PostgreSQL from Debian packages" >&2
        apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
        bin=$(bindir)
    fi
    local dir port
    dir=$(mktemp -d /tmp/ra-postgres.XXXXXX)
    chmod 755 "$dir"
    [ "$(id -u)" = 0 ] && chown nobody "$dir"
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    as_server_user "$bin/initdb" -D "$dir/data" -U postgres -A trust --no-sync -E UTF8 >"$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log" >&2; exit 1; }
    as_server_user "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-h 127.0.0.1 -p $port -k $dir -c fsync=off -c max_connections=200" start >&2 \
        || { cat "$dir/server.log" >&2; exit 1; }
    echo "export RA_PG_DIR=$dir"
    echo "export RESEARCH_AGENT_TEST_POSTGRES_URI=postgresql://postgres@127.0.0.1:$port/postgres"
}

stop() {
    local dir=${1:-${RA_PG_DIR:-}}
    [ -n "$dir" ] && [ -d "$dir/data" ] || return 0
    as_server_user "$(bindir)/pg_ctl" -D "$dir/data" -m immediate -w stop >&2 || true
    rm -rf "$dir"
}

case "${1:-}" in
    start) start ;;
    stop) stop "${2:-}" ;;
    *) echo "usage: $0 start | stop DIR" >&2; exit 2 ;;
esac
