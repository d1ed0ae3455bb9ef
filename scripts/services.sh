#!/usr/bin/env bash
# Installs and starts the real servers postbot's tests run against:
# PostgreSQL, the reference Bluesky PDS with an in-memory PLC, and Chromium.
# Everything listens on 127.0.0.1 and lives under <repo>/.cache.
#
# scripts/test.sh sources this file. Run directly for:
#   bash scripts/services.sh install      install everything, start nothing
#   bash scripts/services.sh shell        start the services, open a shell with
#                                         POSTBOT_TEST_* set; exit it to stop them
#   bash scripts/services.sh run CMD...   start the services, run CMD, stop them

SERVICES_REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SERVICES_CACHE_DIR=$SERVICES_REPO_ROOT/.cache
SERVICES_NODE_DIR=$SERVICES_CACHE_DIR/node
SERVICES_LOG_DIR=$SERVICES_CACHE_DIR/logs
SERVICES_RUN_ROOT=$SERVICES_CACHE_DIR/run
SERVICES_PYTHON=${PYTHON:-$(command -v python || command -v python3 || true)}

SERVICES_RUN_DIR=""
SERVICES_PG_DIR=""
SERVICES_PG_BIN=""
SERVICES_PDS_PID=""
SERVICES_NPM_PID=""

# Never fails: it also runs in the exit trap, when stderr may be gone.
say() { printf '==> [%3ss] %s\n' "$SECONDS" "$*" >&2 2>/dev/null || true; }
die() { printf 'ERROR: %s\n' "$*" >&2; exit 1; }

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"
    elif command -v sudo >/dev/null; then sudo "$@"
    else die "need root (or sudo) to run: $*"
    fi
}

# PostgreSQL refuses to run as root, so as root its tools run as the postgres
# user, from / because the caller's directory may be closed to that user.
as_postgres() {
    if [ "$(id -u)" = 0 ]; then (cd / && runuser -u postgres -- "$@")
    else "$@"
    fi
}

fingerprint() { cat "$@" | sha256sum | cut -d' ' -f1; }

find_postgres_bin() {
    local candidate
    for candidate in /usr/lib/postgresql/15/bin $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -rV); do
        if [ -x "$candidate/initdb" ] && [ -x "$candidate/pg_ctl" ]; then echo "$candidate"; return 0; fi
    done
    return 1
}

# Prints N distinct free TCP ports on 127.0.0.1.
free_ports() {
    "$SERVICES_PYTHON" - "$1" <<'PY'
import socket, sys
sockets = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in sockets:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in sockets))
PY
}

install_system_packages() {
    local missing=()
    command -v node >/dev/null && command -v npm >/dev/null || missing+=(nodejs npm)
    find_postgres_bin >/dev/null || missing+=(postgresql)
    command -v chromium >/dev/null || missing+=(chromium)
    if [ "$(id -u)" = 0 ] && ! command -v runuser >/dev/null; then missing+=(util-linux); fi
    if [ ${#missing[@]} -eq 0 ]; then
        say "system packages present (node, postgresql, chromium)"
        return 0
    fi
    say "installing system packages: ${missing[*]} (apt-get, once per machine)"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >"$SERVICES_LOG_DIR/apt-install.log" 2>&1 \
        || { tail -n 40 "$SERVICES_LOG_DIR/apt-install.log" >&2; die "apt-get install failed (log: .cache/logs/apt-install.log)"; }
}

node_packages_fingerprint() {
    printf '%s %s\n' "$(fingerprint "$SERVICES_REPO_ROOT/scripts/pds/package.json")" "$(node --version)"
}

node_packages_installed() {
    [ -d "$SERVICES_NODE_DIR/node_modules" ] \
        && [ "$(cat "$SERVICES_NODE_DIR/.installed" 2>/dev/null)" = "$(node_packages_fingerprint)" ]
}

# npm builds better-sqlite3 from source (2-3 minutes), so it runs in the
# background while the rest starts; wait_node_packages collects it.
start_node_packages_install() {
    if node_packages_installed; then
        say "node packages present in .cache/node"
        return 0
    fi
    say "installing node packages (@atproto/pds, @did-plc/server, @atproto/api, twitter-text) into .cache/node in the background"
    mkdir -p "$SERVICES_NODE_DIR"
    local want; want=$(node_packages_fingerprint)
    # Own process group, so an interrupted run can stop npm and its compilers.
    setsid bash -c '
        set -euo pipefail
        node_dir=$1 package_json=$2 want=$3
        exec 9>"$node_dir/.install.lock"
        flock 9
        if [ -d "$node_dir/node_modules" ] && [ "$(cat "$node_dir/.installed" 2>/dev/null)" = "$want" ]; then exit 0; fi
        rm -f "$node_dir/.installed"
        cp "$package_json" "$node_dir/package.json"
        cd "$node_dir"
        npm install --no-package-lock --no-audit --no-fund --loglevel=warn
        printf "%s\n" "$want" >"$node_dir/.installed"
    ' install-node-packages "$SERVICES_NODE_DIR" "$SERVICES_REPO_ROOT/scripts/pds/package.json" "$want" \
        >"$SERVICES_LOG_DIR/npm-install.log" 2>&1 &
    SERVICES_NPM_PID=$!
}

wait_node_packages() {
    [ -n "$SERVICES_NPM_PID" ] || return 0
    say "waiting for the node package install to finish (log: .cache/logs/npm-install.log)"
    local status=0
    wait "$SERVICES_NPM_PID" || status=$?
    SERVICES_NPM_PID=""
    if [ "$status" -ne 0 ]; then
        tail -n 40 "$SERVICES_LOG_DIR/npm-install.log" >&2
        die "npm install failed (exit $status); log: .cache/logs/npm-install.log"
    fi
    say "node packages installed"
}

install_python_packages() {
    [ -n "$SERVICES_PYTHON" ] || die "no python on PATH"
    local stamp=$SERVICES_CACHE_DIR/python-installed want
    want="$(fingerprint "$SERVICES_REPO_ROOT/pyproject.toml") $("$SERVICES_PYTHON" -c 'import sys; print(sys.prefix)')"
    if [ "$(cat "$stamp" 2>/dev/null)" = "$want" ] && "$SERVICES_PYTHON" -c 'import postbot, pytest' 2>/dev/null; then
        say "python packages present (pip install -e '.[test]' done for this pyproject.toml)"
        return 0
    fi
    say "pip install -e '.[test]'"
    (cd "$SERVICES_REPO_ROOT" && "$SERVICES_PYTHON" -m pip install -q --disable-pip-version-check --root-user-action=ignore -e '.[test]') \
        || die "pip install -e '.[test]' failed"
    printf '%s\n' "$want" >"$stamp"
}

# Stops services left by runs that were killed before they could clean up.
reap_stale_runs() {
    local dir pid pds_pid
    for dir in "$SERVICES_RUN_ROOT"/*; do
        [ -d "$dir" ] || continue
        pid=$(basename "$dir")
        if [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null; then continue; fi
        say "cleaning up services left by an earlier run ($dir)"
        if [ -f "$dir/pds.pid" ]; then
            pds_pid=$(cat "$dir/pds.pid")
            if grep -qs start-pds.js "/proc/$pds_pid/cmdline"; then kill "$pds_pid" 2>/dev/null || true; fi
        fi
        if [ -f "$dir/postgres.dir" ]; then
            local pg_dir; pg_dir=$(cat "$dir/postgres.dir")
            if [ -f "$pg_dir/data/postmaster.pid" ] && SERVICES_PG_BIN=$(find_postgres_bin); then
                as_postgres "$SERVICES_PG_BIN/pg_ctl" -D "$pg_dir/data" -m immediate stop >/dev/null 2>&1 || true
            fi
            rm -rf "$pg_dir"
        fi
        rm -rf "$dir"
    done
}

prepare_run_dir() {
    mkdir -p "$SERVICES_LOG_DIR" "$SERVICES_RUN_ROOT"
    reap_stale_runs
    SERVICES_RUN_DIR=$SERVICES_RUN_ROOT/$$
    rm -rf "$SERVICES_RUN_DIR"
    mkdir -p "$SERVICES_RUN_DIR"
}

# Where the postgres user may write: under .cache when it can reach it,
# else a temporary folder (the checkout may sit in a home closed to others).
make_postgres_dir() {
    local dir=$SERVICES_RUN_DIR/postgres
    mkdir -p "$dir"
    if [ "$(id -u)" = 0 ]; then
        chown postgres:postgres "$dir"
        if ! as_postgres test -w "$dir"; then
            rm -rf "$dir"
            dir=$(mktemp -d "${TMPDIR:-/tmp}/postbot-postgres.XXXXXX")
            chown postgres:postgres "$dir"
        fi
    fi
    echo "$dir"
}

start_postgres() {
    SERVICES_PG_BIN=$(find_postgres_bin) || die "PostgreSQL is not installed (apt-get install postgresql)"
    local port; port=$(free_ports 1)
    SERVICES_PG_DIR=$(make_postgres_dir)
    echo "$SERVICES_PG_DIR" >"$SERVICES_RUN_DIR/postgres.dir"
    say "starting PostgreSQL ($SERVICES_PG_BIN) on 127.0.0.1:$port, scratch cluster"
    as_postgres "$SERVICES_PG_BIN/initdb" -D "$SERVICES_PG_DIR/data" -U postgres --auth=trust -E UTF8 --locale=C --no-sync \
        >"$SERVICES_RUN_DIR/initdb.log" 2>&1 \
        || { cat "$SERVICES_RUN_DIR/initdb.log" >&2; die "initdb failed"; }
    # fsync off: a scratch cluster for tests does not need to survive a crash.
    as_postgres "$SERVICES_PG_BIN/pg_ctl" -D "$SERVICES_PG_DIR/data" -l "$SERVICES_PG_DIR/postgres.log" -w -t 60 \
        -o "-p $port -c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
        start >/dev/null \
        || { cat "$SERVICES_PG_DIR/postgres.log" >&2; die "PostgreSQL did not start"; }
    "$SERVICES_PG_BIN/createdb" -h 127.0.0.1 -p "$port" -U postgres postbot_test || die "createdb failed"
    export POSTBOT_TEST_POSTGRES_URL="postgresql://postgres@127.0.0.1:$port/postbot_test"
    say "PostgreSQL ready: POSTBOT_TEST_POSTGRES_URL=$POSTBOT_TEST_POSTGRES_URL"
}

# Waits until URL answers 200, giving up if process PID exits or after TIMEOUT seconds.
wait_for_http() {
    "$SERVICES_PYTHON" - "$1" "$2" "$3" <<'PY'
import os, sys, time, urllib.request
url, pid, timeout = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
deadline = time.monotonic() + timeout
while time.monotonic() < deadline:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        sys.exit(f"the server process exited before {url} answered")
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            if response.status == 200:
                sys.exit(0)
    except OSError:
        pass
    time.sleep(0.25)
sys.exit(f"{url} did not answer 200 within {timeout:.0f} s")
PY
}

start_pds() {
    local ports pds_port plc_port
    ports=$(free_ports 2)
    read -r pds_port plc_port <<<"$ports"
    say "starting the Bluesky PDS on 127.0.0.1:$pds_port with an in-memory PLC on 127.0.0.1:$plc_port"
    setsid env \
        NODE_PATH="$SERVICES_NODE_DIR/node_modules" \
        PDS_PORT="$pds_port" PLC_PORT="$plc_port" \
        PDS_HOSTNAME=localhost \
        PDS_DATA_DIRECTORY="$SERVICES_RUN_DIR/pds" \
        PDS_BLOBSTORE_DISK_LOCATION="$SERVICES_RUN_DIR/pds/blobs" \
        PDS_DEV_MODE=true PDS_INVITE_REQUIRED=false PDS_RATE_LIMITS_ENABLED=false \
        node -r "$SERVICES_REPO_ROOT/scripts/pds/loopback.js" "$SERVICES_REPO_ROOT/scripts/pds/start-pds.js" \
        >"$SERVICES_RUN_DIR/pds.log" 2>&1 </dev/null &
    SERVICES_PDS_PID=$!
    echo "$SERVICES_PDS_PID" >"$SERVICES_RUN_DIR/pds.pid"
    if ! wait_for_http "http://127.0.0.1:$pds_port/xrpc/_health" "$SERVICES_PDS_PID" 90; then
        tail -n 40 "$SERVICES_RUN_DIR/pds.log" >&2
        die "the PDS did not become healthy"
    fi
    export POSTBOT_TEST_PDS_URL="http://localhost:$pds_port"
    say "PDS ready: POSTBOT_TEST_PDS_URL=$POSTBOT_TEST_PDS_URL"
}

export_tool_paths() {
    local chromium; chromium=$(command -v chromium) || die "chromium is not installed"
    export POSTBOT_TEST_CHROMIUM=$chromium
    export POSTBOT_TEST_NODE_MODULES=$SERVICES_NODE_DIR/node_modules
    export NODE_PATH=$SERVICES_NODE_DIR/node_modules${NODE_PATH:+:$NODE_PATH}
    say "POSTBOT_TEST_CHROMIUM=$POSTBOT_TEST_CHROMIUM"
    say "POSTBOT_TEST_NODE_MODULES=$POSTBOT_TEST_NODE_MODULES (also on NODE_PATH)"
}

stop_pds() {
    [ -n "$SERVICES_PDS_PID" ] || return 0
    if kill -0 "$SERVICES_PDS_PID" 2>/dev/null; then
        kill -TERM "$SERVICES_PDS_PID" 2>/dev/null || true
        local waited=0
        while kill -0 "$SERVICES_PDS_PID" 2>/dev/null && [ $waited -lt 50 ]; do sleep 0.2; waited=$((waited + 1)); done
        kill -KILL "$SERVICES_PDS_PID" 2>/dev/null || true
    fi
    wait "$SERVICES_PDS_PID" 2>/dev/null || true
    SERVICES_PDS_PID=""
}

stop_postgres() {
    [ -n "$SERVICES_PG_DIR" ] || return 0
    if [ -f "$SERVICES_PG_DIR/data/postmaster.pid" ]; then
        as_postgres "$SERVICES_PG_BIN/pg_ctl" -D "$SERVICES_PG_DIR/data" -m fast -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$SERVICES_PG_DIR"
    SERVICES_PG_DIR=""
}

# The EXIT trap: stops whatever this run started and removes its scratch data.
stop_services() {
    # A second signal (or a reader that went away) must not cut the cleanup short.
    trap '' HUP INT PIPE TERM
    if [ -n "$SERVICES_NPM_PID" ]; then
        kill -TERM -- "-$SERVICES_NPM_PID" 2>/dev/null || true
        wait "$SERVICES_NPM_PID" 2>/dev/null || true
        SERVICES_NPM_PID=""
    fi
    if [ -n "$SERVICES_PDS_PID$SERVICES_PG_DIR" ]; then say "stopping services"; fi
    stop_pds
    stop_postgres
    if [ -n "$SERVICES_RUN_DIR" ]; then rm -rf "$SERVICES_RUN_DIR"; SERVICES_RUN_DIR=""; fi
}

# Signals become ordinary exits so the EXIT trap stops the services.
set_exit_traps() {
    trap stop_services EXIT
    trap 'exit 129' HUP
    trap 'exit 130' INT
    trap 'exit 141' PIPE
    trap 'exit 143' TERM
}

# Installs what is missing and starts every service, exporting POSTBOT_TEST_*.
# The caller must have called set_exit_traps.
start_services() {
    prepare_run_dir
    local node_was_present=false
    if command -v node >/dev/null; then node_was_present=true; start_node_packages_install; fi
    install_system_packages
    if [ "$node_was_present" = false ]; then start_node_packages_install; fi
    install_python_packages
    start_postgres
    wait_node_packages
    start_pds
    export_tool_paths
}

services_main() {
    set -euo pipefail
    set_exit_traps
    case "${1:-}" in
        install)
            mkdir -p "$SERVICES_LOG_DIR"
            install_system_packages
            start_node_packages_install
            install_python_packages
            wait_node_packages
            ;;
        shell)
            start_services
            say "services are up; exit this shell to stop them"
            local status=0
            "${SHELL:-bash}" || status=$?
            exit "$status"
            ;;
        run)
            shift
            [ $# -gt 0 ] || die "usage: bash scripts/services.sh run COMMAND [ARGS...]"
            start_services
            local status=0
            "$@" || status=$?
            exit "$status"
            ;;
        *)
            die "usage: bash scripts/services.sh install | shell | run COMMAND [ARGS...]"
            ;;
    esac
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    services_main "$@"
fi
